"""Scan a genome with a trained per-base motif model → probability tracks and called sites.

Pipeline (:func:`scan_model`):

1. The model (``seqfcn.checkpoint.load_model``) maps ``(batch, 4, W)`` one-hot
   windows to ``(batch, K, W)`` per-base logits; output channel ``output`` is used.
2. **Both strands.** Each window is also run reverse-complemented and that
   output is flipped back, so both strands give a probability for every base
   of the forward coordinates: ``p(x) = merge(sigmoid(f(x)), flip(sigmoid(f(rc(x)))))``
   with ``merge`` ``"mean"`` (default: the average of the two strands) or
   ``"max"``. A model whose first layer is already strand-symmetric
   (``MotifConv`` ``strand="both_max"``) gives nearly the same value on both
   strands; the merge makes the track exactly strand-symmetric for any model:
   scanning the reverse-complemented genome gives the reversed track.
3. **Exact tiling.** Chromosomes (or ``regions``) are cut into tiles of
   ``window`` bases run with a margin of ``max(left, right)`` receptive-field
   reach of the model (``model.receptive_margins``), through
   :func:`seqfcn.tiling.predict_tiled` (``edge="shift"``): the stitched track
   equals a single whole-chromosome run (up to float summation order). A region
   is scanned with ``margin`` bases of real flanking sequence on each side, so
   its values are those of the whole-chromosome scan too.
4. **Sharding.** ``shard=(index, count)`` (0-based, :func:`seqfcn.tiling.select_shard`)
   keeps a contiguous block of the genome's tiles (``tile_genome`` over the
   chromosomes or regions, with ``window``); the tracks of the ``count`` shards
   are disjoint and together equal the unsharded run.
5. **Sites.** On each scanned stretch: the local maxima of the track at or above
   ``threshold`` (a plateau of equal values counts once, at its left end),
   then greedy non-maximum suppression: from the highest probability down, a
   maximum is kept unless a kept site lies within ``min_distance`` bases
   (``|i - j| <= min_distance``). Ties go to the leftmost. Suppression works
   within one contiguous scanned stretch (one shard's part of a chromosome);
   two shards may each keep a site near their common border.

Sites are a BED6 table: ``chrom, start, end, name, score, strand`` with
``[start, end)`` the ``site_width`` bases centred on the maximum (clipped to the
chromosome), ``score`` the merged probability at the maximum, ``strand`` ``.``
(both strands merged), ``name`` ``site_<n>``; plus a ``summit`` column (the
maximum's 0-based position).

Tracks are ``{chrom: (length,) float32}`` over the whole chromosome with NaN
where nothing was scanned (outside ``regions`` or the shard), which the
bedGraph/bigWig writers skip (4 bytes per base of each scanned chromosome;
the model input is read window by window).
"""
from __future__ import annotations

import bisect
import os
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from seqfcn.errors import RegionError, SeqfcnError
from seqfcn.predict import MERGES, StrandMerged  # noqa: F401  (re-exported)
from seqfcn.tiling import merge_spans, predict_tiled, select_shard, tile_chromosome

SITE_COLUMNS = ["chrom", "start", "end", "name", "score", "strand", "summit"]

Span = tuple[str, int, int]


def call_sites(track: np.ndarray, threshold: float, min_distance: int) -> np.ndarray:
    """Positions of the local maxima of a ``(n,)`` track at or above ``threshold``, after
    non-maximum suppression within ``min_distance`` (see the module docstring), sorted.

    NaN values never form sites and split plateaus.
    """
    p = np.asarray(track, dtype=np.float64)
    n = p.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    v = np.where(np.isnan(p), -np.inf, p)
    left = np.concatenate([[-np.inf], v[:-1]])
    # right neighbour: the next *different* value (plateaus count once, at their left end)
    change = np.flatnonzero(np.diff(v) != 0)
    nxt_idx = np.searchsorted(change, np.arange(n))  # first change at or after i
    right = np.full(n, -np.inf)
    has = nxt_idx < change.size
    right[has] = v[change[nxt_idx[has]] + 1]
    candidates = np.flatnonzero((v >= threshold) & (v > left) & (v > right) & np.isfinite(v))
    if min_distance <= 0 or candidates.size <= 1:
        return candidates.astype(np.int64)
    order = candidates[np.lexsort((candidates, -v[candidates]))]
    kept: list[int] = []
    for i in order:
        k = bisect.bisect_left(kept, i)
        if k < len(kept) and kept[k] - i <= min_distance:
            continue
        if k > 0 and i - kept[k - 1] <= min_distance:
            continue
        kept.insert(k, int(i))
    return np.asarray(kept, dtype=np.int64)


