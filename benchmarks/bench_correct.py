"""Read correction benchmark: seqfcn correct beside Lighter, in one run.

    python benchmarks/bench_correct.py [--out DIR] [--coverage 40 60] [--self-train-steps 800]
                                       [--lambda-model DIR] [--parts lambda,ex1,ont]

1. **lambda** — Illumina-like reads simulated with art_illumina (HiSeq 2500 profile
   ``HS25``, 125 bp single-end, indels off so base-level truth applies) from
   data/lambda/lambda_virus.fa at ``--coverage``; truth = art's error-free SAM.
   Lighter (``-K 23 <genome size>``) and seqfcn (``--self-train``: reference-free,
   trained on the reads; plus a reference-trained model if ``--lambda-model``) each
   correct the same reads. Reported: gain, TP, FP, FN, wall time and peak memory
   (max RSS of the process, GNU ``/usr/bin/time %M``).
2. **ex1** — the real 35 bp Illumina reads of data/samtools/ex1.fastq, corrected
   by the shipped model data/models/ex1_illumina and by Lighter; both aligned
   before/after with bwa mem to ex1.fa: mismatch (edit) rate per aligned base.
3. **ont** — real ONT reads MT007544 (data/sarscov2): seqfcn ``--self-train``
   (ONT error model, gap class) vs the raw reads, aligned with minimap2 to the
   sample's medaka consensus: edit rate per aligned base before/after.

Writes ``DIR/results.json`` and prints a markdown table (kept in
benchmarks/results_correct.md).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seqfcn.correction.evaluate import evaluate_correction

ROOT = Path(__file__).resolve().parent.parent
LAMBDA = ROOT / "data/lambda/lambda_virus.fa"
EX1_FA, EX1_FQ = ROOT / "data/samtools/ex1.fa", ROOT / "data/samtools/ex1.fastq"
ONT_FQ = ROOT / "data/sarscov2/MT007544.fastq"
ONT_CONS = ROOT / "data/sarscov2/MT007544.consensus.medaka.fasta"
EX1_MODEL = ROOT / "data/models/ex1_illumina"
KMER_MODEL = ROOT / "data/models/kmer_illumina"  # trained on SARS-CoV-2 simulations, corrects any genome
ONT_MODEL = ROOT / "data/models/sarscov2_ont"  # SARS-CoV-2 reference k-mers, indel classes


def run(cmd: list[str], *, cwd: Path | None = None) -> dict:
    """Run ``cmd`` under GNU time: wall seconds and peak resident memory (MB, ``%M``).

    (``wait4`` from this Python process would count the pre-``exec`` copy of the
    parent in the child's maximum RSS, so a small external ``time`` measures instead.)"""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        proc = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", tf.name, *map(str, cmd)], cwd=cwd,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        wall, kb = tf.read().split()[-2:]
    return {"seconds": round(float(wall), 2), "peak_mb": round(int(kb) / 1024, 1)}


def seqfcn_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "seqfcn", "correct", *args, "--no-progress", "--threads", "1"]


def genome_size(fasta: Path) -> int:
    return sum(len(line.strip()) for line in fasta.read_text().splitlines() if not line.startswith(">"))


def lighter(reads: Path, out: Path, k: int, size: int) -> tuple[Path, dict]:
    out.mkdir(exist_ok=True)
    res = run(["lighter", "-r", str(reads), "-K", str(k), str(size), "-t", "1", "-od", str(out)])
    stem = reads.name.removesuffix(".gz").removesuffix(".fastq").removesuffix(".fq")
    name = f"{stem}.cor.fq"
    return out / name, res


def part_lambda(out: Path, coverage: float, steps: int, lambda_model: str | None, seed: int = 1) -> dict:
    d = out / f"lambda_{coverage:g}x_seed{seed}"
    d.mkdir(parents=True, exist_ok=True)
    prefix = d / "sim"
    run(["art_illumina", "-ss", "HS25", "-i", str(LAMBDA), "-l", "125", "-f", str(coverage), "-rs", str(seed),
         "-ir", "0", "-ir2", "0", "-dr", "0", "-dr2", "0", "-ef", "-sam", "-na", "-o", str(prefix)])
    reads, truth = d / "sim.fq", d / "sim_errFree.sam"
    rows = {}
    lfq, lres = lighter(reads, d / "lighter", 23, genome_size(LAMBDA))
    rows["Lighter"] = {**evaluate_correction(reads, lfq, truth=truth), **lres}
    for conf in ("0.5", "0.9"):
        kfq = d / f"seqfcn_kmer_{conf}.fq"
        kres = run(seqfcn_cmd(str(reads), "--model", str(KMER_MODEL), "-o", str(kfq), "--min-confidence", conf))
        rows[f"seqfcn --model data/models/kmer_illumina --min-confidence {conf}"] = {
            **evaluate_correction(reads, kfq, truth=truth), **kres}
    sfq = d / "seqfcn_selftrain.fq"
    sres = run(seqfcn_cmd(str(reads), "--self-train", "--self-train-steps", str(steps), "-o", str(sfq),
                          "--stats", str(d / "selftrain_stats.json"), "--min-confidence", "0.5"))
    rows[f"seqfcn --self-train ({steps} steps, k-mer mode)"] = {**evaluate_correction(reads, sfq, truth=truth),
                                                                 **sres}
    if lambda_model:
        rfq = d / "seqfcn_reference.fq"
        rres = run(seqfcn_cmd(str(reads), "--model", lambda_model, "-o", str(rfq), "--min-confidence", "0.5"))
        rows["seqfcn reference-trained"] = {**evaluate_correction(reads, rfq, truth=truth), **rres}
    return rows


