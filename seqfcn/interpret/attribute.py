"""Which bases a model's output depends on (``seqfcn attribute``).

For each region the model sees the region with ``margin`` bases of real flanking sequence
on each side (its receptive reach, clipped at the chromosome ends), both strands merged
(:class:`seqfcn.interpret.predict.StrandMerged`, activation ``none`` by default: logits, where
attributions add up). The **target** is one number per region, from one output channel:

* ``center``: the output at the region's central base (``start + (end - start - 1) // 2``);
* ``sum``: the sum over the region's bases (a profile's count);
* ``window:W``: the sum over the ``W`` central bases;
* ``logsumexp``: ``log(sum(exp(output)))`` over the region's bases, a smooth maximum whose
  gradient goes to the bases of the highest outputs (its sites) in proportion to
  ``softmax(output)``.

Three **methods** give ``(4, L)`` *hypothetical contributions* over the region's bases
(what each possible base at each position would contribute) and, from them, the
contribution of the base that is there:

* ``ism`` (exact in-silico mutagenesis, batched): entry ``[b, i]`` is
  ``target(x with base b at i) - target(x)`` (0 for the base present); the base present
  contributes minus the mean change of its three substitutions.
* ``grad_input``: the gradient of the target with respect to the one-hot input; the base
  present contributes its gradient (gradient × input). For a one-layer PWM model this is
  the PWM's log-odds columns exactly.
* ``integrated_gradients``: the gradient averaged along the straight path from a uniform
  reference (0.25 per base) to the sequence (``steps`` midpoints); contributions are
  ``avg_grad · (x - 0.25)`` summed over the four bases, which add up to
  ``target(x) - target(reference)`` up to the quadrature error (exactly for a model linear
  in its input). A reference-based attribution in the spirit of DeepLIFT; it is not
  DeepLIFT's rescale rule.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch

from seqfcn.errors import SeqfcnError
from seqfcn.runtime.options import resolve_options

METHODS = ("ism", "grad_input", "integrated_gradients")
Region = tuple[str, int, int]


def parse_target(text: str) -> tuple[str, int]:
    """``center``, ``sum``, ``logsumexp`` or ``window:W`` → ``(kind, W)`` (``W`` 1 for center, 0 otherwise)."""
    if text == "center":
        return "center", 1
    if text in ("sum", "logsumexp"):
        return text, 0
    if text.startswith("window:"):
        try:
            width = int(text.split(":", 1)[1])
        except ValueError:
            width = 0
        if width >= 1:
            return "window", width
    raise SeqfcnError(f"target must be center, sum, logsumexp or window:W (W >= 1), not {text!r}")


def target_reducer(target: str, channel: int, lo: int, hi: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """``(batch, K, W) -> (batch,)``: the target over columns ``[lo, hi)`` (the region in its window)."""
    kind, width = parse_target(target)
    n = hi - lo
    if kind == "logsumexp":
        return lambda y: torch.logsumexp(y[:, channel, lo:hi], dim=-1)
    if kind == "sum":
        a, b = lo, hi
    else:
        centre = lo + (n - 1) // 2
        a = max(lo, centre - (width - 1) // 2)
        b = min(hi, a + width)
    return lambda y: y[:, channel, a:b].sum(dim=-1)


def ism(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, reduce: Callable, positions: range,
        batch_size: int = 128) -> np.ndarray:
    """Exact in-silico mutagenesis of one sequence ``x`` ``(4, W)`` one-hot: ``(4, len(positions))``
    float64 changes ``reduce(fn(mutant)) - reduce(fn(x))`` (0 for the base present; a
    position with no base, ``N``, gets its four substitutions)."""
    with torch.no_grad():
        ref = float(reduce(fn(x[None]))[0])
        mutants = [(b, j) for j, i in enumerate(positions) for b in range(4) if x[b, i] == 0]
        out = np.zeros((4, len(positions)))
        for start in range(0, len(mutants), batch_size):
            chunk = mutants[start : start + batch_size]
            batch = x[None].repeat(len(chunk), 1, 1)
            for k, (b, j) in enumerate(chunk):
                batch[k, :, positions[j]] = 0
                batch[k, b, positions[j]] = 1
            values = reduce(fn(batch)).double().cpu().numpy()
            for (b, j), v in zip(chunk, values):
                out[b, j] = v - ref
    return out


def gradients(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, reduce: Callable,
              steps: int = 0) -> np.ndarray:
    """``(4, W)`` gradient of ``reduce(fn(.))`` at ``x`` (``steps`` 0), or averaged over ``steps``
    midpoints of the path from the uniform reference 0.25 to ``x`` (integrated gradients)."""
    if steps == 0:
        return batch_gradients(fn, x[None], reduce)[0]
    alphas = (torch.arange(steps, dtype=x.dtype, device=x.device) + 0.5) / steps
    return batch_gradients(fn, 0.25 + alphas[:, None, None] * (x[None] - 0.25), reduce).mean(axis=0)


def batch_gradients(fn: Callable[[torch.Tensor], torch.Tensor], xs: torch.Tensor, reduce: Callable) -> np.ndarray:
    """``(batch, 4, W)`` float64: the gradient of each item's ``reduce(fn(.))`` at that item of
    ``xs`` ``(batch, 4, W)`` (moved to ``fn``'s device). One backward pass: the items of a batch
    do not interact (an eval-mode model), so the gradient of their sum is each one's own."""
    param = next(iter(fn.parameters()), None) if isinstance(fn, torch.nn.Module) else None
    points = xs.detach().to(param.device if param is not None else xs.device).clone().requires_grad_(True)
    with torch.enable_grad():
        reduce(fn(points)).sum().backward()
    return points.grad.double().cpu().numpy()


@dataclass
class AttributionOptions:
    """How :func:`attribute_regions` and :func:`attribute_sequence` attribute (module docstring).

    Attributes:
        target: ``center`` (default), ``sum``, ``logsumexp`` or ``window:W`` (:func:`parse_target`).
        channel: which model output channel (default 0).
        method: ``ism``, ``grad_input`` (default) or ``integrated_gradients`` (:data:`METHODS`).
        activation: applied to the output before the target is taken (default ``"none"``:
            logits; :func:`attribute_regions` only).
        merge: ``"mean"`` (default) or ``"max"`` of the two strands (:func:`attribute_regions` only).
        steps: integrated-gradients path midpoints (default 32).
        batch_size: ISM mutants per model call (default 128).
        device: where the model runs (default ``"cpu"``; :func:`attribute_regions` only).
        progress: a tqdm bar over the regions on stderr (default False; :func:`attribute_regions` only).
    """

    target: str = "center"
    channel: int = 0
    method: str = "grad_input"
    activation: str = "none"
    merge: str = "mean"
    steps: int = 32
    batch_size: int = 128
    device: str = "cpu"
    progress: bool = False


def attribute_sequence(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, lo: int, hi: int,
                       options: AttributionOptions | None = None, **overrides: Any) -> tuple[np.ndarray, np.ndarray]:
    """Attributions of the target over columns ``[lo, hi)`` of one window ``x`` ``(4, W)``:
    ``fn``'s output channel ``channel``, ``method``, ``steps`` and ``batch_size`` of ``options``
    (:class:`AttributionOptions`; ``overrides`` replace single fields).

    Returns:
        ``(hypothetical (4, hi - lo), contribution (hi - lo,))`` float64 (see the module docstring).
    """
    opts = resolve_options(AttributionOptions, options, overrides, "attribute_sequence")
    method = opts.method
    if method not in METHODS:
        raise SeqfcnError(f"unknown attribution method {method!r}; choose from {', '.join(METHODS)}")
    reduce = target_reducer(opts.target, opts.channel, lo, hi)
    onehot = x[:, lo:hi].double().cpu().numpy()
    if method == "ism":
        hyp = ism(fn, x, reduce, range(lo, hi), opts.batch_size)
        present = onehot.sum(0) > 0
        contrib = np.where(present, -hyp.sum(0) / 3.0, 0.0) + 0.0  # + 0.0: no -0.0 in the track
        return hyp, contrib
    hyp = gradients(fn, x, reduce, opts.steps if method == "integrated_gradients" else 0)[:, lo:hi]
    if method == "grad_input":
        return hyp, (hyp * onehot).sum(0)
    return hyp, (hyp * (onehot - 0.25)).sum(0)


def attribute_regions(
    genome_path: str | os.PathLike,
    model: str | os.PathLike,
    regions: Sequence[Region],
    options: AttributionOptions | None = None,
    **overrides: Any,
) -> list[dict[str, Any]]:
    """Attributions for each region (0-based, half-open) of a genome (see the module docstring).

    ``options``: :class:`AttributionOptions`; ``overrides`` replace single fields
    (``attribute_regions(g, m, regions, method="ism")``).

    Returns:
        One dict per region, in the order given: ``chrom``, ``start``, ``end``,
        ``hypothetical`` ``(4, L)`` and ``contribution`` ``(L,)`` float32, ``target`` (the
        value attributed).
    """
    from tqdm import tqdm

    from seqfcn.io.fasta import Genome
    from seqfcn.runtime.inference import load_sequence_model, model_margin

    opts = resolve_options(AttributionOptions, options, overrides, "attribute_regions")
    parse_target(opts.target)
    device = opts.device
    net, fn, _, _ = load_sequence_model(model, [opts.channel], activation=opts.activation, merge=opts.merge,
                                        device=device)
    for p in net.parameters():
        p.requires_grad_(False)
    margin = model_margin(net)
    on_output = dataclasses.replace(opts, channel=0)  # fn has the one channel
    out = []
    with Genome(genome_path) as genome:
        sizes = genome.chrom_sizes
        for chrom, start, end in tqdm(regions, desc="attribute", unit="region", disable=not opts.progress):
            if chrom not in sizes:
                raise SeqfcnError("region on a chromosome the genome lacks", path=str(genome_path), record=chrom)
            if not 0 <= start < end <= sizes[chrom]:
                raise SeqfcnError(f"region {start}-{end} is empty or outside the chromosome (length "
                                  f"{sizes[chrom]})", path=str(genome_path), record=chrom, position=start)
            a, b = max(0, start - margin), min(sizes[chrom], end + margin)
            x = torch.from_numpy(genome.one_hot(chrom, a, b)).to(device)
            with torch.no_grad():
                value = float(target_reducer(opts.target, 0, start - a, end - a)(fn(x[None]))[0])
            hyp, contrib = attribute_sequence(fn, x, start - a, end - a, on_output)
            out.append({"chrom": chrom, "start": start, "end": end, "target": value,
                        "hypothetical": hyp.astype(np.float32), "contribution": contrib.astype(np.float32)})
    return out


def write_attributions(results: Sequence[dict[str, Any]], chrom_sizes: dict[str, int], *,
                       track: str | os.PathLike | None = None, npz: str | os.PathLike | None = None) -> None:
    """The contributions as a bigWig/bedGraph ``track`` (regions in genome order; a base that
    several regions cover keeps the first one's value) and/or an ``npz`` (``chrom``, ``start``, ``end``,
    ``target`` per region, and ``hypothetical_<i>`` ``(4, L)``, ``contribution_<i>`` ``(L,)``
    for region ``i`` in the order given), each written atomically."""
    if track is not None:
        from seqfcn.io.intervals import track_writer

        order = {c: i for i, c in enumerate(chrom_sizes)}
        ranked = sorted(results, key=lambda r: (order[r["chrom"]], r["start"], r["end"]))
        with track_writer(track, chrom_sizes) as add:
            last = {}
            for r in ranked:
                values = r["contribution"]
                begin = max(r["start"], last.get(r["chrom"], 0))  # overlapping regions: no base written twice
                if begin < r["end"]:
                    add(r["chrom"], begin, values[begin - r["start"]:])
                    last[r["chrom"]] = max(r["end"], last.get(r["chrom"], 0))
    if npz is not None:
        from seqfcn.io.atomic import atomic_path

        arrays: dict[str, np.ndarray] = {
            "chrom": np.array([r["chrom"] for r in results]), "start": np.array([r["start"] for r in results]),
            "end": np.array([r["end"] for r in results]), "target": np.array([r["target"] for r in results])}
        for i, r in enumerate(results):
            arrays[f"hypothetical_{i}"] = r["hypothetical"]
            arrays[f"contribution_{i}"] = r["contribution"]
        with atomic_path(npz) as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **arrays)
