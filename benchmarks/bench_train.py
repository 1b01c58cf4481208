"""Training throughput (bases/s) of the default models, and a correction-training demonstration.

Throughput: full optimiser steps (forward, per-base loss, backward, AdamW) of
``read_corrector`` (5 channels in, 4 classes out, 128 bp reads) and
``dilated_fcn`` / ``dilated_fcn_32k`` (4 channels in, 1 output, 8 kb windows) on
random one-hot input, timed after warm-up steps. Modes: fp32 eager on CPU
always; with ``--compile`` also ``torch.compile`` on CPU (slow to compile); on
CUDA (when present) fp32, bf16 autocast and bf16 + compile.

Demonstration (``--demo``): ``seqfcn train --task correct`` (a plain model) on the SARS-CoV-2
reference (data/sarscov2) with Illumina-like corruption for a few CPU minutes;
prints the per-base error-rate reduction on held-out corrupted windows (fresh
draws at the realistic default Illumina error rate); then a k-mer evidence corrector
(seqfcn.correction.training) trained on SARS-CoV-2 simulations and run through
``seqfcn.correct_reads`` on fresh reads of SARS-CoV-2 and of lambda phage.

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

import numpy as np
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
    from seqfcn.training.tasks import train_task

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


def _write_reads(path: Path, batch) -> Path:
    """Simulated reads as FASTQ, and their truth as a second FASTQ (``*.truth.fq``)."""
    from seqfcn.training.simulate import codes_to_str

    truth = path.with_suffix(".truth.fq")
    with open(path, "w") as fh, open(truth, "w") as th:
        for i in range(len(batch)):
            n = int(batch.lengths[i])
            q = "".join(chr(33 + int(v)) for v in batch.qualities[i, :n])
            t = batch.target[i, :n]
            fh.write(f"@r{i}\n{codes_to_str(batch.observed[i, :n])}\n+\n{q}\n")
            th.write(f"@r{i}\n{codes_to_str(np.where(t >= 0, t, 4))}\n+\n{q}\n")
    return truth


def demo_kmer(steps: int) -> dict:
    """A k-mer-evidence ReadCorrector trained on SARS-CoV-2 simulations (default Illumina error
    model), then run with ``correct_reads`` on fresh held-out reads of SARS-CoV-2 and of lambda."""
    from seqfcn.correction.evaluate import evaluate_correction
    from seqfcn.correction.pipeline import correct_reads
    from seqfcn.correction.training import genome_codes, simulate_reads, train_kmer_corrector
    from seqfcn.training.simulate import IlluminaErrorModel

    em = IlluminaErrorModel.default(read_length=150)
    start = time.perf_counter()
    model = train_kmer_corrector(REPO / "data" / "sarscov2" / "MN908947.3.fasta", error_model=em, k=21,
                                 coverages=(10, 30, 80), read_length=150, window=150, steps=steps, lr=1e-2,
                                 model_config={"channels": 16, "n_layers": 4}, device="cpu", progress=False)
    result = {"train_s": time.perf_counter() - start}
    with tempfile.TemporaryDirectory() as tmp:
        for name, fasta in (("SARS-CoV-2", "sarscov2/MN908947.3.fasta"), ("lambda", "lambda/lambda_virus.fa")):
            genome = genome_codes(REPO / "data" / fasta)
            size = sum(c.shape[0] for c in genome)
            batch = simulate_reads(genome, em, int(30 * size / 150), 150, seed=987654)  # unseen draws
            reads = Path(tmp) / f"{name}.fq"
            truth = _write_reads(reads, batch)
            correct_reads(reads, model, Path(tmp) / f"{name}.out.fq", min_confidence=0.5, progress=False,
                          device="cpu")
            result[name] = evaluate_correction(reads, Path(tmp) / f"{name}.out.fq", truth=truth)
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
        k = demo_kmer(args.demo_steps)
        print(f"k-mer evidence corrector (SARS-CoV-2 simulations, {args.demo_steps} steps, {k['train_s']:.0f} s CPU), "
              "fresh reads at 30x through seqfcn correct (--min-confidence 0.5):")
        for name in ("SARS-CoV-2", "lambda"):
            m = k[name]
            red = 1 - m["error_rate_after"] / m["error_rate_before"]
            print(f"  {name}: per-base error rate {m['error_rate_before']:.5f} -> {m['error_rate_after']:.6f} "
                  f"({red:.1%} fewer), TP {m['TP']}, FP {m['FP']}, FN {m['FN']}, gain {m['gain']:.4f}")


if __name__ == "__main__":
    sys.exit(main())
