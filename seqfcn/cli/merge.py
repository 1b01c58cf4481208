"""``seqfcn merge``: the merge each kind of shard needs, chosen by what the files are.

:func:`merge_shards` dispatches to the jobs' own merges (scan, predict, reads, k-mer spectra) and the plain
BED merge; it lives in the CLI layer because jobs never import each other. Its imports are
lazy: merging scan shards loads neither PyTorch nor pandas.
"""
from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence

from seqfcn.cli.args import declare_io
from seqfcn.errors import SeqfcnError

log = logging.getLogger("seqfcn")


def merge_shards(
    paths: Sequence[str | os.PathLike], output: str | os.PathLike, *, kind: str = "auto", order: str = "interleave"
) -> tuple[str, int]:
    """Merge shard outputs; returns ``(kind, records written)``.

    ``kind`` ``auto`` picks ``spectrum`` for spectrum files (``seqfcn count --shard``), ``scan``
    for files of ``seqfcn scan --shard``, ``bed`` for
    other ``.bed``/``.narrowPeak``/``.bedGraph`` (optionally ``.gz``) names, else ``reads``;
    ``bed`` files with a ``seqfcn predict --shard`` track line merge as ``predict`` shards.
    ``order`` applies to reads only.
    """
    from seqfcn.runtime.merge import BED_SUFFIXES, MERGE_KINDS, merge_bed

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
        from seqfcn.correction.count_shards import is_spectrum_file
        from seqfcn.motifs.shards import is_scan_shard

        if is_spectrum_file(labels[0]):
            kind = "spectrum"
        else:
            kind = "scan" if is_scan_shard(labels[0]) else "bed" if bare.endswith(BED_SUFFIXES) else "reads"
    if kind == "spectrum":
        from seqfcn.correction.count_shards import merge_count_shards

        return kind, merge_count_shards(labels, output)
    if kind == "scan":
        from seqfcn.motifs.shards import merge_scan_shards

        return kind, merge_scan_shards(labels, output)
    if kind == "bed":
        from seqfcn.interpret.shards import merge_predict_shards, predict_shard_info

        if any(predict_shard_info(p) is not None for p in labels):
            return "predict", merge_predict_shards(labels, output)
        return kind, merge_bed(labels, output)
    from seqfcn.correction.shards import merge_reads  # reads: pysam

    return kind, merge_reads(labels, output, order=order)


def add_merge(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add ``merge`` to ``sub``."""
    p = sub.add_parser(
        "merge",
        parents=[common],
        help="merge shard outputs (scan --shard, correct --shard) into the unsharded output",
        description="Merge the outputs of n shard jobs into exactly what the unsharded run writes: scan shards "
        "(q-values recomputed over the whole genome), predict bedGraph shards, other sorted BED files (sorted "
        "merge, first file's header), or reads (FASTQ/FASTA/SAM/BAM: re-interleaved round-robin, or concatenated "
        "with --order concat), or k-mer spectra of `seqfcn count --shard` (joined into exactly the unsharded "
        "spectrum). Shards may be given in any order: each records its input's content fingerprint, "
        "its i/n and its run (read shards in the NAME.seqfcn-shard.json manifest beside them), and a set with a "
        "shard missing, repeated or from another input or run is refused before anything is written.",
    )
    p.add_argument("shards", nargs="+", help="shard files, in any order (--order concat: in the order given)")
    p.add_argument("-o", "--output", default="-", help="merged output (default - = stdout; .gz compresses)")
    p.add_argument("--kind", choices=("auto", "scan", "bed", "reads", "spectrum"), default="auto",
                   help="what the shards are (default auto: a spectrum file, scan shard header, BED by name, "
                   "else reads)")
    p.add_argument("--order", choices=("interleave", "concat"), default="interleave",
                   help="reads: interleave (undo --shard, default; needs the shards' manifests) or concat "
                   "(plain chunks, in the order given)")
    p.set_defaults(func=run_merge)
    declare_io(p, inputs=["shards"], outputs=["output"])


def run_merge(args: argparse.Namespace) -> int:
    """``seqfcn merge``: shard outputs into the unsharded output."""
    kind, n = merge_shards(args.shards, args.output, kind=args.kind, order=args.order)
    log.info("merged %d %s shard(s): %d records", len(args.shards), kind, n)
    return 0
