"""Scan shards: ``seqfcn scan --shard i/n`` files and their exact merge (``seqfcn merge``).

A scan's q-values are global (Benjamini–Hochberg over every window of the genome), so a
shard file is an intermediate: :func:`write_scan_shard` writes a text track line with the
shard's tested windows (``seqfcn_shard=i/n seqfcn_tested=N seqfcn_q_tests=... seqfcn_run=ID``)
and then its hits as a binary payload (:mod:`seqfcn.motifs.hitblock`: name tables, then
blocks of arrays with float64 ``score``/``p``/``q``), and :func:`merge_scan_shards` recomputes q
over all shards and writes exactly the unsharded BED, formatting the blocks in bulk.
Shards of earlier versions (BED text with full-precision numbers) are still read.
"""
from __future__ import annotations

import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from seqfcn.errors import InputFormatError, SeqfcnError
from seqfcn.motifs.hitblock import HitBlock, Table, frame_block, read_block, read_tables, write_block, write_tables
from seqfcn.runtime.merge import chunks
from seqfcn.runtime.shard import TRACK_KEYS, check_shard, check_shard_set, run_fingerprint
from seqfcn.runtime.tiling import parse_shard

_GZIP_ERRORS = (OSError, EOFError, zlib.error)
"""What reading a damaged gzip shard raises (gzip.BadGzipFile is an OSError)."""

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class ScanShardInfo:
    """What a scan shard's track line records (0-based ``index``)."""

    index: int
    count: int
    tested: int
    q_tests: str
    run: str = ""
    hits: int | None = None  # hits the shard holds (binary shards; None in older text shards)


def scan_run_id(**settings: object) -> str:
    """The :func:`run_fingerprint` of a scan's settings (the ``seqfcn_run=`` of its shards)."""
    return run_fingerprint(**settings)


def write_scan_shard(
    hits: pd.DataFrame,
    path: str | os.PathLike,
    shard: tuple[int, int],
    *,
    q_tests: str = "tested",
    run: str | None = None,
) -> None:
    """Write one scan shard: a track line, then the hits as binary blocks (module docstring).

    The track line is that of :func:`seqfcn.motifs.scan.write_hits_bed` extended with
    ``seqfcn_shard=i/n seqfcn_tested=N seqfcn_q_tests=...`` (``N`` = ``hits.attrs["tested"]``),
    plus ``seqfcn_run=ID`` when ``run`` (a :func:`scan_run_id`) is given. ``score``, ``p`` and
    ``q`` keep full float64 precision; ``q`` is the shard's own BH q-value, the merge
    recomputes it over all shards. Atomic; ``-`` writes to stdout.
    """
    from seqfcn import __version__
    from seqfcn.io.atomic import atomic_text
    from seqfcn.motifs.hitblock import byte_sink
    from seqfcn.motifs.scan import HIT_COLUMNS

    index, count = check_shard(shard)
    if q_tests not in ("tested", "hits"):
        raise ValueError(f"q_tests must be 'tested' or 'hits', got {q_tests!r}")
    tested = int(hits.attrs.get("tested", 0))
    track = (f'track name=seqfcn_scan description="seqfcn {__version__} PWM hits, shard {index + 1} of {count}: '
             + " ".join(HIT_COLUMNS) + f'" seqfcn_shard={index + 1}/{count} seqfcn_tested={tested} '
             f"seqfcn_q_tests={q_tests}" + (f" seqfcn_run={run}" if run else ""))
    block, chroms, names, ids = frame_block(hits)
    track += f" seqfcn_hits={len(block)}"  # a payload cut at a block boundary is caught by the count
    with atomic_text(path) as out:
        sink = byte_sink(out)
        sink.write(track.encode("utf-8") + b"\n")
        write_tables(sink, chroms=chroms, names=names, ids=ids)
        for a in range(0, max(len(block), 1), _BLOCK):
            write_block(sink, block.slice(a, a + _BLOCK))


