"""Long-range benchmark (issue 7): dilated vs undilated FCN on a synthetic enhancer task,
effective receptive field, and memory / throughput of 1 Mbp inference and 64 kb training.

One run::

    python benchmarks/bench_longrange.py [--quick] [--threads 2]

What it does
------------
1. Trains ``dilated_fcn_32k`` at small width (8 channels, stem kernel 9 -- a stem that
   sees a whole 8-mer makes the motif learnable in ~100 steps; with the preset's stem 3 the
   loss stayed on its 0.69 plateau for 250-340 steps in trial runs; 14 layers, dilations 1..8192, RF 32,775) and an
   *undilated* stack with the same parameter count (``dilations=[1] * 14``, RF 37) on
   :class:`seqfcn.training.longrange.LongRangeDataset`: a promoter's per-base label is 1
   iff an enhancer (8 tandem copies of CACGTGAC) lies ``d`` bases away (centre to centre,
   up- or downstream), ``d`` log-uniform in ``[64, d_max]``. Curriculum over window length:
   ``d_max`` = 100, 300, 1000, 3000 then 10,000 (windows ``d_max`` + 129 bp; batches 32, 16,
   8, 8, 8 -- :data:`DEFAULT_STAGES`); the same schedule and seed for both models.
2. AUROC (one score per item: mean promoter logit) on fresh items with the enhancer at
   exactly ``d`` (positives) or absent (negatives), for each ``d`` of the table.
3. Receptive fields of the trained dilated model: analytic, gradient-measured (exact
   theoretical) and effective (mean |input gradient|; the width holding 90 % of it);
   the effective profile is plotted to ``benchmarks/longrange_erf.png``.
4. Memory / throughput of the preset as registered (16 channels, stem 3), each in a fresh subprocess (peak RSS = ``ru_maxrss`` of that
   process minus its RSS after model construction and input encoding):
   1 Mbp inference with :func:`seqfcn.runtime.tiling.predict_tiled` (window 64 kb, margin = reach
   16,384); one training step (forward + backward + AdamW) at 64 kb, batch 1, with and
   without gradient checkpointing.

Results go to ``benchmarks/results_longrange.md`` (Markdown table) and ``.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
# (d_max, steps, batch): short cheap windows with big batches first, then longer ones
DEFAULT_STAGES = [[100, 60, 32], [300, 30, 16], [1000, 40, 8], [3000, 40, 8], [10_000, 80, 8]]


def _rss_mb() -> float:
    """Current resident set size of this process (MB), from /proc."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _models(channels: int, stem_kernel: int):
    """The dilated preset and an undilated stack with the same parameters (only the dilations differ)."""
    from seqfcn.nn.models import create_model

    common = dict(head_task="multilabel", channels=channels, stem_kernel=stem_kernel)
    torch.manual_seed(0)
    dilated = create_model("dilated_fcn_32k", **common)
    torch.manual_seed(0)
    undilated = create_model("dilated_fcn_32k", dilations=[1] * 14, **common)
    return dilated, undilated


# ---------------------------------------------------------------- memory / throughput
def measure(kind: str, threads: int) -> dict:
    """One measurement in this (fresh) process; ``kind`` is infer_1mb, train_64k or train_64k_ckpt."""
    from seqfcn.nn.models import create_model
    from seqfcn.runtime.tiling import predict_tiled

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = create_model("dilated_fcn_32k")
    rng = np.random.default_rng(0)
    if kind == "infer_1mb":
        n = 1_000_000
        codes = rng.integers(0, 4, n)
        seq = torch.zeros(4, n)
        seq[torch.from_numpy(codes), torch.arange(n)] = 1.0
        model.eval()
        margin = max(model.receptive_margins)
        base = _rss_mb()
        t0 = time.perf_counter()
        out = predict_tiled(model, seq, None, 65_536, margin, batch_size=1)
        dt = time.perf_counter() - t0
        return {"kind": kind, "seconds": dt, "bases_per_s": n / dt, "peak_rss_mb": _peak_rss_mb(),
                "delta_rss_mb": _peak_rss_mb() - base, "out_shape": list(out.shape), "margin": margin}
    length = 65_536
    model.set_gradient_checkpointing(kind == "train_64k_ckpt")
    codes = rng.integers(0, 4, length)
    x = torch.zeros(1, 4, length)
    x[0, torch.from_numpy(codes), torch.arange(length)] = 1.0
    y = torch.rand(1, 1, length)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    base = _rss_mb()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    dt = float(np.median(times))
    return {"kind": kind, "seconds": dt, "bases_per_s": length / dt, "peak_rss_mb": _peak_rss_mb(),
            "delta_rss_mb": _peak_rss_mb() - base}


