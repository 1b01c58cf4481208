"""Genome access: an indexed FASTA (plain or bgzip) read through ``pysam.FastaFile``.

:class:`Genome` gives chromosome sizes, region fetches (case kept, so soft-masked
repeats stay lowercase) and one-hot regions ``(C, L)``. :func:`genome_summary`
counts bases per chromosome, :func:`parse_region` reads samtools-style regions.

Coordinates are 0-based half-open everywhere except in :func:`parse_region`'s
input, which is 1-based inclusive like ``samtools faidx``.
"""
from __future__ import annotations

import difflib
import logging
import os
import re
import tempfile
from pathlib import Path
from types import TracebackType

from typing import TYPE_CHECKING

import numpy as np
import pysam

from seqfcn.sequence.alphabet import DEFAULT_POLICY, EncodingPolicy, first_invalid
from seqfcn.sequence.encode import one_hot as _one_hot
from seqfcn.sequence.encode import to_codes
from seqfcn.errors import InputFormatError, RegionError, SeqfcnError, SequenceError
from seqfcn.io.faidx import EMPTY_RECORD, first_duplicate_name, first_empty_record, index_problem

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("seqfcn")

_GZIP_MAGIC = b"\x1f\x8b"
_SUMMARY_CHUNK = 1 << 23  # bases fetched at a time by genome_summary


def _is_bgzf(head: bytes) -> bool:
    """True when ``head`` starts a BGZF block (gzip with the ``BC`` extra subfield)."""
    return len(head) >= 16 and head[:2] == _GZIP_MAGIC and head[3] & 4 and head[12:14] == b"BC"


def _first_text(path: Path, head: bytes) -> bytes:
    """The first decompressed bytes of a (possibly gzip) file, for format checks."""
    if head[:2] == _GZIP_MAGIC:
        import zlib

        try:
            return zlib.decompressobj(31).decompress(head, 4096)
        except zlib.error:
            raise InputFormatError("corrupt gzip data at the start of the file", path=path) from None
    return head


def _gzi(path: Path) -> Path | None:
    """The ``.gzi`` beside a bgzip FASTA, None for a plain one."""
    gzi = Path(f"{path}.gzi")
    return gzi if gzi.exists() else None


def _check_fasta_file(path: Path) -> None:
    """Raise a clear error when ``path`` cannot be a (bgzip-)FASTA pysam can index."""
    if str(path) == "-":
        raise SeqfcnError("a genome must be a FASTA file (indexed, then read at random), not stdin; give its path",
                          path="-")
    if not path.exists():
        raise SeqfcnError("no such file", path=path)
    if path.is_dir():
        raise SeqfcnError("is a directory, expected a FASTA file", path=path)
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if head[:2] == _GZIP_MAGIC and not _is_bgzf(head):
        raise InputFormatError(
            "compressed with plain gzip, which cannot be indexed; recompress it with bgzip "
            "(zcat FILE | bgzip > NEW.fa.gz) or decompress it, then index with samtools faidx",
            path=path,
        )
    text = _first_text(path, head).lstrip()
    if not text:
        raise InputFormatError("empty file, expected a FASTA genome", path=path)
    if not text.startswith(b">"):
        shown = text[:20].decode("ascii", "replace").split("\n")[0]
        raise InputFormatError(f"not a FASTA file (starts with {shown!r}, expected '>')", path=path)


def _refuse_empty_record(path: Path) -> None:
    """Raise ``InputFormatError`` naming the first record of ``path`` without bases, if any:
    seqfcn neither drops such a record nor guesses its length."""
    empty = first_empty_record(path)
    if empty is not None:
        raise InputFormatError(f"record {empty[0]!r} at line {empty[1]} has no sequence; every record needs at "
                               "least one base", path=path)


