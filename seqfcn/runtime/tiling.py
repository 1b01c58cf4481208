"""Exact whole-chromosome tiling: windows with receptive-field margins, stitched back.

A chromosome of ``length`` bases is cut into *tiles*. Each tile **owns** a core
``[core_start, core_end)`` of ``window`` bases (the last core is shorter when
``length`` is not a multiple of ``window``: the partial tile is kept); the cores
of one chromosome partition ``[0, length)`` in order. A tile is run on its core
plus ``margin`` bases of context on each side, clipped to the chromosome:
``[start, end) = [core_start - margin, core_end + margin) ∩ [0, length)``; how
much was clipped is recorded in ``pad_left`` / ``pad_right``.

Exactness condition
-------------------
Let a model be a stack of stride-1 convolutions with ``padding="same"`` (any
nonlinearities, normalisation in eval mode, residual sums): it is translation
equivariant and output position ``p`` depends on inputs ``p - a .. p + b`` only,
where ``a`` / ``b`` are the summed left / right reaches of the layers. Inside a
window the model pads *every* layer with zeros at the window ends; values within
``a`` (``b``) of an end that is **not** the chromosome end are therefore wrong,
and the error creeps inward by one layer's reach per layer, i.e. by ``a``
(``b``) in total. Hence the stitched result equals the whole-chromosome output
exactly (up to float summation order) when ``margin >= max(a, b)``.
For a stack with total receptive field ``R = 1 + sum(d_l * (k_l - 1))`` whose
layers are all symmetric (odd kernels, or even ``d * (k - 1)``) ``a = b = (R - 1) / 2``;
:func:`margin_for_receptive_field` returns that, or the always-safe ``R - 1``
for asymmetric (even-kernel) stacks; with the reaches known (e.g. from
``seqfcn.nn.receptive.receptive_margins``) use ``margin = max(a, b)``.
Blending (``blend="linear"``) lets each tile contribute ``blend_overlap`` bases
past its core, so it is exact when ``margin - blend_overlap >= max(a, b)``.

Chromosome edges
----------------
Zero-padding the *input* at a chromosome edge is exact only for a single conv
layer: in a deeper stack the first layer's outputs in the padded columns are not
zero (bias, partial overlap with real bases), while the whole-chromosome run pads
every layer's input with zeros. :func:`predict_tiled` therefore never pads at the
edges by default (``edge="shift"``): an edge window is slid inward so that it has
the same length as the others (``window + 2 * margin``, or the whole chromosome
when that is shorter) and touches the true chromosome end, where the model's own
"same" padding reproduces the whole-chromosome run. ``edge="pad"`` instead pads
edge windows with ``pad_value`` to ``window + 2 * margin`` (what a model trained
on padded fixed windows expects); it is exact only for single-layer models.

Models with down-sampling (strided conv, pooling, U-Nets) are equivariant only to
shifts by their total stride and are not covered by this guarantee.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
    Union,
)

import numpy as np

from seqfcn.errors import SeqfcnError
from seqfcn.sequence.encode import is_tensor

if TYPE_CHECKING:  # PyTorch is imported where a tensor is made: tiling a genome needs none
    import torch

ArrayLike = Union[np.ndarray, "torch.Tensor"]

Fetch = Callable[[int, int], ArrayLike]

EDGE_MODES = ("shift", "pad")
BLEND_MODES = ("linear",)


@dataclass(frozen=True)
class Tile:
    """One window of a chromosome (0-based, half-open coordinates).

    Attributes:
        chrom: chromosome name.
        core_start, core_end: the bases this tile owns; the cores of a chromosome
            partition ``[0, length)`` in order.
        start, end: the bases to fetch, ``core ± margin`` clipped to ``[0, length)``.
        pad_left, pad_right: bases clipped at the chromosome start / end, so that
            ``pad_left + (end - start) + pad_right == core_length + 2 * margin``.
    """

    chrom: str
    core_start: int
    core_end: int
    start: int
    end: int
    pad_left: int
    pad_right: int

    @property
    def core_length(self) -> int:
        """Number of bases the tile owns."""
        return self.core_end - self.core_start

    @property
    def span(self) -> int:
        """Number of bases fetched, ``end - start``."""
        return self.end - self.start

    @property
    def padded_length(self) -> int:
        """``pad_left + span + pad_right`` = ``core_length + 2 * margin``."""
        return self.pad_left + self.span + self.pad_right

    @property
    def core_slice(self) -> slice:
        """Columns of a ``(K, end - start)`` window output that belong to the core."""
        return slice(self.core_start - self.start, self.core_end - self.start)

    @property
    def padded_core_slice(self) -> slice:
        """Columns of a ``(K, pad_left + end - start + ...)`` left-padded output that belong to the core."""
        offset = self.pad_left + self.core_start - self.start
        return slice(offset, offset + self.core_length)


def _check_int(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise SeqfcnError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise SeqfcnError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def margin_for_receptive_field(rf: int, *, centered: bool = True) -> int:
    """Margin that makes tiling exact for a model with total receptive field ``rf``.

    Args:
        rf: receptive field width in bases (``1 + sum(d * (k - 1))`` for a conv stack).
        centered: every layer reaches equally far left and right (odd kernels); the
            margin is then ``ceil((rf - 1) / 2)``. With ``False`` (even kernels,
            whose "same" padding is lopsided) the safe bound ``rf - 1`` is returned.
    """
    rf = _check_int("receptive field", rf, 1)
    return rf // 2 if centered else rf - 1


def tile_chromosome(chrom: str, length: int, window: int, margin: int) -> list[Tile]:
    """Tile one chromosome.

    Args:
        chrom: chromosome name.
        length: chromosome length in bases (0 gives no tiles).
        window: **core** length: the bases each tile owns. The fetched span is up
            to ``window + 2 * margin`` bases.
        margin: context on each side of the core (see :func:`margin_for_receptive_field`).

    Returns:
        ``ceil(length / window)`` tiles whose cores partition ``[0, length)``; the
        last one is partial when ``window`` does not divide ``length``.
    """
    length = _check_int("chromosome length", length, 0)
    window = _check_int("window", window, 1)
    margin = _check_int("margin", margin, 0)
    tiles = []
    for core_start in range(0, length, window):
        core_end = min(core_start + window, length)
        start = max(core_start - margin, 0)
        end = min(core_end + margin, length)
        tiles.append(
            Tile(chrom, core_start, core_end, start, end, start - (core_start - margin), core_end + margin - end)
        )
    return tiles


def tile_genome(chrom_sizes: Mapping[str, int], window: int, margin: int) -> list[Tile]:
    """Tile every chromosome of ``chrom_sizes`` (in its order); see :func:`tile_chromosome`."""
    return [t for chrom, length in chrom_sizes.items() for t in tile_chromosome(chrom, length, window, margin)]


def merge_spans(spans: Iterable[tuple[str, int, int]], chrom_order: Iterable[str]) -> list[tuple[str, int, int]]:
    """``(chrom, start, end)`` spans in genome order (``chrom_order``), overlapping or touching
    ones merged: the stretches a scan of regions covers (``seqfcn scan``, model scans)."""
    order = {c: i for i, c in enumerate(chrom_order)}
    out: list[tuple[str, int, int]] = []
    for chrom, start, end in sorted(spans, key=lambda r: (order.get(r[0], -1), r[1], r[2])):
        if out and out[-1][0] == chrom and start <= out[-1][2]:
            out[-1] = (chrom, out[-1][1], max(out[-1][2], end))
        else:
            out.append((chrom, start, end))
    return out


def genome_spans(chrom_sizes: dict[str, int], regions: Iterable[tuple[str, int, int]] | None = None, *,
                 path: str | os.PathLike | None = None) -> list[tuple[str, int, int]]:
    """The stretches to run: whole chromosomes, or 0-based ``regions`` merged where they
    overlap or touch, in genome order.

    One rule with every ``--regions`` of the command line: a region is never clipped.

    Raises:
        SeqfcnError: a region on a chromosome the genome lacks, or outside it
            (``start < 0``, ``end`` past the chromosome's end, ``end <= start``);
            ``path``: the genome, named.
    """
    if regions is None:
        return [(c, 0, n) for c, n in chrom_sizes.items() if n > 0]
    spans = []
    for chrom, start, end in regions:
        if chrom not in chrom_sizes:
            raise SeqfcnError("region on a chromosome the genome lacks", path=path, record=chrom)
        start, end = int(start), int(end)
        if not 0 <= start < end <= chrom_sizes[chrom]:
            raise SeqfcnError(f"region {start}-{end} is not inside the chromosome (0-{chrom_sizes[chrom]}); "
                              "regions are never clipped", path=path, record=chrom)
        spans.append((chrom, start, end))
    return merge_spans(spans, chrom_sizes)


def select_shard(tiles: Sequence[Tile], index: int, count: int) -> list[Tile]:
    """Shard ``index`` of ``count`` (**0-based** ``index``): a contiguous block of tiles.

    The ``count`` shards are disjoint, cover every tile exactly once, keep the
    genome order and differ in size by at most one tile. Use :func:`parse_shard`
    for the 1-based ``"i/n"`` text of the command line.
    """
    count = _check_int("shard count", count, 1)
    index = _check_int("shard index", index, 0)
    if index >= count:
        raise SeqfcnError(f"shard index {index} is out of range for {count} shards (0-based)")
    n = len(tiles)
    return list(tiles[index * n // count : (index + 1) * n // count])


def parse_shard(text: str) -> tuple[int, int]:
    """Parse the command line's 1-based ``"i/n"`` into a 0-based ``(index, count)``."""
    parts = str(text).split("/")
    try:
        if len(parts) != 2:
            raise ValueError
        i, n = int(parts[0]), int(parts[1])
    except ValueError:
        raise SeqfcnError(f"shard must look like i/n (e.g. 2/8), got {text!r}") from None
    if n < 1 or not 1 <= i <= n:
        raise SeqfcnError(f"shard {text!r}: need 1 <= i <= n")
    return i - 1, n


def _tent(lo: int, hi: int, core_start: int, core_end: int, overlap: int) -> np.ndarray:
    """Linear weight over genome positions ``[lo, hi)``: a tent on ``[core_start - overlap, core_end + overlap)``."""
    x = np.arange(lo, hi, dtype=np.float64) + 0.5
    return np.minimum(x - (core_start - overlap), (core_end + overlap) - x)


def blend_region(tile: Tile, length: int, overlap: int) -> tuple[int, int]:
    """Genome positions ``[lo, hi)`` a tile contributes to when blending: its core ± ``overlap``, clipped."""
    return max(tile.core_start - overlap, 0), min(tile.core_end + overlap, length)


def blend_weights(tiles: Sequence[Tile], index: int, length: int, overlap: int) -> tuple[int, int, np.ndarray]:
    """Normalised linear blending weights of ``tiles[index]``.

    Each tile contributes to its core ± ``overlap`` (clipped to the chromosome)
    with a tent weight that is highest at the centre of its core; the weights
    are divided by the sum over all tiles covering a position, so that at every
    position they sum to 1 over the tiles.

    Args:
        tiles: all tiles of one chromosome, in order (from :func:`tile_chromosome`).
        index: which tile.
        length: chromosome length.
        overlap: how far a tile reaches beyond its core; blending is exact for a
            translation-equivariant model when ``margin - overlap`` is at least
            the model's reach (see the module docstring).

    Returns:
        ``(lo, hi, w)``: ``w`` is ``(hi - lo,)`` float64 weights for genome positions ``[lo, hi)``.
    """
    overlap = _check_int("blend overlap", overlap, 0)
    tile = tiles[index]
    lo, hi = blend_region(tile, length, overlap)
    own = _tent(lo, hi, tile.core_start, tile.core_end, overlap)
    total = own.copy()
    for step in (-1, 1):
        k = index + step
        while 0 <= k < len(tiles):
            klo, khi = blend_region(tiles[k], length, overlap)
            a, b = max(lo, klo), min(hi, khi)
            if a >= b:
                break
            total[a - lo : b - lo] += _tent(a, b, tiles[k].core_start, tiles[k].core_end, overlap)
            k += step
    return lo, hi, own / total


def _check_partition(chrom: str, tiles: Sequence[Tile], length: int) -> None:
    pos = 0
    for t in sorted(tiles, key=lambda t: t.core_start):
        if t.core_start != pos:
            raise ValueError(f"{chrom}: tile cores do not partition [0, {length}) (gap or overlap at {pos})")
        pos = t.core_end
    if pos != length:
        raise ValueError(f"{chrom}: tile cores end at {pos}, chromosome length is {length}")


class _Assembler:
    """Accumulates window outputs of one chromosome into a ``(K, length)`` array or tensor."""

    def __init__(self, tiles: Sequence[Tile], length: int, blend: str | None, overlap: int) -> None:
        if blend is not None and blend not in BLEND_MODES:
            raise SeqfcnError(f"unknown blend {blend!r}; choose from {', '.join(BLEND_MODES)}")
        self.tiles = sorted(tiles, key=lambda t: t.core_start)
        self.index = {t: i for i, t in enumerate(self.tiles)}
        self.length = length
        self.blend = blend
        self.overlap = overlap
        self.out: ArrayLike | None = None

    def add(self, tile: Tile, output: ArrayLike, window_start: int) -> None:
        """Add one window output ``(K, W)`` whose column 0 is genome position ``window_start``."""
        if self.out is None:
            shape = (output.shape[0], self.length)
            if is_tensor(output):
                import torch

                kind_ok = self.blend is None or output.is_floating_point()
                self.out = torch.zeros(shape, dtype=output.dtype if kind_ok else torch.float64)
            else:
                kind_ok = self.blend is None or output.dtype.kind == "f"
                self.out = np.zeros(shape, dtype=output.dtype if kind_ok else np.float64)
        if self.blend is None:
            lo, hi = tile.core_start, tile.core_end
            self.out[:, lo:hi] = output[:, lo - window_start : hi - window_start]
            return
        lo, hi, w = blend_weights(self.tiles, self.index[tile], self.length, self.overlap)
        part = output[:, lo - window_start : hi - window_start]
        if is_tensor(part):
            import torch

            self.out[:, lo:hi] += part * torch.from_numpy(w).to(self.out.dtype)
        else:
            self.out[:, lo:hi] += part * w.astype(self.out.dtype)

    def result(self) -> ArrayLike:
        if self.out is None:  # a chromosome of length 0
            return np.zeros((0, self.length), dtype=np.float32)
        return self.out


def _check_blend(blend: str | None, overlap: int | None, margin: int) -> int:
    if blend is None:
        return 0
    if blend not in BLEND_MODES:
        raise SeqfcnError(f"unknown blend {blend!r}; choose from {', '.join(BLEND_MODES)}")
    overlap = margin // 2 if overlap is None else _check_int("blend overlap", overlap, 0)
    if overlap > margin:
        raise SeqfcnError(f"blend overlap {overlap} is larger than the margin {margin}")
    return overlap


def stitch(
    tiles: Sequence[Tile],
    outputs: Iterable[ArrayLike],
    lengths: Mapping[str, int],
    *,
    blend: str | None = None,
    blend_overlap: int = 0,
) -> dict[str, ArrayLike]:
    """Assemble per-tile window outputs into whole-chromosome outputs.

    Args:
        tiles: the tiles (any chromosomes, e.g. from :func:`tile_genome`); the
            tiles given for a chromosome must partition it.
        outputs: one array or tensor per tile, in the same order, either
            ``(K, end - start)`` (the fetched span) or left-padded
            ``(K, pad_left + end - start + r)`` with any ``r >= 0`` (``pad_right``,
            or more for a fixed window length ``window + 2 * margin``).
        lengths: chromosome lengths.
        blend: ``None`` (each tile's core is copied) or ``"linear"`` (each tile
            contributes to its core ± ``blend_overlap`` with the weights of
            :func:`blend_weights`).
        blend_overlap: how far past its core a tile contributes; at most the margin.

    Returns:
        ``{chrom: (K, length)}``, numpy or torch like the outputs, in tile order.
    """
    by_chrom: dict[str, list[Tile]] = {}
    for t in tiles:
        by_chrom.setdefault(t.chrom, []).append(t)
    assemblers = {}
    for chrom, ts in by_chrom.items():
        if chrom not in lengths:
            raise ValueError(f"no length given for chromosome {chrom!r}")
        _check_partition(chrom, ts, lengths[chrom])
        if blend is not None:
            for t in ts:
                lo, hi = blend_region(t, lengths[chrom], _check_int("blend overlap", blend_overlap, 0))
                if lo < t.start or hi > t.end:
                    raise ValueError(f"blend_overlap {blend_overlap} reaches past the fetched span of {t}")
        assemblers[chrom] = _Assembler(ts, lengths[chrom], blend, blend_overlap)
    count = 0
    for tile, out in zip(tiles, outputs):
        count += 1
        width = out.shape[-1]
        if width == tile.span:
            window_start = tile.start
        elif width >= tile.pad_left + tile.span:
            window_start = tile.start - tile.pad_left
        else:
            raise ValueError(f"output of width {width} is too short for {tile}")
        assemblers[tile.chrom].add(tile, out, window_start)
    if count != len(tiles):
        raise ValueError(f"got {count} outputs for {len(tiles)} tiles")
    return {chrom: a.result() for chrom, a in assemblers.items()}


def window_bounds(
    tile: Tile, length: int, window: int, margin: int, edge: str = "shift"
) -> tuple[int, int, int, int]:
    """The span :func:`predict_tiled` fetches for a tile, and the padding it adds.

    Returns:
        ``(fetch_start, fetch_end, left, right)``: the model sees ``left`` columns of
        padding, bases ``[fetch_start, fetch_end)`` and ``right`` columns of padding.
        ``edge="shift"``: a fixed-length span ``min(window + 2 * margin, length)``
        inside the chromosome that contains ``[start, end)``, no padding.
        ``edge="pad"``: ``[start, end)`` padded to ``window + 2 * margin``.
    """
    full = window + 2 * margin
    if edge == "shift":
        span = min(full, length)
        fetch_start = min(max(tile.core_start - margin, 0), length - span)
        return fetch_start, fetch_start + span, 0, 0
    if edge == "pad":
        return tile.start, tile.end, tile.pad_left, full - tile.pad_left - tile.span
    raise SeqfcnError(f"unknown edge mode {edge!r}; choose from {', '.join(EDGE_MODES)}")


def _as_tensor(x: ArrayLike) -> torch.Tensor:
    import torch

    return x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x))


