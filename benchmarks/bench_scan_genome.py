"""Large-genome PWM scan: seqfcn, memesuite-lite (FIMO) and MOODS as whole processes, one run.

    python benchmarks/bench_scan_genome.py --out DIR [--mbp 100] [--threads 2] [--motifs N]
        [--tools seqfcn,memelite,MOODS]

Input: the four complete *Klebsiella pneumoniae* genomes of Debian's ``kleborate-examples``
(HS11286, Kp1084, MGH78578, NTUH-K2044, with their plasmids; 22 Mbp), repeated with
renamed records until ``--mbp`` megabases (``DIR/genome.fa``). Motifs: all 879 of JASPAR
2024 CORE vertebrates non-redundant (``--motifs N``: the first N). Both strands, p < 1e-4,
uniform background.

Each tool is one whole process timed by GNU ``/usr/bin/time`` (wall, peak RSS), from the
FASTA and motif files to a file of hits, as a pipeline step pays for it:

- seqfcn: ``seqfcn scan genome.fa --motifs jaspar2024 -o hits.bed --threads T`` (streamed
  output, exact p-values, exact BH q-values over all tested windows);
- memesuite-lite: ``memelite.fimo`` on the same FIMO-smoothed probabilities
  (``(f * nsites + 0.025) / (nsites + 0.1)``, ``eps=0``; its p-values are binned at 0.1
  bits), hits written as TSV; numba threads = T;
- MOODS: ``MOODS.scan.Scanner`` over each record with the log2 odds of the same
  probabilities and ``threshold_from_p`` thresholds, hits written as they come
  (single-threaded: MOODS has no threads).

Prints a Markdown table (wall, Mbp/s, peak MB, hits, ratios to memesuite-lite).
"""
from __future__ import annotations

import argparse
import json
import lzma
import sys
import time
from pathlib import Path

from timing import run  # benchmarks/timing.py

ROOT = Path(__file__).resolve().parent.parent
MOTIFS = ROOT / "seqfcn" / "resources" / "motifs" / "JASPAR2024_CORE_vertebrates_non-redundant.meme"
KLEBORATE = Path("/usr/share/doc/kleborate/examples/data")
GENOMES = ("Klebs_HS11286", "Klebs_Kp1084", "MGH78578", "NTUH-K2044")

_SMOOTHED = """
import numpy as np
from seqfcn.io.motifs import read_motifs
motifs = read_motifs({motifs!r})[:{n}]
probs = {{m.id: (m.pfm * m.nsites + 0.1 * 0.25) / (m.nsites + 0.1) for m in motifs}}
"""
MEMELITE = _SMOOTHED + """
import pandas as pd
from memelite import fimo
hits = fimo(probs, {fasta!r}, eps=0.0, threshold=1e-4)
table = pd.concat(hits) if hits else pd.DataFrame()
table.to_csv({out!r}, sep="\\t", index=False)
print(len(table))
"""
MOODS = _SMOOTHED + """
import MOODS.scan, MOODS.tools, pysam
bg = [0.25] * 4
mats = [[list(r) for r in np.log2(p / 0.25)] for p in probs.values()]
allm = mats + [MOODS.tools.reverse_complement(m) for m in mats]
scanner = MOODS.scan.Scanner(7)
scanner.set_motifs(allm, bg, [MOODS.tools.threshold_from_p(m, bg, 1e-4) for m in allm])
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
    """The kleborate genomes, repeated with renamed records (``c2_...``) until ``mbp`` Mbp;
    with ``one_record``, joined into one record of that name (a mammalian-sized chromosome)."""
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--mbp", type=float, default=100.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--motifs", type=int, default=879)
    ap.add_argument("--tools", default="seqfcn,memelite,MOODS")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    fasta = args.out / f"genome_{args.mbp:g}mbp.fa"
    if not fasta.exists():
        build_genome(fasta, args.mbp)
    bases = sum(len(line) - 1 for line in open(fasta) if not line.startswith(">"))
    rows = {}
    for tool in args.tools.split(","):
        out = args.out / f"{tool}.hits"
        if tool == "seqfcn":
            r = run([sys.executable, "-m", "seqfcn", "scan", str(fasta), "--motifs", str(MOTIFS),
                     *(["--motif", *_first_ids(args.motifs)] if args.motifs < 879 else []),
                     "-o", str(out), "--threads", str(args.threads), "-q"], log=out.with_suffix(".log"))
            r["hits"] = sum(1 for _ in open(out)) - 1  # the track line
        else:
            script = (MEMELITE if tool == "memelite" else MOODS).format(motifs=str(MOTIFS), n=args.motifs,
                                                                         fasta=str(fasta), out=str(out))
            r = run([sys.executable, "-c", script], log=out.with_suffix(".log"),
                    env={"NUMBA_NUM_THREADS": str(args.threads)})
            r["hits"] = int(out.with_suffix(".log").read_text().split()[-1])  # the script prints the count
        rows[tool] = r
        print(tool, json.dumps(r), flush=True)
    base = rows.get("memelite") or next(iter(rows.values()))
    print(f"\n{bases / 1e6:.1f} Mbp x {args.motifs} motifs, both strands, p < 1e-4, {args.threads} threads, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print("| tool | wall s | Mbp/s | peak MB | hits | wall / memesuite-lite |")
    print("|---|---|---|---|---|---|")
    for tool, r in rows.items():
        print(f"| {tool} | {r['seconds']:.1f} | {bases / 1e6 / r['seconds']:.2f} | {r['peak_mb']:.0f} | "
              f"{r['hits']:,} | {r['seconds'] / base['seconds']:.2f} |")


def _first_ids(n: int) -> list[str]:
    ids = [line.split()[1] for line in open(MOTIFS) if line.startswith("MOTIF ")]
    return ids[:n]


if __name__ == "__main__":
    main()
