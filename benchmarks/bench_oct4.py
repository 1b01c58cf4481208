"""Oct4 ChIP-seq peaks: learned motif model vs the JASPAR Oct4 PWMs, one run.

Data: data/chip/Oct4_peaks_top1000_mm9.fa (1,000 real Oct4 peak sequences,
150-839 bp, median 399). For each seed: a seeded 20% of the peaks is held out;
negatives are two dinucleotide shuffles per peak (seqfcn.motifs.shuffle), in training
and in the hold-out. Items are
400 bp (random crop/pad and strand for training, centred for the hold-out).

Learned: ``train_motif_model`` — MotifScanner (16 filters × 19 bp, both
strands max, 16 channels, 2 dilated layers, 1 output), per-base labels 1 over
the central 100 bp of a peak, BCE + Dice, AdamW lr 1e-2, batch 32, 15 epochs,
one CPU thread; the final weights are kept (the hold-out is not used to pick an
epoch). Sequence score = max per-base probability.

Peer: the JASPAR matrices MA0142.1 (Pou5f1::Sox2) and MA1115.2 (POU5F1) as
log-odds PWMs (FIMO pseudocount 0.1, uniform background), sequence score =
best log-odds over both strands and all positions (``MotifConv.from_motifs``).

Filters: importance = held-out AUROC drop when a filter is zeroed
(``filter_importance``); each filter → softmax PWM, end columns below 20% of
its top information content trimmed, ranked against all 879 JASPAR 2024
vertebrate motifs by mean column Pearson correlation (min overlap 5, both
strands; ``seqfcn.motifs.compare``). Null: the same rank for random N(0, 1)
filters of the same shape.

Usage: python benchmarks/bench_oct4.py [--seeds 0 1 2] [--epochs 15] [--null 300]
"""
from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from seqfcn.io.motifs import read_motifs
from seqfcn.checkpoint import save_model
from seqfcn.metrics import auroc, average_precision
from seqfcn.motifs.compare import filter_to_pwm, rank_matches, rank_of, trim_pwm
from seqfcn.nn.layers import MotifConv
from seqfcn.motifs.peaks import filter_importance, motif_datasets, sequence_scores, train_motif_model
from seqfcn.train import TrainConfig

REPO = Path(__file__).resolve().parents[1]
PEAKS = REPO / "data" / "chip" / "Oct4_peaks_top1000_mm9.fa"
JASPAR = REPO / "seqfcn" / "shipped" / "motifs" / "JASPAR2024_CORE_vertebrates_non-redundant.meme"
TARGETS = ("MA0142.1", "MA1115.2")
MODEL = dict(n_motifs=16, motif_width=19, channels=16, n_layers=2)


def _ranks(weight: np.ndarray, motifs: list) -> tuple[list[int], str]:
    table = rank_matches(trim_pwm(filter_to_pwm(weight), 0.2, relative=True), motifs)
    top = table.iloc[0]
    return [rank_of(table, t) for t in TARGETS], f"{top['name']} ({top['id']}, {top['similarity']:.3f})"


@torch.no_grad()
def pwm_scores(motif, dataset) -> tuple[float, float]:
    """(AUROC, AUPRC) of the best log-odds over both strands and positions."""
    conv = MotifConv.from_motifs([motif], strand="both_max")
    xs = torch.stack([dataset[i]["x"] for i in range(len(dataset))])
    scores = conv(xs).amax(dim=(1, 2)).numpy()
    return auroc(scores, dataset.labels), average_precision(scores, dataset.labels)