def _build_index(path: Path) -> None:
    """Create ``path.fai`` (and ``.gzi`` for bgzip) with htslib, turning failures into one line.

    Raises:
        InputFormatError: htslib cannot index the file, or two records share a name (htslib
            would drop the second with only a warning; the half-made index is removed).
    """
    fai = Path(f"{path}.fai")
    if not os.access(path.parent, os.W_OK):
        raise SeqfcnError(
            f"no valid index {fai.name} and the directory is not writable; run `samtools faidx {path}` "
            "where you can write, or copy the FASTA to a writable directory",
            path=path,
        )
    # htslib reports why indexing failed only on stderr: catch that message for the error.
    with tempfile.TemporaryFile() as err:
        saved = os.dup(2)
        try:
            os.dup2(err.fileno(), 2)
            try:
                pysam.faidx(str(path))
                failure = None
            except (OSError, pysam.SamtoolsError) as exc:
                failure = str(exc)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        err.seek(0)
        detail = " ".join(err.read().decode("utf-8", "replace").split())
    duplicate = first_duplicate_name(detail)
    if duplicate is not None:
        fai.unlink(missing_ok=True)
        raise InputFormatError("two sequences have this name; names must be unique", path=path, record=duplicate)
    made = failure is None and fai.exists()
    if not made or (index_problem(path, fai, _gzi(path)) or "").startswith(EMPTY_RECORD):
        fai.unlink(missing_ok=True)  # the index this run made
        _refuse_empty_record(path)  # htslib cannot index it (last) or leaves it out (others)
        detail = re.sub(r"\[[EW]::\w+\]\s*", "", detail) or failure or "unknown error"
        raise InputFormatError(f"cannot index FASTA: {detail[:300]}", path=path)


def _ensure_index(path: Path, bgzf: bool) -> None:
    """Make sure ``path.fai`` (and ``.gzi``) exist and describe ``path``: a missing, stale or
    wrong index is rebuilt (:mod:`seqfcn.io.faidx` checks every record's offset and size)."""
    fai, gzi = Path(f"{path}.fai"), Path(f"{path}.gzi")
    if fai.exists() and (gzi.exists() or not bgzf):
        problem = index_problem(path, fai, gzi if bgzf else None)
        if problem is None:
            return
        if problem.startswith(EMPTY_RECORD):
            _refuse_empty_record(path)
        if not os.access(fai.parent, os.W_OK):
            raise InputFormatError(
                f"the index {fai.name} does not match the FASTA ({problem}) and the directory is not "
                f"writable; rebuild it with `samtools faidx {path}`",
                path=path,
            )
        log.warning("%s: %s does not match the FASTA (%s); rebuilding it", path, fai.name, problem)
        fai.unlink(missing_ok=True)
        if bgzf:
            gzi.unlink(missing_ok=True)
    _build_index(path)
    problem = index_problem(path, fai, gzi if bgzf else None)
    if problem is not None:
        raise InputFormatError(f"htslib's index does not match the file: {problem}", path=path)


