"""Held-out bits per base of a masked-base trunk, beside Markov and compressor baselines
(``seqfcn evaluate mask``).

1. **Held out**: ``regions`` (merged), else the last ``data.holdout`` fraction of every
   chromosome: what ``seqfcn train --task mask`` left out when this genome was its training genome.
2. **The trunk**: every base there is scored with
   :class:`~seqfcn.runtime.masked_scores.MaskedBaseScore` (the base masked, with every 7th base
   around it; both strands), in exact tiles; bits = ``-log2 p``.
3. **Markov baselines**: interpolated order-k models (:class:`~seqfcn.sequence.markov.MarkovModel`,
   Witten-Bell, both strands) fitted on the rest of the genome (each piece between held-out
   stretches on its own), scored on the same bases for k = 1..``max_order``; the best order is named.
   A Markov model sees only the bases to the left; the trunk sees both sides with 14 % masked.
4. **Compressor**: ``xz -9e`` on the held-out bases (:func:`~seqfcn.sequence.markov.compressor_bits_per_base`).
5. **Classes**: ``uppercase`` and ``lowercase`` (soft-masked repeats, where the FASTA has them)
   partition the bases; ``tandem`` (bases in a tandem repeat of period 1-6, :func:`tandem_mask`)
   and ``multicopy`` (bases covered by a 24-mer found at least twice in the genome, either strand:
   interspersed repeats and duplications even where the FASTA is not soft-masked,
   :func:`multicopy_mask`) overlap them.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from seqfcn.errors import SeqfcnError
from seqfcn.runtime.inference import InferenceOptions
from seqfcn.runtime.options import resolve_options

Span = tuple[str, int, int]
CLASSES = ("uppercase", "lowercase", "tandem", "multicopy")
TANDEM_PERIODS = range(1, 7)
TANDEM_MIN_LENGTH = 12
"""A tandem repeat is a stretch of at least this many bases equal to the bases one period on."""


@dataclass
class MaskEvalOptions(InferenceOptions):
    """How :func:`evaluate_mask` runs: the shared :class:`~seqfcn.runtime.inference.InferenceOptions`
    (``window``, ``batch_size`` (default 4: each window runs 14 times), ``device``, ``progress``) and:

    Attributes:
        max_order: Markov baselines of orders 1..``max_order`` (0: none; at most 12).
        compressor: also the ``xz -9e`` baseline.
    """

    batch_size: int = 4
    max_order: int = 12
    compressor: bool = True


def tandem_mask(codes: np.ndarray, periods: Sequence[int] = TANDEM_PERIODS,
                min_length: int = TANDEM_MIN_LENGTH) -> np.ndarray:
    """``(L,)`` bool: bases inside a tandem repeat: for some period ``p``, a stretch of at least
    ``min_length`` A/C/G/T bases each equal to the base ``p`` further on (plus those last ``p``)."""
    codes = np.asarray(codes)
    depth = np.zeros(codes.shape[0] + 1, np.int64)  # +1 where a marked stretch starts, -1 past its end
    for p in periods:
        if codes.shape[0] <= p:
            continue
        same = np.concatenate(([False], (codes[:-p] == codes[p:]) & (codes[p:] < 4), [False]))
        edges = np.flatnonzero(np.diff(same.astype(np.int8)))
        starts, ends = edges[::2], edges[1::2]  # runs [start, end) of i with codes[i] == codes[i+p]
        keep = ends - starts + p >= min_length
        np.add.at(depth, starts[keep], 1)
        np.add.at(depth, ends[keep] + p, -1)
    return np.cumsum(depth[:-1]) > 0


MULTICOPY_K = 24
"""The k-mer length of the ``multicopy`` class (:func:`multicopy_mask`)."""


def _canonical_kmers(codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(n - k + 1,)`` uint64 canonical k-mer values (the smaller of the two strands' base-4
    values) of ``(n,)`` codes, and a bool array of those without an N."""
    n = codes.shape[0] - k + 1
    if n <= 0:
        return np.zeros(0, np.uint64), np.zeros(0, bool)
    ok = (codes >= 0) & (codes < 4)
    c = np.where(ok, codes, 0).astype(np.uint64)
    fwd, rev = np.zeros(n, np.uint64), np.zeros(n, np.uint64)
    for j in range(k):
        fwd = (fwd << np.uint64(2)) | c[j:j + n]
        rev |= (np.uint64(3) - c[j:j + n]) << np.uint64(2 * j)
    bad = np.concatenate(([0], np.cumsum(~ok)))
    return np.minimum(fwd, rev), (bad[k:] - bad[:n]) == 0


