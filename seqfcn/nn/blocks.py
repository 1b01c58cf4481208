"""Blocks: the dilated stack, encoder-decoder pieces (down/upsampling, U-Net skips,
FCN-8s score fusion) and ASPP.

Tensors are ``(batch, C, L)``. Every block has ``span(lo, hi)`` for the analytic
receptive field (:mod:`seqfcn.nn.receptive`).
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from seqfcn.nn.layers import DilatedResidualBlock, make_activation, make_norm
from seqfcn.nn.receptive import Span, module_span


def dilation_schedule(n_layers: int, *, base: int = 2, cycle: int | None = None) -> list[int]:
    """Dilations ``base ** (i % cycle)`` for ``i < n_layers`` (``cycle=None``: no repeat).

    >>> dilation_schedule(5, cycle=3)
    [1, 2, 4, 1, 2]
    """
    if n_layers < 0 or base < 1:
        raise ValueError("n_layers must be >= 0 and base >= 1")
    return [base ** (i % cycle if cycle else i) for i in range(n_layers)]


class DilatedStack(nn.Module):
    """A stack of :class:`DilatedResidualBlock` ``(batch, C, L) -> (batch, C, L')``.

    Dilations are ``dilations`` if given, else ``2**i`` (``cycle``: restart
    every ``cycle`` layers). The receptive field is
    ``1 + sum((kernel_size - 1) * d)``. ``block``: the options of every
    :class:`DilatedResidualBlock` (``padding``, ``norm``, ``dropout``, ``activation``).
    With ``padding="valid"`` every block crops, so ``L' = L - sum((kernel_size - 1) * d)``.

    ``gradient_checkpointing=True`` recomputes each block in the backward pass
    instead of storing its activations (``torch.utils.checkpoint``,
    non-reentrant), trading compute for memory on long inputs; outputs and
    gradients are unchanged. (With ``norm="batch"`` in training mode the
    recomputation updates the running statistics a second time; prefer
    ``norm="layer"`` or ``None`` with checkpointing.)
    """

    def __init__(
        self,
        channels: int,
        n_layers: int = 4,
        kernel_size: int = 3,
        *,
        dilations: Sequence[int] | None = None,
        cycle: int | None = None,
        gradient_checkpointing: bool = False,
        **block: Any,
    ) -> None:
        super().__init__()
        self.dilations = list(dilations) if dilations is not None else dilation_schedule(n_layers, cycle=cycle)
        self.blocks = nn.ModuleList(DilatedResidualBlock(channels, kernel_size, d, **block) for d in self.dilations)
        self.gradient_checkpointing = gradient_checkpointing

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, C, L) -> (batch, C, L')``."""
        for block in self.blocks:
            if self.gradient_checkpointing and torch.is_grad_enabled() and x.requires_grad:
                x = checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        return x

    def span(self, lo: int, hi: int) -> Span:
        for block in reversed(self.blocks):
            lo, hi = block.span(lo, hi)
        return lo, hi


def center_crop(x: torch.Tensor, length: int) -> torch.Tensor:
    """Crop ``(batch, C, L)`` to ``(batch, C, length)`` around the centre (extra base cut on the right)."""
    extra = x.shape[-1] - length
    if extra < 0:
        raise ValueError(f"cannot crop length {x.shape[-1]} to {length}")
    left = extra // 2
    return x[..., left : left + length]


def concat_skip(x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
    """U-Net skip: ``cat([center_crop(skip, L), x], dim=1)`` for ``x`` ``(batch, C1, L)``."""
    return torch.cat([center_crop(skip, x.shape[-1]), x], dim=1)


class Downsample(nn.Module):
    """Downsample by ``factor``: ``(batch, C_in, L) -> (batch, C_out, L // factor)``.

    ``mode="conv"``: a strided convolution with kernel = stride = ``factor``;
    ``"maxpool"`` / ``"avgpool"``: pooling with kernel = stride = ``factor``
    followed by a 1×1 convolution when ``C_out != C_in``. Windows do not
    overlap, so output ``j`` sees inputs ``[j*factor, (j+1)*factor)``.
    """

    def __init__(self, in_channels: int, out_channels: int, factor: int = 2, *, mode: str = "conv") -> None:
        super().__init__()
        if factor < 1:
            raise ValueError(f"factor must be >= 1, got {factor}")
        self.factor = factor
        if mode == "conv":
            self.net = nn.Sequential(nn.Conv1d(in_channels, out_channels, factor, stride=factor))
        elif mode in ("maxpool", "avgpool"):
            pool = nn.MaxPool1d(factor, factor) if mode == "maxpool" else nn.AvgPool1d(factor, factor)
            layers: list[nn.Module] = [pool]
            if out_channels != in_channels:
                layers.append(nn.Conv1d(in_channels, out_channels, 1))
            self.net = nn.Sequential(*layers)
        else:
            raise ValueError(f"unknown downsampling mode {mode!r}; choose conv, maxpool or avgpool")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def span(self, lo: int, hi: int) -> Span:
        return module_span(self.net, lo, hi)


def linear_interpolation_kernel(factor: int, kernel_size: int | None = None) -> torch.Tensor:
    """The 1-D "bilinear" upsampling kernel ``(kernel_size,)`` for a transposed conv of stride ``factor``.

    Tap ``j`` is ``max(0, 1 - |j - centre| / factor)`` with ``centre = (k - factor) // 2
    + (factor - 1) / 2``, so that with the cropping of :class:`Upsample` input ``i``
    lands on the centre of its ``factor`` outputs and the taps of each output phase
    sum to 1 (for odd ``factor`` the last tap is 0). A transposed convolution with
    this kernel interpolates linearly between input samples; constant input stays
    constant away from the ends.
    """
    k = kernel_size or 2 * factor
    centre = (k - factor) // 2 + (factor - 1) / 2
    taps = torch.arange(k, dtype=torch.float64)
    return (1 - (taps - centre).abs() / factor).clamp(min=0).to(torch.float32)


def transposed_conv_coverage(kernel_size: int, stride: int, length: int = 32) -> torch.Tensor:
    """How many (input, tap) pairs write to each output of a transposed conv, interior only.

    A transposed convolution of ``length`` inputs with a ones kernel and ones
    input; the ``kernel_size`` outputs at each end (which fewer inputs reach)
    are dropped. The result is constant (variance 0, no checkerboard) exactly
    when ``kernel_size % stride == 0``.
    """
    ones = torch.ones(1, 1, length, dtype=torch.float64)
    kernel = torch.ones(1, 1, kernel_size, dtype=torch.float64)
    full = F.conv_transpose1d(ones, kernel, stride=stride)[0, 0]
    return full[kernel_size : full.shape[0] - kernel_size]


class Upsample(nn.Module):
    """Transposed-convolution upsampling ``(batch, C_in, L) -> (batch, C_out, L * factor)``.

    ``kernel_size`` (default ``2 * factor``) must be a multiple of ``factor`` so
    every output receives the same number of contributions (no checkerboard;
    see :func:`transposed_conv_coverage`). The full output ``(L - 1) * factor +
    kernel_size`` is cropped by ``kernel_size - factor`` (left half rounded
    down). ``init="bilinear"`` starts from linear interpolation of channel
    ``c`` into channel ``c`` (others zero, bias zero); ``"default"`` keeps
    PyTorch's initialisation.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        factor: int = 2,
        *,
        kernel_size: int | None = None,
        init: str = "bilinear",
    ) -> None:
        super().__init__()
        k = kernel_size or 2 * factor
        if factor < 1 or k % factor != 0:
            raise ValueError(f"kernel_size {k} must be a positive multiple of the stride {factor} (checkerboard-free)")
        if init not in ("bilinear", "default"):
            raise ValueError(f"unknown init {init!r}; choose bilinear or default")
        self.factor = factor
        self.kernel_size = k
        self.crop_left = (k - factor) // 2
        self.conv = nn.ConvTranspose1d(in_channels, out_channels, k, stride=factor)
        if init == "bilinear":
            with torch.no_grad():
                self.conv.weight.zero_()
                self.conv.bias.zero_()
                kernel = linear_interpolation_kernel(factor, k)
                for c in range(min(in_channels, out_channels)):
                    self.conv.weight[c, c] = kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, C_in, L) -> (batch, C_out, L * factor)``."""
        full = self.conv(x)
        start = self.crop_left
        return full[..., start : start + x.shape[-1] * self.factor]

    def span(self, lo: int, hi: int) -> Span:
        return module_span(self.conv, lo + self.crop_left, hi + self.crop_left)


class ConvBlock(nn.Module):
    """Two "same" convolutions with norm and activation: ``(batch, C_in, L) -> (batch, C_out, L)``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        *,
        norm: str | None = None,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        pad = kernel_size // 2
        self.net = nn.Sequential(
            nn.Conv1d(in_channels, out_channels, kernel_size, padding=pad),
            make_norm(norm, out_channels),
            make_activation(activation),
            nn.Conv1d(out_channels, out_channels, kernel_size, padding=pad),
            make_norm(norm, out_channels),
            make_activation(activation),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def span(self, lo: int, hi: int) -> Span:
        return module_span(self.net, lo, hi)


class ScoreFusion(nn.Module):
    """FCN-8s-style additive fusion of a coarse score map with a finer feature map.

    ``forward(coarse, skip)``: ``coarse`` ``(batch, K, L / factor)`` class
    scores, ``skip`` ``(batch, C_skip, L)`` features; returns
    ``up(coarse) + score(skip)`` ``(batch, K, L)`` where ``up`` is an
    :class:`Upsample` (bilinear init) and ``score`` a 1×1 convolution (zero
    init, so fusion starts as pure upsampling, as in FCN-8s). The upsampled map
    is centre-cropped to the skip's length.
    """

    def __init__(self, skip_channels: int, n_scores: int, factor: int = 2) -> None:
        super().__init__()
        self.up = Upsample(n_scores, n_scores, factor, init="bilinear")
        self.score = nn.Conv1d(skip_channels, n_scores, 1)
        with torch.no_grad():
            self.score.weight.zero_()
            self.score.bias.zero_()

    def forward(self, coarse: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up = self.up(coarse)
        return center_crop(up, skip.shape[-1]) + self.score(skip)

    def spans(self, lo: int, hi: int) -> tuple[Span, Span]:
        """Spans ``(coarse_span, skip_span)`` for fused outputs ``lo..hi`` (equal lengths assumed)."""
        return self.up.span(lo, hi), (lo, hi)


class ASPP1d(nn.Module):
    """Atrous spatial pyramid pooling in 1-D: parallel dilated convolutions, concatenated, projected.

    Branches: a 1×1 convolution and one ``kernel_size`` convolution per
    dilation in ``dilations`` ("same" padding), each followed by norm and
    activation; ``cat`` over channels, then a 1×1 projection to
    ``out_channels``. There is no global-pooling branch, so the block stays
    local (finite receptive field ``1 + (kernel_size - 1) * max(dilations)``)
    and translation equivariant. ``(batch, C_in, L) -> (batch, C_out, L)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        dilations: Sequence[int] = (1, 2, 4, 8),
        *,
        kernel_size: int = 3,
        norm: str | None = None,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        branches = [nn.Sequential(nn.Conv1d(in_channels, out_channels, 1), make_norm(norm, out_channels),
                                  make_activation(activation))]
        for d in dilations:
            branches.append(
                nn.Sequential(
                    nn.Conv1d(in_channels, out_channels, kernel_size, dilation=d, padding=d * (kernel_size // 2)),
                    make_norm(norm, out_channels),
                    make_activation(activation),
                )
            )
        self.branches = nn.ModuleList(branches)
        self.project = nn.Conv1d(out_channels * len(branches), out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(torch.cat([branch(x) for branch in self.branches], dim=1))

    def span(self, lo: int, hi: int) -> Span:
        spans = [module_span(branch, lo, hi) for branch in self.branches]
        return min(s[0] for s in spans), max(s[1] for s in spans)


def union(*spans: Span) -> Span:
    """Hull of several spans."""
    return min(s[0] for s in spans), max(s[1] for s in spans)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Zero-pad ``(batch, C, L)`` on the right to a length that is a multiple of ``multiple``."""
    extra = -x.shape[-1] % multiple
    return F.pad(x, (0, extra)) if extra else x