def run_seed(seed: int, epochs: int, motifs: list, init: list, save: Path | None = None) -> dict:
    cfg = TrainConfig(epochs=epochs, batch_size=32, lr=1e-2, loss="bce_dice", warmup_steps=10, device="cpu",
                      progress=False, tensorboard=False, seed=seed, restore_best=False)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        model, result = train_motif_model(PEAKS, out, length=400, holdout=0.2, n_shuffles=2, label_mode="center",
                                          center_width=100, model_options=MODEL, config=cfg, init_motifs=init)
        if save is not None:
            save_model(model, save, metadata={"task": "motif", "config": {"train": {"loss": "bce_dice"}},
                                              "init_motifs": [m.id for m in init], "seed": seed})
    train_s = time.perf_counter() - t0
    _, val = motif_datasets(PEAKS, length=400, holdout=0.2, seed=seed, n_shuffles=2, label_mode="center",
                            center_width=100)
    base, drops = filter_importance(model, val)
    scores, labels = sequence_scores(model, val)
    auprc = average_precision(scores, labels)
    weights = model.motif_conv.weight.detach().numpy()
    order = np.argsort(-drops)
    per_filter = [(int(k), float(drops[k]), *_ranks(weights[k], motifs)) for k in order]
    by_id = {m.id: m for m in motifs}
    return {
        "seed": seed, "train_s": train_s, "auroc": base, "auprc": auprc, "per_base_val_auroc": result.get("val_auroc"),
        "pwm": {t: pwm_scores(by_id[t], val) for t in TARGETS},
        "filters": per_filter,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--null", type=int, default=300, help="random filters for the rank null")
    ap.add_argument("--init", default="", help="comma-separated JASPAR ids the first filters start from "
                    "(e.g. MA0142.1,MA1115.2; default: random filters)")
    ap.add_argument("--save", type=Path, help="save the first seed's model here (for seqfcn discover)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    motifs = read_motifs(JASPAR)
    init = [next(m for m in motifs if m.id == i) for i in args.init.split(",") if i]
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, torch {torch.__version__}, 1 thread")
    print(f"# init: {args.init or 'random filters'}")
    print("| seed | held-out AUROC / AUPRC (learned) | MA0142.1 PWM | MA1115.2 PWM | train s | top filter: drop, "
          "rank MA0142.1 / MA1115.2, best match | best rank over top-3 filters |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for seed in args.seeds:
        r = run_seed(seed, args.epochs, motifs, init, args.save if seed == args.seeds[0] else None)
        rows.append(r)
        k, drop, ranks, best = r["filters"][0]
        top3 = min(min(f[2]) for f in r["filters"][:3])
        a1, p1 = r["pwm"]["MA0142.1"]
        a2, p2 = r["pwm"]["MA1115.2"]
        print(f"| {seed} | {r['auroc']:.4f} / {r['auprc']:.4f} | {a1:.4f} / {p1:.4f} | {a2:.4f} / {p2:.4f} | "
              f"{r['train_s']:.0f} | #{k}: {drop:.3f}, {ranks[0]} / {ranks[1]}, {best} | {top3} |", flush=True)
        for k, drop, ranks, best in r["filters"][:4]:
            print(f"    seed {seed} filter {k}: drop {drop:.3f}, ranks {ranks}, best {best}", flush=True)
    for what, i in (("AUROC", 0), ("AUPRC", 1)):
        learned = np.array([r["auroc" if i == 0 else "auprc"] for r in rows])
        pwm = np.array([max(r["pwm"][t][i] for t in TARGETS) for r in rows])
        print(f"{what}: learned {learned.mean():.4f} ± {learned.std():.4f}, best PWM {pwm.mean():.4f} ± "
              f"{pwm.std():.4f}, learned - best PWM per seed: min {np.min(learned - pwm):+.4f}, "
              f"mean {np.mean(learned - pwm):+.4f}")
    rng = np.random.default_rng(0)
    null = np.array([min(_ranks(rng.normal(size=(4, MODEL["motif_width"])), motifs)[0])
                     for _ in range(args.null)])
    print(f"null ({args.null} random N(0,1) filters): P(min rank <= 25) = {np.mean(null <= 25):.3f}, "
          f"P(<= 10) = {np.mean(null <= 10):.3f}, median min rank {np.median(null):.0f}")


if __name__ == "__main__":
    main()