def multicopy_mask(genome: Sequence[np.ndarray], test: Sequence[np.ndarray], k: int = MULTICOPY_K
                   ) -> list[np.ndarray]:
    """For each ``(L,)`` codes array of ``test`` (stretches of ``genome``, whose pieces are ``(n,)``
    codes arrays, all of it), a ``(L,)`` bool array: bases covered by a k-mer that occurs at least
    twice in ``genome`` counting both strands. Memory: about 24 bytes per genome base."""
    keys, counts = np.unique(np.concatenate([v[ok] for v, ok in (_canonical_kmers(g, k) for g in genome)]),
                             return_counts=True)
    repeated = keys[counts >= 2]
    out = []
    for t in test:
        values, ok = _canonical_kmers(t, k)
        where = np.searchsorted(repeated, values).clip(max=max(len(repeated) - 1, 0))
        hit = ok & (repeated[where] == values) if len(repeated) else np.zeros(len(values), bool)
        starts = np.concatenate(([0], np.cumsum(hit)))  # base i is covered by starts i-k+1 .. i
        idx = np.arange(t.shape[0])
        lo, hi = np.clip(idx - k + 1, 0, len(hit)), np.clip(idx + 1, 0, len(hit))
        out.append(starts[hi] - starts[lo] > 0)
    return out


def _held_out(info: dict[str, Any], sizes: dict[str, int], regions: Sequence[Span] | None) -> list[Span]:
    from seqfcn.runtime.tiling import genome_spans
    from seqfcn.training.datasets import holdout_regions

    if regions is None:
        fraction = float(((info.get("metadata") or {}).get("data") or {}).get("holdout", 0.1))
        regions = [(r.chrom, r.start, r.end) for r in holdout_regions(sizes, fraction) if r.end > r.start]
    return genome_spans(sizes, regions)


def _rest(sizes: dict[str, int], spans: Sequence[Span]) -> list[Span]:
    """The pieces of every chromosome between the held-out spans."""
    out = []
    for chrom, size in sizes.items():
        cut = 0
        for c, start, end in spans:
            if c == chrom:
                out.append((chrom, cut, start))
                cut = end
        out.append((chrom, cut, size))
    return [s for s in out if s[2] > s[1]]


def _score(fn: Any, genome: Any, spans: Sequence[Span], opts: MaskEvalOptions, margin: int) -> np.ndarray:
    """``(sum of span lengths,)`` float32 ln p of each held-out base (NaN at N), the spans one after
    another: the tiles cover the spans in order, so their cores joined are the spans joined."""
    pieces = opts.pieces(fn, genome, opts.tiles(spans, genome.chrom_sizes, margin), margin)
    return np.concatenate([values[0] for _, _, values in pieces])


def _summary(bits: np.ndarray, keep: np.ndarray) -> dict[str, Any]:
    chosen = bits[keep & ~np.isnan(bits)]
    return {"positions": int(chosen.size), "bits_per_base": float(chosen.mean()) if chosen.size else None}


def _markov(train: list[np.ndarray], test: list[np.ndarray], max_order: int) -> tuple[dict[str, Any], np.ndarray]:
    """The Markov rows of orders 1..``max_order`` and the best order's bits per held-out base."""
    from seqfcn.sequence.markov import MarkovModel

    model = MarkovModel.fit(train, max_order)
    joined = np.concatenate([np.append(t, np.int8(4)) for t in test])  # an N between stretches resets the context
    real = np.ones(joined.shape[0], bool)
    real[np.cumsum([t.shape[0] + 1 for t in test]) - 1] = False
    rows, best = [], (math.inf, 0, None)
    for k in range(1, max_order + 1):
        bits = -model.log2_probs(joined, order=k)[real]
        row = _summary(bits, np.ones(bits.shape, bool))
        rows.append({"order": k, **row})
        if row["bits_per_base"] is not None and row["bits_per_base"] < best[0]:
            best = (row["bits_per_base"], k, bits)
    return {"best_order": best[1], "bits_per_base": best[0], "orders": rows}, best[2]


