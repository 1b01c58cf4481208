"""Train the shipped pileup correctors ``ont_r9`` and ``ont_r10`` (seqfcn/resources/models/).

    python benchmarks/train_long_read_models.py --out DIR [--profiles r9,r10] [--steps 1500]

Training genomes: three of Debian ``kleborate-examples``' *Klebsiella pneumoniae* (Kp1084,
MGH78578, NTUH-K2044; HS11286 is kept for the benchmark), 300 kb of each main chromosome
(from 1, 2 and 3 Mbp) at 25, 30 and 40x, reads simulated with the profile
(:data:`seqfcn.correction.longread_training.PROFILES`), overlaps mapped as ``seqfcn correct``
maps them, windows of 1,024 bases, AdamW (``TrainSchedule``: batch 32, lr 3e-3). Writes
``DIR/ont_PROFILE/`` (model.safetensors + config.json).
"""
from __future__ import annotations

import argparse
import lzma
import time
from pathlib import Path

GENOMES = (("Klebs_Kp1084", 25.0), ("MGH78578", 30.0), ("NTUH-K2044", 40.0))
DATA = Path("/usr/share/doc/kleborate/examples/data")
REGION = 300_000
ROUNDS = {"r9": 3, "r10": 2}
"""Passes ``seqfcn correct`` makes by default with each model (measured: r9 0.983 / 0.996 / 0.998 median
identity after 1 / 2 / 3 rounds on 150 kb of HS11286 at 30x; r10 0.9985 / 0.9996 after 1 / 2)."""


def main() -> None:
    from seqfcn.correction.longread import model_metadata
    from seqfcn.correction.longread_training import (
        PROFILES, LongReadSimulation, pileup_examples, simulate_long_reads, train_pileup_corrector, write_fastq)
    from seqfcn.correction.training import TrainSchedule, genome_codes
    from seqfcn.nn.checkpoint import save_model

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--profiles", default="r9,r10")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for profile in args.profiles.split(","):
        t0, examples = time.time(), []
        for i, (name, coverage) in enumerate(GENOMES):
            fna = args.out / f"{name}.fna"
            if not fna.exists():
                fna.write_bytes(lzma.decompress((DATA / f"{name}.fna.xz").read_bytes()))
            start = 1_000_000 * (i + 1)
            chrom = genome_codes(fna)[0][start:start + REGION]
            reads = simulate_long_reads([chrom], PROFILES[profile], LongReadSimulation(coverage=coverage), seed=i,
                                        prefix=f"g{i}_")
            fastq = args.out / f"train_{profile}_{i}.fq"
            write_fastq(reads, fastq)
            examples += pileup_examples(reads, fastq, threads=args.threads)
            print(f"{profile}: {name} {len(reads)} reads ({time.time() - t0:.0f} s)", flush=True)
        schedule = TrainSchedule(steps=args.steps, batch_size=32, lr=3e-3, device="cpu", seed=0, progress=False)
        model = train_pileup_corrector(examples, schedule)
        meta = {"profile": profile, "rounds": ROUNDS[profile], "error_model": PROFILES[profile].to_dict(), "genomes": [g for g, _ in GENOMES],
                "steps": args.steps, "train_loss": model.train_metrics.get("train_loss")}
        save_model(model, args.out / f"ont_{profile}", metadata=model_metadata(meta))
        print(f"{profile}: trained ({time.time() - t0:.0f} s), loss {model.train_metrics.get('train_loss'):.4f}",
              flush=True)


if __name__ == "__main__":
    main()
