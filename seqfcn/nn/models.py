"""Named architectures built from a plain config dict, and their registry.

Every model maps ``(batch, in_channels, L) -> (batch, n_outputs, L)`` for any
``L``, has ``.config`` (a JSON-serialisable dict whose ``"name"`` is a
registered name, so ``model_from_config(model.config)`` rebuilds the same
architecture) and knows its analytic receptive field (``.receptive_field``).

Registered names (``list_models()``): ``motif_scanner``, ``dilated_fcn``,
``dilated_fcn_32k`` (receptive field 32,769 bases at base resolution),
``read_corrector``, ``unet1d``, ``fcn1d`` and the masked-base trunks ``trunk_1k``,
``trunk_8k``, ``trunk_32k`` (:data:`TRUNK`). Only registered names are
built; a config never names a class. Sizes are capped (:data:`SIZE_CAPS`,
:data:`MAX_PARAMETERS`) and checked before anything is allocated.
"""
from __future__ import annotations

import copy
import functools
from typing import Any, Callable, Sequence

import torch
from torch import nn

from seqfcn.sequence.alphabet import BASES
from seqfcn.errors import ModelFileError
from seqfcn.nn.blocks import (
    ASPP1d,
    ConvBlock,
    DilatedStack,
    Downsample,
    ScoreFusion,
    Upsample,
    concat_skip,
    pad_to_multiple,
    union,
)
from seqfcn.nn.layers import MotifConv, PerBaseHead, make_activation
from seqfcn.nn.receptive import Span, analytic_receptive_field, module_span, receptive_margins


class SeqModel(nn.Module):
    """Base class: config, receptive field, channel names. Subclasses set ``arch``."""

    arch: str = ""
    rf_period: int = 1

    def _record(self, name: str | None, params: dict[str, Any]) -> None:
        self.config: dict[str, Any] = {"name": name or self.arch, **params}

    @property
    def receptive_field(self) -> int:
        """Analytic theoretical receptive field (total width in bases; largest over one period)."""
        return analytic_receptive_field(self)

    @property
    def receptive_margins(self) -> Span:
        """``(left, right)``: output ``i`` depends on at most inputs ``[i - left, i + right]``."""
        return receptive_margins(self)

    @property
    def input_channels(self) -> list[str]:
        """Names of the input channels: ``channel_names`` when set (e.g. pileup features), else A, C, G, T,
        then extras (``extra1``, ...)."""
        n = int(self.config["in_channels"])
        named = getattr(self, "channel_names", None)
        if named is not None and len(named) == n:
            return list(named)
        return list(BASES[:n]) + [f"extra{i}" for i in range(1, n - 3)]

    @property
    def n_outputs(self) -> int:
        return int(self.config["n_outputs"])


