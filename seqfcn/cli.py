"""Command-line interface: argparse subcommands, each a thin shell over one library function.

User errors (:class:`~seqfcn.errors.SeqfcnError`) become one line on stderr and
exit code 2; anything else is a bug and keeps its traceback (exit code 1).
"""
from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Sequence

from seqfcn import __version__
from seqfcn.correction import defaults
from seqfcn.errors import SeqfcnError

if TYPE_CHECKING:
    from seqfcn.train import RunOptions

log = logging.getLogger("seqfcn")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (a bad value is a usage error, exit 2, one line)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, not {value}")
    return value


def _solid_count(text: str) -> int | str | None:
    """argparse type for --solid: ``auto``, ``off`` or a count >= 1."""
    if text in ("auto", "off"):
        return None if text == "off" else text
    return positive_int(text)


def _common_parser() -> argparse.ArgumentParser:
    """Options every subcommand shares."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("common options")
    group.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")
    group.add_argument("-v", "--verbose", action="store_true", help="debug messages on stderr")
    group.add_argument("--threads", type=positive_int, default=None, help="CPU threads for torch (default: torch's)")
    group.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    group.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    return common


@dataclass(frozen=True)
class _IOSpec:
    """Which arguments of a subcommand are inputs, output files and output directories:
    ``(dest, label)`` pairs, checked by :func:`seqfcn.io.overwrite.check_outputs` before the run."""

    inputs: tuple[tuple[str, str], ...] = ()
    outputs: tuple[tuple[str, str], ...] = ()
    directories: tuple[tuple[str, str], ...] = ()
    written: Callable[[], Sequence[str]] | None = None  # names written inside the directories
    folders: tuple[tuple[str, str], ...] = ()  # output directories whose entries are named during the run


def _declare_io(p: argparse.ArgumentParser, inputs: Sequence[str] = (), outputs: Sequence[str] = (),
                directories: Sequence[str] = (), written: Callable[[], Sequence[str]] | None = None,
                folders: Sequence[str] = ()) -> None:
    """Record a subcommand's input and output arguments (by dest) for the checks of :func:`_check_io`.

    ``written`` (called only when checking, so heavy modules load late) names the entries
    the command writes inside its output directories; ``folders`` are output directories
    whose entries are only named during the run (checked then by :func:`_refuse_overwrite`)."""
    labels = {a.dest: "/".join(a.option_strings) or a.dest for a in p._actions}

    def pairs(dests: Sequence[str]) -> tuple[tuple[str, str], ...]:
        return tuple((d, labels[d]) for d in dests)

    p.set_defaults(io=_IOSpec(pairs(inputs), pairs(outputs), pairs(directories), written, pairs(folders)))


def _check_io(args: argparse.Namespace) -> None:
    """Refuse, before any input is read or any work starts, a run whose outputs would replace
    one of its inputs or cannot be written (an output file that is a directory or lies in a
    missing directory, an output directory that is a file)."""
    spec: _IOSpec | None = getattr(args, "io", None)
    if spec is None:
        return
    from seqfcn.io.overwrite import check_output_places, check_outputs

    def values(pairs: tuple[tuple[str, str], ...]) -> dict:
        return {label: getattr(args, dest, None) for dest, label in pairs}

    names = list(spec.written()) if spec.written is not None else None
    directories = {label: (getattr(args, dest, None), names) for dest, label in spec.directories}
    check_outputs(values(spec.inputs), values(spec.outputs), directories)
    check_output_places(values(spec.outputs), values(spec.directories + spec.folders))


# --------------------------------------------------------------------------- info
def _add_info(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "info",
        parents=[common],
        help="summarise a genome FASTA (chromosomes, composition, encoding) or a model directory",
        description="Summarise a FASTA genome or a seqfcn model directory.",
    )
    p.add_argument("path", help="FASTA (plain or bgzip), a model directory, the directory `seqfcn train` wrote or "
                   "a shipped model's name")
    p.add_argument("--json", action="store_true",
                   help="print as JSON: a model's whole summary, or one object per genome record")
    p.set_defaults(func=_run_info)
    _declare_io(p, inputs=["path"])


def _run_info(args: argparse.Namespace) -> int:
    from pathlib import Path

    from seqfcn.resources import MODELS, model_path

    path = model_path(args.path) if args.path in MODELS else Path(args.path)
    if path.is_dir() or path.suffix in (".json", ".safetensors"):
        from seqfcn.checkpoint import describe_model, model_summary

        if args.json:
            import json

            print(json.dumps(model_summary(path), indent=2, sort_keys=True, default=str))
        else:
            print(describe_model(path))
        return 0
    from seqfcn.io.fasta import SUMMARY_COLUMNS, genome_composition

    rows = genome_composition(path)
    if args.json:
        import json
        import math

        print(json.dumps([{k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()}
                          for r in rows], indent=2))
    else:
        print(_text_table(rows, SUMMARY_COLUMNS, {"gc": "{:.4f}"}))
    return 0


def _text_table(rows: Sequence[dict], columns: Sequence[str], formats: dict[str, str]) -> str:
    """Rows as a right-aligned plain-text table with a header line (``formats``: per-column
    ``str.format`` patterns)."""
    cells = [list(columns)] + [[formats.get(c, "{}").format(r[c]) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join("  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells)


# --------------------------------------------------------------------------- models
def _add_models(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("models", parents=[common], help="list the models and motif databases shipped with seqfcn",
                       description="List the shipped models (--model NAME) and motif databases (--motifs NAME): "
                       "name, what each is for, licence and where it is installed.")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=_run_models)
    _declare_io(p)  # reads and writes no files


def _run_models(args: argparse.Namespace) -> int:
    import json

    from seqfcn.resources import shipped_table

    rows = shipped_table()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        print(f"{r['name']:<{width}}  {r['kind']:<6}  {r['purpose']}  [{r['licence']}]")
    return 0


# --------------------------------------------------------------------------- evaluate
def _add_evaluate(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "evaluate",
        parents=[common],
        help="evaluate a read correction: TP/FP/FN, gain, error rates before/after",
        description="Evaluate corrected reads against simulated true reads (matched by name) or by "
        "aligning original and corrected reads to a reference. Prints a table; --json writes the metrics.",
    )
    p.add_argument("what", choices=["correction"], help="what to evaluate")
    p.add_argument("--original", required=True, help="reads before correction (FASTQ/FASTA/BAM)")
    p.add_argument("--corrected", required=True, help="reads after correction (same names)")
    truth = p.add_mutually_exclusive_group(required=True)
    truth.add_argument("--truth", help="true reads by name: FASTA/FASTQ, or SAM/BAM such as art_illumina -ef output")
    truth.add_argument("--reference", help="reference FASTA to align original and corrected reads to")
    p.add_argument("--aligner", choices=["auto", "bwa", "minimap2"], default="auto",
                   help="with --reference: bwa mem (short reads) or minimap2 (default auto: by read length)")
    p.add_argument("--json", dest="json_path", help="also write the metrics as JSON here")
    p.set_defaults(func=_run_evaluate)
    _declare_io(p, inputs=["original", "corrected", "truth", "reference"], outputs=["json_path"])


def _run_evaluate(args: argparse.Namespace) -> int:
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

# --------------------------------------------------------------------------- scan
def _add_scan(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "scan",
        parents=[common],
        help="scan a genome with PWMs (MEME/JASPAR/TRANSFAC) on both strands → BED6+ hits",
        description="Scan every chromosome (or --regions) with motifs on both strands; write hits with "
        "exact p-values (FIMO's score-distribution DP) and Benjamini-Hochberg q-values as BED6+: "
        "chrom, start, end, motif, score, strand, p, q, sequence, motif_id.",
    )
    p.add_argument("genome", help="genome FASTA (plain or bgzip; indexed on first use)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--motifs", help="motif file (MEME, JASPAR .jaspar/.pfm or TRANSFAC) or a shipped "
                      "database's name: jaspar2024 (`seqfcn models` lists them)")
    what.add_argument("--model", help="a trained motif model (directory, file or shipped name): write its called "
                      "sites (thresholded maxima of the strand-merged probability after non-maximum suppression) "
                      "as BED6+summit instead of PWM hits")
    p.add_argument("-o", "--output", default="-", help="output BED (default - = stdout; .gz compresses)")
    p.add_argument("--thresh", type=float, default=1e-4, help="report hits with p-value < THRESH (default 1e-4)")
    p.add_argument("--motif", dest="motif_names", action="extend", nargs="+", metavar="NAME",
                   help="scan only these motifs (name or id; repeatable)")
    p.add_argument("--max-hits", type=int, default=None, help="keep only the N hits with the smallest p-values")
    p.add_argument("--background", default="uniform",
                   help="uniform (default), genome (base frequencies of the scanned sequence) or A,C,G,T probabilities")
    p.add_argument("--pseudocount", type=float, default=0.1, help="FIMO's --motif-pseudo (default 0.1)")
    p.add_argument("--regions", help="BED file: scan only inside these intervals")
    p.add_argument("--batch-size", default="auto", help="bases scored per tile (default auto = 1000000)")
    p.add_argument("--shard", help="i/n: scan only the i-th (1-based) of n equal shares of the tiles; the file "
                   "is a shard (full-precision p, tested count) for `seqfcn merge`. Under torchrun ranks shard "
                   "automatically and rank 0 merges")
    p.add_argument("--method", choices=["auto", "conv", "table"], default="auto",
                   help="scoring kernel: conv (batched conv1d, CPU/CUDA), table (5-mer lookups, CPU); "
                   "auto = table on CPU, conv on CUDA")
    p.add_argument("--q-tests", choices=["tested", "hits"], default="tested",
                   help="BH q-values over all scored windows (default) or over the reported hits (FIMO)")
    site = p.add_argument_group("model scan (--model)")
    site.add_argument("--site-threshold", type=float, default=0.5,
                      help="smallest strand-merged probability of a site (default 0.5)")
    site.add_argument("--min-distance", type=int, help="non-maximum suppression distance in bases (default: the "
                      "model's motif width, else half its receptive field)")
    site.add_argument("--output-channel", type=int, default=0, help="which model output to scan (default 0)")
    site.add_argument("--merge", choices=["mean", "max"], default="mean", help="strand merge (default mean)")
    p.set_defaults(func=_run_scan)
    _declare_io(p, inputs=["genome", "motifs", "model", "regions"], outputs=["output"])


def _bed_regions(path: str | None, genome: str) -> list[tuple[str, int, int]] | None:
    """0-based ``(chrom, start, end)`` of a ``--regions`` BED file (None without one), in file
    order, checked by the one rule of every subcommand that takes ``--regions``: a file with
    no interval, an empty interval, a chromosome the genome lacks or an interval running past
    the chromosome's end is refused (one line naming the BED file, its line and, past the end,
    the chromosome's length); nothing is clipped or dropped."""
    if path is None:
        return None
    from seqfcn.errors import RegionError
    from seqfcn.io.fasta import Genome
    from seqfcn.io.intervals import read_bed

    bed = read_bed(path)
    if not len(bed):
        raise RegionError("no intervals; --regions needs at least one", path=path)
    regions = [(str(c), int(s), int(e)) for c, s, e in zip(bed["chrom"], bed["start"], bed["end"])]
    with Genome(genome) as g:
        sizes = g.chrom_sizes
    for (chrom, start, end), line in zip(regions, bed.attrs["lines"]):
        where = f"line {line}: interval {chrom}:{start}-{end}"
        if chrom not in sizes:
            raise RegionError(f"{where}: chromosome {chrom!r} is not in {genome}", path=path)
        if end <= start:
            raise RegionError(f"{where} is empty (end must be after start)", path=path)
        if end > sizes[chrom]:
            raise RegionError(f"{where} runs past the chromosome's end ({chrom} has {sizes[chrom]:,} bp in "
                              f"{genome})", path=path)
    return regions


