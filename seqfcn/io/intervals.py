"""Intervals in (BED, narrowPeak, broadPeak, bedGraph, bigWig) and out (BED, bedGraph, bigWig).

Coordinates are 0-based half-open, as in BED. Tables are pandas DataFrames
whose first columns are ``chrom, start, end`` (then ``name, score, strand``
and the format's further columns); per-base tracks are ``(length,)`` numpy
arrays with NaN where there is no data.

Readers skip ``track``/``browser`` lines, ``#`` comments and blank lines, read
``.gz`` files transparently and ``-`` as stdin. A malformed line raises
:class:`~seqfcn.errors.InputFormatError` naming the file and the 1-based line
number as an editor shows it. Writers are atomic (a temporary file in the
output's directory, then :func:`os.replace`), gzip by a ``.gz`` suffix and
write ``-`` to stdout (not bigWig).
"""
from __future__ import annotations

import contextlib
import csv
import gzip
import io
import os
import re
import sys
from os import PathLike
from typing import IO, TYPE_CHECKING, Callable, Iterable, Iterator, Mapping, Sequence, Union

import numpy as np

from seqfcn.io.atomic import atomic_path, atomic_text
from seqfcn.errors import InputFormatError, RegionError, SeqfcnError

if TYPE_CHECKING:  # pandas is imported by the functions that build tables: writers start fast
    import pandas as pd

PathArg = Union[str, PathLike]

BED_COLUMNS = (
    "chrom", "start", "end", "name", "score", "strand",
    "thick_start", "thick_end", "item_rgb", "block_count", "block_sizes", "block_starts",
)
NARROWPEAK_COLUMNS = BED_COLUMNS[:6] + ("signal_value", "p_value", "q_value", "peak")
BROADPEAK_COLUMNS = BED_COLUMNS[:6] + ("signal_value", "p_value", "q_value")
_INT_COLUMNS = {"start", "end", "thick_start", "thick_end", "block_count"}
_FLOAT_COLUMNS = {"signal_value", "p_value", "q_value"}
_HEADER_PREFIXES = ("#", "track", "browser")
_BIGWIG_MAGIC = (0x888FFC26).to_bytes(4, "little")
_UINT = re.compile(r"[0-9]+")


# ---------------------------------------------------------------- reading text


def _label(path: PathArg, path_label: str | None) -> str:
    return path_label if path_label is not None else ("<stdin>" if str(path) == "-" else str(path))


@contextlib.contextmanager
def _open_text(path: PathArg, label: str) -> Iterator[IO[str]]:
    if str(path) == "-":
        yield sys.stdin
        return
    try:
        handle = gzip.open(path, "rt") if str(path).endswith(".gz") else open(path)
    except OSError as exc:
        raise InputFormatError(f"cannot open: {exc.strerror or exc}", path=label) from None
    with handle:
        yield handle


def _data_lines(path: PathArg, label: str) -> tuple[list[str], list[int]]:
    """The data lines (without line ends) and their 1-based line numbers."""
    with _open_text(path, label) as handle:
        try:
            text = handle.read()
        except (UnicodeDecodeError, gzip.BadGzipFile, EOFError, OSError) as exc:
            raise InputFormatError(f"not a readable text file ({exc})", path=label) from None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    kept = [
        (number, line)
        for number, line in enumerate(text.split("\n"), 1)
        if line and not line.startswith(_HEADER_PREFIXES) and not line.isspace()
    ]
    return [line for _, line in kept], [number for number, _ in kept]


def _table(
    lines: list[str], numbers: list[int], label: str, min_columns: int, dtype: object = str
) -> pd.DataFrame:
    """Split tab-separated lines into a DataFrame (of strings by default), checking the column count."""
    import pandas as pd

    if not lines:
        return pd.DataFrame()
    counts = np.fromiter((line.count("\t") + 1 for line in lines), dtype=np.int64, count=len(lines))
    if counts[0] < min_columns:
        raise InputFormatError(
            f"line {numbers[0]}: {counts[0]} tab-separated column(s), need at least {min_columns}", path=label
        )
    bad = np.flatnonzero(counts != counts[0])
    if bad.size:
        i = int(bad[0])
        raise InputFormatError(
            f"line {numbers[i]}: {counts[i]} columns, but line {numbers[0]} has {counts[0]}", path=label
        )
    return pd.read_csv(
        io.StringIO("\n".join(lines)), sep="\t", header=None, dtype=dtype,
        keep_default_na=False, na_filter=False, quoting=csv.QUOTE_NONE, skip_blank_lines=False,
    )


