"""The model jobs of :mod:`seqfcn.interpret`: ``seqfcn predict`` (per-base tracks), ``attribute``
(which bases an output depends on), ``variants`` (VCF effects) and ``discover`` (motifs a model relies on)."""
from __future__ import annotations

import argparse
import logging

from seqfcn.cli.args import (
    add_model_argument,
    declare_io,
    model_device,
    positive_int,
    refuse_overwrite,
    run_shards,
    torchrun_rank,
)
from seqfcn.errors import SeqfcnError

log = logging.getLogger("seqfcn")


def add_predict(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add ``predict`` to ``sub``."""
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
    add_model_argument(p)
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
    p.set_defaults(func=run_predict)
    declare_io(p, inputs=["genome", "model", "regions"], outputs=["output"])


def run_predict(args: argparse.Namespace) -> int:
    """``seqfcn predict``: a model's per-base outputs over a genome as bigWig/bedGraph."""
    from seqfcn.interpret.predict import PredictOptions, predict_genome_tracks
    from seqfcn.interpret.shards import merge_predict_shards
    from seqfcn.io.intervals import read_regions, track_format

    rank = torchrun_rank(args)
    if rank is not None and track_format(args.output) == "bigwig":
        raise SeqfcnError("under torchrun predict writes bedGraph (rank 0 merges the ranks' shards); give "
                          "-o NAME.bedGraph")
    regions = read_regions(args.regions, args.genome)
    device = model_device(args, rank)

    def run(shard: tuple[int, int] | None, output: str) -> None:
        options = PredictOptions(outputs=args.channels, merge=args.merge, activation=args.activation,
                                 window=args.window, batch_size=args.batch_size, device=device, shard=shard,
                                 progress=not args.quiet)
        done = predict_genome_tracks(args.genome, args.model, output, options, regions=regions,
                                     check_paths=lambda paths: refuse_overwrite(args, "-o", paths))
        log.info("%d bases x %d channel(s) (%s) -> %s", done["bases"], len(done["channels"]), done["activation"],
                 ", ".join(done["files"]))

    run_shards(args, rank, run, merge_predict_shards)
    return 0


def add_attribute(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add ``attribute`` to ``sub``."""
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
    add_model_argument(p)
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
    p.set_defaults(func=run_attribute)
    declare_io(p, inputs=["genome", "model", "regions"], outputs=["output", "npz"])


def run_attribute(args: argparse.Namespace) -> int:
    """``seqfcn attribute``: contribution tracks (and hypothetical contributions) of --regions."""
    from seqfcn.interpret.attribute import (
        AttributionOptions,
        attribute_regions,
        write_attributions,
    )
    from seqfcn.io.fasta import Genome
    from seqfcn.io.intervals import read_regions

    if args.output is None and args.npz is None:
        raise SeqfcnError("give -o TRACK, --npz FILE or both")
    regions = read_regions(args.regions, args.genome)
    options = AttributionOptions(target=args.target, channel=args.output_channel, method=args.method,
                                 activation=args.activation, steps=args.steps, batch_size=args.batch_size,
                                 device=model_device(args), progress=not args.quiet)
    results = attribute_regions(args.genome, args.model, regions, options)
    with Genome(args.genome) as genome:
        sizes = genome.chrom_sizes
    write_attributions(results, sizes, track=args.output, npz=args.npz)
    log.info("%d regions attributed (%s, target %s)", len(results), args.method, args.target)
    return 0


def add_variants(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add ``variants`` to ``sub``."""
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
    add_model_argument(p)
    p.add_argument("-o", "--output", default="-", help="effects: .tsv (default - = stdout) or .vcf/.vcf.gz/.bcf")
    p.add_argument("--output-channel", type=int, default=0, help="which model output (default 0)")
    p.add_argument("--window", type=int, default=100, help="bases around the variant in the window sum "
                   "(default 100: 50 on each side)")
    p.add_argument("--activation", choices=["auto", "sigmoid", "softmax", "none"], default="auto",
                   help="applied to the output (default auto: what the model was trained with)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="variants per model call (default 64)")
    p.set_defaults(func=run_variants)
    declare_io(p, inputs=["vcf", "genome", "model"], outputs=["output"])


def run_variants(args: argparse.Namespace) -> int:
    """``seqfcn variants``: effects of a VCF's ALT alleles on a model's output."""
    from seqfcn.interpret.variants import VariantOptions, score_variants, write_effects
    from seqfcn.io.vcf import VcfInput

    vcf = VcfInput(args.vcf)  # checked here; read once more per pass (scoring, VCF output)
    options = VariantOptions(channel=args.output_channel, window=args.window, activation=args.activation,
                             batch_size=args.batch_size, device=model_device(args), progress=not args.quiet)
    rows = score_variants(vcf, args.genome, args.model, options)
    write_effects(rows, args.output, vcf)
    log.info("%d ALT alleles, %d scored", len(rows), sum(r["status"] == "ok" for r in rows))
    return 0


def add_discover(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add ``discover`` to ``sub``."""
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
    add_model_argument(p)
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
    p.set_defaults(func=run_discover)
    declare_io(p, inputs=["genome", "model", "regions", "motifs"], outputs=["output", "matches"], folders=["logos"])


def run_discover(args: argparse.Namespace) -> int:
    """``seqfcn discover``: motifs from a model's attributions, as MEME (+ matches, logos)."""
    from seqfcn.interpret.discover import DiscoverOptions, discover_motifs, write_discovery
    from seqfcn.io.intervals import read_regions
    from seqfcn.io.motifs import read_motifs

    database = read_motifs(args.motifs)
    options = DiscoverOptions(channel=args.output_channel, width=args.width, alpha=args.alpha,
                              min_seqlets=args.min_seqlets, top=args.top, device=model_device(args), seed=args.seed,
                              progress=not args.quiet)
    done = discover_motifs(args.genome, args.model, options, regions=read_regions(args.regions, args.genome),
                           database=database)
    write_discovery(done, args.output, logos=args.logos, matches=args.matches,
                    check_paths=lambda paths: refuse_overwrite(args, "--logos", paths))
    log.info("%d seqlets (threshold %.3g) -> %d motifs", done["seqlets"], done["threshold"], len(done["motifs"]))
    for m, matches in zip(done["motifs"], done["matches"]):
        top = ", ".join(f"{x['id']} {x['name']} ({x['similarity']:.3f}, E={x['E']:.2g})" for x in matches)
        log.info("%s: %d seqlets, width %d; best matches: %s", m.id, m.nsites, m.width, top or "-")
    return 0
