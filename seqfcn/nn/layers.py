"""Layers: motif convolution with PWM initialisation and strand handling, the dilated
residual block and per-base heads.

All modules take ``(batch, C, L)`` and return ``(batch, K, L)`` (``"same"``
padding) unless stated; each has ``span(lo, hi)`` giving the input positions its
outputs ``lo..hi`` depend on (see :mod:`seqfcn.nn.receptive`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seqfcn.nn.receptive import Span, module_span

STRAND_MODES = ("forward", "rc_equivariant", "both_max", "both_sum")
ANCHORS = ("start", "center")
ACTIVATIONS = ("relu", "gelu", "silu")
NORMS = (None, "batch", "layer")
HEAD_TASKS = ("classification", "multilabel", "regression", "profile")


def make_activation(name: str) -> nn.Module:
    """``"relu"``, ``"gelu"`` or ``"silu"`` as a module."""
    table = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}
    if name not in table:
        raise ValueError(f"unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}")
    return table[name]()


class ChannelLayerNorm(nn.LayerNorm):
    """Layer norm over the channels at each position of ``(batch, C, L)``.

    Unlike a norm over the length it is local (pointwise along the sequence), so
    it keeps translation equivariance and does not widen the receptive field.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)

    def span(self, lo: int, hi: int) -> Span:
        return lo, hi


def make_norm(name: str | None, channels: int) -> nn.Module:
    """``None`` (identity), ``"batch"`` (BatchNorm1d) or ``"layer"`` (:class:`ChannelLayerNorm`)."""
    if name is None:
        return nn.Identity()
    if name == "batch":
        return nn.BatchNorm1d(channels)
    if name == "layer":
        return ChannelLayerNorm(channels)
    raise ValueError(f"unknown norm {name!r}; choose from None, 'batch', 'layer'")


