"""Training tasks and `seqfcn train`: configs, datasets, end-to-end runs on small real/synthetic data."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from seqfcn.nn.checkpoint import load_model
from seqfcn.cli import main
from seqfcn.errors import SeqfcnError
from seqfcn.training.tasks import build_datasets, task_config, train_task

EX1 = "data/samtools/ex1.fa"
TINY = {"model": {"channels": 8, "n_layers": 2}, "data": {"window": 64, "train_windows": 2000, "val_windows": 32},
        "train": {"batch_size": 8, "eval_every": 5, "progress": False, "tensorboard": False}}


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread per test


def test_task_config_merges_sections():
    cfg = task_config("correct", {"train": {"steps": 7}, "model": {"channels": 4}})
    assert cfg["train"]["steps"] == 7 and cfg["train"]["loss"] == "cross_entropy"
    assert cfg["model"] == {"name": "read_corrector", "channels": 4, "n_layers": 5, "kernel_size": 3}
    assert task_config("correct", {"model": {"name": "unet1d"}})["model"] == {"name": "unet1d"}
    with pytest.raises(SeqfcnError, match="unknown task"):
        task_config("assemble")
    with pytest.raises(SeqfcnError, match="unknown section"):
        task_config("motif", {"optimizer": {}})
    with pytest.raises(SeqfcnError, match="unknown data keys"):
        task_config("motif", {"data": {"windw": 3}})


def test_correct_datasets_use_separate_draws(tmp_path):
    data = dict(task_config("correct")["data"], train_windows=10, val_windows=10)
    train, val, meta = build_datasets("correct", EX1, data, seed=3)
    assert meta["error_model"]["kind"] if "kind" in meta["error_model"] else meta["error_model"]
    assert train[0]["x"].shape == (5, 128) and not torch.equal(train[0]["x"], val[0]["x"])


def test_cli_train_correct_writes_loadable_model(tmp_path, capsys):
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps(TINY))
    out = tmp_path / "run"
    code = main(["train", "--task", "correct", "--evidence", "none", "--genome", EX1, "--config", str(config),
                 "--steps", "6",
                 "--out", str(out), "--error-model", "illumina:q_end=15", "--device", "cpu", "-q"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["step"] == 6
    model, info = load_model(out / "model")
    assert info["metadata"]["task"] == "correct" and info["metadata"]["qmax"] == 50
    assert model(torch.zeros(1, 5, 40)).shape == (1, 4, 40)
    assert (out / "metrics.csv").read_text().count("\n") >= 2


def test_cli_train_user_errors(tmp_path, capsys):
    assert main(["train", "--task", "motif", "--genome", EX1, "--out", str(tmp_path / "o")]) == 2
    assert "needs --labels" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    assert main(["train", "--task", "correct", "--genome", EX1, "--config", str(bad), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.json" in err and "not JSON" in err


def _planted_genome(tmp_path, motif="TTGACGCAAT", n=30, length=20_000, seed=0):
    rng = np.random.default_rng(seed)
    seq = rng.choice(list("ACGT"), length)
    sites = sorted(rng.choice(np.arange(100, length - 100, 150), n, replace=False))
    for s in sites:
        seq[s : s + len(motif)] = list(motif)
    (tmp_path / "g.fa").write_text(">chrS\n" + "".join(seq) + "\n")
    (tmp_path / "sites.bed").write_text("".join(f"chrS\t{s}\t{s + len(motif)}\tsite\n" for s in sites))
    return tmp_path / "g.fa", tmp_path / "sites.bed"


def test_motif_task_learns_planted_sites(tmp_path):
    genome, bed = _planted_genome(tmp_path, n=80)
    cfg = {"model": {"n_motifs": 4, "motif_width": 11, "channels": 16, "n_layers": 3},
           "data": {"window": 200, "train_windows": 4000, "val_windows": 64, "holdout": 0.2},
           "train": {"steps": 150, "batch_size": 16, "lr": 1e-2, "warmup_steps": 10, "eval_every": 150,
                     "progress": False, "tensorboard": False}}
    result = train_task("motif", genome, tmp_path / "run", config=cfg, labels=bed, device="cpu")
    # per-base AUROC/AUPRC on the held-out last 20% of the chromosome (sites never seen in training)
    assert result["val_auroc"] > 0.99 and result["val_auprc"] > 0.9


def test_profile_task_with_bedgraph(tmp_path):
    genome, bed = _planted_genome(tmp_path)
    from seqfcn.io.intervals import write_bedgraph

    track = np.zeros(20_000, np.float32)
    track[5000:9000] = 2.0
    write_bedgraph({"chrS": track}, tmp_path / "sig.bedgraph")
    cfg = {"model": {"channels": 4, "n_layers": 2}, "data": {"window": 500, "train_windows": 100, "val_windows": 8},
           "train": {"steps": 3, "batch_size": 4, "progress": False, "tensorboard": False}}
    result = train_task("profile", genome, tmp_path / "run", config=cfg, labels=tmp_path / "sig.bedgraph",
                        device="cpu")
    assert result["step"] == 3 and np.isfinite(result["val_loss"])
    _, info = load_model(tmp_path / "run" / "model")
    assert info["metadata"]["binary_labels"] is False