def evaluate_mask(genome_path: str | os.PathLike, model: str | os.PathLike,
                  options: MaskEvalOptions | None = None, *, regions: Sequence[Span] | None = None,
                  **overrides: Any) -> dict[str, Any]:
    """Held-out bits per base of a trunk and its baselines (see the module docstring).

    Returns:
        ``{"bits_per_base", "positions", "bases", "regions", "receptive_field", "classes":
        {class: {"positions", "bits_per_base", "markov_bits_per_base"}}, "markov": {"best_order",
        "bits_per_base", "orders": [...]}, "compressor": {...}}`` (no ``markov`` / ``compressor``
        when switched off).

    Raises:
        SeqfcnError: ``model`` is not a ``--task mask`` trunk; a region outside the genome.
    """
    from seqfcn.io.fasta import Genome
    from seqfcn.nn.checkpoint import model_info
    from seqfcn.runtime.inference import load_sequence_model, model_margin
    from seqfcn.runtime.masked_scores import ACTIVATION
    from seqfcn.sequence.encode import to_codes

    opts = resolve_options(MaskEvalOptions, options, overrides, "evaluate_mask").checked()
    if not 0 <= opts.max_order <= 12:
        raise SeqfcnError(f"max_order must be in 0..12, not {opts.max_order}")
    info = model_info(model)
    net, fn, _, act = load_sequence_model(model, None, device=opts.device)
    if act != ACTIVATION:
        raise SeqfcnError("evaluate mask needs a trunk trained with --task mask", path=str(model))
    with Genome(genome_path) as genome:
        sizes = genome.chrom_sizes
        spans = _held_out(info, sizes, regions)
        texts = [genome.fetch(*s) for s in spans]
        scores = _score(fn, genome, spans, opts, model_margin(net))
        train = [genome.codes(*s) for s in _rest(sizes, spans)]
    test = [to_codes(t) for t in texts]
    bits = -scores.astype(np.float64) / math.log(2)
    text = np.frombuffer("".join(texts).encode("ascii"), np.uint8)
    masks = {"uppercase": (text < 97), "lowercase": (text >= 97),
             "tandem": np.concatenate([tandem_mask(t) for t in test]),
             "multicopy": np.concatenate(multicopy_mask(train + test, test))}
    result: dict[str, Any] = {**_summary(bits, np.ones(bits.shape, bool)), "bases": int(bits.size),
                              "regions": len(spans), "receptive_field": int(net.receptive_field),
                              "classes": {name: _summary(bits, m) for name, m in masks.items()}}
    if opts.max_order:
        result["markov"], markov_bits = _markov(train, test, opts.max_order)
        for name, m in masks.items():
            result["classes"][name]["markov_bits_per_base"] = _summary(markov_bits, m)["bits_per_base"]
    if opts.compressor:
        from seqfcn.sequence.markov import compressor_bits_per_base

        result["compressor"] = compressor_bits_per_base(test)
    return result


def format_mask_table(result: dict[str, Any]) -> str:
    """:func:`evaluate_mask`'s result as a text table (bits per base by class)."""
    markov = result.get("markov")
    head = ["class", "positions", "trunk"] + ([f"markov k={markov['best_order']}"] if markov else [])
    rows = [["all", result["positions"], result["bits_per_base"]] + ([markov["bits_per_base"]] if markov else [])]
    for name in CLASSES:
        c = result["classes"][name]
        rows.append([name, c["positions"], c["bits_per_base"]] + ([c["markov_bits_per_base"]] if markov else []))
    lines = ["\t".join(head)] + ["\t".join(f"{v:.4f}" if isinstance(v, float) else "-" if v is None else str(v)
                                           for v in r) for r in rows]
    if "compressor" in result:
        comp = result["compressor"]
        lines.append(f"{comp['compressor']}\t{comp['bases']}\t{comp['bits_per_base']:.4f}")
    return "\n".join(lines)