class MotifScanner(SeqModel):
    """MotifConv → activation → 1×1 → small dilated stack → per-base motif logits.

    ``(batch, in_channels, L) -> (batch, n_outputs, L)``; ``n_outputs``
    defaults to ``n_motifs`` (one motif-present logit per motif and base,
    ``head_task="multilabel"``). The motif layer (:class:`MotifConv`, strand
    mode ``strand``, anchor ``anchor``) can be initialised from PWMs with
    ``model.motif_conv.load_motifs(...)``.
    """

    arch = "motif_scanner"

    # over 8 parameters: these keywords ARE the architecture config saved with the model (timm does the same)
    def __init__(
        self,
        *,
        name: str | None = None,
        in_channels: int = 4,
        n_motifs: int = 16,
        motif_width: int = 15,
        strand: str = "both_max",
        anchor: str = "center",
        channels: int = 32,
        n_layers: int = 3,
        kernel_size: int = 3,
        n_outputs: int | None = None,
        head_task: str = "multilabel",
        norm: str | None = None,
        dropout: float = 0.0,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        n_outputs = n_motifs if n_outputs is None else n_outputs
        self._record(name, dict(
            in_channels=in_channels, n_motifs=n_motifs, motif_width=motif_width, strand=strand, anchor=anchor,
            channels=channels, n_layers=n_layers, kernel_size=kernel_size, n_outputs=n_outputs,
            head_task=head_task, norm=norm, dropout=dropout, activation=activation,
        ))
        self.motif_conv = MotifConv(in_channels, n_motifs, motif_width, strand=strand, anchor=anchor)
        self.act = make_activation(activation)
        self.mix = nn.Conv1d(self.motif_conv.n_outputs, channels, 1)
        self.stack = DilatedStack(channels, n_layers, kernel_size, norm=norm, dropout=dropout, activation=activation)
        self.head = PerBaseHead(channels, n_outputs, task=head_task)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, in_channels, L) -> (batch, n_outputs, L)``."""
        return self.head(self.stack(self.mix(self.act(self.motif_conv(x)))))

    def span(self, lo: int, hi: int) -> Span:
        for part in (self.head, self.stack, self.mix, self.motif_conv):
            lo, hi = module_span(part, lo, hi)
        return lo, hi


class PWMScanner(SeqModel):
    """PWMs as a model: one :class:`MotifConv` layer, per-base log-odds scores.

    ``(batch, in_channels, L) -> (batch, K, L)`` with ``K = n_motifs`` (``2 * n_motifs``
    for ``strand="rc_equivariant"``); output ``k`` at base ``i`` is motif ``k``'s log-odds
    score at anchor ``i`` (:class:`MotifConv`: ``both_max`` by default, the better
    strand). :meth:`from_motifs` loads PWMs; a saved model scores like the PWMs in
    ``seqfcn predict``, ``attribute`` and ``variants`` (activation ``none``).
    """

    arch = "pwm_scanner"

    def __init__(self, *, name: str | None = None, in_channels: int = 4, n_motifs: int = 1, motif_width: int = 15,
                 strand: str = "both_max", anchor: str = "center", n_outputs: int | None = None) -> None:
        super().__init__()
        self.motif_conv = MotifConv(in_channels, n_motifs, motif_width, strand=strand, anchor=anchor)
        if n_outputs is not None and n_outputs != self.motif_conv.n_outputs:
            raise ValueError(f"a {strand} scanner of {n_motifs} motifs has {self.motif_conv.n_outputs} outputs, "
                             f"not {n_outputs}")
        self._record(name, dict(in_channels=in_channels, n_motifs=n_motifs, motif_width=motif_width, strand=strand,
                                anchor=anchor, n_outputs=self.motif_conv.n_outputs))

    @classmethod
    def from_motifs(cls, motifs: Sequence, *, strand: str = "both_max", anchor: str = "center",
                    background: Sequence[float] | None = None, pseudocount: float | None = None) -> "PWMScanner":
        """A scanner whose filters are the log-odds PWMs of ``motifs`` (:meth:`MotifConv.load_motifs`),
        as wide as the widest motif (narrower ones zero-padded on the right)."""
        import numpy as np

        width = max(np.asarray(getattr(m, "pfm", m)).shape[1] for m in motifs)
        model = cls(n_motifs=len(motifs), motif_width=width, strand=strand, anchor=anchor)
        model.motif_conv.load_motifs(motifs, background=background, pseudocount=pseudocount)
        return model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, in_channels, L) -> (batch, K, L)`` log-odds scores."""
        return self.motif_conv(x)

    def span(self, lo: int, hi: int) -> Span:
        return module_span(self.motif_conv, lo, hi)


