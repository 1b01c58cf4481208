"""Synthetic long-range task: a promoter's per-base label depends on a distant enhancer.

Each item is a window of background sequence (i.i.d. uniform bases, or windows
of a real genome via :func:`genome_background`) holding one *promoter*
segment (a fixed sequence). With probability ``p_positive`` an *enhancer*
segment (tandem copies of a motif) is placed so that the centres of the two
segments are ``d`` bases apart, upstream or downstream at random; the per-base
label of every promoter base is then 1, else 0. ``d`` is one distance, or is
drawn from a range ``(d_min, d_max)`` (log-uniform by default: the label then
means "an enhancer within ``d_min..d_max``", and short distances act as a
built-in curriculum). Negative items carry no enhancer, or (``p_decoy``) an
enhancer at a distance outside the range, so a model must measure the
distance, not only spot the motif.

The promoter is placed as for a positive in *every* item, so its position in
the window (its distance to the window ends, which zero padding reveals to a
wide model) carries no information about the label. Only the promoter bases
are scored by default (``weight`` 1 there, 0 elsewhere): a model whose reach
(half its receptive field) is shorter than ``d`` minus the segment
half-widths sees the same thing in positive and negative items and cannot beat
an AUROC of 0.5, while a model that reaches ``d`` can reach 1.

Everything in item ``i`` is drawn from ``numpy.random.default_rng([seed, i])``,
so a dataset is deterministic per ``(seed, index)`` and independent of the
order and worker in which items are read. :func:`fit_longrange` trains a model
on a curriculum of growing distances; :func:`promoter_auroc` scores it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch.utils.data import Dataset

from seqfcn.sequence.alphabet import BASES
from seqfcn.errors import SeqfcnError
from seqfcn.training.metrics import auroc
from seqfcn.runtime.options import resolve_options

DEFAULT_ENHANCER_MOTIF = "CACGTGAC"
BackgroundFn = Callable[[np.random.Generator, int], np.ndarray]


def _codes(seq: str, what: str) -> np.ndarray:
    table = {b: i for i, b in enumerate(BASES)}
    try:
        return np.array([table[c] for c in seq.upper()], dtype=np.int8)
    except KeyError as exc:
        raise SeqfcnError(f"{what} must contain only A, C, G, T; got {exc.args[0]!r}") from None


def genome_background(codes: np.ndarray, *, max_n_fraction: float = 0.0) -> BackgroundFn:
    """A ``background`` function drawing random windows of a real sequence.

    Args:
        codes: ``(n,)`` integer base codes of a chromosome (0..3 = A, C, G, T, larger = N),
            e.g. ``seqfcn.sequence.encode``-style codes of ``Genome.fetch(chrom)``.
        max_n_fraction: windows with more non-ACGT codes are redrawn (remaining N become random bases).

    Returns:
        ``fn(rng, length) -> (length,) int8 codes`` for :class:`LongRangeDataset`.
    """
    codes = np.asarray(codes)

    def draw(rng: np.random.Generator, length: int) -> np.ndarray:
        if codes.shape[0] < length:
            raise SeqfcnError(f"background sequence of {codes.shape[0]} bases is shorter than the window {length}")
        for _ in range(100):
            start = int(rng.integers(0, codes.shape[0] - length + 1))
            window = codes[start : start + length].astype(np.int8)
            bad = window > 3
            if bad.sum() <= max_n_fraction * length:
                break
        else:
            raise SeqfcnError(f"no background window of {length} bases with at most {max_n_fraction:.0%} N")
        window[bad] = rng.integers(0, 4, int(bad.sum()))
        return window

    return draw


@dataclass(frozen=True)
class LongRangeLayout:
    """Where the segments of one item lie (0-based half-open window coordinates).

    ``enhancer`` is ``None`` when the item has none; ``positive`` is the
    promoter label; ``side`` is ``"upstream"`` / ``"downstream"`` (enhancer
    relative to the promoter) or ``None``.
    """

    length: int
    promoter: tuple[int, int]
    enhancer: tuple[int, int] | None
    positive: bool
    side: str | None


@dataclass(frozen=True)
class LongRangeOptions:
    """How a :class:`LongRangeDataset` lays out and labels its items.

    Attributes:
        sampling: ``"log"`` (log-uniform over the range: every octave of distance is
            equally common, a built-in curriculum from near to far) or ``"uniform"``.
        length: window length ``L``; default ``d_max + (promoter_length + enhancer_length) // 2 + 1 + 2 * flank``.
        promoter_length: bases of the promoter segment (all share one label).
        enhancer_motif: the motif repeated in the enhancer segment (A/C/G/T).
        enhancer_copies: tandem copies of the motif (enhancer length = copies * motif length).
        promoter: promoter sequence (default: a fixed random sequence from ``promoter_seed``).
        p_positive: fraction of positive items.
        p_decoy: fraction of *negative* items whose enhancer is present at a wrong
            distance (uniform in ``[d_min/2, 3 d_max/2]`` outside ``[d_min - decoy_gap,
            d_max + decoy_gap]``, kept inside the window).
        decoy_gap: minimum distance offset of a decoy from ``d``.
        background_weight: loss/metric weight of non-promoter bases (label 0 there).
        flank: minimal distance from the segments to the window ends (default length only).
        background: ``fn(rng, n) -> (n,) int codes 0..3`` (default i.i.d. uniform bases).
        seed: item ``i`` uses ``default_rng([seed, i])``.
        promoter_seed: seed of the default promoter sequence.
    """

    length: int | None = None
    promoter_length: int = 64
    enhancer_motif: str = DEFAULT_ENHANCER_MOTIF
    enhancer_copies: int = 8
    promoter: str | None = None
    p_positive: float = 0.5
    p_decoy: float = 0.0
    decoy_gap: int | None = None
    background_weight: float = 0.0
    flank: int = 32
    background: BackgroundFn | None = None
    seed: int = 0
    promoter_seed: int = 12345
    sampling: str = "log"


class LongRangeDataset(Dataset):
    """Synthetic promoter/enhancer windows for per-base long-range prediction.

    Args:
        n_items: dataset length.
        distance: centre-to-centre promoter/enhancer distance of positives (bases): an int
            ``d`` (exactly ``d``) or a range ``(d_min, d_max)`` (inclusive), sampled as
            ``options.sampling`` says.
        options: :class:`LongRangeOptions`; ``overrides`` replace single fields
            (``LongRangeDataset(100, 500, seed=3, flank=40)``).

    Item: ``{"x": (4, L) float32 one-hot, "y": (1, L) float32 labels, "weight": (L,) float32}``.
    """

    def __init__(self, n_items: int, distance: int | tuple[int, int], options: LongRangeOptions | None = None,
                 **overrides: object) -> None:
        o = resolve_options(LongRangeOptions, options, overrides, "LongRangeDataset")
        promoter_length, enhancer_copies, promoter = o.promoter_length, o.enhancer_copies, o.promoter
        p_positive, p_decoy, length, sampling = o.p_positive, o.p_decoy, o.length, o.sampling
        if n_items < 0:
            raise SeqfcnError(f"n_items must be >= 0, got {n_items}")
        if promoter_length < 1 or enhancer_copies < 1:
            raise SeqfcnError("promoter_length and enhancer_copies must be >= 1")
        if not 0.0 <= p_positive <= 1.0 or not 0.0 <= p_decoy <= 1.0:
            raise SeqfcnError("p_positive and p_decoy must lie in [0, 1]")
        self.motif = _codes(o.enhancer_motif, "enhancer_motif")
        if promoter is None:
            rng = np.random.default_rng(o.promoter_seed)
            self.promoter = rng.integers(0, 4, promoter_length).astype(np.int8)
        else:
            self.promoter = _codes(promoter, "promoter")
        self.enhancer = np.tile(self.motif, enhancer_copies)
        self.p_len, self.e_len = len(self.promoter), len(self.enhancer)
        min_distance = (self.p_len + self.e_len + 1) // 2
        lo, hi = (distance, distance) if isinstance(distance, (int, np.integer)) else distance
        if lo < min_distance or hi < lo:
            raise SeqfcnError(f"distance {distance} is invalid: need {min_distance} <= d_min <= d_max "
                              "(shorter distances would overlap the segments)")
        self.distance_range = (int(lo), int(hi))
        if sampling not in ("log", "uniform"):
            raise SeqfcnError(f"sampling must be 'log' or 'uniform', got {sampling!r}")
        self.sampling = sampling
        self.span = int(hi) + (self.p_len + self.e_len) // 2 + 1
        self.length = int(length) if length is not None else self.span + 2 * o.flank
        if self.length < self.span:
            raise SeqfcnError(f"length {self.length} cannot hold promoter and enhancer {distance} bases apart")
        self.n_items, self.p_positive, self.p_decoy = int(n_items), float(p_positive), float(p_decoy)
        self.decoy_gap = int(o.decoy_gap) if o.decoy_gap is not None else max(self.p_len, self.e_len)
        self.background_weight = float(o.background_weight)
        self.background = o.background
        self.seed = int(o.seed)

    def __len__(self) -> int:
        return self.n_items

    # ------------------------------------------------------------------ layout
    def _place(self, rng: np.random.Generator, dist: int, upstream: bool) -> tuple[int, int] | None:
        """Promoter and enhancer starts for centre distance ``dist``, or ``None`` if it cannot fit."""
        p_half, e_half = self.p_len // 2, self.e_len // 2
        # centre(p) = p + p_half, centre(e) = e + e_half, |centre(p) - centre(e)| = dist
        if upstream:  # enhancer left of promoter
            lo_e, hi_e = 0, self.length - self.p_len - (dist + e_half - p_half)
            if hi_e < lo_e:
                return None
            e = int(rng.integers(lo_e, hi_e + 1))
            return e + e_half + dist - p_half, e
        lo_p, hi_p = 0, self.length - self.e_len - (dist + p_half - e_half)
        if hi_p < lo_p:
            return None
        p = int(rng.integers(lo_p, hi_p + 1))
        return p, p + p_half + dist - e_half

    def _sample_distance(self, rng: np.random.Generator) -> int:
        lo, hi = self.distance_range
        if self.sampling == "uniform":
            return int(rng.integers(lo, hi + 1))
        return min(hi, int(np.exp(rng.uniform(np.log(lo), np.log(hi + 1)))))

    def _decoy(self, rng: np.random.Generator, p: int) -> tuple[int, int] | None:
        """An enhancer at a wrong centre distance from the promoter at ``p`` (``None`` if none fits)."""
        p_centre, e_half = p + self.p_len // 2, self.e_len // 2
        d_min, d_max = self.distance_range
        lo = max(d_min // 2, (self.p_len + self.e_len + 1) // 2)
        hi = (3 * d_max) // 2
        for _ in range(64):
            dist = int(rng.integers(lo, hi + 1))
            if d_min - self.decoy_gap <= dist <= d_max + self.decoy_gap:
                continue
            e = p_centre + (dist if rng.integers(0, 2) else -dist) - e_half
            if 0 <= e and e + self.e_len <= self.length:
                return e, e + self.e_len
        return None

    def layout(self, index: int) -> tuple[LongRangeLayout, np.ndarray]:
        """The segments of item ``index`` and its sequence as ``(L,)`` int8 codes."""
        if not 0 <= index < self.n_items:
            raise IndexError(index)
        rng = np.random.default_rng([self.seed, int(index)])
        if self.background is None:
            codes = rng.integers(0, 4, self.length).astype(np.int8)
        else:
            codes = np.asarray(self.background(rng, self.length), dtype=np.int8).copy()
            if codes.shape != (self.length,):
                raise SeqfcnError(f"background returned shape {codes.shape}, expected ({self.length},)")
        positive = bool(rng.random() < self.p_positive)
        upstream = bool(rng.integers(0, 2))
        # the promoter is placed as for a positive in every item, so that its position in the
        # window (e.g. its distance to the window ends) says nothing about the label
        dist = self._sample_distance(rng)
        placed = self._place(rng, dist, upstream)
        if placed is None:  # unreachable: the window holds the span
            raise SeqfcnError(f"window of {self.length} cannot hold distance {dist}")
        p, e = placed
        enhancer: tuple[int, int] | None = (e, e + self.e_len) if positive else None
        if not positive and rng.random() < self.p_decoy:
            enhancer = self._decoy(rng, p)
        if enhancer is not None:
            codes[enhancer[0] : enhancer[1]] = self.enhancer
        codes[p : p + self.p_len] = self.promoter
        side = None if enhancer is None else ("upstream" if enhancer[0] < p else "downstream")
        return LongRangeLayout(self.length, (p, p + self.p_len), enhancer, positive, side), codes

    def __getitem__(self, index: int) -> dict:
        lay, codes = self.layout(index)
        x = np.zeros((4, self.length), dtype=np.float32)
        x[codes, np.arange(self.length)] = 1.0
        y = np.zeros((1, self.length), dtype=np.float32)
        weight = np.full(self.length, self.background_weight, dtype=np.float32)
        a, b = lay.promoter
        y[0, a:b] = float(lay.positive)
        weight[a:b] = 1.0
        return {"x": torch.from_numpy(x), "y": torch.from_numpy(y), "weight": torch.from_numpy(weight)}


@torch.no_grad()
def promoter_scores(
    model: torch.nn.Module, dataset: LongRangeDataset, *, batch_size: int = 8, device: str | torch.device = "cpu"
) -> tuple[np.ndarray, np.ndarray]:
    """Per-item mean model logit over the promoter bases, and the item labels.

    Returns ``(scores (n,), labels (n,))``; the model maps ``(batch, 4, L)`` to ``(batch, 1, L)``.
    """
    was_training = model.training
    model.eval()
    scores, labels = [], []
    try:
        for start in range(0, len(dataset), batch_size):
            index = range(start, min(start + batch_size, len(dataset)))
            x = torch.stack([dataset[i]["x"] for i in index]).to(device)
            out = model(x)[:, 0].float().cpu()
            for i, o in zip(index, out):
                lay = dataset.layout(i)[0]
                scores.append(float(o[lay.promoter[0] : lay.promoter[1]].mean()))
                labels.append(float(lay.positive))
    finally:
        model.train(was_training)
    return np.asarray(scores), np.asarray(labels)


def promoter_auroc(model: torch.nn.Module, dataset: LongRangeDataset, **kwargs) -> float:
    """AUROC of :func:`promoter_scores` (one score per item: the promoter's mean logit)."""
    scores, labels = promoter_scores(model, dataset, **kwargs)
    return auroc(scores, labels > 0.5)


def fit_longrange(
    model: torch.nn.Module,
    stages: list[tuple],
    *,
    batch_size: int = 8,
    lr: float = 3e-3,
    seed: int = 0,
    min_distance: int = 64,
    dataset_kwargs: dict | None = None,
    log: Callable[[str], None] | None = None,
) -> list[float]:
    """Train ``model`` on :class:`LongRangeDataset` stages; returns the loss of every step.

    Each stage ``(distance, steps)`` or ``(distance, steps, stage_batch_size)`` trains
    ``steps`` AdamW steps (batch ``stage_batch_size``, default ``batch_size``; per-base BCE
    on the promoter bases, gradient norm clipped to 1)
    on items whose enhancer distance is ``distance`` (an int ``d_max`` means the
    log-uniform range ``(min_distance, d_max)``). Stages that grow ``d_max``
    (short, cheap windows first) are a curriculum: the model first learns to
    detect the enhancer near the promoter, then to carry it further.
    """
    from seqfcn.training.losses import bce

    gen_seed = int(seed)
    torch.manual_seed(gen_seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    losses: list[float] = []
    model.train()
    for k, stage in enumerate(stages):
        distance, steps = stage[0], int(stage[1])
        bs = int(stage[2]) if len(stage) > 2 else batch_size
        rng_dist = (min_distance, distance) if isinstance(distance, (int, np.integer)) else distance
        ds = LongRangeDataset(steps * bs, rng_dist, seed=gen_seed * 1000 + k, **(dataset_kwargs or {}))
        for step in range(steps):
            items = [ds[step * bs + i] for i in range(bs)]
            x = torch.stack([it["x"] for it in items])
            y = torch.stack([it["y"] for it in items])
            w = torch.stack([it["weight"] for it in items])
            loss = bce(model(x), y, w)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(float(loss.detach()))
            if log is not None and (step + 1) % 50 == 0:
                log(f"stage {k} (d {rng_dist}) step {step + 1}/{steps} loss {np.mean(losses[-50:]):.4f}")
    return losses
