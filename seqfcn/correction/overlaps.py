"""All-vs-all overlaps of long reads: minimap2's ``ava-ont`` preset through mappy, kept as PAF with CIGARs.

Every read is mapped against an index of all the reads (:class:`OverlapFinder`); its
overlaps are the hits on *other* reads, the best one (most matching bases) per other read.
A hit's CIGAR aligns the read (the PAF query, forward strand) to a stretch of the other read
(the target; for a ``-`` hit the query's reverse complement is aligned), which is all a pileup
over the read needs (:mod:`seqfcn.correction.pileup`).

``seqfcn overlap`` writes the overlaps of every read (or of one ``--shard i/n`` of the reads,
round-robin like ``correct --shard``) as PAF grouped by query in read order, with a JSON
manifest beside it (``OUT.json``) that ties the file to the reads' content and the shard;
``seqfcn correct --overlaps`` checks it before reading a line.
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from seqfcn.errors import InputFormatError, SeqfcnError

PRESET = "ava-ont"
"""The minimap2 preset of every overlap (all-vs-all nanopore reads)."""
MIN_IDENTITY = 0.5
"""Hits with fewer matching bases than this share of their alignment block are dropped."""
MANIFEST_KEY = "seqfcn_overlaps"
_CIGAR_OPS = {"M": 0, "I": 1, "D": 2, "=": 7, "X": 8}
_OP_LETTERS = "MIDNSHP=X"  # BAM operation codes 0-8


@dataclass(frozen=True)
class Overlap:
    """One read's overlap with another read.

    Attributes:
        target, target_len: the other read's name and length.
        q_start, q_end: the aligned stretch of the read (0-based, forward strand).
        strand: ``1``, or ``-1`` when the read's reverse complement aligns to the target.
        t_start, t_end: the aligned stretch of the target (forward strand).
        matches, block: matching bases and alignment columns (PAF columns 10 and 11).
        cigar: ``(k, 2)`` int64 rows ``(length, op)``, ops 0 ``M``, 1 ``I`` (bases only in the
            read), 2 ``D`` (bases only in the target), 7 ``=``, 8 ``X``; from ``t_start`` on.
        cigar_str: the same CIGAR as text when the aligner gave it (written to PAF as it is;
            None: :func:`cigar_text` of ``cigar``).
    """

    target: str
    target_len: int
    q_start: int
    q_end: int
    strand: int
    t_start: int
    t_end: int
    matches: int
    block: int
    cigar: np.ndarray
    cigar_str: str | None = None


def best_per_target(name: str, overlaps: Iterable[Overlap]) -> list[Overlap]:
    """One overlap per other read (most matches; the first of equals), the read itself left out,
    in the order the targets first appear."""
    best: dict[str, Overlap] = {}
    for ov in overlaps:
        if ov.target == name or ov.matches < MIN_IDENTITY * ov.block:
            continue
        kept = best.get(ov.target)
        if kept is None or ov.matches > kept.matches:
            best[ov.target] = ov
    return list(best.values())


class OverlapFinder:
    """A mappy index of all the reads of a FASTQ/FASTA file (``ava-ont``); :meth:`overlaps` maps one
    read against it. Thread-safe: each thread keeps its own ``mappy.ThreadBuffer``."""

    def __init__(self, reads: str | os.PathLike, threads: int = 1) -> None:
        import mappy

        self.path = str(reads)
        self.aligner = mappy.Aligner(self.path, preset=PRESET, n_threads=max(1, threads))
        if not self.aligner:
            raise SeqfcnError("minimap2 could not index the reads (FASTQ/FASTA, plain or gzip)", path=self.path)
        self._local = threading.local()

    def _buffer(self):
        import mappy

        buf = getattr(self._local, "buf", None)
        if buf is None:
            buf = self._local.buf = mappy.ThreadBuffer()
        return buf

    def overlaps(self, name: str, sequence: str) -> list[Overlap]:
        """The overlaps of read ``name`` (see :func:`best_per_target`)."""
        hits = self.aligner.map(sequence, buf=self._buffer())
        return best_per_target(name, (Overlap(h.ctg, h.ctg_len, h.q_st, h.q_en, h.strand, h.r_st, h.r_en, h.mlen,
                                              h.blen, np.asarray(h.cigar, np.int64).reshape(-1, 2), h.cigar_str)
                                      for h in hits))

    def target_bases(self, name: str, start: int, end: int) -> str:
        """Bases ``start:end`` of read ``name`` (forward strand), from the index."""
        return self.aligner.seq(name, start, end)


def cigar_text(cigar: np.ndarray) -> str:
    """``(k, 2)`` rows as a CIGAR string."""
    return "".join(f"{n}{_OP_LETTERS[op]}" for n, op in cigar.tolist())


def paf_line(name: str, length: int, ov: Overlap) -> str:
    """One PAF line (12 columns + ``cg:Z:``), the read as the query."""
    strand = "+" if ov.strand > 0 else "-"
    return (f"{name}\t{length}\t{ov.q_start}\t{ov.q_end}\t{strand}\t{ov.target}\t{ov.target_len}\t{ov.t_start}\t"
            f"{ov.t_end}\t{ov.matches}\t{ov.block}\t255\tcg:Z:{ov.cigar_str or cigar_text(ov.cigar)}\n")


_OP_CODE = np.full(256, -1, np.int64)
for _letter, _code in _CIGAR_OPS.items():
    _OP_CODE[ord(_letter)] = _code


def _parse_cigar(text: str) -> np.ndarray:
    """``(k, 2)`` rows ``(length, op)`` of a CIGAR string of M, I, D, = and X operations, parsed
    with numpy (a long-read run's PAF holds millions of operations): each operation's length is
    its digits weighted by powers of ten."""
    chars = np.frombuffer(text.encode("ascii", "replace"), np.uint8)
    digit = (chars >= 48) & (chars <= 57)
    ops = np.flatnonzero(~digit)
    if ops.size == 0 or ops[-1] != chars.size - 1:
        bad = chars[ops[ops < chars.size]] if ops.size else chars[:0]
        raise ValueError(f"bad CIGAR operation {chr(bad[0])!r}" if bad.size and _OP_CODE[bad[0]] < 0
                         else "CIGAR ends without an operation")
    codes = _OP_CODE[chars[ops]]
    starts = np.concatenate([[0], ops[:-1] + 1])
    if (codes < 0).any() or (ops == starts).any():  # an unknown operation, or one without a length
        k = int(np.flatnonzero((codes < 0) | (ops == starts))[0])
        raise ValueError(f"bad CIGAR operation {chr(chars[ops[k]])!r}")
    if int((ops - starts).max()) > 18:
        raise ValueError("a CIGAR length with more than 18 digits")
    width = ops - starts  # digits of each length
    place = np.repeat(ops, width) - 1 - np.flatnonzero(digit)  # 0 for a length's last digit
    values = (chars[digit] - 48).astype(np.int64) * 10 ** place
    lengths = np.add.reduceat(values, np.concatenate([[0], np.cumsum(width)[:-1]]))
    return np.stack([lengths, codes], axis=1)


def parse_paf_line(line: str) -> tuple[str, int, Overlap]:
    """``(query name, query length, overlap)`` of a PAF line with a ``cg:Z:`` tag.

    Raises:
        ValueError: the line is not such a PAF line (the message says what is wrong).
    """
    f = line.rstrip("\n").split("\t")
    if len(f) < 12:
        raise ValueError(f"{len(f)} tab-separated columns, PAF has at least 12")
    cigar = next((t[5:] for t in f[12:] if t.startswith("cg:Z:")), None)
    if cigar is None:
        raise ValueError("no cg:Z: CIGAR tag (run seqfcn overlap, or minimap2 -c)")
    if f[4] not in "+-" or len(f[4]) != 1:
        raise ValueError(f"strand {f[4]!r} is not + or -")
    ql, qs, qe, tl, ts, te, nm, bl = (int(f[i]) for i in (1, 2, 3, 6, 7, 8, 9, 10))
    if not (0 <= qs <= qe <= ql and 0 <= ts <= te <= tl):
        raise ValueError("coordinates outside the read lengths")
    ops = _parse_cigar(cigar)
    q_len = int(ops[np.isin(ops[:, 1], (0, 1, 7, 8)), 0].sum())
    t_len = int(ops[np.isin(ops[:, 1], (0, 2, 7, 8)), 0].sum())
    if q_len != qe - qs or t_len != te - ts:
        raise ValueError("the CIGAR does not span the aligned coordinates")
    return f[0], ql, Overlap(f[5], tl, qs, qe, 1 if f[4] == "+" else -1, ts, te, nm, bl, ops)


def paf_groups(path: str | os.PathLike) -> Iterator[tuple[str, int, list[Overlap]]]:
    """``(read, length, overlaps)`` per run of lines with the same query, in file order.

    Raises:
        InputFormatError: a malformed line (file and line named), or a query that comes back
            after other queries (the file is not grouped by read).
    """
    label, seen = str(path), set()
    name, length, group = None, 0, []
    with open(label, encoding="ascii", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            try:
                qname, qlen, ov = parse_paf_line(line)
            except ValueError as exc:
                raise InputFormatError(f"line {number}: {exc}", path=label) from None
            if qname != name:
                if qname in seen:
                    raise InputFormatError(f"line {number}: read {qname} comes back after other reads; overlaps "
                                           "must be grouped by read (as seqfcn overlap writes them)", path=label)
                if name is not None:
                    yield name, length, group
                seen.add(qname)
                name, length, group = qname, qlen, []
            group.append(ov)
    if name is not None:
        yield name, length, group


# --------------------------------------------------------------------------- the overlap job


@dataclass(frozen=True)
class OverlapManifest:
    """What ``OUT.json`` beside an overlap file records: the reads' content fingerprint and
    count, the shard (``None`` for all reads), the PAF's own fingerprint and the preset."""

    reads: str
    reads_total: int
    shard: tuple[int, int] | None
    paf: str
    preset: str = PRESET

    def to_dict(self) -> dict:
        shard = None if self.shard is None else f"{self.shard[0] + 1}/{self.shard[1]}"
        return {MANIFEST_KEY: 1, "reads": self.reads, "reads_total": self.reads_total, "shard": shard,
                "paf": self.paf, "preset": self.preset}


def manifest_path(paf: str | os.PathLike) -> str:
    """Where the manifest of overlap file ``paf`` lives."""
    return f"{paf}.json"


def read_overlap_manifest(paf: str | os.PathLike) -> OverlapManifest:
    """The manifest beside ``paf``, checked against the file it describes.

    Raises:
        SeqfcnError: none (not written by ``seqfcn overlap``), a malformed one, or one that
            describes another file (the PAF was cut, edited or replaced).
    """
    from seqfcn.io.fingerprint import file_fingerprint
    from seqfcn.runtime.tiling import parse_shard

    side = manifest_path(paf)
    if not os.path.isfile(side):
        raise SeqfcnError(f"no manifest {os.path.basename(side)} beside it: not an output of seqfcn overlap",
                          path=str(paf))
    try:
        with open(side, encoding="utf-8") as fh:
            data = json.load(fh)
        shard = None if data["shard"] is None else parse_shard(str(data["shard"]))
        manifest = OverlapManifest(str(data["reads"]), int(data["reads_total"]), shard, str(data["paf"]),
                                   str(data["preset"]))
    except (OSError, ValueError, KeyError, TypeError, SeqfcnError) as exc:
        raise SeqfcnError(f"bad overlap manifest: {exc}", path=side) from None
    if file_fingerprint(paf) != manifest.paf:
        raise SeqfcnError(f"changed since seqfcn overlap wrote it (its manifest {os.path.basename(side)} describes "
                          "another file)", path=str(paf))
    return manifest


def write_overlaps(reads: str | os.PathLike, output: str | os.PathLike, *, threads: int = 1,
                   shard: tuple[int, int] | None = None, progress: bool = False) -> int:
    """Write the overlaps of every read of ``reads`` (or of one 0-based ``shard`` ``(i, n)``) to
    ``output`` (PAF, grouped by read in file order) and its manifest; both appear only when
    complete. Returns the number of PAF lines."""
    from seqfcn.io.atomic import atomic_path, atomic_write
    from seqfcn.io.fingerprint import file_fingerprint
    from seqfcn.correction.longread_inputs import long_read_catalogue
    from seqfcn.runtime.shard import shard_reads

    catalogue = long_read_catalogue(reads)
    finder = OverlapFinder(reads, threads)
    chosen = catalogue.stream()
    if shard is not None:
        chosen = shard_reads(chosen, *shard)
    lines = 0
    with atomic_path(output) as tmp, open(tmp, "w", encoding="ascii") as out:
        for name, length, overlaps in iter_overlaps(finder, chosen, threads, progress=progress):
            out.writelines(paf_line(name, length, ov) for ov in overlaps)
            lines += len(overlaps)
        out.flush()
    manifest = OverlapManifest(file_fingerprint(reads), len(catalogue.names), shard, file_fingerprint(output))
    atomic_write(manifest_path(output), json.dumps(manifest.to_dict(), indent=1) + "\n")
    return lines


def iter_overlaps(finder: OverlapFinder, reads: Iterable[tuple[str, str]], threads: int, *,
                  progress: bool = False) -> Iterator[tuple[str, int, list[Overlap]]]:
    """``(name, length, overlaps)`` of each ``(name, sequence)`` in ``reads``, in order, mapped on
    ``threads`` threads in ordered chunks, one chunk ahead (memory: two chunks of reads and overlaps)."""
    from itertools import islice

    from tqdm import tqdm

    def one(read: tuple[str, str]) -> tuple[str, int, list[Overlap]]:
        name, seq = read
        return name, len(seq), finder.overlaps(name, seq) if seq else []

    chunk, it = max(1, 16 * threads), iter(reads)
    with ThreadPoolExecutor(max(1, threads)) as pool, \
            tqdm(unit="read", disable=not progress, desc="overlaps") as bar:
        ahead = [pool.submit(one, r) for r in islice(it, chunk)]
        while ahead:  # the next chunk maps while this one is consumed
            current, ahead = ahead, [pool.submit(one, r) for r in islice(it, chunk)]
            for future in current:
                bar.update(1)
                yield future.result()
