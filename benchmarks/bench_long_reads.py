"""Long-read correction without a reference: seqfcn beside Canu ``-correct`` and racon, in one run.

    python benchmarks/bench_long_reads.py --out DIR [--profiles r9,r10] [--coverage 30]
        [--region 0:1000000] [--tools seqfcn,canu,racon] [--threads 2] [--rounds N --results NAME.json]

Reads are simulated from *Klebsiella pneumoniae* HS11286 (Debian ``kleborate-examples``; the
shipped pileup models never saw it: they were trained on the other three genomes of that
package) with seqfcn's ONT error model at the shipped profiles
(:data:`seqfcn.correction.longread_training.PROFILES`), log-normal lengths (median 8 kb),
``--coverage`` x over the ``--region`` of the chromosome (``start:end``; ``all``: every record).
Every tool gets the same single-line FASTQ and ``--threads``:

* seqfcn: ``seqfcn correct READS --model ont_PROFILE -o OUT --threads T`` (overlaps mapped in
  the same process);
* Canu 2.x: ``canu -correct -p c -d DIR genomeSize=G -nanopore READS maxThreads=T corThreads=T
  maxMemory=8g corMemory=8g useGrid=false corOutCoverage=1000`` (every read it can correct
  kept, not only the longest 40x);
* racon as a read corrector: ``minimap2 -x ava-ont -t T READS READS > PAF`` then
  ``racon -f -t T READS PAF READS`` (wall and peak are the two steps together, peak the larger).

Scored by aligning every output (and the raw reads) to the truth with ``minimap2 -x map-ont -c
--secondary=no``: per read, the identity of its primary alignment (matching bases / alignment
columns, PAF columns 10 and 11); median and mean identity over aligned reads, aligned bases
(query bases in primary alignments), reads kept (records out). Wall and peak RSS are GNU
``/usr/bin/time`` around each whole process. Writes ``DIR/results.json`` and prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import lzma
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import run as timed  # noqa: E402

KLEBSIELLA = Path("/usr/share/doc/kleborate/examples/data/Klebs_HS11286.fna.xz")


def truth_genome(out: Path, region: str) -> Path:
    """The truth FASTA: HS11286's chromosome stretch ``start:end``, or every record for ``all``."""
    import pysam

    path = out / f"truth_{region.replace(':', '-')}.fa"
    if path.exists():
        return path
    raw = out / "Klebs_HS11286.fna"
    if not raw.exists():
        raw.write_bytes(lzma.decompress(KLEBSIELLA.read_bytes()))
    with open(path, "w") as fh:
        for i, rec in enumerate(pysam.FastxFile(str(raw))):
            if region == "all":
                fh.write(f">{rec.name}\n{rec.sequence}\n")
            elif i == 0:
                start, end = map(int, region.split(":"))
                fh.write(f">{rec.name}:{start}-{end}\n{rec.sequence[start:end]}\n")
    return path


def simulate(truth: Path, profile: str, coverage: float, out: Path, seed: int) -> Path:
    """Single-line FASTQ of reads from ``truth`` with the named profile."""
    from seqfcn.correction.longread_training import PROFILES, LongReadSimulation, simulate_long_reads, write_fastq
    from seqfcn.correction.training import genome_codes

    path = out / f"reads_{profile}.fq"
    if not path.exists():
        reads = simulate_long_reads(genome_codes(truth), PROFILES[profile], LongReadSimulation(coverage=coverage),
                                    seed=seed, prefix=f"{profile}_")
        write_fastq(reads, path)
    return path


def identities(reads: Path, truth: Path, threads: int, work: Path) -> dict:
    """Median/mean identity of primary alignments, aligned bases, reads in the file."""
    paf = work / f"{reads.name}.eval.paf"
    with open(paf, "w") as fh:
        subprocess.run(["minimap2", "-x", "map-ont", "-c", "--secondary=no", "-t", str(threads), str(truth),
                        str(reads)], stdout=fh, stderr=subprocess.DEVNULL, check=True)
    best: dict[str, tuple[int, int, int]] = {}
    for line in open(paf):
        f = line.split("\t")
        if "tp:A:P" not in f[12:]:
            continue
        m, b, q = int(f[9]), int(f[10]), int(f[3]) - int(f[2])
        if f[0] not in best or q > best[f[0]][2]:
            best[f[0]] = (m, b, q)
    import pysam

    with pysam.FastxFile(str(reads)) as fh:
        n = sum(1 for _ in fh)
    ident = np.array([m / b for m, b, _ in best.values()]) if best else np.zeros(1)
    return {"reads": n, "aligned_reads": len(best), "aligned_bases": int(sum(v[2] for v in best.values())),
            "median_identity": round(float(np.median(ident)), 5), "mean_identity": round(float(ident.mean()), 5)}


