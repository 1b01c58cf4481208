"""1-D fully convolutional building blocks and named models.

Modules take ``(batch, C, L)`` and return ``(batch, K, L)`` for any ``L``; each
knows its analytic receptive field (:mod:`seqfcn.nn.receptive`).
"""
from __future__ import annotations

from seqfcn.nn.blocks import (
    ASPP1d,
    ConvBlock,
    DilatedStack,
    Downsample,
    ScoreFusion,
    Upsample,
    center_crop,
    concat_skip,
    dilation_schedule,
    linear_interpolation_kernel,
    transposed_conv_coverage,
)
from seqfcn.nn.layers import ChannelLayerNorm, DilatedResidualBlock, MotifConv, PerBaseHead
from seqfcn.nn.models import (
    DilatedFCN,
    FCN1d,
    MotifScanner,
    ReadCorrector,
    SeqModel,
    UNet1d,
    count_parameters,
    create_model,
    list_models,
    model_from_config,
    register_model,
)
from seqfcn.nn.receptive import (
    analytic_receptive_field,
    effective_receptive_field,
    empirical_receptive_field,
    empirical_spans,
    module_span,
    plot_effective_receptive_field,
    receptive_field_at,
    receptive_margins,
)

__all__ = [
    "ASPP1d",
    "ChannelLayerNorm",
    "ConvBlock",
    "DilatedFCN",
    "DilatedResidualBlock",
    "DilatedStack",
    "Downsample",
    "FCN1d",
    "MotifConv",
    "MotifScanner",
    "PerBaseHead",
    "ReadCorrector",
    "ScoreFusion",
    "SeqModel",
    "UNet1d",
    "Upsample",
    "analytic_receptive_field",
    "center_crop",
    "concat_skip",
    "count_parameters",
    "create_model",
    "dilation_schedule",
    "effective_receptive_field",
    "empirical_receptive_field",
    "empirical_spans",
    "linear_interpolation_kernel",
    "list_models",
    "model_from_config",
    "module_span",
    "plot_effective_receptive_field",
    "receptive_field_at",
    "receptive_margins",
    "register_model",
    "transposed_conv_coverage",
]
