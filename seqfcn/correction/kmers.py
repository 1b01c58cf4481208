"""K-mer spectra and per-base k-mer evidence channels for read correction.

A read corrector that sees only a read's own bases must hold the genome in its
weights. These channels give it the sample instead: for every read position ``i``
and every candidate edit, how often the k-mers the edited read would contain
occur in a k-mer table (the read set's own spectrum, or a reference genome).
The features are genome-agnostic ("this base is supported by the data"), so a
model trained on simulated reads of one genome corrects reads of another.

K-mers (``k`` <= 31) are packed 2 bits a base into uint64 and counted in
canonical form (the smaller of a k-mer and its reverse complement), so a read and
its reverse complement get mirror-image evidence.

Edits at position ``i`` (see :data:`EDIT_SETS`):

* ``sub``: base ``i`` read as ``b`` (b in A, C, G, T; the observed base is one of
  the four, so its row is the unedited read's support);
* ``del``: base ``i`` removed (the read has an inserted base);
* ``ins``: base ``b`` added after base ``i`` (the read lacks a base).

Each edit is scored with three k-mers: the edit at the right end of the k-mer,
in its middle, and at its left end (:func:`placements`). A k-mer that leaves the
read or holds an ``N`` (other than the edited base) is *unavailable*.

Feature value: ``log1p(count) / log1p(scale)`` clipped to ``[0, 2]``, with
``scale`` the table's typical count (the median count of a k-mer occurrence:
the k-mer coverage for a read spectrum, 1 for a genome), so 1 means "as common
as genomic sequence" and 0 "never seen"; an unavailable k-mer is ``-1``.
Channel order: edit-major, then placement (``sub A right, sub A middle, sub A
left, sub C right, ...``).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from seqfcn.correction import defaults
from seqfcn.correction.spectrum_index import SpectrumIndex
from seqfcn.errors import ModelFileError, SeqfcnError

try:  # the compiled substitution kernel (setup.py builds it when a C compiler is present)
    from seqfcn.correction import _kmerev
except ImportError:  # pragma: no cover - exercised where no compiler was available
    _kmerev = None
try:  # the compiled counting / support kernels
    from seqfcn.correction import _kmercount
except ImportError:  # pragma: no cover
    _kmercount = None

MAX_K = 31
EDIT_SETS = {"sub": 4, "indel": 9}
"""Edit sets and their number of edits: ``sub`` = 4 substitutions; ``indel`` = 4
substitutions, 1 deletion, 4 insertions."""
UNAVAILABLE = -1.0
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)
TABLE_NAME = "kmers.npz"
HISTOGRAM_TOP = 10_001
"""Count histograms (:meth:`KmerTable.count_histogram`) lump every count from here on."""
_BLOCK = 1 << 22  # k-mers a numpy pass takes at once


def n_channels(edits: str) -> int:
    """Evidence channels for an edit set: 3 placements per edit."""
    if edits not in EDIT_SETS:
        raise SeqfcnError(f"unknown k-mer edit set {edits!r}; choose from {sorted(EDIT_SETS)}")
    return 3 * EDIT_SETS[edits]


_KERNEL_THREADS: int | None = None


def set_kernel_threads(n: int | None) -> None:
    """Threads for the compiled k-mer kernels from now on (``seqfcn --threads N``); None: as
    :func:`kernel_threads` says."""
    global _KERNEL_THREADS
    _KERNEL_THREADS = None if n is None else max(1, int(n))


def kernel_threads() -> int:
    """Threads for the compiled k-mer kernels: those set by :func:`set_kernel_threads`, else
    PyTorch's intra-op thread count when PyTorch is loaded, else what it would take
    (``OMP_NUM_THREADS``, else the CPUs this process may use). Results do not depend on it."""
    import sys

    if _KERNEL_THREADS is not None:
        return _KERNEL_THREADS
    torch = sys.modules.get("torch")
    if torch is not None:
        return max(1, int(torch.get_num_threads()))
    omp = os.environ.get("OMP_NUM_THREADS", "")
    return int(omp) if omp.isdigit() and int(omp) > 0 else max(1, len(os.sched_getaffinity(0)))


def _check_k(k: int) -> int:
    k = int(k)
    if not 3 <= k <= MAX_K:
        raise SeqfcnError(f"k-mer length must be in 3..{MAX_K}, not {k}")
    return k


# --------------------------------------------------------------------------- packing
def _prefix_hashes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prefix values of a padded code matrix.

    Args:
        codes: ``(n, W)`` int codes (0-3 bases, anything else N).

    Returns:
        ``H`` ``(n, W + 1)`` uint64 with ``H[:, t]`` = the 2-bit packing of
        ``codes[:, :t]`` modulo 2**64; the same for the reverse complement of each
        row (``Hrc``, over the reversed, complemented row); ``N`` ``(n, W + 1)``
        int32 prefix counts of non-bases.
    """
    c = np.asarray(codes)
    is_base = (c >= 0) & (c < 4)
    vals = np.where(is_base, c, 0).astype(np.uint64)
    n, w = vals.shape
    h = np.zeros((n, w + 1), np.uint64)
    hrc = np.zeros((n, w + 1), np.uint64)
    rc_vals = (np.uint64(3) - vals)[:, ::-1]
    four = np.uint64(4)
    with np.errstate(over="ignore"):
        for t in range(w):
            h[:, t + 1] = h[:, t] * four + vals[:, t]
            hrc[:, t + 1] = hrc[:, t] * four + rc_vals[:, t]
    nn = np.zeros((n, w + 1), np.int32)
    np.cumsum(~is_base, axis=1, out=nn[:, 1:])
    return h, hrc, nn