class DilatedFCN(SeqModel):
    """Long-range dilated FCN: stem conv → :class:`DilatedStack` → per-base head.

    Receptive field ``stem_kernel + sum((kernel_size - 1) * d)`` with
    dilations ``2**i`` (or ``dilations`` / ``cycle``). The ``dilated_fcn_32k``
    preset (14 layers, kernel 3, stem 3, 16 channels) reaches 32,769 bases.
    ``gradient_checkpointing`` trades compute for memory on long inputs.
    """

    arch = "dilated_fcn"

    # over 8 parameters: these keywords ARE the architecture config saved with the model (timm does the same)
    def __init__(
        self,
        *,
        name: str | None = None,
        in_channels: int = 4,
        channels: int = 32,
        n_layers: int = 8,
        kernel_size: int = 3,
        stem_kernel: int = 9,
        dilations: list[int] | None = None,
        cycle: int | None = None,
        n_outputs: int = 1,
        head_task: str = "regression",
        norm: str | None = None,
        dropout: float = 0.0,
        activation: str = "relu",
        gradient_checkpointing: bool = False,
    ) -> None:
        super().__init__()
        if stem_kernel % 2 == 0:
            raise ValueError(f"stem_kernel must be odd, got {stem_kernel}")
        self._record(name, dict(
            in_channels=in_channels, channels=channels, n_layers=n_layers, kernel_size=kernel_size,
            stem_kernel=stem_kernel, dilations=None if dilations is None else [int(d) for d in dilations],
            cycle=cycle, n_outputs=n_outputs, head_task=head_task, norm=norm, dropout=dropout,
            activation=activation, gradient_checkpointing=gradient_checkpointing,
        ))
        self.stem = nn.Conv1d(in_channels, channels, stem_kernel, padding=stem_kernel // 2)
        self.act = make_activation(activation)
        self.stack = DilatedStack(
            channels, n_layers, kernel_size, dilations=dilations, cycle=cycle, norm=norm, dropout=dropout,
            activation=activation, gradient_checkpointing=gradient_checkpointing,
        )
        self.head = PerBaseHead(channels, n_outputs, task=head_task)

    def set_gradient_checkpointing(self, enabled: bool = True) -> None:
        """Switch gradient checkpointing of the dilated stack on or off."""
        self.stack.gradient_checkpointing = enabled
        self.config["gradient_checkpointing"] = enabled

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, in_channels, L) -> (batch, n_outputs, L)``."""
        return self.head(self.stack(self.act(self.stem(x))))

    def span(self, lo: int, hi: int) -> Span:
        for part in (self.head, self.stack, self.stem):
            lo, hi = module_span(part, lo, hi)
        return lo, hi


READ_CORRECTOR: dict[str, Any] = {"in_channels": 5, "n_layers": 4, "stem_kernel": 5, "n_outputs": 4,
                                   "head_task": "classification"}
"""The ``read_corrector`` preset's options that differ from :class:`DilatedFCN`'s defaults."""


class ReadCorrector(DilatedFCN):
    """Per-base base logits for reads: one-hot + quality ``(batch, 5, L) -> (batch, n_outputs, L)``.

    A :class:`DilatedFCN` whose input channels are A, C, G, T and the quality
    channel (``seqfcn.sequence.encode.encode_read``), with a classification head of 4
    bases (``n_outputs=5`` adds a gap class at index 4). Its options are
    :class:`DilatedFCN`'s with the defaults of :data:`READ_CORRECTOR` (the
    ``read_corrector`` preset).
    """

    arch = "read_corrector"

    def __init__(self, **options: Any) -> None:
        super().__init__(**{**READ_CORRECTOR, **options})

    @property
    def input_channels(self) -> list[str]:
        n = int(self.config["in_channels"])
        named = getattr(self, "channel_names", None)  # set for k-mer evidence models
        if named is not None and len(named) == n:
            return list(named)
        if n <= 4:
            return list(BASES[:n])
        return list(BASES) + ["quality"] + [f"extra{i}" for i in range(1, n - 4)]


class _UNetLevel(nn.Module):
    """One U-Net level: encode, (down → deeper level → up, concat skip, decode)."""

    def __init__(self, in_channels: int, channels: int, level: int, depth: int, cfg: dict[str, Any]) -> None:
        super().__init__()
        k, norm, act = cfg["kernel_size"], cfg["norm"], cfg["activation"]
        self.bottom = level == depth
        self.enc = ConvBlock(in_channels, channels, k, norm=norm, activation=act)
        if self.bottom and cfg["aspp_dilations"]:
            self.enc = nn.Sequential(
                self.enc, ASPP1d(channels, channels, cfg["aspp_dilations"], kernel_size=k, norm=norm, activation=act)
            )
        if not self.bottom:
            factor = cfg["factor"]
            self.down = Downsample(channels, 2 * channels, factor, mode=cfg["down_mode"])
            self.inner = _UNetLevel(2 * channels, 2 * channels, level + 1, depth, cfg)
            self.up = Upsample(2 * channels, channels, factor, kernel_size=cfg["up_kernel"], init=cfg["up_init"])
            self.dec = ConvBlock(2 * channels, channels, k, norm=norm, activation=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.enc(x)
        if self.bottom:
            return skip
        deep = self.up(self.inner(self.down(skip)))
        return self.dec(concat_skip(deep, skip))

    def span(self, lo: int, hi: int) -> Span:
        if self.bottom:
            return module_span(self.enc, lo, hi)
        at_concat = self.dec.span(lo, hi)
        deep = self.down.span(*self.inner.span(*self.up.span(*at_concat)))
        return module_span(self.enc, *union(at_concat, deep))


class UNet1d(SeqModel):
    """1-D U-Net: ``depth`` levels of (ConvBlock, downsample by ``factor``), a bottom
    ConvBlock, then (transposed-conv upsample, skip concatenation, ConvBlock) back up,
    and a per-base head. Channels double at each level from ``base_channels``.
    With ``aspp_dilations`` the bottom ConvBlock is followed by an :class:`ASPP1d`
    with those dilations (wider context at the coarsest resolution).

    Any length in, the same length out: the input is zero-padded on the right
    to a multiple of ``factor ** depth`` and the output cropped back. The
    receptive field depends on the output position modulo ``factor ** depth``
    (``rf_period``); ``receptive_field`` is the largest.
    """

    arch = "unet1d"

    # over 8 parameters: these keywords ARE the architecture config saved with the model (timm does the same)
    def __init__(
        self,
        *,
        name: str | None = None,
        in_channels: int = 4,
        base_channels: int = 16,
        depth: int = 3,
        factor: int = 2,
        kernel_size: int = 3,
        down_mode: str = "conv",
        up_kernel: int | None = None,
        up_init: str = "bilinear",
        aspp_dilations: list[int] | None = None,
        n_outputs: int = 4,
        head_task: str = "classification",
        norm: str | None = None,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        if depth < 0 or factor < 1:
            raise ValueError("depth must be >= 0 and factor >= 1")
        self._record(name, dict(
            in_channels=in_channels, base_channels=base_channels, depth=depth, factor=factor,
            kernel_size=kernel_size, down_mode=down_mode, up_kernel=up_kernel, up_init=up_init,
            aspp_dilations=None if aspp_dilations is None else [int(d) for d in aspp_dilations],
            n_outputs=n_outputs, head_task=head_task, norm=norm, activation=activation,
        ))
        self.rf_period = factor**depth
        self.levels = _UNetLevel(in_channels, base_channels, 0, depth, self.config)
        self.head = PerBaseHead(base_channels, n_outputs, task=head_task)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, in_channels, L) -> (batch, n_outputs, L)``."""
        length = x.shape[-1]
        return self.head(self.levels(pad_to_multiple(x, self.rf_period)))[..., :length]

    def span(self, lo: int, hi: int) -> Span:
        return self.levels.span(*self.head.span(lo, hi))


