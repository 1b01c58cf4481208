"""Profile task on real peak sequences (issue 7, item 3): `seqfcn train --task profile`
with the dilated model, on a "peaks-in-sequence" chromosome built from the Oct4 ChIP-seq
peak set (data/chip/Oct4_peaks_top1000_mm9.fa, 1000 mouse ES-cell peaks).

Construction (seeded): one synthetic chromosome ``oct4peaks`` = for each peak in file
order, a background gap (a dinucleotide shuffle of the *next* peak: same composition, no
motif arrangement) followed by the real peak sequence. Labels:

* ``peaks_center.bed``: the central ``--center`` bases of every peak (bound sites
  concentrate at the peak centre) -> binary per-base target, loss ``bce_dice``,
  metrics AUPRC / AUROC;
* ``peaks_signal.bedGraph``: a Gaussian bump (sigma = ``--center`` / 2, peak height 1) at
  every peak centre -> real-valued per-base target, loss ``mse``, metric Pearson r.

Both are trained with :func:`seqfcn.training.tasks.train_task` (what ``seqfcn train --task profile
--genome oct4peaks.fa --labels ... --config cfg.json`` runs) using ``dilated_fcn_32k`` at
small width; validation = the task's hold-out (the last 10 % of the chromosome, ~100
peaks never seen in training). Results are printed and appended to
``benchmarks/results_longrange.md`` with ``--append``.

    python benchmarks/bench_profile.py [--steps 600] [--threads 2] [--append]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

HERE = Path(__file__).resolve().parent
PEAKS = HERE.parent / "data" / "chip" / "Oct4_peaks_top1000_mm9.fa"


def build_chromosome(center: int, seed: int = 0) -> tuple[str, list[tuple[int, int]]]:
    """The synthetic chromosome and the ``(start, end)`` of every real peak in it."""
    from seqfcn.motifs.peaks import read_sequences
    from seqfcn.sequence.shuffle import dinucleotide_shuffle

    _, seqs = read_sequences(PEAKS)
    rng = np.random.default_rng(seed)
    parts, peaks, pos = [], [], 0
    for i, seq in enumerate(seqs):
        gap = dinucleotide_shuffle(seqs[(i + 1) % len(seqs)], rng)
        parts += [gap, seq]
        pos += len(gap)
        peaks.append((pos, pos + len(seq)))
        pos += len(seq)
    return "".join(parts), peaks


def write_inputs(directory: Path, center: int) -> tuple[Path, Path, Path]:
    from seqfcn.io.intervals import write_bed, write_bedgraph

    chrom, peaks = build_chromosome(center)
    fasta = directory / "oct4peaks.fa"
    with open(fasta, "w") as fh:
        fh.write(">oct4peaks\n")
        for i in range(0, len(chrom), 80):
            fh.write(chrom[i : i + 80] + "\n")
    mids = np.array([(a + b) // 2 for a, b in peaks])
    bed = pd.DataFrame({"chrom": "oct4peaks", "start": mids - center // 2, "end": mids + (center - center // 2)})
    write_bed(bed, directory / "peaks_center.bed")
    signal = np.zeros(len(chrom), dtype=np.float32)
    sigma, reach = center / 2, 4 * center
    offsets = np.arange(-reach, reach + 1)
    bump = np.exp(-0.5 * (offsets / sigma) ** 2).astype(np.float32)
    for m in mids:
        lo, hi = max(0, m - reach), min(len(chrom), m + reach + 1)
        signal[lo:hi] = np.maximum(signal[lo:hi], bump[lo - (m - reach) : hi - (m - reach)])
    signal[signal < 1e-3] = 0.0
    write_bedgraph({"oct4peaks": signal}, directory / "peaks_signal.bedGraph")
    return fasta, directory / "peaks_center.bed", directory / "peaks_signal.bedGraph"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--window", type=int, default=1024)
    ap.add_argument("--center", type=int, default=100)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--stem-kernel", type=int, default=15)
    ap.add_argument("--append", action="store_true", help="append the table to benchmarks/results_longrange.md")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from seqfcn.training.tasks import train_task

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        fasta, bed, bedgraph = write_inputs(tmp, args.center)
        for kind, labels, metrics in (("BED peak centres", bed, ("val_auprc", "val_auroc")),
                                      ("bedGraph Gaussian signal", bedgraph, ("val_pearson",))):
            config = {
                "model": {"name": "dilated_fcn_32k", "channels": args.channels, "stem_kernel": args.stem_kernel},
                "train": {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr, "warmup_steps": 20,
                          "eval_every": args.steps, "progress": False, "tensorboard": False, "plot": False},
                "data": {"window": args.window, "train_windows": args.steps * args.batch_size, "val_windows": 256,
                         "holdout": 0.1},
            }
            (tmp / "cfg.json").write_text(json.dumps(config))
            t0 = time.perf_counter()
            train_task("profile", fasta, tmp / f"out_{len(rows)}", config=config, labels=labels,
                       device="cpu", seed=0)
            dt = time.perf_counter() - t0
            hist = pd.read_csv(tmp / f"out_{len(rows)}" / "metrics.csv")
            last = hist.iloc[-1].to_dict()
            rows.append({"labels": kind, "seconds": dt, **{m: float(last[m]) for m in metrics if m in last},
                         "val_loss": float(last.get("val_loss", float("nan")))})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    lines = [
        "",
        "## Profile task on the Oct4 peak set (`seqfcn train --task profile`)",
        "",
        f"Command: `python {' '.join(['benchmarks/bench_profile.py'] + sys.argv[1:])}`. "
        f"Synthetic chromosome of the 1000 Oct4 peaks (mm9) separated by dinucleotide shuffles of "
        f"peaks; model `dilated_fcn_32k` (channels {args.channels}, stem_kernel {args.stem_kernel}, RF "
        f"{32_766 + args.stem_kernel:,}), windows {args.window} bp, batch {args.batch_size}, {args.steps} steps, "
        f"lr {args.lr}; validation = last 10 % of the chromosome (held-out peaks), 256 windows; metrics per base.",
        "",
        "| labels | loss | metric(s) on held-out peaks | train s |",
        "|---|---|---|---|",
    ]
    for r in rows:
        loss = "bce_dice" if "val_auprc" in r else "mse"
        mets = ", ".join(f"{k[4:]} {v:.3f}" for k, v in r.items() if k.startswith("val_") and k != "val_loss")
        lines.append(f"| {r['labels']} | {loss} | {mets} | {r['seconds']:.0f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.append:
        target = HERE / "results_longrange.md"
        old = target.read_text() if target.exists() else ""
        fd, tmpname = tempfile.mkstemp(dir=HERE, suffix=".md")
        with os.fdopen(fd, "w") as fh:
            fh.write(old + text)
        os.chmod(tmpname, 0o644)
        os.replace(tmpname, target)


if __name__ == "__main__":
    main()
