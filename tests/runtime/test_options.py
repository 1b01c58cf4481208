"""Options objects with keyword overrides (:mod:`seqfcn.runtime.options`), as the jobs take them."""
from __future__ import annotations

from pathlib import Path

import pytest

import seqfcn
from seqfcn.errors import SeqfcnError
from seqfcn.interpret.predict import PredictOptions
from seqfcn.motifs.peaks import (
    MotifDataOptions,
    MotifTrainingOptions,
    PeakDataset,
    PeakDatasetOptions,
)
from seqfcn.motifs.scan import ScanOptions, scan_pwm, scan_pwm_bed
from seqfcn.motifs.scan_model import ScanModelOptions
from seqfcn.runtime.inference import InferenceOptions
from seqfcn.runtime.options import pick, resolve_options

LAMBDA = Path(__file__).resolve().parents[2] / "data" / "lambda" / "lambda_virus.fa"


def test_defaults_overrides_and_unknown_names() -> None:
    assert resolve_options(ScanOptions, None, {}, "f") == ScanOptions()
    base = ScanOptions(thresh=1e-3)
    assert resolve_options(ScanOptions, base, {}, "f") is base
    got = resolve_options(ScanOptions, base, {"method": "table"}, "f")
    assert (got.thresh, got.method, base.method) == (1e-3, "table", "auto")
    with pytest.raises(TypeError, match="scan_pwm.*thresold"):
        resolve_options(ScanOptions, None, {"thresold": 1e-3}, "scan_pwm")
    with pytest.raises(TypeError, match="ScanOptions"):
        resolve_options(ScanOptions, PredictOptions(), {}, "scan_pwm")


def test_shared_inference_options_serve_both_jobs() -> None:
    shared = InferenceOptions(window=5000, batch_size=4, merge="max")
    scan = resolve_options(ScanModelOptions, shared, {"threshold": 0.9}, "scan_model_tables")
    predict = resolve_options(PredictOptions, shared, {}, "predict_genome_tracks")
    for opts in (scan, predict):
        assert (opts.window, opts.batch_size, opts.merge) == (5000, 4, "max")
    assert scan.threshold == 0.9 and predict.activation == "auto"
    with pytest.raises(SeqfcnError, match="window"):
        PredictOptions(window=0).checked()


def test_training_options_keep_their_own_defaults() -> None:
    data, training = MotifDataOptions(), MotifTrainingOptions()
    assert (data.seed, data.train_shuffle_orders) == (0, (2,))
    assert (training.seed, training.train_shuffle_orders) == (None, (2, 4))
    assert pick(PeakDatasetOptions, training, seed=3) == PeakDatasetOptions(seed=3)
    a = PeakDataset(["ACGTACGTAC"], 10, PeakDatasetOptions(label_mode="peak", seed=2))
    b = PeakDataset(["ACGTACGTAC"], 10, label_mode="peak", seed=2)
    assert a.negatives == b.negatives and a.label_mode == b.label_mode == "peak"


def test_scan_takes_an_options_object_or_keywords(tmp_path: Path) -> None:
    motifs = seqfcn.read_motifs(seqfcn.motifs_path("jaspar2024"))[:2]
    by_keywords = scan_pwm(LAMBDA, motifs, thresh=1e-4, method="table")
    by_object = scan_pwm(LAMBDA, motifs, ScanOptions(thresh=1e-4, method="table"))
    assert by_keywords.equals(by_object) and len(by_object)
    with pytest.raises(SeqfcnError, match="max_hits"):
        scan_pwm_bed(LAMBDA, motifs, tmp_path / "hits.bed", max_hits=10)
