"""Read streams: FASTQ/FASTA (plain or gzip) and SAM/BAM/CRAM in, FASTQ/FASTA/SAM/BAM out.

:func:`read_reads` yields :class:`Read` objects in file order. Formats are read
with pysam (``pysam.FastxFile`` and ``pysam.AlignmentFile``); the format is taken
from the file's first bytes (``fmt=`` forces one), so ``-`` (stdin) works too.

Orientation: reads from alignment files keep the SAM convention — ``sequence``,
``qualities``, ``ref_bases`` and ``ref_positions`` are in reference orientation
(a reverse-strand read is stored reverse-complemented; see :attr:`Read.is_reverse`).
The FASTQ writer restores the sequencing orientation, like ``samtools fastq``.

Writers are atomic: they write a temporary file in the output's directory and
rename it over the output on a successful close; on an exception inside
``with`` the temporary file is removed and no output appears. ``-`` writes to
stdout (no rename).
"""
from __future__ import annotations

import gzip
import logging
import os
import re
import sys
import threading
import zlib
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import pysam

from seqfcn.errors import InputFormatError, SeqfcnError, SequenceError
from seqfcn.io.fasta import Genome
from seqfcn.io.htslib import quiet_records
from seqfcn.sequence.alphabet import first_invalid

log = logging.getLogger("seqfcn")

READ_FORMATS = ("fastq", "fasta", "sam", "bam", "cram")
"""Formats :func:`read_reads` understands (``fmt=`` values)."""

_GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 1 << 16
_REF_BLOCK = 1 << 16  # reference bases fetched at a time (sorted input reuses a block; unsorted stays cheap)
_SAM_HEADER = re.compile(rb"^@(HD|SQ|RG|PG|CO)\t")
# CIGAR operations: M I D N S H P = X
_CONSUMES_QUERY_AND_REF = (0, 7, 8)
_INSERTION, _SOFT_CLIP, _DELETION, _SKIP = 1, 4, 2, 3


@dataclass
class Read:
    """One sequencing read.

    Attributes:
        name: read name (FASTQ header up to the first space; SAM QNAME).
        sequence: the bases, ``L`` characters (as stored: reverse-strand alignments are
            reverse-complemented, see :attr:`is_reverse`).
        qualities: ``(L,)`` uint8 Phred scores, or None (FASTA reads, SAM QUAL ``*``).
        comment: the FASTQ/FASTA header after the first space ("" for alignments).
        ref_bases: aligned reads only: ``L`` characters, the upper-case reference base
            under each read base, ``-`` where the read base is an insertion, ``.`` where it
            is soft-clipped. None for unmapped reads or when no reference is known.
        ref_positions: aligned reads only: ``(L,)`` int64 0-based reference position of
            each read base, -1 for insertions and soft clips. None for unmapped reads.
        reference_name: the chromosome a mapped read aligns to, else None.
        segment: the original ``pysam.AlignedSegment`` (alignment files only), so that
            writers keep flags, tags and mate information.
    """

    name: str
    sequence: str
    qualities: np.ndarray | None = None
    comment: str = ""
    ref_bases: str | None = None
    ref_positions: np.ndarray | None = None
    reference_name: str | None = None
    segment: pysam.AlignedSegment | None = field(default=None, repr=False, compare=False)

    @property
    def is_reverse(self) -> bool:
        """True for an alignment on the reverse strand (stored reverse-complemented)."""
        return self.segment is not None and self.segment.is_reverse


# --------------------------------------------------------------------------- format detection
def _inflate_head(head: bytes, label: str) -> bytes:
    """Decompress the start of gzip data (as much as ``head`` holds). Damage after the first
    bytes (e.g. a bad CRC at the end of a small file) is left to the reader, which names the
    complete records before it."""
    error = None
    for data in (head, head[:-8]):  # then without a gzip trailer: a file that fits in ``head``
        inflater, out = zlib.decompressobj(31), b""
        try:
            for at in range(0, len(data), 1024):
                out += inflater.decompress(data[at:at + 1024], HEAD_BYTES - len(out))
                if len(out) >= HEAD_BYTES or inflater.eof:
                    break
            return out
        except zlib.error as exc:
            if out:
                return out
            error = error or exc
    raise InputFormatError(f"corrupt gzip data at the start of the file ({error})", path=label) from None


