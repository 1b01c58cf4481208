"""Motif files (MEME, JASPAR, TRANSFAC) → position frequency matrices.

Each motif becomes a :class:`Motif` whose ``pfm`` is a ``(4, w)`` float64 array of
probabilities (rows A, C, G, T; every column sums to 1).

Parsing is done by Biopython's ``Bio.motifs``. One exception to "Biopython only":
Biopython's MEME reader turns each probability into a *rounded count*
(``round(p * nsites)``), which loses precision for files whose probabilities are
not count-derived (e.g. ``nsites=20`` defaults). For MEME files the probabilities
are therefore re-read at full precision from the ``letter-probability matrix``
rows, and cross-checked against Biopython's motif count and widths. The MEME
"alternate name" (second word of the ``MOTIF`` line), which Biopython drops, is
read from the same lines.
"""
from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqfcn.errors import InputFormatError

FORMATS = ("meme", "jaspar", "pfm", "transfac")
"""Formats :func:`read_motifs` understands (``pfm`` = single JASPAR count matrix)."""

_EXTENSIONS = {
    ".meme": "meme",
    ".jaspar": "jaspar",
    ".pfm": "pfm",
    ".transfac": "transfac",
    ".tf": "transfac",
    ".dat": "transfac",
}
_MEME_DEFAULT_NSITES = 20  # MEME motif format: nsites defaults to 20 when absent


@dataclass
class Motif:
    """A position frequency matrix and its names.

    Attributes:
        name: human-readable name (JASPAR/MEME alternate name, TRANSFAC ``NA``),
            the ``id`` when the file has none.
        id: identifier (MEME motif id, JASPAR matrix id, TRANSFAC ``ID``/``AC``).
        pfm: ``(4, w)`` float64 probabilities, rows A, C, G, T, columns sum to 1.
        nsites: number of sites the matrix was built from, when known
            (JASPAR/TRANSFAC: column count total; MEME: ``nsites=``).
    """

    name: str
    id: str
    pfm: np.ndarray
    nsites: int | None = None

    @property
    def width(self) -> int:
        """Number of columns ``w``."""
        return int(self.pfm.shape[1])


def sniff_format(text: str) -> str | None:
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        if s.startswith("MEME version") or s.startswith("*" * 10):
            return "meme"
        if s.startswith(">"):
            return "jaspar"
        if s[:2] in ("VV", "AC", "ID", "XX", "NA", "P0", "PO", "DE", "//"):
            return "transfac"
        if s[0] in "ACGT" and "[" in s:
            return "jaspar"
        if re.fullmatch(r"[-+0-9.eE\s]+", s):
            return "pfm"
        return None
    return None


