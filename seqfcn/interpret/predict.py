"""Per-base predictions of a trained model over a genome (``seqfcn predict``).

1. The model (:func:`seqfcn.nn.checkpoint.load_model`, a path or a shipped name) maps
   ``(batch, 4, W)`` one-hot windows to ``(batch, K, W)`` per-base outputs. An
   **activation** turns them into what the model was trained to predict
   (:func:`output_activation`): ``sigmoid`` for motif and binary models (BCE/Dice
   losses), ``softmax`` over the channels for class models (cross-entropy), ``none``
   for regression (MSE) profiles.
2. **Both strands.** Each window is also run reverse-complemented and that output is
   flipped back: ``merge(act(f(x)), flip(act(f(rc(x)))))`` with ``merge`` ``"mean"``
   or ``"max"`` (:class:`StrandMerged`). Every output channel is taken to be
   strand-symmetric (motif presence, coverage); the merged track of the
   reverse-complemented genome is the reversed track.
   A masked-base trunk (``seqfcn train --task mask``) instead writes one track, the natural
   log-probability of the reference base with that base masked
   (:class:`~seqfcn.runtime.masked_scores.MaskedBaseScore`: zero-shot conservation-like scores).
3. **Exact tiling.** Each scanned stretch (a chromosome, or a merged ``--regions``
   interval) is cut into tile cores of ``window`` bases (:func:`seqfcn.runtime.tiling.tile_chromosome`
   over the stretch). A tile is run on a fixed-length window of real sequence,
   ``core ± margin`` with ``margin`` the model's receptive reach, slid inward at the
   chromosome ends (``edge="shift"``); its core values are those of a
   whole-chromosome run (up to float summation order).
4. **Streaming.** :func:`predict_pieces` yields one tile core at a time, in genome
   order; :func:`predict_genome_tracks` writes them as they come (bigWig or bedGraph,
   :func:`seqfcn.io.intervals.track_writer`), so memory is a batch of windows, not a
   chromosome.
5. **Sharding.** ``shard=(index, count)`` keeps a contiguous block of the tiles of every
   stretch (:func:`seqfcn.runtime.tiling.select_shard`); shard ``i`` covers its tiles exactly,
   and as runs of equal values are merged within a tile core only, the bedGraph shards
   merged by ``seqfcn merge`` are byte-identical to the unsharded bedGraph. Each shard
   starts with a track line naming its ``seqfcn_shard=i/n`` and ``seqfcn_run=ID`` (genome
   and model content, regions, options, channel: :func:`seqfcn.runtime.shard.run_fingerprint`), so
   the merge refuses a missing, repeated or foreign shard.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from seqfcn.errors import SeqfcnError
from seqfcn.runtime.inference import InferenceOptions, load_sequence_model, model_margin
from seqfcn.runtime.options import resolve_options
from seqfcn.runtime.tiling import genome_spans

Span = tuple[str, int, int]
Piece = tuple[str, int, np.ndarray]
"""``(chrom, start, (K, n) float32)``: the values of bases ``start .. start + n``."""


def channel_paths(output: str | os.PathLike, names: Sequence[str]) -> list[str]:
    """One output file per channel: ``OUT`` for one channel, else ``STEM.NAME.SUFFIX`` for each
    (``pred.bw`` -> ``pred.0.bw``, ``pred.1.bw``; ``.bedGraph.gz`` kept whole)."""
    output = str(output)
    if len(names) == 1:
        return [output]
    if output == "-":
        raise SeqfcnError(f"{len(names)} output channels cannot share stdout; give a file name or --output-channel")
    base = os.path.basename(output)
    cut = base.find(".", 1)
    stem, suffix = (base, "") if cut < 0 else (base[:cut], base[cut:])
    return [os.path.join(os.path.dirname(output), f"{stem}.{name}{suffix}") for name in names]


def _shard_track_lines(shard: tuple[int, int], outputs: Sequence[int], **settings: Any) -> list[str]:
    """The track line of each channel's shard file (:func:`seqfcn.interpret.shards.predict_track_line`)."""
    from seqfcn.interpret.shards import predict_track_line
    from seqfcn.runtime.shard import run_fingerprint

    return [predict_track_line(shard, run_fingerprint(channel=int(o), **settings)) for o in outputs]


