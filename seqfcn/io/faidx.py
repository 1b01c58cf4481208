"""FASTA indexes (``.fai``, ``.gzi``) checked against the FASTA they describe.

htslib trusts a ``.fai``: a stale index (the FASTA was edited, or the index belongs
to another file) makes it read the wrong bases or fail deep inside ``fetch``. A
check of every record costs a few small reads: for record ``i`` with
``(name, length, offset, line_bases, line_width)``,

* the line just before ``offset`` is the header ``>name``;
* the byte after the last base (computed from the line layout) ends a line, and
  the next non-empty line is the header of record ``i + 1`` (or the file ends):
  so no record is longer or shorter than the index says, and none is missing
  (htslib drops a second record with the same name, with only a warning).

bgzip-compressed FASTA is read at uncompressed offsets through its ``.gzi``
(BGZF blocks are independent gzip members). :func:`index_problem` returns the
first disagreement as text, or None.
"""
from __future__ import annotations

import bisect
import mmap
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

_HEADER_BACK = 1 << 16  # longest header line looked at
_NEWLINES = b"\r\n"


@dataclass(frozen=True)
class FaiRecord:
    """One line of a ``.fai``: name, length, byte offset of the first base, bases per line, bytes per line."""

    name: str
    length: int
    offset: int
    line_bases: int
    line_width: int


def read_fai(path: str | os.PathLike) -> list[FaiRecord] | None:
    """The records of a ``.fai`` file, or None when it is not a well-formed index."""
    records = []
    try:
        with open(path, "rb") as fh:
            for line in fh:
                cols = line.rstrip(b"\r\n").split(b"\t")
                if len(cols) < 5:
                    return None
                nums = [int(c) for c in cols[1:5]]
                if min(nums) < 0 or (nums[0] > 0 and (nums[2] < 1 or nums[3] < nums[2])):
                    return None
                records.append(FaiRecord(cols[0].decode("utf-8", "replace"), *nums))
    except (OSError, ValueError):
        return None
    return records


