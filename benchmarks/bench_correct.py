"""Read correction benchmark: seqfcn beside Lighter and SPAdes' BayesHammer, in one run.

    python benchmarks/bench_correct.py --out DIR [--parts klebsiella,ex1,nextseq,lambda,ont]
        [--sets hs30,hs8,ms30,hs60,ms8,ms60,hs30gc] [--bayeshammer hs30,ex1] [--self-train hs30] [--threads 2]
        [--data SIMS] [--model DIR]

1. **klebsiella** (the whole-genome sets): *Klebsiella pneumoniae* HS11286 with its six
   plasmids (5,682,322 bp, Debian ``kleborate-examples``; never used to train the shipped
   model) and, for the ``hx`` sets, 30 Mbp of human GRCh37 chrX (5-20 and 50-65 Mbp of
   Debian ``smalt-examples``' ``hs37chrXtrunc.fa.gz``; the rest is kept for an independent
   check), reads simulated with art_illumina (Debian) at its **default indel rates**, R1
   and R2 concatenated into one file, truth = art's error-free ``-ef`` SAM::

       art_illumina -ss PROFILE -i GENOME.fa -p -l LEN -f COV -m MEAN -s 30 -rs SEED \\
           -ef -na -o SIMS/NAME/r && cat r1.fq r2.fq > all.fq

   with the sets of :data:`SETS` (made when ``SIMS/NAME/all.fq`` is missing), and the
   GC-biased sets of :data:`GC_SETS`: pairs of a uniform set kept with probability
   proportional to ``exp(-(g - peak)^2 / (2 width^2))`` of their fragment's GC ``g`` (R1 and
   R2 error-free; :class:`seqfcn.correction.training.GcBias`, stronger than the shipped
   model's training bias), so coverage falls in GC-rich regions as in a PCR library. Every tool
   gets the same file and ``--threads``: Lighter (``-K 21 <genome size>``), BayesHammer
   (``spades.py --only-error-correction``, on the sets named by ``--bayeshammer``: 10 min
   at 30x), seqfcn with the shipped model and (``--self-train`` sets) reference-free.
   Scored by read name with ``seqfcn evaluate correction --truth``: substitution TP/FP/FN
   and gain, and every read's edit distance to its true read before and after (residual
   edits, reduction, reads made better / worse / exact; indels count too).
2. **ex1** — the real 35 bp Illumina reads of data/samtools/ex1.fastq, corrected by
   Lighter, BayesHammer and seqfcn; aligned before/after with bwa mem to ex1.fa: mismatch
   (edit) rate per aligned base.
3. **nextseq** — the 100 real NextSeq SARS-CoV-2 read pairs of data/illumina (about 1× of
   MN908947.3: too little coverage for any k-mer spectrum, a check that nothing breaks),
   Lighter and seqfcn, aligned before/after with bwa mem to MN908947.3.
4. **lambda** — art HS25 125 bp single-end reads of data/lambda (``--coverage``): Lighter
   and seqfcn (shipped model, ``--self-train``), by simulated truth.
5. **ont** — real ONT reads MT007544 (data/sarscov2): seqfcn with the SARS-CoV-2 ONT model
   and ``--self-train`` against the raw reads, aligned with minimap2 to the sample's medaka
   consensus.

Wall time and peak RSS are GNU ``/usr/bin/time`` around each whole process (start-up and
counting passes included). Writes ``DIR/results.json`` and prints Markdown tables (reads/s
and ratios to Lighter); the latest are in benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from seqfcn.correction.evaluate import evaluate_correction  # noqa: E402
from seqfcn.resources import MODELS  # noqa: E402
from timing import run  # noqa: E402  (benchmarks/timing.py)

KLEBORATE = Path("/usr/share/doc/kleborate/examples/data/Klebs_HS11286.fna.xz")
LAMBDA = ROOT / "data/lambda/lambda_virus.fa"
EX1_FA, EX1_FQ = ROOT / "data/samtools/ex1.fa", ROOT / "data/samtools/ex1.fastq"
ONT_FQ = ROOT / "data/sarscov2/MT007544.fastq"
SARS = ROOT / "data/sarscov2/MN908947.3.fasta"
NEXTSEQ_R1, NEXTSEQ_R2 = ROOT / "data/illumina/test_1.fastq.gz", ROOT / "data/illumina/test_2.fastq.gz"
ONT_CONS = ROOT / "data/sarscov2/MT007544.consensus.medaka.fasta"
KMER_MODEL = MODELS["kmer_illumina"].path
EX1_MODEL = MODELS["ex1_illumina"].path
ONT_MODEL = MODELS["sarscov2_ont"].path
SMALT_CHRX = Path("/usr/share/doc/smalt/test/data/hs37chrXtrunc.fa.gz")
HUMAN_REGIONS = ((5_000_000, 20_000_000), (50_000_000, 65_000_000))
"""GRCh37 chrX dev regions (0-based, end exclusive; only 0-20 and 50-70 Mbp may be used)."""
SETS = {  # name: (art profile, read length, coverage, mean fragment, seed, title); art's default indel rates
    "hs30": ("HS25", 150, 30, 450, 11, "HS25 150 bp 30×"),
    "hs8": ("HS25", 150, 8, 450, 12, "HS25 150 bp 8×"),
    "ms30": ("MSv3", 250, 30, 600, 13, "MiSeq v3 250 bp 30×"),
    "hs60": ("HS25", 150, 60, 450, 14, "HS25 150 bp 60×"),
    "ms8": ("MSv3", 250, 8, 600, 15, "MiSeq v3 250 bp 8×"),
    "ms60": ("MSv3", 250, 60, 600, 16, "MiSeq v3 250 bp 60×"),
    "hx25": ("HS25", 150, 25, 450, 21, "human chrX 5-20 + 50-65 Mbp, HS25 150 bp 25×"),
    "hx8": ("HS25", 150, 8, 450, 22, "human chrX 5-20 + 50-65 Mbp, HS25 150 bp 8×"),
    "hx60": ("HS25", 150, 60, 450, 23, "human chrX 5-20 + 50-65 Mbp, HS25 150 bp 60×"),
}
GC_SETS = {  # name: (source set, GC bias (peak, width), kept fraction, seed, title)
    "hs30gc": ("hs60", (0.5, 0.1), 0.5, 17, "HS25 150 bp 30×, GC-biased coverage"),
}


def seqfcn_correct(reads: Path, out: Path, threads: int, *args: str) -> dict:
    """``seqfcn correct READS -o OUT`` (stats beside it) under :func:`run`."""
    return run([sys.executable, "-m", "seqfcn", "correct", reads, "-o", out, "--stats", out.with_suffix(".json"),
                "--no-progress", "--threads", threads, *args], log=out.with_suffix(".log"))


def genome_size(fasta: Path) -> int:
    return sum(len(line.strip()) for line in fasta.read_text().splitlines() if not line.startswith(">"))


def lighter(reads: Path, d: Path, k: int, size: int, threads: int) -> tuple[Path, dict]:
    d.mkdir(parents=True, exist_ok=True)
    res = run(["lighter", "-r", reads, "-K", k, size, "-t", threads, "-od", d], log=d / "log")
    stem = reads.name.removesuffix(".gz").removesuffix(".fastq").removesuffix(".fq")
    return d / f"{stem}.cor.fq", res


def bayeshammer(reads: Path, d: Path, threads: int) -> tuple[Path, dict]:
    """``spades.py --only-error-correction`` on ``reads``; the corrected reads with the dropped
    ones restored (:func:`restore_dropped`) and the run's time, memory and ``reads_dropped``."""
    shutil.rmtree(d, ignore_errors=True)
    res = run(["spades.py", "--only-error-correction", "-s", reads, "-t", threads, "-o", d],
              log=d.with_name(d.name + ".log"))
    cor = next((d / "corrected").glob("*.fastq*"))
    if cor.suffix == ".gz":
        subprocess.run(["gunzip", "-kf", str(cor)], check=True)
        cor = cor.with_suffix("")
    res["reads_dropped"] = restore_dropped(reads, cor, d / "with_dropped.fq")
    return d / "with_dropped.fq", res


