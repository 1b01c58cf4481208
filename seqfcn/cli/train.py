"""``seqfcn train``: a model trained on a genome, by :func:`seqfcn.training.tasks.train_task` or,
for a read corrector with k-mer evidence, :func:`seqfcn.correction.training.train_kmer_model`."""
from __future__ import annotations

import argparse
import sys

from seqfcn.cli.args import declare_io
from seqfcn.correction import defaults
from seqfcn.errors import SeqfcnError


def add_train(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add ``train`` to ``sub``."""
    p = sub.add_parser(
        "train",
        parents=[common],
        help="train a model: read correction, motif sites, signal profiles or a masked-base trunk",
        description="Train a per-base model on a genome; the model files go to OUT/model/ "
        "(safetensors + JSON), with metrics.csv and training_curve.png beside them. "
        "SIGINT/SIGTERM write a checkpoint; --resume continues exactly.",
    )
    p.add_argument("--task", required=True, choices=("correct", "motif", "profile", "mask"),
                   help="mask: self-supervised (15%% of bases masked, the true base predicted): a trunk for "
                   "--init-from and zero-shot predict / variants")
    p.add_argument("--genome", required=True, nargs="+",
                   help="reference FASTA (plain or bgzip); --evidence reads: several genomes, each its own samples")
    p.add_argument("--labels", help="motif/profile labels: BED/narrowPeak, bedGraph or bigWig")
    p.add_argument("--reads", help="correct: a BAM aligned to --genome; the error model is fitted to it")
    p.add_argument("--error-model", help="correct: illumina, ont, mask (with key=value options) or fitted:BAM; "
                   "with --evidence several, separated by ';' (one simulated sample per model and coverage)")
    p.add_argument("--config", help='JSON {"model": {...}, "train": {...}, "data": {...}} over the task defaults')
    p.add_argument("--steps", type=int, help="optimiser steps (overrides the config)")
    p.add_argument("--init-from", metavar="TRUNK", help="motif/profile: start from a --task mask trunk (path or "
                   "shipped name) with a new 1x1 head")
    p.add_argument("--freeze-steps", type=int, metavar="N", help="with --init-from: the first N steps train the "
                   "new head alone (overrides the config's train.freeze_steps)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last/ if present; refused when the "
                   "run in OUT was started with another genome, labels, reads, task, config or error model")
    p.add_argument("--force", action="store_true", help="with --resume: continue even so, with a warning per "
                   "difference (recorded in the model's metadata)")
    ev = p.add_argument_group("read correction with k-mer evidence (--task correct)")
    ev.add_argument("--evidence", choices=("none", "reads", "reference"),
                    help="k-mer evidence channels: reads (the spectrum of the reads being corrected; "
                    "genome-agnostic, the strongest corrector; default), reference (this genome's k-mers, stored "
                    "with the model) or none (the model learns the genome in its weights; resumable training)")
    ev.add_argument("--kmer", type=int, help=f"k-mer length, odd (default {defaults.K_READS} for reads, "
                    f"{defaults.K_REFERENCE} for reference)")
    ev.add_argument("--edits", choices=("auto", "sub", "indel"), default="auto",
                    help="sub (substitutions) or indel (+ deletion/insertion classes); auto: indel for an ONT "
                    "error model")
    ev.add_argument("--coverages", default=",".join(f"{c:g}" for c in defaults.TRAIN_COVERAGES),
                    help="simulated samples, one per coverage (default %(default)s)")
    ev.add_argument("--read-length", type=int, help="simulated read length (default: an Illumina error model's "
                    f"cycles, {defaults.READ_LENGTH} for the default model; ONT {defaults.ONT_READ_LENGTH})")
    ev.add_argument("--max-train-reads", type=int, help="at most this many reads of each simulated sample are "
                    "trained on (the spectrum counts them all; default all)")
    ev.add_argument("--gc-bias", default=",".join(f"{v:g}" for v in defaults.TRAIN_GC_BIAS), metavar="PEAK,WIDTH",
                    help="coverage of simulated reads by their GC fraction g: exp(-(g-PEAK)^2/(2 WIDTH^2)), or none "
                    "for uniform (default %(default)s)")
    ev.add_argument("--no-walk", dest="walked", action="store_false", default=defaults.TRAIN_WALKED,
                    help="--evidence reads: train on the simulated reads as they are, not on what the spectrum "
                    "walk leaves weak (what the network sees in `seqfcn correct`)")
    p.set_defaults(func=run_train)
    declare_io(p, inputs=["genome", "labels", "reads", "config", "init_from"], directories=["out"], written=train_outputs)


def train_outputs() -> tuple[str, ...]:
    """The entries ``train`` writes in ``--out`` (checked before the run)."""
    from seqfcn.training.trainer import OUTPUT_NAMES

    return OUTPUT_NAMES


def run_train(args: argparse.Namespace) -> int:
    """``seqfcn train``: train, then print the run's summary as JSON."""
    import json

    from seqfcn.training.tasks import read_config, train_task

    config = read_config(args.config)
    if args.steps is not None:
        config.setdefault("train", {})["steps"] = args.steps
    if args.quiet:
        config.setdefault("train", {})["progress"] = False
    if args.error_model:
        config.setdefault("data", {})["error_model"] = args.error_model
    if args.freeze_steps is not None:
        if args.init_from is None:
            raise SeqfcnError("--freeze-steps is for --init-from (a new head on a pretrained trunk)")
        config.setdefault("train", {})["freeze_steps"] = args.freeze_steps
    if args.evidence is None:
        args.evidence = "reads" if args.task == "correct" else "none"
    if args.force and not args.resume:
        raise SeqfcnError("--force is for --resume (continue a run started with other inputs)")
    from seqfcn.errors import ModelFileError
    from seqfcn.training.runs import exit_code

    try:
        if args.evidence != "none":
            return _train_kmer(args, config)
        if len(args.genome) > 1:
            raise SeqfcnError("several --genome files are for --task correct --evidence reads")
        result = train_task(args.task, args.genome[0], args.out, config=config, labels=args.labels,
                            reads=args.reads, device=args.device, seed=args.seed, resume=args.resume,
                            force=args.force, init_from=args.init_from)
    except ModelFileError as exc:  # the "model" section of --config (a model file names itself)
        if exc.path is not None or not args.config:
            raise
        raise ModelFileError(f"\"model\": {exc.message}", path=args.config) from None
    summary = {k: v for k, v in result.items() if isinstance(v, (int, float, str))}
    print(json.dumps(summary, default=float))
    return exit_code(str(result.get("stop_reason", "")))


def _train_kmer(args: argparse.Namespace, config: dict) -> int:
    """``seqfcn train --task correct --evidence ...``: a k-mer-evidence corrector."""
    import json

    from seqfcn.correction.training import KmerModelRun, train_kmer_model
    from seqfcn.training.runs import exit_code

    if args.task != "correct":
        raise SeqfcnError("--evidence is for --task correct")
    options = KmerModelRun(
        evidence=args.evidence, reads=args.reads, kmer=args.kmer, edits=args.edits, coverages=args.coverages,
        read_length=args.read_length, max_train_reads=args.max_train_reads, gc_bias=args.gc_bias,
        walked=args.walked, device=args.device, seed=args.seed, resume=args.resume, force=args.force,
        progress=not args.quiet, command=" ".join(["seqfcn", *sys.argv[1:]]))
    result = train_kmer_model(args.genome, args.out, options, config)
    stopped = exit_code(str(result.pop("stop_reason") or ""))
    if stopped:  # a signal: the checkpoint is in OUT/last/, no model
        return stopped
    print(json.dumps(result, default=float))
    return 0
