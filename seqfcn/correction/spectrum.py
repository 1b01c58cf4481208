"""The reads' k-mer spectrum, counted compactly, and which bases it supports.

:func:`count_spectrum` streams reads once through a Bloom filter and a quotiented
open-addressing table (``seqfcn/correction/_kmercount.c``): a k-mer's first sighting only sets
filter bits, so the k-mers seen once, nearly all of them sequencing errors, never take
table space. Each of the ``_PARTS`` filter partitions has ``SUBS`` sub-tables; a slot holds
only the k-mer's hash remainder (the sub-table and the home slot are the rest of an invertible
hash), its displacement from the home slot and an 8-bit count (k = 21: 4 bytes from 2**26
slots, 5 below), at load <= 0.8; counts of 255 and more, and the rare k-mer whose probe run
is too long, are kept exactly in a small overflow table, so every count is what the former
uint64 + uint32 table held. A full sub-table doubles on its own, so only 1/64 of the table
is ever copied at once. Memory is the filter (about one bit per input base, capped) plus
5-10 bytes per distinct k-mer counted (slot bytes / load), whatever the number of reads;
reading the table back (:meth:`SpectrumCounter.table`) frees it a sub-table at a time into
the 16 bytes per k-mer of a :class:`seqfcn.correction.kmers.KmerTable` (uint64 keys, int64
counts); for correction, :mod:`seqfcn.correction.spectrum_passes` reads it back a sub-table at
a time (:meth:`SpectrumCounter.export_sub`) into the ~4.4 bytes per k-mer of a
:class:`seqfcn.correction.spectrum_index.SpectrumIndex`, and under a memory cap counts the
sub-tables in passes.
A k-mer seen once (in the table only by a filter false positive) and an absent one both
count as 0 or 2 rather than 1, which no decision below distinguishes.

:func:`solid_threshold` reads the valley between the error and the genome peaks of
the count histogram; :func:`support` gives for every base the smallest count of the
k-mers covering it, so a base is *supported* when that reaches the threshold.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from seqfcn.correction import defaults
from seqfcn.errors import SeqfcnError
from seqfcn.runtime.heap import mapped_blocks
from seqfcn.runtime.options import resolve_options
from seqfcn.correction.kmers import KmerTable, _check_k, _kmercount, kernel_threads
from seqfcn.correction.spectrum_index import mix

log = logging.getLogger(__name__)

_EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)
_MAX_LOAD = 0.8  # of a quotiented sub-table
_OVERFLOW_LOAD = 0.7  # of an overflow table (full uint64 keys)
_BATCH_BASES = 1 << 22
_BUDGET_SLICE = 1 << 19  # bases counted between two budget checks (SpectrumCounter.fit)
COUNT_BITS = 22
"""Bits of a count packed beside its k-mer in one uint64 (k <= 21): counts up to 4,194,303."""
SUB_BITS = 4
"""Sub-tables of a partition by the top bits of the k-mer's mix (as SUB_BITS in ``_kmercount.c``)."""
SUBS = 1 << SUB_BITS
_FIRST_Q = 12  # first size of a sub-table: 2**12 slots


_PARTS = 4  # a power of 2: each partition gets an equal share of the filter bits
"""Partitions of the k-mers (by a hash), each with its own table and filter: counted on
threads in parallel. A constant, so the spectrum is the same for any number of threads."""


def slot_bytes(k: int, q: int) -> int:
    """Bytes of a slot of a quotiented sub-table with 2**q slots for k-mers of length ``k``:
    the remainder (2k - 4 - q bits), a displacement of at least 6 bits and an 8-bit count,
    rounded up to whole bytes (k = 21: 5 bytes up to q = 19, 4 bytes for q = 20..27, i.e.
    from 2**26 slots in all, about 50 M k-mers)."""
    return (14 + 2 * k - SUB_BITS - q + 7) // 8