_BLOCK = 1 << 18  # hits per block of a shard's payload
_MAGIC = b"\x93NUMPY"  # a binary payload (.npy arrays) follows the track line


def read_scan_shard(path: str | os.PathLike) -> tuple[ScanShardInfo, pd.DataFrame]:
    """Read a file written by :func:`write_scan_shard`.

    Returns:
        The shard's :class:`ScanShardInfo` and its hits (``HIT_COLUMNS``; ``start``/``end``
        int64, ``score``/``p``/``q`` float64, the rest strings).

    Raises:
        InputFormatError: not a scan shard (no ``seqfcn_shard=`` track line) or a
            malformed line (named by its 1-based number).
    """
    import pandas as pd

    from seqfcn.motifs.scan import HIT_COLUMNS

    info = scan_shard_info(path)
    if _is_binary(path):
        parts = [_block_columns(*part) for part in shard_blocks(path)]
        table = pd.DataFrame({c: np.concatenate([p[c] for p in parts]) if parts else [] for c in HIT_COLUMNS},
                             columns=HIT_COLUMNS)
        table = table.astype({c: object for c in HIT_COLUMNS if c not in ("start", "end", "score", "p", "q")})
        for column in ("start", "end"):
            table[column] = table[column].astype(np.int64)
        for column in ("score", "p", "q"):
            table[column] = table[column].astype(np.float64)
        return info, table
    rows = [row for _, row in scan_shard_rows(path)]
    table = pd.DataFrame(rows, columns=HIT_COLUMNS, dtype=object) if rows else pd.DataFrame(
        {c: pd.Series(dtype=object) for c in HIT_COLUMNS})
    for column in ("start", "end"):
        table[column] = table[column].astype(np.int64)
    for column in ("score", "p", "q"):
        table[column] = table[column].astype(np.float64)
    return info, table


def scan_shard_info(path: str | os.PathLike) -> ScanShardInfo:
    """The :class:`ScanShardInfo` of a scan shard's track line (the first line only is read).

    Raises:
        InputFormatError: not a scan shard (no ``seqfcn_shard=`` track line).
    """
    label = str(path)
    with _open_shard(path, "rb") as fh:
        try:
            first = fh.readline().decode("utf-8")
        except (UnicodeDecodeError, *_GZIP_ERRORS) as exc:
            raise InputFormatError(f"cannot read: {exc}", path=label) from None
    if not first.startswith("track"):
        raise InputFormatError("not a seqfcn scan shard (no track line); write it with seqfcn scan --shard",
                               path=label)
    keys = dict(TRACK_KEYS.findall(first))
    if not {"shard", "tested", "q_tests"} <= set(keys):
        raise InputFormatError("line 1: not a seqfcn scan shard track line (seqfcn_shard=, seqfcn_tested=, "
                               "seqfcn_q_tests= missing)", path=label)
    index, count = parse_shard(keys["shard"])
    try:
        tested = int(keys["tested"])
    except ValueError:
        raise InputFormatError(f"line 1: seqfcn_tested={keys['tested']!r} is not an integer", path=label) from None
    hits = keys.get("hits")
    if hits is not None and not hits.isdigit():
        raise InputFormatError(f"line 1: seqfcn_hits={hits!r} is not an integer", path=label)
    return ScanShardInfo(index, count, tested, keys["q_tests"], keys.get("run", ""),
                         None if hits is None else int(hits))


