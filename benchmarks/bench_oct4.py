"""Oct4 ChIP-seq peaks: learned motif model vs the JASPAR Oct4 PWMs, one run.

Data: data/chip/Oct4_peaks_top1000_mm9.fa (1,000 real Oct4 peak sequences,
150-839 bp, median 399). For each seed: a seeded 20% of the peaks is held out;
training negatives are, per peak, one dinucleotide and one 4-mer shuffle
(``PEAK_SHUFFLE_ORDERS``, ``seqfcn.sequence.shuffle.kmer_shuffle``; ``--orders``, ``--shuffles``).
Items are 400 bp (random crop/pad and strand for training, centred for the hold-out).

Held-out negatives, two sets, each scored against the same held-out peaks:
- **shuffles**: two dinucleotide shuffles per held-out peak;
- **genomic**: two real genomic 400 bp windows per held-out peak, each GC-matched to
  that peak's centred 400 bp (within 0.02, ``genomic_background(gc=...)``), from the
  second half of each chromosome of ``--genomic FASTA``. Default: human chrX of GRCh37
  (70 Mbp, ``hs37chrXtrunc.fa.gz`` of Debian's ``smalt-examples``), because mm9 is not on
  this machine: real mammalian sequence (repeats, CpG depletion, low-complexity
  stretches). A model trained on shuffles alone never saw it, so it can not have
  learned a species difference.

``--train-genomic N`` adds N GC-matched windows per training peak to the training negatives,
from the *first* half of each chromosome (the held-out windows come from the second half).
Caveat: those windows are human, the peaks mouse; a model trained on them could use species
differences (repeat families) that a PWM cannot, so only models trained without them give a
clean comparison against genomic negatives.

Learned: ``train_motif_model`` with ``seqfcn.motifs.peaks.PEAK_TRAINING`` unless
overridden (``--loss``, ``--lr``, ``--epochs``): MotifScanner (16 filters × 19 bp, both
strands max, 16 channels, 2 dilated layers, 1 output), per-base labels 1 over the central
100 bp of a peak, random filters (``--init`` seeds the first filters from JASPAR
matrices), one CPU thread; the final weights are kept (the hold-out is not used to pick
an epoch). Sequence score = max per-base probability.

Peer: the JASPAR matrices MA0142.1 (Pou5f1::Sox2) and MA1115.2 (POU5F1) as
log-odds PWMs (FIMO pseudocount 0.1, uniform background), sequence score =
best log-odds over both strands and all positions (``MotifConv.from_motifs``).

Filters: importance = held-out AUROC drop when a filter is zeroed
(``filter_importance``); each filter → softmax PWM, end columns below 20% of
its top information content trimmed, ranked against all 879 JASPAR 2024
vertebrate motifs by mean column Pearson correlation (min overlap 5, both
strands; ``seqfcn.sequence.compare``). Null: the same rank for random N(0, 1)
filters of the same shape.

Usage: python benchmarks/bench_oct4.py [--seeds 0 1 2 3 4] [--loss L] [--lr X] [--epochs N]
           [--init MA0142.1,MA1115.2] [--genomic FASTA|none] [--train-genomic N] [--shuffles N] [--orders 2,4]
           [--save DIR] [--null 300]
"""
from __future__ import annotations

import argparse
import gzip
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from seqfcn.io.motifs import read_motifs
from seqfcn.nn.checkpoint import save_model
from seqfcn.training.metrics import auroc, average_precision
from seqfcn.sequence.compare import filter_to_pwm, rank_matches, rank_of, trim_pwm
from seqfcn.nn.layers import MotifConv
from seqfcn.motifs.peaks import (PEAK_SHUFFLE_ORDERS, PEAK_TRAINING, MotifTrainingOptions, PeakDataset,
                                 filter_importance, gc_fraction, genomic_background, holdout_split, motif_datasets,
                                 read_sequences, sequence_scores, train_motif_model)
from seqfcn.training.trainer import TrainConfig

REPO = Path(__file__).resolve().parents[1]
PEAKS = REPO / "data" / "chip" / "Oct4_peaks_top1000_mm9.fa"
JASPAR = REPO / "seqfcn" / "resources" / "motifs" / "JASPAR2024_CORE_vertebrates_non-redundant.meme"
TARGETS = ("MA0142.1", "MA1115.2")
SMALT_CHRX = Path("/usr/share/doc/smalt/test/data/hs37chrXtrunc.fa.gz")
LENGTH = 400
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


def genomic_fasta(path: str | None) -> Path | None:
    """The FASTA of genomic negatives: ``path``, or smalt's GRCh37 chrX unpacked once to the temp dir."""
    if path == "none":
        return None
    if path:
        return Path(path)
    if not SMALT_CHRX.exists():
        print("# no genomic negatives: apt-get install smalt-examples, or give --genomic FASTA")
        return None
    plain = Path(tempfile.gettempdir()) / "seqfcn_bench_hs37chrX.fa"
    if not plain.exists():
        part = Path(f"{plain}.{os.getpid()}.part")  # two benchmark processes may unpack it at once
        with gzip.open(SMALT_CHRX, "rb") as src, open(part, "wb") as dst:
            shutil.copyfileobj(src, dst)
        part.replace(plain)
    return plain


