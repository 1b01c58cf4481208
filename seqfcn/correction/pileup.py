"""Per-position pileup features of a read from its overlaps with other reads.

Each overlap (:class:`seqfcn.correction.overlaps.Overlap`) puts the other read's bases under
the read: for every read position ``j`` the pileup counts (channels of :data:`COUNTS`)

* ``A C G T``: other reads showing that base at ``j`` (aligned, complemented for ``-`` hits);
* ``gap``: other reads with no base at ``j`` (``j`` is an insertion in the read against them);
* ``ins``: other reads with bases between ``j`` and ``j + 1`` (missing from the read), and
  ``ins_A .. ins_T`` the first of those bases (the one next to ``j`` in the read's orientation).

:func:`pileup_features` turns counts into the model's input (:data:`FEATURES`): the counts
as shares of the depth (reads covering ``j`` = A+C+G+T+gap), the depth scaled by
:data:`DEPTH_SCALE`, and the read's own base one-hot. All of it is built with numpy from the
CIGAR runs (no per-column Python).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from seqfcn.correction.overlaps import Overlap
from seqfcn.sequence.encode import to_codes

COUNTS = ("A", "C", "G", "T", "gap", "ins", "ins_A", "ins_C", "ins_G", "ins_T")
FEATURES = tuple(f"pile_{c}" for c in COUNTS) + ("depth", "read_A", "read_C", "read_G", "read_T")
"""The input channels of a pileup corrector, in order."""
DEPTH_SCALE = 32.0
"""The depth channel is ``min(depth, 2 * DEPTH_SCALE) / DEPTH_SCALE``."""
_GAP, _INS, _INS_BASE = 4, 5, 6
_COMPLEMENT = np.array([3, 2, 1, 0, 4], np.int64)  # code 4 (N) stays

TargetBases = Callable[[str, int, int], "str | bytes"]


def _op_offsets(cigar: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per CIGAR op: length, op, read offset and target offset where it starts (alignment orientation)."""
    lens, ops = cigar[:, 0], np.where(np.isin(cigar[:, 1], (7, 8)), 0, cigar[:, 1])
    q_adv = np.where(ops != 2, lens, 0)
    t_adv = np.where(ops != 1, lens, 0)
    return lens, ops, np.cumsum(q_adv) - q_adv, np.cumsum(t_adv) - t_adv


def _overlap_indices(ov: Overlap, length: int, target: np.ndarray) -> np.ndarray:
    """Flat indices ``channel * length + position`` of every count one overlap adds."""
    lens, ops, q_off, t_off = _op_offsets(ov.cigar)
    forward = ov.strand > 0
    # columns of M (base) and I (gap) runs, expanded
    col_ops = np.repeat(ops, lens)
    run_start = np.repeat(np.cumsum(lens) - lens, lens)
    within = np.arange(col_ops.size) - run_start
    q_col = np.repeat(q_off, lens) + within
    t_col = np.repeat(t_off, lens) + within
    m, i = col_ops == 0, col_ops == 1
    pos_m = ov.q_start + q_col[m] if forward else ov.q_end - 1 - q_col[m]
    base = target[t_col[m]]
    if not forward:
        base = _COMPLEMENT[base]
    pos_i = ov.q_start + q_col[i] if forward else ov.q_end - 1 - q_col[i]
    # D runs: bases missing from the read after one read position
    d = ops == 2
    if forward:
        after = ov.q_start + q_off[d] - 1
        first = target[t_off[d]]
    else:
        after = ov.q_end - 1 - q_off[d]
        first = _COMPLEMENT[target[t_off[d] + lens[d] - 1]]
    keep = (after >= 0) & (after < length)
    after, first = after[keep], first[keep]
    base_ok = base < 4
    parts = [base[base_ok] * length + pos_m[base_ok], _GAP * length + pos_i, _INS * length + after]
    first_ok = first < 4
    parts.append((_INS_BASE + first[first_ok]) * length + after[first_ok])
    return np.concatenate(parts)


def pileup_counts(length: int, overlaps: Sequence[Overlap], target_bases: TargetBases) -> np.ndarray:
    """``(len(COUNTS), length)`` float32 counts of a read of ``length`` bases from its ``overlaps``;
    ``target_bases(name, start, end)`` gives the aligned stretch of another read."""
    if not overlaps or length == 0:
        return np.zeros((len(COUNTS), length), np.float32)
    flat = [_overlap_indices(ov, length, to_codes(target_bases(ov.target, ov.t_start, ov.t_end)).astype(np.int64))
            for ov in overlaps]
    counts = np.bincount(np.concatenate(flat), minlength=len(COUNTS) * length)
    return counts.reshape(len(COUNTS), length).astype(np.float32)


def depth_of(counts: np.ndarray) -> np.ndarray:
    """``(length,)`` reads covering each position (bases and gaps)."""
    return counts[: _GAP + 1].sum(axis=0)


def pileup_features(read_codes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``(len(FEATURES), length)`` float32 model input from a read's codes ``(length,)`` and its counts."""
    depth = depth_of(counts)
    shares = counts / np.maximum(depth, 1.0)
    own = np.zeros((4, read_codes.size), np.float32)
    ok = read_codes < 4
    own[read_codes[ok].astype(np.int64), np.nonzero(ok)[0]] = 1.0
    depth_channel = np.minimum(depth, 2 * DEPTH_SCALE)[None, :] / DEPTH_SCALE
    return np.concatenate([shares, depth_channel, own]).astype(np.float32)
