"""k-mer-preserving shuffles (dinucleotide by default): exact, uniform, seeded.

A sequence ``s`` of length ``n`` is a walk through a directed multigraph whose
vertices are its ``(k-1)``-mers and whose ``n - k + 1`` edges are its overlapping
k-mers ``s[i:i+k-1] -> s[i+1:i+k]`` (for ``k = 2``: letters and pairs). Every
Eulerian path of this graph from the first ``(k-1)``-mer spells a sequence with
exactly the same k-mer counts (hence the same counts of every shorter word), the
same first and the same last ``k - 1`` letters; conversely every such sequence
is one of these paths.

The shuffle draws such a path uniformly (Altschul & Erickson 1985, Mol. Biol.
Evol. 2:526-538; Kandel, Matias, Unger & Winkler 1996, Discrete Appl. Math.
71:171-185; the method of uShuffle and ``fasta-shuffle-letters -kmer k``):

1. For every vertex except the last one (``s[-(k-1):]``) choose its *last exit
   edge* so that the last exits form a spanning arborescence directed towards
   the last vertex. It is drawn with Wilson's algorithm (loop-erased random walks
   whose step from ``v`` follows one of ``v``'s edges chosen uniformly, i.e.
   ``v -> u`` with probability ``count(v, u) / outdeg(v)``), which samples
   arborescences with probability proportional to the product of the chosen
   edge multiplicities — the weight that makes the final path uniform.
2. At every vertex put the remaining exit edges in a uniformly random order,
   followed by the last exit edge.
3. Walk from the first vertex, always taking the next unused exit edge.

By the BEST theorem each sequence with the given k-mer counts is produced by
the same number of (edge-labelled) arborescence + ordering choices, so the
result is uniform over all sequences with those k-mer counts (the input
itself included: short or repetitive sequences may come back unchanged).

Letters are bytes and are shuffled as they are: case and ``N`` are kept as
symbols of their own (``"a"`` and ``"A"`` are different letters).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

SeqLike = str | bytes


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def dinucleotide_counts(seq: SeqLike) -> dict[str, int]:
    """Counts of the ``len(seq) - 1`` overlapping letter pairs, e.g. ``{"AC": 2, "CA": 1}``."""
    text = seq.decode("ascii") if isinstance(seq, bytes) else str(seq)
    counts: dict[str, int] = {}
    for i in range(len(text) - 1):
        pair = text[i : i + 2]
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def _last_exits(edges: dict[bytes, list[bytes]], root: bytes, rng: np.random.Generator) -> dict[bytes, bytes]:
    """Wilson's algorithm: a random arborescence towards ``root``; ``{vertex: next vertex}``."""
    in_tree = {root}
    nxt: dict[bytes, bytes] = {}
    for start in sorted(edges):
        u = start
        while u not in in_tree:  # random walk, remembering only the last exit (= loop erasure)
            out = edges[u]
            nxt[u] = out[int(rng.integers(len(out)))]
            u = nxt[u]
        u = start
        while u not in in_tree:
            in_tree.add(u)
            u = nxt[u]
    return nxt


def dinucleotide_shuffle(seq: SeqLike, seed: int | np.random.Generator | None = 0) -> SeqLike:
    """A uniformly random sequence with exactly the dinucleotide counts of ``seq``
    (:func:`kmer_shuffle` with ``k = 2``).

    Args:
        seq: the sequence (str or bytes; any letters, each byte is a symbol).
        seed: an int seed or a ``numpy.random.Generator`` (used and advanced);
            the same seed gives the same result.

    Returns:
        The shuffled sequence, same type and length as ``seq``; it starts and ends
        with the same letters and has the same letter and pair counts.
    """
    return kmer_shuffle(seq, 2, seed)


def kmer_shuffle(seq: SeqLike, k: int = 2, seed: int | np.random.Generator | None = 0) -> SeqLike:
    """A uniformly random sequence with exactly the k-mer counts of ``seq`` (module docstring).

    Args:
        seq: the sequence (str or bytes; any letters, each byte is a symbol).
        k: the word length kept (``k >= 2``; 2 = dinucleotides). Larger ``k`` keeps more
            of the sequence's texture (repeats, periodicity) and leaves fewer sequences
            to choose from.
        seed: an int seed or a ``numpy.random.Generator`` (used and advanced).

    Returns:
        The shuffled sequence, same type and length as ``seq``, with the same first and
        last ``k - 1`` letters and the same counts of every word of length ``<= k``.
    """
    if int(k) != k or int(k) < 2:
        raise ValueError(f"k must be a whole number >= 2, got {k}")
    k = int(k)
    as_text = isinstance(seq, str)
    data = seq.encode("ascii") if as_text else bytes(seq)
    if len(data) <= k:
        return seq
    rng = _rng(seed)
    vertices = [data[i : i + k - 1] for i in range(len(data) - k + 2)]
    edges: dict[bytes, list[bytes]] = {}
    for a, b in zip(vertices[:-1], vertices[1:]):
        edges.setdefault(a, []).append(b)
    root = vertices[-1]
    last = _last_exits(edges, root, rng)
    order: dict[bytes, list[bytes]] = {}
    for v, out in edges.items():
        out = list(out)
        if v != root:
            out.remove(last[v])
        rng.shuffle(out)
        if v != root:
            out.append(last[v])
        order[v] = out
    position = {v: 0 for v in order}
    result = bytearray(vertices[0])
    v = vertices[0]
    for _ in range(len(vertices) - 1):
        u = order[v][position[v]]
        position[v] += 1
        result += u[-1:]
        v = u
    out_bytes = bytes(result)
    return out_bytes.decode("ascii") if as_text else out_bytes


def shuffle_sequences(seqs: Sequence[SeqLike], seed: int = 0, n_shuffles: int = 1) -> list[SeqLike]:
    """Dinucleotide shuffles of many sequences, each a pure function of ``(seed, i, k)``.

    Returns ``n_shuffles`` shuffles per input, grouped by input:
    ``[shuffle(seqs[0], k=0), ..., shuffle(seqs[0], k=n_shuffles-1), shuffle(seqs[1], k=0), ...]``.
    """
    return [
        dinucleotide_shuffle(s, np.random.default_rng([int(seed), i, k]))
        for i, s in enumerate(seqs)
        for k in range(int(n_shuffles))
    ]
