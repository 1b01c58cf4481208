"""The models and motif databases shipped inside the package, resolvable by name.

``--model kmer_illumina`` and ``--motifs jaspar2024`` (and the Python API's model and motif
arguments) name the files in ``seqfcn/resources/``; a path that exists always wins over a
name. ``seqfcn models`` lists them (:func:`shipped_table`). Licences sit beside the files.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from seqfcn.errors import SeqfcnError

SHIPPED = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Shipped:
    """One shipped resource: its path under ``seqfcn/resources/``, what it is for, its licence."""

    kind: str
    relpath: str
    purpose: str
    licence: str

    @property
    def path(self) -> Path:
        return SHIPPED / self.relpath


MODELS: dict[str, Shipped] = {
    "kmer_illumina": Shipped(
        "model", "models/kmer_illumina",
        "Illumina read corrector for any genome: the reads' own 21-mer spectrum as evidence (seqfcn correct)",
        "MIT (made here)"),
    "sarscov2_ont": Shipped(
        "model", "models/sarscov2_ont",
        "SARS-CoV-2 ONT read corrector (substitutions, deletions, insertions) with the MN908947.3 13-mers",
        "MIT (made here)"),
    "ont_r9": Shipped(
        "model", "models/ont_r9",
        "nanopore read corrector for any genome, R9-like reads (~0.90 identity): pileups of the reads' own "
        "overlaps (seqfcn correct; seqfcn overlap)",
        "MIT (made here)"),
    "ont_r10": Shipped(
        "model", "models/ont_r10",
        "nanopore read corrector for any genome, R10-like reads (~0.98 identity): pileups of the reads' own "
        "overlaps (seqfcn correct; seqfcn overlap)",
        "MIT (made here)"),
    "ex1_illumina": Shipped(
        "model", "models/ex1_illumina",
        "demo corrector that learnt samtools' ex1.fa in its weights (reads of that 3.2 kb region only)",
        "MIT (made here)"),
    "human_trunk_1k": Shipped(
        "model", "models/human_trunk_1k",
        "masked-base DNA trunk (trunk_1k, receptive field 1,093 bases) trained on 27 Mbp of human chrX: zero-shot "
        "ln p(base) tracks (seqfcn predict), variant log-likelihood ratios (seqfcn variants), --init-from",
        "MIT (made here)"),
    "pou5f1_sox2_pwm": Shipped(
        "model", "models/pou5f1_sox2_pwm",
        "JASPAR MA0142.1 (Pou5f1::Sox2) as a one-layer model: per-base log-odds, both strands "
        "(seqfcn predict / scan --model / attribute / variants)",
        "CC BY 4.0 (JASPAR; motifs/JASPAR_LICENSE.txt)"),
}
MOTIFS: dict[str, Shipped] = {
    "jaspar2024": Shipped(
        "motifs", "motifs/JASPAR2024_CORE_vertebrates_non-redundant.meme",
        "JASPAR 2024 CORE vertebrates non-redundant: 879 motifs, MEME format (seqfcn scan --motifs)",
        "CC BY 4.0 (motifs/JASPAR_LICENSE.txt)"),
}


def _resolve(value: str | os.PathLike, table: dict[str, Shipped], what: str) -> Path:
    """``value`` when it exists, else the shipped resource of that name; a missing value that
    looks like a name (no folder, no extension) is an error listing the names, any other
    missing path is left to the reader to report."""
    path = Path(value)
    if path.exists():
        return path
    if str(value) in table:
        return table[str(value)].path
    if os.sep not in str(value) and "." not in path.name:
        raise SeqfcnError(f"no such {what} file or directory, and not a shipped {what} ({', '.join(table)}; "
                          "`seqfcn models` lists them)", path=value)
    return path


def model_path(value: str | os.PathLike) -> Path:
    """A model directory/file path, or the shipped model called ``value``."""
    return _resolve(value, MODELS, "model")


def motifs_path(value: str | os.PathLike) -> Path:
    """A motif file path, or the shipped motif database called ``value``."""
    return _resolve(value, MOTIFS, "motif")


def shipped_table() -> list[dict[str, str]]:
    """``[{"name", "kind", "purpose", "licence", "path"}]`` of every shipped model and motif database."""
    return [{"name": name, "kind": s.kind, "purpose": s.purpose, "licence": s.licence, "path": str(s.path)}
            for name, s in (*MODELS.items(), *MOTIFS.items())]
