"""Receptive fields: analytic (from the architecture) and measured (from input gradients).

Analytic spans
--------------
Every module answers one question: *which input positions can the outputs
``lo..hi`` (inclusive, 0-based) depend on?* :func:`module_span` returns that
hull ``(lo', hi')`` in the module's own input coordinates, ignoring the ends
of the sequence (positions outside ``[0, L)`` are the zero padding). Custom
modules provide ``span(lo, hi)``; PyTorch convolutions, transposed
convolutions and pools are handled here; everything else (activations, norms
over channels, dropout, 1×1 convolutions) is pointwise. Chaining spans through
a network gives its exact theoretical receptive field at any output position,
including the position-dependent fields of strided / upsampling networks.

A model whose field depends on the output position (total stride ``P``,
attribute ``rf_period``) reports the largest field over one period.

Measured fields
---------------
:func:`empirical_receptive_field` differentiates one output position w.r.t.
the input of a float64 copy whose weights are all positive, whose inputs are
positive and whose max-pools are replaced by average pools of the same
geometry (a max-pool sends the gradient to one element only), so no
dependency is hidden by a zero gradient; modules with an ``rf_probe_()``
method switch themselves to a gradient-complete equivalent with the same span
there (``MotifConv``: strand max → sum). The span of nonzero gradient is the
theoretical field. :func:`effective_receptive_field` is the mean gradient
magnitude of the real model on random one-hot inputs.
"""
from __future__ import annotations

import copy
import math
from os import PathLike

import numpy as np
import torch
from torch import nn

Span = tuple[int, int]

_POINTWISE = (
    nn.ReLU, nn.GELU, nn.SiLU, nn.ELU, nn.Sigmoid, nn.Tanh, nn.Identity, nn.Dropout,
    nn.BatchNorm1d, nn.Softplus, nn.LeakyReLU,
)


def module_span(module: nn.Module, lo: int, hi: int) -> Span:
    """Input hull ``(lo', hi')`` that outputs ``lo..hi`` of ``module`` depend on.

    Args:
        module: a module with a ``span(lo, hi)`` method, an ``nn.Sequential`` of
            such modules, ``nn.Conv1d`` / ``nn.ConvTranspose1d`` / 1-D pools, or a
            pointwise module (activation, dropout, batch norm).
        lo, hi: inclusive output positions.
    """
    span = getattr(module, "span", None)
    if callable(span):
        return span(lo, hi)
    if isinstance(module, nn.Sequential):
        for child in reversed(list(module)):
            lo, hi = module_span(child, lo, hi)
        return lo, hi
    if isinstance(module, nn.ConvTranspose1d):
        return _transposed_span(module, lo, hi)
    if isinstance(module, (nn.Conv1d, nn.MaxPool1d, nn.AvgPool1d)):
        k, s, p, d = _geometry(module)
        return lo * s - p, hi * s - p + (k - 1) * d
    if isinstance(module, _POINTWISE):
        return lo, hi
    raise TypeError(f"no receptive-field rule for {type(module).__name__}")


def _first(value: int | tuple[int, ...]) -> int:
    return value[0] if isinstance(value, tuple) else int(value)


def _geometry(module: nn.Module) -> tuple[int, int, int, int]:
    if isinstance(module, nn.Conv1d) and isinstance(module.padding, str):
        raise TypeError("string padding is not supported; pad explicitly")
    k = _first(module.kernel_size)
    s = _first(module.stride) if module.stride is not None else k
    p = _first(module.padding)
    d = _first(getattr(module, "dilation", 1))
    return k, s, p, d


def _transposed_span(module: nn.ConvTranspose1d, lo: int, hi: int) -> Span:
    """Full output position ``t = i*s + j*d - p`` for input ``i``, tap ``j``."""
    k, s, p, d = _geometry(module)
    first = math.ceil((lo + p - (k - 1) * d) / s)
    last = (hi + p) // s
    return first, last


def receptive_field_at(model: nn.Module, position: int) -> Span:
    """Analytic input hull ``(lo, hi)`` of output ``position`` of ``model``."""
    return module_span(model, position, position)


def analytic_receptive_field(model: nn.Module, position: int | None = None) -> int:
    """Theoretical receptive field (total width in bases) of ``model``.

    With ``position`` the field of that output position; otherwise the
    largest field over one period ``model.rf_period`` (1 for stride-1 models).
    """
    if position is not None:
        lo, hi = receptive_field_at(model, position)
        return hi - lo + 1
    period = int(getattr(model, "rf_period", 1))
    base = 64 * period
    return max(analytic_receptive_field(model, base + r) for r in range(period))


def receptive_margins(model: nn.Module) -> Span:
    """Largest ``(left, right)`` reach in bases over one period: output ``i`` needs ``[i-left, i+right]``."""
    period = int(getattr(model, "rf_period", 1))
    base = 64 * period
    left = right = 0
    for r in range(period):
        q = base + r
        lo, hi = receptive_field_at(model, q)
        left, right = max(left, q - lo), max(right, hi - q)
    return left, right


