"""A pretrained masked-base trunk: held-out bits per base against its baselines, and transfer to Oct4.

``--job likelihood``: each trunk (``--trunk NAME=MODEL``, trained with ``seqfcn train --task mask``
on ``--genome``) scored by ``seqfcn.interpret.likelihood.evaluate_mask`` on the genome's hold-out
(the last 10 % of every record, which training never saw), beside interpolated order-k Markov models
(k = 1..12, fitted on the rest of the genome, both strands; the best named) and ``xz -9e``; by class
(uppercase / lowercase / tandem repeats of period 1-6 / multicopy: covered by a 24-mer seen twice or
more). Whole-process wall time and peak RSS of each evaluation are printed too.

``--job transfer``: Oct4 ChIP-seq peaks (``data/chip/Oct4_peaks_top1000_mm9.fa``, mouse; the split,
items and held-out negatives of ``bench_oct4.py``: 20 % of the peaks held out, two dinucleotide
shuffles per held-out peak, and two GC-matched genomic windows of human chrX per held-out peak).
For each seed and each number of training peaks (``--peaks 100 300``; ``all``), the trunk's
architecture with a new 1x1 head is trained from random weights and from the pretrained trunk
(``train_motif_model(init_from=...)``) with the same recipe (``PEAK_TRAINING`` with ``--epochs``,
``--freeze-steps`` head-only steps for the pretrained one), one CPU thread; the held-out sequence
AUROC against shuffles and against genomic windows is reported per seed, with the per-seed margin.

Usage:
  python benchmarks/bench_trunk.py likelihood --genome chrX_dev.fa --trunk 1k=runs/t1k/model ...
  python benchmarks/bench_trunk.py transfer --trunk runs/t1k/model [--seeds 0 1 2 3 4] [--peaks 100 300]
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # bench_oct4's split and genomic negatives


def likelihood(args: argparse.Namespace) -> None:
    print(f"# {platform.node()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; genome {args.genome}; "
          f"regions {args.regions or 'the hold-out'}")
    results = {}
    for spec in args.trunk:
        name, model = spec.split("=", 1)
        t0 = time.perf_counter()
        cmd = [sys.executable, "-m", "seqfcn", "evaluate", "mask", "--model", model, "--genome", args.genome,
               "--json", "-q", "--threads", str(args.threads), "--max-order", str(args.max_order if not results else 0)]
        if results:
            cmd.append("--no-compressor")  # the baselines do not depend on the trunk: once
        if args.regions:
            cmd += ["--regions", args.regions]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
        results[name] = {**json.loads(out), "wall_s": time.perf_counter() - t0, "peak_mb": peak}
        print(f"# {name}: {results[name]['wall_s']:.0f} s, peak {peak:.0f} MB (the first includes the baselines)",
              flush=True)
    first = next(iter(results.values()))
    classes = ("all", "uppercase", "lowercase", "tandem", "multicopy")

    def cell(r: dict, c: str, key: str = "bits_per_base") -> str:
        v = r[key] if c == "all" else r["classes"][c].get(key)
        return "—" if v is None else f"{v:.4f}"

    print("| class | positions | " + " | ".join(f"trunk {n} (RF {r['receptive_field']:,})" for n, r in results.items())
          + f" | Markov k={first['markov']['best_order']} | xz -9e |")
    print("|---|---|" + "---|" * (len(results) + 2))
    for c in classes:
        n = first["positions"] if c == "all" else first["classes"][c]["positions"]
        markov = first["markov"]["bits_per_base"] if c == "all" else first["classes"][c]["markov_bits_per_base"]
        xz = f"{first['compressor']['bits_per_base']:.4f}" if c == "all" else "—"
        print(f"| {c} | {n:,} | " + " | ".join(cell(r, c) for r in results.values())
              + f" | {'—' if markov is None else f'{markov:.4f}'} | {xz} |")
    orders = first["markov"]["orders"]
    print("Markov by order: " + ", ".join(f"k={r['order']}: {r['bits_per_base']:.4f}" for r in orders))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


def _transfer_run(trunk: str, seed: int, peaks: int | None, pretrained: bool, args, genome) -> dict:
    import torch

    from bench_oct4 import LENGTH, PEAKS, genomic_holdout

    from seqfcn.motifs.peaks import PEAK_TRAINING, MotifTrainingOptions, motif_datasets, sequence_scores
    from seqfcn.motifs.peaks import train_motif_model
    from seqfcn.nn.checkpoint import load_model
    from seqfcn.training.metrics import auroc
    from seqfcn.training.trainer import TrainConfig

    net, _ = load_model(trunk)
    options = {k: v for k, v in net.config.items() if k not in ("name", "n_outputs", "head_task")}
    train = {**PEAK_TRAINING, "epochs": args.epochs, "freeze_steps": args.freeze_steps if pretrained else 0}
    cfg = TrainConfig(**train, device="cpu", progress=False, tensorboard=False, plot=False, seed=seed)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        opts = MotifTrainingOptions(length=LENGTH, holdout=0.2, n_shuffles=1, label_mode="center", center_width=100,
                                    model_name=net.config["name"], model_options={**options, "head_task": "multilabel"},
                                    config=cfg, train_peaks=peaks, init_from=trunk if pretrained else None)
        model, _ = train_motif_model(PEAKS, out, opts)
    train_s = time.perf_counter() - t0
    _, val = motif_datasets(PEAKS, length=LENGTH, holdout=0.2, seed=seed, n_shuffles=2, label_mode="center",
                            center_width=100)
    with torch.no_grad():
        row = {"shuffles": auroc(*sequence_scores(model, val)), "train_s": train_s}
        if genome is not None:
            row["genomic"] = auroc(*sequence_scores(model, genomic_holdout(seed, genome)))
    return row


def transfer(args: argparse.Namespace) -> None:
    import torch

    from bench_oct4 import genomic_fasta

    torch.set_num_threads(1)
    genome = genomic_fasta(args.genomic)
    when = time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())
    print(f"# {platform.node()}, torch {torch.__version__}, 1 thread, {when}; "
          f"trunk {args.trunk}; epochs {args.epochs}; pretrained: {args.freeze_steps} head-only steps first")
    print("| peaks | seed | AUROC vs shuffles: random init | pretrained | vs genomic: random init | pretrained "
          "| train s (random / pretrained) |")
    print("|---|---|---|---|---|---|---|")
    margins: dict[str, list] = {}
    for n in args.peaks:
        peaks = None if n == "all" else int(n)
        for seed in args.seeds:
            rand = _transfer_run(args.trunk, seed, peaks, False, args, genome)
            pre = _transfer_run(args.trunk, seed, peaks, True, args, genome)
            margins.setdefault(n, []).append((pre["shuffles"] - rand["shuffles"], pre.get("genomic", np.nan)
                                              - rand.get("genomic", np.nan)))
            print(f"| {n} | {seed} | {rand['shuffles']:.4f} | {pre['shuffles']:.4f} | "
                  f"{rand.get('genomic', np.nan):.4f} | {pre.get('genomic', np.nan):.4f} | "
                  f"{rand['train_s']:.0f} / {pre['train_s']:.0f} |", flush=True)
    for n, m in margins.items():
        m = np.array(m)
        print(f"peaks {n}: pretrained - random, per seed: shuffles min {m[:, 0].min():+.4f} "
              f"mean {m[:, 0].mean():+.4f}; genomic min {m[:, 1].min():+.4f} mean {m[:, 1].mean():+.4f}; "
              f"pretrained ahead on "
              f"{int((m[:, 0] > 0).sum())}/{len(m)} seeds (shuffles), {int((m[:, 1] > 0).sum())}/{len(m)} (genomic)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="job", required=True)
    lk = sub.add_parser("likelihood")
    lk.add_argument("--genome", required=True)
    lk.add_argument("--trunk", action="append", required=True, metavar="NAME=MODEL")
    lk.add_argument("--regions", help="BED of the stretches to score (default: the trunks' training hold-out)")
    lk.add_argument("--max-order", type=int, default=12)
    lk.add_argument("--threads", type=int, default=2)
    lk.add_argument("--json")
    tr = sub.add_parser("transfer")
    tr.add_argument("--trunk", required=True)
    tr.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    tr.add_argument("--peaks", nargs="+", default=["100", "300"])
    tr.add_argument("--epochs", type=int, default=25)
    tr.add_argument("--freeze-steps", type=int, default=50)
    tr.add_argument("--genomic", help="FASTA for GC-matched genomic negatives (default: bench_oct4's; none: skip)")
    args = ap.parse_args()
    likelihood(args) if args.job == "likelihood" else transfer(args)


if __name__ == "__main__":
    main()