class _Checker:
    """Converts string columns, remembering the earliest bad line."""

    def __init__(self, frame: pd.DataFrame, numbers: list[int], label: str) -> None:
        self.frame = frame
        self.numbers = numbers
        self.label = label
        self.first: tuple[int, str] | None = None

    def fail(self, rows: np.ndarray, message: str) -> None:
        if rows.size:
            i = int(rows[0])
            value = self.frame.iloc[i].tolist()
            if self.first is None or i < self.first[0]:
                self.first = (i, message.format(*value) if "{" in message else message)

    def uint(self, column: str) -> pd.Series:
        import pandas as pd

        text = self.frame[column]
        ok = text.str.fullmatch(_UINT).to_numpy(dtype=bool)
        pos = self.frame.columns.get_loc(column)
        self.fail(np.flatnonzero(~ok), f"{column} {{{pos}!r}} is not a non-negative integer")
        return pd.to_numeric(text.where(ok, "0")).astype(np.int64)

    def number(self, column: str, *, missing: str | None = None, integer: bool = False) -> pd.Series:
        import pandas as pd

        text = self.frame[column]
        values = pd.to_numeric(text.replace(missing, np.nan) if missing else text, errors="coerce")
        bad = values.isna().to_numpy() & ~text.str.lower().isin(["nan", missing or "nan"]).to_numpy()
        pos = self.frame.columns.get_loc(column)
        self.fail(np.flatnonzero(bad), f"{column} {{{pos}!r}} is not a number")
        values = values.astype(np.float64)
        if integer:
            frac = values.notna().to_numpy() & (values.to_numpy() != np.round(values.to_numpy()))
            self.fail(np.flatnonzero(frac & ~bad), f"{column} {{{pos}!r}} is not an integer")
        return values

    def raise_first(self) -> None:
        if self.first is not None:
            i, message = self.first
            raise InputFormatError(f"line {self.numbers[i]}: {message}", path=self.label)


def _bed_format(path: PathArg, columns: int, fmt: str | None) -> str:
    if fmt is None:
        name = str(path).lower().removesuffix(".gz")
        if name.endswith(".narrowpeak") or (columns == 10 and not name.endswith(".broadpeak")):
            return "narrowPeak"
        return "broadPeak" if name.endswith(".broadpeak") else "bed"
    if fmt not in ("bed", "narrowPeak", "broadPeak"):
        raise SeqfcnError(f"unknown interval format {fmt!r}; choose bed, narrowPeak or broadPeak")
    return fmt


