"""Per-base predictions of a trained model over a genome (``seqfcn predict``).

1. The model (:func:`seqfcn.checkpoint.load_model`, a path or a shipped name) maps
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
3. **Exact tiling.** Each scanned stretch (a chromosome, or a merged ``--regions``
   interval) is cut into tile cores of ``window`` bases (:func:`seqfcn.tiling.tile_chromosome`
   over the stretch). A tile is run on a fixed-length window of real sequence,
   ``core ± margin`` with ``margin`` the model's receptive reach, slid inward at the
   chromosome ends (``edge="shift"``); its core values are those of a
   whole-chromosome run (up to float summation order).
4. **Streaming.** :func:`predict_pieces` yields one tile core at a time, in genome
   order; :func:`predict_genome_tracks` writes them as they come (bigWig or bedGraph,
   :func:`seqfcn.io.intervals.track_writer`), so memory is a batch of windows, not a
   chromosome.
5. **Sharding.** ``shard=(index, count)`` keeps a contiguous block of the tiles of every
   stretch (:func:`seqfcn.tiling.select_shard`); shard ``i`` covers its tiles exactly,
   and as runs of equal values are merged within a tile core only, the bedGraph shards
   merged by ``seqfcn merge`` are byte-identical to the unsharded bedGraph. Each shard
   starts with a track line naming its ``seqfcn_shard=i/n`` and ``seqfcn_run=ID`` (genome
   and model content, regions, options, channel: :func:`seqfcn.shard.run_fingerprint`), so
   the merge refuses a missing, repeated or foreign shard.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch

from seqfcn.encode import reverse_complement_onehot
from seqfcn.errors import SeqfcnError
from seqfcn.tiling import Tile, genome_spans, select_shard, tile_chromosome, window_bounds

MERGES = ("mean", "max")
ACTIVATIONS = ("sigmoid", "softmax", "none")
Span = tuple[str, int, int]
Piece = tuple[str, int, np.ndarray]
"""``(chrom, start, (K, n) float32)``: the values of bases ``start .. start + n``."""

_LOSS_ACTIVATION = {"bce": "sigmoid", "bce_dice": "sigmoid", "bce_max": "sigmoid", "bce_dice_max": "sigmoid",
                    "dice": "sigmoid",
                    "cross_entropy": "softmax", "mse": "none"}


def output_activation(info: dict[str, Any]) -> str:
    """The activation of a loaded model (:func:`seqfcn.checkpoint.load_model`'s ``info``):
    ``metadata.activation`` when recorded, else the one its training loss implies
    (BCE/Dice: ``sigmoid``; cross-entropy: ``softmax``; MSE: ``none``; binary labels:
    ``sigmoid``), else ``sigmoid`` for ``--task motif`` models and ``motif_scanner``
    architectures, else ``none``."""
    meta = info.get("metadata") or {}
    if meta.get("activation") in ACTIVATIONS:
        return meta["activation"]
    if meta.get("binary_labels"):
        return "sigmoid"
    loss = ((meta.get("config") or {}).get("train") or {}).get("loss")
    if loss in _LOSS_ACTIVATION:
        return _LOSS_ACTIVATION[loss]
    name = (info.get("architecture") or {}).get("name")
    return "sigmoid" if meta.get("task") == "motif" or name == "motif_scanner" else "none"


class StrandMerged(torch.nn.Module):
    """``(batch, 4, W) -> (batch, len(outputs), W)``: chosen outputs after ``activation``,
    both strands merged (see the module docstring)."""

    def __init__(self, model: torch.nn.Module, outputs: int | Sequence[int] = 0, merge: str = "mean",
                 activation: str = "sigmoid") -> None:
        super().__init__()
        if merge not in MERGES:
            raise SeqfcnError(f"unknown strand merge {merge!r}; choose from {', '.join(MERGES)}")
        if activation not in ACTIVATIONS:
            raise SeqfcnError(f"unknown activation {activation!r}; choose from {', '.join(ACTIVATIONS)}")
        self.model, self.merge, self.activation = model, merge, activation
        self.outputs = [int(outputs)] if isinstance(outputs, (int, np.integer)) else [int(o) for o in outputs]

    def _one(self, x: torch.Tensor) -> torch.Tensor:
        y = self.model(x).float()
        if self.activation == "sigmoid":
            y = torch.sigmoid(y)
        elif self.activation == "softmax":
            y = torch.softmax(y, dim=1)
        return y[:, self.outputs]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        forward = self._one(x)
        reverse = self._one(reverse_complement_onehot(x)).flip(-1)
        return (forward + reverse) / 2 if self.merge == "mean" else torch.maximum(forward, reverse)


def span_tiles(spans: Sequence[Span], chrom_sizes: dict[str, int], window: int, margin: int,
               shard: tuple[int, int] | None = None) -> list[Tile]:
    """Tiles of every span in chromosome coordinates (cores of ``window`` bases from the
    span's start; fetched ``core ± margin`` clipped to the chromosome), or the contiguous
    block of them that is shard ``shard`` (0-based ``(index, count)``)."""
    tiles = []
    for chrom, start, end in spans:
        size = chrom_sizes[chrom]
        for t in tile_chromosome(chrom, end - start, window, margin):
            cs, ce = start + t.core_start, start + t.core_end
            lo, hi = max(cs - margin, 0), min(ce + margin, size)
            tiles.append(Tile(chrom, cs, ce, lo, hi, lo - (cs - margin), ce + margin - hi))
    return select_shard(tiles, *shard) if shard is not None else tiles


def predict_pieces(fn: torch.nn.Module, genome: Any, tiles: Sequence[Tile], window: int, margin: int, *,
                   batch_size: int = 16, device: str | torch.device = "cpu", progress: bool = False
                   ) -> Iterator[Piece]:
    """Run ``fn`` (``(batch, 4, W) -> (batch, K, W)``) on each tile's window and yield its core
    values ``(chrom, core_start, (K, core_length) float32)``, tile by tile in order.

    ``genome`` is a :class:`seqfcn.io.fasta.Genome`; windows are ``window + 2 * margin``
    bases (the chromosome when shorter), slid inside the chromosome at its ends.
    """
    from tqdm import tqdm

    sizes = genome.chrom_sizes
    bar = tqdm(total=sum(t.core_length for t in tiles), unit="bp", unit_scale=True, desc="predict",
               disable=not progress)
    with bar:  # no_grad only around the model call: the caller's loop body keeps its grad mode
        i = 0
        while i < len(tiles):
            # a batch holds windows of one length: those of one chromosome (shorter ones are whole)
            batch = [tiles[i]]
            while (len(batch) < batch_size and i + len(batch) < len(tiles)
                   and tiles[i + len(batch)].chrom == batch[0].chrom):
                batch.append(tiles[i + len(batch)])
            i += len(batch)
            size = sizes[batch[0].chrom]
            bounds = [window_bounds(t, size, window, margin, "shift")[:2] for t in batch]
            x = torch.from_numpy(np.stack([genome.one_hot(t.chrom, a, b) for t, (a, b) in zip(batch, bounds)]))
            with torch.no_grad():
                y = fn(x.to(device=device, dtype=torch.float32)).detach().float().cpu().numpy()
            for t, (a, _), out in zip(batch, bounds, y):
                yield t.chrom, t.core_start, np.ascontiguousarray(out[:, t.core_start - a : t.core_end - a])
                bar.update(t.core_length)


def load_sequence_model(model: str | os.PathLike, outputs: Sequence[int] | None, *, activation: str = "auto",
                        merge: str = "mean", device: str | torch.device = "cpu"
                        ) -> tuple[torch.nn.Module, StrandMerged, list[int], str]:
    """Load a model that reads DNA (4 input channels) for predict / attribute / variants.

    Returns:
        ``(model, StrandMerged(model, outputs, merge, activation), outputs, activation)``;
        ``outputs`` None: every channel; ``activation`` ``"auto"``: :func:`output_activation`.

    Raises:
        SeqfcnError: not a 4-channel model, or an output channel it does not have.
    """
    from seqfcn.checkpoint import load_model

    net, info = load_model(model, device=device)
    if int(getattr(net, "config", {}).get("in_channels", 4)) != 4:
        raise SeqfcnError("needs a model with 4 input channels (A, C, G, T)", path=str(model))
    n_outputs = int(info.get("n_outputs") or net.config.get("n_outputs", 1))
    outputs = list(range(n_outputs)) if outputs is None else [int(o) for o in outputs]
    for o in outputs:
        if not 0 <= o < n_outputs:
            raise SeqfcnError(f"output channel {o} does not exist; the model has {n_outputs}", path=str(model))
    act = output_activation(info) if activation == "auto" else activation
    return net, StrandMerged(net, outputs, merge, act).eval(), outputs, act


def model_margin(model: torch.nn.Module) -> int:
    """Context per side that makes tiling exact: the model's larger receptive reach."""
    left, right = model.receptive_margins
    return int(max(left, right, 0))


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
    """The track line of each channel's shard file (:func:`seqfcn.shard.predict_track_line`)."""
    from seqfcn.shard import predict_track_line, run_fingerprint

    return [predict_track_line(shard, run_fingerprint(channel=int(o), **settings)) for o in outputs]


def predict_genome_tracks(
    genome_path: str | os.PathLike,
    model: str | os.PathLike,
    output: str | os.PathLike,
    *,
    regions: Sequence[Span] | None = None,
    outputs: Sequence[int] | None = None,
    merge: str = "mean",
    activation: str = "auto",
    window: int = 100_000,
    batch_size: int = 16,
    device: str = "cpu",
    shard: tuple[int, int] | None = None,
    fmt: str | None = None,
    progress: bool = False,
    check_paths: Callable[[list[str]], None] | None = None,
) -> dict[str, Any]:
    """Write a model's per-base outputs over a genome (see the module docstring).

    Args:
        genome_path: FASTA (indexed on the fly).
        model: a model directory, file or shipped name (4 input channels, A/C/G/T).
        output: the track file; ``.bw``/``.bigwig`` is bigWig (needs pyBigWig), anything
            else bedGraph (``.gz`` compresses, ``-`` is stdout). Several channels give one
            file each (:func:`channel_paths`).
        regions: 0-based ``(chrom, start, end)`` intervals (default: whole chromosomes).
        outputs: output channels to write (default all).
        merge, activation: see :class:`StrandMerged` (``"auto"``: :func:`output_activation`).
        window, batch_size, device: tile core length, windows per model call, where it runs.
        shard: ``(index, count)`` 0-based; bigWig cannot be sharded (merge bedGraph shards).
        fmt: ``"bigwig"`` or ``"bedgraph"`` (default: from ``output``'s name).
        check_paths: called with the output files before any is opened (the CLI refuses
            names that would replace an input).

    Returns:
        ``{"files": [...], "channels": [...], "bases": n, "activation": ..., "margin": m}``.
    """
    from contextlib import ExitStack

    from seqfcn.io.fasta import Genome
    from seqfcn.io.intervals import track_format, track_writer
    from seqfcn.tiling import _check_int

    window = _check_int("window", window, 1)
    batch_size = _check_int("batch size", batch_size, 1)
    fmt = fmt or track_format(output)
    if shard is not None and fmt == "bigwig":
        raise SeqfcnError("a sharded predict writes bedGraph (seqfcn merge joins the shards); give -o NAME.bedGraph")
    net, fn, outputs, act = load_sequence_model(model, outputs, activation=activation, merge=merge, device=device)
    margin = model_margin(net)
    paths = channel_paths(output, [str(o) for o in outputs])
    if check_paths is not None:
        check_paths(paths)
    genome = Genome(genome_path)
    try:
        sizes = genome.chrom_sizes
        tiles = span_tiles(genome_spans(sizes, regions, path=genome_path), sizes, window, margin, shard)
        bases = 0
        with ExitStack() as stack:
            lines = [None] * len(paths) if shard is None else _shard_track_lines(
                shard, outputs, genome=genome_path, model=model, regions=regions, merge=merge, activation=act,
                window=window)
            adds = [stack.enter_context(track_writer(p, sizes, fmt=fmt, track_line=line))
                    for p, line in zip(paths, lines)]
            for chrom, start, values in predict_pieces(fn, genome, tiles, window, margin, batch_size=batch_size,
                                                       device=device, progress=progress):
                for add, row in zip(adds, values):
                    add(chrom, start, row)
                bases += values.shape[1]
    finally:
        genome.close()
    return {"files": paths, "channels": outputs, "bases": bases, "activation": act, "margin": margin}
