"""Read shards: the outputs of ``seqfcn correct --shard i/n`` merged back into the unsharded file.

Reads are split round-robin (:func:`seqfcn.runtime.shard.shard_reads`); :func:`merge_reads`
proves the set by the shards' manifests (:func:`seqfcn.runtime.shard.read_manifest`: one
input, run, mate and ``n``; every shard once; each holding its share of the reads) and
re-interleaves them (:func:`seqfcn.runtime.merge.interleave`), or concatenates plain chunks
(``order="concat"``). SAM/BAM keep the first shard's header, with ``--shard X`` removed
from seqfcn's @PG ``CL`` so it matches the unsharded run.
"""
from __future__ import annotations

import itertools
import os
from typing import Iterable, Iterator, Sequence, TypeVar
import pysam
from seqfcn.errors import SeqfcnError
from seqfcn.runtime.merge import interleave
from seqfcn.runtime.shard import check_shard_set, read_manifest, strip_shard_argument

T = TypeVar("T")


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
        order: ``"interleave"`` (undo :func:`seqfcn.runtime.shard.shard_reads`) or ``"concat"``.

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
    from seqfcn.io.read_writers import FastqWriter
    from seqfcn.io.reads import read_reads

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
    from seqfcn.io.atomic import atomic_path

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
