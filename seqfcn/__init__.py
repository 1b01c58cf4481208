"""seqfcn: 1D fully convolutional networks for DNA.

Encoders (one-hot, qualities, reverse complement), genome and read IO, exact
tiling of whole chromosomes, motif/dilated/U-Net models, PWM and learned motif
scanning, self-supervised read correction.
"""
from __future__ import annotations

from typing import Any, Callable

__version__ = "0.1.0"

# Public names, imported on first use (PEP 562): `import seqfcn` and `seqfcn --version` do not
# load PyTorch, pandas or pysam; `seqfcn.one_hot` etc. import their module when first touched.
_EXPORTS = {
    "BASES": "seqfcn.sequence.alphabet",
    "DEFAULT_POLICY": "seqfcn.sequence.alphabet",
    "EncodingPolicy": "seqfcn.sequence.alphabet",
    "decode": "seqfcn.sequence.encode",
    "encode_read": "seqfcn.sequence.encode",
    "one_hot": "seqfcn.sequence.encode",
    "one_hot_batch": "seqfcn.sequence.encode",
    "quality_channel": "seqfcn.sequence.encode",
    "reverse_complement": "seqfcn.sequence.encode",
    "reverse_complement_onehot": "seqfcn.sequence.encode",
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
    "BamWriter": "seqfcn.io.read_writers",
    "FastqWriter": "seqfcn.io.read_writers",
    "Read": "seqfcn.io.reads",
    "open_read_writer": "seqfcn.io.read_writers",
    "read_reads": "seqfcn.io.reads",
    "Tile": "seqfcn.runtime.tiling",
    "margin_for_receptive_field": "seqfcn.runtime.tiling",
    "parse_shard": "seqfcn.runtime.tiling",
    "predict_genome": "seqfcn.runtime.tiling",
    "predict_tiled": "seqfcn.runtime.tiling",
    "TilingOptions": "seqfcn.runtime.tiling",
    "InferenceOptions": "seqfcn.runtime.inference",
    "select_shard": "seqfcn.runtime.tiling",
    "stitch": "seqfcn.runtime.tiling",
    "tile_chromosome": "seqfcn.runtime.tiling",
    "tile_genome": "seqfcn.runtime.tiling",
    "IlluminaErrorModel": "seqfcn.training.simulate",
    "MaskModel": "seqfcn.training.simulate",
    "OntErrorModel": "seqfcn.training.simulate",
    "apply_targets": "seqfcn.training.simulate",
    "error_model_from_dict": "seqfcn.training.simulate",
    "make_error_model": "seqfcn.training.simulate",
    "correction_metrics": "seqfcn.correction.evaluate",
    "evaluate_correction": "seqfcn.correction.evaluate",
    "LabelScheme": "seqfcn.correction.labels",
    "CorrectionOptions": "seqfcn.correction.pipeline",
    "CorrectionEngine": "seqfcn.correction.engine",
    "EngineOptions": "seqfcn.correction.engine",
    "KmerTrainingOptions": "seqfcn.correction.training",
    "TrainSchedule": "seqfcn.correction.training",
    "SelfTrainOptions": "seqfcn.correction.selftrain",
    "TrainTaskOptions": "seqfcn.training.tasks",
    "LongRangeOptions": "seqfcn.training.longrange",
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
    "register_model": "seqfcn.nn",
    "plot_effective_receptive_field": "seqfcn.nn",
    "describe_model": "seqfcn.nn.checkpoint",
    "load_model": "seqfcn.nn.checkpoint",
    "save_model": "seqfcn.nn.checkpoint",
    "scan_pwm": "seqfcn.motifs.scan",
    "scan_pwm_bed": "seqfcn.motifs.scan",
    "ScanOptions": "seqfcn.motifs.scan",
    "write_hits_bed": "seqfcn.motifs.scan",
    "compile_pwms": "seqfcn.motifs.pwm",
    "bh_qvalues": "seqfcn.motifs.pwm",
    "scan_model": "seqfcn.motifs.scan_model",
    "scan_model_tables": "seqfcn.motifs.scan_model",
    "ScanModelOptions": "seqfcn.motifs.scan_model",
    "PeakDatasetOptions": "seqfcn.motifs.peaks",
    "MotifDataOptions": "seqfcn.motifs.peaks",
    "MotifTrainingOptions": "seqfcn.motifs.peaks",
    "PredictOptions": "seqfcn.interpret.predict",
    "AttributionOptions": "seqfcn.interpret.attribute",
    "VariantOptions": "seqfcn.interpret.variants",
    "DiscoverOptions": "seqfcn.interpret.discover",
    "call_sites": "seqfcn.motifs.scan_model",
    "rank_matches": "seqfcn.sequence.compare",
    "pack_motifs": "seqfcn.sequence.compare",
    "dinucleotide_shuffle": "seqfcn.sequence.shuffle",
    "kmer_shuffle": "seqfcn.sequence.shuffle",
    "read_motifs": "seqfcn.io.motifs",
    "model_path": "seqfcn.resources",
    "motifs_path": "seqfcn.resources",
}

__all__ = ["__version__", *_EXPORTS]


def lazy_exports(package: str, exports: dict[str, str],
                 namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` whose public names are ``exports``
    (name -> module); a name is imported from its module when first used and kept in
    ``namespace`` (the package's ``globals()``)."""

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(list(namespace) + list(exports))

    return getattr_, dir_


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
