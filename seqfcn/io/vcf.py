"""VCF and BCF input for ``seqfcn variants``: records with their text and where they are.

A text VCF (plain, bgzip or plain gzip) is read line by line here rather than by htslib, so
every record keeps its text exactly (columns, sample values, INFO and FORMAT keys the header
does not declare) and an error names the file and the record's 1-based line. A BCF is read
with pysam (htslib's own ``[E::]``/``[W::]`` lines silenced; the error says it in seqfcn's
words) and rendered as VCF text; its errors name the record's number.

:func:`write_annotated` writes the records back with INFO fields added (``.vcf``, bgzip
``.vcf.gz``, or ``.bcf`` through pysam), declaring in the header the INFO, FORMAT, FILTER and
contig names the input used without declaring them.
"""
from __future__ import annotations

import contextlib
import gzip
import os
import re
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from seqfcn.errors import InputFormatError
from seqfcn.io.htslib import quiet_htslib

FIXED_COLUMNS = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
_DECLARED = re.compile(r"^##(INFO|FORMAT|FILTER|contig)=<(?:.*,)?ID=([^,>]+)")
_BASES = re.compile(r"^[ACGTNacgtn]+$")
_UNDECLARED = 'Description="not declared in the input header (declared by seqfcn variants)"'


@dataclass
class VcfRecord:
    """One record: its fixed fields, where it is (``line 12`` / ``record #3``) and its text."""

    chrom: str
    pos: int
    id: str
    ref: str
    alts: list[str]  # empty for ALT "."
    where: str
    columns: list[str]  # the tab-separated columns, as in the input


@dataclass
class _Usage:
    """Names the records use: INFO keys (True while every use is a flag), FORMAT keys, filters,
    chromosomes (the first record of each), and whether any ALT is symbolic."""

    info: dict[str, bool] = field(default_factory=dict)
    formats: dict[str, None] = field(default_factory=dict)
    filters: dict[str, None] = field(default_factory=dict)
    chroms: dict[str, str] = field(default_factory=dict)
    symbolic: bool = False


def is_symbolic(allele: str) -> bool:
    """``<DEL>``-style, ``*`` (overlapping deletion), ``.`` (missing) or a breakend (``[``/``]``)."""
    return allele.startswith("<") or allele in ("*", ".") or "[" in allele or "]" in allele


