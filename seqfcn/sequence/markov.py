"""Bits-per-base baselines for DNA: interpolated order-k Markov models and a general compressor.

:class:`MarkovModel` is an interpolated Markov model with Witten-Bell smoothing (no free
parameter). For a context ``c`` of length ``j`` seen ``n(c)`` times, followed by ``u(c)``
distinct bases, and ``c'`` = ``c`` without its oldest base::

    p_j(b | c) = (n(c, b) + u(c) * p_{j-1}(b | c')) / (n(c) + u(c)),   p_{-1}(b) = 1/4,

and ``p_j = p_{j-1}`` where ``n(c) = 0``. Counts are taken on both strands; a k-mer holding an
N (any code outside 0-3) is not counted. A base is predicted from the longest N-free context
of at most ``k`` bases to its left (shorter at a sequence start and right after an N).

Sequences are ``(L,)`` int8 codes (0-3 = A, C, G, T, anything else = N); strings and ASCII
``uint8`` arrays are accepted too (read with :func:`seqfcn.sequence.encode.to_codes`).
A k-mer's index is its base-4 value, oldest base most significant.

:func:`compressor_bits_per_base` gives what ``xz -9e`` needs per base for the same bases.
"""
from __future__ import annotations

import lzma
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from seqfcn.sequence.encode import SeqLike, to_codes

MAX_ORDER = 12
_CHUNK = 1 << 22
"""Positions per counting/evaluation window (bounds the temporaries to a few hundred MB)."""
_BINCOUNT_MAX = 1 << 24
"""Orders whose count array is larger than this add a window's counts by sorting, not bincount."""
_WIDE_COUNTS = 8
"""Counts of orders up to this are int64; above it uint32 (no 10-mer occurs 4e9 times)."""
_FLOAT64_TABLES = 10
"""Probability tables of orders up to this are float64; the larger ones float32."""


def _reverse_complement(codes: np.ndarray) -> np.ndarray:
    """Reverse complement ``(L,)`` int8 of ``(L,)`` codes (N stays N, as code 4)."""
    c = codes[::-1]
    return np.where((c >= 0) & (c < 4), 3 - c, 4).astype(np.int8)


def _windows(codes: np.ndarray, k: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, int, int]]:
    """Windows ``(x, valid, run, off, start)`` covering ``codes`` in chunks, each with ``k`` bases of left context.

    ``x`` (n,) int64 is the window's codes with N set to 0, ``valid`` (n,) bool marks A/C/G/T,
    ``run[i]`` (n,) int64 is the number of consecutive valid bases just before ``i`` inside the
    window; window position ``off`` is sequence position ``start`` (the first one to use).
    """
    for start in range(0, len(codes), _CHUNK):
        lo = max(0, start - k)
        c = codes[lo:start + _CHUNK]
        valid = (c >= 0) & (c < 4)
        x = np.where(valid, c, 0).astype(np.int64)
        pos = np.arange(len(c))
        last_n = np.maximum.accumulate(np.where(valid, -1, pos))
        run = pos.copy()
        run[1:] -= last_n[:-1] + 1
        yield x, valid, run, start - lo, start


def _shift_in(ctx: np.ndarray, x: np.ndarray) -> None:
    """Lengthen every context by one older base, in place: ``ctx[i] = 4 * ctx[i-1] + x[i-1]``.

    The new base enters at the least significant digit, so after ``j`` steps ``ctx[i]`` is the
    base-4 value of ``x[i-j:i]`` (oldest most significant), as long as ``i >= j``.
    """
    ctx[1:] = ctx[:-1] * 4 + x[:-1]
    ctx[0] = 0


