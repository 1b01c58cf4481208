"""Training throughput (bases/s) of the default models, and a correction-training demonstration.

Throughput: full optimiser steps (forward, per-base loss, backward, AdamW) of
``read_corrector`` (5 channels in, 4 classes out, 128 bp reads) and
``dilated_fcn`` / ``dilated_fcn_32k`` (4 channels in, 1 output, 8 kb windows) on
random one-hot input, timed after warm-up steps. Modes: fp32 eager on CPU
always; with ``--compile`` also ``torch.compile`` on CPU (slow to compile); on
CUDA (when present) fp32, bf16 autocast and bf16 + compile.

Demonstration (``--demo``): ``seqfcn train --task correct`` on the SARS-CoV-2
reference (data/sarscov2) with Illumina-like corruption for a few CPU minutes;
prints the per-base error-rate reduction on held-out corrupted windows (fresh
draws at the realistic default Illumina error rate).

Usage: python benchmarks/bench_train.py [--steps 20] [--compile] [--demo] [--demo-steps 1500]
"""
from __future__ import annotations

import argparse
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
MODELS = {
    "read_corrector": ({}, 5, 128, 64, "classes"),
    "dilated_fcn": ({}, 4, 8192, 8, "regression"),
    "dilated_fcn_32k": ({}, 4, 65536, 2, "regression"),
}


def step_fn(model, x, y, kind, optimizer, autocast):
    with autocast():
        out = model(x)
        loss = F.cross_entropy(out.float(), y) if kind == "classes" else F.mse_loss(out.float(), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def throughput(name: str, device: str, mode: str, steps: int) -> dict:
    from seqfcn.nn.models import count_parameters, create_model

    overrides, channels, length, batch, kind = MODELS[name]
    torch.manual_seed(0)
    model = create_model(name, **overrides).to(device)
    gen = torch.Generator().manual_seed(0)
    x = F.one_hot(torch.randint(0, 4, (batch, length), generator=gen), 4).permute(0, 2, 1).float()
    if channels == 5:
        x = torch.cat([x, torch.rand(batch, 1, length, generator=gen)], dim=1)
    y = torch.randint(0, 4, (batch, length), generator=gen) if kind == "classes" else torch.rand(batch, 1, length)
    x, y = x.to(device), y.to(device)
    if mode.endswith("compile"):
        model = torch.compile(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    bf16 = "bf16" in mode

    def autocast():
        return torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=bf16)

    t0 = time.perf_counter()
    for _ in range(2):
        step_fn(model, x, y, kind, optimizer, autocast)
    warm = time.perf_counter() - t0
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(steps):
        step_fn(model, x, y, kind, optimizer, autocast)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = (torch.cuda.max_memory_allocated() / 1e6 if device.startswith("cuda")
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3)
    return {"model": name, "params": count_parameters(model), "device": device, "mode": mode,
            "batch": f"{batch}x{length}", "bases_per_s": steps * batch * length / seconds,
            "step_ms": 1e3 * seconds / steps, "warmup_s": warm, "peak_mb": peak}


def demo(steps: int) -> dict:
    from seqfcn.tasks import train_task

    config = {
        "model": {"channels": 64, "n_layers": 5},
        "train": {"steps": steps, "batch_size": 64, "lr": 3e-3, "warmup_steps": 50, "eval_every": steps,
                  "progress": False, "tensorboard": False},
        "data": {"window": 128, "error_model": "illumina:q_start=20,q_end=12", "val_error_model": "illumina",
                 "val_windows": 2000},
    }
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        result = train_task("correct", REPO / "data" / "sarscov2" / "MN908947.3.fasta", out, config=config,
                            device="cpu", seed=0)
        result["wall_s"] = time.perf_counter() - start
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile on CPU")
    parser.add_argument("--demo", action="store_true", help="run the correction-training demonstration")
    parser.add_argument("--demo-steps", type=int, default=1500)
    args = parser.parse_args()
    runs = [("cpu", "fp32")] + ([("cpu", "fp32+compile")] if args.compile else [])
    if torch.cuda.is_available():
        runs += [("cuda", "fp32"), ("cuda", "bf16"), ("cuda", "bf16+compile")]
    print(f"# training throughput, torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
          f"{platform.machine()}" + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""))
    print("| model | params | device | mode | batch x length | step (ms) | bases/s | peak MB |")
    print("|---|---:|---|---|---|---:|---:|---:|")
    for name in MODELS:
        for device, mode in runs:
            r = throughput(name, device, mode, args.steps)
            print(f"| {r['model']} | {r['params']:,} | {r['device']} | {r['mode']} | {r['batch']} | "
                  f"{r['step_ms']:.1f} | {r['bases_per_s']:,.0f} | {r['peak_mb']:.0f} |", flush=True)
    if args.demo:
        r = demo(args.demo_steps)
        print(f"\ncorrection demo (SARS-CoV-2, {r['step']} steps, {r['wall_s']:.0f} s CPU): "
              f"held-out per-base error-rate reduction {r['val_error_rate_reduction']:.1%}, "
              f"accuracy {r['val_accuracy']:.5f}")


if __name__ == "__main__":
    sys.exit(main())
