"""1-D fully convolutional building blocks and named models.

Modules take ``(batch, C, L)`` and return ``(batch, K, L)`` for any ``L``; each
knows its analytic receptive field (:mod:`seqfcn.nn.receptive`).
"""
from __future__ import annotations

from seqfcn import lazy_exports

_EXPORTS = {  # name: module, imported on first use (torch is loaded only when a model is needed)
    "ASPP1d": "seqfcn.nn.blocks",
    "ChannelLayerNorm": "seqfcn.nn.layers",
    "ConvBlock": "seqfcn.nn.blocks",
    "DilatedFCN": "seqfcn.nn.models",
    "DilatedResidualBlock": "seqfcn.nn.layers",
    "DilatedStack": "seqfcn.nn.blocks",
    "Downsample": "seqfcn.nn.blocks",
    "FCN1d": "seqfcn.nn.models",
    "MotifConv": "seqfcn.nn.layers",
    "MotifScanner": "seqfcn.nn.models",
    "PerBaseHead": "seqfcn.nn.layers",
    "ReadCorrector": "seqfcn.nn.models",
    "ScoreFusion": "seqfcn.nn.blocks",
    "SeqModel": "seqfcn.nn.models",
    "UNet1d": "seqfcn.nn.models",
    "Upsample": "seqfcn.nn.blocks",
    "analytic_receptive_field": "seqfcn.nn.receptive",
    "center_crop": "seqfcn.nn.blocks",
    "concat_skip": "seqfcn.nn.blocks",
    "count_parameters": "seqfcn.nn.models",
    "create_model": "seqfcn.nn.models",
    "dilation_schedule": "seqfcn.nn.blocks",
    "effective_receptive_field": "seqfcn.nn.receptive",
    "empirical_receptive_field": "seqfcn.nn.receptive",
    "empirical_spans": "seqfcn.nn.receptive",
    "linear_interpolation_kernel": "seqfcn.nn.blocks",
    "list_models": "seqfcn.nn.models",
    "model_from_config": "seqfcn.nn.models",
    "module_span": "seqfcn.nn.receptive",
    "plot_effective_receptive_field": "seqfcn.nn.receptive",
    "receptive_field_at": "seqfcn.nn.receptive",
    "receptive_margins": "seqfcn.nn.receptive",
    "register_model": "seqfcn.nn.models",
    "transposed_conv_coverage": "seqfcn.nn.blocks",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


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