def _spans(
    chrom_sizes: dict[str, int], regions: Sequence[str | Span] | None
) -> list[Span]:
    """The stretches to scan: whole chromosomes, or the regions (merged where they overlap)."""
    if regions is None:
        return [(c, 0, n) for c, n in chrom_sizes.items() if n > 0]
    from seqfcn.io.fasta import parse_region

    spans: list[Span] = []
    for r in regions:
        chrom, start, end = parse_region(r) if isinstance(r, str) else (r[0], int(r[1]), r[2])
        if chrom not in chrom_sizes:
            raise RegionError("chromosome is not in the genome", record=chrom)
        end = chrom_sizes[chrom] if end is None else int(end)
        if not 0 <= start < end <= chrom_sizes[chrom]:
            raise RegionError(f"region {start}-{end} is empty or outside the chromosome "
                              f"(length {chrom_sizes[chrom]})", record=chrom, position=start)
        spans.append((chrom, start, end))
    return merge_spans(spans, chrom_sizes)


def _shard_spans(spans: list[Span], window: int, margin: int, shard: tuple[int, int]) -> list[Span]:
    """The contiguous stretches covered by shard ``shard`` of the tiles of ``spans``."""
    tiles = []
    for chrom, start, end in spans:
        tiles += [(chrom, start + t.core_start, start + t.core_end) for t in
                  tile_chromosome(chrom, end - start, window, margin)]
    mine = select_shard(tiles, *shard)
    out: list[Span] = []
    for chrom, s, e in mine:
        if out and out[-1][0] == chrom and out[-1][2] == s:
            out[-1] = (chrom, out[-1][1], e)
        else:
            out.append((chrom, s, e))
    return out


