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
from seqfcn.io.fasta import Genome, genome_summary, parse_region
from seqfcn.io.intervals import (
    bed_to_mask,
    read_bed,
    read_bedgraph,
    read_bigwig,
    signal_track,
    sort_bed,
    write_bed,
    write_bedgraph,
    write_bigwig,
)
from seqfcn.io.reads import BamWriter, FastqWriter, Read, open_read_writer, read_reads
from seqfcn.tiling import (
    Tile,
    margin_for_receptive_field,
    parse_shard,
    predict_genome,
    predict_tiled,
    select_shard,
    stitch,
    tile_chromosome,
    tile_genome,
)
from seqfcn.corrupt import (
    IlluminaErrorModel,
    MaskModel,
    OntErrorModel,
    apply_targets,
    error_model_from_dict,
    make_error_model,
)
from seqfcn.correction.evaluate import correction_metrics, evaluate_correction
from seqfcn.correction.labels import LabelScheme
from seqfcn.correction.pipeline import CorrectionOptions, correct_reads
from seqfcn.nn import (
    ASPP1d,
    DilatedFCN,
    DilatedResidualBlock,
    DilatedStack,
    Downsample,
    FCN1d,
    MotifConv,
    MotifScanner,
    PerBaseHead,
    ReadCorrector,
    UNet1d,
    Upsample,
    analytic_receptive_field,
    count_parameters,
    create_model,
    effective_receptive_field,
    empirical_receptive_field,
    list_models,
    model_from_config,
    plot_effective_receptive_field,
)
from seqfcn.checkpoint import describe_model, load_model, save_model

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
    "Genome",
    "genome_summary",
    "parse_region",
    "read_bed",
    "write_bed",
    "sort_bed",
    "bed_to_mask",
    "read_bedgraph",
    "write_bedgraph",
    "read_bigwig",
    "write_bigwig",
    "signal_track",
    "Read",
    "read_reads",
    "FastqWriter",
    "BamWriter",
    "open_read_writer",
    "Tile",
    "tile_chromosome",
    "tile_genome",
    "select_shard",
    "parse_shard",
    "stitch",
    "predict_tiled",
    "predict_genome",
    "margin_for_receptive_field",
    "IlluminaErrorModel",
    "OntErrorModel",
    "MaskModel",
    "make_error_model",
    "error_model_from_dict",
    "apply_targets",
    "correction_metrics",
    "evaluate_correction",
    "correct_reads",
    "CorrectionOptions",
    "LabelScheme",
    "MotifConv",
    "DilatedResidualBlock",
    "DilatedStack",
    "PerBaseHead",
    "UNet1d",
    "ASPP1d",
    "Upsample",
    "Downsample",
    "MotifScanner",
    "DilatedFCN",
    "ReadCorrector",
    "FCN1d",
    "create_model",
    "model_from_config",
    "list_models",
    "count_parameters",
    "analytic_receptive_field",
    "empirical_receptive_field",
    "effective_receptive_field",
    "plot_effective_receptive_field",
    "save_model",
    "load_model",
    "describe_model",
]