def _refuse_overwrite(args: argparse.Namespace, label: str, paths: Sequence[str]) -> None:
    """Refuse, before writing, files a command names itself (per-channel tracks, logos) that
    would replace one of its inputs (:func:`seqfcn.io.overwrite.check_outputs`)."""
    from seqfcn.io.overwrite import check_outputs

    spec: _IOSpec = args.io
    check_outputs({lab: getattr(args, dest, None) for dest, lab in spec.inputs},
                  {f"{label} ({p})": p for p in paths})


def _model_device(args: argparse.Namespace, rank=None) -> str:
    """``--device`` for a model job: ``auto`` resolved (cuda, mps, cpu), the rank's GPU under torchrun."""
    from seqfcn.distributed_inference import rank_device
    from seqfcn.train import resolve_device

    return str(resolve_device(rank_device(args.device, rank)))


def _run_model_scan(args: argparse.Namespace) -> int:
    from seqfcn.io.intervals import write_bed
    from seqfcn.motifs.scan_model import scan_model_tables

    for flag, default in (("max_hits", None), ("shard", None), ("background", "uniform"), ("motif_names", None)):
        if getattr(args, flag) != default:
            raise SeqfcnError(f"--{flag.replace('_', '-')} is for PWM scans (--motifs), not --model")
    window = _tile_bases(args.batch_size, 100_000)
    tables = scan_model_tables(args.genome, args.model, window=window, device=_model_device(args),
                               threshold=args.site_threshold, min_distance=args.min_distance,
                               regions=_bed_regions(args.regions, args.genome),
                               output=args.output_channel, merge=args.merge, progress=not args.quiet)
    count = [0]

    def counted():
        for table in tables:
            count[0] += len(table)
            yield table

    write_bed(counted(), args.output)  # streamed: memory does not grow with the sites
    log.info("%d sites", count[0])
    return 0


