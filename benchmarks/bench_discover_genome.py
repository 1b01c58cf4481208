"""``seqfcn discover`` over a 500 kb region of a bacterial genome with a planted motif, one run.

    python benchmarks/bench_discover_genome.py --out DIR [--copies 40] [--region 500000] [--threads 2]

Genome: the records of *K. pneumoniae* HS11286 (Debian ``kleborate-examples``; chromosome and
plasmids, ~5.7 Mbp). ``--copies`` sites sampled from the PFM of JASPAR MA0142.1 (Pou5f1::Sox2,
each base drawn from its column, random strand) replace the bases at evenly spaced random
offsets of the chromosome's 1,000,000 .. 1,000,000 + ``--region``; the region is the one
interval of ``region.bed``. The shipped one-layer model ``pou5f1_sox2_pwm`` is attributed:

    seqfcn discover genome.fa --model pou5f1_sox2_pwm --regions region.bed -o d.meme --matches m.tsv

as one whole process under GNU ``/usr/bin/time`` (wall, peak RSS). Prints the run, the motifs
found (with their seqlet counts) and the first motif's best database matches, whether the first's
best match is MA0142.1 / Pou5f1::Sox2 and the rank of MA0142.1 among its ``--top 3`` matches.
"""
from __future__ import annotations

import argparse
import json
import lzma
import sys
import time
from pathlib import Path

import numpy as np

from timing import run  # benchmarks/timing.py

ROOT = Path(__file__).resolve().parent.parent
MOTIFS = ROOT / "seqfcn" / "resources" / "motifs" / "JASPAR2024_CORE_vertebrates_non-redundant.meme"
HS11286 = Path("/usr/share/doc/kleborate/examples/data/Klebs_HS11286.fna.xz")
START = 1_000_000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--copies", type=int, default=40)
    ap.add_argument("--region", type=int, default=500_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    from seqfcn.io.motifs import read_motifs

    pfm = next(m for m in read_motifs(str(MOTIFS)) if m.id == "MA0142.1").pfm.T  # (width, 4) ACGT
    rng = np.random.default_rng(args.seed)
    records, rid, parts = [], None, []
    with lzma.open(HS11286, "rt") as fh:
        for line in fh:
            if line.startswith(">"):
                if rid:
                    records.append([rid, "".join(parts)])
                rid, parts = line[1:].split()[0], []
            else:
                parts.append(line.strip())
        records.append([rid, "".join(parts)])
    chrom, seq = records[0]
    seq = list(seq)
    width, step = len(pfm), args.region // args.copies
    sites = []
    for k in range(args.copies):
        pos = START + k * step + int(rng.integers(0, step - width))
        site = "".join("ACGT"[rng.choice(4, p=col / col.sum())] for col in pfm)
        strand = "+-"[int(rng.integers(2))]
        if strand == "-":
            site = site[::-1].translate(str.maketrans("ACGT", "TGCA"))
        seq[pos : pos + width] = site
        sites.append((pos, strand, site))
    records[0][1] = "".join(seq)
    genome, bed = args.out / "genome.fa", args.out / "region.bed"
    with open(genome, "w") as out:
        for name, s in records:
            out.write(f">{name}\n")
            out.writelines(s[i : i + 80] + "\n" for i in range(0, len(s), 80))
    bed.write_text(f"{chrom}\t{START}\t{START + args.region}\n")
    (args.out / "planted.tsv").write_text("".join(f"{chrom}\t{p}\t{s}\t{x}\n" for p, s, x in sites))
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    meme, matches = args.out / "d.meme", args.out / "m.tsv"
    r = run([sys.executable, "-m", "seqfcn", "discover", genome, "--model", "pou5f1_sox2_pwm", "--regions", bed,
             "-o", meme, "--matches", matches, "--threads", args.threads], log=args.out / "discover.log")
    found = [line.rstrip() for line in open(meme) if line.startswith("MOTIF")]
    rows = [line.rstrip("\n").split("\t") for line in open(matches)]
    first = found[0].split()[1] if found else None
    first_rows = [row for row in rows[1:] if row and row[0] == first]
    hit = bool(first_rows) and ("MA0142.1" in "\t".join(first_rows[0]) or "Pou5f1::Sox2" in "\t".join(first_rows[0]))
    r.update(started=started, chrom=chrom, region=[START, START + args.region], copies=args.copies,
             motifs_found=found, matches_header=rows[0] if rows else None, first_matches=first_rows,
             first_is_MA0142=hit,  # its best match
             ma0142_rank=next((int(row[2]) for row in first_rows if row[3] == "MA0142.1"), None))
    (args.out / "results.json").write_text(json.dumps(r, indent=1))
    print(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
