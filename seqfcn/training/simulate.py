"""Sequencing-error models that turn true sequences into reads with per-base targets.

Self-supervised correction trains a same-length per-base head on reads made from
known sequence. Every model here takes true sequences as integer codes (0-3 =
A, C, G, T; 4 = N; see :func:`to_codes`), draws everything from a
``numpy.random.Generator`` built from an explicit seed, and returns observed
codes, Phred qualities and per-observed-base targets:

* :class:`IlluminaErrorModel` — substitutions only (same length). Each base gets a
  quality drawn from a per-cycle distribution (declining along the read) and is
  wrong with the probability that quality stands for (``error_by_q[Q]``, by
  default ``10**(-Q/10)``: the emitted qualities are calibrated). The wrong base
  comes from a non-uniform substitution matrix (transitions favoured). A fraction
  ``n_rate`` of bases become N with quality 2. ``fit_bam`` learns the
  per-cycle quality distribution, the error rate per quality value, the
  substitution matrix and the N rate from reads aligned to a reference.
* :class:`OntErrorModel` — substitutions, insertions, deletions and homopolymer
  length changes at configurable rates (lengths change).
* :class:`MaskModel` — BERT-style masking for pure self-supervision.

Target scheme (all models), per observed base ``i``:

* ``target[i]`` in 0-3 is the true base that observed base stands for; 4 (``GAP``)
  means "this observed base is an insertion: delete it"; ``IGNORE_INDEX`` (-100)
  means "no loss here" (padding, and unmasked positions of :class:`MaskModel`).
* ``n_deleted[i]`` is the number of true bases missing right after observed base
  ``i`` (deletions and homopolymer contractions). The first true base of a
  sequence is never deleted, so every deletion has an observed base before it.
* ``truth_index[i]`` is the index of the true base observed base ``i`` was read
  from (-1 for inserted bases): the exact alignment.

Applying the targets (drop class 4, keep classes 0-3) rebuilds the true sequence
exactly when there are no deletions; with deletions, placing ``n_deleted[i]``
gaps after each kept base rebuilds it exactly up to the identity of the deleted
bases (which ``truth_index`` gives). See :func:`apply_targets`.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence, Union

import numpy as np

from seqfcn.sequence.encode import (  # noqa: F401 - re-exported for error-model users
    N_CODE,
    SeqLike,
    as_byte_array,
    codes_to_str,
    reverse_complement_codes,
    to_codes,
    to_codes_batch,
)
from seqfcn.errors import SeqfcnError

GAP = 4
"""Target class of an inserted observed base ("delete this base")."""
IGNORE_INDEX = -100
"""Target value with no loss (``torch.nn.CrossEntropyLoss`` default ``ignore_index``)."""
MAX_Q = 41
"""Largest Phred quality the models emit."""

RngLike = Union[int, np.random.Generator]

def _rng(seed: RngLike) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


@dataclass
class Corrupted:
    """One corrupted sequence.

    Attributes:
        observed: ``(L_obs,)`` int8 codes of the read.
        qualities: ``(L_obs,)`` uint8 Phred qualities.
        target: ``(L_obs,)`` int64 class per observed base (0-3 true base, 4 gap,
            -100 ignore).
        n_deleted: ``(L_obs,)`` int64 true bases missing right after each observed base.
        truth_index: ``(L_obs,)`` int64 index into ``truth`` of each observed base (-1 inserted).
        truth: ``(L,)`` int8 codes of the true sequence.
    """

    observed: np.ndarray
    qualities: np.ndarray
    target: np.ndarray
    n_deleted: np.ndarray
    truth_index: np.ndarray
    truth: np.ndarray

    @property
    def sequence(self) -> str:
        """The observed read as text."""
        return codes_to_str(self.observed)


@dataclass
class CorruptedBatch:
    """A batch of corrupted sequences, right-padded to a common length.

    Attributes:
        observed: ``(batch, L_out)`` int8 codes (padding = 4, N).
        qualities: ``(batch, L_out)`` uint8 Phred qualities (padding = 0).
        target: ``(batch, L_out)`` int64 classes (padding = -100).
        n_deleted: ``(batch, L_out)`` int64 (padding = 0).
        truth_index: ``(batch, L_out)`` int64 (padding = -1).
        lengths: ``(batch,)`` int64 observed length of each row.
        truth: ``(batch, L)`` int8 true codes.
    """

    observed: np.ndarray
    qualities: np.ndarray
    target: np.ndarray
    n_deleted: np.ndarray
    truth_index: np.ndarray
    lengths: np.ndarray
    truth: np.ndarray

    def __len__(self) -> int:
        return self.observed.shape[0]

    def __getitem__(self, i: int) -> Corrupted:
        n = int(self.lengths[i])
        return Corrupted(
            self.observed[i, :n], self.qualities[i, :n], self.target[i, :n],
            self.n_deleted[i, :n], self.truth_index[i, :n], self.truth[i],
        )


def apply_targets(target: np.ndarray, n_deleted: np.ndarray | None = None, gap_code: int = -1) -> np.ndarray:
    """Rebuild the true sequence from per-observed-base targets.

    Args:
        target: ``(L_obs,)`` classes (0-3 base, 4 delete this base).
        n_deleted: ``(L_obs,)`` counts of missing bases after each observed base;
            each becomes ``gap_code`` in the output (their identity is not in the targets).

    Returns:
        ``(L,)`` int8 codes.
    """
    target = np.asarray(target)
    if np.any(target == IGNORE_INDEX):
        raise ValueError("targets hold ignore_index positions; only full targets can be applied")
    keep = target != GAP
    if n_deleted is None:
        return target[keep].astype(np.int8)
    counts = keep.astype(np.int64) + np.asarray(n_deleted, dtype=np.int64)
    out = np.full(int(counts.sum()), gap_code, dtype=np.int8)
    starts = np.cumsum(counts) - counts
    out[starts[keep]] = target[keep]
    return out


# ----------------------------------------------------------------------------- helpers
def _sample_categorical_rows(cdf: np.ndarray, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Draw a category per element: row ``rows[k]`` of ``cdf`` ``(R, K)`` with uniform ``u[k]``.

    Rows are laid end to end on one axis (row r spans ``[r, r+1)``) so one
    ``searchsorted`` serves every row.
    """
    n_rows, k = cdf.shape
    flat = (cdf / cdf[:, -1:] * (1 - 1e-12) + np.arange(n_rows)[:, None]).ravel()
    idx = np.searchsorted(flat, rows + u, side="right")
    return np.minimum(idx - rows * k, k - 1)