def scan_model(
    genome_path: str | os.PathLike,
    model_dir: str | os.PathLike,
    *,
    window: int = 100_000,
    batch_size: int = 16,
    device: str | torch.device = "cpu",
    threshold: float = 0.5,
    min_distance: int | None = None,
    regions: Sequence[str | Span] | None = None,
    shard: tuple[int, int] | None = None,
    output: int = 0,
    merge: str = "mean",
    site_width: int | None = None,
    progress: bool = False,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Per-base motif probability tracks and called sites of a genome (see the module docstring).

    Args:
        genome_path: FASTA (indexed on the fly by :class:`seqfcn.io.fasta.Genome`).
        model_dir: a model saved by :func:`seqfcn.checkpoint.save_model` (4 input channels).
        window: tile core length in bases.
        batch_size: windows per model call (each is also run reverse-complemented).
        device: where the model runs (``"auto"``: cuda → mps → cpu, ``"cpu"``, ``"cuda"``, ...).
        threshold: smallest merged probability of a site.
        min_distance: non-maximum suppression distance in bases (default: the
            model's motif width if it has a ``motif_conv``, else half its receptive field).
        regions: ``"chr:start-end"`` (1-based, samtools style) strings or 0-based
            ``(chrom, start, end)`` tuples (``end`` may be ``None``); default whole genome.
        shard: ``(index, count)``, 0-based (``seqfcn.tiling.parse_shard`` reads ``"i/n"``).
        output: which model output channel (motif) to scan.
        merge: ``"mean"`` or ``"max"`` of the two strands.
        site_width: width of the BED interval of a site (default: ``min_distance``, at least 1).
        progress: tqdm bars on stderr.

    Returns:
        ``(sites, tracks)``: the BED6+summit table (columns ``SITE_COLUMNS``, genome
        order) and ``{chrom: (length,) float32}`` tracks (NaN where not scanned).

    Raises:
        ModelFileError: unreadable model; RegionError: bad region; SeqfcnError: bad arguments.
    """
    from seqfcn.io.fasta import Genome
    from seqfcn.predict import load_sequence_model, model_margin

    if not 0.0 <= threshold <= 1.0:
        raise SeqfcnError(f"threshold must be a probability in [0, 1], got {threshold}")
    if str(device) == "auto":
        from seqfcn.train import resolve_device

        device = resolve_device("auto")
    model, fn, _, _ = load_sequence_model(model_dir, [output], activation="sigmoid", merge=merge, device=device)
    margin = model_margin(model)
    if min_distance is None:
        conv = getattr(model, "motif_conv", None)
        min_distance = int(conv.kernel_size) if conv is not None else max(1, model.receptive_field // 2)
    if min_distance < 0:
        raise SeqfcnError(f"min_distance must be >= 0, got {min_distance}")
    site_width = max(1, int(min_distance if site_width is None else site_width))

    genome = Genome(genome_path)
    sizes = genome.chrom_sizes
    spans = _spans(sizes, regions)
    if shard is not None:
        spans = _shard_spans(spans, window, margin, shard)
    tracks: dict[str, np.ndarray] = {}
    rows = []
    for chrom, start, end in spans:
        lo, hi = max(0, start - margin), min(sizes[chrom], end + margin)
        # windows are read from the FASTA as needed: memory ~ batch_size windows, not the chromosome
        fetch = lambda a, b, c=chrom, o=lo: genome.one_hot(c, o + a, o + b)  # noqa: E731
        probs = predict_tiled(fn, fetch, hi - lo, window, margin, batch_size=batch_size, device=device,
                              chrom=chrom, progress=progress)[0].numpy()
        values = probs[start - lo : end - lo].astype(np.float32)
        track = tracks.setdefault(chrom, np.full(sizes[chrom], np.nan, dtype=np.float32))
        track[start:end] = values
        for pos in call_sites(values, threshold, min_distance) + start:
            a = max(0, int(pos) - site_width // 2)
            b = min(sizes[chrom], a + site_width)
            rows.append((chrom, a, b, float(track[pos]), int(pos)))
    sites = pd.DataFrame(rows, columns=["chrom", "start", "end", "score", "summit"])
    sites.insert(3, "name", [f"site_{i + 1}" for i in range(len(sites))])
    sites.insert(5, "strand", ".")
    sites["score"] = sites["score"].round(6)
    return sites[SITE_COLUMNS], tracks


def write_scan(
    sites: pd.DataFrame,
    tracks: dict[str, np.ndarray],
    chrom_sizes: dict[str, int],
    *,
    sites_path: str | os.PathLike | None = None,
    bedgraph_path: str | os.PathLike | None = None,
    bigwig_path: str | os.PathLike | None = None,
) -> None:
    """Write the outputs of :func:`scan_model` (each atomically; ``-`` is stdout for text).

    ``sites_path``: BED6+summit; ``bedgraph_path``: the tracks as bedGraph (NaN
    skipped, equal runs merged); ``bigwig_path``: the tracks as bigWig
    (``chrom_sizes`` gives the header, e.g. ``Genome(path).chrom_sizes``).
    """
    from seqfcn.io.intervals import write_bed, write_bedgraph, write_bigwig

    if sites_path is not None:
        write_bed(sites, sites_path)
    if bedgraph_path is not None:
        write_bedgraph(tracks, bedgraph_path)
    if bigwig_path is not None:
        write_bigwig(tracks, chrom_sizes, bigwig_path)
