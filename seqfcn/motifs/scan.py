"""Scan a genome with PWMs → a table of hits (and a BED6+ file).

:func:`scan_pwm` walks whole chromosomes (or BED regions) in tiles of
``tile_size`` bases plus ``W - 1`` bases of right context (``W`` the widest
motif), so memory does not grow with chromosome length. A hit belongs to the tile
whose core holds its start. In each tile all ``2M`` filters (every motif and its
reverse complement) are scored at once (:mod:`seqfcn.motifs.pwm` kernels); candidate
windows are re-scored exactly in integer units and kept when their exact p-value
is ``< thresh``. Windows overlapping any base other than A/C/G/T (N, IUPAC codes)
are never reported and are not counted as tests.

Columns of the result: ``chrom, start, end, motif, score, strand, p, q, sequence,
motif_id`` — 0-based half-open coordinates, ``score`` the float64 log-odds sum in
bits, ``sequence`` the matched site read on the motif's strand (reverse
complement for ``-``, case kept).

q-values are Benjamini–Hochberg over all hits of all motifs. By default the
number of tests is the number of windows scored (every N-free window × motif ×
strand), which controls the FDR over the whole scan; ``q_tests="hits"`` uses the
number of reported p-values instead, as FIMO does.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np
from tqdm import tqdm

from seqfcn.errors import SeqfcnError, SequenceError
from seqfcn.io.atomic import atomic_text
from seqfcn.io.fasta import Genome
from seqfcn.io.intervals import read_bed
from seqfcn.io.motifs import Motif, read_motifs
from seqfcn.motifs.hitblock import (
    HitBlock,
    Table,
    byte_sink,
    frame_block,
    pair_index,
    read_blocks,
    site_bytes,
    value_table,
    write_block,
)
from seqfcn.motifs.pwm import (
    DEFAULT_SCALE,
    PValueCounts,
    PWMSet,
    Scorer,
    bh_qvalues,
    compile_pwms,
    make_scorer,
)
from seqfcn.runtime.options import resolve_options
from seqfcn.runtime.tiling import Tile, genome_spans, select_shard, tile_chromosome
from seqfcn.sequence.alphabet import EncodingPolicy
from seqfcn.sequence.encode import one_hot, reverse_complement
from seqfcn.sequence.pwm import DEFAULT_PSEUDOCOUNT, background_from_counts

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("seqfcn")

HIT_COLUMNS = ["chrom", "start", "end", "motif", "score", "strand", "p", "q", "sequence", "motif_id"]
_POLICY = EncodingPolicy(n="zero", iupac="zero")  # every non-ACGT base is an all-zero column


def parse_background(text: str) -> str | list[float]:
    """A scan's background as ``seqfcn scan --background`` gives it: ``uniform``, ``genome``
    (base frequencies of the scanned sequence) or ``A,C,G,T`` probabilities (4 positive
    numbers summing to 1, renormalised); returns the name or the 4 probabilities."""
    if text in ("uniform", "genome"):
        return text
    try:
        background = [float(x) for x in text.split(",")]
    except ValueError:
        raise SeqfcnError(f"--background must be uniform, genome or A,C,G,T, got {text!r}") from None
    if len(background) != 4 or min(background) <= 0 or abs(sum(background) - 1) > 1e-3:
        raise SeqfcnError(f"--background needs 4 positive probabilities summing to 1, got {text!r}")
    return [x / sum(background) for x in background]


def _base_codes(seq: str, name: str, offset: int, path: str | os.PathLike) -> np.ndarray:
    """``(L,)`` uint8: 0-3 for A, C, G, T (either case), 4 for N and other IUPAC codes.

    A character that is not IUPAC raises :class:`SequenceError` at its chromosome position.
    """
    try:
        x = one_hot(seq, policy=_POLICY, dtype=np.uint8, name=name)
    except SequenceError as exc:
        pos = None if exc.position is None else offset + exc.position
        raise SequenceError(exc.message, path=path, record=name, position=pos) from None
    codes = x[1] + 2 * x[2] + 3 * x[3]
    codes[x.sum(axis=0) == 0] = 4
    return codes.astype(np.uint8)


def _no_gpu_driver() -> bool:
    """True when no GPU driver is loaded (no NVIDIA or ROCm device node) and PyTorch is not yet
    imported: then CUDA cannot be available, and ``auto`` means CPU without importing PyTorch."""
    nodes = ("/dev/nvidiactl", "/dev/nvidia0", "/proc/driver/nvidia", "/dev/kfd", "/dev/dxg")
    return "torch" not in sys.modules and not any(os.path.exists(n) for n in nodes)


def _resolve_device(device: str | None) -> str:
    if device == "cpu" or (device in (None, "auto") and _no_gpu_driver()):
        return "cpu"
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise SeqfcnError(f"unknown device {device!r} (use auto, cpu, cuda or cuda:N)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SeqfcnError(f"device {device!r} requested but CUDA is not available")
    return str(dev)


def _segments(genome: Genome, regions: pd.DataFrame | None) -> list[tuple[str, int, int]]:
    """``(chrom, start, end)`` pieces to scan: whole chromosomes, or merged regions in genome order."""
    rows = None if regions is None else zip(regions["chrom"].astype(str), regions["start"], regions["end"])
    return genome_spans(genome.chrom_sizes, rows, path=genome.path)


def genome_background(genome: Genome, segments: Sequence[tuple[str, int, int]], chunk: int = 1 << 22) -> np.ndarray:
    """A ``(4,)`` strand-symmetric background from the A/C/G/T counts of the scanned sequence."""
    counts = np.zeros(4, dtype=np.float64)
    for chrom, start, end in segments:
        for s in range(start, end, chunk):
            raw = np.frombuffer(genome.fetch(chrom, s, min(s + chunk, end)).encode("ascii"), np.uint8) | 0x20
            hist = np.bincount(raw, minlength=256)
            counts += [hist[ord(b)] for b in "acgt"]
    return background_from_counts(counts, both_strands=True)


def _load_motifs(motifs: str | os.PathLike | Sequence[Motif], names: Sequence[str] | None) -> list[Motif]:
    path = None
    if isinstance(motifs, (str, os.PathLike)):
        path = motifs
        motifs = read_motifs(motifs)
    motifs = list(motifs)
    if names:
        wanted = list(dict.fromkeys(names))
        motifs_sel = [m for m in motifs if m.name in wanted or m.id in wanted]
        missing = [n for n in wanted if not any(n in (m.name, m.id) for m in motifs)]
        if missing:
            raise SeqfcnError(f"motif(s) not in the file: {', '.join(missing)}", path=path)
        motifs = motifs_sel
    if not motifs:
        raise SeqfcnError("no motifs to scan", path=path)
    return motifs


def _tested_windows(codes: np.ndarray, n_starts: int, widths: np.ndarray) -> int:
    """Number of N-free windows starting in ``[0, n_starts)`` summed over ``widths`` (one per filter)."""
    uniq, counts = np.unique(widths, return_counts=True)
    if not (codes > 3).any():
        fits = np.clip(np.minimum(n_starts, len(codes) - uniq + 1), 0, None)
        return int((fits * counts).sum())
    bad = np.concatenate([[0], np.cumsum(codes > 3)])
    total = 0
    for w, c in zip(uniq, counts):
        last = min(n_starts, len(codes) - int(w) + 1)
        if last <= 0:
            continue
        s = np.arange(last)
        total += int(c) * int(np.count_nonzero(bad[s + w] == bad[s]))
    return total


@dataclass
class ScanOptions:
    """How :func:`scan_pwm` and :func:`scan_pwm_bed` scan (see the module docstring).

    Attributes:
        thresh: p-value threshold (FIMO's ``--thresh``, default 1e-4).
        motif_names: scan only these motifs (matched against name or id); default all.
        background: ``"uniform"`` (default), ``"genome"`` (A/C/G/T frequencies of the scanned
            sequence, strand-symmetrised) or 4 probabilities A, C, G, T.
        pseudocount: FIMO's ``--motif-pseudo`` (default :data:`seqfcn.sequence.pwm.DEFAULT_PSEUDOCOUNT`, 0.1).
        max_hits: :func:`scan_pwm` only: keep only this many hits, those with the smallest
            p-values (FIMO's ``--max-stored-scores``); q-values then cover the kept hits.
            Default None: all.
        device: ``auto`` (default), ``cpu``, ``cuda``...
        method: ``auto`` (default), ``c`` (compiled lookahead kernel, CPU), ``conv`` (batched
            conv1d, CPU or CUDA) or ``table`` (CPU); ``auto`` picks ``c`` on CPU when it is built.
        tile_size: bases of sequence scored per step (memory bound; default 1,000,000).
        shard: :func:`scan_pwm` only: ``(index, count)``, 0-based: scan only that contiguous
            share of the tiles. Default None: all.
        q_tests: ``"tested"`` (default: BH over all scored windows) or ``"hits"`` (FIMO's).
        scale: integer units per bit for the exact p-values (default
            :data:`seqfcn.motifs.pwm.DEFAULT_SCALE`).
        threads: CPU threads (default None: PyTorch's intra-op thread count; the CPUs this
            process may use when PyTorch is not loaded). The ``c`` and ``table`` kernels score
            that many tiles at once, each with one torch thread (torch's thread count is set
            to 1 during the call and restored after); the ``conv`` kernel uses them as torch
            intra-op threads.
        progress: tqdm progress bar on stderr (default False).
    """

    thresh: float = 1e-4
    motif_names: Sequence[str] | None = None
    background: str | Sequence[float] | np.ndarray | None = "uniform"
    pseudocount: float = DEFAULT_PSEUDOCOUNT
    max_hits: int | None = None
    device: str | None = "auto"
    method: str = "auto"
    tile_size: int = 1_000_000
    shard: tuple[int, int] | None = None
    q_tests: str = "tested"
    scale: float = DEFAULT_SCALE
    threads: int | None = None
    progress: bool = False


def scan_pwm(
    genome: str | os.PathLike | Genome,
    motifs: str | os.PathLike | Sequence[Motif],
    options: ScanOptions | None = None,
    *,
    regions: str | os.PathLike | pd.DataFrame | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """Find PWM hits (p-value ``< thresh``) on both strands of a genome.

    Args:
        genome: FASTA path or :class:`~seqfcn.io.fasta.Genome`.
        motifs: MEME/JASPAR/TRANSFAC file or :class:`~seqfcn.io.motifs.Motif` list.
        options: :class:`ScanOptions`; ``overrides`` replace single fields
            (``scan_pwm(genome, motifs, thresh=1e-3)``).
        regions: BED path or DataFrame (``chrom, start, end``): only hits lying
            wholly inside a (merged) region. Default: whole chromosomes.

    Returns:
        DataFrame with :data:`HIT_COLUMNS`, sorted by chromosome (genome order),
        start, end, motif, strand.
    """
    opts = resolve_options(ScanOptions, options, overrides, "scan_pwm")
    if opts.max_hits is not None and opts.max_hits < 1:
        raise SeqfcnError(f"--max-hits must be >= 1, got {opts.max_hits}")
    return _scan(genome, motifs, lambda g, pwms, parts, _: _collect(g, pwms, parts, opts.max_hits, opts.q_tests),
                 opts, regions)


def scan_pwm_bed(
    genome: str | os.PathLike | Genome,
    motifs: str | os.PathLike | Sequence[Motif],
    output: str | os.PathLike,
    options: ScanOptions | None = None,
    *,
    regions: str | os.PathLike | pd.DataFrame | None = None,
    **overrides: Any,
) -> dict[str, int]:
    """:func:`scan_pwm` written straight to a BED6+ file (:func:`write_hits_bed`, the same
    bytes) in memory that does not grow with the number of hits. ``options``, ``overrides``
    and ``regions`` as for :func:`scan_pwm`, except ``max_hits`` and ``shard`` (refused).

    Each tile's hits go, sorted, to a temporary file (under ``TMPDIR``) as they are found,
    and the count of each distinct p-value is kept (exact p-values are lattice values, so
    there are few). Benjamini–Hochberg q-values are exact: ``q(v) = min over v' >= v of
    v' * m / C(v')`` with ``C`` the number of hits with p-value at most ``v'`` (tied
    p-values share a q-value, as in :func:`seqfcn.motifs.pwm.bh_qvalues`); a second pass over the
    temporary file writes the hits with them. Returns ``{"hits": n, "tested": windows}``.
    """
    opts = resolve_options(ScanOptions, options, overrides, "scan_pwm_bed")
    for name in ("max_hits", "shard"):
        if getattr(opts, name) is not None:
            raise SeqfcnError(f"scan_pwm_bed() writes every hit of the whole scan; {name} is for scan_pwm()")
    return _scan(genome, motifs, lambda g, pwms, parts, workers: _stream(pwms, parts, output, opts.q_tests, workers),
                 opts, regions, finish_blocks=True)


def _scan(genome, motifs, finish: Callable, opts: ScanOptions, regions, finish_blocks: bool = False):
    """Set a scan up (motifs, regions, background, exact thresholds, scorer, tiles, threads)
    and return ``finish(genome, pwms, parts, workers)``, ``parts`` the :func:`_tile_parts` of the
    tiles (as :class:`HitBlock` when ``finish_blocks``)."""
    if opts.q_tests not in ("tested", "hits"):
        raise ValueError(f"q_tests must be 'tested' or 'hits', got {opts.q_tests!r}")
    if opts.tile_size < 1:
        raise SeqfcnError(f"tile size must be >= 1, got {opts.tile_size}")
    motif_list = _load_motifs(motifs, opts.motif_names)
    own = not isinstance(genome, Genome)
    g = Genome(genome) if own else genome
    try:
        region_df = read_bed(regions) if isinstance(regions, (str, os.PathLike)) else regions
        segments = _segments(g, region_df)
        background = opts.background
        if isinstance(background, str):
            if background == "uniform":
                bg = None
            elif background == "genome":
                bg = genome_background(g, segments)
            else:
                raise SeqfcnError(f"background must be 'uniform', 'genome' or 4 numbers, got {background!r}")
        else:
            bg = background
        try:
            pwms = compile_pwms(motif_list, thresh=opts.thresh, background=bg, pseudocount=opts.pseudocount,
                                scale=opts.scale)
        except ValueError as exc:
            raise SeqfcnError(str(exc)) from None
        dev = _resolve_device(opts.device)
        try:
            scorer = make_scorer(pwms, opts.method, dev, bases=sum(end - start for _, start, end in segments))
        except ValueError as exc:
            raise SeqfcnError(str(exc)) from None
        margin = pwms.max_width - 1
        tiles: list[tuple[Tile, int, int]] = []
        for chrom, start, end in segments:
            for t in tile_chromosome(chrom, end - start, opts.tile_size, margin):
                tiles.append((t, start, end))
        if opts.shard is not None:
            keep = {id(t) for t in select_shard([t for t, _, _ in tiles], *opts.shard)}
            tiles = [x for x in tiles if id(x[0]) in keep]
        workers, torch_threads = 1, opts.threads
        if scorer.tile_threads:
            # tiles in parallel threads (small ops gain nothing from intra-op threads, and
            # those stall badly on a CPU shared with other jobs)
            workers = max(1, opts.threads or _default_threads())
            torch_threads = scorer.torch_threads
        if torch_threads:  # a torch scorer: its threads for this scan only
            from seqfcn.runtime.device import torch_threads as threads_for
        with threads_for(torch_threads) if torch_threads else contextlib.nullcontext():
            return finish(g, pwms, _tile_parts(g, pwms, scorer, tiles, opts.progress, workers,
                                               as_block=finish_blocks), workers)
    finally:
        if own:
            g.close()


def _score_tile(
    pwms: PWMSet, scorer: Scorer, tile: Tile, seq: str, abs0: int, path: str, as_block: bool = False
) -> tuple[dict[str, np.ndarray] | tuple[str, HitBlock] | None, int, int]:
    """Hits of one tile (``seq`` = core + right context, starting at ``abs0``): ``(hits, tests, core bases)``;
    with ``as_block`` the hits are ``(chrom, HitBlock)`` (chromosome index 0, motif = motif index)
    in :func:`_collect`'s order, else :func:`_concat`'s arrays in the kernel's order."""
    chrom = tile.chrom
    codes = _base_codes(seq, chrom, abs0, path)
    n = tile.core_length
    padded = np.full(n + pwms.max_width + 8, 4, dtype=np.uint8)
    padded[: len(codes)] = codes[: len(padded)]
    starts, filters = scorer.candidates(padded, n)
    tested = _tested_windows(codes, n, pwms.widths)
    if not len(starts):
        return None, tested, n
    ints, floats, has_n = pwms.exact_scores(padded, starts, filters)
    ok = (~has_n) & (ints >= pwms.thresholds[filters]) & (starts + pwms.widths[filters] <= len(codes))
    starts, filters, ints, floats = starts[ok], filters[ok], ints[ok], floats[ok]
    if not len(starts):
        return None, tested, n
    if as_block:
        return (chrom, _tile_block(pwms, seq, starts, filters, ints, floats, abs0)), tested, n
    seqs = [seq[s : s + w] for s, w in zip(starts.tolist(), pwms.widths[filters].tolist())]
    part = {
        "chrom": np.full(len(starts), chrom, dtype=object),
        "start": starts + abs0,
        "filter": filters,
        "int": ints,
        "score": floats,
        "p": pwms.pvalues(filters, ints),
        "sequence": np.array(seqs, dtype=object),
    }
    return part, tested, n


def _tile_block(pwms: PWMSet, seq: str, starts: np.ndarray, filters: np.ndarray, ints: np.ndarray,
                scores: np.ndarray, abs0: int) -> HitBlock:
    """One tile's hits (tile-relative ``starts``) as a :class:`HitBlock`, sorted as :func:`_collect`
    sorts (start, end, motif name, ``+`` before ``-``; stable)."""
    m = pwms.n_motifs
    minus = filters >= m
    motif = np.where(minus, filters - m, filters)
    widths = pwms.widths[filters]
    order = np.lexsort((minus, _name_rank(pwms)[motif], starts + widths, starts))
    starts, filters, widths, minus, motif = starts[order], filters[order], widths[order], minus[order], motif[order]
    text = np.frombuffer(seq.encode("ascii"), dtype=np.uint8)
    site, site_off = site_bytes(text, starts, widths, minus)
    return HitBlock(chrom=np.zeros(len(starts), np.int32), start=starts + abs0, end=starts + widths + abs0,
                    motif=motif.astype(np.int32), minus=minus.astype(np.uint8), score=scores[order],
                    p=pwms.pvalues(filters, ints[order]), q=np.zeros(len(starts)), seq=site, seq_off=site_off)


def _name_rank(pwms: PWMSet) -> np.ndarray:
    """``(M,)`` each motif's rank among the motif names (equal names share a rank)."""
    return np.unique(np.array(pwms.names, dtype=object), return_inverse=True)[1].ravel()


def _default_threads() -> int:
    """PyTorch's intra-op thread count when PyTorch is loaded, else the CPUs this process may use."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return int(torch.get_num_threads())
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _tile_parts(genome: Genome, pwms: PWMSet, scorer: Scorer, tiles: list[tuple[Tile, int, int]], progress: bool,
                workers: int, as_block: bool = False) -> Iterator[tuple[Any, int]]:
    """``(hits or None, windows tested)`` of each tile, in tile order (hits as :func:`_score_tile`
    gives them). The genome is read in this thread (a Genome is not thread-safe); tiles are
    scored by ``workers`` threads, at most ``2 * workers`` tiles in flight."""
    pwms.pvalues(np.zeros(0, np.int64), np.zeros(0, np.int64))  # build the shared table before the workers
    bar = tqdm(total=sum(t.core_length for t, _, _ in tiles), unit="bp", unit_scale=True,
               desc="scan", file=sys.stderr, disable=not progress)
    pending: deque[Future] = deque()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for tile, seg_start, _ in tiles:
            abs0 = seg_start + tile.core_start
            seq = genome.fetch(tile.chrom, abs0, seg_start + tile.end)
            pending.append(pool.submit(_score_tile, pwms, scorer, tile, seq, abs0, str(genome.path), as_block))
            while len(pending) > 2 * workers or (pending and pending[0].done()):
                part, n_tested, n_bases = pending.popleft().result()
                bar.update(n_bases)
                yield part, n_tested
        while pending:
            part, n_tested, n_bases = pending.popleft().result()
            bar.update(n_bases)
            yield part, n_tested
    bar.close()


def _collect(genome: Genome, pwms: PWMSet, parts: Iterator[tuple[dict | None, int]], max_hits: int | None,
             q_tests: str) -> pd.DataFrame:
    """:func:`scan_pwm`'s table: every tile's hits (or the ``max_hits`` best), q-values, sorted."""
    kept, tested = 0, 0
    chunks: list[dict[str, np.ndarray]] = []
    for part, n_tested in parts:
        tested += n_tested
        if part is not None:
            chunks.append(part)
            kept += len(part["start"])
            if max_hits is not None and kept > 2 * max_hits:
                chunks = [_best(_concat(chunks), max_hits)]
                kept = len(chunks[0]["start"])
    hits = _concat(chunks)
    if max_hits is not None and len(hits["start"]) > max_hits:
        log.warning("kept the %d best of %d hits (--max-hits); q-values cover the kept hits", max_hits,
                    len(hits["start"]))
        hits = _best(hits, max_hits)
    n = len(hits["p"])
    df = _hits_frame(hits, pwms, bh_qvalues(hits["p"], max(tested, n) if q_tests == "tested" else None))
    order = {c: i for i, c in enumerate(genome.chrom_sizes)}
    df["_c"] = df["chrom"].map(order).astype(np.int64)
    df = df.sort_values(["_c", "start", "end", "motif", "strand"], kind="stable").drop(columns="_c")
    df.attrs["tested"] = tested
    return df.reset_index(drop=True)


def _hits_frame(hits: dict[str, np.ndarray], pwms: PWMSet, q: np.ndarray) -> pd.DataFrame:
    """Hits (:func:`_score_tile` arrays) as a :data:`HIT_COLUMNS` table, in their order."""
    import pandas as pd

    return pd.DataFrame(_hit_columns(hits, pwms, q), columns=HIT_COLUMNS)


def _hit_columns(hits: dict[str, np.ndarray], pwms: PWMSet, q: np.ndarray) -> dict[str, np.ndarray]:
    """Hits (:func:`_score_tile` arrays) as :data:`HIT_COLUMNS` arrays, in their order; the
    sequence of a ``-`` hit is read on the motif's strand."""
    f = hits["filter"]
    m = pwms.n_motifs
    minus = f >= m
    motif_idx = np.where(minus, f - m, f)
    seqs = hits["sequence"]
    if minus.any():
        seqs = seqs.copy()
        seqs[minus] = [reverse_complement(s) for s in seqs[minus]]
    return {
            "chrom": hits["chrom"],
            "start": hits["start"].astype(np.int64),
            "end": (hits["start"] + pwms.widths[f]).astype(np.int64),
            "motif": np.array(pwms.names, dtype=object)[motif_idx] if len(f) else np.zeros(0, object),
            "score": hits["score"],
            "strand": np.where(minus, "-", "+").astype(object),
            "p": hits["p"],
            "q": q,
            "sequence": seqs,
            "motif_id": np.array(pwms.ids, dtype=object)[motif_idx] if len(f) else np.zeros(0, object),
        }


def _stream(pwms: PWMSet, parts: Iterator[tuple[Any, int]], output: str | os.PathLike, q_tests: str,
            workers: int) -> dict[str, int]:
    """:func:`scan_pwm_bed`: each tile's sorted hits, a :class:`HitBlock`, appended to a temporary
    file while the workers scan on, its p-values counted; then every block formatted with the
    exact q-values (by ``workers`` threads, in order) and written."""
    import tempfile

    tested, n_hits = 0, 0
    counts = PValueCounts()
    chrom_names: list[str] = []  # chromosome of each stored block
    with tempfile.TemporaryDirectory(prefix="seqfcn-scan-") as tmp:
        store = os.path.join(tmp, "hits.npy")
        with open(store, "wb") as fh:
            for part, n_tested in parts:
                tested += n_tested
                if part is None:
                    continue
                chrom, block = part
                write_block(fh, block)
                chrom_names.append(chrom)
                counts.add(block.p)
                n_hits += len(block)
        values, q = counts.qvalues(tested if q_tests == "tested" else None)
        pq_text = value_table(values, q)
        names, ids = Table.of(pwms.names), Table.of(pwms.ids)

        def text(block: HitBlock, chrom: str) -> bytes:
            return block.lines(Table.of([chrom]), names, ids, np.searchsorted(values, block.p), pq_text)

        with open(store, "rb") as fh, atomic_text(output) as out:
            sink = byte_sink(out)
            sink.write(HIT_TRACK.encode() + b"\n")
            write_ordered(sink, (lambda b=b, c=c: text(b, c) for b, c in zip(read_blocks(fh), chrom_names)),
                          workers)
    return {"hits": n_hits, "tested": tested}


def write_ordered(sink: Any, jobs: Iterator[Callable[[], bytes]], workers: int) -> None:
    """Run ``jobs`` (each returns bytes) on ``workers`` threads, at most ``2 * workers`` in
    flight, and write their results to ``sink`` in order."""
    pending: deque[Future] = deque()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for job in jobs:
            pending.append(pool.submit(job))
            while len(pending) > 2 * workers:
                sink.write(pending.popleft().result())
        while pending:
            sink.write(pending.popleft().result())


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    keys = ["chrom", "start", "filter", "int", "score", "p", "sequence"]
    if not parts:
        return {k: np.zeros(0, dtype=object if k in ("chrom", "sequence") else np.float64 if k in ("score", "p") else np.int64) for k in keys}
    return {k: np.concatenate([p[k] for p in parts]) for k in keys}


def _best(hits: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """The ``n`` hits with the smallest p-values (ties: higher score, then scan order)."""
    order = np.lexsort((np.arange(len(hits["p"])), -hits["score"], hits["p"]))[:n]
    order.sort()
    return {k: v[order] for k, v in hits.items()}


def write_hits_bed(hits: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write hits as BED6+ (``-`` = stdout, ``.gz`` compresses), atomically.

    Columns: chrom, start, end, motif, score, strand, p, q, sequence, motif_id;
    the first line is a ``track`` line naming the seqfcn version and the columns.
    """
    block, chroms, names, ids = frame_block(hits)
    pq, pq_text = pair_index(block.p, block.q)
    with atomic_text(path) as out:
        sink = byte_sink(out)
        sink.write(HIT_TRACK.encode() + b"\n")
        sink.write(block.lines(chroms, names, ids, pq, pq_text))


def _track() -> str:
    from seqfcn import __version__

    return (f'track name=seqfcn_scan description="seqfcn {__version__} PWM hits: '
            + " ".join(HIT_COLUMNS) + '"')


HIT_TRACK = _track()


def scan_to_file(genome: str | os.PathLike, motifs: Any, output: str | os.PathLike,
                 options: ScanOptions | None = None, *, regions: Any = None, run: str | None = None
                 ) -> dict[str, int]:
    """``seqfcn scan``'s one call: the hits of ``motifs`` over ``genome`` written to ``output``.

    Without ``options.shard`` or ``options.max_hits`` the hits stream to a BED in memory that does
    not grow with them (:func:`scan_pwm_bed`); with ``max_hits`` the best are kept in memory
    (:func:`scan_pwm` + :func:`write_hits_bed`); with ``shard`` the output is a scan shard
    (:func:`seqfcn.motifs.shards.write_scan_shard`, fingerprinted ``run``) for ``seqfcn merge``.
    Returns ``{"hits", "tested"}``.
    """
    opts = options or ScanOptions()
    if opts.shard is not None and opts.max_hits is not None:
        raise SeqfcnError("--max-hits keeps the best hits of the whole genome; it cannot be combined with sharding")
    if opts.shard is None and opts.max_hits is None:
        done = scan_pwm_bed(genome, motifs, output, opts, regions=regions)
        return {"hits": int(done["hits"]), "tested": int(done["tested"])}
    hits = scan_pwm(genome, motifs, opts, regions=regions)
    if opts.shard is None:
        write_hits_bed(hits, output)
    else:
        from seqfcn.motifs.shards import write_scan_shard

        write_scan_shard(hits, output, opts.shard, q_tests=opts.q_tests, run=run)
    return {"hits": len(hits), "tested": int(hits.attrs.get("tested", 0))}
