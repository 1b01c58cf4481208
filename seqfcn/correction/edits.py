"""Applying a corrector's decisions to reads: sequence, qualities and counts.

Quality recalibration: ``recalibrate="changed"`` (default) gives changed bases the
posterior quality of the decision and keeps every other base's quality, so
downstream tools see the sequencer's qualities wherever nothing changed; ``"all"``
recalibrates every base (``N`` calls that stay ``N`` keep theirs); ``"none"`` keeps
every original quality (a changed base keeps the quality of the base it replaced).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seqfcn.correction import defaults
from seqfcn.correction.engine import Decision
from seqfcn.correction.tags import mark_changed
from seqfcn.sequence.encode import N_CODE, to_codes
from seqfcn.io.reads import Read

_LETTERS = np.frombuffer(b"ACGT", dtype=np.uint8)


@dataclass
class CorrectionStats:
    """Counts over a run (see :meth:`as_dict`)."""

    reads: int = 0
    reads_corrected: int = 0
    reads_passed_through: int = 0
    bases_examined: int = 0
    bases_changed: int = 0
    bases_substituted: int = 0
    n_replaced: int = 0
    bases_deleted: int = 0
    bases_inserted: int = 0
    batches: int = 0
    oom_retries: int = 0
    final_batch_limit: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready counts: ``bases_changed = bases_substituted + bases_deleted + bases_inserted``
        (``n_replaced``: substitutions of an ``N``)."""
        d = {k: v for k, v in self.__dict__.items() if k != "extra"}
        d.update(self.extra)
        return d


@dataclass
class Edited:
    """A read's sequence (ASCII bytes) and qualities after zero or more decisions, with counts."""

    seq: np.ndarray
    qual: np.ndarray | None
    n_sub: int = 0
    n_del: int = 0
    n_ins: int = 0
    n_replaced: int = 0

    @property
    def n_changed(self) -> int:
        return self.n_sub + self.n_del + self.n_ins


def edit(state: Edited, decision: Decision, recalibrate: str) -> Edited:
    """Apply one decision to ``state``; returns the new state (counts accumulated)."""
    seq = state.seq
    sub, dele = decision.substitute, decision.delete
    new = seq.copy()
    new[sub] = _LETTERS[decision.base[sub]]
    qual = state.qual
    new_qual = None if qual is None else np.asarray(qual, np.uint8).copy()
    if new_qual is not None:
        if recalibrate == "all":
            called = to_codes(seq) < 4
            new_qual[called | sub] = decision.quality[called | sub]
        elif recalibrate == "changed":
            new_qual[sub] = decision.quality[sub]
    ins = decision.insert
    n_ins = 0 if ins is None else int(np.count_nonzero(ins >= 0))
    n_del = int(np.count_nonzero(dele))
    if n_del or n_ins:
        counts = (~dele).astype(np.int64) + (0 if ins is None else (ins >= 0))
        src = np.repeat(np.arange(seq.shape[0]), counts)  # base each output slot comes from
        first = np.r_[True, src[1:] != src[:-1]]  # a slot's own base (vs the base inserted after it)
        own = first & ~dele[src]
        out = np.empty(src.shape[0], np.uint8)
        out[own] = new[src[own]]
        if n_ins:
            out[~own] = _LETTERS[ins[src[~own]]]
        if new_qual is not None:
            q = np.empty(src.shape[0], np.uint8)
            q[own] = new_qual[src[own]]
            if n_ins:
                q[~own] = decision.insert_quality[src[~own]] if recalibrate != "none" else new_qual[src[~own]]
            new_qual = q
        new = out
    return Edited(new, new_qual, state.n_sub + int(np.count_nonzero(sub)), state.n_del + n_del,
                  state.n_ins + n_ins,
                  state.n_replaced + int(np.count_nonzero(sub & (to_codes(seq) == N_CODE))))


def finish(read: Read, state: Edited, stats: CorrectionStats | None) -> Read:
    """Write an edited state into ``read`` (sequence, qualities, BAM tags) and count it."""
    if stats is not None:
        stats.bases_examined += len(read.sequence)
        stats.bases_substituted += state.n_sub
        stats.n_replaced += state.n_replaced
        stats.bases_deleted += state.n_del
        stats.bases_inserted += state.n_ins
        stats.bases_changed += state.n_changed
        stats.reads_corrected += bool(state.n_changed)
    new_seq = state.seq.tobytes().decode("ascii")
    mark_changed(read, new_seq, state.qual, state.n_changed,
                 substitutions_only=bool(state.n_sub) and not (state.n_del or state.n_ins))
    read.sequence, read.qualities = new_seq, state.qual
    return read


def initial(read: Read) -> Edited:
    """The unedited state of ``read``."""
    return Edited(np.frombuffer(read.sequence.encode("ascii"), np.uint8).copy(),
                  None if read.qualities is None else np.asarray(read.qualities, np.uint8))


def apply_decision(
    read: Read, decision: Decision, *, recalibrate: str = defaults.RECALIBRATE, stats: CorrectionStats | None = None
) -> Read:
    """Apply a decision to ``read`` in place (sequence, qualities, BAM tags); returns it."""
    return finish(read, edit(initial(read), decision, recalibrate), stats)