def read_bed(path: PathArg, *, path_label: str | None = None, format: str | None = None) -> pd.DataFrame:
    """Read BED3..BED12, narrowPeak or broadPeak into a DataFrame.

    Args:
        path: file (``.gz`` allowed) or ``-`` for stdin.
        path_label: name used in error messages instead of ``path``.
        format: ``"bed"``, ``"narrowPeak"`` or ``"broadPeak"``; default: by the
            file suffix, else 10 columns = narrowPeak, otherwise BED.

    Returns:
        Columns ``chrom, start, end[, name, score, strand, ...]``: BED12 adds
        ``thick_start, thick_end, item_rgb, block_count, block_sizes, block_starts``;
        narrowPeak adds ``signal_value, p_value, q_value`` (float64, -1 = unknown)
        and ``peak`` (summit offset from ``start``, -1 = none); broadPeak the first
        three of those. ``start``/``end`` are int64; ``score`` is nullable ``Int64``
        when every value is an integer or ``.``, otherwise float64 (``.`` = NaN);
        other columns are strings. Extra unnamed columns are ``col7``, ``col8``, ...
        (1-based), kept as strings.

    Raises:
        InputFormatError: ``file: line N: ...`` for a malformed line (too few or
            inconsistent columns, non-integer coordinate, ``end < start``, bad
            score, strand or narrowPeak value).
    """
    import pandas as pd

    label = _label(path, path_label)
    lines, numbers = _data_lines(path, label)
    raw = _table(lines, numbers, label, 3)
    if raw.empty:
        return pd.DataFrame({"chrom": pd.Series(dtype=str), "start": pd.Series(dtype=np.int64),
                             "end": pd.Series(dtype=np.int64)})
    ncols = raw.shape[1]
    fmt = _bed_format(path, ncols, format)
    names = {"bed": BED_COLUMNS, "narrowPeak": NARROWPEAK_COLUMNS, "broadPeak": BROADPEAK_COLUMNS}[fmt]
    if fmt != "bed" and ncols != len(names):
        raise InputFormatError(f"line {numbers[0]}: {fmt} needs {len(names)} columns, found {ncols}", path=label)
    raw.columns = [names[i] if i < len(names) else f"col{i + 1}" for i in range(ncols)]
    check = _Checker(raw, numbers, label)
    out = raw.copy()
    out["start"] = check.uint("start")
    out["end"] = check.uint("end")
    check.fail(np.flatnonzero((out["end"] < out["start"]).to_numpy()), "end {2} is before start {1}")
    if "score" in out:
        score = check.number("score", missing=".")
        integral = score.isna() | (score == np.round(score))
        out["score"] = score.astype("Int64") if bool(integral.all()) else score
    if "strand" in out:
        bad = ~raw["strand"].isin(["+", "-", "."]).to_numpy()
        check.fail(np.flatnonzero(bad), "strand {5!r} is not +, - or .")
    for column in names[6:ncols]:
        if column in _FLOAT_COLUMNS:
            out[column] = check.number(column)
        elif column in _INT_COLUMNS:
            out[column] = check.uint(column)
        elif column == "peak":
            out[column] = check.number(column, integer=True).fillna(-1).astype(np.int64)
    check.raise_first()
    out.attrs["lines"] = list(numbers)  # each row's line in the file, for messages that name it
    return out


def read_regions(path: PathArg | None, genome: PathArg) -> list[tuple[str, int, int]] | None:
    """0-based ``(chrom, start, end)`` of a regions BED file (None for ``path`` None), in file
    order, checked against ``genome`` (a FASTA path) by the one rule of every command that
    takes ``--regions``: a file with no interval, an empty interval, a chromosome the genome
    lacks or an interval running past the chromosome's end raises
    :class:`~seqfcn.errors.RegionError` (one line naming the BED file, its line and, past the
    end, the chromosome's length); nothing is clipped or dropped."""
    if path is None:
        return None
    from seqfcn.io.fasta import Genome

    bed = read_bed(path)
    if not len(bed):
        raise RegionError("no intervals; --regions needs at least one", path=path)
    regions = [(str(c), int(s), int(e)) for c, s, e in zip(bed["chrom"], bed["start"], bed["end"])]
    with Genome(genome) as g:
        sizes = g.chrom_sizes
    for (chrom, start, end), line in zip(regions, bed.attrs["lines"]):
        where = f"line {line}: interval {chrom}:{start}-{end}"
        if chrom not in sizes:
            raise RegionError(f"{where}: chromosome {chrom!r} is not in {genome}", path=path)
        if end <= start:
            raise RegionError(f"{where} is empty (end must be after start)", path=path)
        if end > sizes[chrom]:
            raise RegionError(f"{where} runs past the chromosome's end ({chrom} has {sizes[chrom]:,} bp in "
                              f"{genome})", path=path)
    return regions


def _column_values(df: pd.DataFrame, column: str | None) -> np.ndarray:
    import pandas as pd

    if column is None:
        return np.ones(len(df), dtype=np.float32)
    if column not in df:
        raise SeqfcnError(f"no column {column!r} in the intervals (columns: {', '.join(map(str, df.columns))})")
    return pd.to_numeric(df[column], errors="raise").to_numpy(dtype=np.float32, na_value=np.nan)