def run_measure(kind: str, threads: int) -> dict:
    cmd = [sys.executable, __file__, "--measure", kind, "--threads", str(threads)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- long-range task
def erf_width(profile: np.ndarray, mass: float = 0.9) -> int:
    """Width (bases) of the smallest central window holding ``mass`` of an ERF profile ``(L,)``."""
    mid = profile.shape[0] // 2
    total = profile.sum()
    for half in range(mid):
        if profile[mid - half : mid + half + 1].sum() >= mass * total:
            return 2 * half + 1
    return profile.shape[0]


def longrange(args: argparse.Namespace) -> dict:
    from seqfcn.training.longrange import LongRangeDataset, fit_longrange, promoter_auroc
    from seqfcn.nn.models import count_parameters
    from seqfcn.nn.receptive import (
        effective_receptive_field,
        empirical_receptive_field,
        plot_effective_receptive_field,
    )

    stages = [tuple(st) for st in json.loads(args.stages)]
    args.d_max = max(st[0] for st in stages)
    distances = [d for d in (100, 300, 1000, 3000, 10_000) if d <= args.d_max]
    result: dict = {"stages": stages, "batch_size": args.batch_size, "lr": args.lr, "models": {}}
    result.update(channels=args.channels, stem_kernel=args.stem_kernel)
    for name, model in zip(("dilated", "undilated"), _models(args.channels, args.stem_kernel)):
        t0 = time.perf_counter()
        losses = fit_longrange(model, stages, batch_size=args.batch_size, lr=args.lr, seed=0,
                               log=lambda m, n=name: print(f"[{n}] {m}", file=sys.stderr, flush=True))
        train_s = time.perf_counter() - t0
        aurocs = {}
        for d in distances:
            val = LongRangeDataset(args.n_val, d, seed=777_000 + d)
            aurocs[d] = promoter_auroc(model, val, batch_size=8)
            print(f"[{name}] d={d} AUROC {aurocs[d]:.3f}", file=sys.stderr, flush=True)
        info = {"params": count_parameters(model), "analytic_rf": model.receptive_field,
                "train_seconds": train_s, "final_loss": float(np.mean(losses[-20:])), "auroc": aurocs}
        if name == "dilated":
            info["empirical_rf"] = empirical_receptive_field(model, length=2 * model.receptive_field + 1024)
            profile = effective_receptive_field(model, length=args.erf_length, n_samples=2)
            info["erf_width_90"] = erf_width(profile, 0.9)
            info["erf_width_99"] = erf_width(profile, 0.99)
            plot_effective_receptive_field(profile, HERE / "longrange_erf.png", theoretical=model.receptive_field,
                                           title="dilated_fcn_32k trained on the enhancer task: effective RF")
            os.chmod(HERE / "longrange_erf.png", 0o644)
        result["models"][name] = info
    return result


def write_markdown(res: dict, path: Path) -> None:
    lr, mem = res["longrange"], res["memory"]
    dil, und = lr["models"]["dilated"], lr["models"]["undilated"]
    lines = [
        "# Long-range benchmark (issue 7)",
        "",
        f"Date: {res['date']}. Machine: {res['machine']}, {res['threads']} torch threads, CPU only "
        f"(no GPU in this run). Command: `{res['command']}` (total {res['total_seconds']:.0f} s).",
        "",
        "## Synthetic enhancer → promoter task (AUROC vs distance d)",
        "",
        "Promoter label 1 iff an enhancer (8 × CACGTGAC) lies d bases away (centre to centre, up- or "
        "downstream); random background; one score per held-out item (mean promoter logit), "
        f"{res['n_val']} items per d, about half positive. Both models: `dilated_fcn_32k` with "
        f"channels={lr['channels']}, stem_kernel={lr['stem_kernel']} (the undilated one with dilations=[1]*14). "
        f"Training: curriculum {lr['stages']} "
        f"(d_max, steps, batch), AdamW lr {lr['lr']}, d log-uniform in [64, d_max].",
        "",
        "| model | params | analytic RF | " + " | ".join(f"d = {d}" for d in dil["auroc"]) + " | train s |",
        "|---|---|---|" + "---|" * len(dil["auroc"]) + "---|",
    ]
    for name, m in (("dilated_fcn_32k (dilations 1..8192)", dil), ("undilated (same preset, dilations 1)", und)):
        lines.append(f"| {name} | {m['params']:,} | {m['analytic_rf']:,} | "
                     + " | ".join(f"{v:.3f}" for v in m["auroc"].values()) + f" | {m['train_seconds']:.0f} |")
    lines += [
        "",
        f"Receptive field of the trained dilated model: analytic {dil['analytic_rf']:,} bp, measured from "
        f"input gradients {dil['empirical_rf']:,} bp; effective (mean |gradient| on random one-hot input, "
        f"length {res['erf_length']:,}): 90 % of the mass within {dil['erf_width_90']:,} bp, "
        f"99 % within {dil['erf_width_99']:,} bp. Plot: `benchmarks/longrange_erf.png`.",
        "",
        "## Memory and throughput (dilated_fcn_32k, 16 channels, CPU)",
        "",
        "Each row in a fresh process; peak RSS = `ru_maxrss`; Δ = peak minus RSS before the timed work "
        "(model and encoded input already built).",
        "",
        "| workload | time (s) | bases/s | peak RSS (MB) | Δ peak (MB) |",
        "|---|---|---|---|---|",
    ]
    names = {"infer_1mb": "inference, 1 Mbp, predict_tiled (window 65,536, margin 16,384, batch 1)",
             "train_64k": "training step, 64 kb (65,536), batch 1, no checkpointing",
             "train_64k_ckpt": "training step, 64 kb (65,536), batch 1, gradient checkpointing"}
    for kind, m in mem.items():
        lines.append(f"| {names[kind]} | {m['seconds']:.2f} | {m['bases_per_s']:,.0f} | "
                     f"{m['peak_rss_mb']:.0f} | {m['delta_rss_mb']:.0f} |")
    lines += ["", "GPU: not measured (no GPU in this task).", ""]
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".md")
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines))
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    ap.add_argument("--stages", default=json.dumps(DEFAULT_STAGES),
                    help="JSON list of [d_max, steps, batch] curriculum stages")
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--stem-kernel", type=int, default=9)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--n-val", type=int, default=128)
    ap.add_argument("--erf-length", type=int, default=40_000)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--out", default=str(HERE / "results_longrange.md"))
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.threads)))
        return
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    res: dict = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                 "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
                 "threads": args.threads,
                 "command": "python " + " ".join(["benchmarks/bench_longrange.py"] + sys.argv[1:]),
                 "n_val": args.n_val, "erf_length": args.erf_length}
    res["memory"] = {} if args.skip_memory else {k: run_measure(k, args.threads)
                                                 for k in ("infer_1mb", "train_64k", "train_64k_ckpt")}
    print(json.dumps(res["memory"], indent=1), file=sys.stderr, flush=True)
    res["longrange"] = longrange(args)
    res["total_seconds"] = time.perf_counter() - t0
    out = Path(args.out)
    write_markdown(res, out)
    out.with_suffix(".json").write_text(json.dumps(res, indent=1, default=str))
    print(out.read_text())


if __name__ == "__main__":
    main()