def _halves(genome: Path) -> tuple[dict, dict]:
    """``exclude`` maps that keep windows in the first / the second half of every chromosome."""
    from seqfcn.io.fasta import Genome

    with Genome(genome) as g:
        sizes = g.chrom_sizes
    return ({c: [(n // 2, n)] for c, n in sizes.items()}, {c: [(0, n // 2)] for c, n in sizes.items()})


def genomic_windows(genome: Path, seqs: list[str], indices, seed: int, exclude: dict, per_peak: int = 2
                    ) -> list[str]:
    """``per_peak`` real 400 bp windows per peak of ``indices``, GC-matched to the peak's centred 400 bp."""
    gc = []
    for i in indices:
        a = max(0, (len(seqs[i]) - LENGTH) // 2)
        gc += [gc_fraction(seqs[i][a : a + LENGTH])] * per_peak
    return genomic_background(genome, [LENGTH] * len(gc), gc=gc, exclude=exclude, seed=seed)


def _split(seed: int) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """The peaks' names and sequences and the seed's (training, held-out) indices."""
    names, seqs = read_sequences(PEAKS)
    return (names, seqs, *holdout_split(len(seqs), 0.2, seed))


def genomic_holdout(seed: int, genome: Path) -> PeakDataset:
    """The held-out peaks (centred 400 bp) against two GC-matched windows each from the second
    half of every chromosome (training windows, with ``--train-genomic``, come from the first)."""
    names, seqs, _, val_idx = _split(seed)
    background = genomic_windows(genome, seqs, val_idx, seed, _halves(genome)[1])
    return PeakDataset(seqs, LENGTH, names=names, indices=val_idx, negatives=background, random_crop=False,
                       reverse_complement=False, seed=seed)


def genomic_training(seed: int, genome: Path, per_peak: int) -> list[str]:
    """``per_peak`` GC-matched windows per training peak, from the first half of every chromosome."""
    _, seqs, train_idx, _ = _split(seed)
    return genomic_windows(genome, seqs, train_idx, seed + 1000, _halves(genome)[0], per_peak)


def run_seed(seed: int, train: dict, motifs: list, init: list, genome: Path | None,
             save: Path | None = None, train_genomic: int = 0, shuffles: int = 1,
             orders: tuple[int, ...] = PEAK_SHUFFLE_ORDERS) -> dict:
    cfg = TrainConfig(**{**PEAK_TRAINING, **train}, device="cpu", progress=False, tensorboard=False, seed=seed)
    extra = genomic_training(seed, genome, train_genomic) if train_genomic else []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        options = MotifTrainingOptions(length=LENGTH, holdout=0.2, n_shuffles=shuffles, label_mode="center",
                                       center_width=100, model_options=MODEL, config=cfg, init_motifs=init,
                                       train_negatives=extra, train_shuffle_orders=orders)
        model, result = train_motif_model(PEAKS, out, options)
        if save is not None:
            save_model(model, save, metadata={"task": "motif", "config": {"train": {"loss": cfg.loss}},
                                              "init_motifs": [m.id for m in init], "seed": seed})
    train_s = time.perf_counter() - t0
    _, val = motif_datasets(PEAKS, length=LENGTH, holdout=0.2, seed=seed, n_shuffles=2, label_mode="center",
                            center_width=100)
    base, drops = filter_importance(model, val)
    scores, labels = sequence_scores(model, val)
    auprc = average_precision(scores, labels)
    weights = model.motif_conv.weight.detach().numpy()
    order = np.argsort(-drops)
    per_filter = [(int(k), float(drops[k]), *_ranks(weights[k], motifs)) for k in order]
    by_id = {m.id: m for m in motifs}
    row = {
        "seed": seed, "train_s": train_s, "auroc": base, "auprc": auprc, "per_base_val_auroc": result.get("val_auroc"),
        "pwm": {t: pwm_scores(by_id[t], val) for t in TARGETS},
        "filters": per_filter,
    }
    if genome is not None:
        gen = genomic_holdout(seed, genome)
        s, lab = sequence_scores(model, gen)
        row["genomic"] = {"learned": (auroc(s, lab), average_precision(s, lab)),
                          **{t: pwm_scores(by_id[t], gen) for t in TARGETS}}
    return row


def _summary(rows: list[dict], key: str | None) -> None:
    """Mean ± sd of the learned model and the best PWM, and the per-seed margins."""
    for what, i in (("AUROC", 0), ("AUPRC", 1)):
        if key is None:
            learned = np.array([r["auroc" if i == 0 else "auprc"] for r in rows])
            pwm = np.array([max(r["pwm"][t][i] for t in TARGETS) for r in rows])
        else:
            learned = np.array([r[key]["learned"][i] for r in rows])
            pwm = np.array([max(r[key][t][i] for t in TARGETS) for r in rows])
        print(f"{key or 'shuffles'} {what}: learned {learned.mean():.4f} ± {learned.std():.4f}, best PWM "
              f"{pwm.mean():.4f} ± {pwm.std():.4f}, learned - best PWM per seed: min {np.min(learned - pwm):+.4f}, "
              f"mean {np.mean(learned - pwm):+.4f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--epochs", type=int, help=f"default {PEAK_TRAINING['epochs']} (PEAK_TRAINING)")
    ap.add_argument("--lr", type=float, help=f"default {PEAK_TRAINING['lr']} (PEAK_TRAINING)")
    ap.add_argument("--loss", help=f"default {PEAK_TRAINING['loss']} (PEAK_TRAINING)")
    ap.add_argument("--null", type=int, default=300, help="random filters for the rank null")
    ap.add_argument("--init", default="", help="comma-separated JASPAR ids the first filters start from "
                    "(e.g. MA0142.1,MA1115.2; default: random filters)")
    ap.add_argument("--genomic", help="FASTA for GC-matched genomic negatives (default: smalt-examples' GRCh37 "
                    "chrX; none: skip)")
    ap.add_argument("--train-genomic", type=int, default=0, metavar="N", help="add N GC-matched genomic windows "
                    "per training peak (first half of each chromosome) to the training negatives")
    ap.add_argument("--shuffles", type=int, default=1, help="training shuffles per peak and order")
    ap.add_argument("--orders", default=",".join(map(str, PEAK_SHUFFLE_ORDERS)),
                    help="k-mer orders of the training shuffles (default: PEAK_SHUFFLE_ORDERS)")
    ap.add_argument("--save", type=Path, help="save the first seed's model here (for seqfcn discover)")
    args = ap.parse_args()
    if args.train_genomic and args.genomic == "none":
        ap.error("--train-genomic needs genomic negatives")
    torch.set_num_threads(1)
    motifs = read_motifs(JASPAR)
    init = [next(m for m in motifs if m.id == i) for i in args.init.split(",") if i]
    train = {k: v for k, v in (("epochs", args.epochs), ("lr", args.lr), ("loss", args.loss)) if v is not None}
    genome = genomic_fasta(args.genomic)
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, torch {torch.__version__}, 1 thread, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"# init: {args.init or 'random filters'}; training: {({**PEAK_TRAINING, **train})}; "
          f"genomic negatives: {genome or 'none'}; training negatives per peak: {args.shuffles} shuffle(s) of "
          f"each order {args.orders}, {args.train_genomic} genomic")
    print("| seed | held-out AUROC / AUPRC vs shuffles (learned) | MA0142.1 PWM | MA1115.2 PWM | vs genomic: learned "
          "| MA0142.1 | MA1115.2 | train s | top filter: drop, rank MA0142.1 / MA1115.2, best match | "
          "best rank over top-3 filters |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for seed in args.seeds:
        r = run_seed(seed, train, motifs, init, genome, args.save if seed == args.seeds[0] else None,
                     args.train_genomic, args.shuffles, tuple(int(k) for k in args.orders.split(",")))
        rows.append(r)
        k, drop, ranks, best = r["filters"][0]
        top3 = min(min(f[2]) for f in r["filters"][:3])
        pair = lambda v: f"{v[0]:.4f} / {v[1]:.4f}"  # noqa: E731
        g = r.get("genomic")
        genomic = " | ".join(pair(g[x]) for x in ("learned", *TARGETS)) if g else "— | — | —"
        print(f"| {seed} | {r['auroc']:.4f} / {r['auprc']:.4f} | {pair(r['pwm'][TARGETS[0]])} | "
              f"{pair(r['pwm'][TARGETS[1]])} | {genomic} | {r['train_s']:.0f} | #{k}: {drop:.3f}, {ranks[0]} / "
              f"{ranks[1]}, {best} | {top3} |", flush=True)
        for k, drop, ranks, best in r["filters"][:4]:
            print(f"    seed {seed} filter {k}: drop {drop:.3f}, ranks {ranks}, best {best}", flush=True)
    _summary(rows, None)
    if genome is not None:
        _summary(rows, "genomic")
    rng = np.random.default_rng(0)
    null = np.array([min(_ranks(rng.normal(size=(4, MODEL["motif_width"])), motifs)[0])
                     for _ in range(args.null)])
    print(f"null ({args.null} random N(0,1) filters): P(min rank <= 25) = {np.mean(null <= 25):.3f}, "
          f"P(<= 10) = {np.mean(null <= 10):.3f}, median min rank {np.median(null):.0f}")


if __name__ == "__main__":
    main()