def detect_format(path: str | os.PathLike, text: str | None = None) -> str:
    """The motif format of ``path``: from its extension, else from its content."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    for suffix in reversed(suffixes):
        if suffix in _EXTENSIONS:
            return _EXTENSIONS[suffix]
    if text is None:
        text = _read_text(path)
    fmt = sniff_format(text)
    if fmt is None:
        raise InputFormatError("cannot tell the motif format (expected MEME, JASPAR or TRANSFAC)", path=path)
    return fmt


def _read_text(path: str | os.PathLike) -> str:
    try:
        with open(path, encoding="utf-8", errors="strict") as fh:
            return fh.read()
    except FileNotFoundError:
        raise InputFormatError("no such motif file", path=path) from None
    except UnicodeDecodeError as exc:
        raise InputFormatError(f"not a text file (byte {exc.start})", path=path) from None
    except IsADirectoryError:
        raise InputFormatError("is a directory, not a motif file", path=path) from None


def read_motifs(path: str | os.PathLike, fmt: str | None = None) -> list[Motif]:
    """Read every motif of a MEME, JASPAR (multi-motif or single ``.pfm``) or TRANSFAC file.

    Args:
        path: the motif file, or a shipped database's name (``"jaspar2024"``, :mod:`seqfcn.resources`).
        fmt: one of :data:`FORMATS`; by default from the extension (``.meme``,
            ``.jaspar``, ``.pfm``, ``.transfac``/``.dat``), else from the content.

    Returns:
        Motifs in file order; each ``pfm`` is ``(4, w)`` float64, columns summing to 1.

    Raises:
        InputFormatError: unreadable or malformed file, naming the file and, where
            known, the motif and the line.
    """
    from seqfcn.resources import motifs_path

    path = motifs_path(path)
    text = _read_text(path)
    if fmt is None:
        fmt = detect_format(path, text)
    fmt = fmt.lower()
    if fmt == "minimal":
        fmt = "meme"
    if fmt not in FORMATS:
        raise InputFormatError(f"unknown motif format {fmt!r} (use one of {', '.join(FORMATS)})", path=path)
    if fmt == "meme":
        result = _read_meme(path, text)
    else:
        result = _read_counts_format(path, text, fmt)
    if not result:
        raise InputFormatError(f"no motifs found ({fmt} format)", path=path)
    return result


# --------------------------------------------------------------------------- MEME
_MOTIF_LINE = re.compile(r"^MOTIF\s+(\S+)(?:\s+(\S+))?")
_LPM_LINE = re.compile(r"^letter-probability matrix:(.*)$")


def _meme_blocks(path: str | os.PathLike, text: str) -> list[tuple[str, str, np.ndarray, int, int]]:
    """Full-precision ``(id, name, pfm, nsites, line_number)`` for each MOTIF of a MEME file."""
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        m = _MOTIF_LINE.match(lines[i])
        if not m:
            i += 1
            continue
        motif_id, alt = m.group(1), m.group(2)
        motif_line = i + 1
        i += 1
        while i < len(lines) and not _LPM_LINE.match(lines[i].strip()):
            if _MOTIF_LINE.match(lines[i]):
                raise InputFormatError(
                    "no 'letter-probability matrix:' line", path=path, record=motif_id, position=motif_line
                )
            i += 1
        if i >= len(lines):
            raise InputFormatError(
                "no 'letter-probability matrix:' line", path=path, record=motif_id, position=motif_line
            )
        header = _LPM_LINE.match(lines[i].strip()).group(1)
        fields = dict(re.findall(r"(\w+)=\s*(\S+)", header))
        try:
            width = int(fields["w"]) if "w" in fields else None
            nsites = int(float(fields["nsites"])) if "nsites" in fields else _MEME_DEFAULT_NSITES
            alength = int(fields.get("alength", 4))
        except ValueError:
            raise InputFormatError(
                f"bad letter-probability matrix header {header.strip()!r}", path=path, record=motif_id, position=i + 1
            ) from None
        if alength != 4:
            raise InputFormatError(
                f"alphabet length {alength}, only DNA (4) is supported", path=path, record=motif_id, position=i + 1
            )
        rows = []
        i += 1
        while i < len(lines) and (width is None or len(rows) < width):
            s = lines[i].strip()
            if not s:
                if width is None:
                    break
                i += 1
                continue
            if s.startswith("MOTIF") or s.startswith("URL"):
                break
            parts = s.split()
            try:
                values = [float(x) for x in parts]
            except ValueError:
                raise InputFormatError(
                    f"matrix row is not numbers: {s[:40]!r}", path=path, record=motif_id, position=i + 1
                ) from None
            if len(values) != 4:
                raise InputFormatError(
                    f"matrix row has {len(values)} columns, expected 4", path=path, record=motif_id, position=i + 1
                )
            total = sum(values)
            if abs(total - 1.0) > MEME_ROW_TOLERANCE:
                raise InputFormatError(
                    f"letter-probability row sums to {total:g}, not 1 (within {MEME_ROW_TOLERANCE}); a MEME "
                    "matrix holds probabilities (counts belong in JASPAR/TRANSFAC files)",
                    path=path, record=motif_id, position=i + 1,
                )
            rows.append(values)
            i += 1
        if width is not None and len(rows) != width:
            raise InputFormatError(
                f"matrix has {len(rows)} rows, header says w= {width}", path=path, record=motif_id, position=i
            )
        pfm = _normalise(np.array(rows, dtype=np.float64).T, path, motif_id, motif_line)
        blocks.append((motif_id, alt or motif_id, pfm, nsites, motif_line))
    return blocks


MEME_ROW_TOLERANCE = 0.02
"""A MEME letter-probability row may differ from 1 by this much (rounding to 2-3 decimals);
the row is then rescaled to sum 1. Beyond it the file is an error, never renormalised silently."""


def _read_meme(path: str | os.PathLike, text: str) -> list[Motif]:
    from Bio import motifs as bio_motifs

    blocks = _meme_blocks(path, text)
    try:
        record = bio_motifs.parse(io.StringIO(text), "minimal")
    except Exception as exc:  # Biopython raises ValueError/AssertionError/IndexError
        raise InputFormatError(f"malformed MEME file: {exc}", path=path) from None
    if len(record) != len(blocks):
        raise InputFormatError(
            f"Biopython reads {len(record)} motifs but the file has {len(blocks)} MOTIF blocks", path=path
        )
    result = []
    for bio, (motif_id, name, pfm, nsites, line) in zip(record, blocks):
        if bio.name != motif_id or bio.length != pfm.shape[1]:
            raise InputFormatError(
                f"inconsistent motif (Biopython: {bio.name!r}, width {bio.length})",
                path=path, record=motif_id, position=line,
            )
        result.append(Motif(name=name, id=motif_id, pfm=pfm, nsites=int(bio.num_occurrences or nsites)))
    return result


# --------------------------------------------------------------------------- JASPAR / TRANSFAC
def _read_counts_format(path: str | os.PathLike, text: str, fmt: str) -> list[Motif]:
    from Bio import motifs as bio_motifs

    try:
        if fmt == "pfm":
            records = [bio_motifs.read(io.StringIO(text), "pfm")]
        else:
            records = list(bio_motifs.parse(io.StringIO(text), fmt))
    except Exception as exc:  # Biopython raises ValueError/KeyError/IndexError on bad input
        raise InputFormatError(
            f"malformed {fmt.upper()} file: {exc}", path=path, record=_last_record_name(text, exc, fmt)
        ) from None
    result = []
    stem = Path(path).name.split(".")[0]
    for k, bio in enumerate(records):
        if fmt == "transfac":
            motif_id = bio.get("ID") or bio.get("AC") or f"motif{k + 1}"
            name = bio.get("NA") or motif_id
        else:
            motif_id = getattr(bio, "matrix_id", None) or (bio.name if fmt == "jaspar" else stem) or f"motif{k + 1}"
            name = bio.name or motif_id
        counts = bio.counts
        if set(counts.keys()) != set("ACGT"):
            raise InputFormatError(f"alphabet {''.join(sorted(counts))} is not ACGT", path=path, record=motif_id)
        matrix = np.array([counts[b] for b in "ACGT"], dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] == 0:
            raise InputFormatError("empty matrix", path=path, record=motif_id)
        totals = matrix.sum(axis=0)
        nsites = int(round(float(totals.max()))) if totals.max() > 1.5 else None
        result.append(Motif(name=str(name), id=str(motif_id), pfm=_normalise(matrix, path, str(motif_id), None), nsites=nsites))
    return result


def _last_record_name(text: str, exc: Exception, fmt: str) -> str | None:
    """Best guess of the motif a parse error belongs to: the last header line before a bad value."""
    bad = None
    msg = str(exc)
    m = re.search(r"'([^']+)'", msg)
    if m:
        bad = m.group(1)
    name = None
    for line in text.splitlines():
        s = line.strip()
        if fmt in ("jaspar",) and s.startswith(">"):
            name = s[1:].split()[0] if s[1:].split() else None
        elif fmt == "transfac" and s.startswith(("ID", "AC")) and len(s.split()) > 1:
            name = s.split()[1]
        if bad is not None and bad in s.split() + [s]:
            return name
    return name if bad is None else None


def _normalise(matrix: np.ndarray, path: str | os.PathLike, motif_id: str, line: int | None) -> np.ndarray:
    """Check ``(4, w)`` non-negative finite values and scale every column to sum 1."""
    if matrix.ndim != 2 or matrix.shape[0] != 4 or matrix.shape[1] == 0:
        raise InputFormatError("empty matrix", path=path, record=motif_id, position=line)
    if not np.isfinite(matrix).all() or (matrix < 0).any():
        raise InputFormatError("matrix holds negative or non-finite values", path=path, record=motif_id, position=line)
    totals = matrix.sum(axis=0)
    if (totals <= 0).any():
        col = int(np.argmax(totals <= 0))
        raise InputFormatError(f"matrix column {col + 1} is all zero", path=path, record=motif_id, position=line)
    return np.ascontiguousarray(matrix / totals, dtype=np.float64)


def write_meme(motifs: list[Motif], path: str | os.PathLike, *, background: np.ndarray | None = None) -> None:
    """Write motifs as a MEME (version 4) file that :func:`read_motifs` and the MEME suite read:
    DNA alphabet, both strands, ``background`` letter frequencies (default uniform), each
    motif's probabilities to 6 decimals with its ``nsites`` (20 when unknown). Atomic; ``-``
    is stdout."""
    from seqfcn.io.atomic import atomic_text

    bg = np.full(4, 0.25) if background is None else np.asarray(background, dtype=np.float64)
    with atomic_text(path) as fh:
        fh.write("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\nBackground letter frequencies\n")
        fh.write(" ".join(f"{b} {p:.6f}" for b, p in zip("ACGT", bg)) + "\n")
        for m in motifs:
            names = m.id if m.name in ("", m.id) else f"{m.id} {m.name}"
            fh.write(f"\nMOTIF {names}\nletter-probability matrix: alength= 4 w= {m.width} "
                     f"nsites= {m.nsites or _MEME_DEFAULT_NSITES} E= 0\n")
            for column in np.asarray(m.pfm, dtype=np.float64).T:
                fh.write(" ".join(f"{p:.6f}" for p in column) + "\n")