def bed_to_mask(intervals_df: pd.DataFrame, chrom: str, length: int, *, column: str | None = None) -> np.ndarray:
    """Per-base labels of one chromosome from intervals.

    Args:
        intervals_df: a table with ``chrom, start, end`` (e.g. from :func:`read_bed`).
        chrom: which chromosome.
        length: its length; an interval ending past it raises :class:`RegionError`.
        column: ``None`` for a 0/1 mask; else a numeric column whose value each
            interval paints over its bases (where intervals overlap the largest
            value wins).

    Returns:
        ``(length,)`` uint8 0/1 mask (``column=None``) or float32 values, 0
        outside every interval.
    """
    rows = intervals_df[intervals_df["chrom"] == chrom]
    starts = rows["start"].to_numpy(dtype=np.int64)
    ends = rows["end"].to_numpy(dtype=np.int64)
    if len(rows) and (ends.max() > length or starts.min() < 0):
        i = int(np.argmax(ends > length)) if ends.max() > length else int(np.argmin(starts))
        raise RegionError(
            f"interval {starts[i]}-{ends[i]} lies outside the chromosome (length {length})", record=chrom
        )
    if column is None:
        diff = np.zeros(length + 1, dtype=np.int64)
        np.add.at(diff, starts, 1)
        np.add.at(diff, ends, -1)
        return (np.cumsum(diff[:-1]) > 0).astype(np.uint8)
    values = _column_values(rows, column)
    out = np.zeros(length, dtype=np.float32)
    for i in np.argsort(values, kind="stable"):  # ascending: the largest value is painted last
        out[starts[i] : ends[i]] = values[i]
    return out


# ---------------------------------------------------------------- writing text


def _track_line(track_line: str | None) -> str | None:
    if track_line is None:
        return None
    line = track_line.strip()
    return line if line.startswith("track") else f"track {line}"


def _natural_key(name: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", str(name)))


def sort_bed(df: pd.DataFrame, chrom_order: Sequence[str] | None = None) -> pd.DataFrame:
    """Sort intervals by chromosome, then ``start``, ``end`` and ``name`` (stable).

    Args:
        df: table with ``chrom, start, end`` (``name`` optional).
        chrom_order: chromosome order (e.g. the FASTA index order); chromosomes
            not listed come after, naturally sorted. Default: natural order
            (``chr2`` before ``chr10``).

    Returns:
        A sorted copy with a fresh 0..n-1 index.
    """
    import pandas as pd

    order = {c: i for i, c in enumerate(chrom_order or [])}
    rest = sorted((c for c in pd.unique(df["chrom"]) if c not in order), key=_natural_key)
    for c in rest:
        order[c] = len(order)
    keys = [k for k in ("chrom", "start", "end", "name") if k in df]
    return df.sort_values(
        keys, key=lambda s: s.map(order) if s.name == "chrom" else s, kind="stable"
    ).reset_index(drop=True)


def write_bed(df: pd.DataFrame | Iterable[pd.DataFrame | str], path: PathArg, *,
              track_line: str | None = None) -> None:
    """Write a table as BED (all its columns, tab-separated; NaN/NA as ``.``).

    ``df`` must start with ``chrom, start, end``; sorting is the caller's job
    (:func:`sort_bed`). ``df`` may also be an iterable of such tables or of BED text
    (whole lines), written one after the other as they come (a stream in bounded memory).
    ``path`` ``-`` writes to stdout; ``.gz`` compresses. The file appears only when complete.
    """
    with atomic_text(path) as handle:
        line = _track_line(track_line)
        if line:
            handle.write(line + "\n")
        for part in [df] if hasattr(df, "columns") else df:
            if isinstance(part, str):
                handle.write(part)
                continue
            if list(part.columns[:3]) != ["chrom", "start", "end"]:
                raise ValueError(f"a BED table starts with chrom, start, end; got {list(part.columns[:3])}")
            part.to_csv(handle, sep="\t", header=False, index=False, na_rep=".", lineterminator="\n")


def _track_array(values: object, chrom: str) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"track {chrom!r} must be 1-D (length,), got shape {arr.shape}")
    return arr


