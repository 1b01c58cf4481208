"""The one home of read-correction defaults: the library, the CLI and the training code read them here.

Measured on whole Klebsiella genomes (``benchmarks/README.md``): with the spectrum walk
first and the network after it, at 30x HS25 gain 0.9974 with 8 false corrections and on
30x MiSeq 250 bp reads 0.9904 with 140; the walk's lookahead (``WALK_*``) was tuned on 4 %
samples of those two sets (depth 0: MiSeq gain 0.41; depth 3 weight 10 margin 10: 0.99).
"""
from __future__ import annotations

MIN_CONFIDENCE = 0.9
"""A base changes only when the posterior of the new call exceeds this (1 = never)."""
LONG_READ_MIN_CONFIDENCE = 0.5
"""Pileup (long-read) correctors: the top class is applied when its posterior reaches this."""
LONG_READ_MIN_DEPTH = 3
"""Pileup correctors: other reads that must cover a position before it is edited."""
MAX_QUALITY = 40
"""Largest recalibrated quality written."""
RECALIBRATE = "changed"
"""Which qualities come from the posterior: ``changed``, ``all`` or ``none``."""
RECALIBRATE_MODES = ("changed", "all", "none")
SOLID = "auto"
"""Solid k-mer count for reads-spectrum models: ``auto`` = the count histogram's valley."""
WALK_DEPTH = 3
"""Spectrum walk: further substitutions a suspect base's continuation may make (dense errors)."""
WALK_WEIGHT = 10
"""Spectrum walk: score of each solid k-mer a continuation reaches, against the quality it spends."""
WALK_MARGIN = 10
"""Spectrum walk: how far the best base must score above every other to be taken."""
WALK_MAX_QUALITY = 99
"""Spectrum walk: a continuation substitutes only bases of lower quality, and a base of this
quality or more changes only when k solid k-mers confirm it. Above any Illumina quality, so
off: with art's default profiles (indels included) the rule at 30 left 2.1x the residual
edits on Klebsiella HS25 30x (1,744 vs 824, reads made worse 4 vs 1) and 1.2x on 5 Mbp of
human chrX at 25x (5,795 vs 4,834, worse 316 vs 317): most of the errors it kept were
real errors at quality 30-41 within k bases of a read's end."""
INDEL_LENGTH = 3
"""Indel pass (:mod:`seqfcn.correction.indels`): the longest insertion or deletion tried (0: none)."""
INDEL_MAX_COPIES = 8.0
"""No indel edit beside a k-mer counted above this many times the spectrum's typical count
(a high-copy repeat: :class:`seqfcn.correction.indels.IndelSettings`); the lookup index keeps
counts exact that far (:meth:`seqfcn.correction.kmers.KmerTable.index_cap`)."""

K_READS = 21
"""k of models whose evidence is the reads' own spectrum."""
K_REFERENCE = 15
"""k of models whose evidence is a reference genome's k-mers."""
TRAIN_COVERAGES = (10.0, 20.0, 40.0, 80.0)
"""Simulated coverages of a k-mer corrector's training samples."""
TRAIN_STEPS = 1500
TRAIN_GC_BIAS = (0.5, 0.15)
"""``(peak, width)`` of the GC-dependent coverage of simulated training samples
(:class:`seqfcn.correction.training.GcBias`)."""
TRAIN_WALKED = True
"""A reads-spectrum corrector learns on the simulated reads the spectrum walk leaves weak
(what the network sees in ``seqfcn correct``), plus a quarter as many reads as they came."""
TRAIN_WINDOW = 64
"""Training window (bases) of a k-mer corrector (``seqfcn train`` uses the read length for ``sub``)."""
INDEL_TRAIN_WINDOW = 128
READ_LENGTH = 150
"""Simulated Illumina read length."""
ONT_READ_LENGTH = 400
"""Simulated ONT read length."""
TRAIN_BATCH_SIZE = 64
TRAIN_LR = 1e-2
KMER_MODEL = {"channels": 32, "n_layers": 3, "stem_kernel": 5, "kernel_size": 3}
"""``read_corrector`` architecture of a k-mer evidence corrector."""
PLAIN_MODEL = {"channels": 64, "n_layers": 4, "stem_kernel": 9}
"""``read_corrector`` architecture of a self-trained plain (memorising) corrector."""
SELF_TRAIN_STEPS = 1500
SELF_TRAIN_MAX_READS = 200_000
SELF_TRAIN_GENOME = 50_000
"""Bases of the random genome a ``--self-train`` k-mer model is trained on."""


def default_rounds(edits: str | None) -> int:
    """Passes of the model over each read: 1 for plain models, 2 for k-mer evidence, 4 with indels."""
    if edits is None:
        return 1
    return 4 if edits == "indel" else 2