def restore_dropped(original: Path, corrected: Path, out: Path) -> int:
    """Write ``corrected`` in the order of ``original``, with the reads it dropped (BayesHammer
    leaves out reads it cannot correct) as they came: scored as left uncorrected. Returns
    how many were dropped."""
    import pysam

    with pysam.FastxFile(str(corrected)) as fh:
        fixed = {r.name: str(r) for r in fh}
    dropped = 0
    with pysam.FastxFile(str(original)) as fh, open(out, "w") as dst:
        for r in fh:
            rec = fixed.get(r.name)
            dropped += rec is None
            dst.write((rec or str(r)) + "\n")
    return dropped


def genome_of(data: Path, name: str) -> Path:
    """The FASTA a set is simulated from: HS11286, or (``hx`` sets) the chrX dev regions."""
    data.mkdir(parents=True, exist_ok=True)
    if not name.startswith("hx"):
        genome = data / "Klebs_HS11286.fa"
        if not genome.exists():
            with open(genome, "wb") as fh:
                subprocess.run(["xz", "-dc", str(KLEBORATE)], stdout=fh, check=True)
        return genome
    genome = data / "chrX_dev.fa"
    if not genome.exists():
        whole = data / "hs37chrX.fa"
        with open(whole, "wb") as fh:
            subprocess.run(["gzip", "-dc", str(SMALT_CHRX)], stdout=fh, check=True)
        import pysam

        with pysam.FastaFile(str(whole)) as fa, open(genome.with_suffix(".tmp"), "w") as out:
            for lo, hi in HUMAN_REGIONS:
                seq = fa.fetch(fa.references[0], lo, hi)
                out.write(f">chrX:{lo + 1}-{hi}\n" + "\n".join(seq[i:i + 80] for i in range(0, len(seq), 80)) + "\n")
        os.replace(genome.with_suffix(".tmp"), genome)
        whole.unlink()
        Path(str(whole) + ".fai").unlink(missing_ok=True)
    return genome