class FCN1d(SeqModel):
    """FCN-8s-style 1-D network: a downsampling encoder whose coarsest class scores
    are upsampled and fused additively (:class:`ScoreFusion`) with scores of each
    finer stage, down to base resolution.

    Stages: ConvBlock at stride 1, then ``depth`` × (downsample by ``factor``,
    ConvBlock); 1×1 scores at the coarsest stage. Any length in, the same
    length out (right zero-padding to a multiple of ``factor ** depth``).
    """

    arch = "fcn1d"

    # over 8 parameters: these keywords ARE the architecture config saved with the model (timm does the same)
    def __init__(
        self,
        *,
        name: str | None = None,
        in_channels: int = 4,
        base_channels: int = 16,
        depth: int = 3,
        factor: int = 2,
        kernel_size: int = 3,
        down_mode: str = "maxpool",
        n_outputs: int = 4,
        head_task: str = "classification",
        norm: str | None = None,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        if depth < 1 or factor < 1:
            raise ValueError("depth and factor must be >= 1")
        self._record(name, dict(
            in_channels=in_channels, base_channels=base_channels, depth=depth, factor=factor,
            kernel_size=kernel_size, down_mode=down_mode, n_outputs=n_outputs, head_task=head_task,
            norm=norm, activation=activation,
        ))
        self.rf_period = factor**depth
        widths = [base_channels * 2**i for i in range(depth + 1)]
        self.stem = ConvBlock(in_channels, widths[0], kernel_size, norm=norm, activation=activation)
        self.downs = nn.ModuleList(Downsample(widths[i], widths[i + 1], factor, mode=down_mode) for i in range(depth))
        self.stages = nn.ModuleList(
            ConvBlock(widths[i + 1], widths[i + 1], kernel_size, norm=norm, activation=activation) for i in range(depth)
        )
        self.score = nn.Conv1d(widths[-1], n_outputs, 1)
        self.fusions = nn.ModuleList(ScoreFusion(widths[i], n_outputs, factor) for i in range(depth))
        self.head_task = head_task

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, in_channels, L) -> (batch, n_outputs, L)``."""
        length = x.shape[-1]
        features = [self.stem(pad_to_multiple(x, self.rf_period))]
        for down, stage in zip(self.downs, self.stages):
            features.append(stage(down(features[-1])))
        scores = self.score(features[-1])
        for i in reversed(range(len(self.fusions))):
            scores = self.fusions[i](scores, features[i])
        return scores[..., :length]

    def _fused_span(self, i: int, lo: int, hi: int) -> Span:
        """Span in stage-``i`` feature coordinates of the fused scores ``lo..hi`` at stage ``i``."""
        if i == len(self.fusions):
            return module_span(self.score, lo, hi)
        coarse, own = self.fusions[i].spans(lo, hi)
        deep = self._fused_span(i + 1, *coarse)
        deep = self.downs[i].span(*self.stages[i].span(*deep))
        return union(own, deep)

    def span(self, lo: int, hi: int) -> Span:
        return self.stem.span(*self._fused_span(0, lo, hi))


# ---------------------------------------------------------------- registry
PresetFn = Callable[..., SeqModel]
_REGISTRY: dict[str, PresetFn] = {}


def register_model(fn: PresetFn | None = None, *, name: str | None = None) -> Any:
    """Register a preset (timm's ``@register_model``): ``fn(**options) -> SeqModel`` (a preset
    function, or a :class:`SeqModel` class itself) under ``name`` (default ``fn.__name__``).
    :func:`create_model` and :func:`model_from_config` call it with the config's options; the
    model's ``config["name"]`` records ``name``, so a saved model rebuilds through the same
    preset. ``@register_model(name="old")`` keeps an old name loadable as an alias.
    """
    def register(f: PresetFn) -> PresetFn:
        key = name or f.__name__

        @functools.wraps(f)
        def preset(**options: Any) -> SeqModel:
            return f(**{"name": key, **options})

        _REGISTRY[key] = preset
        return preset

    return register if fn is None else register(fn)


for _arch in (MotifScanner, PWMScanner, DilatedFCN, UNet1d, FCN1d):  # each class with its own defaults
    register_model(_arch, name=_arch.arch)


@register_model
def dilated_fcn_32k(**options: Any) -> SeqModel:
    """:class:`DilatedFCN` of receptive field 32,769 bases: 14 layers, kernel 3, stem 3, 16 channels."""
    return DilatedFCN(**{"channels": 16, "n_layers": 14, "kernel_size": 3, "stem_kernel": 3, **options})


TRUNK: dict[str, Any] = {"in_channels": 4, "channels": 64, "n_layers": 14, "kernel_size": 3, "stem_kernel": 9,
                          "n_outputs": 4, "head_task": "classification"}
"""The masked-base trunks' shared options (``seqfcn train --task mask``): A/C/G/T in (an N or a
masked base is all zeros), logits of the 4 bases out; the presets differ only in their dilations."""


@register_model
def trunk_1k(**options: Any) -> SeqModel:
    """Masked-base trunk, receptive field 1,093 bases (14 layers, dilations 1..256 then 1..16)."""
    return DilatedFCN(**{**TRUNK, "cycle": 9, **options})


@register_model
def trunk_8k(**options: Any) -> SeqModel:
    """Masked-base trunk, receptive field 8,205 bases (14 layers, dilations 1..2,048 then 1, 2)."""
    return DilatedFCN(**{**TRUNK, "cycle": 12, **options})


@register_model
def trunk_32k(**options: Any) -> SeqModel:
    """Masked-base trunk, receptive field 32,775 bases (14 layers, dilations 1..8,192)."""
    return DilatedFCN(**{**TRUNK, **options})


@register_model
def read_corrector(**options: Any) -> SeqModel:
    """:class:`ReadCorrector`: a :class:`DilatedFCN` with :data:`READ_CORRECTOR`'s defaults."""
    return ReadCorrector(**options)


