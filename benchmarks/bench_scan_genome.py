"""Large-genome PWM scan: seqfcn, memesuite-lite (FIMO) and MOODS as whole processes, one run.

    python benchmarks/bench_scan_genome.py --out DIR [--mbp 100 | --mbp 0 | --genome chrx | --genome FASTA]
        [--threads 2] [--motifs 879,100] [--thresh 1e-4,1e-5] [--seqfcn-thresh 1e-6,3e-5,3e-4]
        [--tools seqfcn,memelite-mem,memelite,MOODS] [--shards 4]

Input: the four complete *Klebsiella pneumoniae* genomes of Debian's ``kleborate-examples``
(HS11286, Kp1084, MGH78578, NTUH-K2044, with their plasmids; 22.5 Mbp in 16 records), repeated
with renamed records until ``--mbp`` megabases (``DIR/genome.fa``; ``--mbp 0``: the four genomes
once). ``--genome chrx``: the human chrX dev regions of Debian's ``smalt-examples``
(``hs37chrXtrunc.fa.gz``, only 0-20 Mbp and 50-70 Mbp, as two records, with their N runs);
``--genome FASTA``: that file. Motifs: the first N of the 879 of JASPAR 2024 CORE vertebrates
non-redundant, for each N of ``--motifs``. Both strands, each p threshold of ``--thresh``,
uniform background.

Each tool is one whole process timed by GNU ``/usr/bin/time`` (wall, peak RSS), from the
FASTA and motif files to hits, as a pipeline step pays for it:

- seqfcn: ``seqfcn scan genome.fa --motifs jaspar2024 [--motif IDS] --thresh P -o hits.bed
  --threads T`` (streamed output, exact p-values, exact BH q-values over all tested windows);
  ``--seqfcn-thresh``: further thresholds for seqfcn alone, at the first motif count (the
  kernel with few hits, and the peak memory at ~1 M and ~10 M hits);
- memesuite-lite: ``memelite.fimo`` on the same FIMO-smoothed probabilities
  (``(f * nsites + 0.025) / (nsites + 0.1)``, ``eps=0``; its p-values are binned at 0.1
  bits); ``memelite-mem``: the hits returned as DataFrames and only counted (no write);
  ``memelite``: the hits also written as TSV; numba threads = T;
- MOODS: ``MOODS.scan.Scanner`` over each record with the log2 odds of the same
  probabilities and ``threshold_from_p`` thresholds, hits written as they come
  (single-threaded: MOODS has no threads).

``--shards N``: the first (motifs, p) seqfcn scan again as N ``--shard i/N`` processes, then
``seqfcn merge`` of the N shard files (timed), compared byte for byte (``cmp``) with the
unsharded BED.

Prints a Markdown table (wall, Mbp/s, peak MB, hits, hits/s, ratio to memesuite-lite in
memory) and writes every row to ``DIR/results.json``.
"""
from __future__ import annotations

import argparse
import gzip
import json
import lzma
import subprocess
import sys
import time
from pathlib import Path

from timing import run  # benchmarks/timing.py

ROOT = Path(__file__).resolve().parent.parent
MOTIFS = ROOT / "seqfcn" / "resources" / "motifs" / "JASPAR2024_CORE_vertebrates_non-redundant.meme"
KLEBORATE = Path("/usr/share/doc/kleborate/examples/data")
GENOMES = ("Klebs_HS11286", "Klebs_Kp1084", "MGH78578", "NTUH-K2044")
CHRX = Path("/usr/share/doc/smalt/test/data/hs37chrXtrunc.fa.gz")
CHRX_REGIONS = ((0, 20_000_000), (50_000_000, 70_000_000))  # the only parts used

_SMOOTHED = """
import numpy as np
from seqfcn.io.motifs import read_motifs
motifs = read_motifs({motifs!r})[:{n}]
probs = {{m.id: (m.pfm * m.nsites + 0.1 * 0.25) / (m.nsites + 0.1) for m in motifs}}
"""
MEMELITE = _SMOOTHED + """
from memelite import fimo
hits = fimo(probs, {fasta!r}, eps=0.0, threshold={p!r})
n = sum(len(h) for h in hits)
if {write!r}:
    import pandas as pd
    table = pd.concat(hits) if hits else pd.DataFrame()
    table.to_csv({out!r}, sep="\\t", index=False)
print(n)
"""
MOODS = _SMOOTHED + """
import MOODS.scan, MOODS.tools, pysam
bg = [0.25] * 4
mats = [[list(r) for r in np.log2(p / 0.25)] for p in probs.values()]
allm = mats + [MOODS.tools.reverse_complement(m) for m in mats]
scanner = MOODS.scan.Scanner(7)
scanner.set_motifs(allm, bg, [MOODS.tools.threshold_from_p(m, bg, {p!r}) for m in allm])
ids = list(probs)
n = 0
with pysam.FastxFile({fasta!r}) as fh, open({out!r}, "w") as out:
    for rec in fh:
        for k, res in enumerate(scanner.scan(rec.sequence.upper())):
            strand, mid = "+-"[k >= len(mats)], ids[k % len(mats)]
            out.writelines(f"{{rec.name}}\\t{{r.pos}}\\t{{mid}}\\t{{strand}}\\t{{r.score:.4f}}\\n" for r in res)
            n += len(res)
print(n)
"""