def simulate(data: Path, name: str) -> Path:
    """``data/NAME`` with ``all.fq`` and ``r_errFree.sam`` (art_illumina, its default indel rates)."""
    profile, length, cov, mean, seed, _ = SETS[name]
    d = data / name
    if (d / "all.fq").exists():
        return d
    genome = genome_of(data, name)
    d.mkdir(parents=True, exist_ok=True)
    run(["art_illumina", "-ss", profile, "-i", genome, "-p", "-l", length, "-f", cov, "-m", mean, "-s", 30,
         "-rs", seed, "-ef", "-na", "-o", d / "r"], log=d / "art.log")
    with open(d / "all.fq", "wb") as out:
        for mate in ("r1.fq", "r2.fq"):
            with open(d / mate, "rb") as fh:
                shutil.copyfileobj(fh, out)
    return d


def simulate_gc(data: Path, name: str) -> Path:
    """``data/NAME``: the pairs of a uniform set kept by their GC (:data:`GC_SETS`); the
    truth is the source set's error-free SAM (matched by read name)."""
    import numpy as np
    import pysam

    from seqfcn.correction.training import GcBias

    source, (peak, width), fraction, seed, _ = GC_SETS[name]
    d = data / name
    if (d / "all.fq").exists():
        return d
    src = simulate(data, source)
    gc: dict[str, list[int]] = {}  # pair name (the SAM's; FASTQ names add /1, /2) -> [G + C, bases]
    verbosity = pysam.set_verbosity(0)  # art's SAM has no @SQ lines: htslib warns for every record
    with pysam.AlignmentFile(str(src / "r_errFree.sam"), check_sq=False) as fh:
        for r in fh:
            seq = r.query_sequence
            n = gc.setdefault(r.query_name, [0, 0])
            n[0] += seq.count("G") + seq.count("C")
            n[1] += len(seq)
    pysam.set_verbosity(verbosity)
    names = list(gc)
    w = GcBias(peak, width).weight(np.array([gc[n][0] / gc[n][1] for n in names]))
    keep_p = np.minimum(1.0, fraction * w / w.mean())
    kept = {n for n, u, p in zip(names, np.random.default_rng(seed).random(len(names)), keep_p) if u < p}
    d.mkdir(parents=True, exist_ok=True)
    with pysam.FastxFile(str(src / "all.fq")) as fh, open(d / "all.tmp", "w") as out:
        for r in fh:
            if r.name.rsplit("/", 1)[0] in kept:
                out.write(str(r) + "\n")
    os.symlink(src / "r_errFree.sam", d / "r_errFree.sam")
    os.replace(d / "all.tmp", d / "all.fq")
    return d