def list_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(_REGISTRY)


def create_model(name: str, **overrides: Any) -> SeqModel:
    """Build the registered model ``name`` with its preset defaults updated by ``overrides``.

    Raises:
        ModelFileError: unknown name, unknown option or an invalid value.
    """
    return model_from_config({"name": name, **overrides})


SIZE_CAPS: dict[str, int] = {
    "n_layers": 256, "depth": 12, "cycle": 256, "factor": 64, "channels": 4096, "base_channels": 1024,
    "in_channels": 1024, "n_outputs": 16384, "n_motifs": 16384, "motif_width": 1024, "kernel_size": 1025,
    "stem_kernel": 1025, "up_kernel": 1025,
}
"""The largest value a model config may give each size option (checked before anything is built)."""
MAX_PARAMETERS = 500_000_000
"""The most parameters a model config may ask for (2 GB of float32 weights; seqfcn's models have
thousands to a few million)."""

_WIDEST = 16384  # channels of a U-Net / FCN level (base_channels * 2**depth)


def _check_sizes(params: dict[str, Any]) -> None:
    """Refuse size options above :data:`SIZE_CAPS` (and lists of dilations longer than ``n_layers``'s
    cap): one message naming the option, before anything is allocated."""
    for key, cap in SIZE_CAPS.items():
        value = params.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > cap:
            raise ModelFileError(f"model option {key} = {value:g} exceeds the limit of {cap:,}")
    base, depth = params.get("base_channels"), params.get("depth")
    if isinstance(base, int) and isinstance(depth, int) and base * 2 ** max(depth, 0) > _WIDEST:
        raise ModelFileError(f"model options base_channels = {base} and depth = {depth} give levels of "
                             f"{base * 2 ** depth:,} channels (channels double per level), more than the limit "
                             f"of {_WIDEST:,}")
    for key in ("dilations", "aspp_dilations"):
        value = params.get(key)
        if isinstance(value, (list, tuple)) and len(value) > SIZE_CAPS["n_layers"]:
            raise ModelFileError(f"model option {key} has {len(value):,} entries, more than the limit of "
                                 f"{SIZE_CAPS['n_layers']:,}")


