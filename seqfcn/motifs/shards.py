"""Scan shards: ``seqfcn scan --shard i/n`` files and their exact merge (``seqfcn merge``).

A scan's q-values are global (Benjamini–Hochberg over every window of the genome), so a
shard file is an intermediate: :func:`write_scan_shard` writes full-precision ``score``/``p``
and the shard's tested windows in the track line (``seqfcn_shard=i/n seqfcn_tested=N
seqfcn_q_tests=... seqfcn_run=ID``), and :func:`merge_scan_shards` recomputes q over all
shards and writes exactly the unsharded BED.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Sequence
import numpy as np
from seqfcn.errors import InputFormatError, SeqfcnError
from seqfcn.runtime.merge import chunks
from seqfcn.runtime.shard import TRACK_KEYS, check_shard, check_shard_set, run_fingerprint
from seqfcn.runtime.tiling import parse_shard
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
    """Write one scan shard as BED6+ with everything a later exact merge needs.

    Same columns as :func:`seqfcn.motifs.scan.write_hits_bed`, but ``score``, ``p`` and ``q``
    in full precision (shortest round-trip ``repr``) and the track line extended with
    ``seqfcn_shard=i/n seqfcn_tested=N seqfcn_q_tests=...`` (``N`` =
    ``hits.attrs["tested"]``), plus ``seqfcn_run=ID`` when ``run`` (a
    :func:`scan_run_id`) is given. ``q`` is the shard's own BH q-value; the merge
    recomputes it over all shards. Atomic; ``-`` writes to stdout.
    """
    from seqfcn import __version__
    from seqfcn.io.intervals import write_bed
    from seqfcn.motifs.scan import HIT_COLUMNS

    index, count = check_shard(shard)
    if q_tests not in ("tested", "hits"):
        raise ValueError(f"q_tests must be 'tested' or 'hits', got {q_tests!r}")
    out = hits[HIT_COLUMNS].copy()
    for column in ("score", "p", "q"):
        out[column] = [repr(float(v)) for v in out[column]]
    tested = int(hits.attrs.get("tested", 0))
    track = (f'track name=seqfcn_scan description="seqfcn {__version__} PWM hits, shard {index + 1} of {count}: '
             + " ".join(HIT_COLUMNS) + f'" seqfcn_shard={index + 1}/{count} seqfcn_tested={tested} '
             f"seqfcn_q_tests={q_tests}" + (f" seqfcn_run={run}" if run else ""))
    write_bed(out, path, track_line=track)


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
    with _open_shard(path) as fh:
        try:
            first = fh.readline()
        except UnicodeDecodeError as exc:
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
    return ScanShardInfo(index, count, tested, keys["q_tests"], keys.get("run", ""))


def scan_shard_rows(path: str | os.PathLike) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of each hit of a scan shard, as they are read (the track
    line skipped), checked: ``HIT_COLUMNS`` fields, integer ``start``/``end``, numbers in
    ``score``/``p``/``q``.

    Raises:
        InputFormatError: a malformed line, named by its 1-based number.
    """
    from seqfcn.motifs.scan import HIT_COLUMNS

    label, n = str(path), len(HIT_COLUMNS)
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
        except UnicodeDecodeError as exc:
            raise InputFormatError(f"cannot read: {exc}", path=label) from None


def merge_scan_shards(paths: Sequence[str | os.PathLike], output: str | os.PathLike) -> int:
    """Merge the ``n`` files of a sharded ``seqfcn scan`` into the unsharded BED.

    Files may be given in any order (each names its shard). Two streaming passes in
    memory that does not grow with the number of hits: the first checks every line and
    counts each distinct p-value, the second writes the hits with their exact
    Benjamini–Hochberg q-values over all shards (as :func:`seqfcn.motifs.scan.scan_pwm_bed`).
    Returns the number of hits.

    Raises:
        SeqfcnError: a shard missing or repeated, shards of different scans (``n``,
            q-value mode or run fingerprint differ), or a file that is not a scan shard.
    """
    from seqfcn.io.intervals import write_bed
    from seqfcn.motifs.pwm import PValueCounts, value_text
    from seqfcn.motifs.scan import HIT_TRACK

    infos = {str(p): scan_shard_info(p) for p in paths}
    first = next(iter(infos.values()))
    for label, info in infos.items():
        if info.q_tests != first.q_tests:
            raise SeqfcnError(f"q-value mode {info.q_tests} differs from {first.q_tests}", path=label)
    order = check_shard_set([(str(p), infos[str(p)].index, infos[str(p)].count, infos[str(p)].run) for p in paths],
                            "scan")
    shards = [(label, infos[label]) for label in order]
    counts, n_hits = PValueCounts(), 0
    for label, _ in shards:
        for chunk in chunks(row[6] for _, row in scan_shard_rows(label)):
            counts.add(np.array(chunk, dtype=np.float64))
            n_hits += len(chunk)
    tested = sum(info.tested for _, info in shards)
    values, q = counts.qvalues(max(tested, n_hits) if first.q_tests == "tested" else None)
    q_text = value_text(q)
    text: dict[str, str] = {}  # p as stored -> "p\tq" as written (few distinct p-values)

    def p_and_q(p: str) -> str:
        if p not in text:
            v = float(p)
            text[p] = f"{value_text([v])[0]}\t{q_text[int(np.searchsorted(values, v))]}"
        return text[p]

    def blocks() -> Iterator[str]:
        for label, _ in shards:
            for chunk in chunks(scan_shard_rows(label)):
                yield "".join(f"{c}\t{s}\t{e}\t{m}\t{float(sc):.4f}\t{st}\t{p_and_q(p)}\t{seq}\t{mid}\n"
                              for _, (c, s, e, m, sc, st, p, _q, seq, mid) in chunk)

    write_bed(blocks(), output, track_line=HIT_TRACK)
    return n_hits


def is_scan_shard(path: str) -> bool:
    if path == "-" or path.endswith(".gz"):
        return False
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            first = fh.readline()
    except OSError as exc:
        raise SeqfcnError(f"cannot read: {exc.strerror}", path=path) from None
    return first.startswith("track") and "seqfcn_shard=" in first and "name=seqfcn_predict" not in first


def _open_shard(path: str | os.PathLike):
    try:
        return open(path, encoding="utf-8")
    except OSError as exc:
        raise InputFormatError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