def part_klebsiella(out: Path, args: argparse.Namespace) -> dict:
    results = {}
    for name in args.sets.split(","):
        d = simulate_gc(args.data, name) if name in GC_SETS else simulate(args.data, name)
        reads, truth = d / "all.fq", d / "r_errFree.sam"
        size = genome_size(genome_of(args.data, name)) if name in SETS else 5_682_322
        o = out / "klebsiella" / name
        o.mkdir(parents=True, exist_ok=True)
        runs = [("Lighter 1.1.2", *lighter(reads, o / "lighter", 21, size, args.threads))]
        if name in args.bayeshammer.split(","):
            runs.append(("SPAdes 3.15 BayesHammer", *bayeshammer(reads, o / "bayeshammer", args.threads)))
        runs.append(("seqfcn", o / "seqfcn.fq", seqfcn_correct(reads, o / "seqfcn.fq", args.threads,
                                                              "--model", args.model)))
        if name in args.ablation.split(","):  # what each part adds: the indel pass, the network
            for label, stem, extra in (("seqfcn --indels 0 (no indel pass)", "noindel", ("--indels", "0")),
                                       ("seqfcn --rounds 0 (walk and indel pass, no network)", "walk",
                                        ("--rounds", "0"))):
                runs.append((label, o / f"{stem}.fq", seqfcn_correct(reads, o / f"{stem}.fq", args.threads,
                                                                     "--model", args.model, *extra)))
        if name in args.self_train.split(","):
            runs.append(("seqfcn --self-train", o / "selftrain.fq",
                         seqfcn_correct(reads, o / "selftrain.fq", args.threads, "--self-train")))
        n_reads = sum(1 for _ in open(reads, "rb")) // 4
        rows = {}
        for tool, corrected, res in runs:
            m = evaluate_correction(reads, corrected, truth=truth)
            rows[tool] = {**m, **res, "reads": n_reads, "reads_per_s": round(n_reads / res["seconds"])}
        results[name] = rows
        print(klebsiella_table({name: rows}), flush=True)
    return results


def part_ex1(out: Path, args: argparse.Namespace) -> dict:
    d = out / "ex1"
    d.mkdir(parents=True, exist_ok=True)
    reads = d / "ex1.fastq"
    shutil.copy(EX1_FQ, reads)
    runs = [("Lighter 1.1.2", *lighter(reads, d / "lighter", 17, genome_size(EX1_FA), args.threads))]
    if "ex1" in args.bayeshammer.split(","):
        runs.append(("SPAdes 3.15 BayesHammer", *bayeshammer(reads, d / "bayeshammer", args.threads)))
    runs.append(("seqfcn", d / "seqfcn.fq", seqfcn_correct(reads, d / "seqfcn.fq", args.threads, "--model",
                                                          args.model)))
    runs.append(("seqfcn --model ex1_illumina (learnt ex1.fa)", d / "ex1_model.fq",
                 seqfcn_correct(reads, d / "ex1_model.fq", args.threads, "--model", EX1_MODEL)))
    return {tool: {**evaluate_correction(reads, cor, reference=EX1_FA, aligner="bwa"), **res}
            for tool, cor, res in runs}


