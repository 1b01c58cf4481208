"""Real-data demonstration: a learned motif model on 1,000 Oct4 ChIP-seq peaks (mm9).

Trained from random filters (``PEAK_TRAINING``) on 80% of the peaks against a
dinucleotide and a 4-mer shuffle of each (``PEAK_SHUFFLE_ORDERS``), it must separate
the held-out 20% of peaks from their dinucleotide shuffles (sequence score = max
per-base probability) better than the best of the JASPAR Oct4 PWMs (MA0142.1
Pou5f1::Sox2, MA1115.2 POU5F1; best log-odds over both strands), in AUROC and AUPRC,
and the strongest motif ``seqfcn discover`` finds in it (seqlets of its attributions,
clustered) must have one of those two matrices among its 3 best matches of the 879
JASPAR 2024 vertebrate motifs. About 45 s of CPU on one thread per model.
benchmarks/bench_oct4.py runs the same over five seeds, against GC-matched genomic
negatives too.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from seqfcn.resources import MOTIFS
from seqfcn.io.motifs import read_motifs
from seqfcn.motifs.discover import discover_motifs
from seqfcn.motifs.peaks import PEAK_TRAINING, filter_importance, motif_datasets, train_motif_model
from seqfcn.train import TrainConfig

DATA = Path(__file__).resolve().parents[1] / "data"
PEAKS = DATA / "chip" / "Oct4_peaks_top1000_mm9.fa"
JASPAR = MOTIFS["jaspar2024"].path

MODEL = dict(n_motifs=16, motif_width=19, channels=16, n_layers=2)
CONFIG = dict(PEAK_TRAINING, device="cpu", progress=False, tensorboard=False)  # final weights: no selection
TARGETS = ("MA0142.1", "MA1115.2")
MARGIN_AUROC, MARGIN_AUPRC = 0.02, 0.01  # seed 0, one shuffle, measured 2026-12-06: random filters
# AUROC 0.938 / AUPRC 0.948, PWM-initialised 0.939 / 0.953, best PWM 0.892 / 0.916


@pytest.fixture
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)  # small convolutions: one thread is fastest on a shared CPU
    yield
    torch.set_num_threads(old)


def _versus_best_pwm(model, val) -> tuple[tuple[float, float], tuple[float, float]]:
    """((AUROC, AUPRC) of the model, the best (AUROC, AUPRC) of the two JASPAR PWMs) on ``val``."""
    from seqfcn.metrics import auroc, average_precision
    from seqfcn.motifs.peaks import sequence_scores
    from seqfcn.nn.layers import MotifConv

    motifs = {m.id: m for m in read_motifs(JASPAR)}
    scores, labels = sequence_scores(model, val)
    xs = torch.stack([val[i]["x"] for i in range(len(val))])
    best = (0.0, 0.0)
    for t in TARGETS:
        with torch.no_grad():
            pwm = MotifConv.from_motifs([motifs[t]], strand="both_max")(xs).amax(dim=(1, 2)).numpy()
        best = (max(best[0], auroc(pwm, labels)), max(best[1], average_precision(pwm, labels)))
    return (auroc(scores, labels), average_precision(scores, labels)), best


def _train(tmp_path, init=None):
    model, result = train_motif_model(
        PEAKS, tmp_path, length=400, holdout=0.2, n_shuffles=1, label_mode="center", center_width=100,
        model_options=MODEL, config=TrainConfig(seed=0, **CONFIG), init_motifs=init,
    )
    _, val = motif_datasets(PEAKS, length=400, holdout=0.2, seed=0, n_shuffles=1, label_mode="center",
                            center_width=100)
    return model, result, val


@pytest.mark.slow
def test_oct4_model_from_random_filters_beats_the_best_pwm(tmp_path, one_thread):
    model, result, val = _train(tmp_path)
    assert result["n_train"] == 2400 and result["n_val"] == 400  # 800 peaks + a 2-mer and a 4-mer shuffle each
    assert (tmp_path / "model" / "config.json").exists()
    (learned_auroc, learned_auprc), (pwm_auroc, pwm_auprc) = _versus_best_pwm(model, val)
    assert learned_auroc == pytest.approx(result["seq_auroc"])
    assert learned_auroc > pwm_auroc + MARGIN_AUROC, (learned_auroc, pwm_auroc)
    assert learned_auprc > pwm_auprc + MARGIN_AUPRC, (learned_auprc, pwm_auprc)

    auroc, drops = filter_importance(model, val)
    assert auroc == pytest.approx(learned_auroc)
    assert drops.max() > 0.01
    # what it learned, found without looking at JASPAR: the strongest motif seqfcn discover
    # finds in the peaks matches POU5F1 or Pou5f1::Sox2 among its top 3 of 879 JASPAR motifs
    found = discover_motifs(PEAKS, tmp_path / "model", database=read_motifs(JASPAR), n_null=2000)
    top = [m["id"] for m in found["matches"][0]]
    assert set(top) & set(TARGETS), found["matches"][0]
    assert found["matches"][0][0]["p"] <= 1e-3 and found["clusters"][0] >= 100


@pytest.mark.slow
def test_oct4_pwm_initialised_model_beats_the_best_pwm(tmp_path, one_thread):
    """Started from the JASPAR Oct4 PWMs (MotifConv.seed_motifs) and trained on the peaks, the
    model separates held-out peaks from their shuffles better than the best of those PWMs
    (AUROC and AUPRC; benchmarks/bench_oct4.py --init measures 5 seeds)."""
    motifs = {m.id: m for m in read_motifs(JASPAR)}
    model, result, val = _train(tmp_path, [motifs[t] for t in TARGETS])
    (learned_auroc, learned_auprc), (pwm_auroc, pwm_auprc) = _versus_best_pwm(model, val)
    assert learned_auroc > pwm_auroc + MARGIN_AUROC, (learned_auroc, pwm_auroc)
    assert learned_auprc > pwm_auprc + MARGIN_AUPRC, (learned_auprc, pwm_auprc)