def _build(name: str, params: dict[str, Any], *, meta: bool = False) -> SeqModel:
    builder = _REGISTRY[name]
    try:
        if meta:  # modules and shapes only: nothing is allocated or initialised
            with torch.device("meta"):
                return builder(name=name, **params)
        return builder(name=name, **params)
    except TypeError as exc:
        raise ModelFileError(f"invalid options for model {name!r}: {exc}") from None
    except ValueError as exc:
        raise ModelFileError(f"invalid config for model {name!r}: {exc}") from None


def _checked_params(config: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(config, dict):
        raise ModelFileError(f"a model config must be a JSON object, got {type(config).__name__}")
    name = config.get("name")
    if name not in _REGISTRY:
        raise ModelFileError(f"unknown model name {name!r}; registered: {', '.join(list_models())}")
    params = copy.deepcopy({k: v for k, v in config.items() if k != "name"})
    _check_sizes(params)
    return name, params


def planned_tensors(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Names and shapes of the tensors (``state_dict``) of the model ``config`` describes, found
    without allocating them (the modules are built on PyTorch's ``meta`` device after the
    :data:`SIZE_CAPS` check), so a config can be checked against a weights file before building.

    Raises:
        ModelFileError: as :func:`model_from_config`.
    """
    name, params = _checked_params(config)
    meta = _build(name, params, meta=True)
    planned = {k: tuple(v.shape) for k, v in meta.state_dict().items()}
    n = count_parameters(meta)
    if n > MAX_PARAMETERS:
        sizes = ", ".join(f"{k}={params[k]}" for k in SIZE_CAPS if isinstance(params.get(k), int))
        raise ModelFileError(f"model {name!r} would have {n:,} parameters, more than the limit of "
                             f"{MAX_PARAMETERS:,} ({sizes})")
    return planned


def model_from_config(config: dict[str, Any]) -> SeqModel:
    """Build a model from a plain config dict ``{"name": registered name, option: value, ...}``.

    Only registered names are built. ``model_from_config(model.config)``
    rebuilds the same architecture (fresh weights). Sizes are checked first
    (:data:`SIZE_CAPS`, :data:`MAX_PARAMETERS`; see :func:`planned_tensors`), so an absurd
    config is refused at once instead of allocating gigabytes.

    Raises:
        ModelFileError: no/unknown ``name``, unknown option, an invalid value or a size
            over the limits.
    """
    planned_tensors(config)
    name, params = _checked_params(config)
    return _build(name, params)


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of parameters (elements) of ``model`` (only those that require grad with ``trainable_only``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