def _batches(tiles: Sequence[Tile], size: int) -> Iterator[Sequence[Tile]]:
    for i in range(0, len(tiles), size):
        yield tiles[i : i + size]


@dataclass
class TilingOptions:
    """How :func:`predict_tiled` and :func:`predict_genome` run a model over tiles.

    Attributes:
        batch_size: windows per model call; at most this many windows exist at once (default 64).
        pad_value: fill for the padding of ``edge="pad"`` (default 0.0).
        blend: ``None`` (default) or ``"linear"`` (centre-weighted blending of overlapping tiles).
        blend_overlap: how far past its core a tile contributes when blending
            (default None: ``margin // 2``); exact when ``margin - blend_overlap`` is at
            least the model's reach.
        edge: ``"shift"`` (default; exact: slide edge windows inward) or ``"pad"`` (pad edge
            windows with ``pad_value``; exact only for one-layer models).
        device: where the model runs; windows are moved there, outputs back to CPU
            (default None: where the windows are).
        dtype: input dtype for the model (default None: the sequence's float dtype, else float32).
        chrom: name used in tiles and error messages (default ``"sequence"``;
            :func:`predict_genome` sets each chromosome's).
        progress: show a tqdm bar on stderr (default False).
    """

    batch_size: int = 64
    pad_value: float = 0.0
    blend: str | None = None
    blend_overlap: int | None = None
    edge: str = "shift"
    device: str | torch.device | None = None
    dtype: torch.dtype | None = None
    chrom: str = "sequence"
    progress: bool = False