def _tile_bases(text: str, auto: int) -> int:
    """``scan --batch-size``: ``auto`` (``auto`` bases) or a number of bases."""
    if text == "auto":
        return auto
    try:
        return int(text)
    except ValueError:
        raise SeqfcnError(f"--batch-size must be auto or a number of bases, got {text!r}") from None


def _run_scan(args: argparse.Namespace) -> int:
    from seqfcn.errors import SeqfcnError
    from seqfcn.motifs.scan import scan_pwm, scan_pwm_bed, write_hits_bed

    if args.model:
        return _run_model_scan(args)
    tile = _tile_bases(args.batch_size, 1_000_000)
    background: str | list[float] = args.background
    if background not in ("uniform", "genome"):
        try:
            background = [float(x) for x in background.split(",")]
        except ValueError:
            raise SeqfcnError(f"--background must be uniform, genome or A,C,G,T, got {args.background!r}") from None
        if len(background) != 4 or min(background) <= 0 or abs(sum(background) - 1) > 1e-3:
            raise SeqfcnError(f"--background needs 4 positive probabilities summing to 1, got {args.background!r}")
        background = [x / sum(background) for x in background]
    _bed_regions(args.regions, args.genome)  # the --regions rule of every subcommand, before the scan
    from seqfcn.distributed_inference import rank_device
    from seqfcn.merge import merge_scan_shards
    from seqfcn.shard import scan_run_id, write_scan_shard

    run_id = scan_run_id(genome=args.genome, motifs=args.motifs, motif_names=args.motif_names, thresh=args.thresh,
                         background=background, pseudocount=args.pseudocount, regions=args.regions, tile=tile,
                         q_tests=args.q_tests)
    rank = _torchrun_rank(args)
    if (args.shard or rank is not None) and args.max_hits is not None:
        raise SeqfcnError("--max-hits keeps the best hits of the whole genome; it cannot be combined with sharding")

    def run(shard: tuple[int, int] | None, output: str) -> None:
        options = dict(thresh=args.thresh, motif_names=args.motif_names, background=background,
                       pseudocount=args.pseudocount, regions=args.regions, device=rank_device(args.device, rank),
                       method=args.method, tile_size=tile, q_tests=args.q_tests, threads=args.threads,
                       progress=not args.quiet)
        if shard is None and args.max_hits is None:  # streamed: memory does not grow with the hits
            done = scan_pwm_bed(args.genome, args.motifs, output, **options)
            log.info("%d hits (%d windows tested)", done["hits"], done["tested"])
            return
        hits = scan_pwm(args.genome, args.motifs, max_hits=args.max_hits, shard=shard, **options)
        if shard is None:
            write_hits_bed(hits, output)
        else:
            write_scan_shard(hits, output, shard, q_tests=args.q_tests, run=run_id)
        log.info("%d hits (%d windows tested)", len(hits), hits.attrs.get("tested", 0))

    _run_shards(args, rank, run, merge_scan_shards)
    return 0


def _torchrun_rank(args: argparse.Namespace):
    """This process's torchrun rank (None outside torchrun); ``--shard`` and torchrun exclude each other."""
    from seqfcn.distributed_inference import torchrun_rank

    rank = torchrun_rank()
    if args.shard and rank is not None:
        raise SeqfcnError("--shard and torchrun both split the work; use one of them")
    return rank


def _run_shards(args: argparse.Namespace, rank, run: Callable[[tuple[int, int] | None, Any], None],
                merge: Callable[[Sequence[str], str], object], output: Any = None) -> None:
    """Run the job: one ``--shard i/n``, or every torchrun rank's share merged by rank 0, or all of it.
    ``output``: what ``run`` writes (default ``args.output``); paired outputs (a list) run unsharded
    or as one ``--shard``, never under torchrun."""
    from seqfcn.distributed_inference import run_sharded
    from seqfcn.tiling import parse_shard

    output = args.output if output is None else output
    if args.shard:
        run(parse_shard(args.shard), output)
    elif isinstance(output, list):
        run(None, output)
    else:
        run_sharded(output, run, merge, info=rank)


# --------------------------------------------------------------------------- predict
def _add_model_argument(p: argparse.ArgumentParser) -> None:
    """``--model`` of the jobs that run a trained sequence model (predict, attribute, variants, discover)."""
    p.add_argument("--model", required=True, help="model directory, file or shipped name (4 input channels; "
                   "`seqfcn models` lists the shipped ones)")


