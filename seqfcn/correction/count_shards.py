"""Count shards: ``seqfcn count --shard i/n`` counts a share of the k-mers, ``seqfcn merge`` joins
the shares into exactly the spectrum one ``seqfcn count`` writes.

The counter (:class:`seqfcn.correction.spectrum.SpectrumCounter`) splits the canonical k-mers
into ``P`` partitions by a hash of the k-mer (``part_of`` in ``_kmercount.c``, mirrored by
:func:`partition_of`), each with its own table and Bloom filter, the filter sized from the
input's size alone. A partition's counts therefore do not depend on which other partitions
are counted, and shard ``i`` of ``n`` reads every read but counts only the partitions ``p``
with ``p % n == i - 1`` (:func:`shard_partitions`): the shards hold disjoint sets of k-mers
whose union, with the same counts, is the whole spectrum. The split is exact only at
partition granularity, so ``n`` is at most ``P``.

A shard records what it holds in the JSON part of its spectrum file
(:attr:`seqfcn.correction.kmers.KmerTable.shard`: ``index``, ``count``, ``partitions`` and
``parts``) beside the k and the content fingerprints of the files counted.
:func:`merge_count_shards` proves the set before it writes anything: every file a count
shard, one k, the same input files (by content, in the same order: the Bloom filter's
outcome depends on the order the k-mers arrive in), one ``n`` and partition count, every
shard once, each holding only k-mers of its own partitions. ``correct --spectrum`` refuses
a shard (:func:`seqfcn.correction.evidence.check_spectrum`).
"""
from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from typing import Any

import numpy as np

from seqfcn.correction.kmers import KmerTable
from seqfcn.errors import SeqfcnError

__all__ = ["counter_partitions", "is_spectrum_file", "merge_count_shards", "partition_of", "select_shard",
           "shard_partitions", "shard_record"]

_PART_MULT = np.uint64(0xD6E8FEB86659FD93)  # part_of() in _kmercount.c


def counter_partitions() -> int:
    """``P``: the number of partitions the compiled counter splits the k-mers into."""
    from seqfcn.correction.spectrum import _PARTS

    return int(_PARTS)


def partition_of(keys: np.ndarray, parts: int) -> np.ndarray:
    """The partition (``0..parts-1``) of each canonical k-mer in ``keys`` (uint64): the counter's
    hash, ``((key * 0xD6E8FEB86659FD93 mod 2**64) >> 32) % parts``."""
    keys = np.asarray(keys, np.uint64)
    if parts <= 1:
        return np.zeros(keys.shape, np.int64)
    with np.errstate(over="ignore"):
        return ((keys * _PART_MULT) >> np.uint64(32)).astype(np.int64) % parts


def shard_partitions(index: int, count: int, parts: int) -> list[int]:
    """The partitions count shard ``index`` (0-based) of ``count`` holds: ``p % count == index``."""
    return [p for p in range(parts) if p % count == index]


def shard_record(shard: tuple[int, int], label: str = "count --shard") -> dict:
    """What a count shard records (:attr:`KmerTable.shard`) for the 0-based ``(index, count)``.

    Raises:
        SeqfcnError: ``count`` is more than the counter's partitions (no exact split).
    """
    index, count = (int(x) for x in shard)
    parts = counter_partitions()
    if count > parts:
        raise SeqfcnError(f"{label} {index + 1}/{count}: the k-mer counter splits the k-mers into {parts} "
                          f"partitions, so a spectrum splits into at most {parts} count shards, not {count}")
    return {"index": index, "count": count, "partitions": parts, "parts": shard_partitions(index, count, parts)}


def select_shard(table: KmerTable, record: dict, *, exact: bool) -> KmerTable:
    """``table`` restricted to the k-mers of the shard ``record`` (:func:`shard_record`), marked as
    that shard. ``exact``: the counter already counted only those partitions, so a k-mer of
    another partition is a bug (the hash mirrored here and the kernel's disagree)."""
    keep = np.isin(partition_of(table.keys, record["partitions"]), record["parts"])
    if exact and not keep.all():
        raise RuntimeError("the counter's k-mer partitions and partition_of() disagree: "
                           "part_of() in _kmercount.c and count_shards.partition_of must match")
    return KmerTable(table.k, table.keys[keep], table.counts[keep], source=table.source, inputs=table.inputs,
                     reads=table.reads, shard=record)


def is_spectrum_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a spectrum file (a ``.npz`` holding ``keys``, ``counts`` and ``meta``), by content."""
    try:
        with open(path, "rb") as fh:
            if fh.read(4) != b"PK\x03\x04":
                return False
        with zipfile.ZipFile(path) as z:
            return {"keys.npy", "counts.npy", "meta.npy"} <= set(z.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def _describe(table: KmerTable) -> str:
    names = ", ".join(f"{i.get('name')} (fingerprint {i.get('fingerprint')})" for i in table.inputs or [])
    return names or "unrecorded files"


def _check_record(label: str, table: KmerTable) -> tuple[int, int, int]:
    """``(index, count, partitions)`` of a count shard's record, or a one-line refusal."""
    record = table.shard
    if record is None:
        raise SeqfcnError("is a whole spectrum, not a count shard (`seqfcn count --shard i/n`): nothing to merge",
                          path=label)
    try:
        index, count, parts = int(record["index"]), int(record["count"]), int(record["partitions"])
        held = [int(p) for p in record["parts"]]
    except (KeyError, TypeError, ValueError):
        raise SeqfcnError(f"not a seqfcn count shard: its shard record {record!r} is damaged", path=label) from None
    if not (0 <= index < count <= parts) or held != shard_partitions(index, count, parts):
        raise SeqfcnError(f"not a seqfcn count shard: its shard record {record!r} is inconsistent", path=label)
    return index, count, parts


