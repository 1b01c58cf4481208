"""Position weight matrices: log-odds, exact score distributions, p- and q-values.

Conventions follow FIMO (MEME suite):

* **Pseudocount.** FIMO's ``--motif-pseudo`` (default 0.1) is added to the
  motif's *counts*, spread by the background: with ``n`` sites (``nsites``; the
  MEME format's default is 20 when a file gives none) a probability ``f`` becomes
  ``(f * n + pseudocount * bg) / (n + pseudocount)``. :func:`log_odds` does the same.
* **Score.** The log-odds score of a site is the sum over its columns of
  ``log2(f' / bg)`` (bits).
* **p-value.** ``P(score >= s)`` for a random site drawn from the 0-order
  background. As in FIMO, the log-odds matrix is first scaled and rounded to
  integers (here ``scale`` units per bit, default 100, i.e. 0.01-bit bins) and
  the exact distribution of the integer score is computed by dynamic programming
  over the columns. The p-value is exact for the rounded matrix (a brute-force
  enumeration of all ``4**w`` sites gives the same numbers); the reported score is
  the unrounded float64 sum.
* **q-value.** Benjamini–Hochberg over the p-values given (see :func:`bh_qvalues`).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Protocol, Sequence

import numpy as np

from seqfcn.sequence.pwm import (  # the log-odds maths, one layer down
    DEFAULT_PSEUDOCOUNT,
    check_background,
    log_odds,
    reverse_complement_matrix,
)

if TYPE_CHECKING:  # PyTorch is imported by the kernels that use it; the C kernel needs none
    import torch

DEFAULT_SCALE = 100
"""Integer score units per bit used for the exact p-value DP (0.01-bit resolution)."""


def scale_matrix(lo: np.ndarray, scale: float = DEFAULT_SCALE) -> np.ndarray:
    """Round a ``(4, w)`` log-odds matrix to ``(4, w)`` int64 units of ``1/scale`` bit.

    ``-inf`` entries (zero probability without pseudocount) are not allowed.
    """
    lo = np.asarray(lo, dtype=np.float64)
    if not np.isfinite(lo).all():
        raise ValueError("log-odds matrix has infinite entries; use a pseudocount > 0")
    return np.rint(lo * scale).astype(np.int64)


@dataclass(frozen=True)
class ScoreDistribution:
    """The exact null distribution of an integer-scaled PWM score.

    Attributes:
        min_score: the lowest reachable integer score.
        pmf: ``(n,)`` float64, ``pmf[k] = P(score == min_score + k)``.
        sf: ``(n,)`` float64, ``sf[k] = P(score >= min_score + k)`` (the p-value).
    """

    min_score: int
    pmf: np.ndarray
    sf: np.ndarray

    @property
    def max_score(self) -> int:
        """The highest reachable integer score."""
        return self.min_score + len(self.pmf) - 1

    def pvalue(self, scores: np.ndarray | int) -> np.ndarray:
        """p-values ``P(S >= s)`` of integer scores (1 below the range, 0 above)."""
        s = np.asarray(scores, dtype=np.int64)
        k = s - self.min_score
        out = np.where(k <= 0, 1.0, 0.0)
        inside = (k > 0) & (k < len(self.sf))
        out[inside] = self.sf[k[inside]]
        return out

    def threshold(self, p: float) -> int:
        """The smallest integer score whose p-value is ``< p`` (``max_score + 1`` when none is)."""
        # sf is non-increasing: the first index with sf < p
        below = np.flatnonzero(self.sf < p)
        return self.min_score + (int(below[0]) if below.size else len(self.sf))


def score_distribution(int_matrix: np.ndarray, background: Sequence[float] | np.ndarray | None = None) -> ScoreDistribution:
    """Exact distribution of the score of an integer ``(4, w)`` matrix under a 0-order background.

    Dynamic programming over the columns: after column ``j`` the array holds the
    probability of every reachable partial score; each column shifts and adds it
    four times (once per base, weighted by the background). Cost
    ``O(w * range)`` with ``range`` the integer span of the total score.
    """
    m = np.asarray(int_matrix, dtype=np.int64)
    if m.ndim != 2 or m.shape[0] != 4:
        raise ValueError(f"matrix must have shape (4, w), got {m.shape}")
    bg = np.ascontiguousarray(check_background(background), np.float64)
    mins = m.min(axis=0)
    if _ckernel is not None and int((m.max(axis=0) - mins).sum()) < 1 << 31:  # the same DP in C
        pmf = np.frombuffer(_ckernel.score_pmf(np.ascontiguousarray(m), bg), np.float64).copy()
    else:
        pmf = _score_pmf_numpy(m, bg)
    # tail sums from the top keep the small p-values accurate
    sf = np.cumsum(pmf[::-1])[::-1].copy()
    return ScoreDistribution(int(mins.sum()), pmf, sf)


def _score_pmf_numpy(m: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """The probabilities of :func:`score_distribution` by its DP in numpy (no compiled kernel; the oracle)."""
    mins = m.min(axis=0)
    spans = m.max(axis=0) - mins
    dist = np.zeros(int(spans.sum()) + 1, dtype=np.float64)
    dist[0] = 1.0
    length = 1
    for j in range(m.shape[1]):
        new = np.zeros(length + int(spans[j]), dtype=np.float64)
        for b in range(4):
            off = int(m[b, j] - mins[j])
            new[off : off + length] += bg[b] * dist[:length]
        dist[: len(new)] = new
        length = len(new)
    return dist[:length]


def bh_qvalues(pvalues: np.ndarray, n_tests: int | None = None) -> np.ndarray:
    """Benjamini–Hochberg q-values ``(n,)`` for ``(n,)`` p-values.

    ``q_i = min_{j: p_j >= p_i} p_j * n_tests / rank_j``, capped at 1. ``n_tests``
    defaults to ``len(pvalues)`` (FIMO's convention: the reported p-values only);
    pass the number of tested positions for the stricter correction.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    n = len(p)
    if n == 0:
        return p.copy()
    m = float(n if n_tests is None else n_tests)
    if m < n:
        raise ValueError(f"n_tests ({n_tests}) is smaller than the number of p-values ({n})")
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, n + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(n)
    q[order] = np.minimum(ranked, 1.0)
    return q


class PValueCounts:
    """How many hits have each distinct p-value, merged as they come (memory bounded by the
    number of distinct values, not of hits): exact :func:`bh_qvalues` for a stream of hits."""

    def __init__(self) -> None:
        self.values = np.zeros(0, np.float64)
        self.counts = np.zeros(0, np.int64)
        self._pending: list[np.ndarray] = []
        self._size = 0

    def add(self, p: np.ndarray) -> None:
        self._pending.append(p)
        self._size += p.size
        if self._size > 4 * max(self.values.size, 1 << 16):
            self._merge()

    def _merge(self) -> None:
        if not self._pending:
            return
        new, cnt = np.unique(np.concatenate(self._pending), return_counts=True)
        values, inverse = np.unique(np.concatenate([self.values, new]), return_inverse=True)
        self.counts = np.bincount(inverse, weights=np.concatenate([self.counts, cnt]),
                                  minlength=values.size).astype(np.int64)
        self.values, self._pending, self._size = values, [], 0

    def qvalues(self, n_tests: int | None) -> tuple[np.ndarray, np.ndarray]:
        """``(distinct p-values ascending, their BH q-values)``, equal to :func:`bh_qvalues` of all hits."""
        self._merge()
        ranks = np.cumsum(self.counts)
        n = int(ranks[-1]) if ranks.size else 0
        m = float(n if n_tests is None else max(n_tests, n))
        q = np.minimum.accumulate((self.values * m / ranks)[::-1])[::-1]
        return self.values, np.minimum(q, 1.0)


def value_text(q: np.ndarray) -> list[str]:
    """p- or q-values as BED text: 4 significant digits."""
    return [f"{v:.4g}" for v in np.asarray(q).tolist()]


# --------------------------------------------------------------------------- compiled motif sets
@dataclass
class PWMSet:
    """Motifs ready to scan both strands: ``2 * M`` integer filters and their thresholds.

    Filter ``k < M`` is motif ``k`` on the ``+`` strand; filter ``M + k`` is its
    reverse complement (hits on ``-``). All arrays index filters.

    Attributes:
        names, ids: ``M`` motif names and ids.
        widths: ``(2M,)`` int64 filter widths.
        int_matrices: ``(2M, 4, W)`` int64 scaled log-odds, zero past each width.
        float_matrices: ``(2M, 4, W)`` float64 log-odds (bits), zero past each width.
        distributions: per filter :class:`ScoreDistribution`.
        thresholds: ``(2M,)`` int64 smallest integer score with p-value ``< thresh``.
        thresh: the p-value threshold.
        scale: integer units per bit.
    """

    names: list[str]
    ids: list[str]
    widths: np.ndarray
    int_matrices: np.ndarray
    float_matrices: np.ndarray
    distributions: list[ScoreDistribution]
    thresholds: np.ndarray
    thresh: float
    scale: float

    @property
    def n_motifs(self) -> int:
        """``M``, the number of motifs (half the number of filters)."""
        return len(self.names)

    @property
    def max_width(self) -> int:
        """``W``, the widest motif."""
        return int(self.widths.max())

    @cached_property
    def _sf_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """All survival functions in one flat array: ``(flat, offsets, sizes, min_scores)``."""
        sizes = np.array([len(d.sf) for d in self.distributions], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        mins = np.array([d.min_score for d in self.distributions], dtype=np.int64)
        return np.concatenate([d.sf for d in self.distributions]), offsets, sizes, mins

    def pvalues(self, filters: np.ndarray, int_scores: np.ndarray) -> np.ndarray:
        """``(n,)`` p-values of ``(n,)`` integer scores under their filters' distributions."""
        flat, offsets, sizes, mins = self._sf_table
        k = np.asarray(int_scores, dtype=np.int64) - mins[filters]
        size = sizes[filters]
        out = flat[offsets[filters] + np.clip(k, 0, size - 1)]
        out = np.where(k < 0, 1.0, out)
        return np.where(k >= size, 0.0, out)

    def exact_scores(self, bases: np.ndarray, starts: np.ndarray, filters: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Exact scores of windows ``bases[starts[i] : starts[i] + w]`` under ``filters[i]``.

        Args:
            bases: ``(L,)`` uint8 base codes 0-3 (A, C, G, T), 4 for anything else,
                with at least ``W`` extra trailing entries (any value) past every start.
            starts, filters: ``(n,)`` window starts and filter indices.

        Returns:
            ``(int_score, float_score, has_n)``: ``(n,)`` int64 scaled scores, ``(n,)``
            float64 log-odds sums and ``(n,)`` bool, True where the window holds a non-ACGT base.
        """
        width = self.max_width
        if _ckernel is not None and width <= 4096:  # the same sums in C (numpy's summation order): no (n, W) gathers
            out = _ckernel.exact_scores(np.ascontiguousarray(bases, np.uint8), np.ascontiguousarray(starts, np.int64),
                                        np.ascontiguousarray(filters, np.int64),
                                        np.ascontiguousarray(self.int_matrices, np.int64),
                                        np.ascontiguousarray(self.float_matrices, np.float64),
                                        np.ascontiguousarray(self.widths, np.int64), width)
            return tuple(np.frombuffer(b, t).copy() for b, t in zip(out, (np.int64, np.float64, bool)))
        return self._exact_scores_numpy(bases, starts, filters)

    def _exact_scores_numpy(self, bases: np.ndarray, starts: np.ndarray,
                            filters: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`exact_scores` in numpy (no compiled kernel; the C kernel's oracle)."""
        width = self.max_width
        cols = np.arange(width)
        win = bases[starts[:, None] + cols[None, :]].astype(np.int64)  # (n, W)
        inside = cols[None, :] < self.widths[filters][:, None]
        has_n = ((win > 3) & inside).any(axis=1)
        win = np.minimum(win, 3)
        ints = self.int_matrices[filters[:, None], win, cols[None, :]].sum(axis=1)
        floats = self.float_matrices[filters[:, None], win, cols[None, :]].sum(axis=1)
        return ints, floats, has_n


def compile_pwms(
    motifs: Sequence,
    *,
    thresh: float = 1e-4,
    background: Sequence[float] | np.ndarray | None = None,
    pseudocount: float = DEFAULT_PSEUDOCOUNT,
    scale: float = DEFAULT_SCALE,
) -> PWMSet:
    """Log-odds, integer matrices, exact score distributions and thresholds for both strands.

    Args:
        motifs: :class:`~seqfcn.io.motifs.Motif` objects (``pfm`` ``(4, w)``, ``nsites``).
        thresh: report windows with p-value ``< thresh`` (FIMO's ``--thresh``).
        background: ``(4,)`` A, C, G, T probabilities; uniform when ``None``.
        pseudocount: FIMO's ``--motif-pseudo``.
        scale: integer units per bit for the p-value DP.
    """
    if not motifs:
        raise ValueError("no motifs to compile")
    if not 0 < thresh <= 1:
        raise ValueError(f"p-value threshold must be in (0, 1], got {thresh}")
    bg = check_background(background)
    fwd = [log_odds(m.pfm, bg, pseudocount, m.nsites) for m in motifs]
    mats = fwd + [reverse_complement_matrix(lo) for lo in fwd]
    widths = np.array([lo.shape[1] for lo in mats], dtype=np.int64)
    width = int(widths.max())
    n = len(mats)
    ints = np.zeros((n, 4, width), dtype=np.int64)
    floats = np.zeros((n, 4, width), dtype=np.float64)
    for k, lo in enumerate(mats):
        floats[k, :, : lo.shape[1]] = lo
        ints[k, :, : lo.shape[1]] = scale_matrix(lo, scale)
    symmetric = np.allclose(bg, bg[::-1])
    m = len(fwd)
    dists = [score_distribution(ints[k, :, : widths[k]], bg) for k in range(m)]
    if symmetric:  # the reverse complement has the same score distribution
        dists = dists + dists
    else:
        dists = dists + [score_distribution(ints[k, :, : widths[k]], bg) for k in range(m, n)]
    thresholds = np.array([d.threshold(thresh) for d in dists], dtype=np.int64)
    return PWMSet(
        names=[mo.name for mo in motifs],
        ids=[mo.id for mo in motifs],
        widths=widths,
        int_matrices=ints,
        float_matrices=floats,
        distributions=dists,
        thresholds=thresholds,
        thresh=float(thresh),
        scale=float(scale),
    )


# --------------------------------------------------------------------------- scoring kernels
try:  # the C kernel built by setup.py; the table/conv kernels give the same hits without it
    from seqfcn.motifs import _pwmscan as _ckernel
except ImportError:  # pragma: no cover - depends on the build
    _ckernel = None

SCAN_METHODS = ("auto", "c", "conv", "table")
_Q = 5  # bases per lookup block of the table kernel
_CQ = 5  # bases per lookup block of the C kernel (a 4**5 int32 table is 4 KB: L1-resident)
_CQ_LARGE = 6  # ... on large inputs: 4**6 tables (16 KB) reject more windows per seed
LARGE_SCAN = 16_000_000
"""Scanned bases from which the C kernel takes 6-base blocks: on 22 Mbp x 879 JASPAR motifs at
p < 1e-4 they cut the seed's survivors from 33 M to 23 M a Mbp and the whole scan by 7-13 %, for
about 0.5 s more start-up and 4x the block tables (same hits: the blocks change, not the sums)."""


class Scorer(Protocol):
    """What a candidate kernel offers the scan (:func:`make_scorer`).

    ``candidates(bases, n_windows)``: ``(starts, filters)`` of the windows (start
    ``< n_windows`` of the padded ``uint8`` codes ``bases``) that may pass a filter's
    threshold; the scan re-scores them exactly. ``tile_threads``: tiles are scored in that
    many parallel threads (one per CPU) rather than by intra-op threads of one call;
    ``torch_threads``: the torch intra-op threads each of those calls should use (None:
    the kernel uses no torch threads).
    """

    tile_threads: bool
    torch_threads: int | None

    def candidates(self, bases: np.ndarray, n_windows: int) -> tuple[np.ndarray, np.ndarray]: ...


class ConvScorer:
    """Candidate windows by one batched ``conv1d`` of all ``2M`` filters over a one-hot tile.

    The weights are the integer-scaled matrices as float32 ``(2M, 4, W)`` and the
    bias is minus each threshold, so a window may pass where the output is ``>= 0``;
    one max over the filters picks the positions worth a closer look. Integer
    sums are exact in float32 on CPU; to stay exact under reduced-precision
    kernels (TF32 on CUDA) candidates are taken with a tolerance below each
    threshold and then checked exactly by :meth:`PWMSet.exact_scores`.
    """

    tile_threads = False  # one big conv: torch's intra-op threads (or the GPU) do the parallel work
    torch_threads = None

    def __init__(self, pwms: PWMSet, device: str | torch.device = "cpu") -> None:
        import torch

        self.device = torch.device(device)
        self.weight = torch.from_numpy(pwms.int_matrices.astype(np.float32)).to(self.device)
        # worst-case error of an 11-bit-mantissa product sum, plus one unit
        tol = np.abs(pwms.int_matrices).max(axis=1).sum(axis=1) * 2.0**-10 + 1.0
        self.bias = torch.from_numpy(-(pwms.thresholds - tol).astype(np.float32)).to(self.device)
        self.width = pwms.max_width

    def candidates(self, bases: np.ndarray, n_windows: int, chunk: int = 1 << 16) -> tuple[np.ndarray, np.ndarray]:
        """``(starts, filters)`` of windows starting in ``[0, n_windows)`` that may pass.

        ``bases`` is ``(n_windows + W - 1,)`` uint8 codes (see :meth:`PWMSet.exact_scores`).
        """
        import torch

        starts, filters = [], []
        onehot_table = torch.zeros((5, 4), dtype=torch.float32, device=self.device)
        onehot_table[torch.arange(4), torch.arange(4)] = 1.0
        codes = torch.from_numpy(bases.astype(np.int64)).to(self.device)
        with torch.no_grad(), torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
            for s in range(0, n_windows, chunk):
                e = min(s + chunk, n_windows)
                x = onehot_table[codes[s : e + self.width - 1]].T[None]  # (1, 4, n + W - 1)
                out = torch.nn.functional.conv1d(x, self.weight, self.bias)[0]  # (2M, n): score - cut
                cols = (out.amax(dim=0) >= 0).nonzero().squeeze(1)
                if len(cols):
                    f, p = (out[:, cols] >= 0).nonzero(as_tuple=True)
                    starts.append((cols[p] + s).cpu().numpy())
                    filters.append(f.cpu().numpy())
        return _cat(starts), _cat(filters)


class TableScorer:
    """Candidate windows by q-mer lookup tables (a conv1d over the one-hot of 5-mers).

    Each window is cut into blocks of :data:`_Q` = 5 bases; a block's code
    (``4**5`` values) indexes a ``(1024, filters)`` int32 table holding that block's
    integer score for every filter, so a window's score is a sum of
    ``ceil(w / 5)`` lookups instead of ``4 * w`` multiply-adds. Filters are grouped
    by block count; each threshold is subtracted in the first block's table, so
    a window passes when its sum is ``>= 0`` and one row-wise max over the filters
    finds the few positions worth a closer look. Sums are exact integers for
    windows without N (N is looked up as A; :meth:`PWMSet.exact_scores` rejects
    those windows afterwards).

    The ops are small, so :func:`seqfcn.motifs.scan.scan_pwm` runs this kernel with one
    torch thread per tile and scores several tiles in parallel threads instead.
    """

    tile_threads = True  # small ops: tiles in parallel threads, one torch thread each
    torch_threads = 1

    def __init__(self, pwms: PWMSet) -> None:
        import torch

        nblocks = -(-pwms.widths // _Q)
        codes = np.arange(4**_Q)
        digits = np.stack([(codes >> (2 * (_Q - 1 - j))) & 3 for j in range(_Q)], axis=1)  # (1024, Q)
        self.groups = []
        for nb in np.unique(nblocks):
            idx = np.flatnonzero(nblocks == nb)
            mats = np.zeros((len(idx), 4, int(nb) * _Q), dtype=np.int64)
            w = min(pwms.max_width, int(nb) * _Q)
            mats[:, :, :w] = pwms.int_matrices[idx][:, :, :w]
            tables = []
            for k in range(int(nb)):
                t = np.zeros((4**_Q, len(idx)), dtype=np.int64)
                for j in range(_Q):
                    t += mats[:, :, k * _Q + j].T[digits[:, j]]
                if k == 0:  # the threshold is folded into the first block: a hit sums to >= 0
                    t -= pwms.thresholds[idx][None, :]
                tables.append(torch.from_numpy(t.astype(np.int32)))
            self.groups.append((torch.from_numpy(idx), tables))
        self.span = int(nblocks.max()) * _Q

    def candidates(self, bases: np.ndarray, n_windows: int, chunk: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(starts, filters)`` of windows starting in ``[0, n_windows)`` that pass (exact without N)."""
        import torch

        need = n_windows + self.span
        b = np.zeros(need, dtype=np.int64)
        m = min(len(bases), need)
        b[:m] = np.minimum(bases[:m], 4)
        b[b == 4] = 0
        bt = torch.from_numpy(b)
        code = torch.zeros(need - _Q + 1, dtype=torch.int64)
        for j in range(_Q):
            code.mul_(4).add_(bt[j : j + len(code)])
        starts, filters = [], []
        for idx, tables in self.groups:
            step = chunk or 8192
            acc = torch.empty((step, len(idx)), dtype=torch.int32)
            tmp = torch.empty_like(acc)
            for s in range(0, n_windows, step):
                n = min(step, n_windows - s)
                a, t = acc[:n], tmp[:n]
                torch.index_select(tables[0], 0, code[s : s + n], out=a)
                for k in range(1, len(tables)):
                    torch.index_select(tables[k], 0, code[s + k * _Q : s + k * _Q + n], out=t)
                    a.add_(t)
                # rows where any filter reaches its threshold, then the filters within them
                rows = (a.amax(dim=1) >= 0).nonzero().squeeze(1)
                if len(rows):
                    p, f = (a[rows] >= 0).nonzero(as_tuple=True)
                    starts.append(rows[p].numpy() + s)
                    filters.append(idx[f].numpy())
        return _cat(starts), _cat(filters)


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


class CScorer:
    """Hits by the compiled lookahead kernel (``seqfcn.motifs._pwmscan``), exact integer sums.

    Each filter's columns are cut into blocks of at most ``q`` = 5 bases (6 on large scans,
    :data:`LARGE_SCAN`); a block's ``4**q`` int32 table holds its integer score for every q-mer. The first
    (up to) three blocks are adjacent runs of 5 columns, placed where they reject
    the most windows (uniform background) given the best score the other blocks
    could add; the others follow, most variable first. For each of these seed
    blocks the kernel keeps a 64-bit mask per 5-mer and per 64 filters marking the
    filters that could still reach their threshold, so one AND of three lookups per
    position and 64 filters leaves the few windows worth summing; those stop as soon
    as their partial sum plus the best the remaining blocks can add falls below the
    threshold (MOODS' lookahead). Windows holding a non-ACGT base are dropped by the
    kernel. It releases the GIL, so :func:`seqfcn.motifs.scan.scan_pwm` scores several
    tiles at once in threads.
    """

    tile_threads = True
    torch_threads = None  # the compiled kernel uses no torch threads

    def __init__(self, pwms: PWMSet, q: int = _CQ) -> None:
        if _ckernel is None:
            raise ValueError("the C scan kernel (seqfcn.motifs._pwmscan) is not built; use method='table' or 'conv'")
        bound = int(np.abs(pwms.int_matrices).sum(axis=(1, 2)).max()) + int(np.abs(pwms.thresholds).max())
        if bound >= 2**31 - 1:  # every partial sum and bound below stays inside int32
            raise ValueError("integer scores too large for the C kernel; use method='table' or 'conv'")
        self.q = q = int(q)
        codes = np.arange(4**q)
        digits = np.stack([(codes >> (2 * (q - 1 - j))) & 3 for j in range(q)], axis=1)  # (4**q, q)
        # filled in place (pages past the last block are never touched): no list of int64 tables
        tables = np.empty((int(sum(-(-int(w) // q) + 1 for w in pwms.widths)), 4**q), np.int32)
        offsets, needs, first, nblocks = [], [], [], []
        for f in range(len(pwms.widths)):
            w = int(pwms.widths[f])
            m = pwms.int_matrices[f, :, :w]  # (4, w)
            blocks = self._blocks(m, int(pwms.thresholds[f]), digits)
            first.append(len(offsets))
            nblocks.append(len(blocks))
            rest = np.cumsum([t.max() for _, t in blocks][::-1])[::-1]  # best score of blocks k..end
            for k, (off, t) in enumerate(blocks):
                later = int(rest[k + 1]) if k + 1 < len(blocks) else 0
                tables[len(offsets)] = t
                offsets.append(off)
                needs.append(int(pwms.thresholds[f]) - later)
        self.tables = tables[: len(offsets)]  # (blocks, 4**q), C-contiguous
        self.offsets = np.asarray(offsets, dtype=np.int32)
        self.needs = np.asarray(needs, dtype=np.int32)
        self.first = np.asarray(first, dtype=np.int32)
        self.nblocks = np.asarray(nblocks, dtype=np.int32)
        self.widths = pwms.widths.astype(np.int32)
        self.masks = _ckernel.seed_masks(q, self.tables, self.offsets, self.needs, self.first, self.nblocks)
        self.span = int(pwms.max_width) + 3 * q

    @staticmethod
    def _blocks(m: np.ndarray, threshold: int, digits: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """``[(offset, (4**q,) int64 table)]`` in evaluation order for one ``(4, w)`` integer matrix.

        The first blocks (up to 3) are adjacent, at offsets ``o, o + q, o + 2q``: the kernel's seed.
        """
        q = digits.shape[1]
        w = m.shape[1]

        def table(off: int, ncols: int) -> np.ndarray:
            t = np.zeros(len(digits), dtype=np.int64)
            for j in range(ncols):
                t += m[digits[:, j], off + j]
            return t

        if w <= q:
            return [(0, table(0, w))]
        # the score of every run of q columns at once: (4**q, w - q + 1)
        runs = m[:, : w - q + 1]  # built a base at a time, the first base most significant (as ``digits``)
        for j in range(1, q):
            runs = (runs[:, None, :] + m[None, :, j : j + w - q + 1]).reshape(-1, w - q + 1)
        colmax = m.max(axis=0)
        run_max = np.convolve(colmax, np.ones(q, dtype=np.int64), mode="valid")
        need = threshold - (int(colmax.sum()) - run_max)  # per offset, what the run alone must reach
        passing = (runs >= need[None, :]).mean(axis=0)
        k = min(3, w // q)  # blocks in the seed: adjacent runs of q columns
        n_off = w - k * q + 1
        o = int(np.argmin(np.prod([passing[i * q : i * q + n_off] for i in range(k)], axis=0)))  # fewest pass
        seed = [(o + i * q, runs[:, o + i * q].copy()) for i in range(k)]
        others = [(s, min(q, o - s)) for s in range(0, o, q)]
        others += [(s, min(q, w - s)) for s in range(o + k * q, w, q)]
        rest = [(s, table(s, n)) for s, n in others]
        # most variable first, but a block right after a short seed first of all (the kernel tests 3 adjacent blocks)
        rest.sort(key=lambda b: (b[0] != o + k * q or k >= 3, -(int(b[1].max()) - float(b[1].mean()))))
        return seed + rest

    def hits(self, bases: np.ndarray, n_windows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(starts, filters, int_scores)``, sorted by start then filter, of the windows starting
        in ``[0, n_windows)`` that reach their filter's threshold and hold only A/C/G/T.

        ``bases`` is ``(L,)`` uint8 codes (see :meth:`PWMSet.exact_scores`); windows reaching
        past its end are dropped.
        """
        b = np.ascontiguousarray(bases, dtype=np.uint8)
        need = n_windows + self.span
        if len(b) < need:
            b = np.concatenate([b, np.full(need - len(b), 4, dtype=np.uint8)])
        raw = _ckernel.scan_hits(b, int(n_windows), self.q, self.tables, self.offsets, self.needs,
                                 self.first, self.nblocks, self.widths, self.masks)
        starts, filters, scores = (np.frombuffer(x, dtype=np.int64) for x in raw)
        order = np.lexsort((filters, starts))
        return starts[order], filters[order], scores[order]

    def candidates(self, bases: np.ndarray, n_windows: int, chunk: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(starts, filters)`` of windows starting in ``[0, n_windows)`` that pass (exact, N-free)."""
        starts, filters, _ = self.hits(bases, n_windows)
        return starts, filters


def make_scorer(pwms: PWMSet, method: str = "auto", device: str = "cpu", *, bases: int = 0) -> Scorer:
    """The candidate kernel: ``"c"`` (compiled, CPU), ``"conv"`` (any device), ``"table"``
    (CPU) or ``"auto"``: ``conv`` on CUDA; on CPU ``c`` when ``seqfcn.motifs._pwmscan`` is built,
    else ``table`` (the faster numpy/torch kernel). All give the same hits. ``bases``: how many
    bases the scan covers (the C kernel takes larger blocks from :data:`LARGE_SCAN`)."""
    if method not in SCAN_METHODS:
        raise ValueError(f"method must be one of {SCAN_METHODS}, got {method!r}")
    dev_type = str(device).split(":")[0]
    if method == "auto":
        method = ("c" if _ckernel is not None else "table") if dev_type == "cpu" else "conv"
    if method in ("table", "c") and dev_type != "cpu":
        raise ValueError(f"the {method} kernel runs on CPU only; use method='conv' on a GPU")
    if method == "c":
        return CScorer(pwms, _CQ_LARGE if bases >= LARGE_SCAN else _CQ)
    if method == "table":
        return TableScorer(pwms)
    return ConvScorer(pwms, device)
