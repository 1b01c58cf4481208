"""Make the documentation's pictures from the bundled data: ``python docs/figures.py``.

Run from the repository root with seqfcn installed (``pip install -e '.[docs,plot]'``;
needs matplotlib). Every picture comes from a shipped model and files in ``data/``, so
nothing is trained; the whole script takes about 35 s of CPU (85 s wall on the
project's busy two-core machine). The PNGs
land in ``docs/img/`` and are committed; this script is the record of how they were made.

- ``logo_discovered.png`` / ``logo_jaspar.png``: ``seqfcn discover --logos`` on the 1,000
  Oct4 peaks with ``pou5f1_sox2_pwm``, beside JASPAR's MA0142.1 drawn the same way.
- ``contribution.png``: ``seqfcn attribute --method ism --npz`` over one Pou5f1::Sox2 site:
  the contribution of the base present (letters) and every base's hypothetical
  contribution (heat map).
- ``predict_track.png``: ``seqfcn predict`` over the first peak (the per-base log-odds).
- ``correction.png``: ``seqfcn correct --model kmer_illumina`` on the real samtools ex1
  reads; mismatches against ex1.fa before and after, by read position (the reads' own
  ``ex1.bam`` alignments, which substitutions do not move).
- ``receptive_field.png``: :func:`seqfcn.nn.receptive.effective_receptive_field` of the
  ``dilated_fcn`` preset (untrained) against its theoretical field.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
IMG = ROOT / "docs" / "img"
OCT4 = DATA / "chip" / "Oct4_peaks_top1000_mm9.fa"
PEAK = "mm9_chr3_121848111_121848740_+"
COLOURS = {"A": "#109648", "C": "#255c99", "G": "#f7b32b", "T": "#d62839"}


def seqfcn(*args: str) -> None:
    """Run the command line exactly as a user would (quietly; fails loudly)."""
    cmd = [sys.executable, "-m", "seqfcn", *map(str, args), "-q", "--threads", "2", "--seed", "0"]
    print("  $ seqfcn " + " ".join(map(str, args)), flush=True)
    subprocess.run(cmd, check=True)


def plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    pyplot.rcParams.update({"font.size": 9, "axes.spines.top": False, "axes.spines.right": False})
    return pyplot


def save(fig, name: str, dpi: int = 110) -> None:
    path = IMG / name
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    print(f"  -> {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KB)", flush=True)


def letters(ax, heights: np.ndarray, x0: int = 0) -> None:
    """Draw a (4, L) array of signed letter heights (contribution-style logo)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import PathPatch
    from matplotlib.text import TextPath
    from matplotlib.transforms import Affine2D

    font = FontProperties(family="DejaVu Sans", weight="bold")
    for i in range(heights.shape[1]):
        up, down = 0.0, 0.0
        for b in np.argsort(np.abs(heights[:, i])):
            h = float(heights[b, i])
            if abs(h) < 1e-6:
                continue
            letter = "ACGT"[b]
            glyph = TextPath((0, 0), letter, size=1, prop=font)
            box = glyph.get_extents()
            base = up if h > 0 else down
            t = (Affine2D().translate(-box.x0, -box.y0).scale(0.9 / box.width, abs(h) / box.height)
                 .translate(x0 + i + 0.05, base if h > 0 else base - abs(h)))
            ax.add_patch(PathPatch(t.transform_path(glyph), facecolor=COLOURS[letter], edgecolor="none"))
            if h > 0:
                up += h
            else:
                down -= abs(h)


def figure_logos(work: Path) -> None:
    print("sequence logos (seqfcn discover --logos)", flush=True)
    seqfcn("discover", OCT4, "--model", "pou5f1_sox2_pwm", "-o", work / "oct4.meme",
           "--logos", work / "logos", "--matches", work / "matches.tsv")
    shutil.copyfile(work / "logos" / "seqfcn_1.png", IMG / "logo_discovered.png")
    print(f"  -> docs/img/logo_discovered.png ({(IMG / 'logo_discovered.png').stat().st_size // 1024} KB)")
    from seqfcn.interpret.discover import draw_logo
    from seqfcn.io.motifs import read_motifs

    (jaspar,) = [m for m in read_motifs("jaspar2024") if m.id == "MA0142.1"]
    draw_logo(np.asarray(jaspar.pfm), IMG / "logo_jaspar.png", title="JASPAR MA0142.1 Pou5f1::Sox2")
    print(f"  -> docs/img/logo_jaspar.png ({(IMG / 'logo_jaspar.png').stat().st_size // 1024} KB)")