def sniff_format(head: bytes, label: str) -> str:
    """The read format of a file from its first bytes (one of :data:`READ_FORMATS`)."""
    if head.startswith(b"CRAM"):
        return "cram"
    if head[:2] == _GZIP_MAGIC:
        head = _inflate_head(head, label)
        if head.startswith(b"BAM\x01"):
            return "bam"
    text = head.lstrip(b"\r\n")
    if not text:
        return "fastq"  # empty: no reads
    first = text.split(b"\n", 1)[0]
    if _SAM_HEADER.match(first) or first.count(b"\t") >= 10:
        return "sam"
    if text[:1] == b"@":
        return "fastq"
    if text[:1] == b">":
        return "fasta"
    shown = first[:20].decode("ascii", "replace")
    raise InputFormatError(f"not a FASTQ, FASTA, SAM, BAM or CRAM file (starts with {shown!r})", path=label)


def check_format(fmt: str | None) -> str | None:
    if fmt is None:
        return None
    low = fmt.lower()
    if low not in READ_FORMATS:
        raise SeqfcnError(f"unknown read format {fmt!r} (expected one of {', '.join(READ_FORMATS)})")
    return low


class _StdinPipe:
    """Stdin, with its first bytes peeked for format detection and the whole stream
    re-offered to htslib through a pipe (``/dev/fd/N``) fed by a thread."""

    def __init__(self) -> None:
        fd = sys.stdin.fileno()
        chunks, size = [], 0
        while size < HEAD_BYTES:
            chunk = os.read(fd, HEAD_BYTES - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        self.head = b"".join(chunks)
        self._read_fd, write_fd = os.pipe()
        self._thread = threading.Thread(target=self._pump, args=(fd, write_fd), daemon=True)
        self._thread.start()

    def _pump(self, src: int, dest: int) -> None:
        try:
            data = self.head
            while data:
                view = memoryview(data)
                while view:
                    view = view[os.write(dest, view) :]
                data = os.read(src, 1 << 16)
        except OSError:  # the reader closed the pipe early (BrokenPipeError) or stdin failed
            pass
        finally:
            os.close(dest)

    @property
    def path(self) -> str:
        return f"/dev/fd/{self._read_fd}"

    def close(self) -> None:
        if self._read_fd >= 0:
            os.close(self._read_fd)
            self._read_fd = -1


# --------------------------------------------------------------------------- FASTQ / FASTA
PHRED_OFFSETS = (33, 64)


def detect_quality_offset(head: bytes) -> int:
    """The FASTQ quality encoding (33 or 64) judged from the first (decompressed) bytes.

    Phred+64 (Illumina 1.3-1.7) when every quality character of the complete records
    in ``head`` is ``@`` (64) or above and some are above ``J`` (74, the highest
    Phred+33 Illumina value); otherwise Phred+33. Phred+33 data whose every base in
    the first 64 kB is Q31 or better *and* Q42+ somewhere would be misjudged: declare
    the encoding then (``phred=33``, ``--phred33``).
    """
    lines = head.split(b"\n")
    quals = [
        lines[i + 1].rstrip(b"\r")
        for i in range(2, len(lines) - 1)
        if lines[i].startswith(b"+") and lines[i - 2].startswith(b"@")
        and len(lines[i + 1].rstrip(b"\r")) == len(lines[i - 1].rstrip(b"\r"))
        and (i + 2 < len(lines))  # the record is complete in head
    ]
    data = b"".join(quals)
    if data and min(data) >= 64 and max(data) > 74:
        return 64
    return 33


def _open_bytes(path: str):
    """A binary line reader over a plain or gzip file."""
    with open(path, "rb") as fh:
        gz = fh.read(2) == _GZIP_MAGIC
    return gzip.open(path, "rb") if gz else open(path, "rb")


def _fastq_problem(path: str, label: str) -> InputFormatError | None:
    """Read a FASTQ file strictly (4-line records, or wrapped sequence and quality) and name
    the first thing wrong: the record, its line, and what was expected. None if all is well."""
    def err(msg: str, record: str | None) -> InputFormatError:
        return InputFormatError(msg, path=label, record=record)

    count, name, done, line_no = 0, None, None, 0
    try:
        with _open_bytes(path) as fh:
            line = fh.readline()
            line_no = 1
            while line:
                if not line.strip():
                    line, line_no = fh.readline(), line_no + 1
                    continue
                start = line_no
                if not line.startswith(b"@"):
                    return err(f"line {line_no}: expected a '@' header line, found {line[:30].strip()!r}"[:200], None)
                name = line[1:].split(None, 1)[0].decode("utf-8", "replace") if line[1:].strip() else ""
                what = f"record #{count + 1} (line {start})"
                seq = b""
                line, line_no = fh.readline(), line_no + 1
                while line and not line.startswith(b"+"):
                    piece = line.rstrip(b"\r\n")
                    if line.startswith(b"@") or (seq and first_invalid(piece) is not None):
                        return err(f"{what}: expected the '+' line after the sequence at line {line_no}, "
                                   f"found {piece[:30].decode('ascii', 'replace')!r}", name)
                    seq += piece
                    line, line_no = fh.readline(), line_no + 1
                if not line:
                    return err(f"{what}: the file ends before the '+' line", name)
                qual = b""
                line, line_no = fh.readline(), line_no + 1
                while line and len(qual) < len(seq):
                    qual += line.rstrip(b"\r\n")
                    line, line_no = fh.readline(), line_no + 1
                    if len(qual) < len(seq) and line.startswith(b"@"):
                        break
                if len(qual) != len(seq):
                    return err(f"{what}: the sequence has {len(seq)} bases but the quality string has "
                               f"{len(qual)} characters", name)
                count, done = count + 1, name
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        after = f" (the last one {done!r})" if done else ""
        return err(_gzip_damage(exc, count, after), None)
    return None


def _gzip_damage(exc: BaseException, count: int, after: str) -> str:
    """Where gzip data is damaged, in words: a bad checksum or length is only found at the end of
    the data (every record was read, some may be wrong); anything else after ``count`` records."""
    if isinstance(exc, gzip.BadGzipFile) and str(exc).startswith(("CRC check failed", "Incorrect length")):
        return f"corrupt gzip data at the end of the file ({exc}): the records decompress but do not match " \
            "their checksum, so some are damaged"
    return f"truncated or corrupt gzip data after {count} complete records{after}: {exc}"


def _diagnose_fastx(path: str, label: str, fmt: str, good: int, last: str | None, exc: Exception) -> InputFormatError:
    """Explain why pysam stopped parsing: re-read the file strictly to name the record and the line."""
    where = f"record #{good + 1}" + (f" (after {last!r})" if last else "")
    detail = str(exc).replace(f" in {path}", "").replace(f" parsing {path}", "")
    if "unknown problem" in detail:
        detail = "cannot parse (truncated or corrupt data)"
    if path.startswith("/dev/fd/"):  # stdin cannot be read again
        return InputFormatError(f"{where}: {detail}", path="-")
    if fmt == "fastq":
        return _fastq_problem(path, label) or InputFormatError(f"{where}: {detail}", path=label)
    from Bio.SeqIO.FastaIO import SimpleFastaParser

    count = 0
    try:
        with gzip.open(path, "rt") if _is_gzip(path) else open(path) as handle:
            for _ in SimpleFastaParser(handle):
                count += 1
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        return InputFormatError(_gzip_damage(err, count, ""), path=label)
    except ValueError as err:
        return InputFormatError(f"record #{count + 1}: {err}", path=label)
    except UnicodeDecodeError as err:
        return InputFormatError(f"{where}: non-text byte {err.object[err.start:err.start + 1]!r}", path=label)
    return InputFormatError(f"{where}: {detail}", path=label)


def _is_gzip(path: str) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == _GZIP_MAGIC


def _check_bases(seq: str, label: str, name: str, good: int) -> None:
    bad = first_invalid(seq)
    if bad is not None:
        raise SequenceError(
            f"invalid base character {seq[bad]!r} (record #{good}; accepted: IUPAC codes in either case and "
            "'.' for no-call)",
            path=label, record=name, position=bad,
        )


_QUALITY_BYTES = {offset: bytes(range(offset, 127)) for offset in PHRED_OFFSETS}


def _qualities(qual: str, phred: int, label: str, name: str, good: int) -> np.ndarray:
    """``(L,)`` uint8 Phred scores of a quality string in the Phred+``phred`` encoding."""
    if not qual:
        return np.zeros(0, np.uint8)
    if not qual.isascii():
        raise InputFormatError(f"non-ASCII quality character (record #{good})", path=label, record=name)
    data = qual.encode("ascii")
    raw = np.frombuffer(data, dtype=np.uint8)
    if data.translate(None, _QUALITY_BYTES[phred]):  # some byte outside phred..126 (a C-speed test)
        bad = int(np.argmax((raw < phred) | (raw > 126)))
        hint = "; the file is Phred+33: drop --phred64" if phred == 64 else ""
        raise InputFormatError(
            f"quality character {qual[bad]!r} is outside the Phred+{phred} range (record #{good}){hint}",
            path=label, record=name, position=bad,
        )
    return raw - np.uint8(phred)


def _iter_fastx(source: str, label: str, fmt: str, phred: int) -> Iterator[Read]:
    good, last = 0, None
    try:
        with pysam.FastxFile(source, persist=False) as fh:
            for entry in quiet_records(fh):
                name, seq, qual = entry.name, entry.sequence, entry.quality
                good += 1
                qualities = None
                if qual is not None:
                    if len(qual) != len(seq):
                        raise _diagnose_fastx(source, label, fmt, good - 1, last,
                                              ValueError(f"quality length {len(qual)} differs from sequence "
                                                         f"length {len(seq)}"))
                    qualities = _qualities(qual, phred, label, name, good)
                elif fmt == "fastq":
                    if seq:  # no '+' line: htslib read the qualities as more sequence
                        raise _diagnose_fastx(source, label, fmt, good - 1, last, ValueError("missing '+' line"))
                    qualities = np.zeros(0, np.uint8)  # an empty read (trimmers write them)
                _check_bases(seq, label, name, good)
                last = name
                yield Read(name=name, sequence=seq, qualities=qualities, comment=entry.comment or "")
    except (OSError, ValueError) as exc:
        raise _diagnose_fastx(source, label, fmt, good, last, exc) from None
    if fmt == "fastq" and _lines_of_plain_file(source) not in (None, 4 * good):
        # htslib reads wrapped FASTQ: a short quality line swallows the next record(s) without
        # an error (quality "III" + "@next" + ...). Not 4 lines per record: check strictly.
        problem = _fastq_problem(source, label)
        if problem is not None:
            raise problem


def _lines_of_plain_file(path: str) -> int | None:
    """Number of lines of an uncompressed regular file (None for pipes and gzip files)."""
    try:
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as fh:
            if fh.read(2) == _GZIP_MAGIC:
                return None
            fh.seek(0)
            n, tail = 0, b""
            for block in iter(lambda: fh.read(1 << 22), b""):
                n, tail = n + block.count(b"\n"), block[-1:]
    except OSError:
        return None
    return n + (tail not in (b"", b"\n"))


# --------------------------------------------------------------------------- SAM / BAM / CRAM
class _ReferenceWindow:
    """Upper-case reference bases for reads, fetched from a Genome in blocks of 64 kb."""

    def __init__(self, genome: Genome) -> None:
        self.genome = genome
        self._sizes = genome.chrom_sizes
        self._chrom: str | None = None
        self._start = self._end = 0
        self._raw = b""
        self._bases = np.empty(0, dtype=np.uint8)

    def __contains__(self, chrom: str) -> bool:
        return chrom in self._sizes

    def size(self, chrom: str) -> int:
        return self._sizes[chrom]

    def _load(self, chrom: str, start: int, end: int) -> None:
        if chrom != self._chrom or start < self._start or end > self._end:
            block_end = min(self._sizes[chrom], max(end, start + _REF_BLOCK))
            self._raw = self.genome.fetch(chrom, start, block_end).upper().encode("ascii")
            self._bases = np.frombuffer(self._raw, dtype=np.uint8)
            self._chrom, self._start, self._end = chrom, start, block_end

    def bases(self, chrom: str, start: int, end: int) -> np.ndarray:
        """``(end - start,)`` uint8 upper-case reference bases of ``chrom[start:end]``."""
        self._load(chrom, start, end)
        return self._bases[start - self._start : end - self._start]

    def text(self, chrom: str, start: int, end: int) -> str:
        """Upper-case reference text of ``chrom[start:end]``."""
        self._load(chrom, start, end)
        return self._raw[start - self._start : end - self._start].decode("ascii")


def _cigar_layout(segment: pysam.AlignedSegment, length: int, label: str) -> tuple[np.ndarray, np.ndarray]:
    """``(ref_positions, codes)``: ``(L,)`` int64 positions (-1 off-reference) and ``(L,)`` uint8
    characters pre-filled with ``-`` (insertion) and ``.`` (soft clip)."""
    positions = np.full(length, -1, dtype=np.int64)
    codes = np.full(length, ord("-"), dtype=np.uint8)
    q, r = 0, segment.reference_start
    for op, n in segment.cigartuples:
        if op in _CONSUMES_QUERY_AND_REF:
            positions[q : q + n] = np.arange(r, r + n)
            q += n
            r += n
        elif op == _INSERTION:
            q += n
        elif op == _SOFT_CLIP:
            codes[q : q + n] = ord(".")
            q += n
        elif op in (_DELETION, _SKIP):
            r += n
    if q != length:
        raise InputFormatError(
            f"CIGAR {segment.cigarstring} covers {q} bases but the read has {length}",
            path=label,
            record=segment.query_name,
        )
    return positions, codes


def _reference_window(
    window: _ReferenceWindow, read: Read, chrom: str, start: int, end: int, label: str
) -> _ReferenceWindow:
    """Check that ``chrom[start:end]`` lies in the reference (errors name the read)."""
    if chrom not in window:
        raise InputFormatError(
            f"aligned to {chrom!r}, which is not in the reference {window.genome.path}", path=label, record=read.name
        )
    if end > window.size(chrom):
        raise InputFormatError(
            f"aligned to {chrom}:{start}-{end}, past the end of {chrom} in {window.genome.path}",
            path=label,
            record=read.name,
        )
    return window


def _from_segment(segment: pysam.AlignedSegment, window: _ReferenceWindow | None, label: str) -> Read:
    seq = segment.query_sequence or ""
    quals = segment.query_qualities
    # copy: pysam caches the array, and in-place edits must not leak into the record
    qualities = None if quals is None or not seq else np.array(quals, dtype=np.uint8)
    read = Read(name=segment.query_name or "", sequence=seq, qualities=qualities, segment=segment)
    cigar = segment.cigartuples
    if segment.is_unmapped or not cigar or not seq:
        return read
    chrom, start, length = segment.reference_name, segment.reference_start, len(seq)
    read.reference_name = chrom
    if len(cigar) == 1 and cigar[0][0] in _CONSUMES_QUERY_AND_REF and cigar[0][1] == length:
        # the common case, a gapless alignment: no per-base work
        read.ref_positions = np.arange(start, start + length, dtype=np.int64)
        if window is not None:
            _reference_window(window, read, chrom, start, start + length, label)
            read.ref_bases = window.text(chrom, start, start + length)
            return read
        if not segment.has_tag("MD"):
            return read
    positions, codes = _cigar_layout(segment, length, label)
    read.ref_positions = positions
    aligned = positions >= 0
    if window is not None:
        end = segment.reference_end
        ref = _reference_window(window, read, chrom, start, end, label).bases(chrom, start, end)
        codes[aligned] = ref[positions[aligned] - start]
    elif segment.has_tag("MD"):
        try:
            pairs = segment.get_aligned_pairs(matches_only=True, with_seq=True)
        except (ValueError, AssertionError) as exc:
            raise InputFormatError(f"bad MD tag: {exc}", path=label, record=read.name) from None
        qpos = np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs))
        text = "".join(p[2] for p in pairs).upper()
        codes[qpos] = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    else:
        return read
    read.ref_bases = codes.tobytes().decode("ascii")
    return read


