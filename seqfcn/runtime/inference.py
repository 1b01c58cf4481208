"""Inference with a trained sequence model: load it by name or path, both strands merged, tiles run in batches.

The machinery every job that runs a model over a genome shares (``predict``, ``scan --model``,
``attribute``, ``variants``, ``discover``): :func:`load_sequence_model` (checked channels,
the activation it was trained with), :class:`StrandMerged` (forward and reverse-complement
outputs merged), :func:`span_tiles` and :func:`predict_pieces` (exact tiles, streamed), and
:class:`InferenceOptions` (the settings of such a run the jobs share).
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Iterator, Self, Sequence

import numpy as np
import torch

from seqfcn.errors import SeqfcnError
from seqfcn.runtime.tiling import (
    Tile,
    _check_int,
    select_shard,
    tile_chromosome,
    window_bounds,
)
from seqfcn.sequence.encode import reverse_complement_onehot

Span = tuple[str, int, int]
Piece = tuple[str, int, np.ndarray]


MERGES = ("mean", "max")


@dataclass
class InferenceOptions:
    """How a job runs a model over a genome in exact tiles, both strands merged
    (:func:`span_tiles`, :func:`predict_pieces`, :class:`StrandMerged`): the settings
    ``seqfcn predict`` (:class:`seqfcn.interpret.predict.PredictOptions`) and ``seqfcn scan
    --model`` (:class:`seqfcn.motifs.scan_model.ScanModelOptions`) share; either job also takes
    an ``InferenceOptions`` as it is (its own fields at their defaults).

    Attributes:
        window: tile core length in bases (default 100,000).
        batch_size: windows per model call (each also run reverse-complemented; default 16).
        device: where the model runs (default ``"cpu"``).
        merge: ``"mean"`` (default) or ``"max"`` of the two strands.
        shard: ``(index, count)``, 0-based: only that contiguous block of the tiles
            (:func:`seqfcn.runtime.tiling.select_shard`; default None: all).
        progress: a tqdm bar on stderr (default False).
    """

    window: int = 100_000
    batch_size: int = 16
    device: str | torch.device = "cpu"
    merge: str = "mean"
    shard: tuple[int, int] | None = None
    progress: bool = False

    def checked(self) -> Self:
        """A copy with ``window`` and ``batch_size`` as ints; :class:`SeqfcnError` when either is below 1."""
        return dataclasses.replace(self, window=_check_int("window", self.window, 1),
                                   batch_size=_check_int("batch size", self.batch_size, 1))

    def tiles(self, spans: Sequence[Span], chrom_sizes: dict[str, int], margin: int) -> list[Tile]:
        """:func:`span_tiles` of ``spans`` with this ``window`` and ``shard``."""
        return span_tiles(spans, chrom_sizes, self.window, margin, self.shard)

    def pieces(self, fn: torch.nn.Module, genome: Any, tiles: Sequence[Tile], margin: int) -> Iterator[Piece]:
        """:func:`predict_pieces` of ``tiles`` with this ``window``, ``batch_size``, ``device`` and ``progress``."""
        return predict_pieces(fn, genome, tiles, self.window, margin, batch_size=self.batch_size, device=self.device,
                              progress=self.progress)


ACTIVATIONS = ("sigmoid", "softmax", "none")


_LOSS_ACTIVATION = {"bce": "sigmoid", "bce_dice": "sigmoid", "bce_max": "sigmoid", "bce_dice_max": "sigmoid",
                    "dice": "sigmoid",
                    "cross_entropy": "softmax", "mse": "none"}


def output_activation(info: dict[str, Any]) -> str:
    """The activation of a loaded model (:func:`seqfcn.nn.checkpoint.load_model`'s ``info``):
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

    A masked-base trunk (``--task mask``) runs as :class:`~seqfcn.runtime.masked_scores.MaskedBaseScore`
    (one output: ln p of the base there, that base masked; ``outputs`` and ``merge`` do not apply).

    Returns:
        ``(model, StrandMerged(model, outputs, merge, activation), outputs, activation)``;
        ``outputs`` None: every channel; ``activation`` ``"auto"``: :func:`output_activation`.

    Raises:
        SeqfcnError: not a 4-channel model, or an output channel it does not have.
    """
    from seqfcn.nn.checkpoint import load_model

    net, info = load_model(model, device=device)
    if int(getattr(net, "config", {}).get("in_channels", 4)) != 4:
        raise SeqfcnError("needs a model with 4 input channels (A, C, G, T)", path=str(model))
    if (info.get("metadata") or {}).get("task") == "mask":
        return _trunk_scores(net, model, outputs, activation)
    n_outputs = int(info.get("n_outputs") or net.config.get("n_outputs", 1))
    outputs = list(range(n_outputs)) if outputs is None else [int(o) for o in outputs]
    for o in outputs:
        if not 0 <= o < n_outputs:
            raise SeqfcnError(f"output channel {o} does not exist; the model has {n_outputs}", path=str(model))
    act = output_activation(info) if activation == "auto" else activation
    return net, StrandMerged(net, outputs, merge, act).eval(), outputs, act


def _trunk_scores(net: torch.nn.Module, model: Any, outputs: Sequence[int] | None, activation: str
                  ) -> tuple[torch.nn.Module, torch.nn.Module, list[int], str]:
    """A masked-base trunk runs as :class:`~seqfcn.runtime.masked_scores.MaskedBaseScore`: one
    output, ln p(the base there), strands averaged by probability."""
    from seqfcn.runtime.masked_scores import ACTIVATION, MaskedBaseScore

    if outputs is not None and [int(o) for o in outputs] != [0]:
        raise SeqfcnError("a masked-base trunk has one output channel (0: ln p of the base there)", path=str(model))
    if activation not in ("auto", ACTIVATION):
        raise SeqfcnError(f"a masked-base trunk scores ln p(base) (activation auto), not {activation}", path=str(model))
    return net, MaskedBaseScore(net).eval(), [0], ACTIVATION


def model_margin(model: torch.nn.Module) -> int:
    """Context per side that makes tiling exact: the model's larger receptive reach."""
    left, right = model.receptive_margins
    return int(max(left, right, 0))
