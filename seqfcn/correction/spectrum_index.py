"""The compact lookup index of a k-mer spectrum (what read correction reads of it).

A canonical k-mer ``v`` (``2k`` bits) is mixed by a bijection of ``2k``-bit words,
``h = mix(v)``; the top ``p`` bits of ``h`` pick one of ``2**p`` buckets and the other
``r = 2k - p`` bits (the remainder) are all that is kept of the k-mer, packed with its
count in one entry of ``W`` = 4 or 8 bytes: ``remainder << c | min(count, 2**c - 1)``,
``c = 8 W - r``. Entries are sorted, so bucket ``b`` is ``entries[offsets[b]:offsets[b + 1]]``
in increasing remainder, about 12 k-mers a bucket. Because the mix is a bijection, a
remainder found in its bucket *is* the k-mer: lookups are exact, and counts are exact up
to ``2**c - 1`` (the index is laid out so that this is at least the count correction
still tells apart, :func:`layout`).

Bytes per k-mer: ``W + 4 * 2**p / n``; for the 23 M k-mers of a 30 Mbp human region
(k = 21) that is 4.4 (p = 21, r = 21, 11 count bits), against 8 (key) + 8 (count) + 23
(open-addressing slots) in the hash index it replaces. Written here rather than taken from
a library: the index is shared, without copying, by numpy and the compiled kernels
(``_spectrum_index.h`` holds the same layout in C), and no maintained Python package
offers an exact static k-mer dictionary of this size.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from seqfcn.errors import SeqfcnError

try:  # the compiled builder (setup.py builds it when a C compiler is present)
    from seqfcn.correction import _kmercount
except ImportError:  # pragma: no cover - exercised where no compiler was available
    _kmercount = None

BUCKET = 12
"""Target k-mers per bucket (one cache line of 4-byte entries scanned per lookup)."""
_C1, _C2 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)


def mix(values: np.ndarray, bits: int) -> np.ndarray:
    """The bijection of ``bits``-bit words that orders the index (same as ``mix`` in
    ``_spectrum_index.h``): ``(n,)`` uint64 in, ``(n,)`` uint64 out."""
    m = np.uint64((1 << bits) - 1)
    s = np.uint64((bits + 1) // 2)
    x = np.asarray(values, np.uint64).copy()
    with np.errstate(over="ignore"):
        x ^= x >> s
        x = (x * _C1) & m
        x ^= x >> s
        x = (x * _C2) & m
        x ^= x >> s
    return x


@dataclass(frozen=True)
class Layout:
    """How an index of ``n`` k-mers is laid out: ``rbits`` remainder bits, ``width`` bytes an
    entry (4 or 8), so ``2**(2k - rbits)`` buckets and counts exact up to :attr:`cap`."""

    k: int
    rbits: int
    width: int

    @property
    def buckets(self) -> int:
        return 1 << (2 * self.k - self.rbits)

    @property
    def cap(self) -> int:
        """The largest count an entry holds (larger ones are kept as this)."""
        return (1 << (8 * self.width - self.rbits)) - 1

    def nbytes(self, n: int) -> int:
        """Bytes of an index of ``n`` k-mers."""
        return self.width * n + 4 * (self.buckets + 1)


def layout(k: int, n: int, *, min_cap: int = 255) -> Layout:
    """The smallest layout for ``n`` k-mers of length ``k`` whose counts are exact up to at
    least ``min_cap``: about :data:`BUCKET` k-mers a bucket, more buckets where that makes
    4-byte entries possible (fewer remainder bits), 8-byte entries otherwise."""
    bits = 2 * k
    need = max(1, int(min_cap)).bit_length()
    natural = min(bits, int(np.ceil(np.log2(n / BUCKET))) if n > BUCKET else 0)
    options = []
    for width in (4, 8):
        rbits = min(bits - natural, 8 * width - need)  # fewer remainder bits: more buckets
        if rbits >= 0:
            options.append(Layout(k, rbits, width))
    return min(options, key=lambda lay: (lay.nbytes(n), lay.width))


class SpectrumIndex:
    """Exact counts of ``n`` canonical k-mers in ``~4.4`` bytes a k-mer (the module docstring).

    Args:
        k: k-mer length (1..31).
        keys: ``(n,)`` unique uint64 canonical k-mers, any order; or, with ``count_bits``,
            each ``key << count_bits | count`` (the counter's packed export).
        counts: ``(n,)`` int counts (None with ``count_bits``).
        count_bits: see ``keys`` (0: keys alone).
        min_cap: counts must stay exact up to at least this (:func:`layout`).
    """

    def __init__(self, k: int, keys: np.ndarray, counts: np.ndarray | None = None, *, count_bits: int = 0,
                 min_cap: int = 255) -> None:
        keys = np.ascontiguousarray(keys, np.uint64)
        n = int(keys.shape[0])
        if n >= 1 << 32:  # offsets are uint32
            raise SeqfcnError(f"{n:,} distinct k-mers: the spectrum index holds fewer than 2**32")
        self.k = int(k)
        self._next: tuple[int, int] | None = None  # an allocated index: the next part to fill, the entries filled
        self.layout = layout(self.k, n, min_cap=min_cap)
        self.offsets = np.empty(self.layout.buckets + 1, np.uint32)
        self.entries = np.empty(n, np.uint32 if self.layout.width == 4 else np.uint64)
        if count_bits == 0:
            counts = np.ascontiguousarray(counts, np.int64)
        if _kmercount is not None:
            _kmercount.index_build(keys, count_bits, counts if count_bits == 0 else b"", self.k,
                                   self.layout.rbits, self.offsets, self.entries)
        else:
            self._build(keys, counts, count_bits)

    @classmethod
    def allocate(cls, k: int, n: int, *, min_cap: int = 255) -> "SpectrumIndex":
        """An index of ``n`` k-mers to be filled a range at a time (:meth:`fill_range`), so
        that the k-mers need never all be in memory at once beside it."""
        if n >= 1 << 32:  # offsets are uint32
            raise SeqfcnError(f"{n:,} distinct k-mers: the spectrum index holds fewer than 2**32")
        index = cls(k, np.zeros(0, np.uint64), np.zeros(0, np.int64), min_cap=min_cap)
        index.layout = layout(index.k, int(n), min_cap=min_cap)
        index.offsets = np.zeros(index.layout.buckets + 1, np.uint32)
        index.entries = np.empty(int(n), np.uint32 if index.layout.width == 4 else np.uint64)
        index._next = (0, 0)
        return index

    @classmethod
    def from_parts(cls, k: int, n: int, chunks: Iterable[np.ndarray], *, count_bits: int, part_bits: int,
                   min_cap: int = 255) -> "SpectrumIndex":
        """The index of ``n`` k-mers given as one chunk per part (``2**part_bits`` parts in
        order, each ``(m,)`` uint64 ``key << count_bits | count``: every k-mer whose mix begins
        with the part's bits), so that only one part's k-mers are ever out beside the index."""
        index = cls.allocate(k, n, min_cap=min_cap)
        if 2 * k - index.layout.rbits < part_bits:  # fewer buckets than parts: a tiny spectrum, built at once
            return cls(k, np.concatenate(list(chunks)), count_bits=count_bits, min_cap=min_cap)
        for i, chunk in enumerate(chunks):
            index.fill_range(chunk, count_bits, i, part_bits)
            del chunk
        index.check_filled(1 << part_bits)
        return index

    def fill_range(self, packed: np.ndarray, count_bits: int, part: int, part_bits: int) -> None:
        """Fill the buckets of part ``part`` of ``2**part_bits`` (the k-mers whose mix begins
        with those bits) from ``packed`` (``(m,)`` uint64 ``key << count_bits | count``, any
        order, every k-mer of that part); parts are filled in order, each exactly once."""
        if self._next is None or part != self._next[0]:
            raise ValueError(f"fill part {self._next} next, not {part} (only an allocated index is filled)")
        filled = self._next[1]
        bucket_bits = 2 * self.k - self.layout.rbits
        if bucket_bits < part_bits or filled + packed.shape[0] > self.entries.shape[0]:
            raise ValueError("the index has fewer buckets than parts, or more k-mers than it was allocated for")
        per = 1 << (bucket_bits - part_bits)
        lo, m = part * per, int(packed.shape[0])
        _kmercount.index_build(np.ascontiguousarray(packed, np.uint64), count_bits, b"", self.k, self.layout.rbits,
                               self.offsets[lo:lo + per + 1], self.entries[filled:filled + m], lo, filled)
        self._next = (part + 1, filled + m)

    def check_filled(self, parts: int) -> None:
        """Raise ValueError unless :meth:`fill_range` filled all ``parts`` parts and every entry."""
        if self._next != (parts, self.entries.shape[0]):
            raise ValueError(f"index filled to {self._next}, not ({parts}, {self.entries.shape[0]})")

    def _build(self, keys: np.ndarray, counts: np.ndarray | None, count_bits: int) -> None:
        """The numpy builder (same arrays as the compiled one)."""
        if count_bits:
            counts = (keys & np.uint64((1 << count_bits) - 1)).astype(np.int64)
            keys = keys >> np.uint64(count_bits)
        lay = self.layout
        h = mix(keys, 2 * self.k)
        order = np.argsort(h, kind="stable")
        h = h[order]
        c = np.clip(np.asarray(counts, np.int64)[order], 0, lay.cap).astype(np.uint64)
        rbits = np.uint64(lay.rbits)
        fbits = np.uint64(8 * lay.width - lay.rbits)
        self.entries[:] = (((h & np.uint64((1 << lay.rbits) - 1)) << fbits) | c).astype(self.entries.dtype)
        self.offsets[0] = 0
        np.cumsum(np.bincount((h >> rbits).astype(np.int64), minlength=lay.buckets), out=self.offsets[1:])

    def __len__(self) -> int:
        return int(self.entries.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.offsets.nbytes + self.entries.nbytes)

    @property
    def cap(self) -> int:
        """Counts above this are kept as this."""
        return self.layout.cap

    def kernel_args(self) -> tuple[np.ndarray, np.ndarray, int]:
        """The index as the compiled kernels take it: ``(offsets, entries, rbits)``."""
        return self.offsets, self.entries, self.layout.rbits

    def counts(self, values: np.ndarray) -> np.ndarray:
        """``(n,)`` int64 counts of canonical k-mers ``values`` (``(n,)`` uint64; 0 when absent):
        a binary search within each value's bucket, all values at once."""
        values = np.asarray(values, np.uint64).reshape(-1)
        lay = self.layout
        h = mix(values, 2 * self.k)
        bucket = (h >> np.uint64(lay.rbits)).astype(np.int64)
        want = h & np.uint64((1 << lay.rbits) - 1)
        fbits = np.uint64(8 * lay.width - lay.rbits)
        lo = self.offsets[bucket].astype(np.int64)
        hi = self.offsets[bucket + 1].astype(np.int64)
        end = hi.copy()
        while True:  # lower bound of want among the bucket's remainders
            live = lo < hi
            if not live.any():
                break
            mid = (lo + hi) // 2
            below = np.zeros(values.shape[0], bool)
            below[live] = (self.entries[mid[live]].astype(np.uint64) >> fbits) < want[live]
            lo = np.where(live & below, mid + 1, lo)
            hi = np.where(live & ~below, mid, hi)
        out = np.zeros(values.shape[0], np.int64)
        found = lo < end
        entry = self.entries[lo[found]].astype(np.uint64)
        hit = (entry >> fbits) == want[found]
        idx = np.nonzero(found)[0][hit]
        out[idx] = (entry[hit] & np.uint64(lay.cap)).astype(np.int64)
        return out
