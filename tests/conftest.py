"""Shared test fixtures and helpers: bundled data paths, the ``device`` and ``one_thread`` fixtures,
an in-process CLI runner, simulated reads."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import pytest
from seqfcn.runtime.device import torch_threads  # noqa: F401  (module-scoped fixtures use it)
import torch
from seqfcn.resources import MODELS, MOTIFS

DATA = Path(__file__).resolve().parent.parent / "data"
LAMBDA_FA = DATA / "lambda" / "lambda_virus.fa"
EX1_FA = DATA / "samtools" / "ex1.fa"
EX1_FASTQ = DATA / "samtools" / "ex1.fastq"
SMALL_MEME = DATA / "motifs" / "tangermeme_test.meme"
EX1_MODEL = MODELS["ex1_illumina"].path
EX1_BAM = DATA / "samtools" / "ex1.bam"
JASPAR_MEME = MOTIFS["jaspar2024"].path
KMER_MODEL = MODELS["kmer_illumina"].path
ILLUMINA_R1 = DATA / "illumina" / "test_1.fastq.gz"
ILLUMINA_R2 = DATA / "illumina" / "test_2.fastq.gz"

DEVICES = ["cpu"] + [pytest.param("cuda", marks=pytest.mark.gpu)] * torch.cuda.is_available()
"""What the ``device`` fixture runs over: ``cpu``, and ``cuda`` where PyTorch sees a GPU."""


@pytest.fixture(params=DEVICES)
def device(request) -> str:
    """Each device a test should run on (``cpu``; ``cuda`` too where available, marked ``gpu``)."""
    return request.param


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One torch thread for the test, restored after: on 2 shared cores small convolutions run fastest
    on one thread, and a seeded training gives the same weights whatever ran before it.
    A whole module: ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    with torch_threads(1):
        yield


@pytest.fixture
def cli(capsys) -> Callable[[Sequence[str]], tuple[int, str, str]]:
    """Run ``seqfcn ARGV`` in this process; returns ``(exit code, stdout, stderr)``. The torch thread
    count that ``--threads`` sets is restored after each call."""
    from seqfcn.cli import main

    def run(argv: Sequence[str]) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            with torch_threads(torch.get_num_threads()):
                code = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def assert_same_spectrum_file(a: Path, b: Path) -> None:
    """Every array of two spectrum files (.npz: keys, counts, the JSON meta) equal, dtype and all."""
    with np.load(a, allow_pickle=False) as x, np.load(b, allow_pickle=False) as y:
        assert sorted(x.files) == sorted(y.files) == ["counts", "keys", "meta"]
        for name in x.files:
            assert x[name].dtype == y[name].dtype and np.array_equal(x[name], y[name]), name


def hide_module(monkeypatch, module: str) -> None:
    """Make ``import module`` fail (as when an optional dependency is not installed)."""
    import builtins

    real = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == module:
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)


def write_simulated_reads(path: Path, genome: list[np.ndarray], em, n: int, length: int, seed: int) -> Path:
    """``n`` reads of ``length`` simulated from ``genome`` with the error model ``em``, written as
    FASTQ (names ``r0, r1, ...``) to ``path``; returns the FASTQ of their error-free truth beside it."""
    from seqfcn.correction.training import simulate_reads
    from seqfcn.sequence.encode import codes_to_str

    batch = simulate_reads(genome, em, n, length, seed)
    truth = path.with_suffix(".truth.fq")
    with open(path, "w") as fh, open(truth, "w") as th:
        for i in range(len(batch)):
            m = batch.lengths[i]
            q = "".join(chr(33 + int(v)) for v in batch.qualities[i, :m])
            fh.write(f"@r{i}\n{codes_to_str(batch.observed[i, :m])}\n+\n{q}\n")
            th.write(f"@r{i}\n{codes_to_str(np.where(batch.target[i, :m] >= 0, batch.target[i, :m], 4))}\n+\n{q}\n")
    return truth


PLANTED_AT = 300
"""First base of the motif site :func:`planted_site` plants."""


@pytest.fixture(scope="module")
def planted_site(tmp_path_factory):
    """A random 800 bp chromosome ``chr1`` with the consensus of POU5F1::SOX2 (MA0142.1)
    planted at :data:`PLANTED_AT`, and a saved one-layer PWM model of that motif
    (``pwm_scanner``, both strands, centre anchor): ``(dir, motif, sequence, fasta, model dir)``."""
    from seqfcn.nn.checkpoint import save_model
    from seqfcn.io.motifs import read_motifs
    from seqfcn.nn.models import PWMScanner

    tmp = tmp_path_factory.mktemp("planted")
    motif = next(m for m in read_motifs(JASPAR_MEME) if m.id == "MA0142.1")
    seq = list(np.random.default_rng(2).choice(list("ACGT"), 800))
    consensus = "".join("ACGT"[i] for i in motif.pfm.argmax(0))
    seq[PLANTED_AT : PLANTED_AT + len(consensus)] = consensus
    fasta = tmp / "g.fa"
    fasta.write_text(">chr1\n" + "".join(seq) + "\n")
    return tmp, motif, "".join(seq), fasta, save_model(PWMScanner.from_motifs([motif]), tmp / "pwm")


TRUNK_CONFIG = {"model": {"name": "trunk_1k", "channels": 8, "n_layers": 5},  # dilations 1..16: 71 bases
                "data": {"window": 256, "holdout": 0.2},
                "train": {"steps": 150, "batch_size": 8, "eval_every": 75, "lr": 1e-2, "warmup_steps": 10, "progress": False,
                          "plot": False, "tensorboard": False, "checkpoint_every": 0}}
"""A tiny masked-base trunk's training config (:func:`tiny_trunk`)."""


@pytest.fixture(scope="session")
def tiny_trunk(tmp_path_factory):
    """A tiny trunk trained 150 steps (``--task mask``) on ``rep`` (a random 40-bp unit repeated 250
    times) and ``mix`` (4 kb random, a lowercase stretch, an N run): ``(fasta, model dir, fit result)``."""
    from seqfcn.training.tasks import train_task

    tmp = tmp_path_factory.mktemp("trunk")
    rng = np.random.default_rng(5)
    unit = "".join(rng.choice(list("ACGT"), 40))
    mix = list("".join(rng.choice(list("ACGT"), 4000)))
    mix[1000:1300] = "".join(mix[1000:1300]).lower()
    mix[2000:2050] = "N" * 50
    fasta = tmp / "g.fa"
    fasta.write_text(f">rep\n{unit * 250}\n>mix\n{''.join(mix)}\n")
    with torch_threads(1):
        result = train_task("mask", fasta, tmp / "run", config=TRUNK_CONFIG, device="cpu", seed=0)
    return fasta, tmp / "run" / "model", result
