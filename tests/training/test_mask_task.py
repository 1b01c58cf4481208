"""``seqfcn train --task mask`` (a self-supervised trunk), ``--init-from`` (a new head on it) and
``freeze_steps`` (the head alone first)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import TRUNK_CONFIG

pytestmark = pytest.mark.usefixtures("one_thread")


def test_masked_windows_mask_and_targets(tiny_trunk):
    from seqfcn.training.datasets import GenomeWindows, MaskedWindows
    from seqfcn.training.simulate import MaskModel

    fasta = tiny_trunk[0]
    windows = GenomeWindows(fasta, 400, 50, seed=3, max_n_fraction=0.0)
    masked = MaskedWindows(windows, MaskModel(0.15, 0.8, 0.1), seed=4)
    chosen = n = 0
    for i in range(len(masked)):
        item, truth = masked[i], windows[i]["codes"].numpy()
        x, y = item["x"].numpy(), item["y"].numpy()
        assert x.shape == (4, 400) and y.shape == (400,)
        sel = y >= 0
        np.testing.assert_array_equal(y[sel], truth[sel])  # the true base at every chosen position
        assert (y[~sel] == -100).all()
        np.testing.assert_array_equal(x[:, ~sel].argmax(0), truth[~sel])  # the others unchanged
        chosen += sel.sum()
        n += (x[:, sel].sum(0) == 0).sum()  # chosen and blanked (N)
        np.testing.assert_array_equal(masked[i]["x"].numpy(), x)  # a pure function of (seed, index)
    assert abs(chosen / (50 * 400) - 0.15) < 0.02
    assert abs(n / chosen - 0.8) < 0.05


def test_mask_training_learns_the_repeat(tiny_trunk):
    _, model_dir, result = tiny_trunk
    assert result["stop_reason"] == "completed" and result["step"] == 150
    metrics = (model_dir.parent / "metrics.csv").read_text().splitlines()
    first, last = (float(r.split(",")[metrics[0].split(",").index("val_loss")]) for r in (metrics[1], metrics[-1]))
    assert last < first < 1.45 and last < 1.0  # ln 4 = 1.386 for a guess; the repeat makes it predictable
    meta = json.loads((model_dir / "config.json").read_text())["metadata"]
    assert meta["task"] == "mask" and meta["error_model"]["kind"] == "mask" and meta["activation"] == "softmax"


def test_mask_task_takes_only_a_mask_model(tiny_trunk, tmp_path):
    from seqfcn.errors import SeqfcnError
    from seqfcn.training.tasks import train_task

    config = {**TRUNK_CONFIG, "data": {**TRUNK_CONFIG["data"], "error_model": "illumina"}}
    with pytest.raises(SeqfcnError, match="mask error model"):
        train_task("mask", tiny_trunk[0], tmp_path / "x", config=config, device="cpu")


def test_init_from_loads_every_trunk_weight(tiny_trunk):
    from seqfcn.nn.checkpoint import load_model
    from seqfcn.training.tasks import init_from_trunk

    trunk, _ = load_model(tiny_trunk[1])
    torch.manual_seed(0)
    model, identity = init_from_trunk("profile", tiny_trunk[1], {"n_outputs": 2})
    assert model.config["head_task"] == "regression" and model.config["n_outputs"] == 2
    assert identity["name"] == "model.safetensors"
    theirs = trunk.state_dict()
    body = [k for k in model.state_dict() if not k.startswith("head.")]
    assert body and len(body) == len([k for k in theirs if not k.startswith("head.")])
    for k in body:
        torch.testing.assert_close(model.state_dict()[k], theirs[k], rtol=0, atol=0)
    assert model.head.net[-1].weight.shape == (2, 8, 1)


def test_init_from_refuses_a_model_that_is_not_a_trunk(tmp_path):
    from conftest import EX1_MODEL
    from seqfcn.errors import SeqfcnError
    from seqfcn.training.tasks import init_from_trunk

    with pytest.raises(SeqfcnError, match="--task mask"):
        init_from_trunk("motif", EX1_MODEL, {})
    with pytest.raises(SeqfcnError, match="--init-from is for"):
        init_from_trunk("correct", EX1_MODEL, {})


def test_motif_task_on_a_frozen_trunk_changes_only_the_head(tiny_trunk, tmp_path):
    from seqfcn.nn.checkpoint import load_model
    from seqfcn.training.tasks import init_from_trunk, train_task

    fasta, trunk_dir, _ = tiny_trunk
    bed = tmp_path / "sites.bed"
    bed.write_text("rep\t100\t140\nrep\t3000\t3040\nmix\t500\t520\n")
    config = {"data": {"window": 200, "train_windows": 64, "val_windows": 8},
              "train": {"steps": 6, "batch_size": 8, "freeze_steps": 6, "eval_every": 6, "progress": False,
                        "plot": False, "tensorboard": False, "checkpoint_every": 0}}
    train_task("motif", fasta, tmp_path / "m", config=config, labels=bed, device="cpu", init_from=trunk_dir)
    trunk, _ = load_model(trunk_dir)
    model, info = load_model(tmp_path / "m" / "model")
    assert info["metadata"]["init_from"]["name"] == "model.safetensors"
    assert model.config["head_task"] == "multilabel" and model.config["n_outputs"] == 1
    for k, v in model.state_dict().items():
        if not k.startswith("head."):
            torch.testing.assert_close(v, trunk.state_dict()[k], rtol=0, atol=0)  # frozen: untouched
    torch.manual_seed(0)  # the seed's initial head (train_task's seed 0): training moved it
    start, _ = init_from_trunk("motif", trunk_dir, {})
    assert not torch.equal(model.head.net[0].weight, start.head.net[0].weight)

    config["train"]["freeze_steps"] = 0  # unfrozen: the trunk moves
    train_task("motif", fasta, tmp_path / "m2", config=config, labels=bed, device="cpu", init_from=trunk_dir)
    moved, _ = load_model(tmp_path / "m2" / "model")
    assert not torch.equal(moved.stem.weight, trunk.stem.weight)


def test_cli_train_mask_and_init_from(tiny_trunk, tmp_path, cli):
    fasta, trunk_dir, _ = tiny_trunk
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({**TRUNK_CONFIG, "train": {**TRUNK_CONFIG["train"], "steps": 3, "eval_every": 3}}))
    code, out, err = cli(["train", "--task", "mask", "--genome", fasta, "--out", tmp_path / "t", "--config", cfg,
                          "-q"])
    assert code == 0, err
    assert json.loads(out)["step"] == 3
    code, _, err = cli(["train", "--task", "profile", "--genome", fasta, "--labels", tmp_path / "none.bed",
                        "--out", tmp_path / "p", "--freeze-steps", "2"])
    assert code == 2 and "--freeze-steps is for --init-from" in err


def test_mask_training_resumes_exactly(tiny_trunk, tmp_path):
    from seqfcn.nn.checkpoint import load_model
    from seqfcn.training.tasks import train_task

    fasta = tiny_trunk[0]
    train = {**TRUNK_CONFIG["train"], "steps": 4, "eval_every": 2}
    straight = train_task("mask", fasta, tmp_path / "a", config={**TRUNK_CONFIG, "train": train}, device="cpu")
    stopped = train_task("mask", fasta, tmp_path / "b", config={**TRUNK_CONFIG, "train": {**train, "stop_after": 2}},
                         device="cpu")
    assert stopped["step"] == 2
    resumed = train_task("mask", fasta, tmp_path / "b", config={**TRUNK_CONFIG, "train": train}, device="cpu",
                         resume=True)
    assert resumed["step"] == 4
    assert straight["step"] == 4
    a, _ = load_model(tmp_path / "a" / "model")
    b, _ = load_model(tmp_path / "b" / "model")
    for k, v in a.state_dict().items():
        torch.testing.assert_close(b.state_dict()[k], v, rtol=0, atol=0)


def test_init_from_refuses_a_model_section_it_would_ignore(tiny_trunk, tmp_path):
    from seqfcn.errors import SeqfcnError
    from seqfcn.training.tasks import train_task

    with pytest.raises(SeqfcnError, match="may set only n_outputs, not channels"):
        train_task("profile", tiny_trunk[0], tmp_path / "p", config={"model": {"channels": 32}}, labels="x.bed",
                   init_from=tiny_trunk[1])


@pytest.mark.parametrize("extra, needle", [
    (["--task", "motif", "--labels", "x.bed", "--init-from", "EX1"], "--init-from takes a trunk trained with --task mask"),
    (["--task", "mask", "--init-from", "TRUNK"], "--init-from is for --task motif or profile"),
    (["--task", "motif", "--labels", "x.bed", "--init-from", "TRUNK", "--freeze-steps", "-1"], "freeze_steps"),
])
def test_cli_bad_init_from_is_one_line(tiny_trunk, tmp_path, cli, extra, needle):
    from conftest import EX1_MODEL

    fasta, trunk_dir, _ = tiny_trunk
    (tmp_path / "x.bed").write_text("rep\t10\t20\n")
    extra = [str(EX1_MODEL) if a == "EX1" else str(trunk_dir) if a == "TRUNK" else
             str(tmp_path / a) if a == "x.bed" else a for a in extra]
    code, _, err = cli(["train", "--genome", fasta, "--out", tmp_path / "o", *extra])
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o" / "model").exists()
