"""Shared test fixtures: bundled data paths and an in-process CLI runner."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import pytest

DATA = Path(__file__).resolve().parent.parent / "data"
LAMBDA_FA = DATA / "lambda" / "lambda_virus.fa"
EX1_FA = DATA / "samtools" / "ex1.fa"
EX1_FASTQ = DATA / "samtools" / "ex1.fastq"
SMALL_MEME = DATA / "motifs" / "tangermeme_test.meme"
EX1_MODEL = DATA / "models" / "ex1_illumina"
EX1_BAM = DATA / "samtools" / "ex1.bam"
JASPAR_MEME = DATA / "motifs" / "JASPAR2024_CORE_vertebrates_non-redundant.meme"


@pytest.fixture
def cli(capsys) -> Callable[[Sequence[str]], tuple[int, str, str]]:
    """Run ``seqfcn ARGV`` in this process; returns ``(exit code, stdout, stderr)``."""
    from seqfcn.cli import main

    def run(argv: Sequence[str]) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run
KMER_MODEL = DATA / "models" / "kmer_illumina"
ILLUMINA_R1 = DATA / "illumina" / "test_1.fastq.gz"
ILLUMINA_R2 = DATA / "illumina" / "test_2.fastq.gz"