def predict_tiled(
    model_fn: Callable[[torch.Tensor], torch.Tensor],
    sequence: ArrayLike | Fetch,
    length: int | None,
    window: int,
    margin: int,
    options: TilingOptions | None = None,
    **overrides: Any,
) -> torch.Tensor:
    """Run a same-length model over one chromosome in tiles and stitch the result.

    Args:
        model_fn: a function or ``torch.nn.Module`` (call ``.eval()`` first) mapping
            ``(batch, C, W)`` to ``(batch, K, W)``; ``W = window + 2 * margin``
            (or the chromosome length when that is shorter, with ``edge="shift"``).
        sequence: the encoded chromosome ``(C, length)`` (numpy or torch), or a
            function ``fetch(start, end) -> (C, end - start)`` that reads it piecewise.
        length: chromosome length; ``None`` takes it from ``sequence``.
        window: core length of a tile (see :func:`tile_chromosome`).
        margin: context per side; exact when at least the model's reach.
        options: :class:`TilingOptions` (batch size, blending, edge mode, device, ...);
            ``overrides`` replace single fields (``predict_tiled(m, x, None, 4096, 512, batch_size=8)``).

    Returns:
        ``(K, length)`` CPU tensor in the model's output dtype.
    """
    from seqfcn.runtime.options import resolve_options

    opts = resolve_options(TilingOptions, options, overrides, "predict_tiled")
    batch_size, blend, edge, device, dtype, chrom = (opts.batch_size, opts.blend, opts.edge, opts.device, opts.dtype,
                                                     opts.chrom)
    import torch
    import torch.nn.functional as F

    batch_size = _check_int("batch size", batch_size, 1)
    overlap = _check_blend(blend, opts.blend_overlap, margin)
    if edge not in EDGE_MODES:
        raise SeqfcnError(f"unknown edge mode {edge!r}; choose from {', '.join(EDGE_MODES)}")
    if callable(sequence) and not isinstance(sequence, (np.ndarray, torch.Tensor)):
        if length is None:
            raise SeqfcnError("length is required when sequence is a fetch function")
        fetch = sequence
    else:
        seq = _as_tensor(sequence)
        if seq.ndim != 2:
            raise ValueError(f"sequence must be (C, length), got shape {tuple(seq.shape)}")
        if length is not None and length != seq.shape[1]:
            raise SeqfcnError(f"length {length} does not match the sequence's {seq.shape[1]} columns", record=chrom)
        length = seq.shape[1]

        def fetch(a: int, b: int) -> torch.Tensor:
            return seq[:, a:b]

    tiles = tile_chromosome(chrom, length, window, margin)
    assembler = _Assembler(tiles, length, blend, overlap)
    from tqdm import tqdm

    with torch.no_grad(), tqdm(total=len(tiles), disable=not opts.progress, desc=chrom, unit="tile") as bar:
        for batch in _batches(tiles, batch_size):
            windows, starts = [], []
            for tile in batch:
                a, b, left, right = window_bounds(tile, length, window, margin, edge)
                x = _as_tensor(fetch(a, b))
                if x.ndim != 2 or x.shape[1] != b - a:
                    raise ValueError(f"fetch({a}, {b}) returned shape {tuple(x.shape)}, expected (C, {b - a})")
                if dtype is not None:
                    x = x.to(dtype)
                elif not x.is_floating_point():
                    x = x.to(torch.float32)
                if left or right:
                    x = F.pad(x, (left, right), value=opts.pad_value)
                windows.append(x)
                starts.append(a - left)
            x = torch.stack(windows)
            if device is not None:
                x = x.to(device)
            y = model_fn(x)
            if not isinstance(y, torch.Tensor) or y.ndim != 3 or y.shape[::2] != x.shape[::2]:
                shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
                raise ValueError(
                    f"model must map (batch, C, W) to (batch, K, W); got {shape} for {tuple(x.shape)}"
                )
            y = y.detach().to("cpu")
            for tile, out, start in zip(batch, y, starts):
                assembler.add(tile, out, start)
            bar.update(len(batch))
    result = assembler.result()
    return result if isinstance(result, torch.Tensor) else torch.from_numpy(result)


def predict_genome(
    model_fn: Callable[[torch.Tensor], torch.Tensor],
    fetch: Callable[[str, int, int], ArrayLike],
    chrom_sizes: Mapping[str, int],
    window: int,
    margin: int,
    options: TilingOptions | None = None,
    **overrides: Any,
) -> Iterator[tuple[str, torch.Tensor]]:
    """Yield ``(chrom, (K, length))`` for each chromosome, one at a time.

    ``fetch(chrom, start, end)`` returns the encoded ``(C, end - start)`` bases;
    the other arguments are those of :func:`predict_tiled` (``chrom`` is each chromosome's name).
    """
    for chrom, length in chrom_sizes.items():
        yield chrom, predict_tiled(
            model_fn, lambda a, b, c=chrom: fetch(c, a, b), length, window, margin, options, **{**overrides,
                                                                                               "chrom": chrom}
        )