def figure_contribution(work: Path) -> None:
    print("contribution track (seqfcn attribute --method ism --npz)", flush=True)
    (work / "site.bed").write_text(f"{PEAK}\t300\t370\n")
    seqfcn("attribute", OCT4, "--model", "pou5f1_sox2_pwm", "--regions", work / "site.bed",
           "--method", "ism", "-o", work / "contrib.bedGraph", "--npz", work / "contrib.npz")
    z = np.load(work / "contrib.npz")
    start = int(z["start"][0])
    hyp = z["hypothetical_0"]                      # (4, L): every base's effect at every position
    contrib = z["contribution_0"]                  # (L,): the effect of the base present
    from seqfcn.io.fasta import Genome
    from seqfcn.sequence.encode import one_hot

    seq = Genome(OCT4).fetch(PEAK, start, int(z["end"][0]))
    present = one_hot(seq)[:4]                     # (4, L)
    pyplot = plt()
    fig, (top, bottom) = pyplot.subplots(2, 1, figsize=(10, 3.6), sharex=True,
                                         gridspec_kw={"height_ratios": [1.3, 1]})
    letters(top, present * contrib[None, :])
    top.set_xlim(0, hyp.shape[1])
    lo, hi = float(min(0.0, contrib.min())), float(contrib.max())
    top.set_ylim(lo - 0.05 * (hi - lo), hi * 1.05)
    top.axhline(0, color="0.6", lw=0.5)
    top.set_ylabel("contribution\n(base present)")
    top.set_title(f"seqfcn attribute --method ism: {PEAK}:{start}-{int(z['end'][0])}, "
                  f"pou5f1_sox2_pwm (target = centre output, {float(z['target'][0]):.1f})")
    lim = float(np.abs(hyp).max())
    im = bottom.imshow(hyp, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                       extent=(0, hyp.shape[1], 3.5, -0.5), interpolation="nearest")
    bottom.set_yticks(range(4), list("ACGT"))
    bottom.set_ylabel("hypothetical")
    ticks = np.arange(0, hyp.shape[1] + 1, 10)
    bottom.set_xticks(ticks, [str(start + t) for t in ticks])
    bottom.set_xlabel("position in the peak sequence (0-based)")
    fig.colorbar(im, ax=[top, bottom], shrink=0.6, pad=0.01, label="effect on output")
    save(fig, "contribution.png")
    pyplot.close(fig)


def figure_predict(work: Path) -> None:
    print("per-base track (seqfcn predict)", flush=True)
    (work / "peak.bed").write_text(f"{PEAK}\t0\t629\n")
    seqfcn("predict", OCT4, "--model", "pou5f1_sox2_pwm", "--regions", work / "peak.bed",
           "-o", work / "peak.bedGraph")
    rows = [line.split("\t") for line in (work / "peak.bedGraph").read_text().splitlines()
            if not line.startswith(("track", "#"))]
    x = np.concatenate([np.arange(int(r[1]), int(r[2])) for r in rows])
    y = np.concatenate([np.full(int(r[2]) - int(r[1]), float(r[3])) for r in rows])
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(10, 2.4))
    ax.plot(x, y, lw=0.8, color="#255c99")
    best = int(x[np.argmax(y)])
    ax.annotate(f"best site, log-odds {y.max():.1f}", (best, y.max()), xytext=(best + 40, y.max() - 3),
                arrowprops={"arrowstyle": "->", "lw": 0.6}, fontsize=8)
    ax.axhline(0, color="0.6", lw=0.5)
    ax.set_xlabel(f"{PEAK} (0-based)")
    ax.set_ylabel("log-odds")
    ax.set_title("seqfcn predict --model pou5f1_sox2_pwm: per-base MA0142.1 log-odds, both strands")
    save(fig, "predict_track.png")
    pyplot.close(fig)


