"""Merge shard outputs back into exactly the output of the unsharded run (``seqfcn merge``).

* scan shards (:func:`seqfcn.shard.write_scan_shard`): concatenated in shard order
  (already genome order), q-values recomputed over all shards with the summed number of
  tested windows, streamed in the format of :func:`seqfcn.motifs.scan.write_hits_bed` —
  byte-identical to ``seqfcn scan`` without ``--shard``.
* predict bedGraph shards (``seqfcn predict --shard``, a ``name=seqfcn_predict`` track line
  with ``seqfcn_shard=i/n seqfcn_run=ID``): checked as one set, concatenated in shard
  order without the track line — byte-identical to the unsharded bedGraph.
* other BED files: a sorted merge (chromosome order = first appearance over the files
  in the order given, then ``start``, ``end``; ties keep file order), header lines
  (``track``/``browser``/``#``) of the first file only; data lines are copied verbatim.
* reads (FASTQ/FASTA, SAM/BAM): re-interleaved round-robin (the split of
  :func:`seqfcn.shard.shard_reads`) in the order of the shard indices their manifests
  record (:func:`seqfcn.shard.read_manifest`; files in any order), after proving the set
  (one input, run, mate and ``n``; every shard once; each holds its share of the input's
  reads); or, for plain chunks without manifests, concatenated with ``order="concat"``
  in the order given. SAM/BAM keep the first shard's header, with
  ``--shard X`` removed from seqfcn's @PG ``CL`` so it matches the unsharded run.

Every shard set is checked before anything is written (:func:`seqfcn.shard.check_shard_set`).
Every output is atomic (a hidden temporary file ``.NAME.XXXXXXXX.tmp``/``.part`` in the
output's directory, renamed into place at the end); ``-`` writes to stdout.
"""
from __future__ import annotations

import gzip
import heapq
import itertools
import os
from typing import Iterable, Iterator, Sequence, TypeVar

import numpy as np
import pysam

from seqfcn.errors import InputFormatError, SeqfcnError
from seqfcn.shard import (
    check_shard_set,
    predict_shard_info,
    read_manifest,
    scan_shard_info,
    scan_shard_rows,
    strip_shard_argument,
)

T = TypeVar("T")

__all__ = ["interleave", "merge_scan_shards", "merge_predict_shards", "merge_bed", "merge_reads", "merge_shards",
           "MERGE_KINDS"]

MERGE_KINDS = ("auto", "scan", "bed", "reads")
_BED_SUFFIXES = (".bed", ".narrowpeak", ".broadpeak", ".bedgraph")
_HEADER_PREFIXES = ("track", "browser", "#")
_END = object()


def interleave(shards: Sequence[Iterable[T]], labels: Sequence[str] | None = None) -> Iterator[T]:
    """Round-robin merge: item 1 of shard 1, item 1 of shard 2, ..., item 2 of shard 1, ...

    The inverse of :func:`seqfcn.shard.shard_reads`. Checks that the shard sizes fit a
    round-robin split (non-increasing, differing by at most one).

    Raises:
        SeqfcnError: a shard has more items than a round-robin split allows (shards given
            out of order, or not from the same input), naming the shard.
    """
    labels = list(labels) if labels is not None else [f"shard {k + 1}" for k in range(len(shards))]
    iterators = [iter(s) for s in shards]
    while True:
        for k, it in enumerate(iterators):
            item = next(it, _END)
            if item is not _END:
                yield item
                continue
            # shard k ran out: the later shards must be empty now, the earlier ones one item later
            for j in range(len(iterators)):
                if next(iterators[j], _END) is not _END:
                    raise SeqfcnError(
                        f"has more records than a round-robin split allows (shard {labels[k]} ended first); "
                        "give the shard files in order 1..n, all from the same input",
                        path=labels[j],
                    )
            return


# --------------------------------------------------------------------------- scan shards
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
        for chunk in _chunks(row[6] for _, row in scan_shard_rows(label)):
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
            for chunk in _chunks(scan_shard_rows(label)):
                yield "".join(f"{c}\t{s}\t{e}\t{m}\t{float(sc):.4f}\t{st}\t{p_and_q(p)}\t{seq}\t{mid}\n"
                              for _, (c, s, e, m, sc, st, p, _q, seq, mid) in chunk)

    write_bed(blocks(), output, track_line=HIT_TRACK)
    return n_hits