def _runs(values: np.ndarray, run_length: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(starts, ends, values)`` of the non-NaN runs of equal values (or of single bases)."""
    n = values.shape[0]
    missing = np.isnan(values) if values.dtype.kind == "f" else np.zeros(n, dtype=bool)
    if run_length and n:
        change = np.ones(n, dtype=bool)
        change[1:] = (values[1:] != values[:-1]) & ~(missing[1:] & missing[:-1])
        starts = np.flatnonzero(change)
    else:
        starts = np.arange(n)
    ends = np.append(starts[1:], n)
    keep = ~missing[starts]
    return starts[keep], ends[keep], values[starts[keep]]


def write_bedgraph(
    tracks: Mapping[str, np.ndarray],
    path: PathArg,
    *,
    track_line: str | None = None,
    run_length: bool = True,
) -> None:
    """Write per-base tracks as bedGraph.

    Args:
        tracks: ``{chrom: (length,)}`` numpy arrays or tensors, written in dict order.
        path: output file (``.gz`` compresses) or ``-`` for stdout.
        track_line: optional ``track ...`` header (``track `` is prefixed if missing).
        run_length: merge runs of equal values into one line (else one line per base).

    NaN bases are skipped. Values are written in the shortest form that reads
    back to the same number in the array's dtype (float32 stays float32-exact).
    """
    with track_writer(path, None, fmt="bedgraph", track_line=track_line, run_length=run_length) as add:
        for chrom, values in tracks.items():
            add(chrom, 0, values)


def track_format(path: PathArg) -> str:
    """``"bigwig"`` for a ``.bw``/``.bigwig`` name, else ``"bedgraph"``."""
    return "bigwig" if str(path).lower().endswith((".bw", ".bigwig")) else "bedgraph"


@contextlib.contextmanager
def track_writer(path: PathArg, chrom_sizes: Mapping[str, int] | None, *, fmt: str | None = None,
                 track_line: str | None = None, run_length: bool = True, chunk: int = 1 << 20
                 ) -> Iterator[Callable[[str, int, np.ndarray], None]]:
    """A streaming bedGraph or bigWig writer: yields ``add(chrom, start, values)`` that writes
    the ``(n,)`` values of bases ``start .. start + n`` (runs of equal values merged within
    one call, NaN skipped); calls must come in genome order. The file appears when the
    block ends without error (atomic); a bigWig needs ``chrom_sizes`` for its header.

    Args:
        fmt: ``"bigwig"`` or ``"bedgraph"`` (default: :func:`track_format` of ``path``).
        track_line, run_length: bedGraph only (see :func:`write_bedgraph`).
        chunk: runs handed to pyBigWig per call.
    """
    fmt = fmt or track_format(path)
    if fmt == "bedgraph":
        with atomic_text(path) as handle:
            line = _track_line(track_line)
            if line:
                handle.write(line + "\n")

            def add_text(chrom: str, start: int, values: np.ndarray) -> None:
                s, e, v = _runs(_track_array(values, chrom), run_length)
                if s.size:
                    handle.write("".join(f"{chrom}\t{a}\t{b}\t{x}\n" for a, b, x in
                                         zip((s + start).tolist(), (e + start).tolist(), v.astype(str).tolist())))

            yield add_text
        return
    if fmt != "bigwig":
        raise SeqfcnError(f"unknown track format {fmt!r}; use bigwig or bedgraph")
    pyBigWig = _pybigwig()
    if str(path) == "-":
        raise SeqfcnError("bigWig cannot be written to stdout; give a file name")
    if chrom_sizes is None:
        raise ValueError("a bigWig writer needs chrom_sizes")
    with atomic_path(path) as tmp:
        bw = pyBigWig.open(tmp, "w")
        if bw is None:
            raise SeqfcnError("pyBigWig could not create the file", path=path)
        try:
            bw.addHeader([(str(c), int(n)) for c, n in chrom_sizes.items()])

            def add_bigwig(chrom: str, start: int, values: np.ndarray) -> None:
                arr = _track_array(values, chrom).astype(np.float32, copy=False)
                if chrom not in chrom_sizes:
                    raise RegionError("chromosome is not in the genome", record=chrom)
                if start < 0 or start + arr.shape[0] > chrom_sizes[chrom]:
                    raise RegionError(f"values {start}-{start + arr.shape[0]} run past the chromosome end "
                                      f"({chrom_sizes[chrom]})", record=chrom)
                s, e, v = _runs(arr, True)
                for i in range(0, s.size, chunk):
                    sl = slice(i, i + chunk)
                    bw.addEntries([chrom] * len(s[sl]), (s[sl] + start).tolist(), ends=(e[sl] + start).tolist(),
                                  values=v[sl].astype(np.float64).tolist())

            yield add_bigwig
        finally:
            bw.close()


def _fill(length: int, starts: np.ndarray, ends: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``(length,)`` float32: ``values`` over the intervals, NaN elsewhere; later intervals win."""
    order = np.argsort(starts, kind="stable")
    s, e, v = starts[order], ends[order], values[order].astype(np.float32)
    if s.size and np.all(s[1:] >= e[:-1]):  # sorted, disjoint: one np.repeat
        gaps = s - np.concatenate(([0], e[:-1]))
        lens = np.empty(2 * s.size + 1, dtype=np.int64)
        lens[0:-1:2], lens[1::2], lens[-1] = gaps, e - s, length - (e[-1] if e.size else 0)
        vals = np.full(lens.size, np.nan, dtype=np.float32)
        vals[1::2] = v
        return np.repeat(vals, lens)
    out = np.full(length, np.nan, dtype=np.float32)
    for a, b, x in zip(starts, ends, values):
        out[a:b] = x
    return out


def _read_bedgraph_table(path: PathArg, label: str) -> pd.DataFrame:
    import pandas as pd

    lines, numbers = _data_lines(path, label)
    names = ["chrom", "start", "end", "value"]
    if not lines:
        return pd.DataFrame({"chrom": pd.Series(dtype=str), "start": pd.Series(dtype=np.int64),
                             "end": pd.Series(dtype=np.int64), "value": pd.Series(dtype=np.float64)})
    try:  # fast path: the C parser types the columns; any doubt falls back to find the bad line
        typed = _table(lines, numbers, label, 4, {0: str, 1: np.int64, 2: np.int64, 3: np.float64})
        if typed.shape[1] == 4:
            typed.columns = names
            if bool((typed["start"] >= 0).all() and (typed["end"] >= typed["start"]).all()):
                return typed
    except ValueError:
        pass
    raw = _table(lines, numbers, label, 4)
    if raw.shape[1] != 4:
        raise InputFormatError(f"line {numbers[0]}: bedGraph has 4 columns, found {raw.shape[1]}", path=label)
    raw.columns = names
    check = _Checker(raw, numbers, label)
    out = pd.DataFrame({"chrom": raw["chrom"], "start": check.uint("start"), "end": check.uint("end")})
    check.fail(np.flatnonzero((out["end"] < out["start"]).to_numpy()), "end {2} is before start {1}")
    out["value"] = check.number("value")
    check.raise_first()
    return out


def read_bedgraph(
    path: PathArg, *, chrom_sizes: Mapping[str, int] | None = None, path_label: str | None = None
) -> dict[str, np.ndarray]:
    """Read a bedGraph into per-base tracks.

    Args:
        path: file (``.gz`` allowed) or ``-``.
        chrom_sizes: chromosome lengths; without it a track ends at its last interval.
        path_label: name used in error messages.

    Returns:
        ``{chrom: (length,) float32}`` in file order, NaN where no interval covers
        a base (where intervals overlap the later line wins). With
        ``chrom_sizes`` every listed chromosome is present (all NaN if absent).

    Raises:
        InputFormatError: malformed line (with its line number).
        RegionError: an interval past the end of a chromosome of ``chrom_sizes``.
    """
    label = _label(path, path_label)
    table = _read_bedgraph_table(path, label)
    tracks: dict[str, np.ndarray] = {}
    groups = dict(tuple(table.groupby("chrom", sort=False))) if len(table) else {}
    names = list(groups) + [c for c in (chrom_sizes or {}) if c not in groups]
    for chrom in names:
        rows = groups.get(chrom)
        starts = np.empty(0, np.int64) if rows is None else rows["start"].to_numpy()
        ends = np.empty(0, np.int64) if rows is None else rows["end"].to_numpy()
        values = np.empty(0) if rows is None else rows["value"].to_numpy()
        if chrom_sizes is not None:
            if chrom not in chrom_sizes:
                raise RegionError("chromosome is not in the genome", path=label, record=chrom)
            length = int(chrom_sizes[chrom])
            if ends.size and ends.max() > length:
                raise RegionError(
                    f"interval ends at {ends.max()}, past the length {length}", path=label, record=chrom
                )
        else:
            length = int(ends.max()) if ends.size else 0
        tracks[chrom] = _fill(length, starts, ends, values)
    return tracks


# ---------------------------------------------------------------- bigWig


def _pybigwig():
    try:
        import pyBigWig
    except ImportError:
        raise SeqfcnError("bigWig support needs pyBigWig: pip install 'seqfcn[bigwig]'") from None
    return pyBigWig


def is_bigwig(path: PathArg) -> bool:
    """Whether ``path`` starts with the bigWig magic number."""
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == _BIGWIG_MAGIC
    except OSError:
        return False


def write_bigwig(
    tracks: Mapping[str, np.ndarray], chrom_sizes: Mapping[str, int], path: PathArg, *, chunk: int = 1 << 20
) -> None:
    """Write per-base tracks as bigWig (float32 values, runs of equal values merged, NaN skipped).

    Args:
        tracks: ``{chrom: (length,)}`` arrays or tensors; each length must equal ``chrom_sizes[chrom]``.
        chrom_sizes: every chromosome of the genome, in the order of the header.
        path: output file (written to a temporary file, then renamed).
        chunk: runs handed to pyBigWig per call.
    """
    for chrom, values in tracks.items():
        if chrom not in chrom_sizes:
            raise RegionError("chromosome is not in the genome", record=chrom)
        n = _track_array(values, chrom).shape[0]
        if n != chrom_sizes[chrom]:
            raise RegionError(f"track has {n} values, chromosome length is {chrom_sizes[chrom]}", record=chrom)
    with track_writer(path, chrom_sizes, fmt="bigwig", chunk=chunk) as add:
        for chrom in chrom_sizes:
            if chrom in tracks:
                add(chrom, 0, tracks[chrom])


def _open_bigwig(path: PathArg):
    pyBigWig = _pybigwig()
    if not is_bigwig(path):
        raise InputFormatError("not a bigWig file", path=path)
    try:
        bw = pyBigWig.open(os.fspath(path))
    except RuntimeError:
        bw = None
    if bw is None:
        raise InputFormatError("cannot open as bigWig", path=path)
    return bw


def read_bigwig(path: PathArg, chrom: str, start: int, end: int) -> np.ndarray:
    """Values of ``chrom:[start, end)`` as ``(end - start,)`` float32, NaN where the file has no data.

    Raises:
        RegionError: unknown chromosome or a region outside it.
    """
    bw = _open_bigwig(path)
    try:
        sizes = bw.chroms()
        if chrom not in sizes:
            raise RegionError("chromosome is not in the bigWig", path=path, record=chrom)
        if not 0 <= start <= end <= sizes[chrom]:
            raise RegionError(f"region {start}-{end} is outside 0-{sizes[chrom]}", path=path, record=chrom)
        if start == end:
            return np.empty(0, dtype=np.float32)
        if getattr(_pybigwig(), "numpy", 0):
            return np.asarray(bw.values(chrom, int(start), int(end), numpy=True), dtype=np.float32)
        return np.asarray(bw.values(chrom, int(start), int(end)), dtype=np.float32)
    finally:
        bw.close()


def signal_track(path: PathArg, chrom: str, length: int, *, missing: float = np.nan) -> np.ndarray:
    """A per-base signal of one chromosome from a bigWig or bedGraph file.

    The format is recognised by the bigWig magic number; anything else is read
    as bedGraph (``.gz`` allowed).

    Args:
        path: bigWig or bedGraph file.
        chrom: chromosome name.
        length: chromosome length; a bigWig whose header disagrees, or a
            bedGraph interval past it, raises :class:`RegionError`.
        missing: value for bases without data (default NaN; 0 for "no signal").

    Returns:
        ``(length,)`` float32. A chromosome absent from the file is all ``missing``.
    """
    if is_bigwig(path):
        bw = _open_bigwig(path)
        try:
            size = bw.chroms().get(chrom)
        finally:
            bw.close()
        if size is None:
            out = np.full(length, np.nan, dtype=np.float32)
        elif size != length:
            raise RegionError(f"bigWig says length {size}, expected {length}", path=path, record=chrom)
        else:
            out = read_bigwig(path, chrom, 0, length)
    else:
        label = _label(path, None)
        table = _read_bedgraph_table(path, label)
        rows = table[table["chrom"] == chrom]
        starts, ends = rows["start"].to_numpy(dtype=np.int64), rows["end"].to_numpy(dtype=np.int64)
        if ends.size and ends.max() > length:
            raise RegionError(f"interval ends at {ends.max()}, past the length {length}", path=label, record=chrom)
        out = _fill(length, starts, ends, rows["value"].to_numpy(dtype=np.float64))
    if not np.isnan(missing):
        out = np.where(np.isnan(out), np.float32(missing), out).astype(np.float32)
    return out
