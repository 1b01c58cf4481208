"""The generic pieces of ``seqfcn merge``: round-robin re-interleaving and sorted BED merges.

* :func:`interleave`: item 1 of shard 1, item 1 of shard 2, ..., the inverse of
  :func:`seqfcn.runtime.shard.shard_reads` (used by :mod:`seqfcn.correction.shards`).
* :func:`merge_bed`: other BED files, a sorted merge (chromosome order = first appearance over
  the files in the order given, then ``start``, ``end``; ties keep file order), header lines
  (``track``/``browser``/``#``) of the first file only; data lines copied verbatim.
* :func:`read_bed_lines`, :func:`chunks`: shared by the jobs' shard merges.

The merges of each job's shards live with the job (:mod:`seqfcn.motifs.shards`,
:mod:`seqfcn.interpret.shards`, :mod:`seqfcn.correction.shards`,
:mod:`seqfcn.correction.count_shards`); :mod:`seqfcn.cli.merge` dispatches among them. Every
shard set is checked before anything is written (:func:`seqfcn.runtime.shard.check_shard_set`);
every output is atomic; ``-`` writes to stdout.
"""
from __future__ import annotations

import gzip
import heapq
import itertools
import os
from typing import Iterable, Iterator, Sequence, TypeVar


from seqfcn.errors import InputFormatError, SeqfcnError

T = TypeVar("T")

__all__ = ["interleave", "merge_bed", "read_bed_lines", "chunks", "MERGE_KINDS", "BED_SUFFIXES"]

MERGE_KINDS = ("auto", "scan", "bed", "reads", "spectrum")
BED_SUFFIXES = (".bed", ".narrowpeak", ".broadpeak", ".bedgraph")
_HEADER_PREFIXES = ("track", "browser", "#")
_END = object()


def interleave(shards: Sequence[Iterable[T]], labels: Sequence[str] | None = None) -> Iterator[T]:
    """Round-robin merge: item 1 of shard 1, item 1 of shard 2, ..., item 2 of shard 1, ...

    The inverse of :func:`seqfcn.runtime.shard.shard_reads`. Checks that the shard sizes fit a
    round-robin split (non-increasing, differing by at most one).

    Raises:
        SeqfcnError: a shard has more items than a round-robin split allows (shards given
            out of order, or not from the same input), naming the shard.
    """
    labels = list(labels) if labels is not None else [f"shard {k + 1}" for k in range(len(shards))]
    iterators = [iter(s) for s in shards]
    while True:
        for k, it in enumerate(iterators):
            item = next(it, _END)
            if item is not _END:
                yield item
                continue
            # shard k ran out: the later shards must be empty now, the earlier ones one item later
            for j in range(len(iterators)):
                if next(iterators[j], _END) is not _END:
                    raise SeqfcnError(
                        f"has more records than a round-robin split allows (shard {labels[k]} ended first); "
                        "give the shard files in order 1..n, all from the same input",
                        path=labels[j],
                    )
            return


# --------------------------------------------------------------------------- scan shards


def chunks(items: Iterable[T], size: int = 1 << 16) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last shorter)."""
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


# --------------------------------------------------------------------------- predict shards


# --------------------------------------------------------------------------- BED
def read_bed_lines(path: str) -> list[str]:
    try:
        opener = gzip.open(path, "rt") if path.endswith(".gz") else open(path)
        with opener as fh:
            return fh.read().splitlines()
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise InputFormatError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", path=path) from None


def merge_bed(paths: Sequence[str | os.PathLike], output: str | os.PathLike) -> int:
    """Sorted merge of BED files that are each sorted; header lines of the first file only.

    Data lines are copied verbatim. Chromosome order: first appearance over the files in
    the order given (so contiguous genome shards keep genome order), then ``start``,
    ``end``; equal keys keep file order. Returns the number of data lines written.

    Raises:
        InputFormatError: a line without integer ``start``/``end`` (file and line number).
    """
    from seqfcn.io.atomic import atomic_text

    chrom_rank: dict[str, int] = {}
    keyed: list[list[tuple[int, int, int, str]]] = []
    header: list[str] = []
    for n_file, path in enumerate(map(str, paths)):
        rows = []
        for number, line in enumerate(read_bed_lines(path), 1):
            if not line or line.startswith(_HEADER_PREFIXES):
                if n_file == 0 and line:
                    header.append(line)
                continue
            fields = line.split("\t", 3)
            try:
                start, end = int(fields[1]), int(fields[2])
            except (IndexError, ValueError):
                raise InputFormatError(f"line {number}: not BED (need chrom, start, end)", path=path) from None
            rank = chrom_rank.setdefault(fields[0], len(chrom_rank))
            rows.append((rank, start, end, line))
        keyed.append(rows)
    merged = heapq.merge(*keyed, key=lambda row: row[:3])
    written = 0
    with atomic_text(output) as handle:
        for line in header:
            handle.write(line + "\n")
        for row in merged:
            handle.write(row[3] + "\n")
            written += 1
    return written


# --------------------------------------------------------------------------- reads


# --------------------------------------------------------------------------- dispatch
