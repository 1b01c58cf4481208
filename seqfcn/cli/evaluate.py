"""``seqfcn evaluate``: how good a result is. ``evaluate correction`` scores corrected reads against
the truth (:mod:`seqfcn.correction.evaluate`); ``evaluate mask`` scores a masked-base trunk's held-out
bits per base beside Markov and compressor baselines (:mod:`seqfcn.interpret.likelihood`)."""
from __future__ import annotations

import argparse

from seqfcn.cli.args import add_model_argument, count_int, declare_io, model_device, positive_int


def add_evaluate(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add ``evaluate`` (``correction``, ``mask``) to ``sub``."""
    p = sub.add_parser(
        "evaluate",
        help="evaluate a read correction (edit distances, TP/FP/FN) or a trunk (held-out bits per base)",
        description="Evaluate a result: `evaluate correction` (corrected reads against the truth) or "
        "`evaluate mask` (a --task mask trunk's held-out bits per base against Markov and xz baselines).",
    )
    what = p.add_subparsers(dest="what", metavar="WHAT", title="what to evaluate", required=True)
    _add_correction(what, common)
    _add_mask(what, common)


def _add_correction(what: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = what.add_parser(
        "correction",
        parents=[common],
        help="corrected reads against the truth: edit distances, TP/FP/FN, gain, error rates before/after",
        description="Evaluate corrected reads against simulated true reads (matched by name: every read's edit "
        "distance to its true read before and after, substitutions and indels alike, and base-level TP/FP/FN "
        "on reads of unchanged length) or by aligning original and corrected reads to a reference. Prints a "
        "table; --json writes the metrics.",
    )
    p.add_argument("--original", required=True, help="reads before correction (FASTQ/FASTA/BAM)")
    p.add_argument("--corrected", required=True, help="reads after correction (same names)")
    truth = p.add_mutually_exclusive_group(required=True)
    truth.add_argument("--truth", help="true reads by name: FASTA/FASTQ, or SAM/BAM such as art_illumina -ef output")
    truth.add_argument("--reference", help="reference FASTA to align original and corrected reads to")
    p.add_argument("--aligner", choices=["auto", "bwa", "minimap2"], default="auto",
                   help="with --reference: bwa mem (short reads) or minimap2 (default auto: by read length)")
    p.add_argument("--json", dest="json_path", help="also write the metrics as JSON here")
    p.set_defaults(func=run_evaluate_correction)
    declare_io(p, inputs=["original", "corrected", "truth", "reference"], outputs=["json_path"])


def run_evaluate_correction(args: argparse.Namespace) -> int:
    """``seqfcn evaluate correction``: the metrics table on stdout (and --json)."""
    from seqfcn.correction.evaluate import evaluate_correction, format_metrics

    metrics = evaluate_correction(
        args.original,
        args.corrected,
        truth=args.truth,
        reference=args.reference,
        aligner=args.aligner,
        threads=args.threads or 1,
        json_path=args.json_path,
    )
    print(format_metrics(metrics))
    return 0


def markov_order(text: str) -> int:
    """``--max-order``: an integer 0..12 (the Markov baselines' highest order; 0 for none)."""
    value = count_int(text)
    if value > 12:
        raise argparse.ArgumentTypeError(f"expected a whole number 0..12, not {value}")
    return value


def _add_mask(what: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = what.add_parser(
        "mask",
        parents=[common],
        help="a masked-base trunk: held-out bits per base beside order-k Markov models and xz",
        description="Score every base of the held-out sequence with a --task mask trunk (the base masked, "
        "with every 7th base around it; both strands) and report bits per base, overall and by class "
        "(uppercase, lowercase = soft-masked repeats, tandem repeats, multicopy = covered by a 24-mer found twice "
        "or more), beside interpolated order-k Markov "
        "models fitted on the rest of the genome (both strands; k = 1..12, the best one named) and xz -9e "
        "on the held-out bases. Held out: --regions, else the last hold-out fraction of every chromosome "
        "that the trunk's training left out.",
    )
    add_model_argument(p)
    p.add_argument("--genome", required=True, help="genome FASTA (plain or bgzip; indexed on first use)")
    p.add_argument("--regions", help="BED: the held-out sequence (default: the trunk's training hold-out)")
    p.add_argument("--max-order", type=markov_order, default=12, metavar="K",
                   help="Markov orders 1..K (0: no Markov baseline; default 12)")
    p.add_argument("--no-compressor", dest="compressor", action="store_false", help="skip the xz baseline")
    p.add_argument("--window", type=positive_int, default=100_000, help="tile core length in bases (default 100000)")
    p.add_argument("--batch-size", type=positive_int, default=4, help="windows per model call (default 4)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.set_defaults(func=run_evaluate_mask)
    declare_io(p, inputs=["genome", "model", "regions"])


def run_evaluate_mask(args: argparse.Namespace) -> int:
    """``seqfcn evaluate mask``: a table (or one JSON object) on stdout."""
    import json

    from seqfcn.interpret.likelihood import MaskEvalOptions, evaluate_mask, format_mask_table
    from seqfcn.io.intervals import read_regions

    regions = read_regions(args.regions, args.genome)
    options = MaskEvalOptions(window=args.window, batch_size=args.batch_size, device=model_device(args),
                              progress=not args.quiet, max_order=args.max_order, compressor=args.compressor)
    result = evaluate_mask(args.genome, args.model, options, regions=regions)
    print(json.dumps(result, default=float) if args.json else format_mask_table(result))
    return 0
