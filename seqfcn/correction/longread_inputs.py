"""The reads of a long-read correction: checked once up front, then streamed or looked up by name.

Overlaps name reads, so every name must be unique, and the reads are read twice (the index
and the stream): a FASTQ/FASTA file, not stdin. :func:`long_read_catalogue` checks all of it
(and every record, through :func:`seqfcn.io.reads.read_reads`) before any work is done;
:class:`ReadStore` keeps every read's bases for pileups built from a PAF file.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from seqfcn.errors import InputFormatError, SeqfcnError
from seqfcn.sequence.encode import to_codes


@dataclass
class ReadCatalogue:
    """Names and lengths of a read file's records, in file order (``index`` maps a name to its ordinal)."""

    path: str
    names: list[str]
    lengths: np.ndarray
    index: dict[str, int] = field(repr=False)

    def stream(self) -> Iterator[tuple[str, str]]:
        """``(name, sequence)`` of every read, in file order."""
        from seqfcn.io.reads import read_reads

        return ((r.name, r.sequence) for r in read_reads(self.path))


def long_read_catalogue(path: str | os.PathLike) -> ReadCatalogue:
    """Read ``path`` once: every record checked, names unique.

    Raises:
        SeqfcnError: stdin, an alignment file, or a read name given twice (naming the record).
    """
    from seqfcn.io.reads import read_reads

    label = str(path)
    if label == "-":
        raise SeqfcnError("long-read correction reads its input twice (overlaps, then reads); give a file, not stdin")
    stream = read_reads(label)
    if stream.fmt not in ("fastq", "fasta"):
        raise SeqfcnError(f"long reads are read from FASTQ or FASTA (plain or gzip), not {stream.fmt}", path=label)
    names: list[str] = []
    lengths: list[int] = []
    index: dict[str, int] = {}
    for read in stream:
        if read.name in index:
            raise InputFormatError(f"read name {read.name} is given twice (records {index[read.name] + 1} and "
                                   f"{len(names) + 1}); overlaps refer to reads by name", path=label,
                                   record=read.name)
        index[read.name] = len(names)
        names.append(read.name)
        lengths.append(len(read.sequence))
    return ReadCatalogue(label, names, np.asarray(lengths, np.int64), index)


class ReadStore:
    """Every read's bases in memory (one byte a base), by name: the targets of PAF overlaps."""

    def __init__(self, catalogue: ReadCatalogue) -> None:
        self.catalogue = catalogue
        self._seqs = {name: seq.encode("ascii") for name, seq in catalogue.stream()}

    def target_bases(self, name: str, start: int, end: int) -> bytes:
        """Bases ``start:end`` of read ``name`` (forward strand)."""
        return self._seqs[name][start:end]

    def codes(self, name: str) -> np.ndarray:
        """Codes (0-3 A C G T, 4 other) of read ``name``."""
        return to_codes(self._seqs[name])