class MotifConv(nn.Module):
    """Motif convolution over one-hot DNA ``(batch, in_channels, L) -> (batch, K, L)``.

    Each of the ``out_channels`` filters ``(in_channels, width)`` scores every
    window; a PWM-initialised filter gives the log-odds score of the window.

    **Anchor** (where a window's score is written). The anchor is a position of
    the motif *read on its own strand*:

    * ``"start"``: output ``i`` of a forward filter scores the window
      ``[i, i + width)`` (the motif's first base is ``i``); output ``i`` of a
      reverse-complement filter scores ``[i - width + 1, i + 1)``, whose
      first base on the minus strand is ``i``.
    * ``"center"``: the motif's central base, ``c = (width - 1) // 2`` bases
      into the motif on its own strand: forward window ``[i - c, i - c + width)``,
      minus window ``[i - (width - 1 - c), i + c + 1)``.

    Windows that run past the sequence ends read zero columns (like ``N``),
    which add 0 to the score. Output length equals input length.

    **Strand** modes (``strand``):

    * ``"forward"``: ``K = out_channels``, forward strand only.
    * ``"rc_equivariant"``: ``K = 2 * out_channels``: the forward scores, then
      the scores of the reverse-complement filters (shared weights) in reverse
      filter order. Reverse-complementing the input reverse-complements the
      output: ``f(rc(x)) == f(x).flip(1, 2)`` exactly.
    * ``"both_max"`` / ``"both_sum"``: ``K = out_channels``: the max / sum of
      the two strands' scores at each anchor; ``f(rc(x)) == f(x).flip(2)``.

    Strand modes other than ``"forward"`` need ``in_channels == 4`` (A, C, G, T).

    **Padded motifs.** :meth:`from_motifs` writes motifs shorter than the
    widest one at the left of the filter and pads the right with zero columns;
    a zero column adds exactly 0, so with ``anchor="start"`` (the default there)
    every filter's score at ``i`` is the plain log-odds score of its motif
    (width ``m``) starting at ``i`` on the forward strand (window ``[i, i + m)``),
    or, for minus-strand scores, whose first minus-strand base is ``i`` (window
    ``[i - m + 1, i + 1)``). With ``anchor="center"`` the anchor is the centre
    of the padded filter, not of a shorter motif.
    """

    def __init__(
        self,
        in_channels: int = 4,
        out_channels: int = 8,
        kernel_size: int = 15,
        *,
        strand: str = "forward",
        anchor: str = "start",
        bias: bool = True,
    ) -> None:
        super().__init__()
        if strand not in STRAND_MODES:
            raise ValueError(f"unknown strand mode {strand!r}; choose from {', '.join(STRAND_MODES)}")
        if anchor not in ANCHORS:
            raise ValueError(f"unknown anchor {anchor!r}; choose from {', '.join(ANCHORS)}")
        if strand != "forward" and in_channels != 4:
            raise ValueError(f"strand mode {strand!r} needs in_channels == 4 (A, C, G, T), got {in_channels}")
        if kernel_size < 1 or out_channels < 1:
            raise ValueError("kernel_size and out_channels must be >= 1")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.strand = strand
        self.anchor = anchor
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)
        self.motif_names: list[str] = []

    @property
    def n_outputs(self) -> int:
        """Number of output channels ``K``."""
        return 2 * self.out_channels if self.strand == "rc_equivariant" else self.out_channels

    def _offsets(self) -> tuple[int, int]:
        """Left offset of the forward and of the minus-strand window relative to the anchor."""
        w = self.kernel_size
        c = 0 if self.anchor == "start" else (w - 1) // 2
        return c, w - 1 - c

    def _scores(self, x: torch.Tensor, weight: torch.Tensor, left: int) -> torch.Tensor:
        right = self.kernel_size - 1 - left
        return F.conv1d(F.pad(x, (left, right)), weight, self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, in_channels, L) -> (batch, K, L)``."""
        fwd_left, rc_left = self._offsets()
        forward = self._scores(x, self.weight, fwd_left)
        if self.strand == "forward":
            return forward
        reverse = self._scores(x, self.weight.flip(1, 2), rc_left)
        if self.strand == "rc_equivariant":
            return torch.cat([forward, reverse.flip(1)], dim=1)
        if self.strand == "both_max":
            return torch.maximum(forward, reverse)
        return forward + reverse

    def rf_probe_(self) -> None:
        """For receptive-field measurement: ``both_max`` becomes ``both_sum`` (same span,
        but the gradient reaches both strands' windows, not only the larger one)."""
        if self.strand == "both_max":
            self.strand = "both_sum"

    def span(self, lo: int, hi: int) -> Span:
        fwd_left, rc_left = self._offsets()
        left = fwd_left if self.strand == "forward" else max(fwd_left, rc_left)
        right_fwd = self.kernel_size - 1 - fwd_left
        right = right_fwd if self.strand == "forward" else max(right_fwd, self.kernel_size - 1 - rc_left)
        return lo - left, hi + right

    @torch.no_grad()
    def load_motifs(
        self,
        motifs: Sequence,
        *,
        background: Sequence[float] | np.ndarray | None = None,
        pseudocount: float | None = None,
        freeze: bool = False,
    ) -> None:
        """Set the filters to the log-odds PWMs of ``motifs`` (bias 0).

        Args:
            motifs: ``seqfcn.io.motifs.Motif`` objects (``pfm`` ``(4, w)``,
                rows A, C, G, T) or ``(4, w)`` arrays; at most ``out_channels``
                and ``w <= kernel_size``. Filters beyond ``len(motifs)`` become
                zero; columns beyond a motif's width are zero (add 0).
            background: base probabilities ``(4,)`` (default uniform).
            pseudocount: FIMO-style pseudocount of :func:`seqfcn.motifs.pwm.log_odds`
                (default ``seqfcn.motifs.pwm.DEFAULT_PSEUDOCOUNT``), spread over the
                motif's ``nsites`` (default 20) in proportion to the background.
            freeze: stop gradients to the weights and bias.
        """
        from seqfcn.sequence.pwm import DEFAULT_PSEUDOCOUNT, log_odds

        if pseudocount is None:
            pseudocount = DEFAULT_PSEUDOCOUNT
        if self.in_channels != 4:
            raise ValueError("PWM initialisation needs in_channels == 4")
        if len(motifs) > self.out_channels:
            raise ValueError(f"{len(motifs)} motifs for {self.out_channels} filters")
        weight = torch.zeros_like(self.weight)
        names = []
        for k, motif in enumerate(motifs):
            pfm = np.asarray(getattr(motif, "pfm", motif), dtype=np.float64)
            if pfm.ndim != 2 or pfm.shape[0] != 4:
                raise ValueError(f"motif {k}: expected a (4, width) matrix, got shape {pfm.shape}")
            if pfm.shape[1] > self.kernel_size:
                raise ValueError(f"motif {k} is {pfm.shape[1]} wide; the filters are {self.kernel_size}")
            nsites = getattr(motif, "nsites", None)
            scores = log_odds(pfm, background=background, pseudocount=pseudocount, nsites=nsites)
            if not np.all(np.isfinite(scores)):
                raise ValueError(f"motif {k} has zero probabilities: use a positive pseudocount")
            weight[k, :, : pfm.shape[1]] = torch.as_tensor(scores, dtype=weight.dtype)
            names.append(str(getattr(motif, "name", None) or getattr(motif, "id", None) or f"motif_{k}"))
        self.weight.copy_(weight)
        if self.bias is not None:
            self.bias.zero_()
        self.motif_names = names
        self.weight.requires_grad_(not freeze)
        if self.bias is not None:
            self.bias.requires_grad_(not freeze)

    @torch.no_grad()
    def seed_motifs(self, motifs: Sequence, *, background: Sequence[float] | np.ndarray | None = None,
                    pseudocount: float | None = None) -> None:
        """Set the first ``len(motifs)`` filters to the log-odds PWMs of ``motifs``, each centred
        in the filter (zero columns around it), and leave the other filters as they are: a
        trainable model that starts from known motifs and learns the rest (bias of the seeded
        filters 0). Same arguments as :meth:`load_motifs`; the weights stay trainable."""
        from seqfcn.sequence.pwm import DEFAULT_PSEUDOCOUNT, log_odds

        if self.in_channels != 4 or len(motifs) > self.out_channels:
            raise ValueError(f"{len(motifs)} motifs for {self.out_channels} filters of {self.in_channels} channels")
        for k, motif in enumerate(motifs):
            pfm = np.asarray(getattr(motif, "pfm", motif), dtype=np.float64)
            if pfm.shape[1] > self.kernel_size:
                raise ValueError(f"motif {k} is {pfm.shape[1]} wide; the filters are {self.kernel_size}")
            scores = log_odds(pfm, background=background, nsites=getattr(motif, "nsites", None),
                              pseudocount=DEFAULT_PSEUDOCOUNT if pseudocount is None else pseudocount)
            off = (self.kernel_size - pfm.shape[1]) // 2
            self.weight[k].zero_()
            self.weight[k, :, off : off + pfm.shape[1]] = torch.as_tensor(scores, dtype=self.weight.dtype)
            if self.bias is not None:
                self.bias[k] = 0.0

    @classmethod
    def from_motifs(
        cls,
        motifs: Sequence,
        *,
        background: Sequence[float] | np.ndarray | None = None,
        pseudocount: float | None = None,
        freeze: bool = True,
        strand: str = "forward",
        anchor: str = "start",
        dtype: torch.dtype = torch.float32,
    ) -> "MotifConv":
        """A MotifConv with one filter per motif, as wide as the widest motif (see :meth:`load_motifs`).

        ``dtype=torch.float64`` keeps the log-odds exact (float32 rounds them to ~1e-7).
        """
        if not motifs:
            raise ValueError("no motifs given")
        width = max(np.asarray(getattr(m, "pfm", m)).shape[1] for m in motifs)
        layer = cls(4, len(motifs), width, strand=strand, anchor=anchor, bias=True).to(dtype)
        layer.load_motifs(motifs, background=background, pseudocount=pseudocount, freeze=freeze)
        return layer

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"strand={self.strand!r}, anchor={self.anchor!r}"
        )