def scan_shard_rows(path: str | os.PathLike) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of each hit of a scan shard, as they are read (the track
    line skipped), checked: ``HIT_COLUMNS`` fields, integer ``start``/``end``, numbers in
    ``score``/``p``/``q``.

    Raises:
        InputFormatError: a malformed line, named by its 1-based number.
    """
    from seqfcn.motifs.scan import HIT_COLUMNS

    label, n = str(path), len(HIT_COLUMNS)
    if _is_binary(path):
        number = 1
        for part in shard_blocks(path):
            cols = _block_columns(*part)
            for column in ("score", "p", "q"):
                cols[column] = np.array([repr(v) for v in cols[column].tolist()], dtype=object)
            for row in zip(*(cols[c].tolist() for c in HIT_COLUMNS)):
                number += 1
                yield number, [str(v) for v in row]
        return
    with _open_shard(path) as fh:
        try:
            for number, line in enumerate(fh, 1):
                row = line.rstrip("\n").split("\t")
                if number == 1 or row == [""]:
                    continue
                if len(row) != n:
                    raise InputFormatError(f"line {number}: {len(row)} columns, a scan hit has {n}", path=label)
                if not (row[1].isdigit() and row[2].isdigit()):
                    raise InputFormatError(f"line {number}: start and end must be integers", path=label)
                try:
                    float(row[4]), float(row[6]), float(row[7])
                except ValueError:
                    raise InputFormatError(f"line {number}: score, p and q must be numbers", path=label) from None
                yield number, row
        except (UnicodeDecodeError, *_GZIP_ERRORS) as exc:
            raise InputFormatError(f"cannot read: {exc}", path=label) from None


def merge_scan_shards(paths: Sequence[str | os.PathLike], output: str | os.PathLike, threads: int | None = None
                      ) -> int:
    """Merge the ``n`` files of a sharded ``seqfcn scan`` into the unsharded BED.

    Files may be given in any order (each names its shard). Two streaming passes in
    memory that does not grow with the number of hits: the first reads every block and
    counts each distinct p-value, the second formats the blocks (``threads`` at once,
    default the CPUs this process may use) with their exact Benjamini–Hochberg q-values over
    all shards (as :func:`seqfcn.motifs.scan.scan_pwm_bed`). Returns the number of hits.

    Raises:
        SeqfcnError: a shard missing or repeated, shards of different scans (``n``,
            q-value mode or run fingerprint differ), or a file that is not a scan shard.
    """
    from seqfcn.io.atomic import atomic_text
    from seqfcn.motifs.hitblock import byte_sink, value_table
    from seqfcn.motifs.pwm import PValueCounts
    from seqfcn.motifs.scan import HIT_TRACK, write_ordered

    infos = {str(p): scan_shard_info(p) for p in paths}
    first = next(iter(infos.values()))
    for label, info in infos.items():
        if info.q_tests != first.q_tests:
            raise SeqfcnError(f"q-value mode {info.q_tests} differs from {first.q_tests}", path=label)
    order = check_shard_set([(str(p), infos[str(p)].index, infos[str(p)].count, infos[str(p)].run) for p in paths],
                            "scan")
    shards = [(label, infos[label]) for label in order]
    counts, n_hits = PValueCounts(), 0
    for label, info in shards:  # every shard read and checked before anything is written
        held = 0
        for block, *_ in shard_blocks(label):
            counts.add(block.p)
            held += len(block)
        if info.hits is not None and held != info.hits:
            raise SeqfcnError(f"holds {held:,} hits but its track line says {info.hits:,}: the file was cut "
                              "short or changed", path=label)
        n_hits += held
    tested = sum(info.tested for _, info in shards)
    values, q = counts.qvalues(max(tested, n_hits) if first.q_tests == "tested" else None)
    pq_text = value_table(values, q)

    def jobs() -> Iterator:
        for label, _ in shards:
            for block, chroms, names, ids in shard_blocks(label):
                yield lambda b=block, c=chroms, n=names, i=ids: b.lines(c, n, i, np.searchsorted(values, b.p), pq_text)

    with atomic_text(output) as out:
        sink = byte_sink(out)
        sink.write(HIT_TRACK.encode() + b"\n")
        write_ordered(sink, jobs(), threads or _cpus())
    return n_hits


def shard_blocks(path: str | os.PathLike) -> Iterator[tuple[HitBlock, Table, Table, Table]]:
    """The hits of a scan shard as ``(block, chromosome names, motif names, motif ids)``, block
    by block (memory bounded by a block); a text shard of an earlier version is parsed in chunks.

    Raises:
        InputFormatError: a malformed or truncated payload, or a malformed text line.
    """
    from seqfcn.motifs.scan import HIT_COLUMNS

    label = str(path)
    if not _is_binary(path):
        for chunk in chunks(row for _, row in scan_shard_rows(path)):
            cols = dict(zip(HIT_COLUMNS, (list(c) for c in zip(*chunk))))
            for column in ("start", "end"):
                cols[column] = np.array([int(v) for v in cols[column]], dtype=np.int64)
            for column in ("score", "p", "q"):
                cols[column] = np.array([float(v) for v in cols[column]], dtype=np.float64)
            yield frame_block(cols)
        return
    with _open_shard(path, "rb") as fh:
        fh.readline()
        try:
            tables = read_tables(fh)
            if set(tables) != {"chroms", "names", "ids"} or len(tables["names"].offsets) != len(tables["ids"].offsets):
                raise ValueError("the name tables are malformed")
            while (block := read_block(fh)) is not None:
                if len(block) and (block.chrom.min() < 0 or block.chrom.max() >= len(tables["chroms"].offsets) - 1
                                   or block.motif.min() < 0 or block.motif.max() >= len(tables["names"].offsets) - 1):
                    raise ValueError("an index lies outside its name table")
                yield block, tables["chroms"], tables["names"], tables["ids"]
        except (ValueError, *_GZIP_ERRORS) as exc:
            raise InputFormatError(f"malformed scan shard payload: {exc}", path=label) from None


def _block_columns(block: HitBlock, chroms: Table, names: Table, ids: Table) -> dict[str, np.ndarray]:
    """A block's hits as :data:`seqfcn.motifs.scan.HIT_COLUMNS` arrays."""
    seq, off = block.seq.tobytes(), block.seq_off.tolist()
    return {"chrom": np.array(chroms.strings(), dtype=object)[block.chrom], "start": block.start, "end": block.end,
            "motif": np.array(names.strings(), dtype=object)[block.motif], "score": block.score,
            "strand": np.where(block.minus.astype(bool), "-", "+").astype(object), "p": block.p, "q": block.q,
            "sequence": np.array([seq[a:b].decode("utf-8") for a, b in zip(off[:-1], off[1:])], dtype=object),
            "motif_id": np.array(ids.strings(), dtype=object)[block.motif]}


