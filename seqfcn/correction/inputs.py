"""Model inputs of read correctors: padded batches of reads, one-hot + quality + evidence.

Shapes: a batch of ``n`` reads right-padded to the longest, ``L``: codes ``(n, L)``
(padding N = 4), qualities ``(n, L)``, the mask ``(n, 1, L)`` (1 at real bases) and
the input ``x`` ``(n, 5 + evidence channels, L)``: one-hot (N = zeros), the quality
channel ``min(Q, 50) / 50`` (1 for reads without qualities), then the k-mer
evidence; padding is all zeros.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from seqfcn.correction.evidence import KmerEvidence
from seqfcn.sequence.encode import N_CODE, codes_one_hot, scale_quality

BASE_CHANNELS = ("A", "C", "G", "T", "quality")
"""The input channels every corrector takes first."""


def pad_rows(rows: Sequence[np.ndarray], fill: int, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """The ``(n,)`` arrays ``rows`` right-padded with ``fill`` into one ``(n, L)`` array of
    ``dtype`` (L the longest), and their ``(n,)`` int64 lengths; one copy, no Python loop."""
    lengths = np.fromiter((r.shape[0] for r in rows), np.int64, len(rows))
    width = int(lengths.max()) if lengths.size else 0
    inside = np.arange(width)[None, :] < lengths[:, None]
    padded = np.full(inside.shape, fill, dtype)
    if lengths.size:
        padded[inside] = np.concatenate(rows)
    return padded, lengths


def pad_batch(codes: Sequence[np.ndarray], qualities: Sequence[np.ndarray | None] | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Right-padded ``(n, L)`` int8 codes (padding N), scaled ``(n, L)`` float32 qualities
    (1 for reads without qualities or with ``qualities=None``) and ``(n,)`` lengths."""
    padded, lengths = pad_rows(codes, N_CODE, np.int8)
    if qualities is None:  # 1 at every base, 0 at padding
        return padded, (np.arange(padded.shape[1])[None, :] < lengths[:, None]).astype(np.float32), lengths
    qual = np.zeros(padded.shape, np.float32)
    for i, q in enumerate(qualities):
        qual[i, : lengths[i]] = 1.0 if q is None else scale_quality(q)
    return padded, qual, lengths


def length_mask(lengths: np.ndarray, width: int) -> np.ndarray:
    """``(n, 1, width)`` float32: 1 at real bases, 0 at padding."""
    return (np.arange(width)[None, None, :] < np.asarray(lengths)[:, None, None]).astype(np.float32)


def model_inputs(codes: np.ndarray, qualities: np.ndarray, lengths: np.ndarray,
                 ev: KmerEvidence | None) -> np.ndarray:
    """Model input ``(n, 5 + channels, L)`` of padded reads.

    Args:
        codes: ``(n, L)`` codes (padding 4); qualities: ``(n, L)`` Phred scores, or
            float ``(n, L)`` already scaled to 0..1 when ``qualities.dtype`` is float.
        lengths: ``(n,)``.
        ev: the evidence (None: 5 channels only).
    """
    n, w = codes.shape
    real = np.arange(w)[None, :] < np.asarray(lengths)[:, None]
    c_ev = 0 if ev is None else ev.channels
    x = np.zeros((n, 5 + c_ev, w), np.float32)
    x[:, :4] = codes_one_hot(codes)
    q = qualities if np.issubdtype(qualities.dtype, np.floating) else scale_quality(qualities)
    x[:, 4] = np.where(real, q, 0.0)
    if ev is not None:
        x[:, 5:] = ev.features(codes, lengths)
        x[:, 5:] *= real[:, None, :]
    return x


def encode_batch(codes: Sequence[np.ndarray], qualities: Sequence[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """Encode reads for a plain (5-channel) model, right-padded to the longest.

    Args:
        codes: per read ``(L_i,)`` int8 codes (0-3 = A, C, G, T; 4 = N).
        qualities: per read ``(L_i,)`` Phred scores or None (no qualities: channel = 1).

    Returns:
        ``x`` ``(n, 5, L)`` float32 and ``mask`` ``(n, 1, L)`` float32.
    """
    padded, qual, lengths = pad_batch(codes, qualities)
    return model_inputs(padded, qual, lengths, None), length_mask(lengths, padded.shape[1])