class DilatedResidualBlock(nn.Module):
    """``x + proj(drop(act(norm(conv_d(x)))))``: one dilated residual block ``(batch, C, L)``.

    ``conv_d`` has kernel ``kernel_size`` (odd) and dilation ``dilation``;
    ``proj`` is a 1×1 convolution. The receptive field grows by
    ``(kernel_size - 1) * dilation``.

    Padding: ``"same"`` zero-pads ``(kernel_size - 1) * dilation / 2`` on each
    side (output length = input length); ``"valid"`` does not pad and crops the
    residual to the centre (output length = ``L - (kernel_size - 1) * dilation``).
    """

    def __init__(
        self,
        channels: int,
        kernel_size: int = 3,
        dilation: int = 1,
        *,
        padding: str = "same",
        norm: str | None = None,
        dropout: float = 0.0,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        if padding not in ("same", "valid"):
            raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")
        if dilation < 1:
            raise ValueError(f"dilation must be >= 1, got {dilation}")
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.reach = (kernel_size - 1) * dilation // 2
        self.conv = nn.Conv1d(channels, channels, kernel_size, dilation=dilation)
        self.norm = make_norm(norm, channels)
        self.act = make_activation(activation)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.proj = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, C, L) -> (batch, C, L)`` (``"same"``) or ``(batch, C, L - 2*reach)`` (``"valid"``)."""
        if self.padding == "same":
            h = self.conv(F.pad(x, (self.reach, self.reach)))
            residual = x
        else:
            h = self.conv(x)
            residual = x[..., self.reach : x.shape[-1] - self.reach]
        return residual + self.proj(self.drop(self.act(self.norm(h))))

    def span(self, lo: int, hi: int) -> Span:
        offset = 0 if self.padding == "same" else self.reach
        return lo + offset - self.reach, hi + offset + self.reach


class PerBaseHead(nn.Module):
    """Per-base 1×1 convolution head ``(batch, C, L) -> (batch, K, L)`` (logits or values).

    ``task`` records how the outputs are read (the loss to train them with):
    ``"classification"`` (softmax over K classes, e.g. K = 4 bases or 5 with a
    gap class at index 4), ``"multilabel"`` (independent sigmoids, e.g.
    motif-present probabilities), ``"regression"`` (values) or ``"profile"``
    (softmax over the length per channel). ``hidden_channels > 0`` inserts a 1×1
    hidden layer with an activation.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        task: str = "classification",
        hidden_channels: int = 0,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        if task not in HEAD_TASKS:
            raise ValueError(f"unknown head task {task!r}; choose from {', '.join(HEAD_TASKS)}")
        self.task = task
        layers: list[nn.Module] = []
        if hidden_channels > 0:
            layers += [nn.Conv1d(in_channels, hidden_channels, 1), make_activation(activation)]
            in_channels = hidden_channels
        layers.append(nn.Conv1d(in_channels, out_channels, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, C, L) -> (batch, K, L)``."""
        return self.net(x)

    def span(self, lo: int, hi: int) -> Span:
        return module_span(self.net, lo, hi)
