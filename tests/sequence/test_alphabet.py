"""Alphabet tables and the encoding policy."""
from __future__ import annotations

import numpy as np
import pytest

from seqfcn.sequence.alphabet import BASES, COMPLEMENT_TABLE, IUPAC_CODES, EncodingPolicy


def test_channel_order_and_complement():
    assert BASES == "ACGT"
    assert b"ACGTRYKMBDHVNacgtn".translate(COMPLEMENT_TABLE) == b"TGCAYRMKVHDBNtgcan"
    # complement of every IUPAC code stands for the complemented base set
    comp = {"A": "T", "C": "G", "G": "C", "T": "A"}
    for code, bases in IUPAC_CODES.items():
        if code == "U":
            continue
        other = chr(COMPLEMENT_TABLE[ord(code)])
        assert set(IUPAC_CODES[other]) == {comp[b] for b in bases}


def test_policy_tables():
    table, valid = EncodingPolicy().weights(integer=False)
    assert table.shape == (256, 4) and valid.sum() == 2 * len(IUPAC_CODES) + 1  # + "." (no-call, as N)
    np.testing.assert_array_equal(table[ord(".")], [0, 0, 0, 0])
    np.testing.assert_allclose(table[ord("B")], [0, 1 / 3, 1 / 3, 1 / 3])
    np.testing.assert_array_equal(table[ord("n")], [0, 0, 0, 0])
    assert not valid[ord("X")] and not valid[ord("-")]
    strict, strict_valid = EncodingPolicy(iupac="error", rna=False).weights(integer=True)
    assert not strict_valid[ord("R")] and not strict_valid[ord("u")] and strict_valid[ord("N")]
    assert EncodingPolicy(soft_mask_channel=True).channels == 5


def test_policy_validation():
    with pytest.raises(ValueError, match="n policy"):
        EncodingPolicy(n="half")
    with pytest.raises(ValueError, match="iupac policy"):
        EncodingPolicy(iupac="maybe")
