"""DDP on CPU: 2 gloo processes launched by torchrun give the weights of a single process.

Each global batch is split exactly across the ranks and DDP averages the gradients, so
with a plain-mean loss and no dropout the two runs agree to float rounding (~1e-7). The
distributed run is also interrupted (``stop_after``) and resumed, which exercises the
per-rank RNG gathering and rank-0 checkpointing.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist
from safetensors.torch import load_file

from seqfcn.training.trainer import TrainConfig, Trainer

pytestmark = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                                reason="torch.distributed with gloo is not available")

COMMON = '''
import torch
from torch.utils.data import Dataset


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv1d(4, 6, 3, padding=1)
        self.c2 = torch.nn.Conv1d(6, 2, 1)

    def forward(self, x):
        return self.c2(torch.relu(self.c1(x)))


class Profiles(Dataset):
    """x: random one-hot (4, 16); y: float targets (2, 16) from a fixed rule plus noise."""

    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        b = torch.randint(0, 4, (n, 16), generator=g)
        self.x = torch.nn.functional.one_hot(b, 4).permute(0, 2, 1).float()
        self.y = torch.stack([(b == 1).float(), (b == 2).float() * 2], 1) + 0.1 * torch.randn(n, 2, 16, generator=g)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i], "y": self.y[i]}


CFG = dict(steps=8, batch_size=8, lr=2e-2, warmup_steps=1, eval_every=4, loss="mse", device="cpu",
           progress=False, tensorboard=False, plot=False, seed=11)
'''

SCRIPT = '''
import json, os, sys
import torch
import torch.distributed as dist
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ddp_common import CFG, Net, Profiles
from seqfcn.training.trainer import Trainer, TrainConfig

torch.set_num_threads(1)
dist.init_process_group("gloo")  # owned here so two Trainers can share it
out = sys.argv[1]
train, val = Profiles(40, 1), Profiles(12, 2)
torch.manual_seed(0)
first = Trainer(Net(), train, val, TrainConfig(**CFG, stop_after=5), out)
r1 = first.fit()
torch.manual_seed(99 + dist.get_rank())  # different init per rank: resume must restore it
second = Trainer(Net(), train, val, TrainConfig(**CFG), out, resume=True)
r2 = second.fit()
with open(os.path.join(out, f"rank{dist.get_rank()}.json"), "w") as fh:
    json.dump({"first": r1["stop_reason"], "second": r2["stop_reason"], "step": r2["step"],
               "val_loss": r2["val_loss"],
               "weights": {k: v.flatten().tolist() for k, v in second.model.state_dict().items()}}, fh)
dist.destroy_process_group()
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def common(tmp_path):
    (tmp_path / "ddp_common.py").write_text(COMMON)
    sys.path.insert(0, str(tmp_path))
    import importlib

    sys.modules.pop("ddp_common", None)
    mod = importlib.import_module("ddp_common")
    yield mod
    sys.path.remove(str(tmp_path))
    sys.modules.pop("ddp_common", None)


def test_ddp_two_processes_match_single_process(common, tmp_path):
    script = tmp_path / "ddp_run.py"
    script.write_text(SCRIPT)
    out = tmp_path / "ddp_out"
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT")}
    env["OMP_NUM_THREADS"] = "1"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--nnodes=1",
           "--master_addr=127.0.0.1", f"--master_port={_free_port()}", str(script), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]

    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in range(2)]
    assert [r["first"] for r in ranks] == ["stop_after"] * 2
    assert [r["second"] for r in ranks] == ["completed"] * 2 and ranks[0]["step"] == 8
    assert ranks[0]["weights"] == ranks[1]["weights"]  # DDP keeps replicas identical
    assert ranks[0]["val_loss"] == ranks[1]["val_loss"]  # sharded validation reduced over ranks
    state = json.loads((out / "last/trainer_state.json").read_text())
    assert state["world_size"] == 2 and state["step"] == 8
    assert len(json.loads((out / "last/rng.json").read_text())) == 2  # one RNG record per rank
    # only rank 0 wrote the CSV; one row per evaluation (steps 4 and 8)
    lines = (out / "metrics.csv").read_text().splitlines()
    assert len(lines) == 3 and lines[0].startswith("step,epoch,train_loss,lr,val_loss,val_pearson")

    torch.set_num_threads(1)
    torch.manual_seed(0)
    single = Trainer(common.Net(), common.Profiles(40, 1), common.Profiles(12, 2),
                     TrainConfig(**common.CFG), tmp_path / "single")
    res = single.fit()
    for k, v in single.model.state_dict().items():
        torch.testing.assert_close(torch.tensor(ranks[0]["weights"][k]), v.flatten(), rtol=1e-5, atol=1e-6)
    assert ranks[0]["val_loss"] == pytest.approx(res["val_loss"], rel=1e-5)
    # the training actually moved the weights away from the initialisation
    torch.manual_seed(0)
    init = common.Net().state_dict()
    assert not torch.allclose(init["c1.weight"], single.model.state_dict()["c1.weight"])
    saved = load_file(out / "last/model.safetensors")
    torch.testing.assert_close(saved["c2.bias"], single.model.state_dict()["c2.bias"], rtol=1e-5, atol=1e-6)