def _measurement_copy(model: nn.Module, seed: int) -> nn.Module:
    """A float64 eval-mode copy with positive weights and average instead of max pools."""
    probe = copy.deepcopy(model).to(torch.float64).eval()
    for name, child in list(probe.named_modules()):
        for attr, sub in list(child.named_children()):
            if isinstance(sub, nn.MaxPool1d):
                setattr(child, attr, nn.AvgPool1d(sub.kernel_size, sub.stride, sub.padding))
    for module in probe.modules():
        hook = getattr(module, "rf_probe_", None)
        if callable(hook):  # e.g. MotifConv: strand max -> sum (same span, gradient to both strands)
            hook()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in probe.parameters():
            param.copy_(torch.rand(param.shape, generator=gen, dtype=torch.float64) * 0.5 + 0.5)
            param.div_(max(1, param[0].numel()) if param.ndim > 1 else 1)
        for module in probe.modules():
            if isinstance(module, nn.BatchNorm1d) and module.running_mean is not None:
                module.running_mean.zero_()
                module.running_var.fill_(1.0)
            if isinstance(module, nn.LayerNorm) and module.weight is not None:
                # normalised values lie in [-sqrt(C), sqrt(C)]: keep weight*value + bias > 0
                module.weight.fill_(0.25 / math.sqrt(module.weight.numel()))
    return probe


def input_gradient(model: nn.Module, x: torch.Tensor, position: int) -> torch.Tensor:
    """Gradient ``(C, L)`` of ``model(x)[0, :, position].sum()`` w.r.t. ``x`` ``(1, C, L)``."""
    x = x.detach().clone().requires_grad_(True)
    out = model(x)
    out[0, :, position].sum().backward()
    return x.grad[0]


def empirical_receptive_field(
    model: nn.Module,
    length: int = 2048,
    *,
    in_channels: int | None = None,
    position: int | None = None,
    seed: int = 0,
) -> int:
    """Receptive field measured from input gradients (total width in bases).

    Differentiates output ``position`` (default: the middle) of a positive-weight
    float64 copy of ``model`` w.r.t. a positive random input ``(1, C, length)``
    and returns the width of the span of nonzero gradient. With
    ``position=None`` and ``model.rf_period = P > 1`` the largest span over
    ``P`` consecutive central positions is returned. ``length`` must exceed
    twice the field so that the span does not reach the sequence ends.
    """
    lo_hi = empirical_spans(model, length, in_channels=in_channels, position=position, seed=seed)
    return max(hi - lo + 1 for lo, hi in lo_hi.values())


def empirical_spans(
    model: nn.Module,
    length: int,
    *,
    in_channels: int | None = None,
    position: int | None = None,
    seed: int = 0,
) -> dict[int, Span]:
    """Measured input hull ``{position: (lo, hi)}`` for one or ``rf_period`` central positions."""
    channels = in_channels if in_channels is not None else int(model.config["in_channels"])
    probe = _measurement_copy(model, seed)
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.rand((1, channels, length), generator=gen, dtype=torch.float64) + 0.5
    period = int(getattr(model, "rf_period", 1))
    positions = [position] if position is not None else [length // 2 + r for r in range(period)]
    spans: dict[int, Span] = {}
    for q in positions:
        grad = input_gradient(probe, x, q).abs().sum(dim=0)
        nonzero = torch.nonzero(grad).flatten()
        if nonzero.numel() == 0:
            raise RuntimeError(f"no input gradient reaches output position {q}")
        lo, hi = int(nonzero[0]), int(nonzero[-1])
        if lo == 0 or hi == length - 1:
            raise ValueError(f"length {length} is too short: the field of position {q} reaches the sequence end")
        spans[q] = (lo, hi)
    return spans


def effective_receptive_field(
    model: nn.Module,
    length: int = 1024,
    *,
    n_samples: int = 8,
    in_channels: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Effective receptive field profile ``(length,)``: mean ``|d out[:, :, mid] / d x|``.

    The gradient of the middle output position (summed over output channels)
    w.r.t. random one-hot inputs (extra channels random in [0, 1)), summed over
    input channels, averaged over ``n_samples`` inputs and normalised to sum 1.
    Index ``length // 2`` is the output position itself.
    """
    channels = in_channels if in_channels is not None else int(model.config["in_channels"])
    was_training = model.training
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    param = next(model.parameters(), None)
    dtype = param.dtype if param is not None else torch.float32
    device = param.device if param is not None else torch.device("cpu")
    total = torch.zeros(length, dtype=torch.float64)
    try:
        for _ in range(n_samples):
            bases = torch.randint(0, 4, (length,), generator=gen)
            x = torch.zeros((1, channels, length), dtype=dtype)
            x[0, bases, torch.arange(length)] = 1.0
            if channels > 4:
                x[0, 4:] = torch.rand((channels - 4, length), generator=gen, dtype=dtype)
            grad = input_gradient(model, x.to(device), length // 2)
            total += grad.abs().sum(dim=0).to(torch.float64).cpu()
    finally:
        model.train(was_training)
    norm = float(total.sum())
    return (total / norm if norm > 0 else total).numpy()


def plot_effective_receptive_field(
    profile: np.ndarray,
    path: str | PathLike,
    *,
    theoretical: int | None = None,
    title: str | None = None,
) -> None:
    """Save a PNG plot of an effective receptive field ``profile`` ``(length,)``.

    Positions are drawn relative to the output position (``length // 2``); with
    ``theoretical`` the theoretical field is shaded. Written atomically.
    """

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    profile = np.asarray(profile, dtype=np.float64)
    offsets = np.arange(profile.shape[0]) - profile.shape[0] // 2
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(offsets, profile, lw=1)
    if theoretical is not None:
        half = theoretical / 2
        ax.axvspan(-half, half, color="0.9", zorder=0, label=f"theoretical RF {theoretical} bp")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xlabel("input offset from the output position (bases)")
    ax.set_ylabel("mean |gradient| (normalised)")
    ax.set_title(title or "effective receptive field")
    fig.tight_layout()
    from seqfcn.io.atomic import atomic_path

    try:
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, format="png", dpi=100)
    finally:
        plt.close(fig)