def build_genome(path: Path, mbp: float, one_record: str | None = None) -> int:
    """The kleborate genomes, repeated with renamed records (``c2_...``) until ``mbp`` Mbp
    (``mbp <= 0``: once); with ``one_record``, joined into one record of that name (a
    mammalian-sized chromosome)."""
    records = []
    for name in GENOMES:
        with lzma.open(KLEBORATE / f"{name}.fna.xz", "rt") as fh:
            rid, parts = None, []
            for line in fh:
                if line.startswith(">"):
                    if rid:
                        records.append((rid, "".join(parts)))
                    rid, parts = line[1:].split()[0], []
                else:
                    parts.append(line.strip())
            records.append((rid, "".join(parts)))
    if mbp <= 0:
        mbp = sum(len(s) for _, s in records) / 1e6
    if one_record:  # one record: the copies joined, then cut into lines of 80
        n = int(mbp * 1e6)
        joined = "".join(seq for _, seq in records)
        whole = (joined * (n // len(joined) + 1))[:n]
        with open(path, "w") as out:
            out.write(f">{one_record}\n")
            out.writelines(whole[i : i + 80] + "\n" for i in range(0, n, 80))
        return n
    total, copy = 0, 0
    with open(path, "w") as out:
        while total < mbp * 1e6:
            copy += 1
            for rid, seq in records:
                out.write(f">c{copy}_{rid}\n")
                for i in range(0, len(seq), 80):
                    out.write(seq[i : i + 80] + "\n")
                total += len(seq)
                if total >= mbp * 1e6:
                    break
    return total


def build_chrx(path: Path) -> int:
    """The chrX dev regions 0-20 Mbp and 50-70 Mbp of ``hs37chrXtrunc.fa.gz`` (N runs kept)
    as records ``X_0_20M`` and ``X_50_70M``; nothing past 70 Mbp is read."""
    end = max(e for _, e in CHRX_REGIONS)
    parts, n = [], 0
    with gzip.open(CHRX, "rt") as fh:
        next(fh)  # the one header
        for line in fh:
            s = line.strip()
            parts.append(s)
            n += len(s)
            if n >= end:
                break
    seq = "".join(parts)[:end]
    total = 0
    with open(path, "w") as out:
        for s, e in CHRX_REGIONS:
            out.write(f">X_{s // 1_000_000}_{e // 1_000_000}M\n")
            out.writelines(seq[i : i + 80] + "\n" for i in range(s, e, 80))
            total += e - s
    return total


def count_bed(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for line in fh if not line.startswith((b"track", b"#", b"browser")))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--mbp", type=float, default=100.0, help="kleborate genomes repeated to this size (0: once)")
    ap.add_argument("--genome", help="chrx (the smalt-examples chrX dev regions) or a FASTA, instead of --mbp")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--motifs", default="879", help="comma-separated motif counts (the first N)")
    ap.add_argument("--thresh", default="1e-4", help="comma-separated p thresholds")
    ap.add_argument("--seqfcn-thresh", default="", help="further p thresholds, seqfcn only, first motif count")
    ap.add_argument("--tools", default="seqfcn,memelite,MOODS", help="seqfcn, memelite-mem, memelite, MOODS")
    ap.add_argument("--shards", type=int, default=0, help="also scan as N shards and time seqfcn merge")
    ap.add_argument("--keep", action="store_true", help="keep the hit files")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.genome == "chrx":
        fasta = args.out / "chrx_dev_0-20_50-70mbp.fa"
        if not fasta.exists():
            build_chrx(fasta)
    elif args.genome:
        fasta = Path(args.genome)
    else:
        fasta = args.out / f"genome_{args.mbp:g}mbp.fa"
        if not fasta.exists():
            build_genome(fasta, args.mbp)
    bases = sum(len(line) - 1 for line in open(fasta) if not line.startswith(">"))
    nrec = sum(1 for line in open(fasta) if line.startswith(">"))
    counts = [int(x) for x in args.motifs.split(",")]
    threshs = [float(x) for x in args.thresh.split(",")]
    tools = args.tools.split(",")
    jobs = [(n, p, t) for n in counts for p in threshs for t in tools]
    jobs += [(counts[0], float(p), "seqfcn") for p in args.seqfcn_thresh.split(",") if p]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows = []
    first_bed = None
    for n, p, tool in jobs:
        out = args.out / f"{tool}_{n}_{p:g}.hits"
        if tool == "seqfcn":
            r = run(_seqfcn_cmd(fasta, n, p, out, args.threads), log=out.with_suffix(".log"))
            r["hits"] = count_bed(out)
            if first_bed is None and (n, p) == (counts[0], threshs[0]):
                first_bed = out
        else:
            script = (MOODS if tool == "MOODS" else MEMELITE).format(
                motifs=str(MOTIFS), n=n, fasta=str(fasta), out=str(out), p=p, write=tool == "memelite")
            r = run([sys.executable, "-c", script], log=out.with_suffix(".log"),
                    env={"NUMBA_NUM_THREADS": str(args.threads)})
            r["hits"] = int(out.with_suffix(".log").read_text().split()[-1])  # the script prints the count
        r.update(tool=tool, motifs=n, p=p)
        rows.append(r)
        print(json.dumps(r), flush=True)
        if out != first_bed and not args.keep:
            out.unlink(missing_ok=True)
    merge = None
    if args.shards:
        n, p = counts[0], threshs[0]
        shard_rows = []
        for i in range(1, args.shards + 1):
            out = args.out / f"shard_{i}of{args.shards}.scan"
            r = run([*_seqfcn_cmd(fasta, n, p, out, args.threads), "--shard", f"{i}/{args.shards}"],
                    log=out.with_suffix(".log"))
            shard_rows.append(r)
            print("shard", i, json.dumps(r), flush=True)
        merged = args.out / "merged.bed"
        shards = [args.out / f"shard_{i}of{args.shards}.scan" for i in range(1, args.shards + 1)]
        r = run([sys.executable, "-m", "seqfcn", "merge", *shards, "-o", merged, "-q"], log=merged.with_suffix(".log"))
        r["hits"] = count_bed(merged)
        r["shard_mb"] = round(sum(s.stat().st_size for s in shards) / 2**20, 1)
        r["shard_walls"] = [x["seconds"] for x in shard_rows]
        r["shard_peaks"] = [x["peak_mb"] for x in shard_rows]
        if first_bed is not None:
            r["identical"] = subprocess.run(["cmp", str(merged), str(first_bed)]).returncode == 0
        merge = r
        print("merge", json.dumps(r), flush=True)
        if not args.keep:
            for s in [*shards, merged]:
                s.unlink(missing_ok=True)
    if first_bed is not None and not args.keep:
        first_bed.unlink(missing_ok=True)
    ended = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    (args.out / "results.json").write_text(json.dumps(
        {"fasta": str(fasta), "bases": bases, "records": nrec, "threads": args.threads, "started": started,
         "ended": ended, "rows": rows, "merge": merge}, indent=1))
    print(f"\n{fasta.name}: {bases / 1e6:.1f} Mbp in {nrec} records, both strands, {args.threads} threads, "
          f"{started} – {ended}\n")
    print("| motifs | p < | tool | wall s | Mbp/s | peak MB | hits | hits/s | wall / memesuite-lite in memory |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        base = next((b for b in rows if b["tool"] == "memelite-mem" and (b["motifs"], b["p"]) == (r["motifs"], r["p"])),
                    None)
        ratio = f"{r['seconds'] / base['seconds']:.2f}" if base else "—"
        print(f"| {r['motifs']} | {r['p']:g} | {r['tool']} | {r['seconds']:.1f} | {bases / 1e6 / r['seconds']:.2f} | "
              f"{r['peak_mb']:.0f} | {r['hits']:,} | {r['hits'] / r['seconds'] / 1e6:.2f} M | {ratio} |")
    if merge:
        print(f"\nseqfcn merge of {args.shards} shards ({merge['shard_mb']} MB; shard scans "
              f"{merge['shard_walls']} s, peaks {merge['shard_peaks']} MB): {merge['seconds']:.2f} s, "
              f"{merge['peak_mb']:.0f} MB, {merge['hits']:,} hits, byte-identical to the unsharded BED: "
              f"{merge.get('identical')}")


def _seqfcn_cmd(fasta: Path, n: int, p: float, out: Path, threads: int) -> list:
    return [sys.executable, "-m", "seqfcn", "scan", str(fasta), "--motifs", str(MOTIFS),
            *(["--motif", *_first_ids(n)] if n < 879 else []), "--thresh", repr(p),
            "-o", str(out), "--threads", str(threads), "-q"]


def _first_ids(n: int) -> list[str]:
    ids = [line.split()[1] for line in open(MOTIFS) if line.startswith("MOTIF ")]
    return ids[:n]


if __name__ == "__main__":
    main()
