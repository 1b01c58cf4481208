"""Spectrum memory benchmark: peak RSS and bytes per distinct k-mer of ``seqfcn count``
and ``seqfcn correct``.

    python benchmarks/bench_spectrum_memory.py --out DIR [--genomes 5,60] [--coverage 25]
        [--job count|correct|counting|shards|correct-spectrum] [--memory SIZE] [--shards N]
        [--reads FASTQ] [--python PYTHON] [--pythonpath DIR] [--label after]

For each genome size (Mbp) a random genome (uniform bases, seed = its size) and reads
sampled from it (150 bp, both strands, ``--coverage`` x, 1% uniform substitutions,
quality ``I``) are written once to ``DIR/g{size}.fq``; then ``seqfcn count -k 21`` runs on
them as a whole process under GNU ``/usr/bin/time -v``. Printed (and appended to
``DIR/results.jsonl``): the peak RSS, the distinct k-mers kept in the spectrum, peak RSS per
distinct k-mer and the wall time. ``--job correct`` runs ``seqfcn correct`` with the shipped
reads-spectrum model (``kmer_illumina``, k = 21, its own counting pass included) instead, and
takes the distinct k-mers from a ``seqfcn count`` of the same file; ``--memory`` passes that cap to
it (``seqfcn correct --memory``: counting in passes). ``--job counting`` times that counting pass
alone (``count_reads(..., compact=0, memory=...)`` in a process without torch: its peak is the
counting's, not the correction's). With ``--job count``, ``--memory`` is ``seqfcn count --memory``;
``--job shards`` counts ``--shards`` count shards (each with ``--memory``) and times ``seqfcn merge``
of them, checking the merged file against the uncapped count's; ``--job correct-spectrum`` times
``seqfcn correct --spectrum`` given the uncapped count's file. ``--reads FASTQ`` measures that
file instead of a simulated genome. ``--pythonpath`` puts another seqfcn package first on
``PYTHONPATH`` (e.g. a copy of the previous version) so before/after run on the same reads.
The extrapolation to a human genome (3.1 Gbp at 30x) scales the kept k-mers with the genome
size: ``bytes per k-mer x kept k-mers per genome base x 3.1e9``.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

READ_LEN = 150
ERROR_RATE = 0.01


def simulate(path: Path, genome_bp: int, coverage: float, seed: int) -> None:
    """Write ``coverage`` x of 150 bp reads of a random genome to ``path`` (FASTQ)."""
    rng = np.random.default_rng(seed)
    genome = rng.integers(0, 4, genome_bp, dtype=np.uint8)
    n_reads = int(genome_bp * coverage / READ_LEN)
    letters = np.frombuffer(b"ACGT", np.uint8)
    qual = b"I" * READ_LEN
    tmp = path.with_suffix(".tmp")
    chunk = 200_000
    with open(tmp, "wb") as fh:
        for start in range(0, n_reads, chunk):
            m = min(chunk, n_reads - start)
            pos = rng.integers(0, genome_bp - READ_LEN, m)
            reads = genome[pos[:, None] + np.arange(READ_LEN)[None, :]]
            rc = rng.random(m) < 0.5
            reads[rc] = 3 - reads[rc, ::-1]
            err = rng.random(reads.shape) < ERROR_RATE
            reads[err] = (reads[err] + rng.integers(1, 4, int(err.sum()), dtype=np.uint8)) % 4
            seqs = letters[reads]
            out = bytearray()
            for i in range(m):
                out += b"@r%d\n" % (start + i) + seqs[i].tobytes() + b"\n+\n" + qual + b"\n"
            fh.write(out)
    os.replace(tmp, path)


def timed(args: list[str], cwd: Path, python: str, pythonpath: str | None) -> tuple[int, float]:
    """Run ``python -m seqfcn ARGS`` under ``/usr/bin/time -v``: peak RSS (bytes) and wall seconds."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    t0 = time.time()
    run = subprocess.run(["/usr/bin/time", "-v", python, "-m", "seqfcn", *args], env=env, capture_output=True,
                         text=True, cwd=cwd)  # not the repo: -m puts cwd first
    wall = time.time() - t0
    if run.returncode:
        raise SystemExit(f"seqfcn {args[0]} failed: {run.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr).group(1)) * 1024
    return rss, wall


_COUNTING = """
import resource, sys, time
from seqfcn.correction.evidence import count_reads
from seqfcn.cli.args import memory_size
t = time.time()
count_reads([sys.argv[1]], 21, compact=0, memory=memory_size(sys.argv[2]) if sys.argv[2] != "-" else None)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, time.time() - t)
"""


def counting_phase(fastq: Path, python: str, pythonpath: str | None, memory: str | None) -> tuple[int, float]:
    """Peak RSS (bytes) and seconds of the counting pass of ``seqfcn correct`` alone (what it
    builds for correction, with ``--memory``), in a process that never imports torch."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    run = subprocess.run([python, "-c", _COUNTING, str(fastq), memory or "-"], env=env, capture_output=True,
                         text=True, cwd=fastq.parent)
    if run.returncode:
        raise SystemExit(f"counting failed: {run.stderr[-2000:]}")
    rss, wall = run.stdout.split()
    return int(rss), float(wall)


def measure(fastq: Path, out: Path, python: str, pythonpath: str | None, job: str = "count",
            memory: str | None = None, shards: int = 4) -> dict:
    """Peak RSS (bytes), wall seconds and distinct k-mers of ``seqfcn count -k 21`` on ``fastq``
    (``job="correct"``: of ``seqfcn correct`` with the shipped reads-spectrum model; ``"shards"``:
    of ``seqfcn merge`` of ``shards`` count shards, each counted with ``memory``, the largest
    shard's peak and wall beside it; ``"correct-spectrum"``: of ``seqfcn correct --spectrum``
    given the uncapped count's file). ``memory``: ``--memory SIZE`` for count or correct."""
    fastq = fastq.resolve()
    spectrum = out.with_suffix(".kmers.npz").resolve()
    cap = [] if memory is None else ["--memory", memory]
    extra: dict = {}
    if not spectrum.exists() or job == "count":
        rss, wall = timed(["count", "-k", "21", "-o", str(spectrum), str(fastq), *(cap if job == "count" else [])],
                          out.parent, python, pythonpath)
    if job == "shards":
        runs = [timed(["count", "-k", "21", "--shard", f"{i}/{shards}", "-o", str(spectrum) + f".{i}", str(fastq), *cap],
                      out.parent, python, pythonpath) for i in range(1, shards + 1)]
        merged = str(spectrum) + ".merged"
        rss, wall = timed(["merge", *(str(spectrum) + f".{i}" for i in range(1, shards + 1)), "-o", merged],
                          out.parent, python, pythonpath)
        extra = {"shard_peak_rss": max(r for r, _ in runs), "shard_wall_s": round(max(w for _, w in runs), 1),
                 "merged_equals_count": _same_arrays(spectrum, Path(merged))}
    if job == "correct-spectrum":
        rss, wall = timed(["correct", str(fastq), "--model", "kmer_illumina", "--spectrum", str(spectrum), "-o",
                           str(out.with_suffix(".fq").resolve()), "--no-progress", "--threads", "2"],
                          out.parent, python, pythonpath)
    if job == "counting":
        rss, wall = counting_phase(fastq, python, pythonpath, memory)
    if job == "correct":
        rss, wall = timed(["correct", str(fastq), "--model", "kmer_illumina", "-o", str(out.with_suffix(".fq").resolve()),
                           "--no-progress", "--threads", "2", *cap],
                          out.parent, python, pythonpath)
    with np.load(spectrum, allow_pickle=False) as z:
        distinct = int(z["keys"].shape[0])
    return {"job": job, "memory": memory, "peak_rss": rss, "distinct": distinct, "wall_s": round(wall, 1), **extra}


def _same_arrays(a: Path, b: Path) -> bool:
    """Whether two spectrum files hold the same keys, counts and meta (a block of k-mers at a time)."""
    with np.load(a, allow_pickle=False) as x, np.load(b, allow_pickle=False) as y:
        return all(np.array_equal(x[name], y[name]) for name in ("keys", "counts", "meta"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--genomes", default="5,60", help="genome sizes in Mbp, comma-separated")
    ap.add_argument("--coverage", type=float, default=25.0)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--pythonpath", help="directory put first on PYTHONPATH (another seqfcn)")
    ap.add_argument("--label", default="current")
    ap.add_argument("--job", choices=("count", "correct", "counting", "shards", "correct-spectrum"), default="count")
    ap.add_argument("--memory", help="--memory SIZE for seqfcn count (--job count, shards) or correct (correct, counting)")
    ap.add_argument("--shards", type=int, default=4, help="--job shards: count shards merged")
    ap.add_argument("--reads", type=Path, help="a FASTQ to measure instead of the simulated genomes (its genome "
                    "size in Mbp as --genomes, for the per-base figures)")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    for mbp in (float(x) for x in a.genomes.split(",")):
        bp = int(mbp * 1e6)
        fq = a.reads or a.out / f"g{mbp:g}.fq"
        if not fq.exists():
            simulate(fq, bp, a.coverage, seed=int(mbp * 1000))
        name = fq.stem if a.reads else f"g{mbp:g}"
        r = measure(fq, a.out / f"{name}.{a.label}.{a.job}", a.python, a.pythonpath, a.job, a.memory, a.shards)
        per = r["peak_rss"] / r["distinct"]
        human = per * r["distinct"] / bp * 3.1e9
        r.update(label=a.label, genome_mbp=mbp, coverage=a.coverage, bytes_per_kmer=round(per, 1),
                 human_gb=round(human / 1e9, 1))
        print(json.dumps(r), flush=True)
        with open(a.out / "results.jsonl", "a") as fh:
            fh.write(json.dumps(r) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
