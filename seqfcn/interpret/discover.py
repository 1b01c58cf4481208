"""Motifs a model has learned, found from its attributions (``seqfcn discover``).

1. **Attributions.** Every sequence (a FASTA record, or a ``--regions`` interval of a
   genome) is attributed with gradient × input (:func:`seqfcn.interpret.attribute.attribute_sequence`):
   target = the logsumexp of the model's strand-merged output over the sequence (the
   gradient concentrates on the sites that make the output high). A record or region longer
   than ``max_length`` is attributed in tiles with the model's receptive field of context
   each side, target = the sum of the softplus of the output (local, never saturating: a core base's attribution is
   that of the whole sequence), and its null is the best window of each 200 bp block.
2. **Seqlets.** The contribution of the base present is summed over sliding windows of
   ``width`` bases; windows are taken greedily from the highest sum down, never
   overlapping, while the sum exceeds the **null threshold**: the ``1 - alpha`` quantile of
   the highest window sums of dinucleotide-shuffled copies of the same sequences
   (:func:`seqfcn.sequence.shuffle.dinucleotide_shuffle`), attributed the same way.
3. **Clusters.** Seqlets are visited from the strongest; each is compared with every
   cluster's mean hypothetical contribution ``(4, width)`` at offsets ``-shift..shift`` and
   on both strands (Pearson correlation of the flattened matrices); it joins the best
   cluster when that correlation is at least ``min_corr`` (aligned: shifted and, on the
   minus strand, reverse-complemented), else it starts a cluster. Clusters with fewer than
   ``min_seqlets`` seqlets are dropped.
4. **Motifs.** A cluster's PFM is the base counts of its aligned seqlets (+0.5 pseudocount
   per base), end columns with less than ``min_ic`` bits trimmed; motifs are ordered by
   their number of seqlets.
5. **Matches.** Each motif is ranked against a motif database
   (:func:`seqfcn.sequence.compare.rank_matches`: mean column Pearson correlation, best
   offset and strand). The similarity p-value is empirical, in the spirit of Tomtom's null of
   database columns: the fraction of ``n_null`` random motifs whose similarity to the
   query is at least as high (each random motif has the width of a database motif drawn at
   random, and columns drawn at random from all database columns); ``E = p × database
   size``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch

from seqfcn.errors import RegionError, SeqfcnError, SequenceError
from seqfcn.runtime.options import resolve_options


@dataclass
class Seqlet:
    """A window of high contribution: sequence ``name``, ``[start, start + width)`` of it."""

    name: str
    start: int
    score: float
    onehot: np.ndarray  # (4, width + 2 * shift): the window with ``shift`` flanking bases each side
    hypothetical: np.ndarray  # (4, width + 2 * shift)


@dataclass
class Cluster:
    members: list[tuple[Seqlet, int, str]] = field(default_factory=list)  # (seqlet, offset, strand)
    hyp_sum: np.ndarray | None = None
    counts: np.ndarray | None = None


def _window_sums(values: np.ndarray, width: int) -> np.ndarray:
    c = np.concatenate([[0.0], np.cumsum(values)])
    return c[width:] - c[:-width]


def seqlet_starts(contribution: np.ndarray, width: int, threshold: float) -> list[tuple[int, float]]:
    """``(start, window sum)`` of non-overlapping ``width``-base windows, greedily from the
    highest sum of ``contribution`` ``(L,)`` down, while the sum is above ``threshold``."""
    if contribution.shape[0] < width:
        return []
    sums = _window_sums(contribution.astype(np.float64), width)
    taken = np.zeros(contribution.shape[0], bool)
    out = []
    for s in np.argsort(-sums, kind="stable"):
        if sums[s] <= threshold:
            break
        if not taken[s : s + width].any():
            taken[s : s + width] = True
            out.append((int(s), float(sums[s])))
    return out


def attribute_all(fn: torch.nn.Module, xs: Sequence[np.ndarray], batch_size: int = 64,
                  progress: Any = None, target: str = "logsumexp") -> list[tuple[np.ndarray, np.ndarray]]:
    """Gradient × input of the logsumexp of ``fn``'s output over each whole sequence (``target``
    ``"softplus_sum"``: of the sum of its softplus, a local target, as tiles of a long sequence need):
    ``(hypothetical (4, L), contribution (L,))`` float64 per one-hot ``(4, L)`` of ``xs``, in
    order. Sequences of one length go through the model together, ``batch_size`` at a time
    (equal to one at a time: no padding, independent items); ``progress`` (a tqdm bar) is
    advanced by the sequences done."""
    from seqfcn.interpret.attribute import batch_gradients, target_reducer

    if int(batch_size) < 1:
        raise SeqfcnError(f"batch size must be >= 1, got {batch_size}")
    out: list[Any] = [None] * len(xs)
    by_length: dict[int, list[int]] = {}
    for i, x in enumerate(xs):
        by_length.setdefault(int(x.shape[1]), []).append(i)
    for length, items in by_length.items():
        reduce = (target_reducer("logsumexp", 0, 0, length) if target == "logsumexp"
                  else lambda y: torch.nn.functional.softplus(y[:, 0, :]).sum(dim=-1))
        for a in range(0, len(items), batch_size):
            chunk = items[a : a + batch_size]
            hyp = batch_gradients(fn, torch.from_numpy(np.stack([xs[i] for i in chunk])), reduce)
            for i, h in zip(chunk, hyp):
                out[i] = (h, (h * xs[i]).sum(axis=0))
            if progress is not None:
                progress.update(len(chunk))
    return out


def _best_alignment(core: np.ndarray, hyp: np.ndarray, shift: int) -> tuple[float, int, str]:
    """Best Pearson correlation of a cluster's ``core`` ``(4, w)`` with a seqlet's ``hyp``
    ``(4, w + 2 shift)`` over offsets and strands: ``(corr, offset, strand)``."""
    w = core.shape[1]
    a = core.ravel() - core.mean()
    na = np.linalg.norm(a)
    best = (-1.0, 0, "+")
    for strand, m in (("+", hyp), ("-", hyp[::-1, ::-1])):
        for off in range(2 * shift + 1):
            b = m[:, off : off + w].ravel()
            b = b - b.mean()
            denom = na * np.linalg.norm(b)
            corr = float(a @ b / denom) if denom > 0 else 0.0
            if corr > best[0]:
                best = (corr, off, strand)
    return best


def cluster_seqlets(seqlets: Sequence[Seqlet], width: int, shift: int, min_corr: float = 0.5,
                    max_clusters: int = 20) -> list[Cluster]:
    """Greedy clustering of seqlets (strongest first; see the module docstring)."""
    clusters: list[Cluster] = []
    for s in sorted(seqlets, key=lambda s: -s.score):
        scored = [(_best_alignment(c.hyp_sum / len(c.members), s.hypothetical, shift), c) for c in clusters]
        (corr, off, strand), best = max(scored, key=lambda t: t[0][0]) if scored else ((-1.0, shift, "+"), None)
        if best is None or corr < min_corr:
            if len(clusters) >= max_clusters:
                continue
            best, off, strand = Cluster(hyp_sum=np.zeros((4, width)), counts=np.zeros((4, width))), shift, "+"
            clusters.append(best)
        hyp, onehot = (s.hypothetical, s.onehot) if strand == "+" else (s.hypothetical[::-1, ::-1], s.onehot[::-1, ::-1])
        best.members.append((s, off, strand))
        best.hyp_sum += hyp[:, off : off + width]
        best.counts += onehot[:, off : off + width]
    return clusters


def cluster_pfm(cluster: Cluster, min_ic: float = 0.3, pseudocount: float = 0.5) -> np.ndarray:
    """The cluster's ``(4, w)`` PFM (counts + ``pseudocount``), low-information ends trimmed."""
    from seqfcn.sequence.compare import information_content

    counts = cluster.counts + pseudocount
    pfm = counts / counts.sum(axis=0, keepdims=True)
    ic = information_content(pfm)
    keep = np.nonzero(ic >= min_ic)[0]
    return pfm[:, keep[0] : keep[-1] + 1] if keep.size else pfm