def _check_reference(header: pysam.AlignmentHeader, genome: Genome, label: str) -> None:
    """Chromosomes named in both the header and the reference must have the same length."""
    sizes = genome.chrom_sizes
    for name, length in zip(header.references, header.lengths):
        if name in sizes and sizes[name] != length:
            raise InputFormatError(
                f"reference {genome.path} does not match the header: {name} is {sizes[name]} bp there, "
                f"{length} bp in the header",
                path=label,
            )


def _iter_alignments(
    source: str, label: str, fmt: str, reference: str | os.PathLike | None, primary_only: bool
) -> Iterator[Read]:
    if fmt == "cram" and reference is None:
        raise SeqfcnError("reading CRAM needs the reference FASTA (reference=...)", path=label)
    genome = Genome(reference) if reference is not None else None
    mode = {"sam": "r", "bam": "rb", "cram": "rc"}[fmt]
    verbosity = None
    unknown = _unknown_reference(source) if fmt == "sam" else None
    if unknown is not None:
        # htslib would warn "unrecognized reference name" for every such record (art_illumina's
        # SAM has millions); the reads are read all the same, as unmapped
        log.warning("%s: reference %r of the records is not in the @SQ lines; their positions are ignored",
                    label, unknown)
        verbosity = pysam.set_verbosity(0)
    try:
        try:
            handle = pysam.AlignmentFile(
                source,
                mode,
                check_sq=False,
                reference_filename=str(reference) if fmt == "cram" else None,
            )
        except (OSError, ValueError) as exc:
            raise InputFormatError(f"cannot open as {fmt.upper()}: {exc}", path=label) from None
        finished = False
        try:
            window = None
            if genome is not None:
                _check_reference(handle.header, genome, label)
                window = _ReferenceWindow(genome)
            good, last = 0, None
            records = quiet_records(handle.fetch(until_eof=True))  # a damaged block: our one line only
            while True:
                try:
                    segment = next(records)
                except StopIteration:
                    break
                except (OSError, ValueError) as exc:
                    where = f"record #{good + 1}" + (f" (after {last!r})" if last else "")
                    raise InputFormatError(f"{where}: {exc}", path=label) from None
                good += 1
                last = segment.query_name
                if primary_only and (segment.is_secondary or segment.is_supplementary):
                    continue
                yield _from_segment(segment, window, label)
            finished = True
        finally:
            try:
                handle.close()
            except OSError as exc:  # only worth reporting when nothing else went wrong
                if finished:
                    raise InputFormatError(f"error at the end of the file: {exc}", path=label) from None
    finally:
        if verbosity is not None:
            pysam.set_verbosity(verbosity)
        if genome is not None:
            genome.close()


