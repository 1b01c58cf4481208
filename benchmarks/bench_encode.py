"""One-hot encoding throughput: seqfcn vs tangermeme vs a naive Python/numpy loop.

Same input for every method in one run: the real lambda phage genome
(data/lambda/lambda_virus.fa, read with Biopython) repeated to >= 50 Mbp. Each
method runs in its own subprocess on one thread (torch, numba and BLAS pinned
to 1 thread) so its peak memory is its own: peak RSS after the run minus RSS
before it, in MB. Time is the best of ``--repeats`` runs.

Rows:
- ``fresh``: a new ``(4, L)`` output is allocated each call. Writing 4 bytes per
  base into fresh pages costs page faults; the ``floor`` row (``np.ones((4, L))``)
  measures that cost alone, so no encoder returning fresh memory can beat it.
- ``out=``: seqfcn encodes into a buffer it was given (the way seqfcn's tiler and
  datasets use it).
- ``windows``: 10 kb windows in batches of 64, the shape of model input.

Usage: python benchmarks/bench_encode.py [--mbp 50] [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GENOME = REPO / "data" / "lambda" / "lambda_virus.fa"
WINDOW = 10_000
BATCH = 64
NAIVE_BP = 2_000_000


def load_sequence(mbp: float) -> str:
    from Bio import SeqIO

    record = next(SeqIO.parse(str(GENOME), "fasta"))
    unit = str(record.seq).upper()
    copies = int(mbp * 1e6 // len(unit)) + 1
    return unit * copies


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def method_table():
    """name -> (callable factory taking the sequence, bases it encodes, peer group)."""
    import numpy as np
    import torch

    import seqfcn.sequence.encode as enc

    def tangermeme(dtype):
        from tangermeme.utils import one_hot_encode

        return lambda s: one_hot_encode(s, dtype=dtype)

    def seqfcn_fresh(dtype):
        return lambda s: enc.one_hot(s, dtype=dtype)

    def seqfcn_out(s):
        buffers: dict[int, np.ndarray] = {}

        def run(s):
            buf = buffers.setdefault(len(s), np.empty((4, len(s)), dtype=np.uint8))
            return enc.one_hot(s, out=buf)

        return run

    def seqfcn_numpy(s):
        enc._kernel = None
        return lambda s: enc.one_hot(s, dtype=np.uint8)

    def naive(s):
        from Bio.Seq import Seq

        index = {"A": 0, "C": 1, "G": 2, "T": 3}

        def run(s):
            seq = Seq(s[:NAIVE_BP])
            out = np.zeros((4, len(seq)), dtype=np.int8)
            for i, base in enumerate(str(seq)):
                j = index.get(base)
                if j is not None:
                    out[j, i] = 1
            return out

        return run

    def floor(s):
        return lambda s: np.ones((4, len(s)), dtype=np.uint8)

    def windows_tangermeme(s):
        from tangermeme.utils import one_hot_encode

        def run(s):
            for b in range(0, len(s) - WINDOW * BATCH + 1, WINDOW * BATCH):
                torch.stack([one_hot_encode(s[b + i * WINDOW : b + (i + 1) * WINDOW]) for i in range(BATCH)])

        return run

    def windows_seqfcn(s):
        def run(s):
            for b in range(0, len(s) - WINDOW * BATCH + 1, WINDOW * BATCH):
                enc.one_hot_batch(
                    [s[b + i * WINDOW : b + (i + 1) * WINDOW] for i in range(BATCH)], dtype=np.int8, as_torch=True
                )

        return run

    return {
        "tangermeme int8 fresh": (lambda s: tangermeme(torch.int8), None, "int8 fresh"),
        "seqfcn uint8 fresh": (lambda s: seqfcn_fresh(np.uint8), None, "int8 fresh"),
        "seqfcn uint8 out=": (seqfcn_out, None, "int8 fresh"),
        "seqfcn uint8 fresh (numpy, no C kernel)": (seqfcn_numpy, None, "int8 fresh"),
        "floor: np.ones((4, L)) fresh": (floor, None, "int8 fresh"),
        "naive Biopython/dict loop": (naive, NAIVE_BP, "int8 fresh"),
        "tangermeme float32 fresh": (lambda s: tangermeme(torch.float32), None, "float32 fresh"),
        "seqfcn float32 fresh": (lambda s: seqfcn_fresh(np.float32), None, "float32 fresh"),
        "tangermeme 10 kb windows x64": (windows_tangermeme, None, "windows"),
        "seqfcn 10 kb windows x64": (windows_seqfcn, None, "windows"),
    }


def worker(name: str, mbp: float, repeats: int) -> None:
    import torch

    torch.set_num_threads(1)
    seq = load_sequence(mbp)
    factory, bases, group = method_table()[name]
    fn = factory(seq)
    fn(seq[:100_000])  # warm up (numba compile, imports)
    before = rss_mb()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(seq)
        best = min(best, time.perf_counter() - start)
        del result
    encoded = bases or len(seq)
    print(json.dumps({"name": name, "group": group, "seconds": best, "bases": encoded,
                      "peak_mb": max(0.0, peak_mb() - before)}))


def check_agreement(mbp: float) -> bool:
    """seqfcn and tangermeme give the same int8 tensor on the first 1 Mbp."""
    import numpy as np
    from tangermeme.utils import one_hot_encode

    from seqfcn.sequence.encode import one_hot

    seq = load_sequence(mbp)[:1_000_000]
    return bool(np.array_equal(one_hot_encode(seq).numpy(), one_hot(seq, dtype=np.int8)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mbp", type=float, default=50.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.mbp, args.repeats)
        return
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1")
    rows = []
    for name in method_table():
        proc = subprocess.run([sys.executable, __file__, "--worker", name, "--mbp", str(args.mbp),
                               "--repeats", str(args.repeats)], capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            print(f"{name}: failed\n{proc.stderr}", file=sys.stderr)
            continue
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    peers = {r["group"]: r for r in rows if r["name"].startswith("tangermeme")}
    total = len(load_sequence(args.mbp))
    print(f"# one-hot encoding, lambda genome x{total // 48502} = {total / 1e6:.1f} Mbp, 1 thread, "
          f"{platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(f"seqfcn == tangermeme on the first 1 Mbp: {check_agreement(args.mbp)}")
    print("| method | Mbp encoded | time (s) | Mbp/s | vs tangermeme (same mode) | peak MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        rate = r["bases"] / r["seconds"] / 1e6
        peer = peers.get(r["group"])
        ratio = rate / (peer["bases"] / peer["seconds"] / 1e6) if peer else float("nan")
        print(f"| {r['name']} | {r['bases'] / 1e6:.1f} | {r['seconds']:.4f} | {rate:,.0f} | {ratio:.2f}x | "
              f"{r['peak_mb']:.0f} |")


if __name__ == "__main__":
    main()