def figure_correction(work: Path) -> None:
    print("correction report (seqfcn correct on samtools ex1)", flush=True)
    fq = DATA / "samtools" / "ex1.fastq"
    seqfcn("correct", fq, "--model", "kmer_illumina", "-o", work / "ex1.fixed.fq", "--stats", work / "ex1.json")
    stats = json.loads((work / "ex1.json").read_text())
    import pysam

    fixed = {}
    with pysam.FastxFile(str(work / "ex1.fixed.fq")) as f:
        for rec in f:
            fixed[rec.name] = rec.sequence
    ref = {}
    with pysam.FastaFile(str(DATA / "samtools" / "ex1.fa")) as fa:
        for name in fa.references:
            ref[name] = fa.fetch(name).upper()
    length = 36                                     # ex1 reads are 35 or 36 bp
    before, after, depth = np.zeros(length), np.zeros(length), np.zeros(length)
    n_reads = 0
    with pysam.AlignmentFile(str(DATA / "samtools" / "ex1.bam")) as bam:
        for aln in bam:
            name = f"{aln.query_name}/{1 if aln.is_read1 else 2}"     # the FASTQ's names
            n = aln.query_length
            if (aln.is_unmapped or aln.is_secondary or aln.is_supplementary or aln.cigarstring != f"{n}M"
                    or name not in fixed or n > length):
                continue
            truth = ref[aln.reference_name][aln.reference_start:aln.reference_start + n]
            orig = aln.query_sequence.upper()
            new = fixed[name].upper()
            if aln.is_reverse:                      # FASTQ holds the read as sequenced
                from seqfcn.sequence.encode import reverse_complement

                new = reverse_complement(new)
            b = np.array([o != t for o, t in zip(orig, truth)])
            a = np.array([c != t for c, t in zip(new, truth)])
            pos = np.arange(n)[::-1] if aln.is_reverse else np.arange(n)
            before[pos] += b
            after[pos] += a
            depth[pos] += 1
            n_reads += 1
    pyplot = plt()
    fig, (ax, bx) = pyplot.subplots(1, 2, figsize=(10, 3), gridspec_kw={"width_ratios": [2.6, 1]})
    cycles = np.arange(1, length + 1)
    ax.bar(cycles - 0.2, before / np.maximum(depth, 1) * 100, width=0.4, color="#d62839", label=f"before ({int(before.sum())})")
    ax.bar(cycles + 0.2, after / np.maximum(depth, 1) * 100, width=0.4, color="#109648", label=f"after ({int(after.sum())})")
    ax.set_xlabel("read position (sequencing cycle)")
    ax.set_ylabel("mismatches to ex1.fa (%)")
    ax.set_title(f"samtools ex1: {n_reads:,} real 35-36 bp Illumina reads (bwa, no indels), seqfcn correct --model kmer_illumina")
    ax.legend(frameon=False)
    counts = [("reads", stats["reads"]), ("skipped: all k-mers solid", stats["reads_skipped_solid"]),
              ("corrected", stats["reads_corrected"]), ("bases changed", stats["bases_changed"]),
              ("  by the spectrum walk", stats["spectrum_edits"]), ("  vetoed edits", stats["edits_vetoed"])]
    bx.barh(range(len(counts))[::-1], [c for _, c in counts], color="#255c99")
    bx.set_yticks(range(len(counts))[::-1], [n for n, _ in counts])
    for i, (_, c) in enumerate(counts):
        bx.text(c, len(counts) - 1 - i, f" {c:,}", va="center", fontsize=8)
    bx.set_xscale("log")
    bx.set_title("--stats summary")
    fig.tight_layout()
    save(fig, "correction.png")
    pyplot.close(fig)


def figure_receptive_field() -> None:
    print("receptive field (seqfcn.nn.receptive)", flush=True)
    import torch

    torch.manual_seed(0)
    from seqfcn.nn.models import create_model
    from seqfcn.nn.receptive import effective_receptive_field, plot_effective_receptive_field

    model = create_model("dilated_fcn")
    profile = effective_receptive_field(model, length=1024, n_samples=8, seed=0)
    plot_effective_receptive_field(profile, IMG / "receptive_field.png", theoretical=model.receptive_field,
                                   title=f"dilated_fcn (untrained, {model.config['n_layers']} dilated layers): "
                                         f"effective vs theoretical receptive field")
    size = (IMG / "receptive_field.png").stat().st_size // 1024
    print(f"  -> docs/img/receptive_field.png ({size} KB)")


def main() -> None:
    os.chdir(ROOT)
    IMG.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="seqfcn-figures-") as tmp:
        work = Path(tmp)
        figure_logos(work)
        figure_contribution(work)
        figure_predict(work)
        figure_correction(work)
        figure_receptive_field()
    print(f"done in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