def _add_predict(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "predict",
        parents=[common],
        help="per-base outputs of a trained model over a genome → bigWig / bedGraph",
        description="Run a trained sequence model over every chromosome (or --regions) in exactly tiled windows, "
        "both strands merged, and write its per-base outputs as bigWig (-o NAME.bw, needs pyBigWig: the "
        "[bigwig] extra) or bedGraph (any other name; .gz compresses). Streams tile by tile in bounded memory. "
        "A model with several outputs gives one file per channel (NAME.<channel>.bw) unless --output-channel.",
    )
    p.add_argument("genome", help="genome FASTA (plain or bgzip; indexed on first use)")
    _add_model_argument(p)
    p.add_argument("-o", "--output", required=True, help="output track: .bw/.bigwig = bigWig, else bedGraph")
    p.add_argument("--regions", help="BED file: predict only inside these intervals (merged)")
    p.add_argument("--output-channel", type=int, action="append", dest="channels", metavar="N",
                   help="write only this output channel (repeatable; default all)")
    p.add_argument("--merge", choices=["mean", "max"], default="mean", help="strand merge (default mean)")
    p.add_argument("--activation", choices=["auto", "sigmoid", "softmax", "none"], default="auto",
                   help="applied to the outputs before the strand merge (default auto: what the model was "
                   "trained with: sigmoid for motif/binary, softmax for classes, none for regression)")
    p.add_argument("--window", type=positive_int, default=100_000, help="tile core length in bases (default 100000)")
    p.add_argument("--batch-size", type=positive_int, default=16, help="windows per model call (default 16)")
    p.add_argument("--shard", help="i/n: only the i-th (1-based) of n contiguous shares of the tiles (bedGraph); "
                   "`seqfcn merge` joins the shards into exactly the unsharded file. Under torchrun ranks shard "
                   "automatically and rank 0 merges")
    p.set_defaults(func=_run_predict)
    _declare_io(p, inputs=["genome", "model", "regions"], outputs=["output"])


def _run_predict(args: argparse.Namespace) -> int:
    from seqfcn.io.intervals import track_format
    from seqfcn.merge import merge_predict_shards
    from seqfcn.predict import predict_genome_tracks

    rank = _torchrun_rank(args)
    if rank is not None and track_format(args.output) == "bigwig":
        raise SeqfcnError("under torchrun predict writes bedGraph (rank 0 merges the ranks' shards); give "
                          "-o NAME.bedGraph")
    regions = _bed_regions(args.regions, args.genome)
    device = _model_device(args, rank)

    def run(shard: tuple[int, int] | None, output: str) -> None:
        done = predict_genome_tracks(args.genome, args.model, output, regions=regions, outputs=args.channels,
                                     merge=args.merge, activation=args.activation, window=args.window,
                                     batch_size=args.batch_size, device=device, shard=shard,
                                     progress=not args.quiet,
                                     check_paths=lambda paths: _refuse_overwrite(args, "-o", paths))
        log.info("%d bases x %d channel(s) (%s) -> %s", done["bases"], len(done["channels"]), done["activation"],
                 ", ".join(done["files"]))

    _run_shards(args, rank, run, merge_predict_shards)
    return 0


# --------------------------------------------------------------------------- attribute
def _add_attribute(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "attribute",
        parents=[common],
        help="which bases a model's output depends on: ISM, gradient x input, integrated gradients",
        description="For each --regions interval, attribute one number of the model's output (the centre base, "
        "the sum over the region or a central window; one output channel; both strands merged) to the "
        "region's bases: exact in-silico mutagenesis (ism), gradient x input (grad_input) or integrated "
        "gradients from a uniform reference. Writes the contribution of each base present as bigWig (-o "
        "NAME.bw) or bedGraph, and with --npz the (4, L) hypothetical contributions of every region.",
    )
    p.add_argument("genome", help="genome FASTA (plain or bgzip; indexed on first use)")
    _add_model_argument(p)
    p.add_argument("--regions", required=True, help="BED file of the regions to attribute (each on its own)")
    p.add_argument("-o", "--output", help="contribution track: .bw/.bigwig = bigWig, else bedGraph")
    p.add_argument("--npz", help="also write every region's (4, L) hypothetical contributions (numpy .npz)")
    p.add_argument("--method", choices=["ism", "grad_input", "integrated_gradients"], default="grad_input",
                   help="attribution method (default grad_input)")
    p.add_argument("--target", default="center", help="center (default), sum, logsumexp (a smooth maximum over the "
                   "region) or window:W (sum over the W central bases of the region)")
    p.add_argument("--output-channel", type=int, default=0, help="which model output (default 0)")
    p.add_argument("--activation", choices=["none", "sigmoid", "softmax"], default="none",
                   help="applied to the output before the target is taken (default none: logits)")
    p.add_argument("--steps", type=positive_int, default=32, help="integrated-gradients path steps (default 32)")
    p.add_argument("--batch-size", type=positive_int, default=128, help="ISM mutants per model call (default 128)")
    p.set_defaults(func=_run_attribute)
    _declare_io(p, inputs=["genome", "model", "regions"], outputs=["output", "npz"])


def _run_attribute(args: argparse.Namespace) -> int:
    from seqfcn.attribute import attribute_regions, write_attributions
    from seqfcn.io.fasta import Genome

    if args.output is None and args.npz is None:
        raise SeqfcnError("give -o TRACK, --npz FILE or both")
    regions = _bed_regions(args.regions, args.genome)
    results = attribute_regions(args.genome, args.model, regions, target=args.target, channel=args.output_channel,
                                method=args.method, activation=args.activation, steps=args.steps,
                                batch_size=args.batch_size, device=_model_device(args), progress=not args.quiet)
    with Genome(args.genome) as genome:
        sizes = genome.chrom_sizes
    write_attributions(results, sizes, track=args.output, npz=args.npz)
    log.info("%d regions attributed (%s, target %s)", len(results), args.method, args.target)
    return 0


