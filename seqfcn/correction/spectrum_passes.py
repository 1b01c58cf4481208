"""The reads' spectrum for correction in bounded memory: counted in passes under a cap,
read back into the compact index a sub-table at a time.

:func:`count_compact` is the counting pass of ``seqfcn correct``. Without a cap it counts
the reads once (:class:`SpectrumCounter`) and reads the table back one sub-table at a time
(1/16 of the k-mers: those whose mix begins with the same 4 bits, a contiguous range of the
index's buckets) into a :class:`SpectrumIndex` allocated once, so the hand-over holds the
tables not yet read, the index and one sub-table's k-mers (8 bytes each), never all the
k-mers packed at once.

With ``memory`` (bytes, ``seqfcn correct --memory``) the counting tables get what the cap
leaves after the process as it stands and the Bloom filter. A pass streams every read and
every k-mer sets its filter bits, but only sub-tables ``a..b-1`` are counted; every 512 kb
of reads, when they could outgrow the budget before the next check (each sub-table that may
fill counted doubled, :meth:`SpectrumCounter.projected`), the highest are dropped
(:meth:`SpectrumCounter.fit`), for a later pass.
The filter sees every k-mer in the same order in every pass, so each sub-table's counts are
exactly those of one pass over everything: the spectrum does not depend on the cap. After a
pass its sub-tables are written, a partition at a time, to a temporary directory (8 bytes a
k-mer; ``tmp_dir`` or ``$TMPDIR``) and freed; once all are counted, the index is filled from the files one
sub-table at a time, each checked against the size it was written with, and every pass must
have seen the same reads and k-mers. The cap bounds the counting; the index that correction then
holds (~4.4 bytes a k-mer) is not under it. The price is one read of the input per pass (logged)
and the disk for the k-mers: the way KMC bounds memory, with the input read again instead of
binned super-k-mers written, which keeps the count identical to the uncapped one.

:func:`count_to_file` (``seqfcn count --memory``) counts in the same passes and, instead of the
index, writes the spectrum file from the spilled sub-tables a key range at a time
(:func:`seqfcn.correction.spectrum_files.write_sorted`): the file an uncapped count writes.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

from seqfcn.correction.kmers import KmerTable
from seqfcn.correction.spectrum import SUB_BITS, SUBS, COUNT_BITS, SpectrumCounter, finish, packs
from seqfcn.correction.spectrum_files import spill_dir, take, write_run, write_sorted
from seqfcn.correction.spectrum_index import SpectrumIndex
from seqfcn.errors import SeqfcnError
from seqfcn.runtime.heap import mapped_blocks, resident_bytes

log = logging.getLogger(__name__)

Feed = Callable[[SpectrumCounter], bool]
"""Adds every read to a counter; False when the input is not of the kind it reads."""

SLACK = 48 << 20
"""Bytes a pass keeps aside, beyond the tables and the filter, for the read batches."""


def count_compact(feed: Feed, k: int, *, expected_bases: int, min_cap: int = 0, memory: int | None = None,
                  tmp_dir: str | os.PathLike | None = None) -> KmerTable | None:
    """The compacted spectrum (:meth:`KmerTable.compact`, counts exact up to at least
    ``min_cap``) of the reads ``feed`` adds, counted in one pass or, with ``memory``, in as
    many as keep the counting under that many bytes (the module docstring); None when
    ``feed`` refuses the input. ``expected_bases`` sizes the Bloom filter."""
    if not packs(k):
        if memory is not None:
            raise SeqfcnError(f"--memory needs k <= 21 (this model's k is {k})")
        with mapped_blocks():
            counter = SpectrumCounter(k, expected_bases=expected_bases)
            if not feed(counter):
                return None
            return finish(counter).compact(min_cap=min_cap)
    with mapped_blocks():  # the doubling sub-tables leave no resident heap holes
        if memory is None:
            return _one_pass(feed, k, expected_bases, min_cap)
        return _passes(feed, k, expected_bases, min_cap, int(memory), tmp_dir)


def _one_pass(feed: Feed, k: int, expected_bases: int, min_cap: int) -> KmerTable | None:
    counter = SpectrumCounter(k, expected_bases=expected_bases)
    if not feed(counter):
        return None
    counter.release()
    hist = _sum([counter.histogram(i) for i in range(SUBS)])
    table = KmerTable.from_index(k, hist, lambda cap: SpectrumIndex.from_parts(
        k, int(hist.sum()), (counter.export_sub(i) for i in range(SUBS)), count_bits=COUNT_BITS, part_bits=SUB_BITS,
        min_cap=max(cap, min_cap)))
    table.reads = counter.reads
    return table


def _passes(feed: Feed, k: int, expected_bases: int, min_cap: int, memory: int,
            tmp_dir: str | os.PathLike | None) -> KmerTable | None:
    with spill_dir(tmp_dir) as tmp:
        spilled = _count_to_disk(feed, k, expected_bases, memory, tmp)
        if spilled is None:
            return None
        table = KmerTable.from_index(k, _sum(spilled.hists), lambda cap: SpectrumIndex.from_parts(
            k, sum(spilled.sizes), spilled.chunks(), count_bits=COUNT_BITS, part_bits=SUB_BITS,
            min_cap=max(cap, min_cap)))
    table.reads = spilled.reads
    return table


def count_to_file(feed: Feed, k: int, output: str | os.PathLike, *, expected_bases: int, memory: int,
                  meta: dict, partitions: Sequence[int] | None = None,
                  tmp_dir: str | os.PathLike | None = None) -> dict | None:
    """``seqfcn count --memory``: count the reads ``feed`` adds in passes under ``memory`` bytes
    (as :func:`count_compact`; ``partitions``: a count shard's) and write the spectrum file
    ``output`` a key range at a time (:func:`seqfcn.correction.spectrum_files.write_sorted`,
    with ``meta``): the same arrays as the uncapped count. Returns the file's meta; None when
    ``feed`` refuses the input."""
    if not packs(k):
        raise SeqfcnError(f"--memory needs k <= 21, not {k}")
    with mapped_blocks(), spill_dir(tmp_dir) as tmp:
        spilled = _count_to_disk(feed, k, expected_bases, int(memory), tmp, partitions)
        if spilled is None:
            return None
        return write_sorted(output, k, spilled.chunks(), dict(meta, reads=spilled.reads), tmp)


@dataclass
class _Spilled:
    """Every sub-table counted and written to ``tmp`` (``sizes[i]`` k-mers in ``{i}.u64``)."""

    tmp: str
    sizes: list[int]
    hists: list[np.ndarray]
    reads: int

    def chunks(self) -> Iterator[np.ndarray]:
        """Each sub-table's packed k-mers, in order, read back (and removed) one at a time."""
        return (take(os.path.join(self.tmp, f"{i}.u64"), self.sizes[i]) for i in range(SUBS))


def _count_to_disk(feed: Feed, k: int, expected_bases: int, memory: int, tmp: str,
                   partitions: Sequence[int] | None = None) -> _Spilled | None:
    """Count in as many passes as keep the tables under ``memory``, each pass's sub-tables
    written to ``tmp`` (the module docstring); None when ``feed`` refuses the input."""
    sizes: list[int] = [0] * SUBS
    hists: list[np.ndarray] = []
    seen: tuple[int, int] | None = None
    lo = passes = 0
    while lo < SUBS:
        passes += 1
        counter = SpectrumCounter(k, expected_bases=expected_bases, subs=range(lo, SUBS), partitions=partitions)
        counter.budget = _budget(memory, counter)
        try:
            fed = feed(counter)
        except BaseException:
            counter.release()  # the worker threads
            raise
        if not fed:
            if seen is None:
                return None
            raise SeqfcnError("the reads changed while they were counted (a later counting pass could not read them)")
        if seen is not None and (counter.reads, counter.kmers) != seen:
            raise SeqfcnError(f"the reads changed while they were counted: a counting pass saw {counter.reads:,} "
                              f"reads and {counter.kmers:,} k-mers, the first {seen[0]:,} and {seen[1]:,}")
        seen = (counter.reads, counter.kmers)
        counter.release()
        for i in counter.subs:
            hists.append(counter.histogram(i))
            sizes[i] = write_run(os.path.join(tmp, f"{i}.u64"), counter.sub_pieces(i))
        log.info("counting pass %d: sub-tables %d-%d of %d (%d k-mers, --memory %d MiB)", passes,
                 counter.subs.start + 1, counter.subs.stop, SUBS, sum(sizes), memory >> 20)
        lo = counter.subs.stop
        del counter
    return _Spilled(tmp, sizes, hists, seen[0] if seen else 0)


def _budget(memory: int, counter: SpectrumCounter) -> int:
    """Bytes left for the counting tables under ``memory``: what the process holds now, the
    filters and :data:`SLACK` aside; a :class:`SeqfcnError` (before any read) when that is
    not even room for the smallest tables."""
    now, bloom = resident_bytes(), counter.nbytes - counter.table_bytes()
    budget = memory - now - bloom - SLACK
    if budget < counter.projected(0):
        least = (memory - budget + counter.projected(0)) / 2**20
        raise SeqfcnError(f"--memory {memory >> 20:,} MiB is too little to count k-mers: the process holds "
                          f"{now / 2**20:,.0f} MiB, the Bloom filter needs {bloom / 2**20:,.0f} MiB and the read batches "
                          f"{SLACK / 2**20:,.0f} MiB before any table (at least {least:,.0f} MiB, more for all but "
                          "tiny inputs)")
    return budget


def _sum(hists: list[np.ndarray]) -> np.ndarray:
    """The sum of count histograms of different lengths."""
    out = np.zeros(max((h.shape[0] for h in hists), default=1), np.int64)
    for h in hists:
        out[: h.shape[0]] += h
    return out
