"""seqfcn: 1D fully convolutional networks for DNA.

Encoders (one-hot, qualities, reverse complement), genome and read IO, exact
tiling of whole chromosomes, motif/dilated/U-Net models, PWM and learned motif
scanning, self-supervised read correction.
"""
from __future__ import annotations

__version__ = "0.1.0"

# Public names, imported on first use (PEP 562): `import seqfcn` and `seqfcn --version` do not
# load PyTorch, pandas or pysam; `seqfcn.one_hot` etc. import their module when first touched.
_EXPORTS = {
    "BASES": "seqfcn.alphabet",
    "DEFAULT_POLICY": "seqfcn.alphabet",
    "EncodingPolicy": "seqfcn.alphabet",
    "decode": "seqfcn.encode",
    "encode_read": "seqfcn.encode",
    "one_hot": "seqfcn.encode",
    "one_hot_batch": "seqfcn.encode",
    "quality_channel": "seqfcn.encode",
    "reverse_complement": "seqfcn.encode",
    "reverse_complement_onehot": "seqfcn.encode",
    "InputFormatError": "seqfcn.errors",
    "ModelFileError": "seqfcn.errors",
    "RegionError": "seqfcn.errors",
    "SeqfcnError": "seqfcn.errors",
    "SequenceError": "seqfcn.errors",
    "Genome": "seqfcn.io.fasta",
    "genome_summary": "seqfcn.io.fasta",
    "parse_region": "seqfcn.io.fasta",
    "bed_to_mask": "seqfcn.io.intervals",
    "read_bed": "seqfcn.io.intervals",
    "read_bedgraph": "seqfcn.io.intervals",
    "read_bigwig": "seqfcn.io.intervals",
    "signal_track": "seqfcn.io.intervals",
    "sort_bed": "seqfcn.io.intervals",
    "write_bed": "seqfcn.io.intervals",
    "write_bedgraph": "seqfcn.io.intervals",
    "write_bigwig": "seqfcn.io.intervals",
    "BamWriter": "seqfcn.io.reads",
    "FastqWriter": "seqfcn.io.reads",
    "Read": "seqfcn.io.reads",
    "open_read_writer": "seqfcn.io.reads",
    "read_reads": "seqfcn.io.reads",
    "Tile": "seqfcn.tiling",
    "margin_for_receptive_field": "seqfcn.tiling",
    "parse_shard": "seqfcn.tiling",
    "predict_genome": "seqfcn.tiling",
    "predict_tiled": "seqfcn.tiling",
    "select_shard": "seqfcn.tiling",
    "stitch": "seqfcn.tiling",
    "tile_chromosome": "seqfcn.tiling",
    "tile_genome": "seqfcn.tiling",
    "IlluminaErrorModel": "seqfcn.corrupt",
    "MaskModel": "seqfcn.corrupt",
    "OntErrorModel": "seqfcn.corrupt",
    "apply_targets": "seqfcn.corrupt",
    "error_model_from_dict": "seqfcn.corrupt",
    "make_error_model": "seqfcn.corrupt",
    "correction_metrics": "seqfcn.correction.evaluate",
    "evaluate_correction": "seqfcn.correction.evaluate",
    "LabelScheme": "seqfcn.correction.labels",
    "CorrectionOptions": "seqfcn.correction.pipeline",
    "correct_reads": "seqfcn.correction.pipeline",
    "ASPP1d": "seqfcn.nn",
    "DilatedFCN": "seqfcn.nn",
    "DilatedResidualBlock": "seqfcn.nn",
    "DilatedStack": "seqfcn.nn",
    "Downsample": "seqfcn.nn",
    "FCN1d": "seqfcn.nn",
    "MotifConv": "seqfcn.nn",
    "MotifScanner": "seqfcn.nn",
    "PerBaseHead": "seqfcn.nn",
    "ReadCorrector": "seqfcn.nn",
    "UNet1d": "seqfcn.nn",
    "Upsample": "seqfcn.nn",
    "analytic_receptive_field": "seqfcn.nn",
    "count_parameters": "seqfcn.nn",
    "create_model": "seqfcn.nn",
    "effective_receptive_field": "seqfcn.nn",
    "empirical_receptive_field": "seqfcn.nn",
    "list_models": "seqfcn.nn",
    "model_from_config": "seqfcn.nn",
    "plot_effective_receptive_field": "seqfcn.nn",
    "describe_model": "seqfcn.checkpoint",
    "load_model": "seqfcn.checkpoint",
    "save_model": "seqfcn.checkpoint",
    "scan_pwm": "seqfcn.motifs.scan",
    "scan_pwm_bed": "seqfcn.motifs.scan",
    "write_hits_bed": "seqfcn.motifs.scan",
    "compile_pwms": "seqfcn.motifs.pwm",
    "bh_qvalues": "seqfcn.motifs.pwm",
    "scan_model": "seqfcn.motifs.scan_model",
    "scan_model_tables": "seqfcn.motifs.scan_model",
    "call_sites": "seqfcn.motifs.scan_model",
    "rank_matches": "seqfcn.motifs.compare",
    "pack_motifs": "seqfcn.motifs.compare",
    "dinucleotide_shuffle": "seqfcn.motifs.shuffle",
    "kmer_shuffle": "seqfcn.motifs.shuffle",
    "read_motifs": "seqfcn.io.motifs",
    "model_path": "seqfcn.resources",
    "motifs_path": "seqfcn.resources",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'seqfcn' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_EXPORTS))