def _segment(h: np.ndarray, rows: np.ndarray, start: np.ndarray, length: int) -> np.ndarray:
    """Packed value of ``codes[rows, start:start+length]`` from prefix values ``h``
    (``start`` already clipped into range; 0 <= length <= 31)."""
    if length == 0:
        return np.zeros(start.shape, np.uint64)
    with np.errstate(over="ignore"):
        return h[rows, start + length] - h[rows, start] * np.uint64(4 ** length)


@dataclass
class _Packed:
    """Prefix tables of a batch, and the batch's row lengths."""

    h: np.ndarray
    hrc: np.ndarray
    nn: np.ndarray
    lengths: np.ndarray
    width: int


def _pack(codes: np.ndarray, lengths: np.ndarray | None) -> _Packed:
    codes = np.asarray(codes)
    n, w = codes.shape
    lengths = np.full(n, w, np.int64) if lengths is None else np.asarray(lengths, np.int64)
    h, hrc, nn = _prefix_hashes(codes)
    return _Packed(h, hrc, nn, lengths, w)


def _kmer(p: _Packed, k: int, rows: np.ndarray, parts: Sequence[tuple[str, np.ndarray, int]]):
    """Canonical value and availability of a k-mer built from read segments and single bases.

    Args:
        parts: left to right, ``("seg", start, length)`` (a stretch of the read) or
            ``("base", codes, 1)`` (an inserted/substituted base, codes 0-3).

    Returns:
        ``(canonical uint64, available bool)`` of shape ``rows.shape``.
    """
    fwd = np.zeros(rows.shape, np.uint64)
    rc = np.zeros(rows.shape, np.uint64)
    ok = np.ones(rows.shape, bool)
    shift_rc = 0  # bits filled so far in rc, from its low end
    with np.errstate(over="ignore"):
        for kind, value, length in parts:
            if length == 0:
                continue
            if kind == "seg":
                start = value
                end = start + length
                inside = (start >= 0) & (end <= p.lengths[rows])
                s = np.clip(start, 0, p.width - length)
                ok &= inside & (p.nn[rows, s + length] - p.nn[rows, s] == 0)
                seg = _segment(p.h, rows, s, length)
                # reverse complement of codes[s:s+length] = rc row at [W - s - length, W - s)
                seg_rc = _segment(p.hrc, rows, p.width - s - length, length)
            else:
                seg = value.astype(np.uint64)
                seg_rc = np.uint64(3) - seg
            fwd = (fwd << np.uint64(2 * length)) | seg
            rc = rc | (seg_rc << np.uint64(shift_rc))
            shift_rc += 2 * length
    assert shift_rc == 2 * k
    return np.minimum(fwd, rc), ok


