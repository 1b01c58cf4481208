"""Real-data demonstration: a learned motif model on 1,000 Oct4 ChIP-seq peaks (mm9).

Trained on 80% of the peaks against one dinucleotide shuffle of each, it must
separate the held-out 20% of peaks from their shuffles (sequence score = max
per-base probability) with AUROC >= 0.85, and its most important first-layer
filter (largest held-out AUROC drop when ablated) must rank the JASPAR
Pou5f1::Sox2 (MA0142.1) or POU5F1 (MA1115.2) matrix among its 25 best matches
of the 879 JASPAR 2024 vertebrate motifs (mean column Pearson correlation,
:mod:`seqfcn.motifs.compare`). A random filter does that with probability
about 0.06. About 40 s of CPU on one thread. benchmarks/bench_oct4.py runs the
same with two shuffles per peak over several seeds (benchmarks/results_oct4.md).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from seqfcn.resources import MOTIFS
from seqfcn.io.motifs import read_motifs
from seqfcn.motifs.compare import filter_to_pwm, rank_matches, rank_of, trim_pwm
from seqfcn.motifs.peaks import filter_importance, motif_datasets, train_motif_model
from seqfcn.train import TrainConfig

DATA = Path(__file__).resolve().parents[1] / "data"
PEAKS = DATA / "chip" / "Oct4_peaks_top1000_mm9.fa"
JASPAR = MOTIFS["jaspar2024"].path

MODEL = dict(n_motifs=16, motif_width=19, channels=16, n_layers=2)
CONFIG = dict(epochs=15, batch_size=32, lr=1e-2, loss="bce_dice", warmup_steps=10, device="cpu",
              progress=False, tensorboard=False, restore_best=False)  # no model selection on the hold-out
TARGETS = ("MA0142.1", "MA1115.2")


@pytest.fixture
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)  # small convolutions: one thread is fastest on a shared CPU
    yield
    torch.set_num_threads(old)


@pytest.mark.slow
def test_oct4_peaks_vs_shuffles(tmp_path, one_thread):
    model, result = train_motif_model(
        PEAKS, tmp_path, length=400, holdout=0.2, n_shuffles=1, label_mode="center", center_width=100,
        model_options=MODEL, config=TrainConfig(seed=0, **CONFIG),
    )
    assert result["n_train"] == 1600 and result["n_val"] == 400
    assert result["seq_auroc"] >= 0.85, result
    assert (tmp_path / "model" / "config.json").exists()

    _, val = motif_datasets(PEAKS, length=400, holdout=0.2, seed=0, n_shuffles=1, label_mode="center",
                            center_width=100)
    auroc, drops = filter_importance(model, val)
    assert auroc == pytest.approx(result["seq_auroc"])
    assert drops.max() > 0.01
    best = int(np.argmax(drops))
    weights = model.motif_conv.weight.detach().cpu().numpy()
    table = rank_matches(trim_pwm(filter_to_pwm(weights[best]), 0.2, relative=True), read_motifs(JASPAR))
    ranks = [rank_of(table, t) for t in TARGETS]
    assert min(ranks) <= 25, (best, ranks, table.head(5))


@pytest.mark.slow
def test_oct4_pwm_initialised_model_beats_the_best_pwm(tmp_path, one_thread):
    """Started from the JASPAR Oct4 PWMs (MotifConv.seed_motifs) and trained on the peaks, the
    model separates held-out peaks from their shuffles better than the best of those PWMs
    (AUROC and AUPRC; benchmarks/bench_oct4.py --init measures 5 seeds)."""
    from seqfcn.metrics import auroc, average_precision
    from seqfcn.motifs.peaks import sequence_scores
    from seqfcn.nn.layers import MotifConv

    motifs = {m.id: m for m in read_motifs(JASPAR)}
    model, result = train_motif_model(
        PEAKS, tmp_path, length=400, holdout=0.2, n_shuffles=1, label_mode="center", center_width=100,
        model_options=MODEL, config=TrainConfig(seed=0, **CONFIG), init_motifs=[motifs[t] for t in TARGETS],
    )
    _, val = motif_datasets(PEAKS, length=400, holdout=0.2, seed=0, n_shuffles=1, label_mode="center",
                            center_width=100)
    scores, labels = sequence_scores(model, val)
    xs = torch.stack([val[i]["x"] for i in range(len(val))])
    best_auroc, best_auprc = 0.0, 0.0
    for t in TARGETS:
        with torch.no_grad():
            pwm = MotifConv.from_motifs([motifs[t]], strand="both_max")(xs).amax(dim=(1, 2)).numpy()
        best_auroc, best_auprc = max(best_auroc, auroc(pwm, labels)), max(best_auprc, average_precision(pwm, labels))
    assert auroc(scores, labels) == pytest.approx(result["seq_auroc"])
    assert auroc(scores, labels) > best_auroc + 0.02, (auroc(scores, labels), best_auroc)
    assert average_precision(scores, labels) > best_auprc + 0.01, (average_precision(scores, labels), best_auprc)