def _normal_quality_table(mean_q: np.ndarray, sd: float) -> np.ndarray:
    """Per-cycle quality probabilities ``(cycles, MAX_Q + 1)``: a discretised normal, Q >= 2."""
    q = np.arange(MAX_Q + 1)
    dens = np.exp(-0.5 * ((q[None, :] - mean_q[:, None]) / sd) ** 2)
    dens[:, :2] = 0.0
    return dens / dens.sum(axis=1, keepdims=True)


def _default_substitution() -> np.ndarray:
    """``(4, 4)`` P(observed | true, error): transitions (A↔G, C↔T) 60%, each transversion 20%."""
    m = np.full((4, 4), 0.2)
    for a, b in ((0, 2), (2, 0), (1, 3), (3, 1)):
        m[a, b] = 0.6
    np.fill_diagonal(m, 0.0)
    return m


def _check_prob(name: str, value: float) -> float:
    if not (0.0 <= value <= 1.0) or math.isnan(value):
        raise SeqfcnError(f"{name} must be a probability in [0, 1], not {value}")
    return float(value)


# ----------------------------------------------------------------------------- Illumina
@dataclass
class IlluminaErrorModel:
    """Substitution errors whose rate follows the emitted (calibrated) quality.

    Attributes:
        quality_probs: ``(cycles, MAX_Q + 1)`` P(Q | cycle); cycles past the last use the last row.
        error_by_q: ``(MAX_Q + 1,)`` P(base wrong | Q); default ``10**(-Q/10)``.
        substitution: ``(4, 4)`` P(observed | true, wrong), zero diagonal, rows sum to 1.
        n_rate: probability a base is called N (quality 2, target = true base).

    Build the default with :meth:`default` (mean Q declining from 38 to 25) or
    learn all four from aligned reads with :meth:`fit_bam`.
    """

    quality_probs: np.ndarray
    error_by_q: np.ndarray
    substitution: np.ndarray = field(default_factory=_default_substitution)
    n_rate: float = 0.001

    kind = "illumina"

    def __post_init__(self) -> None:
        self.quality_probs = np.asarray(self.quality_probs, dtype=np.float64)
        self.error_by_q = np.asarray(self.error_by_q, dtype=np.float64)
        self.substitution = np.asarray(self.substitution, dtype=np.float64)
        if self.quality_probs.ndim != 2 or self.quality_probs.shape[1] != MAX_Q + 1:
            raise SeqfcnError(f"quality_probs must be (cycles, {MAX_Q + 1}), not {self.quality_probs.shape}")
        if self.error_by_q.shape != (MAX_Q + 1,) or np.any((self.error_by_q < 0) | (self.error_by_q > 1)):
            raise SeqfcnError(f"error_by_q must be {MAX_Q + 1} probabilities")
        if self.substitution.shape != (4, 4) or np.any(self.substitution < 0):
            raise SeqfcnError("substitution must be a non-negative (4, 4) matrix")
        np.fill_diagonal(self.substitution, 0.0)
        self.substitution /= self.substitution.sum(axis=1, keepdims=True)
        self.quality_probs /= self.quality_probs.sum(axis=1, keepdims=True)
        self.n_rate = _check_prob("n_rate", self.n_rate)

    @classmethod
    def default(
        cls,
        read_length: int = 150,
        q_start: float = 38.0,
        q_end: float = 25.0,
        q_sd: float = 3.0,
        n_rate: float = 0.001,
        substitution: np.ndarray | None = None,
    ) -> "IlluminaErrorModel":
        """Mean quality falling from ``q_start`` (cycle 0) to ``q_end`` (last cycle), quadratically.

        Per-cycle qualities are a normal (sd ``q_sd``) discretised on 2..41; the
        error rate per quality is the Phred value ``10**(-Q/10)``.
        """
        frac = np.arange(read_length) / max(read_length - 1, 1)
        mean_q = q_start - (q_start - q_end) * frac**2
        q = np.arange(MAX_Q + 1)
        return cls(
            quality_probs=_normal_quality_table(mean_q, q_sd),
            error_by_q=10.0 ** (-q / 10.0),
            substitution=_default_substitution() if substitution is None else substitution,
            n_rate=n_rate,
        )

    def mean_quality(self) -> np.ndarray:
        """Mean emitted quality per cycle ``(cycles,)``."""
        return self.quality_probs @ np.arange(MAX_Q + 1)

    def expected_error_rate(self, length: int) -> float:
        """Expected substitution rate over the first ``length`` cycles (N calls excluded)."""
        cycles = np.minimum(np.arange(length), self.quality_probs.shape[0] - 1)
        return float((self.quality_probs[cycles] @ self.error_by_q).mean())

    def corrupt_batch(self, truth: Sequence[SeqLike] | np.ndarray, seed: RngLike) -> CorruptedBatch:
        """Corrupt ``(batch, L)`` true sequences (codes or text); reads start at cycle 0.

        Returns a :class:`CorruptedBatch` with ``L_out = L``; targets are the true
        bases (true N stays N with target -100).
        """
        truth = to_codes_batch(truth)
        rng = _rng(seed)
        b, length = truth.shape
        cycles = np.minimum(np.arange(length), self.quality_probs.shape[0] - 1)
        cdf = np.cumsum(self.quality_probs, axis=1)[cycles]
        u = rng.random((b, length))
        qual = _sample_categorical_rows(cdf, np.broadcast_to(np.arange(length), (b, length)), u).astype(np.uint8)
        wrong = rng.random((b, length)) < self.error_by_q[qual]
        is_base = truth < 4
        wrong &= is_base
        observed = truth.copy()
        t = truth[wrong].astype(np.intp)
        observed[wrong] = _sample_categorical_rows(
            np.cumsum(self.substitution, axis=1), t, rng.random(t.shape[0])
        ).astype(np.int8)
        n_call = (rng.random((b, length)) < self.n_rate) & is_base
        observed[n_call] = N_CODE
        qual[n_call] = 2
        target = np.where(is_base, truth, IGNORE_INDEX).astype(np.int64)
        return CorruptedBatch(
            observed=observed,
            qualities=qual,
            target=target,
            n_deleted=np.zeros((b, length), np.int64),
            truth_index=np.broadcast_to(np.arange(length, dtype=np.int64), (b, length)).copy(),
            lengths=np.full(b, length, np.int64),
            truth=truth,
        )

    def corrupt(self, truth: SeqLike | np.ndarray, seed: RngLike) -> Corrupted:
        """Corrupt one sequence (see :meth:`corrupt_batch`)."""
        return self.corrupt_batch(to_codes(truth)[None, :], seed)[0]

    @classmethod
    def fit_bam(
        cls,
        bam: str | Path,
        reference: str | Path,
        *,
        max_reads: int | None = 100_000,
        min_mapq: int = 1,
        pseudocount: float = 1.0,
    ) -> "IlluminaErrorModel":
        """Learn the model from reads aligned to ``reference``.

        Uses primary, mapped reads with mapping quality >= ``min_mapq``. In the
        read's own orientation (reverse-strand reads are complemented and their
        cycles reversed) it counts: qualities per cycle (all read bases); per
        quality, aligned A/C/G/T read bases and mismatches against the reference;
        the substitution matrix of mismatches; and N calls. Error rates per
        quality are smoothed towards ``10**(-Q/10)`` with weight ``pseudocount``
        bases, so qualities never seen keep their Phred meaning.
        """
        from seqfcn.io.reads import read_reads

        q_counts = np.zeros((0, MAX_Q + 1), np.float64)
        n_bases = np.zeros(MAX_Q + 1, np.float64)
        n_wrong = np.zeros(MAX_Q + 1, np.float64)
        subs = np.zeros((4, 4), np.float64)
        n_calls = 0
        n_aligned = 0
        used = 0
        for read in read_reads(bam, reference=reference, primary_only=True):
            seg = read.segment
            if seg is None or seg.is_unmapped or seg.is_secondary or seg.is_supplementary:
                continue
            if seg.mapping_quality < min_mapq or read.qualities is None:
                continue
            seq = to_codes(read.sequence)
            ref = to_codes(read.ref_bases.replace("-", "N").replace(".", "N"))
            aligned = np.frombuffer(read.ref_bases.encode("ascii"), np.uint8)
            aligned = (aligned != ord("-")) & (aligned != ord("."))
            qual = np.minimum(np.asarray(read.qualities, dtype=np.int64), MAX_Q)
            length = seq.shape[0]
            if seg.is_reverse:  # back to the order and strand the sequencer read
                seq = reverse_complement_codes(seq)
                ref = reverse_complement_codes(ref)
                aligned = aligned[::-1]
                qual = qual[::-1]
            if length > q_counts.shape[0]:
                q_counts = np.vstack([q_counts, np.zeros((length - q_counts.shape[0], MAX_Q + 1))])
            np.add.at(q_counts, (np.arange(length), qual), 1.0)
            ok = aligned & (ref < 4)
            n_calls += int(np.count_nonzero(ok & (seq == N_CODE)))
            n_aligned += int(np.count_nonzero(ok))
            called = ok & (seq < 4)
            np.add.at(n_bases, qual[called], 1.0)
            mism = called & (seq != ref)
            np.add.at(n_wrong, qual[mism], 1.0)
            np.add.at(subs, (ref[mism].astype(np.intp), seq[mism].astype(np.intp)), 1.0)
            used += 1
            if max_reads is not None and used >= max_reads:
                break
        if used == 0 or n_aligned == 0:
            raise SeqfcnError("no usable aligned reads to fit an error model from", path=bam)
        phred = 10.0 ** (-np.arange(MAX_Q + 1) / 10.0)
        error_by_q = (n_wrong + pseudocount * phred) / (n_bases + pseudocount)
        # cycles with very few reads (beyond most read lengths) borrow the mean row
        empty = q_counts.sum(axis=1) == 0
        q_counts[empty] = q_counts[~empty].sum(axis=0)
        subs_prior = _default_substitution()
        subs = subs + pseudocount * subs_prior
        return cls(
            quality_probs=q_counts,
            error_by_q=error_by_q,
            substitution=subs,
            n_rate=n_calls / n_aligned,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (``kind`` = ``"illumina"``)."""
        return {
            "kind": self.kind,
            "quality_probs": np.round(self.quality_probs, 8).tolist(),
            "error_by_q": self.error_by_q.tolist(),
            "substitution": self.substitution.tolist(),
            "n_rate": self.n_rate,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "IlluminaErrorModel":
        """Inverse of :meth:`to_dict`."""
        return cls(
            quality_probs=np.asarray(d["quality_probs"]),
            error_by_q=np.asarray(d["error_by_q"]),
            substitution=np.asarray(d["substitution"]),
            n_rate=float(d["n_rate"]),
        )


# ----------------------------------------------------------------------------- ONT
@dataclass
class OntErrorModel:
    """Nanopore-like errors: substitutions, insertions, deletions, homopolymer lengths.

    Per true base (independently): deleted with probability ``del_rate`` (never
    the first base); otherwise substituted (uniformly to another base) with
    ``sub_rate``; followed by a random inserted base with ``ins_rate``. Per
    homopolymer run of length >= 2: with ``homopolymer_rate`` its length changes
    by one, longer or shorter with equal odds (an extra copy after the run, or
    its last base deleted).

    Qualities are not calibrated: correct bases draw Q from a normal
    (``q_mean``, ``q_sd``), substituted and inserted bases from (``q_error_mean``,
    ``q_sd``), clipped to 1..``MAX_Q`` — lower on average, like real basecalls.
    """

    sub_rate: float = 0.03
    ins_rate: float = 0.02
    del_rate: float = 0.03
    homopolymer_rate: float = 0.1
    q_mean: float = 14.0
    q_error_mean: float = 7.0
    q_sd: float = 4.0

    kind = "ont"

    def __post_init__(self) -> None:
        for name in ("sub_rate", "ins_rate", "del_rate", "homopolymer_rate"):
            setattr(self, name, _check_prob(name, getattr(self, name)))
        if self.q_sd < 0:
            raise SeqfcnError(f"q_sd must be >= 0, not {self.q_sd}")

    def corrupt_batch(self, truth: Sequence[SeqLike] | np.ndarray, seed: RngLike) -> CorruptedBatch:
        """Corrupt ``(batch, L)`` true sequences; rows are right-padded to the longest read.

        Each true base owns three output slots — itself (unless deleted), a random
        insertion, a homopolymer copy — kept or dropped, then packed per row.
        """
        truth = to_codes_batch(truth)
        rng = _rng(seed)
        b, length = truth.shape
        deleted = rng.random((b, length)) < self.del_rate
        deleted[:, 0] = False
        sub = (rng.random((b, length)) < self.sub_rate) & ~deleted & (truth < 4)
        ins = rng.random((b, length)) < self.ins_rate
        # homopolymer runs: the last base of every run of >= 2 equal bases
        same_next = np.zeros((b, length), bool)
        same_next[:, :-1] = (truth[:, 1:] == truth[:, :-1]) & (truth[:, :-1] < 4)
        run_end = np.zeros((b, length), bool)
        run_end[:, 1:] = same_next[:, :-1] & ~same_next[:, 1:]
        hp_event = run_end & (rng.random((b, length)) < self.homopolymer_rate)
        hp_longer = hp_event & (rng.random((b, length)) < 0.5)
        hp_shorter = hp_event & ~hp_longer
        deleted |= hp_shorter
        sub &= ~deleted

        slots = np.empty((b, length, 3), np.int8)
        shift = rng.integers(1, 4, size=(b, length), dtype=np.int8)
        slots[..., 0] = np.where(sub, (truth + shift) % 4, truth)
        slots[..., 1] = rng.integers(0, 4, size=(b, length), dtype=np.int8)
        slots[..., 2] = truth
        keep = np.stack([~deleted, ins, hp_longer], axis=-1)
        slot_target = np.stack(
            [truth.astype(np.int64), np.full((b, length), GAP), np.full((b, length), GAP)], axis=-1
        )
        slot_target[..., 0] = np.where(truth < 4, slot_target[..., 0], IGNORE_INDEX)
        slot_index = np.stack([np.arange(length)] + [np.full(length, -1)] * 2, axis=-1)
        erroneous = np.stack([sub, ins, hp_longer], axis=-1)

        keep_flat = keep.reshape(b, -1)
        lengths = keep_flat.sum(axis=1).astype(np.int64)
        width = int(lengths.max()) if b else 0
        rows, cols = np.nonzero(keep_flat)
        out_pos = np.cumsum(keep_flat, axis=1) - 1  # output column of each kept slot
        dest = out_pos[rows, cols]

        observed = np.full((b, width), N_CODE, np.int8)
        observed[rows, dest] = slots.reshape(b, -1)[rows, cols]
        target = np.full((b, width), IGNORE_INDEX, np.int64)
        target[rows, dest] = slot_target.reshape(b, -1)[rows, cols]
        truth_index = np.full((b, width), -1, np.int64)
        truth_index[rows, dest] = np.broadcast_to(slot_index.reshape(-1), (b, length * 3))[rows, cols]
        n_q = rows.shape[0]
        bad = erroneous.reshape(b, -1)[rows, cols]
        q = rng.normal(np.where(bad, self.q_error_mean, self.q_mean), self.q_sd, size=n_q)
        qualities = np.zeros((b, width), np.uint8)
        qualities[rows, dest] = np.clip(np.rint(q), 1, MAX_Q).astype(np.uint8)
        # a deleted true base j hangs on the last observed base before it
        n_deleted = np.zeros((b, width), np.int64)
        dr, dc = np.nonzero(deleted)
        before = out_pos[dr, dc * 3]  # last kept slot before base j's own (dropped) slot
        np.add.at(n_deleted, (dr, before), 1)
        return CorruptedBatch(observed, qualities, target, n_deleted, truth_index, lengths, truth)

    def corrupt(self, truth: SeqLike | np.ndarray, seed: RngLike) -> Corrupted:
        """Corrupt one sequence (see :meth:`corrupt_batch`)."""
        return self.corrupt_batch(to_codes(truth)[None, :], seed)[0]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (``kind`` = ``"ont"``)."""
        return {"kind": self.kind, **{k: getattr(self, k) for k in _ONT_FIELDS}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "OntErrorModel":
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: float(d[k]) for k in _ONT_FIELDS if k in d})