def mirror_order(edits: str) -> list[int] | None:
    """Channel permutation that turns the evidence of a read into that of its reverse
    complement read backwards (``ev_rc[:, c, ::-1] == ev[:, order[c], :]``), or None
    when the edit set has no such symmetry (``indel``). Needs an odd ``k`` (the middle
    placement is then its own mirror image)."""
    if edits != "sub":
        return None
    return [3 * (3 - b) + (2 - j) for b in range(4) for j in range(3)]


def channel_names(edits: str) -> list[str]:
    """Names of the evidence channels, in order: ``sub_A_end`` (base A at the position, the
    k-mer ending there), ``sub_A_mid``, ``sub_A_start``, ..., then for ``indel``
    ``del_end``/``del_mid``/``del_start`` and ``ins_A_end``, ... (a base inserted after it)."""
    where = ("end", "mid", "start")
    names = [f"sub_{b}_{p}" for b in "ACGT" for p in where]
    if edits == "indel":
        names += [f"del_{p}" for p in where] + [f"ins_{b}_{p}" for b in "ACGT" for p in where]
    if len(names) != n_channels(edits):
        raise SeqfcnError(f"unknown k-mer edit set {edits!r}")
    return names


def placements(k: int) -> tuple[int, int, int]:
    """Bases of the k-mer left of the edit for the three placements (right end, middle, left end)."""
    return (k - 1, k // 2, 0)


# --------------------------------------------------------------------------- tables
class KmerTable:
    """Counts of canonical k-mers.

    Args:
        k: k-mer length (3..31).
        keys: ``(n,)`` sorted unique uint64 canonical k-mers.
        counts: ``(n,)`` int64 counts.
        scale: the typical count (feature value 1); default: the median count of a
            k-mer occurrence (``count``-weighted median).
        source: ``"reads"`` (a read set's spectrum) or ``"reference"`` (a genome).
        inputs: the files counted, ``[{"name": base name, "bytes": size, "fingerprint":
            content fingerprint}, ...]`` (saved with the table, so a spectrum can be checked
            against the reads it is used with, :func:`seqfcn.correction.evidence.check_spectrum`).
        reads: how many reads were counted, when known (a progress bar's total).
        shard: for a count shard (``seqfcn count --shard i/n``: only its share of the k-mers),
            ``{"index": i - 1, "count": n, "partitions": P, "parts": [...]}`` (the k-mer partitions
            it holds, of the counter's ``P``); None for a whole spectrum. ``seqfcn merge`` joins
            the shards (:mod:`seqfcn.correction.count_shards`); ``correct --spectrum`` refuses one.
    """

    def __init__(self, k: int, keys: np.ndarray, counts: np.ndarray, *, scale: float | None = None,
                 source: str = "reads", inputs: list[dict] | None = None, reads: int | None = None,
                 shard: dict | None = None) -> None:
        self.k = _check_k(k)
        self._keys: np.ndarray | None = np.asarray(keys, np.uint64)
        self._counts: np.ndarray | None = np.asarray(counts, np.int64)
        if self._keys.shape != self._counts.shape:
            raise SeqfcnError("k-mer keys and counts differ in length")
        self._n = int(self._keys.shape[0])
        self.source = source
        self.inputs = inputs
        self.reads = reads
        self.shard = shard
        self._index: SpectrumIndex | None = None
        self._hist: np.ndarray | None = None
        self._value_table: np.ndarray | None = None
        if scale is None:
            scale = _occurrence_median(self._counts)
        self.scale = float(max(scale, 1.0))

    @classmethod
    def from_index(cls, k: int, hist: np.ndarray, build: Callable[[int], SpectrumIndex], *,
                   source: str = "reads", scale: float | None = None) -> "KmerTable":
        """A compacted table (:meth:`compact`) from its count histogram (``(c,)`` int64: how
        many k-mers have each count; exact, or clipped at :data:`HISTOGRAM_TOP` when ``scale``
        is given) and ``build(min_cap)``, its index with counts exact up to at least
        ``min_cap`` (the table's :meth:`index_cap`): the keys and counts never exist as arrays
        (:func:`seqfcn.correction.spectrum_passes.count_compact`). ``scale``: the typical count
        (default: from ``hist``)."""
        hist = np.asarray(hist, np.int64)
        table = cls(k, np.zeros(0, np.uint64), np.zeros(0, np.int64),
                    scale=_median_of_histogram(hist) if scale is None else scale, source=source)
        table._n = int(hist.sum())
        table._hist = _clip_histogram(hist)
        table._index = build(table.index_cap())
        if len(table._index) != table._n:
            raise ValueError(f"the index holds {len(table._index)} k-mers, the histogram {table._n}")
        table._keys = table._counts = None
        return table

    def __len__(self) -> int:
        return self._n

    @property
    def keys(self) -> np.ndarray:
        """``(n,)`` sorted unique uint64 canonical k-mers (not kept by a compacted table)."""
        return self._full()[0]

    @property
    def counts(self) -> np.ndarray:
        """``(n,)`` int64 counts, in the order of :attr:`keys` (not kept by a compacted table)."""
        return self._full()[1]

    @property
    def compacted(self) -> bool:
        """Whether only the lookup index is kept (:meth:`compact`)."""
        return self._keys is None

    def _full(self) -> tuple[np.ndarray, np.ndarray]:
        if self._keys is None or self._counts is None:
            raise SeqfcnError("this k-mer table keeps only its lookup index (compacted for correction): "
                              "its keys and counts are gone")
        return self._keys, self._counts

    def compact(self, *, min_cap: int = 0) -> "KmerTable":
        """Keep only what correction reads: the lookup index (:mod:`seqfcn.correction.spectrum_index`,
        ~4.4 bytes a k-mer, counts exact up to at least ``max(min_cap, index_cap())``) and the
        count histogram; the keys and counts (16 bytes a k-mer) are freed. Returns ``self``."""
        if self.compacted:
            return self
        self._hist = self.count_histogram()
        self._index = SpectrumIndex(self.k, self._keys, self._counts, min_cap=max(min_cap, self.index_cap()))
        self._keys = self._counts = None
        return self

    def count_histogram(self, top: int | None = None) -> np.ndarray:
        """``(top + 1,)`` int64: how many k-mers have each count, the last entry every count of
        ``top`` or more (default: up to :data:`HISTOGRAM_TOP`)."""
        top = HISTOGRAM_TOP if top is None else int(top)
        if self._hist is not None:
            hist = self._hist
        else:
            hist = np.zeros(HISTOGRAM_TOP + 1, np.int64)
            for at in range(0, self._n, _BLOCK):  # a block at a time: no clipped copy of all the counts
                hist += np.bincount(np.clip(self._counts[at:at + _BLOCK], 0, HISTOGRAM_TOP), minlength=HISTOGRAM_TOP + 1)
        if top > HISTOGRAM_TOP:
            raise SeqfcnError(f"count histograms stop at {HISTOGRAM_TOP}")
        out = hist[: top + 1].copy()
        out[top] += hist[top + 1:].sum()
        return out

    def lookup(self, values: np.ndarray) -> np.ndarray:
        """Counts of canonical k-mer ``values`` (any shape; 0 when absent; a count above the
        index's cap, at least :meth:`value_top`, is kept as the cap)."""
        values = np.asarray(values, np.uint64)
        if not len(self):
            return np.zeros(values.shape, np.int64)
        return self.index().counts(values.reshape(-1)).reshape(values.shape)

    def index(self) -> SpectrumIndex:
        """The table's lookup index (built on first use)."""
        if self._index is None:
            self._index = SpectrumIndex(self.k, self._keys, self._counts, min_cap=self.index_cap())
        return self._index

    def index_cap(self) -> int:
        """The count up to which the lookup index keeps counts exact: :meth:`value_top` and
        above ``defaults.INDEL_MAX_COPIES`` times the typical count (the indel pass's repeat
        guard reads counts that far)."""
        return max(self.value_top(), int(np.ceil(defaults.INDEL_MAX_COPIES * self.scale)) + 1)

    def value_top(self) -> int:
        """The count from which the feature value is 2 (:meth:`value` saturates): ``(1 + scale)**2``."""
        return int(np.ceil((1.0 + self.scale) ** 2))

    def value_table(self) -> np.ndarray:
        """``(value_top() + 1,)`` float32 :meth:`value` of the counts ``0..value_top()`` (a larger
        count has the last value): what the compiled evidence kernel reads."""
        if self._value_table is None:
            self._value_table = np.ascontiguousarray(self.value(np.arange(self.value_top() + 1)))
        return self._value_table

    def value(self, counts: np.ndarray) -> np.ndarray:
        """Feature value of counts: ``log1p(count) / log1p(scale)`` clipped to [0, 2]."""
        return np.minimum(np.log1p(counts) / np.log1p(self.scale), 2.0).astype(np.float32)

    # ---------------------------------------------------------------- building
    @classmethod
    def from_codes(cls, reads: Iterable[np.ndarray], k: int, *, source: str = "reads",
                   min_count: int = 1, chunk_bases: int = 1 << 22) -> "KmerTable":
        """Count the canonical k-mers of sequences given as code arrays (0-3, N = 4).

        Args:
            reads: ``(L_i,)`` code arrays; k-mers with an ``N`` are skipped.
            k: k-mer length.
            min_count: drop k-mers seen fewer times (e.g. 2 to drop most error k-mers).
            chunk_bases: bases packed at once (memory bound of the counting step).
        """
        k = _check_k(k)
        parts_keys: list[np.ndarray] = []
        parts_counts: list[np.ndarray] = []
        batch: list[np.ndarray] = []
        bases = 0

        def flush() -> None:
            if not batch:
                return
            keys = _batch_kmers(batch, k)
            u, c = np.unique(keys, return_counts=True)
            parts_keys.append(u)
            parts_counts.append(c.astype(np.int64))
            batch.clear()

        for r in reads:
            r = np.asarray(r)
            if r.shape[0] < k:
                continue
            batch.append(r)
            bases += r.shape[0]
            if bases >= chunk_bases:
                flush()
                bases = 0
                if len(parts_keys) > 8:  # bound memory: fold the partial counts together
                    merged_keys, merged_counts = _merge_counts(parts_keys, parts_counts)
                    parts_keys[:] = [merged_keys]
                    parts_counts[:] = [merged_counts]
        flush()
        keys, counts = _merge_counts(parts_keys, parts_counts)
        if min_count > 1:
            keep = counts >= min_count
            keys, counts = keys[keep], counts[keep]
        return cls(k, keys, counts, source=source)

    # ---------------------------------------------------------------- files
    def save(self, path: str | os.PathLike) -> None:
        """Write the table as an ``.npz`` of plain arrays (no pickled objects), atomically."""
        from seqfcn.io.atomic import atomic_path

        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, keys=self.keys, counts=self.counts,
                                meta=np.frombuffer(json.dumps(self.meta()).encode(), np.uint8))

    def meta(self) -> dict:
        """JSON description: ``k``, ``source``, ``scale``, ``distinct``, and ``inputs``, ``reads`` and
        ``shard`` (when known)."""
        meta = {"k": self.k, "source": self.source, "scale": self.scale, "distinct": len(self)}
        if self.inputs is not None:
            meta["inputs"] = self.inputs
        if self.reads is not None:
            meta["reads"] = self.reads
        if self.shard is not None:
            meta["shard"] = self.shard
        return meta

    @classmethod
    def load(cls, path: str | os.PathLike) -> "KmerTable":
        """Read a table written by :meth:`save` (``allow_pickle=False``)."""
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(z["meta"].tobytes().decode())
                return cls(int(meta["k"]), z["keys"], z["counts"], scale=float(meta["scale"]),
                           source=str(meta["source"]), inputs=meta.get("inputs"),
                           reads=meta.get("reads"), shard=meta.get("shard"))
        except FileNotFoundError:
            raise ModelFileError("k-mer table not found", path=path) from None
        except (OSError, ValueError, KeyError) as exc:
            raise ModelFileError(f"not a seqfcn k-mer table: {exc}", path=path) from None


