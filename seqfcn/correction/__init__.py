"""Read correction: k-mer spectra, evidence, the correction engine, read streams, training, evaluation.

Modules, lowest first (each imports only those above it):

* :mod:`.defaults` — the one home of every correction default;
* :mod:`.labels` — :class:`LabelScheme`, the output classes, saved with the model;
* :mod:`.spectrum` — compact k-mer counting (Bloom-filtered), solidity, extension;
* :mod:`.evidence` — :class:`KmerEvidence` and the first counting pass;
* :mod:`.count_shards` — ``seqfcn count --shard`` and the merge of count shards;
* :mod:`.inputs` — padded batches and model inputs;
* :mod:`.model_files` — saving and loading correctors;
* :mod:`.engine` — :class:`CorrectionEngine`: batched, masked inference with OOM backoff;
* :mod:`.tags` — SAM tags of changed records (OQ, xo, xc, MD, NM);
* :mod:`.edits` — applying decisions to reads, quality recalibration, counts;
* :mod:`.pipeline` — :func:`correct_reads`, the streaming job;
* :mod:`.training`, :mod:`.selftrain` — training on simulated and on the sample's reads;
* :mod:`.evaluate` — edit distances, TP/FP/FN and gain against simulated truth or a reference.

Names below are imported on first use, so ``import seqfcn.correction.spectrum``
does not load PyTorch.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "correct_reads": "pipeline", "CorrectionOptions": "pipeline",
    "CorrectionEngine": "engine", "EngineOptions": "engine", "Decision": "engine", "posterior_quality": "engine",
    "CorrectionStats": "edits", "apply_decision": "edits",
    "LabelScheme": "labels", "get_scheme": "labels",
    "KmerEvidence": "evidence", "count_reads": "evidence",
    "save_corrector": "model_files", "load_corrector": "model_files",
    "train_corrector": "training", "train_kmer_corrector": "training", "simulate_reads": "training",
    "TrainSchedule": "training", "KmerTrainingOptions": "training",
    "self_train": "selftrain", "self_train_kmer": "selftrain", "SelfTrainOptions": "selftrain",
    "evaluate_correction": "evaluate", "correction_metrics": "evaluate",
    "train_kmer_model": "training", "KmerModelRun": "training", "self_train_corrector": "selftrain",
    "count_spectrum": "evidence", "program_record": "pipeline",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'seqfcn.correction' has no attribute {name!r}")
    return getattr(importlib.import_module(f"seqfcn.correction.{module}"), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