class _Part:
    """One partition's quotiented table (``SUBS`` sub-tables, each doubled on its own when
    full, so at most one sub-table's old and new arrays coexist), its overflow table (k-mers
    counted 255 times or more, and the rare one whose probe run is too long: uint64 keys,
    uint32 counts) and its Bloom filter."""

    def __init__(self, k: int, bloom_bits: int | None, subs: range = range(SUBS)) -> None:
        self.k = k
        self.qmax = 2 * k - SUB_BITS  # no remainder left: every possible k-mer has a slot
        q = min(_FIRST_Q, self.qmax)
        self.subs = [self._empty(q) for _ in range(SUBS)]
        self.caps = np.array([[q] * SUBS, [self._cap(q)] * SUBS], np.int64)
        self.used = np.zeros(SUBS + 1, np.int64)  # keys per sub-table, then those moved to the overflow
        self.obits = 10
        self.okeys = np.full(1 << self.obits, _EMPTY, np.uint64)
        self.ocounts = np.zeros(1 << self.obits, np.uint32)
        self.oused = 0
        self.bloom = np.zeros(0 if bloom_bits is None else 1 << (bloom_bits - 6), np.uint64)
        self.bloom_shift = 0 if bloom_bits is None else 64 - bloom_bits
        for i in sorted(set(range(SUBS)) - set(subs)):
            self.drop(i)

    def _empty(self, q: int) -> np.ndarray:
        return np.zeros((1 << q) * slot_bytes(self.k, q) + 8, np.uint8)  # 8 bytes of slack for 8-byte loads

    def _cap(self, q: int) -> int:
        return 1 << 62 if q == self.qmax else int(_MAX_LOAD * (1 << q))

    @property
    def distinct(self) -> int:
        """Distinct k-mers held (in a sub-table or only in the overflow)."""
        return int(self.used.sum())

    @property
    def nbytes(self) -> int:
        """Bytes of the tables and the filter."""
        return sum(t.nbytes for t in self.subs) + self.okeys.nbytes + self.ocounts.nbytes + self.bloom.nbytes

    def _ocap(self) -> int:
        return int(_OVERFLOW_LOAD * (1 << self.obits)) - self.oused

    def _grow_overflow(self, extra: int) -> None:
        while self._ocap() < extra:
            bits = self.obits + 1
            keys = np.full(1 << bits, _EMPTY, np.uint64)
            counts = np.zeros(1 << bits, np.uint32)
            _kmercount.rehash(self.okeys, self.ocounts, keys, counts, 64 - bits)
            self.okeys, self.ocounts, self.obits = keys, counts, bits

    def grow(self, extra: int) -> None:
        """Double every sub-table with room for fewer than ``extra`` more keys (one at a
        time), and the overflow likewise."""
        self._grow_overflow(extra)
        for i in range(SUBS):
            while self.caps[1, i] - self.used[i] < extra:
                q = int(self.caps[0, i])
                self._grow_overflow(int(self.used[i]) // 16 + 1024)
                new = self._empty(q + 1)
                kept, fresh, moved = _kmercount.regrow(self.subs[i], q, new, q + 1, self.k, i, self.okeys,
                                                       self.ocounts, 64 - self.obits, self._ocap())
                if fresh < 0:  # pragma: no cover - needs ~6% of a sub-table's keys with runs over 63
                    raise RuntimeError("k-mer table overflow while growing; please report")
                self.subs[i] = new
                self.caps[:, i] = (q + 1, self._cap(q + 1))
                self.used[i] = kept
                self.used[SUBS] += moved
                self.oused += fresh

    def drop(self, i: int) -> None:
        """Stop counting sub-table ``i`` and free it (its k-mers in the overflow stay, ignored:
        :meth:`overflow_of`)."""
        self.subs[i] = np.zeros(8, np.uint8)
        self.caps[1, i] = 1 << 62  # never grown
        self.used[i] = 0

    def overflow_of(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """The k-mers of sub-table ``i`` in the overflow table (counts of 255 and more, long
        runs) and their uint32 counts."""
        full = self.okeys != _EMPTY
        keys, counts = self.okeys[full], self.ocounts[full]
        mine = (mix(keys, 2 * self.k) >> np.uint64(2 * self.k - SUB_BITS)) == np.uint64(i)
        return keys[mine], counts[mine]

    def slot_counts(self, i: int) -> Iterator[np.ndarray]:
        """The 8-bit counts of sub-table ``i``'s slots (0 empty, 255 in the overflow), a block at a time."""
        q = int(self.caps[0, i])
        width = slot_bytes(self.k, q)
        slots = self.subs[i][: (1 << q) * width] if self.subs[i].shape[0] > 8 else self.subs[i][:0]
        for at in range(0, slots.shape[0], width << 22):
            yield slots[at:at + (width << 22):width]

    def export_sub(self, i: int, out: np.ndarray) -> int:
        """Write sub-table ``i``'s k-mers, ``key << COUNT_BITS | count`` (counts capped at
        2**22 - 1), into ``out`` and free the sub-table; returns how many were written."""
        at = _kmercount.export(self.subs[i], int(self.caps[0, i]), self.k, i, out, COUNT_BITS,
                               np.zeros(1, np.uint32))
        keys, counts = self.overflow_of(i)
        m = keys.shape[0]
        np.left_shift(keys, np.uint64(COUNT_BITS), out=out[at:at + m])
        out[at:at + m] |= np.minimum(counts, (1 << COUNT_BITS) - 1).astype(np.uint64)
        self.subs[i] = np.zeros(8, np.uint8)
        return at + m

    def add(self, codes: np.ndarray, offsets: np.ndarray, k: int, index: int, subs: range) -> int:
        """Count this partition's k-mers of the reads in sub-tables ``subs``; returns the
        k-mers seen. The kernel stops before a read that could overfill a sub-table or the
        overflow, which then grow."""
        seen = 0
        start, n = 0, offsets.shape[0] - 1
        while start < n:
            _, fresh, got, done = _kmercount.count(codes, offsets[start:], k, self.subs, self.caps, self.used,
                                                   self.okeys, self.ocounts, 64 - self.obits, self._ocap(),
                                                   self.bloom, self.bloom_shift, index, _PARTS, subs.start,
                                                   subs.stop)
            self.oused += fresh
            seen += got
            start += done
            if start < n:
                self.grow(int(offsets[start + 1] - offsets[start]) + 256)
        return seen

    def export_keys(self, keys: np.ndarray, counts: np.ndarray) -> int:
        """Write the k-mers into ``keys`` (uint64) and their counts into ``counts`` (uint32),
        freeing the tables as they are read (any k; :meth:`export_sub` packs them for k <= 21).
        Returns how many were written."""
        at = 0
        for i in range(SUBS):
            at += _kmercount.export(self.subs[i], int(self.caps[0, i]), self.k, i, keys[at:], 0, counts[at:])
            self.subs[i] = np.zeros(8, np.uint8)
        full = self.okeys != _EMPTY
        m = int(np.count_nonzero(full))
        keys[at:at + m] = self.okeys[full]
        counts[at:at + m] = self.ocounts[full]
        self.okeys, self.ocounts = np.zeros(0, np.uint64), np.zeros(0, np.uint32)
        return at + m


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
        partitions: count only these of the ``_PARTS`` partitions (a count shard, ``seqfcn count
            --shard``); each is counted exactly as in a run over all of them (default: all).
        subs: count only these of the ``SUBS`` sub-tables of every partition (a pass of
            :func:`seqfcn.correction.spectrum_passes.count_compact`; each exactly as in a run
            over all of them); ``budget``: bytes the tables may take (the filters aside):
            past it, the highest sub-tables are dropped (:meth:`fit`).
    """

    def __init__(self, k: int, *, expected_bases: int = 1 << 26, bloom: bool = True,
                 threads: int | None = None, partitions: Sequence[int] | None = None,
                 subs: range = range(SUBS), budget: int | None = None) -> None:
        if _kmercount is None:
            raise SeqfcnError("the compiled k-mer counter is not built (reinstall seqfcn with a C compiler)")
        self.k = _check_k(k)
        bloom_bits = None
        if bloom:
            bloom_bits = int(min(32, max(23, np.ceil(np.log2(max(expected_bases, 2)))))) - (_PARTS.bit_length() - 1)
        self.subs = subs
        self.budget = budget
        self.parts = [_Part(self.k, bloom_bits, subs) for _ in range(_PARTS)]
        self.kmers = 0
        self.reads = 0
        self.bloom_filtered = bool(bloom)
        self.threads = max(1, min(_PARTS, kernel_threads() if threads is None else int(threads)))
        self._pool = None
        self.partitions = frozenset(range(_PARTS) if partitions is None else partitions)

    @property
    def used(self) -> int:
        """Distinct k-mers in the tables."""
        return sum(p.distinct for p in self.parts)

    @property
    def slots(self) -> int:
        """Table slots over all partitions."""
        return sum(int((1 << p.caps[0].astype(object)).sum()) for p in self.parts)

    @property
    def nbytes(self) -> int:
        """Memory held by the tables and the filters."""
        return sum(p.nbytes for p in self.parts)

    def add(self, codes: np.ndarray, offsets: np.ndarray) -> None:
        """Count the reads ``codes[offsets[i]:offsets[i + 1]]`` (uint8 codes, N = 4; int64 offsets)."""
        codes = np.ascontiguousarray(codes, np.uint8)
        offsets = np.ascontiguousarray(offsets, np.int64)
        if self.budget is None:
            self._add(codes, offsets)
            return
        # under a budget, a slice of reads at a time: the tables outgrow a projection by at most one slice's k-mers
        starts = np.arange(offsets[0], offsets[-1], _BUDGET_SLICE)
        cuts = np.unique(np.concatenate([[0], np.searchsorted(offsets, starts, side="right") - 1,
                                         [offsets.shape[0] - 1]]))
        for a, b in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
            self.fit(int(offsets[b] - offsets[a]))
            self._add(codes, offsets[a:b + 1])

    def _add(self, codes: np.ndarray, offsets: np.ndarray) -> None:
        jobs = [(part, codes, offsets, self.k, i, self.subs) for i, part in enumerate(self.parts)
                if i in self.partitions]
        if self.threads > 1:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="seqfcn-count")
            seen = list(self._pool.map(lambda job: job[0].add(*job[1:]), jobs))
        else:
            seen = [job[0].add(*job[1:]) for job in jobs]
        self.kmers += sum(seen)
        self.reads += int(offsets.shape[0]) - 1

    def table_bytes(self) -> int:
        """Bytes of the counting tables (the overflow tables included, the filters not)."""
        return sum(p.nbytes - p.bloom.nbytes for p in self.parts)

    def projected(self, bases: int) -> int:
        """Bytes the tables may reach while the next ``bases`` bases are counted: every
        sub-table that could fill with them (less room than twice its share of the k-mers)
        counted doubled, plus the copy of the largest while it doubles."""
        margin = 2 * bases // (len(self.parts) * SUBS) + 1024
        total = largest = keys = 0
        for p in self.parts:
            total += 3 * (p.okeys.nbytes + p.ocounts.nbytes)  # old and new while the overflow doubles
            for i in self.subs:
                size = p.subs[i].nbytes
                grows = p.caps[1, i] - p.used[i] < margin
                total += 2 * size if grows else size
                largest = max(largest, size)
                keys = max(keys, int(p.used[i]))
        return total + max(2 * largest, 8 * keys)  # a doubling, or one sub-table's k-mers written out

    def fit(self, bases: int = 0) -> None:
        """Drop the highest sub-tables still counted until the tables fit :attr:`budget` while
        the next ``bases`` bases are counted (:meth:`projected`); a :class:`SeqfcnError` when
        the lowest alone does not."""
        while True:
            need = self.projected(bases)
            if need <= self.budget:
                return
            if len(self.subs) == 1:
                raise SeqfcnError(f"counting in passes: one sixteenth of the k-mer spectrum needs {need / 2**20:,.0f} MiB "
                                  f"for its table, over the {self.budget / 2**20:,.0f} MiB left under --memory; "
                                  "give more memory")
            for p in self.parts:
                p.drop(self.subs.stop - 1)
            self.subs = range(self.subs.start, self.subs.stop - 1)

    def release(self) -> None:
        """Free the filters and the worker threads (the tables stay for :meth:`table`)."""
        for p in self.parts:
            p.bloom = np.zeros(0, np.uint64)
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def histogram(self, i: int) -> np.ndarray:
        """``(c,)`` int64: how many k-mers of sub-table ``i`` (all partitions) have each count,
        as :meth:`export_sub` gives them (k <= 21)."""
        extra = 1 if self.bloom_filtered else 0
        hist = np.zeros(256 + extra, np.int64)
        for p in self.parts:
            slots = np.zeros(256, np.int64)
            for block in p.slot_counts(i):
                slots += np.bincount(block, minlength=256)
            slots[0] = slots[255] = 0  # empty slots; counts kept in the overflow
            hist[extra:256 + extra] += slots
            counts = np.minimum(p.overflow_of(i)[1], (1 << COUNT_BITS) - 1).astype(np.int64)
            counts += (counts < (1 << COUNT_BITS) - 1) * extra
            over = np.bincount(counts)
            if over.shape[0] > hist.shape[0]:
                over[: hist.shape[0]] += hist
                hist = over
            else:
                hist[: over.shape[0]] += over
        return hist

    def export_sub(self, i: int) -> np.ndarray:
        """``(m,)`` uint64 ``key << COUNT_BITS | count`` of sub-table ``i``'s k-mers (all
        partitions; with the filter, counts + 1 below the field's largest), which are freed."""
        out = np.empty(sum(self._room(p, i) for p in self.parts), np.uint64)
        at = self._export_into(i, out)
        out = out[:at].copy() if at < out.shape[0] // 2 else out[:at]
        self._plus_extra(out)
        return out

    def sub_pieces(self, i: int) -> Iterator[np.ndarray]:
        """:meth:`export_sub` a partition at a time (so only one partition's share is ever out
        at once): each partition's packed k-mers of sub-table ``i``, which are freed."""
        for p in self.parts:
            piece = np.empty(self._room(p, i), np.uint64)
            m = p.export_sub(i, piece)
            self._plus_extra(piece[:m])
            yield piece[:m]
            del piece

    def _export_into(self, i: int, out: np.ndarray) -> int:
        """Every partition's sub-table ``i`` packed into ``out`` (:meth:`_Part.export_sub`); how many."""
        at = 0
        for p in self.parts:
            at += p.export_sub(i, out[at:])
        return at

    @staticmethod
    def _room(p: _Part, i: int) -> int:
        return int(p.used[i]) + int((p.okeys != _EMPTY).sum())

    def _plus_extra(self, packed: np.ndarray) -> None:
        """With the filter, add 1 to each count below the field's largest, in place, a block at a time."""
        if not self.bloom_filtered:
            return
        mask = np.uint64((1 << COUNT_BITS) - 1)
        for at in range(0, packed.shape[0], 1 << 20):
            block = packed[at:at + (1 << 20)]
            block += ((block & mask) < mask).astype(np.uint64)

    def table(self) -> KmerTable:
        """The counts as a :class:`KmerTable` (sorted keys; with the filter, counts + 1;
        for k <= 21 a count above 4,194,303 is kept as that); the tables are freed."""
        extra = 1 if self.bloom_filtered else 0
        n = self.used
        if packs(self.k):
            # sort (key, count) packed in one uint64, in place: no argsort permutation, no gathers;
            # each sub-table is freed as it is read, so the peak is the packed array plus one table
            packed = np.empty(n, np.uint64)
            at = 0
            for i in range(SUBS):
                at += self._export_into(i, packed[at:])
            assert at == n, (at, n)
            self._plus_extra(packed)  # as export_sub: a count at the field's largest stays there
            packed.sort()
            keys = packed >> np.uint64(COUNT_BITS)
            packed &= np.uint64((1 << COUNT_BITS) - 1)
            return KmerTable(self.k, keys, packed.view(np.int64), source="reads")
        keys = np.empty(n, np.uint64)
        counts32 = np.empty(n, np.uint32)
        at = 0
        for p in self.parts:
            at += p.export_keys(keys[at:], counts32[at:])
        assert at == n, (at, n)
        order = np.argsort(keys, kind="stable")
        return KmerTable(self.k, keys[order], counts32[order].astype(np.int64) + extra, source="reads")


def packs(k: int) -> bool:
    """Whether a k-mer and its count (:data:`COUNT_BITS`) pack into one uint64 (k <= 21)."""
    return 2 * k + COUNT_BITS <= 64


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
                   bloom: bool = True, partitions: Sequence[int] | None = None) -> KmerTable:
    """The canonical k-mer spectrum of ``reads`` (``(L_i,)`` code arrays, 0-3, N = 4); with
    ``partitions``, only the k-mers of those partitions (:class:`SpectrumCounter`). Without
    the compiled kernels: exact counts with numpy (:meth:`KmerTable.from_codes`)."""
    if not compiled():
        return KmerTable.from_codes(reads, k, source="reads")
    with mapped_blocks():  # the doubling sub-tables leave no resident heap holes
        counter = SpectrumCounter(k, expected_bases=expected_bases, bloom=bloom, partitions=partitions)
        add_reads(counter, reads)
        return finish(counter)


def add_reads(counter: SpectrumCounter, reads: Iterable[np.ndarray]) -> bool:
    """Add the k-mers of ``reads`` (``(L_i,)`` code arrays) to ``counter``, a batch of
    about :data:`_BATCH_BASES` bases at a time; True."""
    batch: list[np.ndarray] = []
    bases = 0
    for r in reads:
        batch.append(r)
        bases += r.shape[0]
        if bases >= _BATCH_BASES:
            _add_batch(counter, batch)
            batch, bases = [], 0
    _add_batch(counter, batch)
    return True


def count_fastq_file(path: str, k: int, *, bloom: bool = True) -> KmerTable | None:
    """The spectrum of one 4-line FASTQ file (plain or gzip), parsed in C a block at a time
    (no per-read Python objects). None when the file is not such a FASTQ (FASTA, BAM,
    wrapped or malformed records): the caller then counts through the strict reader,
    which also names what is wrong."""
    return count_fastq_files([path], k, bloom=bloom)


def count_fastq_files(paths: Sequence[str], k: int, *, bloom: bool = True,
                      partitions: Sequence[int] | None = None) -> KmerTable | None:
    """One spectrum over several 4-line FASTQ files (e.g. R1 and R2), as :func:`count_fastq_file`
    (``partitions``: as :class:`SpectrumCounter`); None when any of them is not such a file."""
    if not compiled():
        return None
    with mapped_blocks():  # the doubling sub-tables leave no resident heap holes
        counter = SpectrumCounter(k, expected_bases=sum(expected_bases(p) for p in paths), bloom=bloom,
                                  partitions=partitions)
        if not add_fastq_files(counter, paths):
            return None  # counts so far are discarded: the strict reader recounts every file
        return finish(counter)


def add_fastq_files(counter: SpectrumCounter, paths: Sequence[str]) -> bool:
    """Add the k-mers of 4-line FASTQ files to ``counter``; False (possibly after adding
    part of them) when one is not such a file."""
    return all(_add_fastq_file(counter, p) for p in paths)


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


def finish(counter: SpectrumCounter) -> KmerTable:
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
    hist = table.count_histogram(top + 1)[: top + 1]
    ceiling = max(floor, int(table.scale // 2))
    for c in range(floor, min(ceiling, top - 1) + 1):
        if hist[c] <= hist[c + 1]:
            return int(c)
    return ceiling



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

    From the start of the longest run of solid k-mers rightwards (then leftwards), the base entering the first
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
    o = resolve_options(WalkSettings, settings, overrides, "walk")
    start = np.ascontiguousarray(np.where((codes >= 0) & (codes < 4), codes, 4), np.uint8)
    out = start.copy()
    n, w = out.shape
    flags = np.zeros(n, np.uint8)
    quals = b"" if qualities is None else np.ascontiguousarray(qualities, np.uint8)
    if qualities is not None and quals.shape != out.shape:
        raise ValueError(f"qualities {quals.shape} do not match codes {out.shape}")
    if not (n and w):
        return out, flags.astype(bool), flags.astype(bool)
    _kmercount.extend(out, np.ascontiguousarray(lengths, np.int64), n, w, table.k, table.index().kernel_args(),
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
    _kmercount.cover_min(codes, n, w, table.k, table.index().kernel_args(), out, largest, kernel_threads())
    return out
