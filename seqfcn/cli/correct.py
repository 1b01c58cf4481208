"""The read-correction jobs of :mod:`seqfcn.correction`: ``seqfcn correct`` (with ``--self-train``) and
``count`` (a k-mer spectrum for ``correct --spectrum``); ``evaluate correction`` is in :mod:`.evaluate`."""
from __future__ import annotations

import argparse
import logging
import sys

from seqfcn.cli.args import count_int, declare_io, memory_size, run_shards, solid_count, torchrun_rank
from seqfcn.cli.longread import add_long_read_options, run_long_read_correct
from seqfcn.correction import defaults
from seqfcn.errors import SeqfcnError

log = logging.getLogger("seqfcn")


def add_correct(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add ``correct`` to ``sub``."""
    p = sub.add_parser(
        "correct",
        parents=[common],
        help="correct sequencing errors in reads with a per-base model (FASTQ/BAM out)",
        description="Correct reads (FASTQ(.gz), FASTA, SAM/BAM/CRAM; - for stdin) with a read-correction "
        "model, or with --self-train a model trained on the reads themselves. Every read in gives exactly "
        "one read out, in order, with its name, comment, flags and tags; BAM output keeps the original "
        "qualities in OQ and the original sequence in xo.",
    )
    p.add_argument("reads", nargs="+", metavar="READS",
                   help="FASTQ(.gz)/FASTA/SAM/BAM/CRAM, or - for stdin; two files for paired reads (R1 R2)")
    p.add_argument("--model", help="a shipped model's name (e.g. kmer_illumina; `seqfcn models` lists them), a "
                   "model directory or the --out directory of seqfcn train; not with --self-train")
    p.add_argument("-o", "--output", nargs="+", default=["-"], metavar="OUT",
                   help="output .fastq[.gz]/.fq/.fa/.bam/.sam, - for stdout (default); two for R1 R2")
    p.add_argument("--interleaved", action="store_true",
                   help="the one input holds mate pairs in turn (1, 2, 1, 2, ...); pairs are checked")
    p.add_argument("--spectrum", help="k-mer spectrum from `seqfcn count` (reads-spectrum models): no counting pass; "
                   "its k and the content of the files it was counted from must match (stdin: the number "
                   "of reads, checked before the output is published)")
    p.add_argument("--memory", type=memory_size, metavar="SIZE",
                   help="reads-spectrum models: keep the counting pass under SIZE (e.g. 8G; K/M/G/T are powers of "
                   "1024) by counting a share of the k-mers per read of the input and spilling each share to "
                   "$TMPDIR (8 bytes a k-mer) until the spectrum's compact index is built: the same spectrum, "
                   "one read of the input per pass; the index correction then holds, ~4.4 bytes a k-mer, is "
                   "not under the cap (default: one pass, no cap)")
    p.add_argument("--output-format", choices=("fastq", "fasta", "bam", "sam"), help="override the extension")
    p.add_argument("--min-confidence", type=float,
                   help=f"change a base only when the model's posterior exceeds this (default "
                   f"{defaults.MIN_CONFIDENCE}, pileup models {defaults.LONG_READ_MIN_CONFIDENCE}; 1 = never)")
    p.add_argument("--batch-size", default="auto", help="reads per batch, or auto (halved on out-of-memory)")
    p.add_argument("--stats", help="write the summary as JSON here")
    p.add_argument("--reference", help="reference FASTA (CRAM input; updates NM of records without MD)")
    p.add_argument("--recalibrate", choices=defaults.RECALIBRATE_MODES, default=defaults.RECALIBRATE,
                   help=f"which qualities come from the model's posterior (default {defaults.RECALIBRATE})")
    p.add_argument("--single-strand", action="store_true",
                   help="do not average each read's posterior with its reverse complement's (2x faster)")
    p.add_argument("--self-train", action="store_true", help="train the model on these reads first (no reference)")
    p.add_argument("--self-train-steps", type=int, default=defaults.SELF_TRAIN_STEPS,
                   help=f"training steps for --self-train (default {defaults.SELF_TRAIN_STEPS})")
    p.add_argument("--self-train-error-model", default="auto",
                   help="error model for --self-train: auto, illumina, ont, or a spec/.json (default auto)")
    p.add_argument("--self-train-mode", choices=("kmer", "memorise"), default="kmer",
                   help="kmer (default): a k-mer-evidence model fitted to the reads' qualities, length and "
                   "coverage; memorise: a plain model that learns the sample's sequence in its weights")
    p.add_argument("--rounds", type=count_int,
                   help="passes of the model over each read (default: 2 for k-mer models, 4 with indels, else 1; "
                   "0: the spectrum walk and the indel pass alone; pileup models: passes, each mapping the last "
                   "one's reads again, default the model's own (ont_r9 3, ont_r10 2), 1 with --overlaps/--shard)")
    p.add_argument("--indels", type=count_int, default=defaults.INDEL_LENGTH, metavar="N",
                   help="with solid k-mer checks: fix insertions and deletions of up to N bases where exactly one "
                   f"such edit makes the read's k-mers solid (default {defaults.INDEL_LENGTH}; 0: substitutions "
                   "only; reads with a CIGAR never change length)")
    p.add_argument("--save-model", help="with --self-train: save the trained model to this directory")
    p.add_argument("--self-train-dir", metavar="DIR", help="with --self-train: keep the training's checkpoints in "
                   "DIR/last/ (every 500 steps, every 5 minutes and on SIGTERM), so --resume can continue them")
    p.add_argument("--resume", action="store_true", help="with --self-train-dir: continue the self-training "
                   "checkpointed there (refused when it was started on other reads or settings)")
    p.add_argument("--shard", help="i/n: correct only reads k with k %% n == i-1 (round-robin, file order) and "
                   "write OUT.seqfcn-shard.json beside each output; `seqfcn merge` of shards 1..n gives the "
                   "unsharded output. Under torchrun ranks shard "
                   "automatically and rank 0 merges")
    p.add_argument("--solid", type=solid_count, default=defaults.SOLID,
                   help="reads-spectrum models: k-mers counted this often are solid; the network runs only on "
                   "reads with a base no solid k-mer covers and its edits must make the k-mers solid "
                   "(default auto: the count histogram's valley; off: the network alone decides)")
    enc = p.add_mutually_exclusive_group()
    enc.add_argument("--phred64", dest="phred", action="store_const", const=64,
                     help="FASTQ qualities are Phred+64 (old Illumina); default: detected from the first reads")
    enc.add_argument("--phred33", dest="phred", action="store_const", const=33,
                     help="FASTQ qualities are Phred+33 (skip the detection); output keeps the input's encoding")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (also --quiet)")
    add_long_read_options(p)
    p.set_defaults(func=run_correct)
    declare_io(p, inputs=["reads", "model", "reference", "spectrum", "overlaps"], outputs=["output", "stats"],
                directories=["save_model"], written=model_files, folders=["self_train_dir"])


def model_files() -> tuple[str, ...]:
    """The files ``--save-model`` writes in its directory (checked before the run)."""
    from seqfcn.nn.checkpoint import CONFIG_NAME, WEIGHTS_NAME

    return (CONFIG_NAME, WEIGHTS_NAME)


def run_correct(args: argparse.Namespace) -> int:
    """``seqfcn correct``: reads in, corrected reads out (whole, one ``--shard`` or per torchrun rank)."""
    from seqfcn.correction.longread import is_pileup_model
    from seqfcn.correction.pipeline import (
        CorrectionOptions,
        correct_reads,
        program_record,
    )

    if args.self_train == (args.model is not None):
        raise SeqfcnError("give exactly one of --model DIR or --self-train")
    rank = torchrun_rank(args)
    if args.model is not None and is_pileup_model(args.model):
        if rank is not None:
            raise SeqfcnError("pileup correctors run as --shard i/n jobs, not under torchrun")
        return run_long_read_correct(args)
    if args.overlaps:
        raise SeqfcnError("--overlaps is for pileup correctors (e.g. --model ont_r9)")
    if rank is not None and args.self_train:  # before training, not after it
        raise SeqfcnError("--self-train under torchrun would train once per rank; train first (--save-model), "
                          "then launch the ranks with --model")
    progress = not (args.no_progress or args.quiet)
    model = args.model
    if len(args.reads) != len(args.output):
        raise SeqfcnError(f"{len(args.reads)} input file(s) need as many outputs (-o), not {len(args.output)}")
    if len(args.reads) > 1 and (rank is not None or args.self_train):
        raise SeqfcnError("paired files (R1 R2) with torchrun or --self-train are not supported; use --shard i/n "
                          "jobs, or --save-model a self-trained model first")
    if args.self_train and "-" in args.reads:
        raise SeqfcnError("--self-train reads the input twice; give a file, not stdin")
    if args.self_train_dir is None and args.resume:
        raise SeqfcnError("--resume needs --self-train-dir (where the self-training checkpoints are)")
    if args.self_train_dir is not None and not args.self_train:
        raise SeqfcnError("--self-train-dir is for --self-train")
    if args.self_train:
        from seqfcn.correction.selftrain import SelfTrainOptions, self_train_corrector
        from seqfcn.training.runs import exit_code

        model = self_train_corrector(args.reads[0], SelfTrainOptions(
            mode=args.self_train_mode, steps=args.self_train_steps, error_model=args.self_train_error_model,
            reference=args.reference, device=args.device, seed=args.seed, directory=args.self_train_dir,
            resume=args.resume, save_model=args.save_model, progress=progress))
        stopped = exit_code(str(model.self_train_info.get("stop_reason") or ""))
        if stopped:  # a signal during training: its checkpoint is kept (with --self-train-dir), nothing corrected
            return stopped
    from seqfcn.correction.shards import merge_reads
    from seqfcn.runtime.distributed import rank_device

    pg = program_record(sys.argv[1:])

    options = CorrectionOptions(
        min_confidence=defaults.MIN_CONFIDENCE if args.min_confidence is None else args.min_confidence,
        batch_size=args.batch_size, device=rank_device(args.device, rank),
        recalibrate=args.recalibrate, both_strands=not args.single_strand, rounds=args.rounds, solid=args.solid,
        output_format=args.output_format, reference=args.reference, phred=args.phred,
        stats_path=args.stats if rank is None else None, progress=progress, pg=pg, spectrum=args.spectrum,
        interleaved=args.interleaved, indels=args.indels, memory=args.memory,
    )

    def run(shard: tuple[int, int] | None, output: str | list[str]) -> None:
        correct_reads(args.reads, model, output, options, shard=shard)

    # one file: torchrun ranks may shard it; a pair runs whole or as one --shard
    single = len(args.reads) == 1 and not args.shard
    run_shards(args, rank, run, merge_reads, output=args.output[0] if single else args.output)
    return 0


def add_count(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add ``count`` to ``sub``."""
    p = sub.add_parser(
        "count",
        parents=[common],
        help="count the k-mer spectrum of reads once, for `seqfcn correct --spectrum` (e.g. on every shard)",
        description="Count the canonical k-mers of one or more read files (R1 and R2 together) into a "
        "spectrum file (numpy .npz of plain arrays + JSON: k, counts, the typical count, the read count, the input "
        "names, sizes and content fingerprints; never pickle). `seqfcn correct --spectrum FILE` then skips its counting pass, so n shards "
        "count once instead of n times.",
    )
    p.add_argument("reads", nargs="+", metavar="READS", help="FASTQ(.gz)/FASTA/SAM/BAM/CRAM files")
    p.add_argument("-o", "--output", required=True, help="spectrum file to write (e.g. sample.kmers)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--model", help="take k from this reads-spectrum model")
    size.add_argument("-k", "--kmer", type=int, help=f"k-mer length, odd (default {defaults.K_READS})")
    p.add_argument("--reference", help="reference FASTA (CRAM input)")
    p.add_argument("--shard", help="i/n: count only share i of n of the k-mers (every read is read; n is at most "
                   "the counter's 4 k-mer partitions); `seqfcn merge` of shards 1..n gives exactly the unsharded "
                   "spectrum")
    p.add_argument("--memory", type=memory_size, metavar="SIZE",
                   help="bytes the count may hold, e.g. 2G (k <= 21): counted in passes, each reading the input "
                   "again, the k-mers written to $TMPDIR (8 bytes a k-mer); the same spectrum file")
    p.set_defaults(func=run_count)
    declare_io(p, inputs=["reads", "model", "reference"], outputs=["output"])


def run_count(args: argparse.Namespace) -> int:
    """``seqfcn count``: the reads' k-mer spectrum, for ``seqfcn correct --spectrum``."""
    from seqfcn.correction.evidence import count_spectrum
    from seqfcn.runtime.tiling import parse_shard

    shard = parse_shard(args.shard) if args.shard else None
    meta = count_spectrum(args.reads, args.output, k=args.kmer, model=args.model, reference=args.reference,
                          shard=shard, memory=args.memory)
    log.info("wrote %s: %d distinct %d-mers of %d file(s)%s, typical count %.0f", args.output, meta["distinct"],
             meta["k"], len(args.reads), f" (count shard {args.shard})" if shard else "", meta["scale"])
    return 0