def null_motifs(database: Sequence, n: int, seed: int = 0) -> list[np.ndarray]:
    """``n`` random motifs: widths of random database motifs, columns drawn from all database columns."""
    rng = np.random.default_rng(seed)
    columns = np.concatenate([np.asarray(getattr(m, "pfm", m)) for m in database], axis=1)
    widths = [np.asarray(getattr(m, "pfm", m)).shape[1] for m in database]
    return [columns[:, rng.integers(0, columns.shape[1], widths[rng.integers(0, len(widths))])] for _ in range(n)]


def match_motif(pfm: np.ndarray, database: Sequence, null: Sequence[np.ndarray], top: int = 3) -> list[dict[str, Any]]:
    """The ``top`` database matches of ``pfm`` with similarity, p-value and E-value (module docstring).

    ``database`` and ``null`` may be packed once (:func:`seqfcn.sequence.compare.pack_motifs`)."""
    from seqfcn.sequence.compare import rank_matches

    table = rank_matches(pfm, database, top=top)
    null_scores = np.sort(rank_matches(pfm, null)["similarity"].to_numpy())
    out = []
    for row in table.itertuples():
        above = null_scores.size - np.searchsorted(null_scores, row.similarity - 1e-12)
        p = (1 + above) / (1 + null_scores.size)
        out.append({"rank": int(row.rank), "id": row.id, "name": row.name, "similarity": float(row.similarity),
                    "p": float(p), "E": float(p * len(database)), "offset": int(row.offset), "strand": row.strand})
    return out