def part_nextseq(out: Path, args: argparse.Namespace) -> dict:
    """The 100 real NextSeq SARS-CoV-2 read pairs of data/illumina (R1 and R2 in one file, named
    apart; ~1x of MN908947.3): Lighter and seqfcn, bwa mem to MN908947.3 before/after."""
    d = out / "nextseq"
    d.mkdir(parents=True, exist_ok=True)
    import pysam

    reads = d / "nextseq.fq"
    with open(reads, "w") as dst:  # mates share names: R1 as NAME_1, R2 as NAME_2
        for k, mate in enumerate((NEXTSEQ_R1, NEXTSEQ_R2), 1):
            with pysam.FastxFile(str(mate)) as fh:
                for r in fh:
                    dst.write(f"@{r.name}_{k}\n{r.sequence}\n+\n{r.quality}\n")
    runs = [("Lighter 1.1.2", *lighter(reads, d / "lighter", 21, genome_size(SARS), args.threads)),
            ("seqfcn", d / "seqfcn.fq", seqfcn_correct(reads, d / "seqfcn.fq", args.threads, "--model", args.model))]
    return {tool: {**evaluate_correction(reads, cor, reference=SARS, aligner="bwa"), **res}
            for tool, cor, res in runs}


def part_lambda(out: Path, args: argparse.Namespace) -> dict:
    results = {}
    for seed, coverage in enumerate(args.coverage, 1):
        d = out / f"lambda_{coverage:g}x_seed{seed}"
        d.mkdir(parents=True, exist_ok=True)
        run(["art_illumina", "-ss", "HS25", "-i", LAMBDA, "-l", 125, "-f", coverage, "-rs", seed, "-ir", 0,
             "-ir2", 0, "-dr", 0, "-dr2", 0, "-ef", "-sam", "-na", "-o", d / "sim"])
        reads, truth = d / "sim.fq", d / "sim_errFree.sam"
        runs = [("Lighter 1.1.2", *lighter(reads, d / "lighter", 23, genome_size(LAMBDA), args.threads)),
                ("seqfcn", d / "seqfcn.fq", seqfcn_correct(reads, d / "seqfcn.fq", args.threads, "--model",
                                                           args.model)),
                ("seqfcn --self-train", d / "selftrain.fq",
                 seqfcn_correct(reads, d / "selftrain.fq", args.threads, "--self-train"))]
        results[d.name] = {tool: {**evaluate_correction(reads, cor, truth=truth), **res} for tool, cor, res in runs}
    return results


def part_ont(out: Path, args: argparse.Namespace) -> dict:
    d = out / "ont"
    d.mkdir(parents=True, exist_ok=True)
    runs = [("seqfcn --model sarscov2_ont", d / "reference.fq",
             seqfcn_correct(ONT_FQ, d / "reference.fq", args.threads, "--model", ONT_MODEL, "--min-confidence", "0.5")),
            (f"seqfcn --self-train --self-train-mode memorise ({args.ont_steps} steps)", d / "selftrain.fq",
             seqfcn_correct(ONT_FQ, d / "selftrain.fq", args.threads, "--self-train", "--self-train-mode", "memorise",
                            "--self-train-steps", str(args.ont_steps), "--self-train-error-model", "ont"))]
    return {tool: {**evaluate_correction(ONT_FQ, cor, reference=ONT_CONS, aligner="minimap2"), **res}
            for tool, cor, res in runs}


def _label(tool: str, m: dict) -> str:
    dropped = m.get("reads_dropped")
    return f"{tool} ({dropped:,} reads dropped, scored as uncorrected)" if dropped else tool


def _edits(m: dict) -> str:
    """Edit distance to the truth (indels too): ``before → after (reduction) | better / worse / exact after``."""
    red = m.get("edit_reduction")
    return (f"{m['edits_before']:,} → {m['edits_after']:,} ({'n/a' if red is None else f'{red:.1%}'}) | "
            f"{m['reads_improved']:,} / {m['reads_worsened']:,} / {m['reads_exact_after']:,}")


