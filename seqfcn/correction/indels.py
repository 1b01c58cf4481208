"""Spectrum-guided insertions and deletions: the indel pass after the substitution walk.

Illumina reads carry a few 1-3 base insertions and deletions (homopolymer and elsewhere).
A substitution walk cannot fix one: every k-mer after it is shifted. This pass takes the
reads the walk and the network leave weak and, walking right from a read's solid k-mers,
looks at the first weak k-mer ``j`` after a solid one. Its last base ``p = j + k - 1`` is
the first base that differs from the genome, so an edit there explains it:

* delete ``d`` bases ``p .. p + d - 1`` (``d`` = 1 .. ``max_length``),
* insert ``s`` bases before ``p`` (every sequence of 1 .. ``max_length`` bases),
* substitute ``p`` (a rival: the walk did not take it, but it may explain the k-mer as well).

The same indels are tried up to ``max_length`` bases before ``p`` too: in a homopolymer or a
tandem repeat they give the same read (one edit), in a repeat whose copies differ by a few
bases there they give another read (a second explanation). A candidate passes when every
k-mer from the first one it changes on, as far as ``k + max_length`` k-mers past ``j`` (or
the read's end), is solid after it, and at least ``min_kmers`` k-mers are checked. An edit
is made only when the candidates that pass all give one read and it is not a substitution:
two explanations (repeat copies, a tandem repeat where the window cannot tell) leave the
read as it is, and so does a k-mer beside the edit counted far above the typical count (a
high-copy repeat, ``max_copies``). Errors left of a read's first solid k-mer are found the same way on its
reverse complement.

The read's qualities follow the edits: a deleted base takes its quality with it, an inserted
base gets the quality of the base before it (:func:`seqfcn.correction.edits.edit` with
``recalibrate="none"``).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from typing import Sequence

import numpy as np

from seqfcn.correction import defaults
from seqfcn.correction.edits import Edited, edit
from seqfcn.correction.engine import Decision
from seqfcn.correction.kmers import KmerTable
from seqfcn.correction.spectrum import support
from seqfcn.sequence.encode import reverse_complement, to_codes

_BATCH = 512
"""Suspects checked in one lookup pass (bounds the memory of the candidates' windows)."""


@dataclass(frozen=True)
class IndelSettings:
    """The indel pass's settings: ``max_length`` longest insertion or deletion tried (0: no
    pass), ``min_kmers`` fewest solid k-mers that must confirm an edit, ``max_edits`` per read,
    ``max_copies``: no edit where a k-mer of the read within ``k + 3`` bases of it is counted
    more than this many times the spectrum's typical count (a high-copy repeat, whose copies
    differ by short indels: on the human dev set, 84 % of the indel edits that made a read
    worse had such a k-mer beside them, 12 % of those that made one better)."""

    max_length: int = 3
    min_kmers: int = 10
    max_edits: int = 4
    max_copies: float = defaults.INDEL_MAX_COPIES


@dataclass(frozen=True)
class _Candidate:
    """One edit ``back`` bases before a suspect base: ``kind`` ``"del"`` (``length`` bases
    removed), ``"ins"`` (``bases`` inserted before it) or ``"sub"`` (``bases``: its new base)."""

    kind: str
    bases: tuple[int, ...]
    length: int
    back: int = 0

    @property
    def shift(self) -> int:
        """How much longer the read gets."""
        return -self.length if self.kind == "del" else self.length if self.kind == "ins" else 0


def candidates(max_length: int) -> list[_Candidate]:
    """Every edit tried at a suspect base: deletions and insertions ``back`` = 0 ..
    ``max_length`` bases before it, then the substitutions of the suspect (``"sub"``
    candidates name the new base; the read's own base fails: its k-mer is weak)."""
    out = []
    for back in range(max_length + 1):
        out += [_Candidate("del", (), d, back) for d in range(1, max_length + 1)]
        for s in range(1, max_length + 1):
            out += [_Candidate("ins", b, s, back) for b in product(range(4), repeat=s)]
    return out + [_Candidate("sub", (b,), 1) for b in range(4)]


def kmer_counts(seqs: Sequence[np.ndarray], table: KmerTable) -> list[np.ndarray]:
    """Per read of ``seqs`` (codes), the ``(L - k + 1,)`` count of each of its k-mers (-1: a
    k-mer with an N), in one lookup pass."""
    k = table.k
    windows = [np.lib.stride_tricks.sliding_window_view(s, k) for s in seqs if s.shape[0] >= k]
    if not windows:
        return [np.zeros(0, np.int64) for _ in seqs]
    flat = support(np.ascontiguousarray(np.concatenate(windows)), table)[:, 0]
    out, at = [], 0
    for s in seqs:
        nk = max(s.shape[0] - k + 1, 0)
        out.append(flat[at:at + nk])
        at += nk
    return out


def first_suspect(counts: np.ndarray, solid: int, start: int) -> int:
    """Index of the first weak k-mer at or after ``start`` whose previous k-mer is solid (-1: none)."""
    ok = counts >= solid
    weak = np.nonzero(~ok[1:] & ok[:-1])[0] + 1
    weak = weak[weak >= start]
    return int(weak[0]) if weak.size else -1


@lru_cache(maxsize=None)
def _layout(k: int, max_length: int) -> tuple[list[_Candidate], np.ndarray]:
    """The candidates tried (:func:`candidates`) and their gather table (:func:`_gather_table`),
    made once per ``(k, max_length)``: a walker is made for every chunk of reads."""
    cands = candidates(max_length)
    return cands, _gather_table(k, max_length, cands)


def _gather_table(k: int, max_length: int, cands: Sequence[_Candidate]) -> np.ndarray:
    """``(len(cands), width)`` indices into a suspect's source: its read from ``max_length``
    bases before the suspect k-mer ``j`` on, ``width + max_length`` bases padded with N, then
    the four bases 0-3. Row ``c`` is the read after candidate ``c`` (suspect base at
    ``max_length + k - 1``), ``width = 2 (k + max_length) - 1`` bases from there."""
    width = 2 * (k + max_length) - 1
    base = width + max_length  # the four bases follow the read's bases in the source
    suspect = max_length + k - 1
    out = np.empty((len(cands), width), np.int64)
    for r, c in enumerate(cands):
        q = suspect - c.back
        if c.kind == "del":
            edited = list(range(q)) + list(range(q + c.length, base))
        elif c.kind == "ins":
            edited = list(range(q)) + [base + b for b in c.bases] + list(range(q, base))
        else:
            edited = list(range(q)) + [base + c.bases[0]] + list(range(q + 1, base))
        out[r] = edited[:width]
    return out


class IndelWalker:
    """The indel pass over reads' codes, with one spectrum ``table`` and ``solid`` count."""

    def __init__(self, table: KmerTable, solid: int, settings: IndelSettings | None = None) -> None:
        self.table, self.solid = table, int(solid)
        self.settings = s = settings or IndelSettings()
        self.cands, self.gather = _layout(table.k, s.max_length)
        self.width = self.gather.shape[1]
        self.shift = np.array([c.shift for c in self.cands])
        self.first = s.max_length - np.array([c.back for c in self.cands])  # first base of the first k-mer changed
        self.edits = 0
        self.ambiguous = 0
        self.repeats = 0
        self.repeat_count = s.max_copies * table.scale

    def sources(self, seqs: Sequence[np.ndarray], js: Sequence[int]) -> np.ndarray:
        """``(n, width + max_length + 4)`` uint8: for suspect k-mer ``js[i]`` of ``seqs[i]``
        (codes), the read from ``max_length`` bases before it (N past either end), then the
        four bases 0-3: what :meth:`edited` gathers from."""
        m = self.settings.max_length
        n, span = len(seqs), self.width + m
        src = np.full((n, span + 4), 4, np.uint8)
        src[:, span:] = np.arange(4, dtype=np.uint8)
        for i, (seq, j) in enumerate(zip(seqs, js)):
            lo = max(j - m, 0)
            part = seq[lo:j - m + span]
            src[i, lo - (j - m):lo - (j - m) + part.shape[0]] = part
        return src

    def edited(self, src: np.ndarray, rows: np.ndarray, cands: np.ndarray) -> np.ndarray:
        """``(len(rows), width)``: suspect ``rows[i]`` of ``src`` (:meth:`sources`) after
        candidate ``cands[i]``, from ``max_length`` bases before its suspect k-mer."""
        return src[rows[:, None], self.gather[cands]]

    def passing(self, seqs: Sequence[np.ndarray], js: Sequence[int]) -> list[list[tuple[int, bytes]]]:
        """For suspect k-mer ``js[i]`` of ``seqs[i]`` (codes), the candidates after which the
        k-mers from the first one they change on (up to ``k + max_length`` past ``j``, at least
        ``min_kmers``) are all solid, each as ``(candidate index, its edited window as bytes)``.
        The suspect k-mer itself is changed by every candidate: it is checked first, for all of
        them, and the whole window only where it is solid."""
        k, m = self.table.k, self.settings.max_length
        n, n_cands = len(seqs), len(self.cands)
        src = self.sources(seqs, js)
        first = src[np.arange(n)[:, None, None], self.gather[None, :, m:m + k]].reshape(-1, k)
        alive = support(first, self.table)[:, 0].reshape(n, n_cands) >= self.solid
        rows, cands = np.nonzero(alive)
        out: list[list[tuple[int, bytes]]] = [[] for _ in range(n)]
        if rows.size == 0:
            return out
        windows = self.edited(src, rows, cands)
        js_ = np.asarray(js)[rows]
        end = np.array([seqs[r].shape[0] for r in rows.tolist()]) - js_ + m + self.shift[cands]  # read end
        begin = np.maximum(self.first[cands], m - js_)  # the first k-mer checked (not before the read)
        at = np.arange(self.width)[None]
        inside = (at >= begin[:, None]) & (at < end[:, None])
        sup = support(np.where(inside, windows, 4), self.table)
        ok = (np.where(inside, sup, self.solid).min(1) >= self.solid)
        ok &= np.minimum(end, self.width) - begin - k + 1 >= self.settings.min_kmers
        for r, c, w in zip(rows[ok].tolist(), cands[ok].tolist(), windows[ok]):
            out[r].append((c, w.tobytes()))
        return out

    def choose(self, hits: list[tuple[int, bytes]]) -> tuple[_Candidate | None, bool]:
        """The edit to make at one suspect given its passing candidates (:meth:`passing`):
        the first when all give one read and it is an indel, else None; and whether they gave
        several reads."""
        if not hits:
            return None, False
        if len({(int(self.shift[c]), w) for c, w in hits}) > 1:
            return None, True
        cand = self.cands[hits[0][0]]
        return (None if cand.kind == "sub" else cand), False

    def walk(self, seqs: list[np.ndarray]) -> list[list[tuple[int, _Candidate]]]:
        """One rightward walk over each of ``seqs`` (codes, edited in the list): the edits made
        in each, as ``(p, candidate)`` on the sequence as it was when the edit was made."""
        k, solid = self.table.k, self.solid
        done: list[list[tuple[int, _Candidate]]] = [[] for _ in seqs]
        start = [1] * len(seqs)
        counts = kmer_counts(seqs, self.table)
        active = list(range(len(seqs)))
        for _ in range(4 * self.settings.max_edits):
            todo = [(i, first_suspect(counts[i], solid, start[i])) for i in active
                    if len(done[i]) < self.settings.max_edits]
            todo = [(i, j) for i, j in todo if j >= 0]
            if not todo:
                break
            hits = [h for at in range(0, len(todo), _BATCH)
                    for h in self.passing([seqs[i] for i, _ in todo[at:at + _BATCH]],
                                          [j for _, j in todo[at:at + _BATCH]])]
            edited = []
            for r, (i, j) in enumerate(todo):
                start[i] = j + 1
                cand, several = self.choose(hits[r])
                self.ambiguous += several
                if cand is None:
                    continue
                p = j + k - 1 - cand.back
                if counts[i][max(p - k - 2, 0):p + 4].max(initial=0) > self.repeat_count:
                    self.repeats += 1
                    continue
                seqs[i] = _apply(seqs[i], p, cand)
                done[i].append((p, cand))
                edited.append(i)
            for i, c in zip(edited, kmer_counts([seqs[i] for i in edited], self.table)):
                counts[i] = c
            active = [i for i, _ in todo]
        self.edits += sum(len(d) for d in done)
        return done

    def fix(self, states: Sequence[Edited]) -> list[Edited]:
        """``states`` with the indel edits of a rightward walk, then of a walk over each one's
        reverse complement (errors left of the read's first solid k-mer)."""
        states = [_edit(st, ops) for st, ops in zip(states, self.walk([to_codes(st.seq) for st in states]))]
        flipped = [_flip(st) for st in states]
        ops = self.walk([to_codes(st.seq) for st in flipped])
        return [_flip(_edit(f, o)) if o else st for st, f, o in zip(states, flipped, ops)]


def _apply(seq: np.ndarray, p: int, c: _Candidate) -> np.ndarray:
    """``seq`` (codes) with the indel ``c`` made at base ``p``."""
    if c.kind == "del":
        return np.concatenate([seq[:p], seq[p + c.length:]])
    return np.concatenate([seq[:p], np.array(c.bases, np.uint8), seq[p:]])


def _flip(state: Edited) -> Edited:
    """The reverse complement of an edit state (qualities reversed, counts kept)."""
    seq = np.frombuffer(reverse_complement(state.seq.tobytes()), np.uint8).copy()
    qual = None if state.qual is None else state.qual[::-1].copy()
    return Edited(seq, qual, state.n_sub, state.n_del, state.n_ins, state.n_replaced)


def _edit(state: Edited, ops: Sequence[tuple[int, _Candidate]]) -> Edited:
    """``state`` with the walk's edits made in order (an insertion of ``s`` bases as ``s``
    single-base insertions)."""
    for p, cand in ops:
        if cand.kind == "del":
            state = edit(state, _decision(state, delete=range(p, p + cand.length)), "none")
        else:
            for t, base in enumerate(cand.bases):
                state = edit(state, _decision(state, insert_after=p - 1 + t, base=base), "none")
    return state


def _decision(state: Edited, *, delete: range = range(0), insert_after: int = -1, base: int = 0) -> Decision:
    """A :class:`Decision` deleting bases ``delete`` of ``state`` or inserting ``base`` after ``insert_after``."""
    n = state.seq.shape[0]
    codes = np.minimum(to_codes(state.seq), 3).astype(np.uint8)
    dele = np.zeros(n, bool)
    dele[list(delete)] = True
    ins = np.full(n, -1, np.int8)
    quality = np.zeros(n, np.uint8) if state.qual is None else np.asarray(state.qual, np.uint8)
    if insert_after >= 0:
        ins[insert_after] = base
    return Decision(codes, np.zeros(n, bool), dele, quality, ins, quality)