def _pieces(genome_path: str | os.PathLike, regions: Sequence[tuple[str, int, int]] | None, max_length: int,
            margin: int) -> list[tuple[str, int, int, int, int]]:
    """``(chrom, start, end, core start, core end)`` of each sequence to attribute: a record or
    region of at most ``max_length`` bp whole (core = all of it); a longer one cut into cores of
    ``max_length`` bp, each read with up to ``margin`` bp of context on both sides."""
    from seqfcn.io.fasta import Genome

    with Genome(genome_path) as g:
        spans = regions or [(c, 0, n) for c, n in g.chrom_sizes.items()]
        out = []
        for chrom, start, end in spans:
            if chrom not in g.chrom_sizes:
                raise RegionError("region on a chromosome the genome lacks", path=str(genome_path), record=chrom,
                                  position=start)
            if not 0 <= start < end <= g.chrom_sizes[chrom]:  # the --regions rule: refused, never clipped
                raise RegionError(f"region {start}-{end} is empty or outside the chromosome (length "
                                  f"{g.chrom_sizes[chrom]})", path=str(genome_path), record=chrom, position=start)
            if end - start <= max_length:
                out.append((chrom, start, end, start, end))
                continue
            for core in range(start, end, max_length):
                core_end = min(core + max_length, end)
                out.append((chrom, max(start, core - margin), min(end, core_end + margin), core, core_end))
    return out


NULL_BLOCK = 200  # a tiled sequence's null: the best window of each block of this many bp of its shuffle


def _block_maxima(sums: np.ndarray, block: int) -> list[float]:
    """The largest of each run of ``block`` window sums (the last run may be shorter)."""
    return [float(sums[a : a + block].max()) for a in range(0, len(sums), block)]


def _model_margin(net: torch.nn.Module) -> int:
    """Context each side of a tile's core: the model's whole receptive field (a core base then
    sees every output that reads it, each with all of its input), at least 1 kb."""
    from seqfcn.nn.receptive import analytic_receptive_field

    try:
        rf = int(analytic_receptive_field(net))
    except Exception:  # a model whose field cannot be derived: a generous fixed margin
        rf = 1000
    return max(rf, 1000)


@dataclass
class DiscoverOptions:
    """How :func:`discover_motifs` finds motifs (``seqfcn discover``; module docstring).

    Attributes:
        channel: which model output channel (default 0).
        width: seqlet width in bases (default 15).
        shift: offsets ``-shift..shift`` tried when aligning a seqlet to a cluster (default 5).
        alpha: seqlet threshold: the ``1 - alpha`` quantile of the shuffled sequences' best
            windows (default 0.01).
        min_corr: smallest correlation for a seqlet to join a cluster (default 0.5).
        min_seqlets: smallest cluster kept (default 10).
        max_length: longest sequence attributed whole (default 10,000 bp); a longer record or
            region is attributed in tiles of this many bp plus the model's receptive field of
            context on each side, a group of ``batch_size`` tiles at a time (bounded memory), and
            its seqlets are taken from the tiles' cores.
        n_null: random motifs of the similarity null (default 10,000).
        top: database matches listed per motif (default 3).
        device: where the model runs (default ``"cpu"``).
        seed: seeds the shuffles and the null motifs (default 0).
        batch_size: sequences of one length attributed together (default 64; the result
            does not depend on it).
        progress: a tqdm bar on stderr (default False).
    """

    channel: int = 0
    width: int = 15
    shift: int = 5
    alpha: float = 0.01
    min_corr: float = 0.5
    min_seqlets: int = 10
    max_length: int = 10_000
    n_null: int = 10_000
    top: int = 3
    device: str = "cpu"
    seed: int = 0
    batch_size: int = 64
    progress: bool = False