def _is_binary(path: str | os.PathLike) -> bool:
    """True when a scan shard carries a binary payload (this version), False for BED text."""
    with _open_shard(path, "rb") as fh:
        try:
            fh.readline()
            return fh.read(len(_MAGIC)) == _MAGIC
        except _GZIP_ERRORS as exc:
            raise InputFormatError(f"cannot read: {exc}", path=str(path)) from None


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def is_scan_shard(path: str) -> bool:
    """Whether ``path`` (plain or gzip) starts with a ``seqfcn scan --shard`` track line."""
    if path == "-":
        return False
    with _open_shard(path, "rb") as fh:
        try:
            first = fh.readline().decode("utf-8", errors="replace")
        except _GZIP_ERRORS:  # a damaged gzip stream: not a scan shard
            return False
    return first.startswith("track") and "seqfcn_shard=" in first and "name=seqfcn_predict" not in first


def _open_shard(path: str | os.PathLike, mode: str = "r"):
    """A shard opened for reading (text ``r`` or bytes ``rb``), gzip or not (by its first bytes:
    ``scan --shard -o x.bed.gz`` writes a gzip shard)."""
    import gzip

    try:
        with open(path, "rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
        if gz:
            return gzip.open(path, "rt", encoding="utf-8") if mode == "r" else gzip.open(path, "rb")
        return open(path, encoding="utf-8") if mode == "r" else open(path, "rb")
    except OSError as exc:
        raise InputFormatError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