def klebsiella_table(results: dict) -> str:
    lines = [("| set | tool | gain | TP | FP | FN | edits before → after | reads better / worse / exact | wall s | "
              "reads/s | peak MB | wall / Lighter | reads/s / Lighter |"),
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, rows in results.items():
        base = next(iter(rows.values()))
        for i, (tool, m) in enumerate(rows.items()):
            label = f"{(SETS.get(name) or GC_SETS[name])[-1]} ({m['reads']:,} reads, {m['TP'] + m['FN']:,} errors)" if i == 0 else ""
            lines.append(f"| {label} | {_label(tool, m)} | {m['gain']:.4f} | {m['TP']:,} | {m['FP']:,} | {m['FN']:,} | "
                         f"{_edits(m)} | {m['seconds']:.1f} | {m['reads_per_s']:,} | {m['peak_mb']:.0f} | "
                         f"{m['seconds'] / base['seconds']:.2f} | {m['reads_per_s'] / base['reads_per_s']:.2f} |")
    return "\n".join(lines) + "\n"


def truth_table(title: str, rows: dict) -> str:
    lines = [title, "", ("| tool | gain | TP | FP | FN | edits before → after | reads better / worse / exact | "
                         "wall s | peak MB |"), "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {_label(tool, m)} | {m['gain']:.4f} | {m['TP']} | {m['FP']} | {m['FN']} | {_edits(m)} | "
              f"{m['seconds']} | {m['peak_mb']} |" for tool, m in rows.items()]
    return "\n".join(lines) + "\n"


def aligned_table(title: str, rows: dict) -> str:
    lines = [title, "", "| tool | edit rate before | edit rate after | reduction | reads better / worse | wall s | "
             "peak MB |", "|---|---|---|---|---|---|---|"]
    for tool, m in rows.items():
        red = m["error_rate_reduction"]
        lines.append(f"| {_label(tool, m)} | {m['alignment_error_rate_before']:.5f} | {m['alignment_error_rate_after']:.5f} | "
                     f"{'n/a' if red is None else f'{red:.1%}'} | {m['reads_improved']} / {m['reads_worsened']} | "
                     f"{m['seconds']} | {m['peak_mb']} |")
    return "\n".join(lines) + "\n"


def tables(results: dict) -> str:
    parts = []
    if "klebsiella" in results:
        parts.append("### Simulated sets with indels: Klebsiella HS11286 and human chrX dev regions (simulated truth)\n\n"
                     + klebsiella_table(results["klebsiella"]))
    if "ex1" in results:
        parts.append(aligned_table("### samtools ex1, real 35 bp Illumina (bwa mem to ex1.fa)", results["ex1"]))
    if "nextseq" in results:
        parts.append(aligned_table("### SARS-CoV-2, 100 real NextSeq 150 bp pairs (~1×; bwa mem to MN908947.3)",
                                   results["nextseq"]))
    for name, rows in results.get("lambda", {}).items():
        parts.append(truth_table(f"### {name}: art_illumina HS25 125 bp (simulated truth)", rows))
    if "ont" in results:
        parts.append(aligned_table("### MT007544, real ONT (minimap2 to the medaka consensus)", results["ont"]))
    return "\n".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="bench_correct_out", type=Path)
    ap.add_argument("--parts", default="klebsiella,ex1,nextseq,lambda,ont")
    ap.add_argument("--data", type=Path, help="folder of the simulated Klebsiella sets (default OUT/sims)")
    ap.add_argument("--sets", default=",".join([*SETS, *GC_SETS]), help="Klebsiella sets (default %(default)s)")
    ap.add_argument("--bayeshammer", default="hs30,ex1", help="sets BayesHammer runs on ('' for none)")
    ap.add_argument("--self-train", default="hs30", help="Klebsiella sets seqfcn --self-train runs on")
    ap.add_argument("--ablation", default="hs30", help="sets seqfcn also runs on with --indels 0 and --rounds 0")
    ap.add_argument("--model", type=Path, default=KMER_MODEL)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--coverage", type=float, nargs="+", default=[40, 60], help="lambda coverages (seeds 1, 2, ...)")
    ap.add_argument("--ont-steps", type=int, default=400)
    args = ap.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    args.data = (args.data or out / "sims").resolve()
    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": platform.platform(),
                     "cpus": os.cpu_count(), "command": " ".join(sys.argv)}
    for part in args.parts.split(","):
        results[part] = globals()[f"part_{part}"](out, args)
        (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(tables(results))


if __name__ == "__main__":
    main()
