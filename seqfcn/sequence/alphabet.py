"""DNA alphabet: channel order, IUPAC codes, complement, and the encoding policy.

Channels 0-3 are A, C, G, T. Every byte value maps to a row of ``IUPAC_WEIGHTS``
(the probability of A, C, G, T) or is invalid. The :class:`EncodingPolicy`
decides what N, ambiguity codes, lowercase and U become.

**Accepted sequence characters** (one policy for genomes and reads, in every
command — ``scan``, ``correct``, ``train``, ``evaluate``): the IUPAC nucleotide
codes ``A C G T U R Y S W K M B D H V N`` in either case, and ``.``, the no-call
of old Illumina FASTQ files (read as ``N``). Anything else (digits, ``-``, ``*``,
spaces, ...) is an error naming the file, the record and the position
(:func:`first_invalid`); nothing is rewritten silently. For read correction every
character other than A/C/G/T counts as an unknown base: the model may call it, and
an uncalled one is written back as it was.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BASES = "ACGT"
"""Channel order of every one-hot tensor."""

# The bases each IUPAC code stands for (Cornish-Bowden 1985 nomenclature).
IUPAC_CODES: dict[str, str] = {
    "A": "A", "C": "C", "G": "G", "T": "T", "U": "T",
    "R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC",
    "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}

_COMPLEMENT_PAIRS = {
    "A": "T", "C": "G", "G": "C", "T": "A", "U": "A",
    "R": "Y", "Y": "R", "S": "S", "W": "W", "K": "M", "M": "K",
    "B": "V", "V": "B", "D": "H", "H": "D", "N": "N",
}


def _complement_table() -> bytes:
    table = bytearray(range(256))
    for a, b in _COMPLEMENT_PAIRS.items():
        table[ord(a)] = ord(b)
        table[ord(a.lower())] = ord(b.lower())
    return bytes(table)


COMPLEMENT_TABLE: bytes = _complement_table()
"""``bytes.translate`` table: IUPAC complement, case kept, other bytes unchanged."""

NO_CALL = "."
"""Old Illumina no-call character, accepted everywhere as ``N``."""
SEQUENCE_CHARACTERS: str = "".join(IUPAC_CODES) + "".join(IUPAC_CODES).lower() + NO_CALL
"""Every character a sequence may hold (see the module docstring)."""
_SEQUENCE_BYTES = SEQUENCE_CHARACTERS.encode("ascii")


def first_invalid(seq: str | bytes) -> int | None:
    """Index of the first character of ``seq`` outside :data:`SEQUENCE_CHARACTERS`, or None."""
    if isinstance(seq, str):
        if seq.isascii():
            seq = seq.encode("ascii")
        else:
            return next(i for i, ch in enumerate(seq) if not ch.isascii() or ch not in SEQUENCE_CHARACTERS)
    if not seq.translate(None, _SEQUENCE_BYTES):
        return None
    bad = seq.translate(None, _SEQUENCE_BYTES)[0]
    return seq.index(bad)


N_POLICIES = ("zero", "uniform")
IUPAC_POLICIES = ("fractional", "zero", "error")


@dataclass(frozen=True)
class EncodingPolicy:
    """How characters other than upper-case A/C/G/T are encoded.

    Attributes:
        n: ``"zero"`` (N is an all-zero column) or ``"uniform"`` (0.25 each).
        iupac: ``"fractional"`` (R = 0.5 A + 0.5 G, ...), ``"zero"`` (like N with
            ``n="zero"``) or ``"error"`` (ambiguity codes other than N are invalid).
        rna: accept U/u as T.
        soft_mask_channel: add a 5th channel that is 1 at lowercase positions.
            Lowercase is always accepted and encoded like upper case.

    Integer output dtypes cannot hold fractions: there a column holds 1 for every
    base the code is compatible with (R → A=1, G=1), so ``"uniform"`` N is all ones.
    """

    n: str = "zero"
    iupac: str = "fractional"
    rna: bool = True
    soft_mask_channel: bool = False

    def __post_init__(self) -> None:
        if self.n not in N_POLICIES:
            raise ValueError(f"n policy must be one of {N_POLICIES}, not {self.n!r}")
        if self.iupac not in IUPAC_POLICIES:
            raise ValueError(f"iupac policy must be one of {IUPAC_POLICIES}, not {self.iupac!r}")

    @property
    def channels(self) -> int:
        """Number of output channels (4, or 5 with the soft-mask channel)."""
        return 5 if self.soft_mask_channel else 4

    def weights(self, integer: bool) -> tuple[np.ndarray, np.ndarray]:
        """Per-byte encoding table.

        Returns:
            ``(table, valid)``: ``table`` is ``(256, 4)`` float32, the column for each
            byte value; ``valid`` is ``(256,)`` bool, False for bytes this policy rejects.
        """
        table = np.zeros((256, 4), dtype=np.float32)
        valid = np.zeros(256, dtype=bool)
        for code, bases in IUPAC_CODES.items():
            if code == "U" and not self.rna:
                continue
            if code == "N":
                fill = 1.0 if integer else 0.25
                row = np.full(4, fill if self.n == "uniform" else 0.0, dtype=np.float32)
            elif len(bases) > 1:
                if self.iupac == "error":
                    continue
                row = np.zeros(4, dtype=np.float32)
                if self.iupac == "fractional":
                    for b in bases:
                        row[BASES.index(b)] = 1.0 if integer else 1.0 / len(bases)
            else:
                row = np.zeros(4, dtype=np.float32)
                row[BASES.index(bases)] = 1.0
            for ch in (code, code.lower()):
                table[ord(ch)] = row
                valid[ord(ch)] = True
        table[ord(NO_CALL)], valid[ord(NO_CALL)] = table[ord("N")], True
        return table, valid


DEFAULT_POLICY = EncodingPolicy()
