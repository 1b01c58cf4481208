"""``seqfcn scan``: a genome scanned with PWMs (:func:`seqfcn.motifs.scan.scan_pwm_bed`, sharded
with :func:`seqfcn.motifs.scan.scan_pwm`) or a trained motif model's called sites
(:func:`seqfcn.motifs.scan_model.scan_model_tables`).

A PWM scan on CPU loads neither PyTorch nor pandas (it hands ``--threads`` to its kernels itself).
"""
from __future__ import annotations

import argparse
import logging

from seqfcn.cli.args import declare_io, model_device, run_shards, torchrun_rank
from seqfcn.errors import SeqfcnError

log = logging.getLogger("seqfcn")


def add_scan(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add ``scan`` to ``sub``."""
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
    p.set_defaults(func=run_scan)
    declare_io(p, inputs=["genome", "motifs", "model", "regions"], outputs=["output"])


def _run_model_scan(args: argparse.Namespace) -> int:
    from seqfcn.io.intervals import read_regions, write_bed
    from seqfcn.motifs.scan_model import ScanModelOptions, scan_model_tables

    for flag, default in (("max_hits", None), ("shard", None), ("background", "uniform"), ("motif_names", None)):
        if getattr(args, flag) != default:
            raise SeqfcnError(f"--{flag.replace('_', '-')} is for PWM scans (--motifs), not --model")
    window = _tile_bases(args.batch_size, 100_000)
    options = ScanModelOptions(window=window, device=model_device(args), threshold=args.site_threshold,
                               min_distance=args.min_distance, output=args.output_channel, merge=args.merge,
                               progress=not args.quiet)
    tables = scan_model_tables(args.genome, args.model, options, regions=read_regions(args.regions, args.genome))
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


def run_scan(args: argparse.Namespace) -> int:
    """``seqfcn scan``: PWM hits (or with ``--model`` a model's sites) as BED, whole, one ``--shard`` or per torchrun rank."""
    from seqfcn.io.intervals import read_regions
    from seqfcn.motifs.scan import ScanOptions, parse_background, scan_to_file

    if args.model:
        return _run_model_scan(args)
    tile = _tile_bases(args.batch_size, 1_000_000)
    background = parse_background(args.background)
    read_regions(args.regions, args.genome)  # the --regions rule of every subcommand, before the scan
    from seqfcn.motifs.shards import merge_scan_shards, scan_run_id
    from seqfcn.runtime.distributed import rank_device

    run_id = scan_run_id(genome=args.genome, motifs=args.motifs, motif_names=args.motif_names, thresh=args.thresh,
                         background=background, pseudocount=args.pseudocount, regions=args.regions, tile=tile,
                         q_tests=args.q_tests)
    rank = torchrun_rank(args)
    if (args.shard or rank is not None) and args.max_hits is not None:
        raise SeqfcnError("--max-hits keeps the best hits of the whole genome; it cannot be combined with sharding")

    def run(shard: tuple[int, int] | None, output: str) -> None:
        options = ScanOptions(thresh=args.thresh, motif_names=args.motif_names, background=background,
                              pseudocount=args.pseudocount, device=rank_device(args.device, rank), method=args.method,
                              tile_size=tile, q_tests=args.q_tests, threads=args.threads, progress=not args.quiet,
                              max_hits=args.max_hits, shard=shard)
        done = scan_to_file(args.genome, args.motifs, output, options, regions=args.regions, run=run_id)
        log.info("%d hits (%d windows tested)", done["hits"], done["tested"])

    run_shards(args, rank, run, merge_scan_shards)
    return 0
