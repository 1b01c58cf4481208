"""Atomic outputs: an interrupted run leaves no output file and (after SIGTERM) no temporary file.

Temporary files are hidden, in the output's directory: ``.NAME.XXXXXXXX.tmp`` (BED and
other text outputs) or ``.NAME.XXXXXXXX.part`` (reads). SIGTERM and Ctrl-C remove them;
SIGKILL cannot be caught, so a run killed while writing may leave one behind (never
the output itself).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import seqfcn.correction.shards
from seqfcn.resources import MOTIFS
from seqfcn.cli import main
from seqfcn.io.read_writers import FastqWriter
from seqfcn.io.reads import read_reads
from seqfcn.runtime.shard import ReadShardManifest, shard_reads, write_read_manifest

DATA = Path(__file__).resolve().parents[2] / "data"
MOTIFS = MOTIFS["jaspar2024"].path
FASTQ = DATA / "samtools" / "ex1.fastq"


def _hidden(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_sigterm_while_writing_removes_the_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shards = []
    total = sum(1 for _ in read_reads(FASTQ))
    for i in range(2):
        shards.append(tmp_path / "in" / f"s{i}.fastq")
        shards[-1].parent.mkdir(exist_ok=True)
        with FastqWriter(shards[-1]) as writer:
            for read in shard_reads(read_reads(FASTQ), i, 2):
                writer.write(read)
        write_read_manifest(shards[-1], ReadShardManifest(i, 2, "run", ("ex1",), 0, total, writer.count))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    seen: dict[str, list[str]] = {}
    real = seqfcn.correction.shards.interleave

    def interrupted(streams, labels=None):
        for n, item in enumerate(real(streams, labels)):
            if n == 1000:  # mid-write: 1000 reads handed to the writer
                seen["temp"] = _hidden(out_dir)
                os.kill(os.getpid(), signal.SIGTERM)
            yield item

    monkeypatch.setattr(seqfcn.correction.shards, "interleave", interrupted)
    handler = signal.getsignal(signal.SIGTERM)
    assert main(["merge", "-q", *map(str, shards), "-o", str(out_dir / "merged.fastq")]) == 143
    assert signal.getsignal(signal.SIGTERM) is handler  # main restores the handler
    assert len(seen["temp"]) == 1 and seen["temp"][0].startswith(".merged.fastq.")  # it was writing
    assert list(out_dir.iterdir()) == []  # no output, no temp file


def _genome(path: Path, length: int) -> None:
    rng = np.random.default_rng(0)
    seq = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, length)].tobytes().decode()
    path.write_text(">big\n" + "\n".join(seq[i : i + 80] for i in range(0, length, 80)) + "\n")


def _start_scan(tmp_path: Path) -> tuple[subprocess.Popen, Path, list[bytes]]:
    """Start `seqfcn scan` on a 4 Mb genome; return once its progress bar shows it is scanning."""
    genome = tmp_path / "big.fa"
    if not genome.exists():
        _genome(genome, 4_000_000)
    out = tmp_path / "res" / "hits.bed"
    out.parent.mkdir(exist_ok=True)
    ids = [line.split()[1] for line in MOTIFS.read_text().splitlines() if line.startswith("MOTIF")][:200]
    # 200 motifs x 4 Mb with the (slowest) table kernel: ~10 s of scanning, interrupted at once
    cmd = [sys.executable, "-m", "seqfcn", "scan", str(genome), "--motifs", str(MOTIFS), "--motif", *ids,
           "--method", "table", "--threads", "1", "--batch-size", "100000", "-o", str(out)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    err: list[bytes] = []
    reader = threading.Thread(target=lambda: err.extend(iter(lambda: proc.stderr.read1(256), b"")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while b"scan:" not in b"".join(err):
        assert proc.poll() is None, b"".join(err).decode()
        assert time.monotonic() < deadline, "scan did not start"
        time.sleep(0.05)
    time.sleep(0.3)
    assert proc.poll() is None, "scan finished before it could be interrupted"
    return proc, out, err


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGKILL, -signal.SIGKILL)])
def test_killed_scan_leaves_no_output(tmp_path: Path, sig: int, code: int) -> None:
    proc, out, err = _start_scan(tmp_path)
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == code
    assert not out.exists()
    if sig == signal.SIGTERM:
        assert _hidden(out.parent) == []
        assert b"seqfcn scan: terminated" in b"".join(err)


def test_outputs_get_ordinary_permissions(tmp_path):
    """Model files, JSON and tables written through temporary files honour the umask
    (mkstemp alone would leave them owner-only)."""
    import os
    import stat

    from seqfcn.io.atomic import atomic_write, umask
    from seqfcn.nn.checkpoint import save_model
    from seqfcn.io.atomic import write_json
    from seqfcn.nn.models import create_model

    old = os.umask(0o022)
    try:
        save_model(create_model("read_corrector", channels=4, n_layers=1), tmp_path / "m")
        write_json({"a": 1}, tmp_path / "x.json")
        atomic_write(tmp_path / "t.txt", "hi\n")
        assert umask() == 0o022
        for p in [tmp_path / "m" / "model.safetensors", tmp_path / "m" / "config.json", tmp_path / "x.json",
                  tmp_path / "t.txt"]:
            assert stat.S_IMODE(p.stat().st_mode) == 0o644, p
        assert sorted(os.listdir(tmp_path)) == ["m", "t.txt", "x.json"]  # no temporary file left
    finally:
        os.umask(old)
