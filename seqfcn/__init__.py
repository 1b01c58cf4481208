"""seqfcn: 1D fully convolutional networks for DNA.

Encoders (one-hot, qualities, reverse complement), genome and read IO, exact
tiling of whole chromosomes, motif/dilated/U-Net models, PWM and learned motif
scanning, self-supervised read correction.
"""
from __future__ import annotations

__version__ = "0.1.0"

from seqfcn.alphabet import BASES, DEFAULT_POLICY, EncodingPolicy
from seqfcn.encode import (
    decode,
    encode_read,
    one_hot,
    one_hot_batch,
    quality_channel,
    reverse_complement,
    reverse_complement_onehot,
)
from seqfcn.errors import InputFormatError, ModelFileError, RegionError, SeqfcnError, SequenceError

__all__ = [
    "__version__",
    "BASES",
    "DEFAULT_POLICY",
    "EncodingPolicy",
    "decode",
    "encode_read",
    "one_hot",
    "one_hot_batch",
    "quality_channel",
    "reverse_complement",
    "reverse_complement_onehot",
    "SeqfcnError",
    "InputFormatError",
    "ModelFileError",
    "RegionError",
    "SequenceError",
]
