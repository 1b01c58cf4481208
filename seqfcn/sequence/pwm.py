"""PWM log-odds maths: backgrounds, pseudocounts, log-odds matrices and their reverse complements.

The layer below models and scans: :class:`seqfcn.nn.MotifConv` seeds filters from these
log-odds, :mod:`seqfcn.motifs.pwm` scores genomes with them.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


DEFAULT_PSEUDOCOUNT = 0.1
"""FIMO's default ``--motif-pseudo``."""


UNIFORM = np.full(4, 0.25)


def check_background(background: Sequence[float] | np.ndarray | None) -> np.ndarray:
    """A ``(4,)`` float64 background (A, C, G, T), uniform when ``None``; must be positive and sum to 1."""
    if background is None:
        return UNIFORM.copy()
    bg = np.asarray(background, dtype=np.float64).reshape(-1)
    if bg.shape != (4,) or not np.isfinite(bg).all() or (bg <= 0).any():
        raise ValueError(f"background must be 4 positive probabilities (A, C, G, T), got {background!r}")
    if abs(bg.sum() - 1.0) > 1e-6:
        raise ValueError(f"background must sum to 1, sums to {bg.sum():.6g}")
    return bg / bg.sum()


def background_from_counts(counts: Sequence[float] | np.ndarray, both_strands: bool = True) -> np.ndarray:
    """A ``(4,)`` background from base counts ``(A, C, G, T)``.

    With ``both_strands`` (the default, as for a two-strand scan) A/T and C/G are
    averaged so the background is its own reverse complement.
    """
    c = np.asarray(counts, dtype=np.float64).reshape(4)
    if both_strands:
        c = (c + c[::-1]) / 2.0
    if c.sum() <= 0:
        return UNIFORM.copy()
    # one pseudo-observation per base keeps every probability positive
    c = c + 1.0
    return c / c.sum()


def log_odds(
    pfm: np.ndarray,
    background: Sequence[float] | np.ndarray | None = None,
    pseudocount: float = DEFAULT_PSEUDOCOUNT,
    nsites: int | None = None,
) -> np.ndarray:
    """Log-odds matrix ``log2(f' / bg)`` of a probability matrix, FIMO-style.

    Args:
        pfm: ``(4, w)`` probabilities, rows A, C, G, T (columns are renormalised).
        background: ``(4,)`` base probabilities; uniform when ``None``.
        pseudocount: FIMO's ``--motif-pseudo`` (default 0.1), added to the counts
            ``f * nsites`` in proportion to the background.
        nsites: sites behind the matrix (default :data:`DEFAULT_NSITES` = 20).

    Returns:
        ``(4, w)`` float64 log-odds in bits.
    """
    f = np.asarray(pfm, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] != 4 or f.shape[1] == 0:
        raise ValueError(f"pfm must have shape (4, w), got {f.shape}")
    if pseudocount < 0:
        raise ValueError(f"pseudocount must be >= 0, got {pseudocount}")
    bg = check_background(background)
    f = f / f.sum(axis=0, keepdims=True)
    n = float(DEFAULT_NSITES if nsites is None else nsites)
    if n <= 0 and pseudocount == 0:
        raise ValueError("nsites must be positive")
    smoothed = (f * n + pseudocount * bg[:, None]) / (n + pseudocount)
    with np.errstate(divide="ignore"):
        return np.log2(smoothed / bg[:, None])


def reverse_complement_matrix(matrix: np.ndarray) -> np.ndarray:
    """The ``(4, w)`` matrix of the opposite strand: rows A↔T, C↔G and columns reversed."""
    return np.ascontiguousarray(np.asarray(matrix)[::-1, ::-1])


DEFAULT_NSITES = 20
"""Sites assumed when a motif does not say (the MEME motif format's default)."""