class _PlainBytes:
    """Random access to an uncompressed file (memory-mapped)."""

    def __init__(self, path: Path) -> None:
        self._fh = open(path, "rb")
        size = os.fstat(self._fh.fileno()).st_size
        self.size = size
        self._map = mmap.mmap(self._fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""

    def read(self, offset: int, n: int) -> bytes:
        if offset >= self.size or offset < 0:
            return b""
        return self._map[offset : offset + n]

    def close(self) -> None:
        if isinstance(self._map, mmap.mmap):
            self._map.close()
        self._fh.close()


class _BgzfBytes:
    """Random access to a bgzip file at uncompressed offsets, through its ``.gzi`` block table."""

    def __init__(self, path: Path, gzi: Path) -> None:
        with open(gzi, "rb") as fh:
            data = fh.read()
        (n,) = struct.unpack_from("<Q", data, 0)
        pairs = struct.unpack_from(f"<{2 * n}Q", data, 8)
        self._compressed = [0, *pairs[0::2]]
        self._uncompressed = [0, *pairs[1::2]]
        self._fh = open(path, "rb")
        self.size = None

    def read(self, offset: int, n: int) -> bytes:
        if offset < 0:
            return b""
        block = bisect.bisect_right(self._uncompressed, offset) - 1
        self._fh.seek(self._compressed[block])
        skip, out, buf = offset - self._uncompressed[block], bytearray(), b""
        while len(out) < skip + n:
            member = zlib.decompressobj(31)  # one BGZF block
            while not member.eof:
                if not buf:
                    buf = self._fh.read(1 << 16)
                    if not buf:
                        return bytes(out[skip : skip + n])
                out += member.decompress(buf)
                buf = member.unused_data if member.eof else b""
        return bytes(out[skip : skip + n])

    def close(self) -> None:
        self._fh.close()


def _header_start(data, rec: FaiRecord) -> tuple[int | None, str | None]:
    """Byte offset of the ``>`` of ``rec``'s header line, or None and the reason it is not there."""
    start = max(0, rec.offset - _HEADER_BACK)
    back = data.read(start, rec.offset - start)
    if len(back) != rec.offset - start or not back.endswith(b"\n"):
        return None, "does not start after a header line"
    line_start = back.rfind(b"\n", 0, len(back) - 1) + 1
    header = back[line_start:].rstrip(_NEWLINES)
    if line_start == 0 and start > 0:
        return None, "has a header line longer than 64 kB"
    name = header[1:].split(None, 1)[0].decode("utf-8", "replace") if header[:1] == b">" and len(header) > 1 else None
    if name != rec.name:
        shown = header[:40].decode("utf-8", "replace")
        return None, f"starts after {shown!r}, not after its header '>{rec.name}'"
    return start + line_start, None


def _after_sequence(data, rec: FaiRecord) -> tuple[int | None, str | None]:
    """Offset of the first byte after ``rec``'s sequence and its line ends (the next header or
    the end of the file), or None and what is wrong."""
    end = rec.offset
    if rec.length:
        full, rem = divmod(rec.length, rec.line_bases)
        end = rec.offset + full * rec.line_width + rem if rem else rec.offset + (full - 1) * rec.line_width + rec.line_bases
        last = data.read(end - 1, 1)
        if not last or last in (b"\n", b"\r", b">"):
            return None, f"is shorter than the {rec.length} bp the index gives"
    tail = data.read(end, 256)
    stripped = tail.lstrip(b"\r\n")
    if rec.length and tail and len(stripped) == len(tail):
        return None, f"is longer than the {rec.length} bp the index gives"
    pos = end + len(tail) - len(stripped)
    while not stripped and len(tail) == 256:  # a run of empty lines
        tail = data.read(pos, 256)
        stripped = tail.lstrip(b"\r\n")
        pos += len(tail) - len(stripped)
    if stripped and stripped[:1] != b">":
        return None, f"is longer than the {rec.length} bp the index gives (or has a bad line layout)"
    return pos, None


def index_problem(fasta: str | os.PathLike, fai: str | os.PathLike, gzi: str | os.PathLike | None = None) -> str | None:
    """Why ``fai`` does not describe ``fasta`` (text naming the record), or None when it does.

    Args:
        fasta: the FASTA file (plain, or bgzip with ``gzi``).
        fai: its ``.fai``.
        gzi: the ``.gzi`` of a bgzip FASTA (None for a plain file).
    """
    records = read_fai(fai)
    if records is None:
        return "the index is not a well-formed .fai"
    try:
        data = _BgzfBytes(Path(fasta), Path(gzi)) if gzi is not None else _PlainBytes(Path(fasta))
    except (OSError, struct.error, zlib.error) as exc:
        return f"cannot read the FASTA through the index ({exc})"
    try:
        return _records_problem(data, records)
    except zlib.error as exc:
        return f"cannot read the compressed FASTA through the index ({exc})"
    finally:
        data.close()


def _only_empty_records(data, start: int, end: int) -> bool:
    """True when ``[start, end)`` holds only header lines (records without bases, which
    htslib leaves out of an index) and empty lines."""
    if end - start > _HEADER_BACK:
        return False
    lines = data.read(start, end - start).splitlines()
    return all(not line.strip() or line.startswith(b">") for line in lines)


EMPTY_RECORD = "a record without bases"
"""What :func:`index_problem` says (at its start) when the FASTA holds a record that has no
sequence (htslib leaves it out of the index silently, or cannot index a last one):
:func:`first_empty_record` names it."""


def first_empty_record(fasta: str | os.PathLike) -> tuple[str, int] | None:
    """``(name, 1-based line)`` of the first FASTA record with no sequence (a header followed
    by another header or the end of the file), or None. Reads the whole file (plain or gzip)."""
    import gzip

    with open(fasta, "rb") as fh:
        packed = fh.read(2) == b"\x1f\x8b"
    pending: tuple[str, int] | None = None
    with (gzip.open(fasta, "rb") if packed else open(fasta, "rb")) as fh:
        for number, line in enumerate(fh, 1):
            if line.startswith(b">"):
                if pending is not None:
                    return pending
                pending = (line[1:].split(None, 1)[0].decode("utf-8", "replace") if line[1:].strip() else "", number)
            elif line.strip():
                pending = None
    return pending


def _records_problem(data, records: list[FaiRecord]) -> str | None:
    seen: set[str] = set()
    expected_next: int | None = 0
    for rec in records:
        if rec.name in seen:
            return f"record {rec.name!r} is listed twice"
        seen.add(rec.name)
        start, why = _header_start(data, rec)
        if why:
            return f"record {rec.name!r} {why}"
        if start != expected_next:
            if start > expected_next and _only_empty_records(data, expected_next, start):
                if b">" in data.read(expected_next, start - expected_next):
                    return f"{EMPTY_RECORD} lies before {rec.name!r}"
            else:
                return f"a record before {rec.name!r} is missing from the index"
        expected_next, why = _after_sequence(data, rec)
        if why:
            return f"record {rec.name!r} {why}"
    rest = data.read(expected_next, _HEADER_BACK + 1)
    if rest and not _only_empty_records(data, expected_next, expected_next + len(rest)):
        return "the FASTA has records after the last one in the index" if records else "the index lists no records"
    if b">" in rest:
        return f"{EMPTY_RECORD} ends the file"
    return None


def first_duplicate_name(fasta_headers_warning: str) -> str | None:
    """The sequence name in htslib's ``Ignoring duplicate sequence "NAME"`` warning, if any."""
    marker = 'duplicate sequence "'
    at = fasta_headers_warning.find(marker)
    if at < 0:
        return None
    rest = fasta_headers_warning[at + len(marker):]
    return rest.split('"', 1)[0]