def _check_keys(label: str, record: dict, keys: np.ndarray) -> None:
    """A one-line refusal when ``keys`` (some of a count shard's) hold a k-mer of another shard's partitions."""
    stray = ~np.isin(partition_of(keys, int(record["partitions"])), record["parts"])
    if stray.any():
        raise SeqfcnError(f"holds {int(stray.sum())} k-mers outside count shard {int(record['index']) + 1}/{record['count']}'s "
                          "partitions (a changed file, or one counted by another seqfcn)", path=label)


def merge_count_shards(paths: Sequence[str | os.PathLike], output: str | os.PathLike) -> int:
    """Join the spectra of ``seqfcn count --shard i/n`` (any order) into ``output``: exactly the
    spectrum ``seqfcn count`` writes without ``--shard`` (same k-mers, counts, typical count,
    inputs and read count). Returns the number of distinct k-mers written.

    Raises:
        SeqfcnError: (naming the file, before anything is written) a file that is no count
            shard, another k, other input files, another ``n`` or partition count, a shard
            given twice or missing, a shard holding k-mers of another's partitions.
    """
    import contextlib

    from seqfcn.correction.spectrum_files import SpectrumReader

    labels = [str(p) for p in paths]
    if str(output) == "-":
        raise SeqfcnError("a merged spectrum is a file: give -o FILE, not -")
    with contextlib.ExitStack() as stack:
        readers = {label: stack.enter_context(SpectrumReader(label)) for label in labels}
        order = _check_set([(label, readers[label].header()) for label in labels])
        return _merge([(label, readers[label]) for label in order], output)


def _check_set(headers: list[tuple[str, KmerTable]]) -> list[str]:
    """The shards' labels in shard order, once their meta (``headers``) proves they are one set."""
    from seqfcn.runtime.shard import check_shard_set

    first_label, first = headers[0]
    records = []
    for label, table in headers:
        index, count, parts = _check_record(label, table)
        if table.source != "reads":
            raise SeqfcnError("not a reads spectrum (a reference table)", path=label)
        if table.k != first.k:
            raise SeqfcnError(f"has k={table.k}, but {first_label} has k={first.k}: count every shard with one k",
                              path=label)
        fingerprints = [i.get("fingerprint") for i in table.inputs or []]
        if not fingerprints or fingerprints != [i.get("fingerprint") for i in first.inputs or []]:
            raise SeqfcnError(f"was counted from {_describe(table)}, but {first_label} from {_describe(first)}: "
                              "shards of other reads (or of the files in another order) do not merge", path=label)
        if table.reads != first.reads:
            raise SeqfcnError(f"counted {table.reads} reads, {first_label} {first.reads}", path=label)
        records.append((label, index, count, f"{parts} partitions"))
    return check_shard_set(records, "count (another counter's partitions)")


def _merge(shards: list[tuple[str, Any]], output: str | os.PathLike) -> int:
    """Write the union of the checked ``shards`` (in shard order) to ``output``: for k <= 21
    a chunk at a time (:func:`seqfcn.correction.spectrum_files.write_sorted`), else loaded whole."""
    from seqfcn.correction.spectrum import COUNT_BITS, compiled, packs
    from seqfcn.correction.spectrum_files import spill_dir, write_sorted

    first = shards[0][1].header()
    if packs(first.k) and compiled():
        def chunks():
            for label, reader in shards:
                record = reader.header().shard
                for keys, counts in reader.chunks():
                    _check_keys(label, record, keys)
                    if int(counts.max()) >> COUNT_BITS:
                        raise SeqfcnError(f"holds a count above {(1 << COUNT_BITS) - 1:,}, the most this merge keeps "
                                          "(seqfcn count saturates there; a shard from an older seqfcn?): recount "
                                          "the shards", path=label)
                    yield (keys << np.uint64(COUNT_BITS)) | counts.astype(np.uint64)

        with spill_dir(None) as tmp:
            return write_sorted(output, first.k, chunks(), {"source": "reads", "inputs": first.inputs,
                                                            "reads": first.reads}, tmp)["distinct"]
    tables = [(label, KmerTable.load(reader.path)) for label, reader in shards]
    for label, table in tables:
        _check_keys(label, table.shard, table.keys)
    keys = np.concatenate([table.keys for _, table in tables])
    counts = np.concatenate([table.counts for _, table in tables])
    sort = np.argsort(keys, kind="stable")
    merged = KmerTable(first.k, keys[sort], counts[sort], source="reads", inputs=first.inputs, reads=first.reads)
    merged.save(output)
    return len(merged)