def _unknown_reference(source: str) -> str | None:
    """The first record's reference name when the SAM header's ``@SQ`` lines lack it (art_illumina
    puts the whole FASTA header in ``SN``, the first word in ``RNAME``); else None. Stdin,
    compressed and unreadable files are not looked into."""
    if source == "-":
        return None
    names = set()
    try:
        with open(source, "rb") as fh:
            if fh.read(2) == b"\x1f\x8b":
                return None
            fh.seek(0)
            for line in fh:
                if line.startswith(b"@SQ"):
                    names.update(f[3:] for f in line.rstrip(b"\r\n").split(b"\t") if f.startswith(b"SN:"))
                elif not line.startswith(b"@"):
                    fields = line.split(b"\t")
                    rname = fields[2] if len(fields) > 2 else b"*"
                    return None if rname == b"*" or rname in names or not names else rname.decode("ascii", "replace")
    except OSError:
        return None
    return None


def read_reads(
    path: str | os.PathLike,
    *,
    reference: str | os.PathLike | None = None,
    fmt: str | None = None,
    primary_only: bool = False,
    phred: int | None = None,
) -> "ReadStream":
    """Stream the reads of a FASTQ/FASTA (plain or gzip) or SAM/BAM/CRAM file in file order.

    Args:
        path: the file, or ``"-"`` for stdin.
        reference: FASTA of the reference: needed for CRAM, and gives
            :attr:`Read.ref_bases` for alignments. Without it ``ref_bases`` comes from
            the MD tag when the record has one, else it is None.
        fmt: force a format (one of :data:`READ_FORMATS`); default: detected from the
            first bytes of the data.
        primary_only: for alignment files, skip secondary and supplementary records
            (unmapped reads are always kept).
        phred: FASTQ quality encoding, 33 or 64; None detects it from the first 64 kB
            (:func:`detect_quality_offset`). :attr:`Read.qualities` are always Phred
            scores; the stream's ``phred`` attribute tells the encoding, for writers.

    Returns:
        A :class:`ReadStream`: an iterator of :class:`Read` objects: every record, unmapped ones included, in
        file order. The file is checked and its format detected at the call; records
        are parsed lazily.

    Raises:
        InputFormatError: not a read file, a truncated/corrupt file, or a malformed
            record (named with its number and, when known, its read name).
    """
    fmt = check_format(fmt)
    if phred is not None and phred not in PHRED_OFFSETS:
        raise SeqfcnError(f"quality offset must be 33 or 64, not {phred}")
    label = str(path)
    stream = ReadStream(label, reference, fmt, primary_only, phred)
    if label != "-":
        if not os.path.exists(label):
            raise SeqfcnError("no such file", path=label)
        if os.path.isdir(label):
            raise SeqfcnError("is a directory, expected a read file", path=label)
        with open(label, "rb") as fh:
            stream.sniff(fh.read(HEAD_BYTES))
        if stream.fmt == "cram" and reference is None:
            raise SeqfcnError("reading CRAM needs the reference FASTA (reference=...)", path=label)
    if reference is not None and not os.path.exists(reference):
        raise SeqfcnError("no such file (reference FASTA)", path=reference)
    return stream