class Genome:
    """An indexed FASTA genome (plain or bgzip-compressed) read through ``pysam.FastaFile``.

    The ``.fai`` index (and ``.gzi`` for bgzip) is created beside the file when
    missing, and checked against the FASTA when present (every record's header,
    offset and length, :mod:`seqfcn.io.faidx`): a stale or wrong index is rebuilt
    (an error when the directory is not writable). Two records with the same name
    are an error. ``len(genome)`` is the total length in bp over all chromosomes.

    Use as a context manager or call :meth:`close`. A Genome may be pickled or
    used after ``fork`` (e.g. in DataLoader workers): each process reopens the
    file itself. One Genome must not be shared between threads.

    Example::

        with Genome("hg38.fa") as g:
            x = g.one_hot("chr1", 10_000, 11_000)   # (4, 1000) float32
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        _check_fasta_file(self.path)
        with open(self.path, "rb") as fh:
            bgzf = _is_bgzf(fh.read(16))
        _ensure_index(self.path, bgzf)
        self._open()
        self._chrom_sizes = dict(zip(self._fasta.references, (int(n) for n in self._fasta.lengths)))

    def _open(self) -> None:
        try:
            self._fasta = pysam.FastaFile(str(self.path))
        except (OSError, ValueError) as exc:
            raise InputFormatError(f"cannot open indexed FASTA ({exc})", path=self.path) from None
        self._pid = os.getpid()

    def _handle(self) -> pysam.FastaFile:
        if self._fasta is None:
            raise ValueError(f"Genome {self.path} is closed")
        if self._pid != os.getpid():  # forked: never share htslib's file offset with the parent
            self._open()
        return self._fasta

    # ------------------------------------------------------------------ sizes
    @property
    def chrom_sizes(self) -> dict[str, int]:
        """Chromosome name → length in bp, in file order."""
        return dict(self._chrom_sizes)

    @property
    def chroms(self) -> list[str]:
        """Chromosome names in file order."""
        return list(self._chrom_sizes)

    def __len__(self) -> int:
        """Total length in bp of all chromosomes."""
        return sum(self._chrom_sizes.values())

    def __contains__(self, chrom: object) -> bool:
        return chrom in self._chrom_sizes

    # ------------------------------------------------------------------ fetch
    def _check_region(self, chrom: str, start: int, end: int | None) -> int:
        """Validate a region and return its end; raises RegionError naming the problem."""
        if chrom not in self._chrom_sizes:
            hint = difflib.get_close_matches(chrom, self._chrom_sizes, n=3)
            alt = chrom[3:] if chrom.startswith("chr") else f"chr{chrom}"
            if alt in self._chrom_sizes and alt not in hint:
                hint.insert(0, alt)
            more = f"; did you mean {', '.join(map(repr, hint))}?" if hint else ""
            raise RegionError(
                f"unknown chromosome ({len(self._chrom_sizes)} in the file){more}", path=self.path, record=chrom
            )
        length = self._chrom_sizes[chrom]
        end = length if end is None else end
        if start < 0:
            raise RegionError("region start is negative", path=self.path, record=chrom, position=start)
        if end > length:
            raise RegionError(
                f"region end is past the chromosome end ({length} bp)", path=self.path, record=chrom, position=end
            )
        if start > end:
            raise RegionError(f"region start is after its end {end}", path=self.path, record=chrom, position=start)
        return end

    def fetch(self, chrom: str, start: int = 0, end: int | None = None) -> str:
        """The sequence of ``chrom[start:end]`` (0-based half-open), case kept.

        Raises:
            RegionError: unknown chromosome, ``start < 0``, ``end`` past the chromosome
                end or ``start > end`` (the error gives the offending position).
        """
        start = int(start)
        end = self._check_region(chrom, start, None if end is None else int(end))
        if start == end:
            return ""
        return self._handle().fetch(chrom, start, end)

    def codes(self, chrom: str, start: int = 0, end: int | None = None) -> np.ndarray:
        """``(L,)`` int8 base codes of ``chrom[start:end]`` (0-3 = A, C, G, T; 4 for N and the
        other accepted characters, :data:`seqfcn.sequence.alphabet.SEQUENCE_CHARACTERS`).

        Raises:
            SequenceError: a character outside the accepted set, at its chromosome position.
        """
        seq = self.fetch(chrom, start, end)
        bad = first_invalid(seq)
        if bad is not None:
            raise SequenceError(f"invalid base character {seq[bad]!r} (accepted: IUPAC codes and '.')",
                                path=self.path, record=chrom, position=int(start) + bad)
        return to_codes(seq)

    def one_hot(
        self,
        chrom: str,
        start: int = 0,
        end: int | None = None,
        *,
        policy: EncodingPolicy = DEFAULT_POLICY,
        dtype: np.dtype | type = np.float32,
    ) -> np.ndarray:
        """One-hot encode ``chrom[start:end]`` as ``(C, L)`` (C = ``policy.channels``).

        An invalid character raises :class:`SequenceError` with the absolute
        chromosome position.
        """
        seq = self.fetch(chrom, start, end)
        try:
            return _one_hot(seq, policy=policy, dtype=dtype, name=chrom)
        except SequenceError as exc:
            pos = None if exc.position is None else int(start) + exc.position
            raise SequenceError(exc.message, path=self.path, record=chrom, position=pos) from None

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close the underlying file (idempotent)."""
        if getattr(self, "_fasta", None) is not None:
            self._fasta.close()
            self._fasta = None

    def __enter__(self) -> Genome:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __getstate__(self) -> dict:
        return {"path": self.path, "chrom_sizes": self._chrom_sizes}

    def __setstate__(self, state: dict) -> None:
        self.path = state["path"]
        self._chrom_sizes = state["chrom_sizes"]
        self._open()

    def __repr__(self) -> str:
        return f"Genome({str(self.path)!r}, {len(self._chrom_sizes)} chromosomes, {len(self)} bp)"


