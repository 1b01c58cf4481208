from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seqfcn.resources import MOTIFS
from seqfcn.io.motifs import Motif, read_motifs
from seqfcn.sequence.compare import (
    align,
    compare_filters,
    filter_to_pwm,
    information_content,
    rank_matches,
    rank_of,
    similarity,
    trim_pwm,
)
from seqfcn.sequence.pwm import reverse_complement_matrix

DATA = Path(__file__).resolve().parents[2] / "data"
JASPAR = MOTIFS["jaspar2024"].path


def _random_pfm(w: int, seed: int) -> np.ndarray:
    p = np.random.default_rng(seed).dirichlet(np.full(4, 0.5), size=w).T
    return p


def test_identity_reverse_complement_and_shift():
    m = _random_pfm(10, 0)
    a = align(m, m)
    assert a.similarity == pytest.approx(1.0) and (a.offset, a.strand, a.overlap) == (0, "+", 10)
    a = align(m, reverse_complement_matrix(m))
    assert a.similarity == pytest.approx(1.0) and (a.offset, a.strand, a.overlap) == (0, "-", 10)
    # query = target columns 3..8: query column i faces target column i + 3
    a = align(m[:, 3:9], m)
    assert a.similarity == pytest.approx(1.0) and (a.offset, a.strand, a.overlap) == (3, "+", 6)
    assert similarity(m, m[:, 3:9]) == pytest.approx(1.0)
    assert align(m, reverse_complement_matrix(m), both_strands=False).similarity < 1.0


def test_hand_computed_column_pcc():
    q = np.array([[0.7, 0.1], [0.1, 0.1], [0.1, 0.1], [0.1, 0.7]])  # A, then T
    t = np.array([[0.7, 0.1], [0.1, 0.7], [0.1, 0.1], [0.1, 0.1]])  # A, then C
    # column 1: PCC(A-col, A-col) = 1; column 2: PCC((.1,.1,.1,.7), (.1,.7,.1,.1)) = -1/3
    a = align(q, t, min_overlap=2, both_strands=False)
    assert a.similarity == pytest.approx((1.0 - 1.0 / 3.0) / 2.0)
    assert (a.offset, a.overlap) == (0, 2)
    # q2 = (T, A) against t = (A, C): offset -1 puts q2's A column on t's A column
    q2 = q[:, ::-1]
    a1 = align(q2, t, min_overlap=1, both_strands=False)
    assert a1.similarity == pytest.approx(1.0) and (a1.offset, a1.overlap) == (-1, 1)
    a2 = align(q2, t, min_overlap=2, both_strands=False)
    assert a2.similarity == pytest.approx(-1.0 / 3.0) and (a2.offset, a2.overlap) == (0, 2)


def test_uniform_columns_correlate_zero():
    q = np.full((4, 3), 0.25)
    assert align(q, _random_pfm(6, 1), min_overlap=3).similarity == 0.0


def test_filter_to_pwm():
    w = np.array([[np.log(2.0), 0.0], [0.0, -1.0], [0.0, 0.5], [0.0, 0.2]])
    p = filter_to_pwm(w)
    np.testing.assert_allclose(p[:, 0], [0.4, 0.2, 0.2, 0.2])
    np.testing.assert_allclose(p.sum(axis=0), 1.0)
    pos = filter_to_pwm(w, "positive")
    np.testing.assert_allclose(pos[:, 0], [1.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(pos[:, 1], [0.0, 0.0, 0.5 / 0.7, 0.2 / 0.7])
    np.testing.assert_allclose(filter_to_pwm(np.full((4, 1), -1.0), "positive")[:, 0], 0.25)
    with pytest.raises(ValueError):
        filter_to_pwm(w, "nope")


def test_information_content_and_trim():
    m = np.column_stack([np.full(4, 0.25), [1.0, 0, 0, 0], [0.5, 0.5, 0, 0], np.full(4, 0.25)])
    np.testing.assert_allclose(information_content(m), [0.0, 2.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(trim_pwm(m), m[:, 1:3])
    assert trim_pwm(np.full((4, 5), 0.25)).shape == (4, 1)


def test_rank_matches_agrees_with_align_and_finds_the_planted_motif():
    motifs = [Motif(f"m{i}", f"ID{i}", _random_pfm(6 + i % 9, 10 + i)) for i in range(40)]
    planted = motifs[17].pfm
    query = reverse_complement_matrix(planted)[:, 1:-1]
    table = rank_matches(query, motifs)
    assert table.loc[0, "id"] == "ID17" and table.loc[0, "similarity"] == pytest.approx(1.0)
    assert table.loc[0, "strand"] == "-"
    assert list(table["rank"]) == list(range(1, 41))
    assert rank_of(table, "ID17") == 1 and rank_of(table, "M17") == 1 and rank_of(table, "none") is None
    assert table["similarity"].is_monotonic_decreasing
    for row in table.itertuples():
        a = align(query, motifs[int(row.id[2:])])
        assert row.similarity == pytest.approx(a.similarity, abs=1e-12)
        assert (row.offset, row.strand, row.overlap) == (a.offset, a.strand, a.overlap)
    assert len(rank_matches(query, motifs, top=3)) == 3


def test_compare_filters_on_jaspar():
    motifs = read_motifs(JASPAR)
    oct_sox = next(m for m in motifs if m.id == "MA0142.1")
    # a filter holding the natural log-odds of MA0142.1 plus two flat columns at each end
    lo = np.log(oct_sox.pfm * 0.97 + 0.03 / 4) - np.log(0.25)
    weight = np.concatenate([np.zeros((4, 2)), lo, np.zeros((4, 2))], axis=1)
    noise = np.random.default_rng(0).normal(0, 0.05, size=(2, 4, weight.shape[1]))
    table = compare_filters(np.stack([weight, noise[0]]), motifs)
    top = table[table["filter"] == 0].iloc[0]
    assert top["id"] == "MA0142.1" and top["width"] == 15 and top["overlap"] == 15
    assert top["similarity"] > 0.99
    with pytest.raises(ValueError):
        compare_filters(weight, motifs)
