"""The long-read jobs: ``seqfcn overlap`` (all-vs-all overlaps as PAF) and ``seqfcn correct`` with a
pileup corrector (``--model ont_r9``, ``ont_r10``), which :func:`seqfcn.cli.correct.run_correct` hands here."""
from __future__ import annotations

import argparse
import logging

from seqfcn.cli.args import declare_io, positive_int
from seqfcn.correction import defaults
from seqfcn.errors import SeqfcnError

log = logging.getLogger("seqfcn")


def add_overlap(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add ``overlap`` to ``sub``."""
    p = sub.add_parser(
        "overlap",
        parents=[common],
        help="all-vs-all overlaps of long reads (minimap2 ava-ont via mappy) as PAF for correct --overlaps",
        description="Map every read (or one --shard i/n of them, round-robin) against all the reads with "
        "minimap2's ava-ont preset and write each read's best overlap with every other read as PAF with "
        "CIGARs (cg:Z:), grouped by read in file order, and OUT.json tying it to the reads. "
        "`seqfcn correct READS --model ont_r9 --overlaps OUT` then skips the mapping; run the shards as "
        "separate jobs and give correct all of them (or the matching one with --shard).",
    )
    p.add_argument("reads", metavar="READS", help="long reads: FASTQ/FASTA (plain or gzip), read names unique")
    p.add_argument("-o", "--output", required=True, help="the PAF file to write (and OUT.json beside it)")
    p.add_argument("--shard", help="i/n: overlaps of reads k with k %% n == i-1 only")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (also --quiet)")
    p.set_defaults(func=run_overlap)
    declare_io(p, inputs=["reads"], outputs=["output"])


def run_overlap(args: argparse.Namespace) -> int:
    """``seqfcn overlap``."""
    from seqfcn.correction.overlaps import write_overlaps
    from seqfcn.runtime.tiling import parse_shard

    if args.output == "-":
        raise SeqfcnError("seqfcn overlap writes a file (and its manifest OUT.json), not stdout")
    shard = parse_shard(args.shard) if args.shard else None
    lines = write_overlaps(args.reads, args.output, threads=args.threads or 1, shard=shard,
                           progress=not (args.no_progress or args.quiet))
    log.info("%d overlaps written to %s", lines, args.output)
    return 0


def add_long_read_options(p: argparse.ArgumentParser) -> None:
    """The ``correct`` options that only pileup correctors use."""
    p.add_argument("--overlaps", nargs="+", metavar="PAF", help="pileup models (ont_r9, ont_r10): overlaps from "
                   "`seqfcn overlap` (one file, or every shard of one run) instead of mapping the reads here")
    p.add_argument("--min-depth", type=positive_int, default=defaults.LONG_READ_MIN_DEPTH,
                   help="pileup models: edit a position only when this many other reads cover it (default "
                   f"{defaults.LONG_READ_MIN_DEPTH})")


_SHORT_READ_ONLY = ("spectrum", "interleaved", "self_train", "reference", "save_model")


def run_long_read_correct(args: argparse.Namespace) -> int:
    """``seqfcn correct`` with a pileup corrector: one FASTQ/FASTA in, one out."""
    from seqfcn.correction.longread import LongReadOptions, correct_long_reads
    from seqfcn.runtime.device import resolve_device
    from seqfcn.runtime.tiling import parse_shard

    used = [f"--{name.replace('_', '-')}" for name in _SHORT_READ_ONLY if getattr(args, name, None)]
    if used:
        raise SeqfcnError(f"{', '.join(used)} is for short-read models, not pileup correctors")
    if args.rounds == 0:
        raise SeqfcnError("a pileup corrector makes at least one pass (--rounds 1 or more)")
    if len(args.reads) != 1 or len(args.output) != 1:
        raise SeqfcnError("a pileup corrector takes one read file and one output (-o)")
    from seqfcn.io.read_writers import format_from_name

    named = format_from_name(args.output[0]) if args.output[0] != "-" else None
    if args.output_format not in (None, "fastq", "fasta") or (args.output_format is None and
                                                              named not in (None, "fastq", "fasta")):
        raise SeqfcnError("long reads are written as FASTQ or FASTA (.fq, .fastq, .fa, optionally .gz)",
                          path=args.output[0])
    if args.shard and args.output[0] == "-":
        raise SeqfcnError("--shard writes a file with its manifest beside it, not stdout")
    options = LongReadOptions(
        overlaps=tuple(args.overlaps or ()), threads=args.threads or 1, min_depth=args.min_depth,
        min_confidence=defaults.LONG_READ_MIN_CONFIDENCE if args.min_confidence is None else args.min_confidence,
        device=str(resolve_device(args.device or "auto")),
        rounds=args.rounds, shard=parse_shard(args.shard) if args.shard else None, output_format=args.output_format,
        stats_path=args.stats, progress=not (args.no_progress or args.quiet))
    stats = correct_long_reads(args.reads[0], args.model, args.output[0], options)
    log.info("%d reads: %d corrected, %d partly corrected, %d untouched; %d substitutions, %d deletions, "
             "%d insertions", stats["reads"], stats["corrected"], stats["partly_corrected"], stats["untouched"],
             stats["substituted"], stats["deleted"], stats["inserted"])
    return 0
