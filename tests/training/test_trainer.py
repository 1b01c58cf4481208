"""Trainer: exact resume (stop/resume and SIGTERM), AMP/compile paths, early stopping, outputs."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch.utils.data import Dataset

from seqfcn.errors import SeqfcnError
from seqfcn.training.schedule import SeededBatchSampler, warmup_cosine
from seqfcn.training.trainer import TrainConfig, Trainer
from seqfcn.runtime.device import resolve_device

TOY_SOURCE = '''
import time
import torch
from torch.utils.data import Dataset


class ToyNet(torch.nn.Module):
    """(batch, 4, L) -> (batch, K, L): conv, ReLU, dropout, 1x1 conv."""

    def __init__(self, k: int = 4, dropout: float = 0.2):
        super().__init__()
        self.c1 = torch.nn.Conv1d(4, 8, 5, padding=2)
        self.drop = torch.nn.Dropout(dropout)
        self.c2 = torch.nn.Conv1d(8, k, 1)

    def forward(self, x):
        return self.c2(self.drop(torch.relu(self.c1(x))))


class CorrectionSet(Dataset):
    """Truth: random bases; input: 10% substituted; y = truth (4 classes); last 3 positions ignored."""

    def __init__(self, n: int, length: int = 24, seed: int = 0, sleep: float = 0.0):
        g = torch.Generator().manual_seed(seed)
        self.truth = torch.randint(0, 4, (n, length), generator=g)
        noisy = self.truth.clone()
        flip = torch.rand(n, length, generator=g) < 0.1
        noisy[flip] = (noisy[flip] + torch.randint(1, 4, (int(flip.sum()),), generator=g)) % 4
        self.x = torch.nn.functional.one_hot(noisy, 4).permute(0, 2, 1).float()
        self.sleep = sleep

    def __len__(self):
        return len(self.truth)

    def __getitem__(self, i):
        if self.sleep:
            time.sleep(self.sleep)
        y = self.truth[i].clone()
        y[-3:] = -100
        return {"x": self.x[i], "y": y}
'''



@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    d = tmp_path_factory.mktemp("toy")
    (d / "toy_models.py").write_text(TOY_SOURCE)
    sys.path.insert(0, str(d))
    import importlib

    mod = importlib.import_module("toy_models")
    yield mod, d
    sys.path.remove(str(d))


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread per test


def _cfg(**kw) -> TrainConfig:
    base = dict(steps=12, batch_size=8, lr=1e-2, warmup_steps=2, eval_every=4, device="cpu",
                progress=False, tensorboard=False, plot=False, seed=3)
    base.update(kw)
    return TrainConfig(**base)


def _params(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def _strip_time(history):
    return [{k: v for k, v in h.items() if k != "time"} for h in history]


def test_exact_resume_mid_epoch(toy, tmp_path):
    mod, _ = toy
    train, val = mod.CorrectionSet(40, seed=1), mod.CorrectionSet(16, seed=2)  # 5 batches per epoch
    torch.manual_seed(0)
    straight = Trainer(mod.ToyNet(), train, val, _cfg(), tmp_path / "a")
    res_a = straight.fit()
    assert res_a["stop_reason"] == "completed" and res_a["step"] == 12

    torch.manual_seed(0)
    first = Trainer(mod.ToyNet(), train, val, _cfg(stop_after=7), tmp_path / "b")
    res_b = first.fit()
    assert res_b["stop_reason"] == "stop_after" and res_b["step"] == 7
    state = json.loads((tmp_path / "b/last/trainer_state.json").read_text())
    assert (state["step"], state["epoch"], state["batch_in_epoch"]) == (7, 1, 2)

    torch.manual_seed(123)  # a different initialisation: everything must come from the checkpoint
    second = Trainer(mod.ToyNet(), train, val, _cfg(), tmp_path / "b", resume=True)
    res_c = second.fit()
    assert res_c["step"] == 12
    _assert_same(_params(straight.model), _params(second.model))
    _assert_same(load_file(tmp_path / "a/last/model.safetensors"), load_file(tmp_path / "b/last/model.safetensors"))
    assert _strip_time(straight.history) == _strip_time(second.history)
    # the model learned something: validation loss fell
    assert straight.history[-1]["val_loss"] < straight.history[0]["val_loss"]


SIGTERM_SCRIPT = '''
import sys, torch
sys.path.insert(0, {toy_dir!r})
from toy_models import ToyNet, CorrectionSet
from seqfcn.training.trainer import Trainer, TrainConfig
torch.set_num_threads(1)
torch.manual_seed(0)
cfg = TrainConfig(**{cfg!r})
trainer = Trainer(ToyNet(), CorrectionSet(40, seed=1, sleep=0.02), CorrectionSet(16, seed=2), cfg, {out!r})
res = trainer.fit()
print(res["stop_reason"], res["step"], flush=True)
sys.exit(143 if res["stop_reason"] == "signal:SIGTERM" else 0)
'''


def test_sigterm_checkpoint_then_exact_resume(toy, tmp_path):
    mod, toy_dir = toy
    # one DataLoader worker, and the signal goes to the whole process group (as from Ctrl-C or
    # a batch scheduler): the worker ignores it, the main process checkpoints and exits 143
    cfg = dict(steps=24, batch_size=8, lr=1e-2, warmup_steps=2, eval_every=2, device="cpu",
               progress=False, tensorboard=False, plot=False, seed=5, num_workers=1)
    out = tmp_path / "killed"
    script = tmp_path / "run.py"
    script.write_text(SIGTERM_SCRIPT.format(toy_dir=str(toy_dir), cfg=cfg, out=str(out)))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (out / "metrics.csv").exists():  # first evaluation done at step 2
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    reason, step = stdout.split()
    assert reason == "signal:SIGTERM" and 2 <= int(step) < 24
    assert json.loads((out / "last/trainer_state.json").read_text())["step"] == int(step)
    assert not (out / "model").exists()  # an interrupted run exports no model

    train, val = mod.CorrectionSet(40, seed=1), mod.CorrectionSet(16, seed=2)
    torch.manual_seed(0)
    straight = Trainer(mod.ToyNet(), train, val, TrainConfig(**cfg), tmp_path / "straight")
    straight.fit()
    resumed = Trainer(mod.ToyNet(), train, val, TrainConfig(**cfg), out, resume=True)
    res = resumed.fit()
    assert res["stop_reason"] == "completed" and res["step"] == 24
    _assert_same(_params(straight.model), _params(resumed.model))


def test_workers_give_same_result_as_main_process(toy, tmp_path):
    mod, _ = toy
    train = mod.CorrectionSet(24, seed=1)
    results = []
    for workers in (0, 2):
        torch.manual_seed(0)
        t = Trainer(mod.ToyNet(), train, None, _cfg(steps=4, num_workers=workers), tmp_path / f"w{workers}")
        t.fit()
        results.append(_params(t.model))
    _assert_same(*results)


def test_amp_auto_on_cpu_trains_float32(toy, tmp_path, caplog):
    mod, _ = toy
    train = mod.CorrectionSet(16, seed=1)
    t = Trainer(mod.ToyNet(), train, None, _cfg(steps=2, amp="auto"), tmp_path / "amp")
    assert t.device == torch.device("cpu") and t.autocast_dtype is None and t.scaler is None
    t.fit()
    assert all(p.dtype == torch.float32 for p in t.model.parameters())
    with caplog.at_level("WARNING", logger="seqfcn.training.trainer"):
        t2 = Trainer(mod.ToyNet(), train, None, _cfg(steps=2, amp="bf16"), tmp_path / "amp2")
    assert t2.autocast_dtype is None and "needs CUDA" in caplog.text


def test_compile_flag_gives_same_weights(toy, tmp_path):
    pytest.importorskip("torch._dynamo")
    mod, _ = toy
    train = mod.CorrectionSet(16, seed=1)
    runs = []
    for comp in (False, "eager"):  # "eager": TorchDynamo graph capture without a C++ compiler
        torch.manual_seed(0)
        t = Trainer(mod.ToyNet(dropout=0.0), train, None, _cfg(steps=3, compile=comp), tmp_path / f"c{comp}")
        t.fit()
        runs.append(_params(t.model))
    assert type(t._train_model).__name__ == "OptimizedModule"
    for k in runs[0]:
        torch.testing.assert_close(runs[0][k], runs[1][k], rtol=1e-5, atol=1e-6)


class _ConstantNet(torch.nn.Module):
    """Output = a learned per-class bias at every position: (batch, C, L) -> (batch, 2, L)."""

    def __init__(self):
        super().__init__()
        self.bias = torch.nn.Parameter(torch.tensor([0.0, 1.0]))

    def forward(self, x):
        return self.bias[None, :, None].expand(x.shape[0], 2, x.shape[-1])


class _AllZero(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": torch.zeros(4, 6), "y": torch.zeros(6, dtype=torch.long)}


def test_early_stopping_and_restore_best(tmp_path):
    # accuracy reaches 1.0 at the first evaluation (step 2) and cannot improve: with patience 2
    # training stops at the third evaluation (step 6) and the step-2 weights are restored.
    cfg = _cfg(steps=50, lr=0.5, warmup_steps=0, eval_every=2, batch_size=4, monitor="val_accuracy",
               patience=2, grad_clip=None)
    t = Trainer(_ConstantNet(), _AllZero(8), _AllZero(4), cfg, tmp_path / "es")
    res = t.fit()
    assert res["stop_reason"] == "early_stopping" and res["step"] == 6
    assert res["best_step"] == 2 and res["best"] == 1.0
    assert [h["val_accuracy"] for h in t.history] == [1.0, 1.0, 1.0]
    best = load_file(tmp_path / "es/best/model.safetensors")
    last = load_file(tmp_path / "es/last/model.safetensors")
    assert torch.equal(t.model.bias.detach(), best["bias"]) and not torch.equal(best["bias"], last["bias"])
    exported = load_file(tmp_path / "es/model/model.safetensors")
    assert torch.equal(exported["bias"], best["bias"])


def test_outputs_csv_png_and_save_fn(toy, tmp_path):
    mod, _ = toy
    calls = []

    def save_fn(model, directory, metadata):
        calls.append((type(model).__name__, Path(directory), metadata))

    t = Trainer(mod.ToyNet(), mod.CorrectionSet(16, seed=1), mod.CorrectionSet(8, seed=2),
                _cfg(steps=4, eval_every=2, plot=True), tmp_path / "o", save_fn=save_fn)
    res = t.fit()
    import pandas as pd

    table = pd.read_csv(tmp_path / "o/metrics.csv")
    assert list(table["step"]) == [2, 4]
    for col in ("epoch", "train_loss", "lr", "time", "val_loss", "val_accuracy",
                "val_error_rate_reduction", "val_auprc"):
        assert col in table.columns and table[col].notna().all(), col
    assert list(table["epoch"]) == [1.0, 2.0]
    assert (tmp_path / "o/training_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(calls) == 1 and calls[0][0] == "ToyNet" and calls[0][1] == tmp_path / "o/model"
    assert calls[0][2]["trained_steps"] == 4 and calls[0][2]["train_config"]["batch_size"] == 8
    assert res["val_loss"] == pytest.approx(table["val_loss"].iloc[-1])
    assert not any(p.name.startswith(".") for p in (tmp_path / "o").iterdir())  # no temp files left


class _Identity4(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(10.0))

    def forward(self, x):
        return x[:, :4] * self.w


def test_evaluate_metrics_known_values(toy, tmp_path):
    mod, _ = toy
    val = mod.CorrectionSet(10, seed=7)
    t = Trainer(_Identity4(), val, val, _cfg(steps=1, batch_size=2), tmp_path / "e")
    m = t.evaluate()
    truth = val.truth[:, :-3]
    observed = val.x.argmax(dim=1)[:, :-3]
    acc = float((observed == truth).double().mean())
    assert m["val_accuracy"] == pytest.approx(acc, abs=1e-12)
    assert m["val_error_rate_reduction"] == 0.0  # the identity model fixes nothing
    assert 0.0 < acc < 1.0


class _Peaks(Dataset):
    """Binary sparse track: y = 1 where the base is G followed by C (float target, 1 channel)."""

    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        b = torch.randint(0, 4, (n, 32), generator=g)
        self.x = torch.nn.functional.one_hot(b, 4).permute(0, 2, 1).float()
        y = torch.zeros(n, 1, 32)
        y[:, 0, :-1] = ((b[:, :-1] == 2) & (b[:, 1:] == 1)).float()
        self.y = y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i], "y": self.y[i]}


def test_bce_dice_float_targets_learn(toy, tmp_path):
    mod, _ = toy
    torch.manual_seed(0)
    t = Trainer(mod.ToyNet(k=1, dropout=0.0), _Peaks(64, 1), _Peaks(32, 2),
                _cfg(steps=60, lr=3e-2, loss="bce_dice", eval_every=20, batch_size=16), tmp_path / "p")
    res = t.fit()
    assert {"val_auprc", "val_auroc", "val_accuracy"} <= res.keys()
    assert res["val_auprc"] > 0.9 and res["val_auroc"] > 0.95
    assert t.history[-1]["train_loss"] < t.history[0]["train_loss"]


def test_sampler_order_and_sharding():
    s = SeededBatchSampler(20, 6, seed=1)
    full = list(s)
    assert len(full) == 3 and all(len(b) == 6 for b in full)
    assert full == list(SeededBatchSampler(20, 6, seed=1))
    s.set_epoch(1)
    assert list(s) != full
    s.set_epoch(0, start_batch=2)
    assert list(s) == full[2:] and len(s) == 1
    shards = [list(SeededBatchSampler(20, 6, seed=1, rank=r, world_size=2)) for r in range(2)]
    assert [a + b for a, b in zip(*shards)] == full
    with pytest.raises(SeqfcnError):
        SeededBatchSampler(20, 5, seed=1, world_size=2)


def test_warmup_cosine_values():
    assert warmup_cosine(0, 4, 14) == pytest.approx(0.2)
    assert warmup_cosine(3, 4, 14) == pytest.approx(0.8)
    assert warmup_cosine(4, 4, 14) == pytest.approx(1.0)
    assert warmup_cosine(9, 4, 14) == pytest.approx(0.5)
    assert warmup_cosine(14, 4, 14, min_ratio=0.1) == pytest.approx(0.1)


def test_bad_inputs_raise_seqfcn_error(toy, tmp_path):
    mod, _ = toy
    with pytest.raises(SeqfcnError, match="amp"):
        TrainConfig(amp="fp8").validate()
    with pytest.raises(SeqfcnError, match="unknown loss"):
        TrainConfig(loss="hinge").validate()
    with pytest.raises(SeqfcnError, match="unknown keys"):
        TrainConfig.from_dict({"stepz": 3})
    with pytest.raises(SeqfcnError, match="fewer than one batch"):
        Trainer(mod.ToyNet(), mod.CorrectionSet(4), None, _cfg(batch_size=8), tmp_path / "x")
    with pytest.raises(SeqfcnError, match="model output"):
        bad = torch.nn.Conv1d(4, 4, 3)  # no padding: output is 2 bases short
        Trainer(bad, mod.CorrectionSet(8), None, _cfg(steps=1), tmp_path / "y").fit()
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(SeqfcnError, match="CUDA"):
            resolve_device("cuda")
    assert TrainConfig.from_dict({"steps": 3, "betas": [0.8, 0.9]}).betas == (0.8, 0.9)


def test_registered_model_exported_with_checkpoint_save_model(toy, tmp_path):
    from seqfcn.nn.checkpoint import load_model
    from seqfcn.nn.models import create_model

    mod, _ = toy
    torch.manual_seed(0)
    model = create_model("dilated_fcn", channels=8, n_layers=2, n_outputs=4)
    t = Trainer(model, mod.CorrectionSet(16, seed=1), mod.CorrectionSet(8, seed=2), _cfg(steps=3), tmp_path / "r")
    res = t.fit()
    loaded, info = load_model(tmp_path / "r/model")
    assert loaded.config == model.config
    _assert_same(_params(loaded), {k: v.cpu() for k, v in _params(t.model).items()})
    meta = json.loads((tmp_path / "r/model/config.json").read_text())["metadata"]
    assert meta["trained_steps"] == 3 and meta["metrics"]["val_loss"] == pytest.approx(res["val_loss"])


def test_checkpoint_every_and_recovery_from_interrupted_rename(toy, tmp_path, monkeypatch):
    mod, _ = toy
    train = mod.CorrectionSet(16, seed=1)
    saved_at = []
    real_save = Trainer.save_checkpoint

    def spy(self):
        saved_at.append(self.step)
        real_save(self)

    monkeypatch.setattr(Trainer, "save_checkpoint", spy)
    torch.manual_seed(0)
    straight = Trainer(mod.ToyNet(), train, None, _cfg(steps=7, checkpoint_every=3), tmp_path / "a")
    straight.fit()
    assert saved_at == [3, 6, 7]

    torch.manual_seed(0)
    Trainer(mod.ToyNet(), train, None, _cfg(steps=7, stop_after=4), tmp_path / "b").fit()
    # a crash between the two renames of a checkpoint write leaves only last.old
    os.replace(tmp_path / "b/last", tmp_path / "b/last.old")
    resumed = Trainer(mod.ToyNet(), train, None, _cfg(steps=7), tmp_path / "b", resume=True)
    assert resumed.fit()["step"] == 7
    _assert_same(_params(straight.model), _params(resumed.model))
    # resume=True without any checkpoint is a fresh start
    torch.manual_seed(0)
    fresh = Trainer(mod.ToyNet(), train, None, _cfg(steps=7), tmp_path / "c", resume=True)
    fresh.fit()
    _assert_same(_params(straight.model), _params(fresh.model))


def test_tensorboard_writer_gets_scalars_when_importable(toy, tmp_path, monkeypatch):
    # tensorboard is optional; a stand-in module checks the wiring without installing it
    import types

    events = []

    class FakeWriter:
        def __init__(self, log_dir, purge_step=None):
            events.append(("open", Path(log_dir), purge_step))

        def add_scalar(self, tag, value, step):
            events.append((tag, step))

        def close(self):
            events.append(("close",))

    fake = types.ModuleType("torch.utils.tensorboard")
    fake.SummaryWriter = FakeWriter
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", fake)
    mod, _ = toy
    cfg = _cfg(steps=4, eval_every=2, tensorboard=True)
    Trainer(mod.ToyNet(), mod.CorrectionSet(16, seed=1), mod.CorrectionSet(8, seed=2), cfg, tmp_path / "tb").fit()
    assert events[0] == ("open", tmp_path / "tb/tensorboard", None) and events[-1] == ("close",)
    assert ("train_loss", 2) in events and ("val_loss", 4) in events and ("val_auprc", 4) in events