def _chunks(items: Iterable[T], size: int = 1 << 16) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last shorter)."""
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _is_scan_shard(path: str) -> bool:
    if path == "-" or path.endswith(".gz"):
        return False
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            first = fh.readline()
    except OSError as exc:
        raise SeqfcnError(f"cannot read: {exc.strerror}", path=path) from None
    return first.startswith("track") and "seqfcn_shard=" in first and "name=seqfcn_predict" not in first


# --------------------------------------------------------------------------- predict shards
def merge_predict_shards(paths: Sequence[str | os.PathLike], output: str | os.PathLike) -> int:
    """Join the bedGraph shards of ``seqfcn predict --shard`` (any order) into the unsharded bedGraph.

    Shards hold contiguous blocks of tiles, so their data lines in shard order are the
    unsharded file; the shard track line is dropped (the unsharded bedGraph has none).
    Returns the number of lines written.

    Raises:
        SeqfcnError: a file that is not a predict shard, another ``n`` or run, a shard
            given twice or missing (naming it), before anything is written.
    """
    from seqfcn.atomic import atomic_text

    shards = []
    for p in map(str, paths):
        info = predict_shard_info(p)
        if info is None:
            raise SeqfcnError("not a seqfcn predict shard (no seqfcn_shard= track line); write it with "
                              "seqfcn predict --shard", path=p)
        shards.append((p, *info))
    order = check_shard_set(shards, "predict run")
    written = 0
    with atomic_text(output) as handle:
        for label in order:
            lines = _bed_lines(label)
            handle.writelines(line + "\n" for line in lines[1:])
            written += len(lines) - 1
    return written


# --------------------------------------------------------------------------- BED
def _bed_lines(path: str) -> list[str]:
    try:
        opener = gzip.open(path, "rt") if path.endswith(".gz") else open(path)
        with opener as fh:
            return fh.read().splitlines()
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise InputFormatError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", path=path) from None


def merge_bed(paths: Sequence[str | os.PathLike], output: str | os.PathLike) -> int:
    """Sorted merge of BED files that are each sorted; header lines of the first file only.

    Data lines are copied verbatim. Chromosome order: first appearance over the files in
    the order given (so contiguous genome shards keep genome order), then ``start``,
    ``end``; equal keys keep file order. Returns the number of data lines written.

    Raises:
        InputFormatError: a line without integer ``start``/``end`` (file and line number).
    """
    from seqfcn.atomic import atomic_text

    chrom_rank: dict[str, int] = {}
    keyed: list[list[tuple[int, int, int, str]]] = []
    header: list[str] = []
    for n_file, path in enumerate(map(str, paths)):
        rows = []
        for number, line in enumerate(_bed_lines(path), 1):
            if not line or line.startswith(_HEADER_PREFIXES):
                if n_file == 0 and line:
                    header.append(line)
                continue
            fields = line.split("\t", 3)
            try:
                start, end = int(fields[1]), int(fields[2])
            except (IndexError, ValueError):
                raise InputFormatError(f"line {number}: not BED (need chrom, start, end)", path=path) from None
            rank = chrom_rank.setdefault(fields[0], len(chrom_rank))
            rows.append((rank, start, end, line))
        keyed.append(rows)
    merged = heapq.merge(*keyed, key=lambda row: row[:3])
    written = 0
    with atomic_text(output) as handle:
        for line in header:
            handle.write(line + "\n")
        for row in merged:
            handle.write(row[3] + "\n")
            written += 1
    return written


# --------------------------------------------------------------------------- reads
def _alignment_format(path: str) -> str | None:
    """``"bam"``/``"sam"``/``"cram"`` for alignment files, None for FASTQ/FASTA."""
    if path == "-":
        return None
    try:
        with pysam.AlignmentFile(path, "r", check_sq=False) as fh:  # htslib sniffs the content
            return "bam" if fh.is_bam else "sam" if fh.is_sam else "cram" if fh.is_cram else None
    except (ValueError, OSError):
        return None


def _clean_header(header: dict) -> dict:
    for line in header.get("PG", []):
        if line.get("PN") == "seqfcn" and "CL" in line:
            line["CL"] = strip_shard_argument(line["CL"])
    return header


def merge_reads(
    paths: Sequence[str | os.PathLike], output: str | os.PathLike, *, order: str = "interleave"
) -> int:
    """Merge read shards (FASTQ/FASTA, plain or gzip, or SAM/BAM) into one file.

    Args:
        paths: shard files; ``interleave``: outputs of ``seqfcn correct --shard`` with their
            manifests, in any order; ``concat``: any read files, joined in the order given.
        output: FASTQ/FASTA (``.gz`` compresses) or ``.bam``/``.sam``; ``-`` = stdout
            in the shards' format.
        order: ``"interleave"`` (undo :func:`seqfcn.shard.shard_reads`) or ``"concat"``.

    Returns:
        The number of reads written.

    Raises:
        SeqfcnError: (interleave) a shard without a manifest, from another input, run
            or mate, missing, given twice, or not holding its share of the reads.
    """
    if order not in ("interleave", "concat"):
        raise SeqfcnError(f"order must be interleave or concat, not {order!r}")
    labels = [str(p) for p in paths]
    if order == "interleave":
        labels = _read_shard_order(labels)
    kinds = [_alignment_format(p) for p in labels]
    odd = next((label for label, k in zip(labels, kinds) if (k is None) != (kinds[0] is None)), None)
    if odd is not None:
        raise SeqfcnError(f"is {'not ' if kinds[0] is not None else ''}an alignment file (SAM/BAM/CRAM) but "
                          f"{labels[0]} is{' not' if kinds[0] is None else ''}; merge like with like "
                          "(a truncated BAM is not readable as one)", path=odd)
    if kinds[0] is None:
        return _merge_fastx(labels, str(output), order)
    return _merge_alignments(labels, str(output), order)


def _read_shard_order(labels: Sequence[str]) -> list[str]:
    """The read shards ``labels`` sorted by their manifests' index, once proven one complete set."""
    manifests = [(label, read_manifest(label)) for label in labels]
    first_label, first = manifests[0]
    for label, m in manifests:
        if m.inputs != first.inputs or m.total != first.total:
            raise SeqfcnError(f"comes from another input (reads {', '.join(m.inputs)}, {m.total} reads; "
                              f"{first_label}: {', '.join(first.inputs)}, {first.total} reads)", path=label)
        if m.mate != first.mate:
            raise SeqfcnError(f"holds mate {m.mate + 1}, {first_label} mate {first.mate + 1}: merge each mate's "
                              "shards on their own", path=label)
    order = check_shard_set([(label, m.index, m.count, m.run) for label, m in manifests], "correct run")
    for label in order:
        m = dict(manifests)[label]
        share = len(range(m.index, m.total, m.count))
        if m.reads != share:
            raise SeqfcnError(f"holds {m.reads} reads, but shard {m.index + 1}/{m.count} of {m.total} reads has "
                              f"{share}", path=label)
    return order


