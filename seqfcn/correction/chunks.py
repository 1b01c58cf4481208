"""Correct a chunk of reads (as :class:`~seqfcn.io.reads.Read` objects) in place.

With solid checks the compiled spectrum walk goes first over every read (it also finds the
reads whose k-mers are all solid: they get no edit state and are written as they came);
the network then runs only on the reads the walk leaves weak, and the walk goes once more
over those. Reads still weak then get the indel pass (:mod:`.indels`; not reads with a
CIGAR), and the reads it changes one more walk. Used by :mod:`.pipeline` for every input and by :mod:`.blocks` for the few reads
of a FASTQ block that the walk leaves weak.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from seqfcn.correction.edits import CorrectionStats, Edited, edit, finish, initial
from seqfcn.correction.engine import CorrectionEngine, ReadItem
from seqfcn.correction.indels import IndelSettings, IndelWalker
from seqfcn.sequence.encode import to_codes
from seqfcn.io.reads import Read


def _still_weak(corrector: CorrectionEngine, codes: dict[int, np.ndarray], indices: Sequence[int]
                ) -> tuple[list[int], dict[int, np.ndarray]]:
    """The reads among ``indices`` that still have a base no solid k-mer supports, and their
    spectrum support (by index; empty without solid checks)."""
    weak, sup = corrector.weak_reads([codes[i] for i in indices])
    todo = [i for i, w in zip(indices, weak) if w]
    return todo, {i: s for i, s, w in zip(indices, sup, weak) if w and s is not None}


def correct_chunk(chunk: list[Read], corrector: CorrectionEngine, stats: CorrectionStats, recalibrate: str,
                   rounds: int = 1) -> None:
    """Correct a chunk of reads in place. Reads the spectrum calls solid get no edit state at
    all: they are written as they came. With solid checks the spectrum walk
    (:meth:`CorrectionEngine.spectrum_fix`, which also finds the solid reads) goes first, the
    network then runs only on the reads it leaves with unsupported bases, and the walk goes
    once more over those. ``rounds`` passes of the model, each on the previous output (0: the
    spectrum walk and the indel pass alone)."""
    order = [i for i, read in enumerate(chunk) if read.sequence]
    codes = _chunk_codes(chunk, order)
    states: dict[int, Edited] = {}
    may: dict[int, bool] = {}
    if corrector.solid is not None:
        weak_before, todo = _walk(corrector, chunk, codes, states, may, order)
    else:
        todo = weak_before = order
    stats.extra["reads_skipped_solid"] = stats.extra.get("reads_skipped_solid", 0) + len(order) - len(weak_before)
    correct_weak(chunk, corrector, codes, states, may, todo, recalibrate, rounds)
    stats.reads += len(chunk)
    stats.reads_passed_through += len(chunk) - len(order)
    for i in order:
        if i in states:
            finish(chunk[i], states[i], stats)
        else:
            stats.bases_examined += len(chunk[i].sequence)


def correct_weak(chunk: list[Read], corrector: CorrectionEngine, codes: dict[int, np.ndarray],
                 states: dict[int, Edited], may: dict[int, bool], todo: list[int], recalibrate: str,
                 rounds: int) -> None:
    """The network's ``rounds`` over the reads ``todo`` of ``chunk`` (those the spectrum walk
    left weak, or all without solid checks), then (solid checks) the walk once more over them
    and the indel pass over those it leaves weak. ``codes`` and ``states`` (by index) are the
    reads after the first walk; updated in place."""
    for i in todo:
        _state(chunk, states, may, i)
    after_walk = todo
    known: dict[int, np.ndarray] = {}
    for _ in range(rounds):
        items = [ReadItem(i, codes[i], states[i].qual, may[i], known.get(i)) for i in todo]
        if not items:
            break
        decisions = corrector.decide(items)
        changed = []
        for i, d in decisions.items():
            before = states[i].n_changed
            states[i] = edit(states[i], d, recalibrate)
            if states[i].n_changed > before:  # only reads that changed can change in the next round
                codes[i] = to_codes(states[i].seq)
                changed.append(i)
        todo, known = _still_weak(corrector, codes, sorted(changed))
    if corrector.solid is not None and after_walk:
        weak = _walk(corrector, chunk, codes, states, may, after_walk)[1]
        _indels(corrector, chunk, codes, states, may, weak)


def _indels(corrector: CorrectionEngine, chunk: list[Read], codes: dict[int, np.ndarray], states: dict[int, Edited],
            may: dict[int, bool], weak: Sequence[int]) -> None:
    """The indel pass over the reads ``weak`` that may change length, then the walk over those it changed."""
    todo = [i for i in weak if may[i]]
    if not corrector.indels or not todo:
        return
    walker = IndelWalker(corrector.evidence.table, corrector.solid, IndelSettings(max_length=corrector.indels))
    fixed = walker.fix([states[i] for i in todo])
    changed = [i for i, st in zip(todo, fixed) if st.n_changed != states[i].n_changed]
    for i, st in zip(todo, fixed):
        states[i] = st
    corrector.indel_edits += walker.edits
    for i in changed:
        codes[i] = to_codes(states[i].seq)
    if changed:
        _walk(corrector, chunk, codes, states, may, changed)


def _state(chunk: list[Read], states: dict[int, Edited], may: dict[int, bool], i: int) -> Edited:
    """The edit state of ``chunk[i]``, made on first use."""
    if i not in states:
        states[i] = initial(chunk[i])
        may[i] = _may_change_length(chunk[i])
    return states[i]


def _walk(corrector: CorrectionEngine, chunk: list[Read], codes: dict[int, np.ndarray], states: dict[int, Edited],
          may: dict[int, bool], indices: Sequence[int]) -> tuple[list[int], list[int]]:
    """The spectrum walk over the reads ``indices``; their states and codes are updated.
    Returns the reads among them that had an unsupported base before the walk, and after."""
    items = [ReadItem(i, codes[i], states[i].qual if i in states else chunk[i].qualities, True) for i in indices]
    decisions, before, after = corrector.spectrum_fix(items)
    for i, d in decisions.items():
        states[i] = edit(_state(chunk, states, may, i), d, "none")
        codes[i] = to_codes(states[i].seq)
    return [i for i, w in zip(indices, before) if w], [i for i, w in zip(indices, after) if w]


def _chunk_codes(chunk: list[Read], order: list[int]) -> dict[int, np.ndarray]:
    """Base codes of ``chunk[i]`` for ``i`` in ``order``, encoded in one pass (views into one array)."""
    seqs = [chunk[i].sequence for i in order]
    if not seqs:
        return {}
    ends = np.cumsum([len(q) for q in seqs])
    joined = to_codes("".join(seqs))
    return {i: joined[e - len(q) : e] for i, q, e in zip(order, seqs, ends.tolist())}


def _may_change_length(read: Read) -> bool:
    """Whether edits may delete or insert bases: not in records with a CIGAR (aligned SAM/BAM)."""
    seg = read.segment
    return seg is None or seg.is_unmapped or not seg.cigartuples