def _occurrence_median(counts: np.ndarray) -> float:
    """Median count of a k-mer occurrence (each k-mer weighted by its count): the first
    count ``c`` (in increasing order, over the counts present) at which the summed counts of
    the k-mers up to it reach half the total. From the counts' histogram, a block of k-mers
    at a time, so a spectrum of n k-mers needs no sorted copy (8n bytes) and no running sum
    (8n more); counts beyond 2**24 (or negative) take the sort."""
    if counts.size == 0:
        return 1.0
    top = int(counts.max())
    if top >= 1 << 24 or int(counts.min()) < 0:
        order = np.sort(counts)
        cum = np.cumsum(order)
        return float(order[np.searchsorted(cum, cum[-1] / 2.0)])
    hist = np.zeros(top + 1, np.int64)
    for at in range(0, counts.size, _BLOCK):
        hist += np.bincount(counts[at:at + _BLOCK], minlength=top + 1)
    return _median_of_histogram(hist)


def _median_of_histogram(hist: np.ndarray) -> float:
    """:func:`_occurrence_median` of the counts whose exact histogram is ``hist``."""
    values = np.nonzero(hist)[0]
    if values.size == 0:
        return 1.0
    cum = np.cumsum(hist[values] * values)
    return float(values[np.searchsorted(cum, cum[-1] / 2.0)])