class ReadStream:
    """The iterator :func:`read_reads` returns: :class:`Read` objects in file order.

    ``fmt`` is the detected format and ``phred`` the FASTQ quality offset (33 or 64);
    for stdin both are known once the first read has been taken.
    """

    def __init__(self, label: str, reference: str | os.PathLike | None, fmt: str | None, primary_only: bool,
                 phred: int | None) -> None:
        self.label, self.reference, self.fmt, self.primary_only = label, reference, fmt, primary_only
        self.phred = phred
        self._declared = phred is not None
        self._gen = self._run()

    def sniff(self, head: bytes) -> None:
        """Take the format (unless forced) and the quality offset (unless declared) from the first bytes."""
        self.fmt = self.fmt or sniff_format(head, self.label)
        if self.phred is None:
            text = _inflate_head(head, self.label) if head[:2] == _GZIP_MAGIC else head
            self.phred = detect_quality_offset(text) if self.fmt == "fastq" else 33
            if self.phred == 64:
                log.info("%s: qualities are Phred+64 (detected; --phred33 says otherwise)", self.label)

    def __iter__(self) -> "ReadStream":
        return self

    def __next__(self) -> Read:
        return next(self._gen)

    def close(self) -> None:
        self._gen.close()

    def _run(self) -> Iterator[Read]:
        stdin = None
        source = self.label
        try:
            if self.label == "-":
                stdin = _StdinPipe()
                source = stdin.path
                self.sniff(stdin.head)
            if self.fmt in ("fastq", "fasta"):
                yield from _iter_fastx(source, self.label, self.fmt, self.phred)
            else:
                yield from _iter_alignments(source, self.label, self.fmt, self.reference, self.primary_only)
        finally:
            if stdin is not None:
                stdin.close()


# --------------------------------------------------------------------------- writers