def run_seqfcn(reads: Path, profile: str, threads: int, work: Path, rounds: int | None) -> tuple[Path, dict]:
    tag = f"seqfcn_{profile}" + ("" if rounds is None else f"_rounds{rounds}")
    out = work / f"{tag}.fq"
    extra = [] if rounds is None else ["--rounds", rounds]
    t = timed(["seqfcn", "correct", reads, "--model", f"ont_{profile}", "-o", out, "--threads", threads,
               "--no-progress", "--stats", work / f"{tag}.stats.json", *extra], log=work / f"{tag}.log")
    return out, t


def run_canu(reads: Path, genome_size: int, threads: int, work: Path, profile: str) -> tuple[Path, dict]:
    d = work / f"canu_{profile}"
    shutil.rmtree(d, ignore_errors=True)
    t = timed(["canu", "-correct", "-p", "c", "-d", d, f"genomeSize={genome_size}", "-nanopore", reads,
               f"maxThreads={threads}", f"corThreads={threads}", "maxMemory=8g", "corMemory=8g", "useGrid=false",
               "corOutCoverage=1000"], log=work / f"canu_{profile}.log")
    return d / "c.correctedReads.fasta.gz", t


def run_racon(reads: Path, threads: int, work: Path, profile: str) -> tuple[Path, dict]:
    paf, out = work / f"racon_{profile}.paf", work / f"racon_{profile}.fa"
    t1 = timed(["minimap2", "-x", "ava-ont", "-t", threads, reads, reads], log=paf)
    t2 = timed(["racon", "-f", "-t", threads, reads, paf, reads], log=out)
    return out, {"seconds": round(t1["seconds"] + t2["seconds"], 2), "peak_mb": max(t1["peak_mb"], t2["peak_mb"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--profiles", default="r9,r10")
    ap.add_argument("--coverage", type=float, default=30.0)
    ap.add_argument("--region", default="0:1000000")
    ap.add_argument("--tools", default="seqfcn,canu,racon")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--rounds", type=int, help="seqfcn --rounds (default: the model's own)")
    ap.add_argument("--results", default="results.json", help="file name of the results in --out")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    truth = truth_genome(args.out, args.region)
    size = sum(len(line.strip()) for line in open(truth) if not line.startswith(">"))
    results = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{platform.node()} {os.cpu_count()} CPUs",
               "command": " ".join(sys.argv), "genome_bp": size, "rows": []}
    for profile in args.profiles.split(","):
        reads = simulate(truth, profile, args.coverage, args.out, args.seed)
        row = {"profile": profile, "tool": "raw", **identities(reads, truth, args.threads, args.out)}
        results["rows"].append(row)
        print(json.dumps(row), flush=True)
        for tool in args.tools.split(","):
            if tool == "seqfcn":
                out, t = run_seqfcn(reads, profile, args.threads, args.out, args.rounds)
            elif tool == "canu":
                out, t = run_canu(reads, size, args.threads, args.out, profile)
            else:
                out, t = run_racon(reads, args.threads, args.out, profile)
            label = tool if tool != "seqfcn" or args.rounds is None else f"seqfcn --rounds {args.rounds}"
            row = {"profile": profile, "tool": label, **t, **identities(out, truth, args.threads, args.out)}
            results["rows"].append(row)
            print(json.dumps(row), flush=True)
    (args.out / args.results).write_text(json.dumps(results, indent=1) + "\n")
    print(f"\n{size:,} bp x {args.coverage:g}, {args.threads} threads\n")
    print("| profile | tool | reads | aligned bases | median identity | mean identity | wall s | peak MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in results["rows"]:
        print(f"| {r['profile']} | {r['tool']} | {r['reads']:,} | {r['aligned_bases']:,} | {r['median_identity']:.4f} "
              f"| {r['mean_identity']:.4f} | {r.get('seconds', '')} | {r.get('peak_mb', '')} |")


if __name__ == "__main__":
    main()
