"""SAM/BAM tags of corrected records.

A record whose sequence or qualities changed gets ``OQ:Z`` (the original qualities,
Phred+33, the standard tag; an existing ``OQ`` is kept as the truly original),
``xo:Z`` (the original sequence as stored; lower-case tags are reserved for local
use by the SAM specification) and ``xc:i`` (bases changed). ``NM`` and ``MD`` are
updated when only substitutions were made and the record has an ``MD`` tag (or
``NM`` and reference bases); records with ``N`` (skip) CIGAR operations keep ``MD``.
"""
from __future__ import annotations

import numpy as np

from seqfcn.io.reads import Read
from seqfcn.io.read_writers import quality_string

ORIGINAL_SEQUENCE_TAG = "xo"
"""BAM tag (type Z) holding the original sequence of a changed record."""
CHANGED_COUNT_TAG = "xc"
"""BAM tag (type i) holding the number of bases changed in a record."""


def mark_changed(read: Read, new_seq: str, new_qual: np.ndarray | None, n_changed: int, *,
                 substitutions_only: bool) -> None:
    """Tag ``read.segment`` (if any) for a change of ``read``'s sequence to ``new_seq`` and its
    qualities to ``new_qual``; call before the read itself is updated."""
    seg = read.segment
    qual = read.qualities
    qual_changed = qual is not None and not np.array_equal(new_qual, np.asarray(qual, np.uint8))
    if seg is None or not (n_changed or qual_changed):
        return
    if qual is not None and not seg.has_tag("OQ"):
        seg.set_tag("OQ", quality_string(qual).decode("ascii"), "Z")
    if n_changed:
        seg.set_tag(ORIGINAL_SEQUENCE_TAG, read.sequence, "Z")
        seg.set_tag(CHANGED_COUNT_TAG, n_changed, "i")
        if substitutions_only:
            update_md_nm(read, new_seq)


def update_md_nm(read: Read, new_seq: str) -> None:
    """Update ``NM`` and ``MD`` of an aligned record whose bases were substituted (same length)."""
    seg = read.segment
    if seg is None or seg.is_unmapped or not seg.cigartuples or read.ref_bases is None:
        return
    old = np.frombuffer(read.sequence.upper().encode("ascii"), np.uint8)
    new_text = new_seq.upper()
    new = np.frombuffer(new_text.encode("ascii"), np.uint8)
    ref = np.frombuffer(read.ref_bases.encode("ascii"), np.uint8)
    aligned = (ref != ord("-")) & (ref != ord("."))
    delta = int(np.count_nonzero(aligned & (new != ref))) - int(np.count_nonzero(aligned & (old != ref)))
    if seg.has_tag("NM"):
        seg.set_tag("NM", max(0, int(seg.get_tag("NM")) + delta), "i")
    if seg.has_tag("MD") and not any(op == 3 for op, _ in seg.cigartuples):
        seg.set_tag("MD", _md_string(seg, new_text), "Z")


def _md_string(seg, new_seq: str) -> str:
    """The ``MD`` string of aligned record ``seg`` with query bases ``new_seq`` (upper case)."""
    parts: list[str] = []
    count, in_del = 0, False
    for q, r, b in seg.get_aligned_pairs(with_seq=True):
        if r is None:
            continue
        if q is None:
            if not in_del:
                parts += [str(count), "^"]
                count, in_del = 0, True
            parts.append(b.upper())
            continue
        in_del = False
        if new_seq[q] == b.upper():
            count += 1
        else:
            parts += [str(count), b.upper()]
            count = 0
    parts.append(str(count))
    return "".join(parts)
