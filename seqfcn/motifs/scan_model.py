"""Scan a genome with a trained per-base motif model → called sites, streamed in bounded memory.

Pipeline (:func:`scan_model`):

1. The model (``seqfcn.nn.checkpoint.load_model``) maps ``(batch, 4, W)`` one-hot
   windows to ``(batch, K, W)`` per-base logits; output channel ``output`` is used.
2. **Both strands.** Each window is also run reverse-complemented and that
   output is flipped back, so both strands give a probability for every base
   of the forward coordinates: ``p(x) = merge(sigmoid(f(x)), flip(sigmoid(f(rc(x)))))``
   with ``merge`` ``"mean"`` (default: the average of the two strands) or
   ``"max"`` (:class:`seqfcn.interpret.predict.StrandMerged`). The track is exactly
   strand-symmetric for any model: scanning the reverse-complemented genome gives
   the reversed track.
3. **Exact tiling, streamed.** Chromosomes (or ``regions``) are cut into tile cores
   of ``window`` bases run with a margin of the model's receptive reach
   (:func:`seqfcn.interpret.predict.span_tiles`, :func:`seqfcn.interpret.predict.predict_pieces`): each
   core's values are those of a single whole-chromosome run (up to float summation
   order). The cores go one at a time through a :class:`SiteCaller`, so memory is a
   batch of windows plus the candidate sites not yet decided, never a chromosome
   (the same values as ``seqfcn predict`` writes).
4. **Sharding.** ``shard=(index, count)`` (0-based, :func:`seqfcn.runtime.tiling.select_shard`)
   keeps a contiguous block of the genome's tiles.
5. **Sites.** On each contiguous scanned stretch: the local maxima of the track at
   or above ``threshold`` (a plateau of equal values counts once, at its left end;
   NaN is never a site and splits plateaus), then greedy non-maximum suppression:
   from the highest probability down, a maximum is kept unless a kept site lies
   within ``min_distance`` bases (``|i - j| <= min_distance``). Ties go to the
   leftmost. Suppression works within one contiguous stretch (one shard's part of a
   chromosome); two shards may each keep a site near their common border.

   Streaming is exact: a run of equal values at the end of a piece waits for the
   next piece to know its right neighbour, and candidates are decided in clusters
   (consecutive candidates at most ``min_distance`` apart): no candidate outside a
   cluster can suppress or be suppressed by one inside it, so a cluster whose last
   candidate lies more than ``min_distance`` before anything still to come is
   final. :func:`call_sites` is the same caller fed one whole track.

Sites are a BED6 table: ``chrom, start, end, name, score, strand`` with
``[start, end)`` the ``site_width`` bases centred on the maximum (clipped to the
chromosome), ``score`` the merged probability at the maximum, ``strand`` ``.``
(both strands merged), ``name`` ``site_<n>``; plus a ``summit`` column (the
maximum's 0-based position). The probability track itself is ``seqfcn predict``'s.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd

from seqfcn.errors import RegionError, SeqfcnError
from seqfcn.runtime.inference import InferenceOptions
from seqfcn.runtime.options import resolve_options
from seqfcn.runtime.tiling import merge_spans

SITE_COLUMNS = ["chrom", "start", "end", "name", "score", "strand", "summit"]

Span = tuple[str, int, int]


def _suppress(pos: np.ndarray, val: np.ndarray, min_distance: int) -> np.ndarray:
    """Greedy non-maximum suppression of candidates ``pos`` (sorted) with values ``val``:
    from the highest down (ties: leftmost first), keep unless a kept one is within
    ``min_distance``. Returns the kept positions, sorted. Each candidate looks only at the
    candidates within ``min_distance`` of it (``O(n * window)``, not ``O(n^2)``)."""
    if min_distance <= 0 or pos.size <= 1:
        return pos
    lo = np.searchsorted(pos, pos - min_distance, "left")
    hi = np.searchsorted(pos, pos + min_distance, "right")
    kept = np.zeros(pos.size, dtype=bool)
    for j in np.lexsort((pos, -val)):
        if not kept[lo[j] : hi[j]].any():
            kept[j] = True
    return pos[kept]


class SiteCaller:
    """Call sites on one contiguous track fed piece by piece (see the module docstring).

    ``feed(start, values)`` takes the ``(n,)`` values of positions ``start .. start + n``
    (each piece starting where the last ended) and returns the sites decided so far as
    ``(positions, values)``: int64 and float64 arrays, sorted; ``close()`` returns the
    rest. Memory: one pending plateau and the undecided candidates, i.e. the last cluster
    (candidates at most ``min_distance`` apart). With a threshold so low that maxima chain
    at that spacing along a whole chromosome, the cluster is the chromosome's maxima.
    """

    def __init__(self, threshold: float, min_distance: int) -> None:
        self.threshold, self.min_distance = float(threshold), int(min_distance)
        self._next: int | None = None  # the position the next piece must start at
        self._run: tuple[int, float, float] | None = None  # trailing plateau: (start, value, value before it)
        self._pos: list[np.ndarray] = []  # undecided candidates, in chunks (appending stays O(new))
        self._val: list[np.ndarray] = []
        self._n = 0  # how many undecided
        self._cluster = 0  # where the last cluster starts among them
        self._last: int | None = None  # the last candidate's position

    def feed(self, start: int, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = np.asarray(values, dtype=np.float64).ravel()
        if self._next is not None and int(start) != self._next:
            raise SeqfcnError(f"a site caller's pieces must be contiguous: expected {self._next}, got {start}")
        if v.size == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        self._next = int(start) + v.size
        v = np.where(np.isnan(v), -np.inf, v)
        # the pending plateau stands for itself as one value before the piece
        if self._run is None:
            ext, first, before = v, int(start), -np.inf
        else:
            first, value, before = self._run
            ext = np.concatenate([[value], v])
        pos_of = np.arange(ext.size, dtype=np.int64) + int(start) - (self._run is not None)
        pos_of[0] = first
        change = np.flatnonzero(ext[1:] != ext[:-1])
        tail = int(change[-1]) + 1 if change.size else 0  # the last run's first index: undecided
        left = np.concatenate([[before], ext[:-1]])
        if tail:
            head = ext[:tail]
            right = ext[change[np.searchsorted(change, np.arange(tail))] + 1]
            hit = np.flatnonzero((head >= self.threshold) & (head > left[:tail]) & (head > right)
                                 & np.isfinite(head))
            self._add(pos_of[hit], head[hit])
        self._run = (int(pos_of[tail]), float(ext[tail]), float(left[tail]))
        return self._decide(int(pos_of[tail]))

    def close(self) -> tuple[np.ndarray, np.ndarray]:
        """The remaining sites (the last plateau's right neighbour is nothing)."""
        if self._run is not None:
            first, value, before = self._run
            if value >= self.threshold and value > before and np.isfinite(value):
                self._add(np.array([first]), np.array([value]))
            self._run = None
        return self._decide(None)

    def _add(self, pos: np.ndarray, val: np.ndarray) -> None:
        if pos.size == 0:
            return
        d = max(self.min_distance, 0)
        edges = np.concatenate([[self._last if self._last is not None else pos[0]], pos])
        gaps = np.flatnonzero(np.diff(edges) > d)  # a gap before new candidate g starts a cluster
        if gaps.size:
            self._cluster = self._n + int(gaps[-1])
        self._pos.append(pos.astype(np.int64))
        self._val.append(val.astype(np.float64))
        self._n += pos.size
        self._last = int(pos[-1])

    def _decide(self, frontier: int | None) -> tuple[np.ndarray, np.ndarray]:
        """Suppress and return every cluster that nothing at or after ``frontier`` can reach."""
        d = max(self.min_distance, 0)
        final = self._n if frontier is None or (self._last is not None and frontier - self._last > d) \
            else self._cluster
        if final == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        pos, val = np.concatenate(self._pos), np.concatenate(self._val)
        self._pos, self._val = ([pos[final:]], [val[final:]]) if final < self._n else ([], [])
        self._n, self._cluster = self._n - final, 0
        done_pos, done_val = pos[:final], val[:final]
        kept = _suppress(done_pos, done_val, d)
        return kept, done_val[np.searchsorted(done_pos, kept)]


def call_sites(track: np.ndarray, threshold: float, min_distance: int) -> np.ndarray:
    """Positions of the local maxima of a ``(n,)`` track at or above ``threshold``, after
    non-maximum suppression within ``min_distance`` (see the module docstring), sorted.

    NaN values never form sites and split plateaus.
    """
    caller = SiteCaller(threshold, min_distance)
    a, _ = caller.feed(0, np.asarray(track))
    b, _ = caller.close()
    return np.concatenate([a, b]).astype(np.int64)


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


def stream_sites(pieces: Iterator[tuple[str, int, np.ndarray]], threshold: float, min_distance: int
                 ) -> Iterator[tuple[str, int, float]]:
    """``(chrom, summit, value)`` of every site of a stream of track pieces
    ``(chrom, start, (n,) values)`` in genome order; a piece that does not continue the
    previous one (another chromosome, or a gap) starts a new stretch."""
    def sites(c: str, found: tuple[np.ndarray, np.ndarray]) -> Iterator[tuple[str, int, float]]:
        return ((c, int(p), float(v)) for p, v in zip(*found))

    caller, chrom, end = None, None, None
    for c, start, values in pieces:
        if caller is None or c != chrom or start != end:
            if caller is not None:
                yield from sites(chrom, caller.close())
            caller, chrom = SiteCaller(threshold, min_distance), c
        end = int(start) + len(values)
        yield from sites(c, caller.feed(start, values))
    if caller is not None:
        yield from sites(chrom, caller.close())


@dataclass
class ScanModelOptions(InferenceOptions):
    """How :func:`scan_model_tables` calls sites (``seqfcn scan --model``): the shared
    :class:`~seqfcn.runtime.inference.InferenceOptions` (``window`` 100,000, ``batch_size`` 16,
    ``device`` ``"cpu"`` (here ``"auto"`` is also taken: cuda → mps → cpu), ``merge``
    ``"mean"``, ``shard``, ``progress``) and:

    Attributes:
        threshold: smallest merged probability of a site (default 0.5).
        min_distance: non-maximum suppression distance in bases (default None: the
            model's motif width if it has a ``motif_conv``, else half its receptive field).
        output: which model output channel (motif) to scan (default 0).
        site_width: width of the BED interval of a site (default None: ``min_distance``, at least 1).
        rows_per_table: at most this many sites per table of the stream (default 100,000).
    """

    threshold: float = 0.5
    min_distance: int | None = None
    output: int = 0
    site_width: int | None = None
    rows_per_table: int = 100_000


def scan_model_tables(
    genome_path: str | os.PathLike,
    model_dir: str | os.PathLike,
    options: ScanModelOptions | InferenceOptions | None = None,
    *,
    regions: Sequence[str | Span] | None = None,
    **overrides: Any,
) -> Iterator[pd.DataFrame]:
    """Called sites of a trained per-base motif model over a genome (see the module docstring),
    as a stream of BED6+summit tables (columns ``SITE_COLUMNS``, genome order, names
    ``site_1, site_2, ...`` across the tables, at most ``rows_per_table`` rows each): memory
    does not grow with the genome or the sites (:func:`seqfcn.io.intervals.write_bed` takes
    the stream). :func:`scan_model` gathers it into one table.

    Args:
        genome_path: FASTA (indexed on the fly by :class:`seqfcn.io.fasta.Genome`).
        model_dir: a model saved by :func:`seqfcn.nn.checkpoint.save_model` or a shipped name
            (4 input channels).
        options: :class:`ScanModelOptions` (or the shared ``InferenceOptions``); ``overrides``
            replace single fields (``scan_model_tables(g, m, threshold=0.9)``).
        regions: ``"chr:start-end"`` (1-based, samtools style) strings or 0-based
            ``(chrom, start, end)`` tuples (``end`` may be ``None``); default whole genome.

    Raises:
        ModelFileError: unreadable model; RegionError: bad region; SeqfcnError: bad arguments
            (before the first table).
    """
    from seqfcn.io.fasta import Genome
    from seqfcn.runtime.inference import load_sequence_model, model_margin

    opts = resolve_options(ScanModelOptions, options, overrides, "scan_model_tables")
    if not 0.0 <= opts.threshold <= 1.0:
        raise SeqfcnError(f"threshold must be a probability in [0, 1], got {opts.threshold}")
    opts = opts.checked()
    if str(opts.device) == "auto":
        from seqfcn.runtime.device import resolve_device

        opts = dataclasses.replace(opts, device=resolve_device("auto"))
    model, fn, _, _ = load_sequence_model(model_dir, [opts.output], activation="sigmoid", merge=opts.merge,
                                          device=opts.device)
    margin = model_margin(model)
    min_distance = opts.min_distance
    if min_distance is None:
        conv = getattr(model, "motif_conv", None)
        min_distance = int(conv.kernel_size) if conv is not None else max(1, model.receptive_field // 2)
    if min_distance < 0:
        raise SeqfcnError(f"min_distance must be >= 0, got {min_distance}")
    site_width = max(1, int(min_distance if opts.site_width is None else opts.site_width))
    with Genome(genome_path) as genome:
        sizes = genome.chrom_sizes
    tiles = opts.tiles(_spans(sizes, regions), sizes, margin)

    def tables() -> Iterator[pd.DataFrame]:
        done, rows = 0, []
        genome = Genome(genome_path)  # opened when the first table is asked for, closed after the last
        try:
            pieces = ((c, s, v[0]) for c, s, v in opts.pieces(fn, genome, tiles, margin))
            for chrom, pos, value in stream_sites(pieces, opts.threshold, min_distance):
                a = max(0, pos - site_width // 2)
                rows.append((chrom, a, min(sizes[chrom], a + site_width), value, pos))
                if len(rows) >= opts.rows_per_table:
                    yield _site_table(rows, done)
                    done, rows = done + len(rows), []
            if rows or not done:
                yield _site_table(rows, done)
        finally:
            genome.close()

    return tables()


def _site_table(rows: list[tuple], first: int) -> pd.DataFrame:
    """BED6+summit rows ``(chrom, start, end, score, summit)`` named from ``site_<first + 1>``."""
    sites = pd.DataFrame(rows, columns=["chrom", "start", "end", "score", "summit"])
    sites.insert(3, "name", [f"site_{first + i + 1}" for i in range(len(sites))])
    sites.insert(5, "strand", ".")
    sites["score"] = sites["score"].round(6)
    return sites[SITE_COLUMNS]


def scan_model(genome_path: str | os.PathLike, model_dir: str | os.PathLike,
               options: ScanModelOptions | InferenceOptions | None = None, **overrides: Any) -> pd.DataFrame:
    """All the sites of :func:`scan_model_tables` (same arguments) as one BED6+summit table."""
    return pd.concat(list(scan_model_tables(genome_path, model_dir, options, **overrides)), ignore_index=True)
