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
"""
from __future__ import annotations

import logging
import os
from typing import Callable, Iterable

import numpy as np

from seqfcn.correction.kmers import KmerTable
from seqfcn.correction.spectrum import SUB_BITS, SUBS, COUNT_BITS, SpectrumCounter, finish, packs
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
    table = KmerTable.from_index(k, hist, lambda cap: _index(k, int(hist.sum()), max(cap, min_cap),
                                                             (counter.export_sub(i) for i in range(SUBS))))
    table.reads = counter.reads
    return table


def _passes(feed: Feed, k: int, expected_bases: int, min_cap: int, memory: int,
            tmp_dir: str | os.PathLike | None) -> KmerTable | None:
    import tempfile

    try:
        spill = tempfile.TemporaryDirectory(prefix="seqfcn-spectrum-", dir=tmp_dir)
    except OSError as exc:
        raise SeqfcnError(f"cannot make the spill directory for counting in passes: {exc.strerror} "
                          "(set TMPDIR to a writable disk)", path=exc.filename or tmp_dir) from None
    with spill as tmp:
        sizes: list[int] = [0] * SUBS
        hists: list[np.ndarray] = []
        seen: tuple[int, int] | None = None
        lo = passes = 0
        while lo < SUBS:
            passes += 1
            counter = SpectrumCounter(k, expected_bases=expected_bases, subs=range(lo, SUBS))
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
                sizes[i] = _spill(counter, i, os.path.join(tmp, f"{i}.u64"))
            log.info("counting pass %d: sub-tables %d-%d of %d (%d k-mers, --memory %d MiB)", passes,
                     counter.subs.start + 1, counter.subs.stop, SUBS, sum(sizes), memory >> 20)
            lo = counter.subs.stop
            del counter
        hist = _sum(hists)
        chunks = (_load(os.path.join(tmp, f"{i}.u64"), sizes[i]) for i in range(SUBS))
        table = KmerTable.from_index(k, hist, lambda cap: _index(k, sum(sizes), max(cap, min_cap), chunks))
    table.reads = seen[0] if seen else 0
    return table


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


def _spill(counter: SpectrumCounter, i: int, path: str) -> int:
    """Write the counter's sub-table ``i`` to ``path`` (:meth:`SpectrumCounter.spill_sub`) and
    return its k-mers; a full or unwritable disk is a one-line error."""
    try:
        with open(path, "wb") as fh:
            return counter.spill_sub(i, lambda piece: piece.tofile(fh))
    except OSError as exc:
        raise SeqfcnError(f"cannot write the k-mers counted in passes: {exc.strerror} (they need 8 bytes a "
                          "k-mer; set TMPDIR to a disk with room)", path=path) from None


def _load(path: str, size: int) -> np.ndarray:
    """A pass's sub-table written to ``path``, checked against the ``size`` k-mers written."""
    chunk = np.fromfile(path, np.uint64)
    os.remove(path)
    if chunk.shape[0] != size:
        raise SeqfcnError(f"holds {chunk.shape[0]:,} k-mers where {size:,} were written: the temporary directory "
                          "was changed while seqfcn ran", path=path)
    return chunk


def _index(k: int, n: int, min_cap: int, chunks: Iterable[np.ndarray]) -> SpectrumIndex:
    """The index of ``n`` k-mers given as one packed chunk per sub-table, in order."""
    index = SpectrumIndex.allocate(k, n, min_cap=min_cap)
    if 2 * k - index.layout.rbits < SUB_BITS:  # fewer buckets than sub-tables: a tiny spectrum, built at once
        return SpectrumIndex(k, np.concatenate(list(chunks)), count_bits=COUNT_BITS, min_cap=min_cap)
    for i, chunk in enumerate(chunks):
        index.fill_range(chunk, COUNT_BITS, i, SUB_BITS)
        del chunk
    index.check_filled(1 << SUB_BITS)
    return index


def _sum(hists: list[np.ndarray]) -> np.ndarray:
    """The sum of count histograms of different lengths."""
    out = np.zeros(max((h.shape[0] for h in hists), default=1), np.int64)
    for h in hists:
        out[: h.shape[0]] += h
    return out