def _clip_histogram(hist: np.ndarray) -> np.ndarray:
    """``hist`` with every count above :data:`HISTOGRAM_TOP` added to the last entry."""
    out = np.zeros(HISTOGRAM_TOP + 1, np.int64)
    m = min(hist.shape[0], HISTOGRAM_TOP + 1)
    out[:m] = hist[:m]
    out[HISTOGRAM_TOP] += hist[HISTOGRAM_TOP + 1:].sum()
    return out


def _merge_counts(keys: list[np.ndarray], counts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    if not keys:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    allk = np.concatenate(keys)
    allc = np.concatenate(counts)
    u, inv = np.unique(allk, return_inverse=True)
    return u, np.bincount(inv.reshape(-1), weights=allc, minlength=u.shape[0]).astype(np.int64)


def _batch_kmers(reads: Sequence[np.ndarray], k: int) -> np.ndarray:
    """All N-free canonical k-mers of ``reads`` (concatenated, unsorted)."""
    width = max(r.shape[0] for r in reads)
    codes = np.full((len(reads), width), 4, np.int8)
    lengths = np.empty(len(reads), np.int64)
    for i, r in enumerate(reads):
        codes[i, : r.shape[0]] = r
        lengths[i] = r.shape[0]
    p = _pack(codes, lengths)
    starts = np.arange(width - k + 1)
    rows = np.repeat(np.arange(len(reads)), starts.shape[0])
    s = np.tile(starts, len(reads))
    value, ok = _kmer(p, k, rows, [("seg", s, k)])
    return value[ok]


# --------------------------------------------------------------------------- evidence
def evidence(codes: np.ndarray, table: KmerTable, *, edits: str = "sub",
             lengths: np.ndarray | None = None, use_c: bool = True) -> np.ndarray:
    """Per-base k-mer evidence channels of a batch of reads.

    Args:
        codes: ``(batch, L)`` int codes (0-3 bases, 4 N; right padding = 4).
        table: the k-mer table.
        edits: ``"sub"`` (12 channels) or ``"indel"`` (27 channels), see the module docstring.
        lengths: ``(batch,)`` read lengths (default: all ``L``).
        use_c: use the compiled substitution kernel when it is built (same numbers).

    Returns:
        ``(batch, n_channels(edits), L)`` float32 feature values (``-1`` unavailable;
        padding positions are ``-1``).
    """
    codes = np.asarray(codes)
    n, w = codes.shape
    k = table.k
    c_out = n_channels(edits)
    out = np.full((n, c_out, w), UNAVAILABLE, np.float32)
    if n == 0 or w == 0:
        return out
    if lengths is not None:  # positions past a read's end are N
        codes = np.where(np.arange(w)[None, :] < np.asarray(lengths)[:, None], codes, 4)
    if _kmerev is not None and use_c:
        _substitutions_c(out, codes, table)
        p = None
    else:
        p = _pack(codes, None)
        _substitutions(out, p, table)
    if lengths is not None:
        out[np.broadcast_to(np.arange(w)[None, None, :] >= np.asarray(lengths)[:, None, None], out.shape)] = UNAVAILABLE
    if edits == "indel":
        p = p or _pack(codes, None)
        rows = np.repeat(np.arange(n), w)
        pos = np.tile(np.arange(w), n)
        real = pos < p.lengths[rows]
        rows, pos = rows[real], pos[real]
        ch = 12
        for a in (k - 1, k // 2, 1):  # deletion of base i: the k bases around it, i skipped
            ch = _fill(out, ch, p, table, rows, pos, [("seg", pos - a, a), ("seg", pos + 1, k - a)])
        for b in range(4):  # insertion of b after base i
            base = np.full(pos.shape, b, np.int64)
            for a in placements(k):
                ch = _fill(out, ch, p, table, rows, pos,
                           [("seg", pos + 1 - a, a), ("base", base, 1), ("seg", pos + 1, k - 1 - a)])
    return out


def _substitutions_c(out: np.ndarray, codes: np.ndarray, table: KmerTable) -> None:
    """Channels 0-11 with the compiled kernel (``seqfcn/correction/_kmerev.c``)."""
    n, w = codes.shape
    block = np.empty((n, 12, w), np.float32)
    c = np.ascontiguousarray(np.where((codes >= 0) & (codes < 4), codes, 4).astype(np.uint8))
    _kmerev.substitutions(c, n, w, table.k, table.index().kernel_args(), table.value_table(), block,
                          kernel_threads())
    out[:, :12] = block


def _substitutions(out: np.ndarray, p: _Packed, table: KmerTable) -> None:
    """Channels 0-11 (substitution edits) on whole columns of the padded batch.

    For a placement with ``a`` bases left of position ``i`` and ``r = k - 1 - a`` right
    of it, the k-mer is ``left(i) · b · right(i)``: ``left`` and ``right`` come from
    the prefix values once per placement, and each base ``b`` only sets two bits.
    """
    k, w = table.k, p.width
    n = p.h.shape[0]
    four = np.uint64(4)
    valid_n = p.nn  # prefix N counts, (n, W + 1)
    for j, a in enumerate(placements(k)):
        r = k - 1 - a
        i = np.arange(w)
        ok_pos = (i - a >= 0) & (i + 1 + r <= w)
        cols = i[ok_pos]
        if cols.size == 0:
            continue
        with np.errstate(over="ignore"):
            left = p.h[:, cols] - p.h[:, cols - a] * four ** np.uint64(a)
            right = p.h[:, cols + 1 + r] - p.h[:, cols + 1] * four ** np.uint64(r)
            rc_left = p.hrc[:, w - cols + a] - p.hrc[:, w - cols] * four ** np.uint64(a)
            rc_right = p.hrc[:, w - cols - 1] - p.hrc[:, w - cols - 1 - r] * four ** np.uint64(r)
            fwd0 = (left << np.uint64(2 * (r + 1))) | right
            rc0 = (rc_right << np.uint64(2 * (a + 1))) | rc_left
        clean = ((valid_n[:, cols] - valid_n[:, cols - a]) == 0) & \
                ((valid_n[:, cols + 1 + r] - valid_n[:, cols + 1]) == 0)
        rr, cc = np.nonzero(clean)
        f0, r0 = fwd0[rr, cc], rc0[rr, cc]
        for b in range(4):
            value = np.minimum(f0 | np.uint64(b << (2 * r)), r0 | np.uint64((3 - b) << (2 * a)))
            block = np.full((n, cols.size), UNAVAILABLE, np.float32)
            block[rr, cc] = table.value(table.lookup(value))
            out[:, 3 * b + j, cols] = block


def _fill(out: np.ndarray, ch: int, p: _Packed, table: KmerTable, rows: np.ndarray, pos: np.ndarray,
          parts: list) -> int:
    value, ok = _kmer(p, table.k, rows, parts)
    feat = np.where(ok, table.value(table.lookup(value)), np.float32(UNAVAILABLE))
    out[rows, ch, pos] = feat
    return ch + 1


def table_for_reads(reads: Iterable[np.ndarray], k: int) -> KmerTable:
    """The read set's own k-mer spectrum (:meth:`KmerTable.from_codes`)."""
    return KmerTable.from_codes(reads, k, source="reads")


def table_for_genome(sequences: Iterable[np.ndarray], k: int) -> KmerTable:
    """A genome's k-mers (both strands, canonical): counts = occurrences, scale 1."""
    t = KmerTable.from_codes(sequences, k, source="reference")
    return KmerTable(k, t.keys, t.counts, scale=1.0, source="reference")
