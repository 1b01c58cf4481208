"""seqfcn as a workflow step: the Snakemake example end to end, and torchrun rank sharding (gloo, 2 CPU ranks)."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seqfcn.resources import MODELS, MOTIFS
from seqfcn.cli import main

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
GENOME = DATA / "lambda" / "lambda_virus.fa"
MOTIFS = MOTIFS["jaspar2024"].path
FASTQ = DATA / "samtools" / "ex1.fastq"
MODEL = MODELS["ex1_illumina"].path
KMER = MODELS["kmer_illumina"].path
R1, R2 = DATA / "illumina" / "test_1.fastq.gz", DATA / "illumina" / "test_2.fastq.gz"
SNAKEFILE = ROOT / "examples" / "snakemake" / "Snakefile"


def _env(tmp_path: Path) -> dict[str, str]:
    """This interpreter's bin directory first on PATH (the `seqfcn` script), caches in tmp."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env.pop("WORLD_SIZE", None)
    return env


@pytest.mark.skipif(importlib.util.find_spec("snakemake") is None, reason="snakemake is not installed")
def test_snakemake_example_end_to_end(tmp_path: Path) -> None:
    """scan shards -> merge, and paired reads: 2 count shards -> merge -> 4 correct shards -> merge
    per mate; each merged output equals one unsharded run (the spectrum array for array, the reads
    byte for byte)."""
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--cores", "2", "--directory", str(run),
           "--quiet"]
    done = subprocess.run(cmd, env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    expected = tmp_path / "expected.bed"
    assert main(["scan", "-q", str(GENOME), "--motifs", str(MOTIFS), "--motif", "MA0004.1", "MA0069.1",
                 "MA0071.1", "--thresh", "1e-4", "-o", str(expected)]) == 0
    hits = (run / "scan" / "hits.bed").read_bytes()
    assert hits == expected.read_bytes() and hits.count(b"\n") > 10
    assert not (run / "scan" / "shard1.bed").exists()  # temp() shard outputs removed

    from seqfcn.correction.pipeline import correct_reads

    one = [tmp_path / "one_1.fastq.gz", tmp_path / "one_2.fastq.gz"]
    correct_reads([R1, R2], KMER, one, progress=False)
    for mate in (1, 2):
        assert (run / "correct" / f"corrected_{mate}.fastq.gz").read_bytes() == one[mate - 1].read_bytes()
    assert not (run / "correct" / "shard1_1.fastq.gz").exists()
    assert not list((run / "correct").glob("*.seqfcn-shard.json"))  # the manifests are temp() too
    one_spectrum = tmp_path / "one.kmers"
    assert main(["count", "-q", str(R1), str(R2), "--model", str(KMER), "-o", str(one_spectrum)]) == 0
    with np.load(run / "correct" / "sample.kmers") as merged, np.load(one_spectrum) as one:
        assert sorted(merged.files) == sorted(one.files) == ["counts", "keys", "meta"]
        assert all(np.array_equal(merged[f], one[f]) for f in one.files) and one["keys"].size > 1000
    assert not list((run / "correct").glob("sample.*.kmers"))  # the count shards are temp()
    assert sorted(p.name for p in (run / "logs").glob("count*.log")) == [
        "count_merge.log", "count_shard1.log", "count_shard2.log"]


@pytest.mark.parametrize("job", ["scan", "correct", "predict"])
def test_torchrun_two_ranks_equal_single_process(tmp_path: Path, job: str) -> None:
    """`torchrun` with 2 CPU ranks (gloo): each rank does its shard, rank 0 merges; the output
    equals the single-process run byte for byte and no part file is left."""
    name = {"scan": "hits.bed", "correct": "corrected.fastq", "predict": "pred.bedGraph"}[job]
    out = tmp_path / "res" / name
    out.parent.mkdir()
    if job == "scan":
        args = ["scan", str(GENOME), "--motifs", str(MOTIFS), "--motif", "MA0004.1", "MA0069.1",
                "--thresh", "1e-3", "--batch-size", "5000", "--threads", "1", "-q"]
    elif job == "predict":
        args = ["predict", str(GENOME), "--model", "pou5f1_sox2_pwm", "--window", "5000", "--threads", "1", "-q"]
    else:
        args = ["correct", str(FASTQ), "--model", str(MODELS["kmer_illumina"].path), "--threads", "1", "-q",
                "--no-progress"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "seqfcn", *args, "-o", str(out)]
    env = _env(tmp_path)
    env["OMP_NUM_THREADS"] = "1"
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    expected = tmp_path / ("expected" + out.suffix)
    assert main([*args, "-o", str(expected)]) == 0
    assert out.read_bytes() == expected.read_bytes() and out.stat().st_size > 10_000
    assert os.listdir(out.parent) == [name]  # the rank part files are gone


def _rank_main(rank: int, port: int, out: str, report: str) -> None:
    """One spawned rank: shard 2 fails, so no rank may leave an output or a part file."""
    from seqfcn.runtime.distributed import run_sharded, torchrun_rank
    from seqfcn.errors import SeqfcnError

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2",
                      LOCAL_RANK=str(rank))

    def part(shard: tuple[int, int] | None, path: str) -> None:
        Path(path).write_text(f"shard {shard}\n")
        if shard == (1, 2):
            raise SeqfcnError("bad input in shard 2")

    try:
        run_sharded(out, part, lambda parts, output: Path(output).write_text("merged\n"), info=torchrun_rank(),
                    timeout_s=60)
        message = "ok"
    except SeqfcnError as exc:
        message = str(exc)
    Path(report, f"rank{rank}").write_text(message)


def test_run_sharded_a_failing_rank_leaves_nothing(tmp_path: Path) -> None:
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "res" / "out.txt"
    out.parent.mkdir()
    mp.spawn(_rank_main, args=(port, str(out), str(tmp_path)), nprocs=2, join=True)
    assert (tmp_path / "rank0").read_text() == "another rank failed (see its message); rank 0 wrote nothing"
    assert (tmp_path / "rank1").read_text() == "bad input in shard 2"
    assert os.listdir(out.parent) == []  # no output, no part files