def part_ex1(out: Path) -> dict:
    d = out / "ex1"
    d.mkdir(parents=True, exist_ok=True)
    reads = d / "ex1.fastq"
    shutil.copy(EX1_FQ, reads)
    rows = {}
    lfq, lres = lighter(reads, d / "lighter", 17, genome_size(EX1_FA))
    rows["Lighter"] = {**evaluate_correction(reads, lfq, reference=EX1_FA, aligner="bwa"), **lres}
    kfq = d / "seqfcn_kmer.fq"
    kres = run(seqfcn_cmd(str(reads), "--model", str(KMER_MODEL), "-o", str(kfq), "--min-confidence", "0.5"))
    rows["seqfcn data/models/kmer_illumina, --min-confidence 0.5"] = {
        **evaluate_correction(reads, kfq, reference=EX1_FA, aligner="bwa"), **kres}
    for conf in ("0.9", "0.5"):
        sfq = d / f"seqfcn_{conf}.fq"
        sres = run(seqfcn_cmd(str(reads), "--model", str(EX1_MODEL), "-o", str(sfq), "--min-confidence", conf))
        rows[f"seqfcn data/models/ex1_illumina, --min-confidence {conf}"] = {
            **evaluate_correction(reads, sfq, reference=EX1_FA, aligner="bwa"), **sres}
    return rows


def part_ont(out: Path, steps: int) -> dict:
    d = out / "ont"
    d.mkdir(parents=True, exist_ok=True)
    rows = {}
    for conf in ("0.5", "0.8"):
        rfq = d / f"seqfcn_ref_{conf}.fq"
        rres = run(seqfcn_cmd(str(ONT_FQ), "--model", str(ONT_MODEL), "-o", str(rfq), "--stats",
                              str(d / f"ref_{conf}.json"), "--min-confidence", conf))
        m = evaluate_correction(ONT_FQ, rfq, reference=ONT_CONS, aligner="minimap2")
        st = json.loads((d / f"ref_{conf}.json").read_text())
        rows[f"seqfcn --model data/models/sarscov2_ont --min-confidence {conf}"] = {
            **m, **rres, **{k: st[k] for k in ("bases_deleted", "bases_inserted", "bases_substituted")}}
    sfq = d / "seqfcn.fq"
    sres = run(seqfcn_cmd(str(ONT_FQ), "--self-train", "--self-train-mode", "memorise", "--self-train-steps", str(steps),
                          "--self-train-error-model", "ont", "-o", str(sfq),
                          "--stats", str(d / "stats.json"), "--min-confidence", "0.9"))
    m = evaluate_correction(ONT_FQ, sfq, reference=ONT_CONS, aligner="minimap2")
    stats = json.loads((d / "stats.json").read_text())
    rows[f"seqfcn --self-train --self-train-mode memorise ({steps} steps)"] = {
        **m, **sres, "bases_deleted": stats["bases_deleted"], "bases_substituted": stats["bases_substituted"]}
    return rows


def table(results: dict) -> str:
    lines = []
    for part in [p for p in results if p.startswith("lambda")]:
        lines += [f"### {part}: art_illumina HS25 125 bp (simulated truth)", "",
                  "| tool | gain | TP | FP | FN | error rate after | wall s | peak MB |", "|---|---|---|---|---|---|---|---|"]
        for name, m in results[part].items():
            lines.append(f"| {name} | {m['gain']:.4f} | {m['TP']} | {m['FP']} | {m['FN']} | "
                         f"{m['error_rate_after']:.6f} (before {m['error_rate_before']:.5f}) | {m['seconds']} | {m['peak_mb']} |")
        lines.append("")
    for part, title in (("ex1", "### samtools ex1, real 35 bp Illumina (bwa mem to ex1.fa)"),
                        ("ont", "### MT007544, real ONT (minimap2 to the medaka consensus)")):
        if part not in results:
            continue
        lines += [title, "", "| tool | edit rate before | edit rate after | reduction | reads better / worse | wall s | peak MB |",
                  "|---|---|---|---|---|---|---|"]
        for name, m in results[part].items():
            red = m["error_rate_reduction"]
            lines.append(f"| {name} | {m['alignment_error_rate_before']:.5f} | {m['alignment_error_rate_after']:.5f} | "
                         f"{'n/a' if red is None else f'{red:.1%}'} | {m['reads_improved']} / {m['reads_worsened']} | "
                         f"{m['seconds']} | {m['peak_mb']} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="bench_correct_out")
    ap.add_argument("--coverage", type=float, nargs="+", default=[40, 60],
                    help="lambda: one art_illumina data set per coverage (seeds 1, 2, ...)")
    ap.add_argument("--self-train-steps", type=int, default=1500)
    ap.add_argument("--ont-steps", type=int, default=400)
    ap.add_argument("--lambda-model", help="a reference-trained lambda model (benchmarks/train_default_models.py)")
    ap.add_argument("--parts", default="lambda,ex1,ont")
    args = ap.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": platform.platform(),
                     "cpus": os.cpu_count(), "command": " ".join(sys.argv)}
    parts = args.parts.split(",")
    if "lambda" in parts:
        for seed, cov in enumerate(args.coverage, 1):
            results[f"lambda_{cov:g}x_seed{seed}"] = part_lambda(out, cov, args.self_train_steps, args.lambda_model,
                                                                 seed)
    if "ex1" in parts:
        results["ex1"] = part_ex1(out)
    if "ont" in parts:
        results["ont"] = part_ont(out, args.ont_steps)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(table(results))


if __name__ == "__main__":
    main()