def discover_motifs(
    genome_path: str | os.PathLike,
    model: str | os.PathLike,
    options: DiscoverOptions | None = None,
    *,
    regions: Sequence[tuple[str, int, int]] | None = None,
    database: Sequence | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Discover the motifs a model relies on (see the module docstring).

    Args:
        genome_path: FASTA of sequences, or a genome with ``regions``.
        model: a model directory, file or shipped name.
        options: :class:`DiscoverOptions`; ``overrides`` replace single fields
            (``discover_motifs(g, m, width=12, min_seqlets=5)``).
        regions: 0-based ``(chrom, start, end)`` sequences to attribute (default: every record).
        database: motifs to match the discovered ones against (default None: no matches).

    Returns:
        ``{"motifs": [Motif...], "matches": [[match dict...] per motif], "seqlets": n,
        "threshold": t, "clusters": [n seqlets per motif]}``.
    """
    from tqdm import tqdm

    from seqfcn.io.fasta import Genome
    from seqfcn.io.motifs import Motif
    from seqfcn.runtime.inference import load_sequence_model
    from seqfcn.sequence.encode import one_hot
    from seqfcn.sequence.shuffle import dinucleotide_shuffle

    opts = resolve_options(DiscoverOptions, options, overrides, "discover_motifs")
    width, shift, seed = opts.width, opts.shift, opts.seed
    if width < 1 or shift < 0 or not 0 < opts.alpha < 1:
        raise SeqfcnError("discover needs width >= 1, shift >= 0 and 0 < alpha < 1")
    net, fn, _, _ = load_sequence_model(model, [opts.channel], activation="none", device=opts.device)
    for p in net.parameters():
        p.requires_grad_(False)
    if opts.max_length < 1:
        raise SeqfcnError(f"max_length must be >= 1, got {opts.max_length}")
    pieces = _pieces(genome_path, regions, opts.max_length, _model_margin(net))
    rng = np.random.default_rng(seed)
    group = max(1, int(opts.batch_size))
    null_best: list[float] = []
    seqlets: list[Seqlet] = []
    with Genome(genome_path) as g, tqdm(total=2 * len(pieces), desc="discover", unit="seq",
                                       disable=not opts.progress) as bar:
        def encoded(part: Sequence[tuple[str, int, int, int, int]]) -> tuple[list[str], list[np.ndarray]]:
            texts, xs = [], []
            for name, start, end, _, _ in part:
                text = g.fetch(name, start, end).upper()
                try:
                    xs.append(one_hot(text))
                except SequenceError as exc:  # name the file and the record, at the position in the record
                    raise SequenceError(exc.message, path=str(genome_path), record=name,
                                        position=start + (exc.position or 0)) from None
                texts.append(text)
            return texts, xs

        whole = len(pieces) == sum(1 for p in pieces if p[1:3] == p[3:5])
        if whole:  # no sequence longer than max_length: one pass, as always
            texts, xs = encoded(pieces)
            shuffled = [one_hot(dinucleotide_shuffle(t, rng)) for t in texts]
            attributions = attribute_all(fn, xs + shuffled, opts.batch_size, bar)
            null_best = [_window_sums(c, width).max() for _, c in attributions[len(xs):] if c.shape[0] >= width]
            real = [(pieces, xs, attributions[: len(xs)])]
        else:  # groups of tiles: the null first (the threshold), then the seqlets, memory bounded by a group
            for a in range(0, len(pieces), group):
                texts, _ = encoded(pieces[a : a + group])
                shuffled = [one_hot(dinucleotide_shuffle(t, rng)) for t in texts]
                for _, c in attribute_all(fn, shuffled, opts.batch_size, bar, "softplus_sum"):
                    null_best += _block_maxima(_window_sums(c, width), NULL_BLOCK) if c.shape[0] >= width else []
            real = ((pieces[a : a + group], *_attributed(encoded(pieces[a : a + group])[1], fn, opts, bar))
                    for a in range(0, len(pieces), group))
        threshold = float(np.quantile(null_best, 1 - opts.alpha)) if null_best else np.inf
        for part, xs, attributions in real:
            for (name, start, _, core, core_end), x, (hyp, contrib) in zip(part, xs, attributions):
                for s, score in seqlet_starts(contrib, width, threshold):
                    a, b = s - shift, s + width + shift
                    if a < 0 or b > x.shape[1] or not core <= start + s < core_end:
                        continue  # too close to the sequence end to align, or in another tile's core
                    seqlets.append(Seqlet(name, start + s, score, x[:, a:b].copy(), hyp[:, a:b].copy()))
    clusters = [c for c in cluster_seqlets(seqlets, width, shift, opts.min_corr)
                if len(c.members) >= opts.min_seqlets]
    clusters.sort(key=lambda c: -len(c.members))
    motifs = [Motif(name=f"seqfcn_{i + 1}", id=f"seqfcn_{i + 1}", pfm=cluster_pfm(c), nsites=len(c.members))
              for i, c in enumerate(clusters)]
    matches: list[list[dict[str, Any]]] = [[] for _ in motifs]
    if database and motifs:
        from seqfcn.sequence.compare import pack_motifs

        packed, null = pack_motifs(database), pack_motifs(null_motifs(database, opts.n_null, seed))
        matches = [match_motif(m.pfm, packed, null, opts.top) for m in motifs]
    return {"motifs": motifs, "matches": matches, "seqlets": len(seqlets), "threshold": threshold,
            "clusters": [len(c.members) for c in clusters]}


def _attributed(xs: list[np.ndarray], fn: torch.nn.Module, opts: DiscoverOptions, bar: Any
                ) -> tuple[list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    return xs, attribute_all(fn, xs, opts.batch_size, bar, "softplus_sum")


def draw_logo(pfm: np.ndarray, path: str | os.PathLike, title: str = "") -> None:
    """An information-content sequence logo of ``pfm`` ``(4, w)`` as PNG (matplotlib; atomic)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import PathPatch
    from matplotlib.text import TextPath
    from matplotlib.transforms import Affine2D

    from seqfcn.io.atomic import atomic_path
    from seqfcn.sequence.compare import information_content

    colours = {"A": "#109648", "C": "#255c99", "G": "#f7b32b", "T": "#d62839"}
    font = FontProperties(family="DejaVu Sans", weight="bold")
    ic = information_content(pfm)
    fig, ax = plt.subplots(figsize=(max(3.0, 0.45 * pfm.shape[1]), 2.2))
    for i in range(pfm.shape[1]):
        y = 0.0
        for b in np.argsort(pfm[:, i]):
            h = float(pfm[b, i] * ic[i])
            if h <= 1e-3:
                continue
            letter = "ACGT"[b]
            glyph = TextPath((0, 0), letter, size=1, prop=font)
            box = glyph.get_extents()
            t = Affine2D().translate(-box.x0, -box.y0).scale(0.9 / box.width, h / box.height).translate(i + 0.05, y)
            ax.add_patch(PathPatch(t.transform_path(glyph), facecolor=colours[letter], edgecolor="none"))
            y += h
    ax.set_xlim(0, pfm.shape[1])
    ax.set_ylim(0, 2)
    ax.set_ylabel("bits")
    ax.set_xticks(np.arange(pfm.shape[1]) + 0.5, [str(i + 1) for i in range(pfm.shape[1])], fontsize=7)
    ax.set_title(title, fontsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    with atomic_path(path, suffix=".tmp.png") as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)


def write_discovery(found: dict[str, Any], output: str | os.PathLike, *, logos: str | os.PathLike | None = None,
                    matches: str | os.PathLike | None = None,
                    check_paths: Callable[[Sequence[str]], None] | None = None) -> None:
    """Write what :func:`discover_motifs` found: the PFMs as MEME (``output``), one logo PNG per
    motif in the directory ``logos`` (``ID.png``, titled with its seqlets and best match) and the
    database matches as a TSV (``matches``: motif, seqlets, rank, id, name, similarity, p, E).

    ``check_paths(paths)`` is called with the logo paths before anything is written (the CLI
    refuses names that would replace an input). Every file is atomic.
    """
    from seqfcn.io.atomic import atomic_text
    from seqfcn.io.motifs import write_meme

    logo_paths = [os.path.join(logos, f"{m.id}.png") for m in found["motifs"]] if logos else []
    if check_paths is not None:
        check_paths(logo_paths)
    write_meme(found["motifs"], output)
    if logos:
        os.makedirs(logos, exist_ok=True)
        for m, best, path in zip(found["motifs"], found["matches"], logo_paths):
            title = f" ~ {best[0]['name']} ({best[0]['id']})" if best else ""
            draw_logo(m.pfm, path, f"{m.id}: {m.nsites} seqlets{title}")
    if matches:
        with atomic_text(matches) as fh:
            fh.write("motif\tseqlets\trank\tid\tname\tsimilarity\tp\tE\n")
            for m, rows in zip(found["motifs"], found["matches"]):
                for x in rows:
                    fh.write(f"{m.id}\t{m.nsites}\t{x['rank']}\t{x['id']}\t{x['name']}\t{x['similarity']:.4f}\t"
                             f"{x['p']:.3g}\t{x['E']:.3g}\n")