# --------------------------------------------------------------------------- variants
def _add_variants(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "variants",
        parents=[common],
        help="effects of VCF variants (SNVs, indels) on a model's output → TSV or VCF",
        description="Score every ALT allele of a VCF/BCF (multi-allelic records split) with a trained model: "
        "the reference and alternative windows around the variant, both strands averaged. REF is checked "
        "against the genome (a mismatch is reported, not scored). Effects (alt - ref): the output at the "
        "variant's first base, and its sum over the variant and --window bases around it. Writes a TSV, or for "
        "-o NAME.vcf(.gz)/.bcf the input records as they are (every field and sample column) with INFO "
        "SEQFCN_EFFECT, SEQFCN_WINDOW_EFFECT, SEQFCN_STATUS added. Symbolic ALTs (<DEL>, *, breakends) are "
        "reported, not scored.",
    )
    p.add_argument("vcf", help="VCF (plain, bgzip or gzip) or BCF")
    p.add_argument("--genome", required=True, help="the reference FASTA of the VCF")
    _add_model_argument(p)
    p.add_argument("-o", "--output", default="-", help="effects: .tsv (default - = stdout) or .vcf/.vcf.gz/.bcf")
    p.add_argument("--output-channel", type=int, default=0, help="which model output (default 0)")
    p.add_argument("--window", type=int, default=100, help="bases around the variant in the window sum "
                   "(default 100: 50 on each side)")
    p.add_argument("--activation", choices=["auto", "sigmoid", "softmax", "none"], default="auto",
                   help="applied to the output (default auto: what the model was trained with)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="variants per model call (default 64)")
    p.set_defaults(func=_run_variants)
    _declare_io(p, inputs=["vcf", "genome", "model"], outputs=["output"])


def _run_variants(args: argparse.Namespace) -> int:
    from seqfcn.io.vcf import VcfInput
    from seqfcn.variants import score_variants, write_effects

    vcf = VcfInput(args.vcf)  # checked here; read once more per pass (scoring, VCF output)
    rows = score_variants(vcf, args.genome, args.model, channel=args.output_channel, window=args.window,
                          activation=args.activation, batch_size=args.batch_size, device=_model_device(args),
                          progress=not args.quiet)
    write_effects(rows, args.output, vcf)
    log.info("%d ALT alleles, %d scored", len(rows), sum(r["status"] == "ok" for r in rows))
    return 0


# --------------------------------------------------------------------------- discover
def _add_discover(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "discover",
        parents=[common],
        help="motifs a trained model relies on: seqlets from attributions -> clusters -> MEME + logos + JASPAR matches",
        description="Attribute every sequence of a FASTA (or the --regions of a genome) with gradient x input of "
        "the model's smooth maximum, cut seqlets above a dinucleotide-shuffle null, cluster them (aligned, both "
        "strands) and write the clusters' PFMs as MEME, optionally with sequence logos, each ranked against a "
        "motif database with an empirical similarity p-value.",
    )
    p.add_argument("genome", help="FASTA of sequences (e.g. peaks) or a genome with --regions")
    _add_model_argument(p)
    p.add_argument("-o", "--output", required=True, help="discovered motifs, MEME format")
    p.add_argument("--regions", help="BED file: the sequences to attribute (default: every FASTA record)")
    p.add_argument("--motifs", default="jaspar2024", help="database to match against (default jaspar2024)")
    p.add_argument("--matches", help="write the top matches of every motif as TSV")
    p.add_argument("--logos", help="folder for a PNG sequence logo per motif (needs matplotlib: the [plot] extra)")
    p.add_argument("--output-channel", type=int, default=0, help="which model output (default 0)")
    p.add_argument("--width", type=positive_int, default=15, help="seqlet width (default 15)")
    p.add_argument("--alpha", type=float, default=0.01, help="seqlet threshold: the 1-alpha quantile of the "
                   "shuffled sequences' best windows (default 0.01)")
    p.add_argument("--min-seqlets", type=positive_int, default=10, help="smallest cluster kept (default 10)")
    p.add_argument("--top", type=positive_int, default=3, help="database matches listed per motif (default 3)")
    p.set_defaults(func=_run_discover)
    _declare_io(p, inputs=["genome", "model", "regions", "motifs"], outputs=["output", "matches"], folders=["logos"])


def _run_discover(args: argparse.Namespace) -> int:
    import os

    from seqfcn.io.motifs import read_motifs, write_meme
    from seqfcn.motifs.discover import discover_motifs, draw_logo

    database = read_motifs(args.motifs)
    done = discover_motifs(args.genome, args.model, regions=_bed_regions(args.regions, args.genome), database=database,
                           channel=args.output_channel, width=args.width, alpha=args.alpha,
                           min_seqlets=args.min_seqlets, top=args.top, device=_model_device(args), seed=args.seed,
                           progress=not args.quiet)
    logos = [os.path.join(args.logos, f"{m.id}.png") for m in done["motifs"]] if args.logos else []
    _refuse_overwrite(args, "--logos", logos)
    write_meme(done["motifs"], args.output)
    if args.logos:
        os.makedirs(args.logos, exist_ok=True)
        for m, matches, logo in zip(done["motifs"], done["matches"], logos):
            best = f" ~ {matches[0]['name']} ({matches[0]['id']})" if matches else ""
            draw_logo(m.pfm, logo, f"{m.id}: {m.nsites} seqlets{best}")
    if args.matches:
        from seqfcn.atomic import atomic_text

        with atomic_text(args.matches) as fh:
            fh.write("motif\tseqlets\trank\tid\tname\tsimilarity\tp\tE\n")
            for m, matches in zip(done["motifs"], done["matches"]):
                for x in matches:
                    fh.write(f"{m.id}\t{m.nsites}\t{x['rank']}\t{x['id']}\t{x['name']}\t{x['similarity']:.4f}\t"
                             f"{x['p']:.3g}\t{x['E']:.3g}\n")
    log.info("%d seqlets (threshold %.3g) -> %d motifs", done["seqlets"], done["threshold"], len(done["motifs"]))
    for m, matches in zip(done["motifs"], done["matches"]):
        top = ", ".join(f"{x['id']} {x['name']} ({x['similarity']:.3f}, E={x['E']:.2g})" for x in matches)
        log.info("%s: %d seqlets, width %d; best matches: %s", m.id, m.nsites, m.width, top or "-")
    return 0


# --------------------------------------------------------------------------- correct
def _add_correct(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
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
                   "its k and the content of the files it was counted from must match")
    p.add_argument("--output-format", choices=("fastq", "fasta", "bam", "sam"), help="override the extension")
    p.add_argument("--min-confidence", type=float, default=defaults.MIN_CONFIDENCE,
                   help=f"change a base only when the model's posterior exceeds this (default "
                   f"{defaults.MIN_CONFIDENCE}; 1 = never)")
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
    p.add_argument("--rounds", type=int,
                   help="passes of the model over each read (default: 2 for k-mer models, 4 with indels, else 1)")
    p.add_argument("--save-model", help="with --self-train: save the trained model to this directory")
    p.add_argument("--self-train-dir", metavar="DIR", help="with --self-train: keep the training's checkpoints in "
                   "DIR/last/ (every 500 steps, every 5 minutes and on SIGTERM), so --resume can continue them")
    p.add_argument("--resume", action="store_true", help="with --self-train-dir: continue the self-training "
                   "checkpointed there (refused when it was started on other reads or settings)")
    p.add_argument("--shard", help="i/n: correct only reads k with k %% n == i-1 (round-robin, file order) and "
                   "write OUT.seqfcn-shard.json beside each output; `seqfcn merge` of shards 1..n gives the "
                   "unsharded output. Under torchrun ranks shard "
                   "automatically and rank 0 merges")
    p.add_argument("--solid", type=_solid_count, default=defaults.SOLID,
                   help="reads-spectrum models: k-mers counted this often are solid; the network runs only on "
                   "reads with a base no solid k-mer covers and its edits must make the k-mers solid "
                   "(default auto: the count histogram's valley; off: the network alone decides)")
    enc = p.add_mutually_exclusive_group()
    enc.add_argument("--phred64", dest="phred", action="store_const", const=64,
                     help="FASTQ qualities are Phred+64 (old Illumina); default: detected from the first reads")
    enc.add_argument("--phred33", dest="phred", action="store_const", const=33,
                     help="FASTQ qualities are Phred+33 (skip the detection); output keeps the input's encoding")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (also --quiet)")
    p.set_defaults(func=_run_correct)
    _declare_io(p, inputs=["reads", "model", "reference", "spectrum"], outputs=["output", "stats"],
                directories=["save_model"], written=_model_files, folders=["self_train_dir"])


def _model_files() -> tuple[str, ...]:
    from seqfcn.checkpoint import CONFIG_NAME, WEIGHTS_NAME

    return (CONFIG_NAME, WEIGHTS_NAME)


def _self_train_run(args: argparse.Namespace) -> RunOptions | None:
    """``--self-train-dir`` / ``--resume`` as :class:`seqfcn.train.RunOptions` (None without a directory),
    checked against the run already there before any work."""
    import os

    if args.self_train_dir is None:
        if args.resume:
            raise SeqfcnError("--resume needs --self-train-dir (where the self-training checkpoints are)")
        return None
    if not args.self_train:
        raise SeqfcnError("--self-train-dir is for --self-train")
    if os.path.exists(args.self_train_dir) and not os.path.isdir(args.self_train_dir):
        raise SeqfcnError("--self-train-dir: exists and is not a directory", path=args.self_train_dir)
    from seqfcn.tasks import error_model_identity
    from seqfcn.train import RunOptions, input_identity, start_run

    identity = {"task": "self-train", "mode": args.self_train_mode, "reads": input_identity(args.reads[0]),
                "reference": input_identity(args.reference), "steps": args.self_train_steps, "seed": args.seed,
                "error_model": None if args.self_train_mode == "kmer"
                else error_model_identity(args.self_train_error_model)}
    return RunOptions(args.self_train_dir, resume=args.resume,
                      record=start_run(args.self_train_dir, identity, resume=args.resume, force=None))


def _run_correct(args: argparse.Namespace) -> int:
    from seqfcn.correction.model_files import save_corrector
    from seqfcn.correction.pipeline import CorrectionOptions, correct_reads
    from seqfcn.correction.selftrain import self_train, self_train_kmer

    if args.self_train == (args.model is not None):
        raise SeqfcnError("give exactly one of --model DIR or --self-train")
    rank = _torchrun_rank(args)
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
    run = _self_train_run(args)
    if args.self_train:
        if args.self_train_mode == "kmer":
            model = self_train_kmer(args.reads[0], steps=args.self_train_steps, device=args.device, seed=args.seed,
                                    reference=args.reference, progress=progress, run=run)
        else:
            model = self_train(args.reads[0], steps=args.self_train_steps, error_model=args.self_train_error_model,
                               device=args.device, seed=args.seed, reference=args.reference, progress=progress,
                               run=run)
        from seqfcn.train import exit_code

        stopped = exit_code(str(model.self_train_info.get("stop_reason") or ""))
        if stopped:  # a signal during training: its checkpoint is kept (with --self-train-dir), nothing corrected
            return stopped
        if args.save_model:
            record = {} if run is None or run.record is None else {"run": run.record.to_dict()}
            save_corrector(model, args.save_model, metadata={"self_train": model.self_train_info, **record})
    from seqfcn.distributed_inference import rank_device
    from seqfcn.merge import merge_reads
    from seqfcn.shard import strip_shard_argument

    command = strip_shard_argument(" ".join(["seqfcn", *sys.argv[1:]]))
    pg = {"ID": "seqfcn", "PN": "seqfcn", "VN": __version__, "CL": command}

    options = CorrectionOptions(
        min_confidence=args.min_confidence, batch_size=args.batch_size, device=rank_device(args.device, rank),
        recalibrate=args.recalibrate, both_strands=not args.single_strand, rounds=args.rounds, solid=args.solid,
        output_format=args.output_format, reference=args.reference, phred=args.phred,
        stats_path=args.stats if rank is None else None, progress=progress, pg=pg, spectrum=args.spectrum,
        interleaved=args.interleaved,
    )

    def run(shard: tuple[int, int] | None, output: str | list[str]) -> None:
        correct_reads(args.reads, model, output, options, shard=shard)

    # one file: torchrun ranks may shard it; a pair runs whole or as one --shard
    single = len(args.reads) == 1 and not args.shard
    _run_shards(args, rank, run, merge_reads, output=args.output[0] if single else args.output)
    return 0


# --------------------------------------------------------------------------- count
def _add_count(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
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
    p.set_defaults(func=_run_count)
    _declare_io(p, inputs=["reads", "model", "reference"], outputs=["output"])


def _run_count(args: argparse.Namespace) -> int:
    from seqfcn.correction.evidence import count_reads

    k = args.kmer or defaults.K_READS
    if k % 2 == 0 or not 3 <= k <= 31:
        raise SeqfcnError(f"-k must be odd and in 3..31 (as a model's k), not {k}")
    if args.model:
        from seqfcn.correction.model_files import load_corrector

        evidence = load_corrector(args.model).evidence
        if evidence is None or evidence.source != "reads":
            raise SeqfcnError("not a reads-spectrum model (it needs no spectrum)", path=args.model)
        k = evidence.k
    if "-" in args.reads or args.output == "-":
        raise SeqfcnError("seqfcn count reads files and writes a file: give paths, not -")
    table = count_reads(args.reads, k, reference=args.reference)
    table.save(args.output)
    log.info("wrote %s: %d distinct %d-mers of %d file(s), typical count %.0f", args.output, len(table), k,
             len(args.reads), table.scale)
    return 0


# --------------------------------------------------------------------------- merge
def _add_merge(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "merge",
        parents=[common],
        help="merge shard outputs (scan --shard, correct --shard) into the unsharded output",
        description="Merge the outputs of n shard jobs into exactly what the unsharded run writes: scan shards "
        "(q-values recomputed over the whole genome), predict bedGraph shards, other sorted BED files (sorted "
        "merge, first file's header), or reads (FASTQ/FASTA/SAM/BAM: re-interleaved round-robin, or concatenated "
        "with --order concat). Shards may be given in any order: each records its input's content fingerprint, "
        "its i/n and its run (read shards in the NAME.seqfcn-shard.json manifest beside them), and a set with a "
        "shard missing, repeated or from another input or run is refused before anything is written.",
    )
    p.add_argument("shards", nargs="+", help="shard files, in any order (--order concat: in the order given)")
    p.add_argument("-o", "--output", default="-", help="merged output (default - = stdout; .gz compresses)")
    p.add_argument("--kind", choices=("auto", "scan", "bed", "reads"), default="auto",
                   help="what the shards are (default auto: scan shard header, BED by name, else reads)")
    p.add_argument("--order", choices=("interleave", "concat"), default="interleave",
                   help="reads: interleave (undo --shard, default; needs the shards' manifests) or concat "
                   "(plain chunks, in the order given)")
    p.set_defaults(func=_run_merge)
    _declare_io(p, inputs=["shards"], outputs=["output"])


def _run_merge(args: argparse.Namespace) -> int:
    from seqfcn.merge import merge_shards

    kind, n = merge_shards(args.shards, args.output, kind=args.kind, order=args.order)
    log.info("merged %d %s shard(s): %d records", len(args.shards), kind, n)
    return 0


# --------------------------------------------------------------------------- train
def _add_train(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "train",
        parents=[common],
        help="train a model: read correction, motif sites or signal profiles",
        description="Train a per-base model on a genome; the model files go to OUT/model/ "
        "(safetensors + JSON), with metrics.csv and training_curve.png beside them. "
        "SIGINT/SIGTERM write a checkpoint; --resume continues exactly.",
    )
    p.add_argument("--task", required=True, choices=("correct", "motif", "profile"))
    p.add_argument("--genome", required=True, nargs="+",
                   help="reference FASTA (plain or bgzip); --evidence reads: several genomes, each its own samples")
    p.add_argument("--labels", help="motif/profile labels: BED/narrowPeak, bedGraph or bigWig")
    p.add_argument("--reads", help="correct: a BAM aligned to --genome; the error model is fitted to it")
    p.add_argument("--error-model", help="correct: illumina, ont, mask (with key=value options) or fitted:BAM; "
                   "with --evidence several, separated by ';' (one simulated sample per model and coverage)")
    p.add_argument("--config", help='JSON {"model": {...}, "train": {...}, "data": {...}} over the task defaults')
    p.add_argument("--steps", type=int, help="optimiser steps (overrides the config)")
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
    p.set_defaults(func=_run_train)
    _declare_io(p, inputs=["genome", "labels", "reads", "config"], directories=["out"], written=_train_outputs)


def _train_outputs() -> tuple[str, ...]:
    from seqfcn.train import OUTPUT_NAMES

    return OUTPUT_NAMES


def _run_train(args: argparse.Namespace) -> int:
    import json

    from seqfcn.tasks import train_task

    config: dict = {}
    if args.config:
        try:
            with open(args.config) as fh:
                config = json.load(fh)
        except OSError as exc:
            raise SeqfcnError(f"cannot read config: {exc.strerror}", path=args.config) from None
        except json.JSONDecodeError as exc:
            raise SeqfcnError(f"not JSON: {exc.msg} (line {exc.lineno})", path=args.config) from None
        if not isinstance(config, dict):
            raise SeqfcnError("config must be a JSON object", path=args.config)
    if args.steps is not None:
        config.setdefault("train", {})["steps"] = args.steps
    if args.quiet:
        config.setdefault("train", {})["progress"] = False
    if args.error_model:
        config.setdefault("data", {})["error_model"] = args.error_model
    if args.evidence is None:
        args.evidence = "reads" if args.task == "correct" else "none"
    if args.force and not args.resume:
        raise SeqfcnError("--force is for --resume (continue a run started with other inputs)")
    from seqfcn.errors import ModelFileError
    from seqfcn.train import exit_code

    try:
        if args.evidence != "none":
            return _train_kmer(args, config)
        if len(args.genome) > 1:
            raise SeqfcnError("several --genome files are for --task correct --evidence reads")
        result = train_task(args.task, args.genome[0], args.out, config=config, labels=args.labels,
                            reads=args.reads, device=args.device, seed=args.seed, resume=args.resume,
                            force=args.force)
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
    import os

    from seqfcn.corrupt import OntErrorModel, make_error_model
    from seqfcn.checkpoint import TRAINED_MODEL_DIR
    from seqfcn.correction.model_files import save_corrector
    from seqfcn.correction.training import GcBias, cycles_of, train_kmer_corrector
    from seqfcn.nn.models import planned_tensors
    from seqfcn.tasks import error_model_identity
    from seqfcn.train import RunOptions, TrainConfig, exit_code, input_identity, start_run

    if args.task != "correct":
        raise SeqfcnError("--evidence is for --task correct")
    spec = f"fitted:{args.reads}" if args.reads else config.get("data", {}).get("error_model", "illumina")
    train = config.get("train", {})
    model_config = {kk: v for kk, v in config.get("model", {}).items() if kk != "name"}
    planned_tensors({**defaults.KMER_MODEL, **model_config, "name": "read_corrector"})  # sizes, before any work
    schedule = {"steps": int(train.get("steps", defaults.TRAIN_STEPS)),
                "batch_size": int(train.get("batch_size", defaults.TRAIN_BATCH_SIZE)),
                "lr": float(train.get("lr", defaults.TRAIN_LR))}
    saving = {key: train.get(key, getattr(TrainConfig, key)) for key in ("checkpoint_every", "checkpoint_seconds")}
    identity = {"task": "correct", "evidence": args.evidence, "genome": [input_identity(g) for g in args.genome],
                "error_model": [error_model_identity(one.strip()) for one in spec.split(";") if one.strip()],
                "options": {"kmer": args.kmer, "edits": args.edits, "coverages": args.coverages,
                            "read_length": args.read_length, "max_train_reads": args.max_train_reads,
                            "gc_bias": args.gc_bias, "walked": args.walked, "window": train.get("window")},
                "model": model_config, "train": {**schedule, "seed": args.seed}}
    run = RunOptions(args.out, resume=args.resume, record=start_run(args.out, identity, resume=args.resume,
                                                                    force=args.force), **saving)
    # several error models, separated by ";", each give their own simulated samples; BAMs of
    # fitted models are aligned to the first genome
    models = [make_error_model(one.strip(), reference=args.genome[0]) for one in spec.split(";") if one.strip()]
    em = models[0]
    edits = ("indel" if isinstance(em, OntErrorModel) else "sub") if args.edits == "auto" else args.edits
    k = args.kmer or (defaults.K_READS if args.evidence == "reads" else defaults.K_REFERENCE)
    try:
        coverages = [float(c) for c in args.coverages.split(",") if c.strip()]
    except ValueError:
        raise SeqfcnError(f"--coverages needs comma-separated numbers, not {args.coverages!r}") from None
    if not coverages or min(coverages) <= 0:
        raise SeqfcnError(f"--coverages needs positive numbers, not {args.coverages!r}")
    gc_bias = GcBias.parse(args.gc_bias)
    length = args.read_length or (defaults.ONT_READ_LENGTH if isinstance(em, OntErrorModel) else None)
    window = length or min(cycles_of(m) for m in models)
    model = train_kmer_corrector(
        args.genome, error_model=models, k=k, edits=edits, source=args.evidence, coverages=coverages,
        read_length=length, window=int(train.get("window", window if edits == "sub" else defaults.INDEL_TRAIN_WINDOW)),
        max_reads=args.max_train_reads, walked=args.walked, gc_bias=gc_bias, model_config=model_config,
        **schedule, device=args.device, seed=args.seed, progress=not args.quiet, run=run,
    )
    if exit_code(model.train_info["stop_reason"]):  # a signal: the checkpoint is in OUT/last/, no model
        return exit_code(model.train_info["stop_reason"])
    out = save_corrector(model, os.path.join(args.out, TRAINED_MODEL_DIR),
                              metadata={"genome": ", ".join(os.path.basename(g) for g in args.genome),
                                        "mode": f"kmer-{args.evidence}",
                                        "train": model.train_info, "error_model_spec": spec,
                                        "run": run.record.to_dict(),
                                        "command": " ".join(["seqfcn", *sys.argv[1:]])})
    print(json.dumps({"model": str(out), "train_loss": model.train_info["train_loss"], "k": k, "edits": edits,
                      "evidence": args.evidence}, default=float))
    return 0


_SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction, argparse.ArgumentParser], None], ...] = (
    _add_info,
    _add_models,
    _add_evaluate,
    _add_scan,
    _add_predict,
    _add_attribute,
    _add_variants,
    _add_discover,
    _add_correct,
    _add_count,
    _add_train,
    _add_merge,
)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (``seqfcn scan: error: ...``), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The full ``seqfcn`` argument parser."""
    parser = _Parser(
        prog="seqfcn",
        description="1D fully convolutional networks for DNA: encode, scan, correct, train, evaluate.",
    )
    parser.add_argument("--version", action="version", version=f"seqfcn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    common = _common_parser()
    for add in _SUBCOMMANDS:
        add(sub, common)
    return parser


def _setup(args: argparse.Namespace) -> None:
    level = logging.ERROR if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="seqfcn: %(levelname)s: %(message)s", stream=sys.stderr)
    # scan hands --threads to its kernels itself, so a CPU PWM scan never loads PyTorch
    if args.threads and getattr(args, "func", None) is not _run_scan:
        import torch

        torch.set_num_threads(args.threads)


class _Terminated(BaseException):
    """SIGTERM turned into an exception, so atomic writers remove their temporary files."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated(signum)


def _catch_sigterm() -> Callable | int | None:
    """Make SIGTERM unwind the stack (exit 143, no partial output); returns the previous handler."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)


def _finish_progress_bars() -> None:
    """Close open tqdm bars so that a message starts on a line of its own (not after ``\rscan: 0%|...``)."""
    std = sys.modules.get("tqdm.std")
    if std is None:
        return
    for bar in list(getattr(std.tqdm, "_instances", ())):
        bar.leave = True  # keep what it showed, then end its line
        bar.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``seqfcn``; returns the exit code (0 ok, 2 user error, 1 internal error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    _setup(args)
    previous = _catch_sigterm()
    try:
        _check_io(args)
        return int(args.func(args) or 0)
    except SeqfcnError as exc:
        _finish_progress_bars()
        print(f"seqfcn {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        _finish_progress_bars()
        print(f"seqfcn {args.command}: interrupted", file=sys.stderr)
        return 130
    except _Terminated:
        _finish_progress_bars()
        print(f"seqfcn {args.command}: terminated", file=sys.stderr)
        return 143
    finally:
        if previous is not None:
            import signal

            signal.signal(signal.SIGTERM, previous)
