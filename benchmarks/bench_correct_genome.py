"""Whole-genome read correction: seqfcn against Lighter (and BayesHammer) on one read set.

Development data at real scale (not in the repository): a complete *Klebsiella
pneumoniae* genome from Debian's ``kleborate-examples`` and reads simulated from it with
art_illumina, error-free truth from art's ``-ef`` SAM::

    apt-get download kleborate-examples && dpkg -x kleborate-examples_*.deb kx
    xz -dc kx/usr/share/doc/kleborate/examples/data/Klebs_HS11286.fna.xz > HS11286.fa
    art_illumina -ss HS25 -i HS11286.fa -p -l 150 -f 30 -m 450 -s 30 -rs 11 \\
        -ir 0 -ir2 0 -dr 0 -dr2 0 -ef -o sim/r && cat sim/r1.fq sim/r2.fq > sim/all.fq

    python benchmarks/bench_correct_genome.py --reads sim/all.fq --truth sim/r_errFree.sam \\
        --genome-size 5682322 --out runs/ [--bayeshammer]

Every tool gets the same reads and ``--threads``; wall time and peak RSS are GNU
``/usr/bin/time`` around the whole process (start-up and the counting pass included).
Accuracy is ``seqfcn evaluate correction --truth`` (by read name). Prints a Markdown table
with reads/s and the ratios to Lighter.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from seqfcn.correction.defaults import MIN_CONFIDENCE  # noqa: E402


def timed(cmd: list[str], log: Path) -> tuple[float, float]:
    """Run ``cmd``; returns (wall seconds, peak RSS MB)."""
    tfile = log.with_suffix(".time")
    with open(log, "w") as fh:
        subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", str(tfile), *cmd], stdout=fh, stderr=subprocess.STDOUT,
                       check=True)
    wall, kb = tfile.read_text().split()[-2:]
    return float(wall), float(kb) / 1024


def evaluate(original: Path, corrected: Path, truth: Path, out: Path) -> dict:
    subprocess.run([sys.executable, "-m", "seqfcn", "evaluate", "correction", "--original", str(original),
                    "--corrected", str(corrected), "--truth", str(truth), "--json", str(out), "-q"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads(out.read_text())


def run_lighter(args, out: Path) -> Path:
    d = out / "lighter"
    d.mkdir(parents=True, exist_ok=True)
    wall, mb = timed(["lighter", "-r", str(args.reads), "-K", str(args.k_lighter), str(args.genome_size),
                      "-t", str(args.threads), "-od", str(d)], d / "log")
    name = Path(args.reads).name
    stem = name[: -len(".fq")] if name.endswith(".fq") else name.rsplit(".", 1)[0]
    return d / f"{stem}.cor.fq", wall, mb


def run_bayeshammer(args, out: Path):
    d = out / "bayeshammer"
    shutil.rmtree(d, ignore_errors=True)
    wall, mb = timed(["spades.py", "--only-error-correction", "-s", str(args.reads), "-t", str(args.threads),
                      "-o", str(d)], out / "bayeshammer.log")
    cor = next((d / "corrected").glob("*.fastq*"))
    if cor.suffix == ".gz":
        subprocess.run(["gunzip", "-kf", str(cor)], check=True)
        cor = cor.with_suffix("")
    return cor, wall, mb


def run_seqfcn(args, out: Path, min_confidence: float, reads: Path | None = None):
    gz = reads is not None
    d = out / f"seqfcn_{min_confidence}{'_gz' if gz else ''}"
    d.mkdir(parents=True, exist_ok=True)
    o = d / ("out.fq.gz" if gz else "out.fq")
    wall, mb = timed([sys.executable, "-m", "seqfcn", "correct", str(reads or args.reads), "--model", str(args.model),
                      "-o", str(o), "--stats", str(d / "stats.json"), "--no-progress", "--threads", str(args.threads),
                      "--min-confidence", str(min_confidence)], d / "log")
    return o, wall, mb


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reads", required=True, type=Path)
    p.add_argument("--truth", required=True, type=Path)
    p.add_argument("--genome-size", required=True, type=int)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--model", default=REPO / "data" / "models" / "kmer_illumina")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--k-lighter", type=int, default=21)
    p.add_argument("--min-confidence", type=float, nargs="+", default=[MIN_CONFIDENCE])
    p.add_argument("--gz-reads", type=Path, help="the same reads gzip'd: also time seqfcn gz in -> gz out")
    p.add_argument("--bayeshammer", action="store_true", help="also run SPAdes BayesHammer (slow)")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    n_reads = sum(1 for _ in open(args.reads, "rb")) // 4
    runs = [("Lighter", *run_lighter(args, args.out))]
    if args.bayeshammer:
        runs.append(("BayesHammer", *run_bayeshammer(args, args.out)))
    for mc in args.min_confidence:
        runs.append((f"seqfcn --min-confidence {mc}", *run_seqfcn(args, args.out, mc)))
    if args.gz_reads:
        runs.append(("seqfcn .fq.gz in and out", *run_seqfcn(args, args.out, args.min_confidence[0], args.gz_reads)))
    rows = []
    for name, corrected, wall, mb in runs:
        m = evaluate(args.reads, corrected, args.truth, args.out / f"{name.split()[0]}_{len(rows)}.eval.json")
        rows.append((name, m, wall, mb))
    base_wall, base_mb = rows[0][2], rows[0][3]
    print(f"{args.reads} ({n_reads:,} reads, {args.threads} threads)\n")
    print("| tool | gain | TP | FP | FN | wall s | reads/s | peak MB | wall / Lighter | memory / Lighter |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, m, wall, mb in rows:
        print(f"| {name} | {m['gain']:.4f} | {m['TP']:,} | {m['FP']:,} | {m['FN']:,} | {wall:.1f} | "
              f"{n_reads / wall:,.0f} | {mb:.0f} | {wall / base_wall:.2f} | {mb / base_mb:.1f} |")


if __name__ == "__main__":
    main()
