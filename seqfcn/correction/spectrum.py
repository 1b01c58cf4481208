"""The reads' k-mer spectrum, counted compactly, and which bases it supports.

:func:`count_spectrum` streams reads once through a Bloom filter and an
open-addressing table (``seqfcn/correction/_kmercount.c``): a k-mer's first sighting only sets
filter bits, so the k-mers seen once, nearly all of them sequencing errors, never take
table space; counts are kept as uint32 and the table grows by doubling. Memory is the
filter (about one bit per input base, capped) plus 12 bytes per table slot, whatever
the number of reads. The result is a :class:`seqfcn.correction.kmers.KmerTable`; a k-mer seen
once (in the table only by a filter false positive) and an absent one both count as 0
or 2 rather than 1, which no decision below distinguishes.

:func:`solid_threshold` reads the valley between the error and the genome peaks of
the count histogram; :func:`support` gives for every base the smallest count of the
k-mers covering it, so a base is *supported* when that reaches the threshold.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from seqfcn.correction import defaults
from seqfcn.errors import SeqfcnError
from seqfcn.training.options import with_overrides
from seqfcn.correction.kmers import KmerTable, _check_k, _kmercount, kernel_threads

log = logging.getLogger(__name__)

_EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)
_MAX_LOAD = 0.7
_BATCH_BASES = 1 << 22
_COUNT_BITS = 22  # counts kept when packed beside a key for sorting (k <= 21): up to 4,194,303


_PARTS = 4  # a power of 2: each partition gets an equal share of the filter bits
"""Partitions of the k-mers (by a hash), each with its own table and filter: counted on
threads in parallel. A constant, so the spectrum is the same for any number of threads."""


class _Part:
    """One partition's open-addressing table (keys, uint32 counts) and Bloom filter."""

    def __init__(self, bits: int, bloom_bits: int | None) -> None:
        self.bits = bits
        self.keys = np.full(1 << bits, _EMPTY, np.uint64)
        self.counts = np.zeros(1 << bits, np.uint32)
        self.used = 0
        self.bloom = np.zeros(0 if bloom_bits is None else 1 << (bloom_bits - 6), np.uint64)
        self.bloom_shift = 0 if bloom_bits is None else 64 - bloom_bits

    def grow(self, extra: int) -> None:
        """Double the table until ``extra`` more keys keep the load under ``_MAX_LOAD``."""
        while self.used + extra > _MAX_LOAD * (1 << self.bits):
            bits = self.bits + 1
            keys = np.full(1 << bits, _EMPTY, np.uint64)
            counts = np.zeros(1 << bits, np.uint32)
            _kmercount.rehash(self.keys, self.counts, keys, counts, 64 - bits)
            self.keys, self.counts, self.bits = keys, counts, bits

    def add(self, codes: np.ndarray, offsets: np.ndarray, k: int, index: int) -> int:
        """Count this partition's k-mers of the reads; returns the k-mers seen. The kernel
        stops before a read that could overfill the table, which then grows."""
        seen = 0
        start, n = 0, offsets.shape[0] - 1
        self.grow(min(int(codes.shape[0]) // _PARTS + (1 << 16), int(codes.shape[0])))
        while start < n:
            cap = int(_MAX_LOAD * (1 << self.bits)) - self.used
            added, got, done = _kmercount.count(codes, offsets[start:], k, self.keys, self.counts, 64 - self.bits,
                                                self.bloom, self.bloom_shift, index, _PARTS, cap)
            self.used += added
            seen += got
            start += done
            if start < n:
                self.grow(int(offsets[start + 1] - offsets[start]) + (1 << 16))
        return seen


class SpectrumCounter:
    """Incremental canonical k-mer counter (Bloom-filtered, compiled).

    The k-mers are split by a hash into ``_PARTS`` partitions, each with its own table and
    filter, counted on up to ``threads`` threads (the counts do not depend on it).

    Args:
        k: k-mer length (3..31).
        expected_bases: about how many bases will be added (sizes the Bloom filters:
            one bit per base in all, 2**23..2**32 bits).
        bloom: drop k-mers seen once (default True); False counts every k-mer exactly.
        threads: threads counting partitions at once (default :func:`seqfcn.correction.kmers.kernel_threads`).
    """

    def __init__(self, k: int, *, expected_bases: int = 1 << 26, bloom: bool = True,
                 threads: int | None = None) -> None:
        if _kmercount is None:
            raise SeqfcnError("the compiled k-mer counter is not built (reinstall seqfcn with a C compiler)")
        self.k = _check_k(k)
        bloom_bits = None
        if bloom:
            bloom_bits = int(min(32, max(23, np.ceil(np.log2(max(expected_bases, 2)))))) - (_PARTS.bit_length() - 1)
        self.parts = [_Part(20, bloom_bits) for _ in range(_PARTS)]
        self.kmers = 0
        self.reads = 0
        self.bloom_filtered = bool(bloom)
        self.threads = max(1, min(_PARTS, kernel_threads() if threads is None else int(threads)))
        self._pool = None

    @property
    def used(self) -> int:
        """Distinct k-mers in the tables."""
        return sum(p.used for p in self.parts)

    @property
    def slots(self) -> int:
        """Table slots over all partitions."""
        return sum(1 << p.bits for p in self.parts)

    @property
    def nbytes(self) -> int:
        """Memory held by the tables and the filters."""
        return sum(p.keys.nbytes + p.counts.nbytes + p.bloom.nbytes for p in self.parts)

    def add(self, codes: np.ndarray, offsets: np.ndarray) -> None:
        """Count the reads ``codes[offsets[i]:offsets[i + 1]]`` (uint8 codes, N = 4; int64 offsets)."""
        codes = np.ascontiguousarray(codes, np.uint8)
        offsets = np.ascontiguousarray(offsets, np.int64)
        jobs = [(part, codes, offsets, self.k, i) for i, part in enumerate(self.parts)]
        if self.threads > 1:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="seqfcn-count")
            seen = list(self._pool.map(lambda job: job[0].add(*job[1:]), jobs))
        else:
            seen = [job[0].add(*job[1:]) for job in jobs]
        self.kmers += sum(seen)
        self.reads += int(offsets.shape[0]) - 1

    def release(self) -> None:
        """Free the filters and the worker threads (the tables stay for :meth:`table`)."""
        for p in self.parts:
            p.bloom = np.zeros(0, np.uint64)
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def table(self) -> KmerTable:
        """The counts as a :class:`KmerTable` (sorted keys; with the filter, counts + 1;
        for k <= 21 a count above 4,194,303 is kept as that)."""
        extra = 1 if self.bloom_filtered else 0
        if 2 * self.k + _COUNT_BITS <= 64:
            # sort (key, count) packed in one uint64, in place: no argsort permutation, no gathers
            packed = np.empty(self.used, np.uint64)
            at = 0
            for p in self.parts:
                full = p.keys != _EMPTY
                m = int(np.count_nonzero(full))
                np.left_shift(p.keys[full], np.uint64(_COUNT_BITS), out=packed[at:at + m])
                packed[at:at + m] |= np.minimum(p.counts[full], (1 << _COUNT_BITS) - 1).astype(np.uint64)
                at += m
            packed.sort()
            keys = packed >> np.uint64(_COUNT_BITS)
            packed &= np.uint64((1 << _COUNT_BITS) - 1)
            counts = packed.view(np.int64)
            counts += extra
            return KmerTable(self.k, keys, counts, source="reads")
        full = [p.keys != _EMPTY for p in self.parts]
        keys = np.concatenate([p.keys[f] for p, f in zip(self.parts, full)])
        counts = np.concatenate([p.counts[f] for p, f in zip(self.parts, full)]).astype(np.int64) + extra
        order = np.argsort(keys, kind="stable")
        return KmerTable(self.k, keys[order], counts[order], source="reads")


def compiled() -> bool:
    """Whether the compiled kernels are built (counting, support and extension need them)."""
    return _kmercount is not None


def expected_bases(path: str) -> int:
    """About how many bases a read file holds (sizes the Bloom filter): half its size, for
    gzip half its uncompressed size (the trailer's ISIZE when it is plausible, else 3.5x
    the compressed size), so a FASTQ and its (single-member) gzip get the same filter and the
    same spectrum. A bgzip or multi-member file ends with a member of its own, so it gets the
    3.5x estimate: its filter, and so a few counts, may differ from the plain file's."""
    import os

    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
        if gz and size >= 4:
            fh.seek(size - 4)
            isize = int.from_bytes(fh.read(4), "little")
    if str(path).endswith((".bam", ".cram")):
        return size
    if gz:
        # ISIZE is the last member's size mod 2**32: whole-file only for one member under 4 GiB
        size = isize if size <= isize < (1 << 32) and size < (1 << 30) else int(size * 3.5)
    return size // 2


def count_spectrum(reads: Iterable[np.ndarray], k: int, *, expected_bases: int = 1 << 26,
                   bloom: bool = True) -> KmerTable:
    """The canonical k-mer spectrum of ``reads`` (``(L_i,)`` code arrays, 0-3, N = 4).
    Without the compiled kernels: exact counts with numpy (:meth:`KmerTable.from_codes`)."""
    if not compiled():
        return KmerTable.from_codes(reads, k, source="reads")
    counter = SpectrumCounter(k, expected_bases=expected_bases, bloom=bloom)
    batch: list[np.ndarray] = []
    bases = 0
    for r in reads:
        batch.append(r)
        bases += r.shape[0]
        if bases >= _BATCH_BASES:
            _add_batch(counter, batch)
            batch, bases = [], 0
    _add_batch(counter, batch)
    return _finish(counter)


def count_fastq_file(path: str, k: int, *, bloom: bool = True) -> KmerTable | None:
    """The spectrum of one 4-line FASTQ file (plain or gzip), parsed in C a block at a time
    (no per-read Python objects). None when the file is not such a FASTQ (FASTA, BAM,
    wrapped or malformed records): the caller then counts through the strict reader,
    which also names what is wrong."""
    return count_fastq_files([path], k, bloom=bloom)


def count_fastq_files(paths: Sequence[str], k: int, *, bloom: bool = True) -> KmerTable | None:
    """One spectrum over several 4-line FASTQ files (e.g. R1 and R2), as :func:`count_fastq_file`;
    None when any of them is not such a file."""
    if not compiled():
        return None
    counter = SpectrumCounter(k, expected_bases=sum(expected_bases(p) for p in paths), bloom=bloom)
    for path in paths:
        if not _add_fastq_file(counter, path):
            return None  # counts so far are discarded: the strict reader recounts every file
    return _finish(counter)


def _add_fastq_file(counter: SpectrumCounter, path: str) -> bool:
    """Add the k-mers of a 4-line FASTQ file to ``counter``; False (possibly after adding
    part of it) when the file is not one."""
    import gzip

    with open(path, "rb") as fh:
        magic = fh.read(2)
    gz = magic == b"\x1f\x8b"
    if magic[:1] != b"@" and not gz:
        return False
    opener = gzip.open if gz else open
    rest = b""
    try:
        with opener(path, "rb") as fh:
            while True:
                block = fh.read(_BATCH_BASES)
                data = rest + block if rest else block
                if not data:
                    return True
                codes = np.empty(len(data), np.uint8)
                offsets = np.empty(len(data) // 4 + 2, np.int64)
                used, n = _kmercount.parse_fastq(data, codes, offsets)
                if used < 0:
                    return False
                if n:
                    counter.add(codes[: offsets[n]], offsets[: n + 1])
                rest = data[used:]
                if not block:
                    return not rest.strip()  # an incomplete last record: let the strict reader say so
    except (OSError, EOFError, ValueError):
        return False


def _finish(counter: SpectrumCounter) -> KmerTable:
    """The counter's table; the counter's arrays are released."""
    log.debug("k-mer spectrum: %d k-mers, %d distinct in the table, %.0f MB", counter.kmers, counter.used,
              counter.nbytes / 1e6)
    counter.release()
    table = counter.table()
    table.reads = counter.reads
    counter.parts = []
    return table


def _add_batch(counter: SpectrumCounter, batch: list[np.ndarray]) -> None:
    if not batch:
        return
    lengths = np.fromiter((r.shape[0] for r in batch), np.int64, len(batch))
    offsets = np.zeros(len(batch) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    counter.add(np.concatenate(batch).astype(np.uint8, copy=False), offsets)


def solid_threshold(table: KmerTable, *, floor: int = 2) -> int:
    """The smallest count of a *solid* (genomic) k-mer: the first valley of the count
    histogram between the error k-mers and the genome peak, at least ``floor`` and at
    most half the typical count (a histogram without a valley gives ``floor``)."""
    if len(table) == 0:
        return floor
    top = int(max(floor + 1, min(4 * table.scale, 10_000)))
    hist = np.bincount(np.minimum(table.counts, top + 1), minlength=top + 2)[: top + 1]
    ceiling = max(floor, int(table.scale // 2))
    for c in range(floor, min(ceiling, top - 1) + 1):
        if hist[c] <= hist[c + 1]:
            return int(c)
    return ceiling


def _index(table: KmerTable) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
    if len(table) == 0:
        return np.full(16, -1, np.int64), 60, np.zeros(1, np.uint64), np.zeros(1, np.int64)
    index = table.hash_index()
    return index.slots, int(index.shift), table.keys, table.counts


def extend(codes: np.ndarray, lengths: np.ndarray, table: KmerTable, solid: int, **options: Any) -> np.ndarray:
    """The ``(n, w)`` uint8 codes of :func:`walk` (same arguments and options), without its flags."""
    return walk(codes, lengths, table, solid, **options)[0]


@dataclass(frozen=True)
class WalkSettings:
    """The settings of :func:`walk` (its docstring says what each does)."""

    max_edits: int = 64
    min_run: int = 5
    passes: int = 2
    depth: int = defaults.WALK_DEPTH
    weight: int = defaults.WALK_WEIGHT
    margin: int = defaults.WALK_MARGIN
    max_quality: int = defaults.WALK_MAX_QUALITY
    keep_weak: bool = False


def walk(codes: np.ndarray, lengths: np.ndarray, table: KmerTable, solid: int, *,
         qualities: np.ndarray | None = None, settings: WalkSettings | None = None,
         **overrides: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spectrum-guided substitutions walking out of each read's solid k-mers.

    From the first solid k-mer rightwards (then leftwards), the base entering the first
    non-solid k-mer is the suspect. Each of the 3 other bases is scored by its best
    continuation: ``weight`` per solid k-mer it reaches (at most k, or the k-mers left)
    less the summed quality of up to ``depth`` further substitutions that continuation
    makes, each at the entering base of the next non-solid k-mer and only at bases of
    quality below ``max_quality`` (without ``qualities`` they cost nothing). The best base
    is taken when it reaches at least ``min(min_run, k-mers left)`` k-mers and scores at
    least ``margin`` above every other, and, when the suspect's own quality is ``max_quality``
    or more, only when k solid k-mers confirm it (near a read's end fewer cover it, and a
    repeat copy differing there explains the read as well); only that base changes and the
    walk goes on (``seqfcn/correction/_kmercount.c: extend``). Each of ``passes`` walks starts from the previous
    one's result (a read is walked again only when the last walk changed it and left a weak
    k-mer). With ``depth=0, weight=1, margin=1`` a base is taken only when its own
    run is the unique longest. Unless ``keep_weak``, a substitution whose base is still not
    supported (:func:`support` below ``solid``) once the walks are done is undone.

    Args:
        codes: ``(n, w)`` padded codes (0-3, N 4); lengths: ``(n,)``;
        qualities: ``(n, w)`` Phred qualities (uint8) or None.
        settings: :class:`WalkSettings` (``max_edits``, ``min_run``, ``passes``, ``depth``,
            ``weight``, ``margin``, ``max_quality``, ``keep_weak``); ``overrides`` replace
            single fields (``walk(c, l, t, 2, depth=0)``).

    Returns:
        ``(n, w)`` uint8 codes with the substitutions made (a new array) and two ``(n,)``
        bool arrays: the reads with a k-mer that is not solid (or holds an N) before the
        walk and after it. One pass over the k-mers of every read: reads whose k-mers are
        all solid are only looked up, so this also replaces a :func:`support` pass for them.
    """
    o = with_overrides(settings, WalkSettings, overrides, "walk")
    start = np.ascontiguousarray(np.where((codes >= 0) & (codes < 4), codes, 4), np.uint8)
    out = start.copy()
    n, w = out.shape
    flags = np.zeros(n, np.uint8)
    quals = b"" if qualities is None else np.ascontiguousarray(qualities, np.uint8)
    if qualities is not None and quals.shape != out.shape:
        raise ValueError(f"qualities {quals.shape} do not match codes {out.shape}")
    if not (n and w):
        return out, flags.astype(bool), flags.astype(bool)
    slots, shift, keys, counts = _index(table)
    _kmercount.extend(out, np.ascontiguousarray(lengths, np.int64), n, w, table.k, slots, shift, keys, counts,
                      int(solid), int(o.max_edits), int(o.min_run), quals, int(o.depth), int(o.weight),
                      int(o.margin), int(o.max_quality), int(o.passes), kernel_threads(), flags)
    before, after = (flags & 1).astype(bool), (flags & 2).astype(bool)
    changed = out != start
    if not o.keep_weak and changed.any():
        rows = np.nonzero(changed.any(1))[0]
        weak = changed[rows] & (support(out[rows], table) < solid)
        out[rows] = np.where(weak, start[rows], out[rows])
        after[rows[weak.any(1)]] = True  # an undone edit sits in a weak k-mer
    return out, before, after


def support(codes: np.ndarray, table: KmerTable, *, largest: bool = False) -> np.ndarray:
    """Per base, the smallest (``largest``: the largest) count of the N-free k-mers covering it.

    Args:
        codes: ``(n, w)`` codes of padded reads (0-3, N and padding 4).

    Returns:
        ``(n, w)`` int64; -1 where no N-free k-mer covers the base (short reads, N runs).
    """
    codes = np.ascontiguousarray(np.where((codes >= 0) & (codes < 4), codes, 4), np.uint8)
    n, w = codes.shape
    out = np.empty((n, w), np.int64)
    if n == 0 or w == 0:
        return out
    index_slots, shift, keys, counts = _index(table)
    _kmercount.cover_min(codes, n, w, table.k, index_slots, shift, keys, counts, out, largest, kernel_threads())
    return out
