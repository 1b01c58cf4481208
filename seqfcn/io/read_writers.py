"""Read writers: FASTQ/FASTA (plain or gzip) and SAM/BAM out, atomically.

Every writer writes to a hidden temporary beside its output and renames it into place when
closed without error (:mod:`seqfcn.io.atomic`); ``-`` writes to stdout. FASTQ keeps the
input's quality encoding (Phred+33 or +64); SAM/BAM keep the template's header, with
seqfcn's @PG line added. :mod:`seqfcn.io.reads` reads what these write.
"""
from __future__ import annotations

import array
import copy
import os
import sys
from pathlib import Path
from types import TracebackType

import numpy as np
import pysam

from seqfcn.errors import InputFormatError, SeqfcnError, SequenceError
from seqfcn.io.atomic import publish, temporary_beside
from seqfcn.io.compress import ThreadedGzipWriter
from seqfcn.io.reads import HEAD_BYTES, PHRED_OFFSETS, Read, check_format, sniff_format
from seqfcn.sequence.encode import reverse_complement


class _AtomicFile:
    """A temporary path in the output's directory, renamed over the output on commit."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.final = Path(path)
        self.tmp = Path(temporary_beside(self.final, ".part"))

    def commit(self) -> None:
        publish(self.tmp, self.final)  # removes the temporary when it cannot be published

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)


def quality_string(qual: np.ndarray, offset: int = 33) -> bytes:
    """FASTQ/SAM quality text of Phred scores (Phred+``offset``; scores above ``126 - offset`` are capped)."""
    return (np.minimum(np.asarray(qual), 126 - offset).astype(np.uint8) + np.uint8(offset)).tobytes()


def format_from_name(path: str | os.PathLike) -> str | None:
    """Output format from a file name's extension, or None when it says nothing."""
    name = str(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for ext, fmt in ((".fastq", "fastq"), (".fq", "fastq"), (".fasta", "fasta"), (".fa", "fasta"),
                     (".fna", "fasta"), (".bam", "bam"), (".sam", "sam"), (".cram", "cram")):
        if name.endswith(ext):
            return fmt
    return None


class FastqWriter:
    """Write reads as FASTQ (Phred+33, or Phred+64 with ``phred=64``), or FASTA when
    ``fmt="fasta"`` / the name ends .fa/.fasta/.fna.

    gzip-compressed when the path ends ``.gz``; ``-`` writes plain text to stdout.
    Reverse-strand alignments are written in sequencing orientation
    (reverse-complemented back, qualities reversed), like ``samtools fastq``.
    Use as a context manager; the file appears only on a successful close.
    """

    _FLUSH = 1 << 20

    def __init__(self, path: str | os.PathLike, *, fmt: str | None = None, phred: int = 33) -> None:
        self.path = str(path)
        if phred not in PHRED_OFFSETS:
            raise SeqfcnError(f"quality offset must be 33 or 64, not {phred}")
        self.phred = int(phred)
        fmt = check_format(fmt) or format_from_name(path) or "fastq"
        if fmt not in ("fastq", "fasta"):
            raise SeqfcnError(f"FastqWriter writes FASTQ or FASTA, not {fmt}", path=self.path)
        self.fasta = fmt == "fasta"
        self._atomic = None if self.path == "-" else _AtomicFile(path)
        if self._atomic is None:
            self._raw = sys.stdout.buffer
            self._stream = self._raw
        else:
            self._raw = open(self._atomic.tmp, "wb")
            gz = self.path.lower().endswith(".gz")
            self._stream = ThreadedGzipWriter(self._raw) if gz else self._raw
        self._buffer = bytearray()
        self.count = 0
        self._closed = False

    def write(self, read: Read) -> None:
        """Append one read (its ``name``, ``comment``, ``sequence`` and ``qualities``)."""
        self.write_block(self.record(read), 1)

    def record(self, read: Read) -> bytes:
        """The text :meth:`write` appends for ``read``."""
        seq, qual = read.sequence, read.qualities
        if read.is_reverse:
            seq = reverse_complement(seq)
            qual = None if qual is None else qual[::-1]
        header = f"{read.name} {read.comment}" if read.comment else read.name
        if self.fasta:
            return f">{header}\n{seq}\n".encode("ascii")
        if qual is None:
            raise SequenceError(
                "read has no qualities; write FASTA (.fa) instead of FASTQ", path=self.path, record=read.name
            )
        if len(qual) != len(seq):
            raise SequenceError(
                f"quality length {len(qual)} differs from sequence length {len(seq)}",
                path=self.path,
                record=read.name,
            )
        return f"@{header}\n{seq}\n+\n".encode("ascii") + quality_string(qual, self.phred) + b"\n"

    def write_block(self, data: bytes | bytearray | memoryview, count: int) -> None:
        """Append ``count`` records already formatted as :meth:`record` formats them."""
        self._buffer += data
        self.count += count
        if len(self._buffer) >= self._FLUSH:
            self._flush()

    def _flush(self) -> None:
        self._stream.write(self._buffer)
        self._buffer.clear()

    def close(self) -> None:
        """Finish the file and move it into place; on a write error (disk full) nothing is
        published, the temporary is removed and a :class:`SeqfcnError` names the file."""
        if self._closed:
            return
        try:
            self._flush()
            if self._atomic is None:
                self._stream.flush()
                self._closed = True
                return
            if self._stream is not self._raw:
                self._stream.close()
            self._raw.close()
        except OSError as exc:
            self.abort()
            raise SeqfcnError(f"cannot write: {exc.strerror or exc}", path=self.path) from None
        except BaseException:
            self.abort()
            raise
        self._closed = True
        self._atomic.commit()

    def abort(self) -> None:
        """Drop everything written; no output file appears."""
        if self._closed:
            return
        self._closed = True
        if self._atomic is None:
            return
        try:
            if self._stream is not self._raw:
                self._stream.abort()
            self._raw.close()
        except OSError:  # e.g. the disk is full: the file is being discarded anyway
            pass
        finally:
            self._atomic.discard()

    def __enter__(self) -> FastqWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _header_dict(template: object) -> dict:
    """A SAM header as a dict from an AlignmentFile, AlignmentHeader, dict or alignment file path."""
    if isinstance(template, pysam.AlignmentFile):
        return template.header.to_dict()
    if isinstance(template, pysam.AlignmentHeader):
        return template.to_dict()
    if isinstance(template, dict):
        return copy.deepcopy(template)
    if isinstance(template, (str, os.PathLike)):
        label = str(template)
        if not os.path.exists(label):
            raise SeqfcnError("no such file (header template)", path=label)
        try:
            with pysam.AlignmentFile(label, check_sq=False) as fh:
                return fh.header.to_dict()
        except (OSError, ValueError) as exc:
            raise InputFormatError(f"cannot read a SAM/BAM header: {exc}", path=label) from None
    raise TypeError(f"cannot take a SAM header from {type(template).__name__}")


def _add_pg(header: dict, pg: dict) -> None:
    """Append an @PG line; a clashing ID gets a ``.N`` suffix, PP chains to the last @PG."""
    lines = header.setdefault("PG", [])
    entry = {k: str(v) for k, v in pg.items()}
    base = entry.get("ID") or entry.get("PN") or "seqfcn"
    taken = {line.get("ID") for line in lines}
    new_id, n = base, 0
    while new_id in taken:
        n += 1
        new_id = f"{base}.{n}"
    entry["ID"] = new_id
    if lines and "PP" not in entry and lines[-1].get("ID"):
        entry["PP"] = lines[-1]["ID"]
    lines.append(entry)


class BamWriter:
    """Write alignment records as BAM (default) or SAM (``.sam`` name or ``fmt="sam"``).

    Args:
        path: output file, or ``-`` for stdout.
        template_or_header: the input's ``pysam.AlignmentFile``, its ``AlignmentHeader``,
            a header dict, or the path of an alignment file whose header is copied.
        pg: fields of an @PG line to add (e.g. ``{"ID": "seqfcn", "PN": "seqfcn",
            "VN": "0.1", "CL": "seqfcn correct ..."}``).
        fmt: ``"bam"`` or ``"sam"``; default from the name (``-``: BAM).

    :meth:`write` writes the read's ``segment`` (modified in place) with the read's
    current sequence and qualities, so flags, tags and mate fields are kept; reads
    without a segment (from FASTQ) become unmapped records.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        template_or_header: object,
        *,
        pg: dict | None = None,
        fmt: str | None = None,
    ) -> None:
        self.path = str(path)
        fmt = check_format(fmt) or format_from_name(path) or "bam"
        if fmt not in ("bam", "sam"):
            raise SeqfcnError(f"BamWriter writes BAM or SAM, not {fmt}", path=self.path)
        header = _header_dict(template_or_header)
        if pg:
            _add_pg(header, pg)
        self._atomic = None if self.path == "-" else _AtomicFile(path)
        target = "-" if self._atomic is None else str(self._atomic.tmp)
        try:
            self._file = pysam.AlignmentFile(target, "wb" if fmt == "bam" else "wh", header=header)
        except (OSError, ValueError) as exc:
            if self._atomic is not None:
                self._atomic.discard()
            raise SeqfcnError(f"cannot write {fmt.upper()}: {exc}", path=self.path) from None
        self.count = 0
        self._closed = False

    @property
    def header(self) -> pysam.AlignmentHeader:
        """The header written (with the added @PG line)."""
        return self._file.header

    def _unmapped(self, read: Read) -> pysam.AlignedSegment:
        """An unmapped record for a read without one (from FASTQ): its comment goes to ``CO:Z``."""
        segment = pysam.AlignedSegment(self._file.header)
        segment.query_name = read.name
        segment.flag = 4
        segment.reference_id = -1
        segment.reference_start = -1
        segment.next_reference_id = -1
        segment.next_reference_start = -1
        if read.comment:
            segment.set_tag("CO", read.comment, "Z")
        return segment

    def write(self, read: Read) -> None:
        """Write one read: its ``segment`` with the read's sequence and qualities (a read
        without one becomes an unmapped record, its FASTQ comment in ``CO:Z``)."""
        segment = read.segment if read.segment is not None else self._unmapped(read)
        old_qual = segment.query_qualities
        new_qual = None if read.qualities is None else np.asarray(read.qualities, dtype=np.uint8)
        same_seq = (segment.query_sequence or "") == read.sequence
        same_qual = (old_qual is None and new_qual is None) or (
            old_qual is not None and new_qual is not None and bytes(old_qual) == new_qual.tobytes()
        )
        if not (same_seq and same_qual):
            if new_qual is not None and len(new_qual) != len(read.sequence):
                raise SequenceError(
                    f"quality length {len(new_qual)} differs from sequence length {len(read.sequence)}",
                    path=self.path,
                    record=read.name,
                )
            if read.segment is not None and segment.cigartuples and len(read.sequence) != segment.query_length:
                raise SequenceError(
                    f"new sequence length {len(read.sequence)} does not fit CIGAR {segment.cigarstring}",
                    path=self.path,
                    record=read.name,
                )
            segment.query_sequence = read.sequence or None  # resets the qualities
            if new_qual is not None:
                segment.query_qualities = array.array("B", new_qual.tobytes())
        self._file.write(segment)
        self.count += 1

    def close(self) -> None:
        """Finish the file and move it into place."""
        if self._closed:
            return
        self._closed = True
        self._file.close()
        if self._atomic is not None:
            self._atomic.commit()

    def abort(self) -> None:
        """Drop everything written; no output file appears."""
        if self._closed:
            return
        self._closed = True
        try:
            self._file.close()
        finally:
            if self._atomic is not None:
                self._atomic.discard()

    def __enter__(self) -> BamWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def open_read_writer(
    path: str | os.PathLike,
    like: str | os.PathLike | pysam.AlignmentHeader | dict,
    fmt: str | None = None,
    *,
    pg: dict | None = None,
    phred: int = 33,
) -> FastqWriter | BamWriter:
    """A writer for ``path``: FASTQ/FASTA or SAM/BAM.

    The format is ``fmt`` if given, else from ``path``'s extension (``.fq``, ``.fastq``,
    ``.fa``, ``.fasta``, ``.fna`` with optional ``.gz``; ``.bam``; ``.sam``), else (``-``
    or another name) the format of ``like``, the input reads (CRAM input → BAM).
    SAM/BAM output copies ``like``'s header (an alignment file path, an
    ``AlignmentHeader`` or a header dict; a FASTQ/FASTA ``like`` gives a minimal
    header for unmapped reads) and adds the ``pg`` @PG line. FASTQ qualities are
    written Phred+``phred`` (give the input's encoding, ``ReadStream.phred``).
    """
    like_is_file = isinstance(like, (str, os.PathLike)) and str(like) != "-"
    like_fmt = None
    if like_is_file:
        if not os.path.exists(like):
            raise SeqfcnError("no such file", path=like)
        with open(like, "rb") as fh:
            like_fmt = sniff_format(fh.read(HEAD_BYTES), str(like))
    elif isinstance(like, (pysam.AlignmentHeader, dict)):
        like_fmt = "bam"
    out_fmt = check_format(fmt) or format_from_name(path) or like_fmt or "fastq"
    if out_fmt == "cram":
        if fmt is not None or format_from_name(path) == "cram":
            raise SeqfcnError("writing CRAM is not supported; write BAM (.bam) or SAM (.sam)", path=path)
        out_fmt = "bam"
    if out_fmt in ("fastq", "fasta"):
        return FastqWriter(path, fmt=out_fmt, phred=phred)
    if like_fmt in ("fastq", "fasta"):
        template: object = {"HD": {"VN": "1.6", "SO": "unknown"}}
    elif like_fmt is None:
        raise SeqfcnError("SAM/BAM output needs a header: pass the input alignment file or its header", path=path)
    else:
        template = like
    return BamWriter(path, template, pg=pg, fmt=out_fmt)
