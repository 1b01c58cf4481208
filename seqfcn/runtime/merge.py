"""Merge shard outputs back into exactly the output of the unsharded run (``seqfcn merge``).

* scan shards (:func:`seqfcn.runtime.shard.write_scan_shard`): concatenated in shard order
  (already genome order), q-values recomputed over all shards with the summed number of
  tested windows, streamed in the format of :func:`seqfcn.motifs.scan.write_hits_bed` —
  byte-identical to ``seqfcn scan`` without ``--shard``.
* predict bedGraph shards (``seqfcn predict --shard``, a ``name=seqfcn_predict`` track line
  with ``seqfcn_shard=i/n seqfcn_run=ID``): checked as one set, concatenated in shard
  order without the track line — byte-identical to the unsharded bedGraph.
* other BED files: a sorted merge (chromosome order = first appearance over the files
  in the order given, then ``start``, ``end``; ties keep file order), header lines
  (``track``/``browser``/``#``) of the first file only; data lines are copied verbatim.
* reads (FASTQ/FASTA, SAM/BAM): re-interleaved round-robin (the split of
  :func:`seqfcn.runtime.shard.shard_reads`) in the order of the shard indices their manifests
  record (:func:`seqfcn.runtime.shard.read_manifest`; files in any order), after proving the set
  (one input, run, mate and ``n``; every shard once; each holds its share of the input's
  reads); or, for plain chunks without manifests, concatenated with ``order="concat"``
  in the order given. SAM/BAM keep the first shard's header, with
  ``--shard X`` removed from seqfcn's @PG ``CL`` so it matches the unsharded run.

* k-mer spectra (``seqfcn count --shard``, disjoint shares of the k-mers):
  :func:`seqfcn.correction.count_shards.merge_count_shards` (dispatched by ``seqfcn merge``).

Every shard set is checked before anything is written (:func:`seqfcn.runtime.shard.check_shard_set`).
Every output is atomic (a hidden temporary file ``.NAME.XXXXXXXX.tmp``/``.part`` in the
output's directory, renamed into place at the end); ``-`` writes to stdout.
"""
from __future__ import annotations

import gzip
import heapq
import itertools
import os
from typing import Iterable, Iterator, Sequence, TypeVar


from seqfcn.errors import InputFormatError, SeqfcnError

T = TypeVar("T")

__all__ = ["interleave", "merge_scan_shards", "merge_predict_shards", "merge_bed", "merge_reads", "merge_shards",
           "MERGE_KINDS"]

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