_ONT_FIELDS = ("sub_rate", "ins_rate", "del_rate", "homopolymer_rate", "q_mean", "q_error_mean", "q_sd")


# ----------------------------------------------------------------------------- masking
@dataclass
class MaskModel:
    """BERT-style masking: each base is chosen with ``mask_rate``; chosen bases become
    N (``n_fraction``), a uniformly random base (``random_fraction``) or stay unchanged
    (the rest). Targets are the true base at chosen positions, -100 elsewhere.
    Every base gets quality ``quality`` so qualities do not reveal the mask.
    """

    mask_rate: float = 0.15
    n_fraction: float = 0.8
    random_fraction: float = 0.1
    quality: int = 30

    kind = "mask"

    def __post_init__(self) -> None:
        for name in ("mask_rate", "n_fraction", "random_fraction"):
            setattr(self, name, _check_prob(name, getattr(self, name)))
        if self.n_fraction + self.random_fraction > 1.0 + 1e-12:
            raise SeqfcnError("n_fraction + random_fraction must be <= 1")
        if not 0 <= int(self.quality) <= MAX_Q:
            raise SeqfcnError(f"quality must be in 0..{MAX_Q}")

    def corrupt_batch(self, truth: Sequence[SeqLike] | np.ndarray, seed: RngLike) -> CorruptedBatch:
        """Mask ``(batch, L)`` true sequences (same length out)."""
        truth = to_codes_batch(truth)
        rng = _rng(seed)
        b, length = truth.shape
        chosen = (rng.random((b, length)) < self.mask_rate) & (truth < 4)
        how = rng.random((b, length))
        to_n = chosen & (how < self.n_fraction)
        to_random = chosen & (how >= self.n_fraction) & (how < self.n_fraction + self.random_fraction)
        observed = truth.copy()
        observed[to_n] = N_CODE
        observed[to_random] = rng.integers(0, 4, size=int(to_random.sum()), dtype=np.int8)
        return CorruptedBatch(
            observed=observed,
            qualities=np.full((b, length), int(self.quality), np.uint8),
            target=np.where(chosen, truth, IGNORE_INDEX).astype(np.int64),
            n_deleted=np.zeros((b, length), np.int64),
            truth_index=np.broadcast_to(np.arange(length, dtype=np.int64), (b, length)).copy(),
            lengths=np.full(b, length, np.int64),
            truth=truth,
        )

    def corrupt(self, truth: SeqLike | np.ndarray, seed: RngLike) -> Corrupted:
        """Mask one sequence (see :meth:`corrupt_batch`)."""
        return self.corrupt_batch(to_codes(truth)[None, :], seed)[0]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (``kind`` = ``"mask"``)."""
        return {"kind": self.kind, "mask_rate": self.mask_rate, "n_fraction": self.n_fraction,
                "random_fraction": self.random_fraction, "quality": int(self.quality)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MaskModel":
        """Inverse of :meth:`to_dict`."""
        return cls(float(d["mask_rate"]), float(d["n_fraction"]), float(d["random_fraction"]), int(d["quality"]))


ErrorModel = Union[IlluminaErrorModel, OntErrorModel, MaskModel]
_KINDS: dict[str, type] = {"illumina": IlluminaErrorModel, "ont": OntErrorModel, "mask": MaskModel}


def error_model_from_dict(d: dict[str, Any]) -> ErrorModel:
    """Rebuild an error model from :meth:`to_dict` output (dispatch on ``kind``)."""
    kind = d.get("kind")
    if kind not in _KINDS:
        raise SeqfcnError(f"unknown error model kind {kind!r}; expected one of {sorted(_KINDS)}")
    try:
        return _KINDS[kind].from_dict(d)
    except (KeyError, TypeError, ValueError) as exc:
        raise SeqfcnError(f"bad {kind} error model parameters: {exc}") from None


def save_error_model(model: ErrorModel, path: str | Path) -> None:
    """Write the model's parameters as JSON (atomically)."""
    from seqfcn.io.atomic import atomic_write

    atomic_write(path, json.dumps(model.to_dict()))