class MarkovModel:
    """Interpolated (Witten-Bell) Markov model of DNA, usable at every order ``0..order``.

    ``counts[j]`` is a flat ``(4**(j+1),)`` array: the number of times each (j+1)-mer occurs
    (on both strands of the training sequences) without an N.
    """

    def __init__(self, counts: list[np.ndarray]) -> None:
        self.counts = counts
        self.order = len(counts) - 1
        self._tables: dict[int, np.ndarray] = {}

    @classmethod
    def fit(cls, sequences: Iterable[np.ndarray | SeqLike], order: int) -> MarkovModel:
        """Count every (j+1)-mer, ``j = 0..order``, of ``sequences`` (each ``(L,)`` codes) and their reverse complements."""
        if not 0 <= order <= MAX_ORDER:
            raise ValueError(f"order must be in 0..{MAX_ORDER}, got {order}")
        counts = [np.zeros(4 ** (j + 1), np.int64 if j <= _WIDE_COUNTS else np.uint32) for j in range(order + 1)]
        for seq in sequences:
            fwd = to_codes(seq)
            for strand in (fwd, _reverse_complement(fwd)):
                for x, valid, run, off, _ in _windows(strand, order):
                    usable = np.where(valid, run, -1)
                    usable[:off] = -1
                    ctx = np.zeros(len(x), np.int64)
                    for j in range(order + 1):
                        if j:
                            _shift_in(ctx, x)
                        sel = usable >= j
                        _add_counts(counts[j], ctx[sel] * 4 + x[sel])
        return cls(counts)

    def probability_table(self, order: int) -> np.ndarray:
        """``(4**order, 4)`` p(base | context), row = the context's base-4 index (cached)."""
        self._check(order)
        if order not in self._tables:
            parent = self.probability_table(order - 1) if order else np.full((1, 4), 0.25)
            counts = self.counts[order].reshape(-1, 4)
            table = np.empty(counts.shape, np.float64 if order <= _FLOAT64_TABLES else np.float32)
            m = len(parent)  # row r's parent context is r % m (drop the oldest base)
            step = min(m, 1 << 20)
            for r0 in range(0, len(counts), step):
                c = counts[r0:r0 + step].astype(np.float64)
                par = parent[r0 % m:r0 % m + step].astype(np.float64)
                n = c.sum(axis=1, keepdims=True)
                u = np.maximum((c > 0).sum(axis=1, keepdims=True), 1)  # n = 0 → u = 1 gives the parent
                table[r0:r0 + step] = (c + u * par) / (n + u)
            self._tables[order] = table
        return self._tables[order]

    def _check(self, order: int) -> None:
        if not 0 <= order <= self.order:
            raise ValueError(f"order must be in 0..{self.order} (the order fitted), got {order}")

    def _lookup(self, codes: np.ndarray, order: int | None, full: bool) -> np.ndarray:
        """log2 p of each base ``(L,)`` (``full=False``) or the distributions ``(L, 4)`` (``full=True``)."""
        k = self.order if order is None else order
        self._check(k)
        codes = to_codes(codes)
        out = np.full((len(codes), 4) if full else len(codes), np.nan)
        tables = [self.probability_table(j) for j in range(k + 1)]
        for x, valid, run, off, start in _windows(codes, k):
            length = np.minimum(run, k)
            if not full:
                length[~valid] = -1
            length[:off] = -1
            ctx = np.zeros(len(x), np.int64)
            for j in range(k + 1):
                if j:
                    _shift_in(ctx, x)
                sel = np.flatnonzero(length == j)
                if full:
                    out[start - off + sel] = tables[j][ctx[sel]]
                else:
                    out[start - off + sel] = np.log2(tables[j].reshape(-1)[ctx[sel] * 4 + x[sel]])
        return out

    def log2_probs(self, codes: np.ndarray | SeqLike, order: int | None = None) -> np.ndarray:
        """``(L,)`` float64 log2 p(base_i | up to ``order`` N-free bases to its left); NaN where base_i is N.

        ``order`` defaults to the order fitted and may be any lower one.
        """
        return self._lookup(codes, order, full=False)

    def probabilities(self, codes: np.ndarray | SeqLike, order: int | None = None) -> np.ndarray:
        """``(L, 4)`` float64 predicted distribution over A, C, G, T at every position (N ones included)."""
        return self._lookup(codes, order, full=True)

    def bits_per_base(self, codes: np.ndarray | SeqLike, order: int | None = None) -> float:
        """Mean of ``-log2 p`` over the non-N positions of ``codes`` (NaN if there are none)."""
        lp = self.log2_probs(codes, order)
        lp = lp[~np.isnan(lp)]
        return float(-lp.mean()) if len(lp) else float("nan")


def _add_counts(acc: np.ndarray, idx: np.ndarray) -> None:
    """``acc[i] += (number of times i occurs in idx)``, by bincount or (for huge ``acc``) by sorting."""
    if len(acc) <= _BINCOUNT_MAX:
        np.add(acc, np.bincount(idx, minlength=len(acc)), out=acc, casting="unsafe")
    elif len(idx):
        s = np.sort(idx)
        first = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
        acc[s[first]] += np.diff(np.append(first, len(s))).astype(acc.dtype)


def compressor_bits_per_base(sequences: Sequence[np.ndarray | SeqLike] | np.ndarray | SeqLike) -> dict:
    """Bits per base ``xz -9e`` (stdlib lzma, ``preset=9 | PRESET_EXTREME``) needs for the A/C/G/T bases.

    ``sequences``: one sequence or several (codes ``(L,)`` or text). The bases are written as
    uppercase ASCII, N positions dropped, sequences joined by a newline.
    Returns ``{"compressor": "xz -9e", "bits_per_base": float, "bases": int}``.
    """
    if isinstance(sequences, (str, bytes, bytearray, memoryview)) or (
            isinstance(sequences, np.ndarray) and sequences.ndim == 1):
        sequences = [sequences]
    letters = np.frombuffer(b"ACGT", np.uint8)
    parts = []
    for seq in sequences:
        c = to_codes(seq)
        parts.append(letters[c[(c >= 0) & (c < 4)]].tobytes())
    n = sum(len(p) for p in parts)
    packed = lzma.compress(b"\n".join(parts), format=lzma.FORMAT_XZ, preset=9 | lzma.PRESET_EXTREME)
    return {"compressor": "xz -9e", "bits_per_base": 8 * len(packed) / n if n else float("nan"), "bases": n}