@dataclass
class PredictOptions(InferenceOptions):
    """How :func:`predict_genome_tracks` runs (``seqfcn predict``): the shared
    :class:`~seqfcn.runtime.inference.InferenceOptions` (``window`` 100,000, ``batch_size`` 16,
    ``device`` ``"cpu"``, ``merge`` ``"mean"``, ``shard``: bigWig cannot be sharded, merge
    bedGraph shards; ``progress``) and:

    Attributes:
        outputs: output channels to write (default None: all).
        activation: see :class:`~seqfcn.runtime.inference.StrandMerged` (default ``"auto"``:
            :func:`~seqfcn.runtime.inference.output_activation`).
        fmt: ``"bigwig"`` or ``"bedgraph"`` (default None: from the output's name).
    """

    outputs: Sequence[int] | None = None
    activation: str = "auto"
    fmt: str | None = None


def predict_genome_tracks(
    genome_path: str | os.PathLike,
    model: str | os.PathLike,
    output: str | os.PathLike,
    options: PredictOptions | InferenceOptions | None = None,
    *,
    regions: Sequence[Span] | None = None,
    check_paths: Callable[[list[str]], None] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Write a model's per-base outputs over a genome (see the module docstring).

    Args:
        genome_path: FASTA (indexed on the fly).
        model: a model directory, file or shipped name (4 input channels, A/C/G/T).
        output: the track file; ``.bw``/``.bigwig`` is bigWig (needs pyBigWig), anything
            else bedGraph (``.gz`` compresses, ``-`` is stdout). Several channels give one
            file each (:func:`channel_paths`).
        options: :class:`PredictOptions` (or the shared ``InferenceOptions``); ``overrides``
            replace single fields (``predict_genome_tracks(g, m, "p.bw", window=50_000)``).
        regions: 0-based ``(chrom, start, end)`` intervals (default: whole chromosomes).
        check_paths: called with the output files before any is opened (the CLI refuses
            names that would replace an input).

    Returns:
        ``{"files": [...], "channels": [...], "bases": n, "activation": ..., "margin": m}``.
    """
    from contextlib import ExitStack

    from seqfcn.io.fasta import Genome
    from seqfcn.io.intervals import track_format, track_writer

    opts = resolve_options(PredictOptions, options, overrides, "predict_genome_tracks").checked()
    fmt = opts.fmt or track_format(output)
    if opts.shard is not None and fmt == "bigwig":
        raise SeqfcnError("a sharded predict writes bedGraph (seqfcn merge joins the shards); give -o NAME.bedGraph")
    net, fn, outputs, act = load_sequence_model(model, opts.outputs, activation=opts.activation, merge=opts.merge,
                                                device=opts.device)
    margin = model_margin(net)
    paths = channel_paths(output, [str(o) for o in outputs])
    if check_paths is not None:
        check_paths(paths)
    genome = Genome(genome_path)
    try:
        sizes = genome.chrom_sizes
        tiles = opts.tiles(genome_spans(sizes, regions, path=genome_path), sizes, margin)
        bases = 0
        with ExitStack() as stack:
            lines = [None] * len(paths) if opts.shard is None else _shard_track_lines(
                opts.shard, outputs, genome=genome_path, model=model, regions=regions, merge=opts.merge,
                activation=act, window=opts.window)
            adds = [stack.enter_context(track_writer(p, sizes, fmt=fmt, track_line=line))
                    for p, line in zip(paths, lines)]
            for chrom, start, values in opts.pieces(fn, genome, tiles, margin):
                for add, row in zip(adds, values):
                    add(chrom, start, row)
                bases += values.shape[1]
    finally:
        genome.close()
    return {"files": paths, "channels": outputs, "bases": bases, "activation": act, "margin": margin}
