"""Similarity between motifs: learned filters or PWMs against a motif database.

The measure is TOMTOM's Pearson correlation coefficient (PCC) column score
(Gupta et al. 2007, Genome Biol. 8:R24), averaged over the aligned columns:

* Two ``(4, w)`` matrices are aligned with an integer offset: query column
  ``i`` faces target column ``i + offset``. The *overlap* is the number of
  columns that face each other; only offsets with an overlap of at least
  ``min_overlap`` (default ``min(5, shorter width)``) count.
* Each pair of facing columns scores the Pearson correlation of their four
  values (A, C, G, T); a column with no variance (e.g. uniform) correlates 0.
* An alignment scores the **mean** column PCC over the overlap, in
  ``[-1, 1]``; the similarity is the best over all offsets and both strands of
  the target (the reverse complement: rows A↔T, C↔G, columns reversed).

Learned convolution filters are not probabilities. :func:`filter_to_pwm` turns
a ``(4, w)`` weight matrix into a probability matrix — by default the softmax
of each column (``exp(w) / sum(exp(w))``), i.e. reading the weights as natural
log-odds against a uniform background — and :func:`trim_pwm` drops
low-information columns at both ends before comparing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from seqfcn.sequence.pwm import reverse_complement_matrix

FILTER_METHODS = ("softmax", "positive")


@dataclass(frozen=True)
class Alignment:
    """The best alignment of a query against one target.

    Attributes:
        similarity: mean column PCC over the overlap, in ``[-1, 1]``.
        offset: query column ``i`` faces target column ``i + offset`` (target
            read on ``strand``).
        strand: ``"+"`` (target as given) or ``"-"`` (its reverse complement).
        overlap: number of aligned columns.
    """

    similarity: float
    offset: int
    strand: str
    overlap: int


def _as_matrix(m: object, what: str) -> np.ndarray:
    a = np.asarray(getattr(m, "pfm", m), dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != 4 or a.shape[1] == 0:
        raise ValueError(f"{what}: expected a (4, w) matrix, got shape {a.shape}")
    return a


def filter_to_pwm(weight: np.ndarray, method: str = "softmax", scale: float = 1.0) -> np.ndarray:
    """A ``(4, w)`` probability matrix from ``(4, w)`` convolution weights.

    Args:
        weight: ``(4, w)`` weights of one filter (rows A, C, G, T).
        method: ``"softmax"``: ``exp(scale * w)`` normalised per column (the
            weights read as natural log-odds); ``"positive"``: ``max(w, 0)``
            normalised per column (a column without a positive weight becomes
            uniform).
        scale: multiplies the weights before the softmax (inverse temperature).

    Returns:
        ``(4, w)`` float64, every column sums to 1.
    """
    w = _as_matrix(weight, "filter")
    if method == "softmax":
        z = scale * w
        e = np.exp(z - z.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)
    if method == "positive":
        p = np.clip(w, 0.0, None)
        total = p.sum(axis=0, keepdims=True)
        return np.where(total > 0, p / np.where(total > 0, total, 1.0), 0.25)
    raise ValueError(f"unknown method {method!r}; choose from {', '.join(FILTER_METHODS)}")


def information_content(pfm: np.ndarray) -> np.ndarray:
    """``(w,)`` information content in bits of each column of a ``(4, w)`` probability matrix."""
    p = _as_matrix(pfm, "pfm")
    p = p / p.sum(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log2(p), 0.0).sum(axis=0)
    return 2.0 - h


def trim_pwm(pfm: np.ndarray, min_ic: float = 0.25, *, relative: bool = False) -> np.ndarray:
    """Drop the columns at both ends whose information content is below a threshold.

    The threshold is ``min_ic`` bits, or with ``relative`` ``min_ic`` times the
    largest column information content (for learned filters, whose softmax
    columns may all be weak). Returns a ``(4, w')`` view; when every column is
    below the threshold the single most informative column is kept.
    """
    p = _as_matrix(pfm, "pfm")
    ic = information_content(p)
    threshold = min_ic * float(ic.max()) if relative else min_ic
    keep = np.flatnonzero(ic >= threshold)
    if keep.size == 0:
        best = int(np.argmax(ic))
        return p[:, best : best + 1]
    return p[:, keep[0] : keep[-1] + 1]


def _standardise(m: np.ndarray) -> np.ndarray:
    """Columns centred and scaled to unit norm (zero-variance columns stay 0)."""
    c = m - m.mean(axis=0, keepdims=True)
    norm = np.sqrt((c * c).sum(axis=0, keepdims=True))
    return np.where(norm > 1e-12, c / np.where(norm > 1e-12, norm, 1.0), 0.0)


def _best_offset(corr: np.ndarray, min_overlap: int) -> tuple[float, int, int]:
    """Best mean diagonal of a ``(wq, wt)`` column-correlation matrix: (mean, offset, overlap).

    Ties (within 1e-12) go to the longer overlap, then to the smaller offset.
    """
    wq, wt = corr.shape
    offsets = np.arange(-(wq - min_overlap), wt - min_overlap + 1)
    padded = np.zeros((wq, wt + 2 * wq))
    padded[:, wq : wq + wt] = corr
    inside = np.zeros_like(padded)
    inside[:, wq : wq + wt] = 1.0
    rows = np.arange(wq)[:, None]
    cols = wq + rows + offsets[None, :]
    sums = padded[rows, cols].sum(axis=0)
    counts = inside[rows, cols].sum(axis=0)
    means = sums / counts
    top = means.max()
    tied = np.flatnonzero(means >= top - 1e-12)
    k = int(tied[np.argmax(counts[tied])])
    return float(means[k]), int(offsets[k]), int(counts[k])


def align(query: np.ndarray, target: np.ndarray, *, min_overlap: int | None = None, both_strands: bool = True) -> Alignment:
    """Best alignment of two ``(4, w)`` probability matrices (see the module docstring).

    Args:
        query, target: ``(4, wq)`` and ``(4, wt)`` matrices (or :class:`~seqfcn.io.motifs.Motif`).
        min_overlap: fewest aligned columns (default ``min(5, wq, wt)``; capped at
            the shorter width).
        both_strands: also try the reverse complement of ``target``.
    """
    q, t = _as_matrix(query, "query"), _as_matrix(target, "target")
    shortest = min(q.shape[1], t.shape[1])
    overlap = min(5, shortest) if min_overlap is None else max(1, min(int(min_overlap), shortest))
    qs = _standardise(q)
    best = Alignment(-np.inf, 0, "+", 0)
    strands = (("+", t), ("-", reverse_complement_matrix(t))) if both_strands else (("+", t),)
    for strand, m in strands:
        sim, offset, n = _best_offset(qs.T @ _standardise(m), overlap)
        if sim > best.similarity + 1e-12 or (sim >= best.similarity - 1e-12 and n > best.overlap):
            best = Alignment(sim, offset, strand, n)
    return best


def similarity(query: np.ndarray, target: np.ndarray, *, min_overlap: int | None = None) -> float:
    """Best mean column PCC of two ``(4, w)`` matrices over offsets and both strands, in ``[-1, 1]``."""
    return align(query, target, min_overlap=min_overlap).similarity


@dataclass(frozen=True)
class PackedMotifs:
    """Database matrices standardised once (:func:`pack_motifs`): both strands, zero-padded to
    the widest; :func:`rank_matches` takes it instead of the motifs to rank many queries."""

    ids: list[str]
    names: list[str]
    widths: np.ndarray  # (M,)
    columns: np.ndarray  # (2, M, wmax, 4): strand, motif, column, base

    def __len__(self) -> int:
        return len(self.ids)


def pack_motifs(motifs: Sequence) -> PackedMotifs:
    """``motifs`` (``Motif`` objects or ``(4, w)`` matrices) standardised for :func:`rank_matches`."""
    mats = [_as_matrix(m, f"motif {i}") for i, m in enumerate(motifs)]
    if not mats:
        raise ValueError("no motifs to compare against")
    widths = np.array([m.shape[1] for m in mats])
    columns = np.zeros((2, len(mats), int(widths.max()), 4))
    for i, m in enumerate(mats):
        columns[0, i, : m.shape[1]] = _standardise(m).T
        columns[1, i, : m.shape[1]] = _standardise(reverse_complement_matrix(m)).T
    ids = [str(getattr(m, "id", i)) for i, m in enumerate(motifs)]
    names = [str(getattr(m, "name", i)) for i, m in enumerate(motifs)]
    return PackedMotifs(ids, names, widths, columns)


def _rank_packed(query: np.ndarray, db: PackedMotifs, min_overlap: int | None) -> pd.DataFrame:
    """:func:`align` of ``query`` against every packed motif at once."""
    q = _as_matrix(query, "query")
    wq = q.shape[1]
    _, n, wmax, _ = db.columns.shape
    need = np.minimum(np.minimum(db.widths, wq), 5 if min_overlap is None else max(1, int(min_overlap)))
    corr = np.einsum("smjb,bi->smij", db.columns, _standardise(q))  # (2, M, wq, wmax)
    offsets = np.arange(-(wq - 1), wmax)
    padded = np.zeros((2, n, wq, wmax + 2 * wq))
    padded[..., wq : wq + wmax] = corr
    rows = np.arange(wq)[:, None]
    cols = wq + rows + offsets[None, :]  # (wq, n_offsets)
    sums = padded[:, :, rows, cols].sum(axis=2)  # (2, M, n_offsets)
    j = rows + offsets[None, :]
    counts = ((j >= 0)[None] & (j < db.widths[:, None, None])).sum(axis=1)  # (M, n_offsets)
    valid = counts >= need[:, None]
    means = np.where(valid[None], sums / np.maximum(counts, 1)[None], -np.inf)
    # best: highest mean (within 1e-12), then longest overlap, then forward strand, then smallest offset
    flat = means.transpose(1, 0, 2).reshape(n, -1)  # (M, strand * offset)
    tied = flat >= flat.max(axis=1, keepdims=True) - 1e-12
    overlap = np.broadcast_to(counts[:, None, :], (n, 2, offsets.size)).reshape(n, -1)
    best = np.where(tied, overlap, -1).argmax(axis=1)
    strand, k = np.divmod(best, offsets.size)
    idx = np.arange(n)
    table = pd.DataFrame({
        "id": db.ids,
        "name": db.names,
        "similarity": means[strand, idx, k],
        "offset": offsets[k],
        "strand": np.where(strand == 0, "+", "-"),
        "overlap": counts[idx, k],
    })
    table = table.sort_values("similarity", ascending=False, kind="stable").reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table


def rank_matches(
    query: np.ndarray,
    motifs: Sequence | PackedMotifs,
    *,
    min_overlap: int | None = None,
    top: int | None = None,
) -> pd.DataFrame:
    """Database motifs ranked by similarity to ``query`` (best first).

    Args:
        query: ``(4, w)`` probability matrix (e.g. ``trim_pwm(filter_to_pwm(w))``).
        motifs: :class:`~seqfcn.io.motifs.Motif` objects (``id``, ``name``, ``pfm``), or
            them packed once by :func:`pack_motifs`.
        min_overlap: see :func:`align`.
        top: keep only the ``top`` best rows.

    Returns:
        DataFrame with columns ``rank`` (1 = best), ``id``, ``name``,
        ``similarity``, ``offset``, ``strand``, ``overlap`` (the alignment of
        :func:`align`); ties keep the input order.
    """
    db = motifs if isinstance(motifs, PackedMotifs) else pack_motifs(motifs)
    table = _rank_packed(query, db, min_overlap)
    return table if top is None else table.head(int(top))


def compare_filters(
    weights: np.ndarray,
    motifs: Sequence,
    *,
    method: str = "softmax",
    min_ic: float = 0.2,
    relative: bool = True,
    min_overlap: int | None = None,
) -> pd.DataFrame:
    """Best database match of every filter of a ``(n_filters, 4, w)`` weight tensor.

    Each filter becomes ``trim_pwm(filter_to_pwm(weight, method), min_ic, relative=relative)``
    (by default: end columns with less than 20% of the filter's most informative
    column are dropped) and is ranked against ``motifs`` with :func:`rank_matches`.

    Returns:
        One row per filter, best match first: ``filter``, ``width`` (after
        trimming), ``id``, ``name``, ``similarity``, ``offset``, ``strand``, ``overlap``.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 3 or w.shape[1] != 4:
        raise ValueError(f"expected (n_filters, 4, w) weights, got shape {w.shape}")
    db = pack_motifs(motifs)
    rows = []
    for k in range(w.shape[0]):
        pwm = trim_pwm(filter_to_pwm(w[k], method), min_ic, relative=relative)
        best = _rank_packed(pwm, db, min_overlap).iloc[0]
        rows.append({"filter": k, "width": pwm.shape[1], **{c: best[c] for c in
                     ("id", "name", "similarity", "offset", "strand", "overlap")}})
    table = pd.DataFrame(rows)
    return table.sort_values("similarity", ascending=False, kind="stable").reset_index(drop=True)


def rank_of(table: pd.DataFrame, motif_id: str) -> int | None:
    """The ``rank`` of ``motif_id`` (matched on ``id``, or on ``name`` case-insensitively) in a
    :func:`rank_matches` table; ``None`` when absent."""
    hit = table[(table["id"] == motif_id) | (table["name"].str.upper() == str(motif_id).upper())]
    return None if hit.empty else int(hit["rank"].iloc[0])