def _count_bytes(genome: Genome, chrom: str, length: int) -> np.ndarray:
    """``(256,)`` int64 counts of each byte value in one chromosome, fetched in chunks."""
    counts = np.zeros(256, dtype=np.int64)
    for start in range(0, length, _SUMMARY_CHUNK):
        seq = genome.fetch(chrom, start, min(start + _SUMMARY_CHUNK, length))
        counts += np.bincount(np.frombuffer(seq.encode("ascii", "replace"), dtype=np.uint8), minlength=256)
    return counts


SUMMARY_COLUMNS = ("chrom", "length", "A", "C", "G", "T", "N", "other", "gc", "soft_masked")
"""Columns of :func:`genome_summary` (keys of :func:`genome_composition`'s rows)."""


def genome_summary(path: str | os.PathLike | Genome) -> pd.DataFrame:
    """Base composition per chromosome, one row each in file order (:data:`SUMMARY_COLUMNS`).

    Columns: ``chrom``, ``length``, ``A``, ``C``, ``G``, ``T``, ``N`` (counts, case
    ignored), ``other`` (any other character, e.g. IUPAC R/Y), ``gc`` (the fraction
    (G + C) / (A + C + G + T), NaN when there are no A/C/G/T) and ``soft_masked``
    (lowercase letters).
    """
    import pandas as pd

    return pd.DataFrame(genome_composition(path), columns=list(SUMMARY_COLUMNS))


def genome_composition(path: str | os.PathLike | Genome) -> list[dict]:
    """:func:`genome_summary`'s rows as dicts (no pandas: ``seqfcn info`` starts fast)."""
    genome = path if isinstance(path, Genome) else Genome(path)
    try:
        rows = []
        for chrom, length in genome.chrom_sizes.items():
            counts = _count_bytes(genome, chrom, length)
            folded = counts[ord("A") : ord("Z") + 1] + counts[ord("a") : ord("z") + 1]
            base = {b: int(folded[ord(b) - ord("A")]) for b in "ACGTN"}
            acgt = base["A"] + base["C"] + base["G"] + base["T"]
            rows.append(
                {
                    "chrom": chrom,
                    "length": length,
                    **base,
                    "other": length - acgt - base["N"],
                    "gc": (base["G"] + base["C"]) / acgt if acgt else float("nan"),
                    "soft_masked": int(counts[ord("a") : ord("z") + 1].sum()),
                }
            )
    finally:
        if genome is not path:
            genome.close()
    return rows


_REGION = re.compile(r"^(?P<chrom>.+?)(?::(?P<start>[\d,]+)(?:-(?P<end>[\d,]+))?)?$")


def parse_region(region: str) -> tuple[str, int, int | None]:
    """Parse a samtools-style region into ``(chrom, start, end)``, 0-based half-open.

    The text is 1-based inclusive like ``samtools faidx``: ``"chr1:100-200"`` →
    ``("chr1", 99, 200)``; ``"chr1:100"`` → ``("chr1", 99, None)`` (to the end);
    ``"chr1"`` → ``("chr1", 0, None)``. Commas in numbers are allowed
    (``"chr1:1,000-2,000"``). ``end=None`` means the chromosome end.

    Raises:
        RegionError: unparsable text, a start below 1 or an end before the start.
    """
    text = region.strip()
    match = _REGION.match(text)
    if not text or match is None:
        raise RegionError(f"cannot parse region {region!r} (expected CHROM, CHROM:START or CHROM:START-END)")
    chrom = match["chrom"]
    if match["start"] is None:
        return chrom, 0, None
    start = int(match["start"].replace(",", ""))
    if start < 1:
        raise RegionError(f"region {region!r} starts before 1 (regions are 1-based)", record=chrom, position=start)
    if match["end"] is None:
        return chrom, start - 1, None
    end = int(match["end"].replace(",", ""))
    if end < start:
        raise RegionError(f"region {region!r} ends before it starts", record=chrom, position=end)
    return chrom, start - 1, end
