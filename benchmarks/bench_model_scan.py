"""Model scan of a large chromosome: ``seqfcn scan --model`` streamed vs in memory, one run.

    python benchmarks/bench_model_scan.py --out DIR [--mbp 100] [--threads 2]
        [--before TREE] [--model pou5f1_sox2_pwm] [--no-predict]

Input: the four complete *Klebsiella pneumoniae* genomes of Debian's ``kleborate-examples``
(``bench_scan_genome.build_genome``), joined into **one record** of ``--mbp`` megabases
(``DIR/chrom_<mbp>mbp.fa``): a mammalian chromosome's length is what a per-chromosome
in-memory track pays for. Model: the shipped ``pou5f1_sox2_pwm`` (JASPAR MA0142.1 as a
one-layer model), whose sigmoid of the log-odds is ≥ 0.5 wherever the PWM scores ≥ 0,
so many sites are called (the caller's candidate buffer is exercised too).

Each run is one whole process timed by GNU ``/usr/bin/time`` (wall, peak RSS):

- ``seqfcn scan CHROM --model M -o sites.bed --threads T`` from this checkout (streamed:
  tile cores go through the site caller as they come);
- the same command from ``--before TREE`` (a checkout of an earlier commit, run with
  ``PYTHONPATH=TREE``), e.g. the whole-chromosome-in-memory scan this replaced; the two
  BED files are compared line by line;
- ``seqfcn predict CHROM --model M -o track.bedGraph`` (the same model over the same
  bases, written instead of called) as the reference cost of the model itself.

Prints a Markdown table (wall, Mbp/s, peak MB, sites).
"""
from __future__ import annotations

import argparse
import filecmp
import json
import os
import sys
import time
from pathlib import Path

from bench_scan_genome import build_genome  # benchmarks/
from timing import run

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--mbp", type=float, default=100.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", default="pou5f1_sox2_pwm")
    ap.add_argument("--before", type=Path, help="an earlier checkout to run the same scan from")
    ap.add_argument("--no-predict", action="store_true", help="skip the predict reference run")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    chrom = args.out / f"chrom_{args.mbp:g}mbp.fa"
    if not chrom.exists():
        build_genome(chrom, args.mbp, one_record="chr1")
    bases = sum(len(line) - 1 for line in open(chrom) if not line.startswith(">"))
    common = ["--model", args.model, "--threads", str(args.threads), "-q"]
    runs = {"scan --model (this tree)": ([sys.executable, "-m", "seqfcn", "scan", chrom, *common, "-o",
                                          args.out / "sites.bed"], {}, args.out / "sites.bed")}
    if args.before:
        runs["scan --model (--before tree)"] = (
            [sys.executable, "-m", "seqfcn", "scan", chrom, *common, "-o", args.out / "sites_before.bed"],
            {"PYTHONPATH": str(args.before.resolve())}, args.out / "sites_before.bed")
    if not args.no_predict:
        runs["predict (bedGraph)"] = ([sys.executable, "-m", "seqfcn", "predict", chrom, *common, "-o",
                                       args.out / "track.bedGraph"], {}, None)
    rows = {}
    for label, (cmd, env, out) in runs.items():
        r = run(cmd, log=args.out / f"{label.split()[0]}_{len(rows)}.log", env=env)
        if out is not None:
            r["sites"] = sum(1 for _ in open(out))
        rows[label] = r
        print(label, json.dumps(r), flush=True)
        if label == "predict (bedGraph)":
            os.unlink(args.out / "track.bedGraph")  # gigabytes of text
    same = ""
    if args.before:
        same = "identical" if filecmp.cmp(args.out / "sites.bed", args.out / "sites_before.bed", shallow=False) \
            else "DIFFERENT"
    print(f"\none record of {bases / 1e6:.1f} Mbp, --model {args.model}, {args.threads} threads, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; sites of the two scans: {same or 'n/a'}\n")
    print("| run | wall s | Mbp/s | peak MB | sites |")
    print("|---|---|---|---|---|")
    for label, r in rows.items():
        sites = f"{r['sites']:,}" if "sites" in r else "—"
        print(f"| {label} | {r['seconds']:.1f} | {bases / 1e6 / r['seconds']:.2f} | {r['peak_mb']:.0f} | {sites} |")


if __name__ == "__main__":
    main()