class VcfInput:
    """A VCF/BCF checked at construction (readable, a VCF header); :meth:`records` reads it.

    Raises:
        InputFormatError: unreadable, not a VCF/BCF, or a bad header line (named by its line).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = str(path)
        self._usage: _Usage | None = None
        try:
            with open(self.path, "rb") as fh:
                self.gzipped = fh.read(2) == b"\x1f\x8b"
            with gzip.open(self.path, "rb") if self.gzipped else open(self.path, "rb") as fh:
                head = fh.read(5)
        except OSError as exc:
            raise InputFormatError(f"cannot read: {exc.strerror or exc}", path=self.path) from None
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise InputFormatError(f"truncated or corrupt gzip data ({exc})", path=self.path) from None
        self.is_bcf = head.startswith(b"BCF")
        self.header = self._bcf_header() if self.is_bcf else self._text_header()

    # ------------------------------------------------------------------ opening
    def _open_text(self) -> Any:
        if self.gzipped:
            return gzip.open(self.path, "rt", encoding="utf-8", errors="surrogateescape", newline="\n")
        return open(self.path, encoding="utf-8", errors="surrogateescape", newline="\n")

    def _text_lines(self) -> Iterator[tuple[int, str]]:
        """``(1-based line number, line without its end)``; gzip damage is an InputFormatError."""
        n = 0
        try:
            with self._open_text() as fh:
                for n, line in enumerate(fh, 1):
                    yield n, line.rstrip("\n").removesuffix("\r")
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise InputFormatError(f"truncated or corrupt gzip data after line {n} ({exc})", path=self.path) from None
        except OSError as exc:
            raise InputFormatError(f"cannot read after line {n}: {exc.strerror or exc}", path=self.path) from None

    def _text_header(self) -> list[str]:
        header: list[str] = []
        lines = self._text_lines()
        with contextlib.closing(lines):
            return self._header_of(lines, header)

    def _header_of(self, lines: Iterator[tuple[int, str]], header: list[str]) -> list[str]:
        for n, line in lines:
            if n == 1 and not line.startswith("##fileformat=VCF"):
                raise InputFormatError("not a VCF/BCF file (a VCF's first line is ##fileformat=VCFv4.x)",
                                       path=self.path)
            header.append(line)
            if line.startswith("#CHROM"):
                columns = line.split("\t")
                if columns[:8] != FIXED_COLUMNS or (len(columns) > 8 and columns[8] != "FORMAT"):
                    raise InputFormatError(f"line {n}: the #CHROM line's columns should be "
                                           f"{' '.join(FIXED_COLUMNS)} [FORMAT samples...] (tab-separated)",
                                           path=self.path)
                return header
            if not line.startswith("##"):
                raise InputFormatError(f"line {n}: a header line that is neither ##... nor #CHROM...",
                                       path=self.path)
        raise InputFormatError("no #CHROM header line" if header else "empty file", path=self.path)

    @contextlib.contextmanager
    def _bcf(self) -> Iterator[Any]:
        import pysam

        with quiet_htslib():
            try:
                vcf = pysam.VariantFile(self.path)
            except (OSError, ValueError) as exc:
                raise InputFormatError(f"not a readable BCF file ({exc})", path=self.path) from None
        with vcf:
            yield vcf

    def _bcf_header(self) -> list[str]:
        with self._bcf() as vcf:
            return str(vcf.header).rstrip("\n").split("\n")

    # ------------------------------------------------------------------ records
    def records(self) -> Iterator[VcfRecord]:
        """Every record in file order.

        Raises:
            InputFormatError: a malformed record, named by its line (BCF: its number).
        """
        for rec in self._bcf_records() if self.is_bcf else self._text_records():
            for name, allele in (("REF", rec.ref), *(("ALT", a) for a in rec.alts)):
                if not _BASES.match(allele) and not (name == "ALT" and is_symbolic(allele)):
                    raise InputFormatError(f"{rec.where}: {name} allele {allele!r} is neither bases (A, C, G, T, N) "
                                           "nor symbolic (<DEL>, *, a breakend)", path=self.path)
            yield rec

    def _text_records(self) -> Iterator[VcfRecord]:
        width = len(self.header[-1].split("\t"))
        empty = 0
        for n, line in self._text_lines():
            if n <= len(self.header):
                continue
            if not line.strip():
                empty = empty or n  # empty lines at the end are harmless
                continue
            if empty:
                raise InputFormatError(f"line {empty}: an empty line between records", path=self.path)
            yield self._parse(line, n, width)

    def _parse(self, line: str, n: int, width: int) -> VcfRecord:
        where = f"line {n}"
        columns = line.split("\t")
        if len(columns) != width:
            raise InputFormatError(f"{where}: {len(columns)} tab-separated columns, but the #CHROM line has {width}",
                                   path=self.path)
        chrom, pos, ident, ref, alt = columns[:5]
        if not pos.isdigit():
            raise InputFormatError(f"{where}: POS {pos!r} is not a whole number", path=self.path)
        for name, value in (("CHROM", chrom), ("REF", ref), ("ALT", alt)):
            if not value or value != value.strip():
                raise InputFormatError(f"{where}: {name} {value!r} is empty or has spaces", path=self.path)
        alts = [] if alt == "." else alt.split(",")
        if "" in alts:
            raise InputFormatError(f"{where}: ALT {alt!r} has an empty allele", path=self.path)
        return VcfRecord(chrom, int(pos), ident, ref, alts, where, columns)

    def _bcf_records(self) -> Iterator[VcfRecord]:
        import pysam

        with self._bcf() as vcf:
            it = iter(vcf)
            n = 0
            while True:
                with quiet_htslib():
                    try:
                        rec: pysam.VariantRecord = next(it)
                    except StopIteration:
                        return
                    except (OSError, ValueError) as exc:
                        raise InputFormatError(f"record #{n + 1}: unreadable ({exc})", path=self.path) from None
                    text = str(rec)
                n += 1
                yield VcfRecord(rec.chrom, rec.pos, rec.id or ".", rec.ref or "", list(rec.alts or ()),
                                f"record #{n}", text.rstrip("\n").split("\t"))

    def usage(self) -> _Usage:
        """Read every record once (checking it) and note the names they use; cached."""
        if self._usage is None:
            usage = _Usage()
            for rec in self.records():
                usage.chroms.setdefault(rec.chrom, rec.where)
                usage.symbolic = usage.symbolic or any(is_symbolic(a) for a in rec.alts)
                if rec.columns[7] != ".":
                    for entry in rec.columns[7].split(";"):
                        key, eq, _ = entry.partition("=")
                        usage.info[key] = usage.info.get(key, True) and not eq
                for name in rec.columns[6].split(";"):
                    if name not in (".", "PASS"):
                        usage.filters[name] = None
                if len(rec.columns) > 8:
                    usage.formats.update(dict.fromkeys(rec.columns[8].split(":")))
            self._usage = usage
        return self._usage

    def declarations(self, drop: Sequence[str] = ()) -> list[str]:
        """Header lines declaring the names the records use but the header does not
        (INFO keys in ``drop`` are not declared)."""
        declared: dict[str, set[str]] = {"INFO": set(drop), "FORMAT": set(), "FILTER": {"PASS"}, "contig": set()}
        for line in self.header:
            m = _DECLARED.match(line)
            if m:
                declared[m.group(1)].add(m.group(2))
        usage = self.usage()
        lines = [f"##contig=<ID={c}>" for c in usage.chroms if c not in declared["contig"]]
        lines += [f"##FILTER=<ID={f},{_UNDECLARED}>" for f in usage.filters if f not in declared["FILTER"]]
        lines += [f"##INFO=<ID={k},Number=0,Type=Flag,{_UNDECLARED}>" if flag else
                  f"##INFO=<ID={k},Number=.,Type=String,{_UNDECLARED}>"
                  for k, flag in usage.info.items() if k not in declared["INFO"]]
        lines += ['##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">' if k == "GT" else
                  f"##FORMAT=<ID={k},Number=.,Type=String,{_UNDECLARED}>"
                  for k in usage.formats if k not in declared["FORMAT"]]
        return lines


def write_annotated(vcf: VcfInput, output: str | os.PathLike, added: Sequence[str],
                    info: Callable[[VcfRecord], str | None]) -> None:
    """Write ``vcf``'s records to ``output`` (``.vcf``, bgzip ``.vcf.gz`` or ``.bcf``, by its
    name) with header lines ``added`` (``##INFO=<ID=...>``) and, per record, the INFO entries
    ``info(record)`` (``KEY=VALUE;...``; None adds nothing) appended. Existing INFO entries with
    an ``added`` ID are replaced. Atomic: on any error neither output nor temporary is left."""
    from seqfcn.io.atomic import atomic_path, temporary_beside

    ids = [m.group(2) for m in map(_DECLARED.match, added) if m]
    kind = str(output).lower()
    if not kind.endswith(".bcf"):
        with atomic_path(output, suffix=".tmp.vcf.gz" if kind.endswith(".gz") else ".tmp.vcf") as tmp:
            _write_text(vcf, tmp, added, ids, info, bgzip=kind.endswith(".gz"))
        return
    import pysam

    text = temporary_beside(output, ".tmp.vcf")
    try:
        if vcf.usage().symbolic:  # htslib gives symbolic alleles an END when it encodes them
            added = [*added, '##INFO=<ID=END,Number=1,Type=Integer,Description="End position (for symbolic '
                     'alleles)">'] if not any(line.startswith("##INFO=<ID=END,") for line in vcf.header) else added
        _write_text(vcf, text, added, ids, info, bgzip=False)
        with atomic_path(output, suffix=".tmp.bcf") as tmp, quiet_htslib():
            with pysam.VariantFile(text) as src, pysam.VariantFile(tmp, "wb", header=src.header) as dst:
                for rec in src:
                    dst.write(rec)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(text)


def _write_text(vcf: VcfInput, path: str, added: Sequence[str], ids: Sequence[str],
                info: Callable[[VcfRecord], str | None],
                *, bgzip: bool) -> None:
    import io

    import pysam

    mine = tuple(f"{key}=" for key in ids)
    raw = pysam.BGZFile(path, "wb") if bgzip else open(path, "wb")
    with raw, io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="\n") as fh:
        header = [line for line in vcf.header[:-1] if not line.startswith(tuple(f"##INFO=<ID={k}," for k in ids))]
        for line in [*header, *vcf.declarations(ids), *added, vcf.header[-1]]:
            fh.write(line + "\n")
        for rec in vcf.records():
            columns = rec.columns
            extra = info(rec)
            if extra is not None:
                kept = [e for e in columns[7].split(";") if e != "." and not e.startswith(mine) and e not in ids]
                columns = [*columns[:7], ";".join([*kept, extra]), *columns[8:]]
            fh.write("\t".join(columns) + "\n")