def _combine(streams: Sequence[Iterable[T]], labels: Sequence[str], order: str) -> Iterator[T]:
    return interleave(streams, labels) if order == "interleave" else itertools.chain.from_iterable(streams)


def _merge_fastx(labels: Sequence[str], output: str, order: str) -> int:
    from seqfcn.io.reads import FastqWriter, read_reads

    lead = read_reads(labels[0])  # every shard is read and written in the first one's quality encoding
    streams = [lead] + [read_reads(p, phred=lead.phred) for p in labels[1:]]
    first = [next(s, None) for s in streams]
    fmt = "fasta" if any(r is not None and r.qualities is None for r in first) else "fastq"
    streams = [itertools.chain([] if r is None else [r], s) for r, s in zip(first, streams)]
    name = output.lower()
    named = any(name.endswith(x) or name.endswith(x + ".gz") for x in (".fa", ".fasta", ".fna", ".fq", ".fastq"))
    with FastqWriter(output, fmt=None if named else fmt, phred=lead.phred or 33) as writer:
        for read in _combine(streams, labels, order):
            writer.write(read)
        return writer.count


def _merge_alignments(labels: Sequence[str], output: str, order: str) -> int:
    from seqfcn.atomic import atomic_path

    files = [pysam.AlignmentFile(p, "r", check_sq=False) for p in labels]
    try:
        header = _clean_header(files[0].header.to_dict())
        fmt = "sam" if output.lower().endswith(".sam") or (output == "-" and files[0].format == "SAM") else "bam"
        mode = "wb" if fmt == "bam" else "wh"
        streams = [f.fetch(until_eof=True) for f in files]
        written = 0
        if output == "-":
            with pysam.AlignmentFile("-", mode, header=header) as out:
                for record in _combine(streams, labels, order):
                    out.write(record)
                    written += 1
            return written
        with atomic_path(output) as tmp:
            with pysam.AlignmentFile(tmp, mode, header=header) as out:
                for record in _combine(streams, labels, order):
                    out.write(record)
                    written += 1
        return written
    finally:
        for f in files:
            f.close()


# --------------------------------------------------------------------------- dispatch
def merge_shards(
    paths: Sequence[str | os.PathLike], output: str | os.PathLike, *, kind: str = "auto", order: str = "interleave"
) -> tuple[str, int]:
    """Merge shard outputs; returns ``(kind, records written)``.

    ``kind`` ``auto`` picks ``scan`` for files of ``seqfcn scan --shard``, ``bed`` for
    other ``.bed``/``.narrowPeak``/``.bedGraph`` (optionally ``.gz``) names, else ``reads``;
    ``bed`` files with a ``seqfcn predict --shard`` track line merge as ``predict`` shards.
    ``order`` applies to reads only.
    """
    if kind not in MERGE_KINDS:
        raise SeqfcnError(f"merge kind must be one of {MERGE_KINDS}, not {kind!r}")
    labels = [str(p) for p in paths]
    if not labels:
        raise SeqfcnError("nothing to merge: give the shard files")
    for p in labels:
        if p == "-":
            raise SeqfcnError("merge reads shard files, not stdin")
        if not os.path.isfile(p):
            raise SeqfcnError("no such file", path=p)
    if str(output) != "-" and any(os.path.abspath(p) == os.path.abspath(output) for p in labels):
        raise SeqfcnError("the output would overwrite an input", path=output)
    if kind == "auto":
        bare = labels[0].lower().removesuffix(".gz")
        kind = "scan" if _is_scan_shard(labels[0]) else "bed" if bare.endswith(_BED_SUFFIXES) else "reads"
    if kind == "scan":
        return kind, merge_scan_shards(labels, output)
    if kind == "bed":
        if any(predict_shard_info(p) is not None for p in labels):
            return "predict", merge_predict_shards(labels, output)
        return kind, merge_bed(labels, output)
    return kind, merge_reads(labels, output, order=order)