def make_error_model(spec: str, reference: str | Path | None = None) -> ErrorModel:
    """Build an error model from a short text spec (for the CLI).

    Specs: ``illumina``, ``ont``, ``mask``, each optionally with overrides
    ``NAME:key=value,key=value`` (e.g. ``ont:sub_rate=0.05,del_rate=0.01``,
    ``illumina:read_length=100,q_end=20``); ``fitted:PATH.bam`` (needs
    ``reference``); or a ``.json`` file written by :func:`save_error_model`.
    """
    if spec.endswith(".json") and not spec.startswith("fitted:"):
        try:
            with open(spec) as fh:
                return error_model_from_dict(json.load(fh))
        except OSError as exc:
            raise SeqfcnError(f"cannot read error model: {exc.strerror}", path=spec) from None
        except json.JSONDecodeError as exc:
            raise SeqfcnError(f"not JSON: {exc.msg}", path=spec, position=exc.pos) from None
    name, _, rest = spec.partition(":")
    if name == "fitted":
        if not rest:
            raise SeqfcnError("fitted error model needs a BAM: fitted:PATH.bam")
        if reference is None:
            raise SeqfcnError("fitted error model needs the reference FASTA the BAM was aligned to", path=rest)
        return IlluminaErrorModel.fit_bam(rest, reference)
    if name not in _KINDS:
        raise SeqfcnError(f"unknown error model {spec!r}; expected illumina, ont, mask, fitted:PATH.bam or a .json")
    kwargs: dict[str, float] = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        try:
            if not eq:
                raise ValueError
            kwargs[key.strip()] = float(value)
        except ValueError:
            raise SeqfcnError(f"bad error model option {item!r} in {spec!r}; expected key=value") from None
    factory = IlluminaErrorModel.default if name == "illumina" else _KINDS[name]
    for key in ("read_length", "quality"):
        if key in kwargs:
            kwargs[key] = int(kwargs[key])
    try:
        return factory(**kwargs)
    except TypeError as exc:
        raise SeqfcnError(f"bad error model option in {spec!r}: {exc}") from None
