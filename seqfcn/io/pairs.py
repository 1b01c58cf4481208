"""Paired-end reads: mates from two files (R1, R2) or one interleaved file, checked as they stream.

Mates pair when their names agree after dropping a trailing ``/1`` or ``/2`` (the
FASTQ comment, e.g. Casava's ``1:N:0:...``, is not part of the name). A mate
missing from one file, a count that differs, or names that do not pair is an
:class:`~seqfcn.errors.InputFormatError` naming the file and the read, raised
before anything is written for that pair.
"""
from __future__ import annotations

from typing import Iterable, Iterator, Sequence

from seqfcn.errors import InputFormatError
from seqfcn.io.reads import Read


def mate_name(name: str) -> str:
    """The name a read's mate shares: ``name`` without a trailing ``/1`` or ``/2``."""
    return name[:-2] if name.endswith(("/1", "/2")) else name


def _check_mates(first: Read, second: Read, label: str, ordinal: int) -> None:
    if mate_name(first.name) != mate_name(second.name):
        raise InputFormatError(f"read pair {ordinal + 1:,}: mate 2 is {second.name!r} but mate 1 is {first.name!r} "
                               "(mates must be in the same order)", path=label, record=second.name)


def paired(streams: Sequence[Iterable[Read]], labels: Sequence[str]) -> Iterator[tuple[Read, ...]]:
    """Tuples of one read from each stream, in step; one stream per file (1 or 2 files).

    Raises:
        InputFormatError: a file ends before the others, or (two files) names that do not pair.
    """
    if len(streams) == 1:  # nothing to pair
        yield from ((read,) for read in streams[0])
        return
    iters = [iter(s) for s in streams]
    ordinal = 0
    while True:
        group = [next(it, None) for it in iters]
        ended = [g is None for g in group]
        if all(ended):
            return
        if any(ended):
            short = labels[ended.index(True)]
            longer = labels[ended.index(False)]
            raise InputFormatError(f"ends after {ordinal:,} reads, {longer} has more (mates must pair one to one)",
                                   path=short)
        for other in group[1:]:
            _check_mates(group[0], other, labels[1], ordinal)
        yield tuple(group)
        ordinal += 1


def interleaved(reads: Iterable[Read], label: str) -> Iterator[Read]:
    """The reads of an interleaved file, unchanged, checked to come in mate pairs (1, 2, 1, 2, ...)."""
    first: Read | None = None
    ordinal = 0
    for read in reads:
        if first is None:
            first = read
        else:
            _check_mates(first, read, label, ordinal)
            first = None
            ordinal += 1
        yield read
    if first is not None:
        raise InputFormatError("an interleaved file must hold an even number of reads; the last has no mate",
                               path=label, record=first.name)
