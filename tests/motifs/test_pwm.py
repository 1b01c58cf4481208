"""Log-odds, exact score distributions (vs brute force), thresholds, BH q-values, kernels."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from seqfcn.io.motifs import Motif
from seqfcn.motifs.pwm import ConvScorer, TableScorer, bh_qvalues, compile_pwms, scale_matrix, score_distribution
from seqfcn.sequence.pwm import background_from_counts, log_odds, reverse_complement_matrix


def _random_motif(rng: np.random.Generator, width: int, name: str) -> Motif:
    pfm = rng.dirichlet(np.full(4, 0.5), size=width).T
    return Motif(name=name, id=name, pfm=pfm, nsites=int(rng.integers(5, 60)))


def test_log_odds_matches_fimo_pseudocount_formula() -> None:
    pfm = np.array([[1.0, 0.25], [0.0, 0.25], [0.0, 0.25], [0.0, 0.25]])
    lo = log_odds(pfm, nsites=20, pseudocount=0.1)
    top = np.log2((20 + 0.1 * 0.25) / 20.1 / 0.25)
    low = np.log2((0.1 * 0.25) / 20.1 / 0.25)
    np.testing.assert_allclose(lo[:, 0], [top, low, low, low], rtol=1e-12)
    np.testing.assert_allclose(lo[:, 1], 0.0, atol=1e-12)
    bg = np.array([0.3, 0.2, 0.2, 0.3])
    lo_bg = log_odds(pfm, background=bg, nsites=10, pseudocount=1.0)
    np.testing.assert_allclose(lo_bg[0, 0], np.log2((10 + 0.3) / 11 / 0.3), rtol=1e-12)
    assert np.isneginf(log_odds(pfm, pseudocount=0.0)[1, 0])
    with pytest.raises(ValueError):
        log_odds(np.ones((3, 2)))


def test_reverse_complement_matrix_and_background() -> None:
    m = np.arange(8).reshape(4, 2)
    np.testing.assert_array_equal(reverse_complement_matrix(m), [[7, 6], [5, 4], [3, 2], [1, 0]])
    np.testing.assert_allclose(background_from_counts([10, 0, 0, 30]), [21 / 44, 1 / 44, 1 / 44, 21 / 44])


@pytest.mark.parametrize("width, bg", [(4, None), (6, [0.3, 0.2, 0.15, 0.35]), (7, [0.1, 0.4, 0.4, 0.1])])
def test_pvalues_equal_brute_force_enumeration(width: int, bg) -> None:
    rng = np.random.default_rng(width)
    motif = _random_motif(rng, width, "m")
    ints = scale_matrix(log_odds(motif.pfm, bg, nsites=motif.nsites))
    dist = score_distribution(ints, bg)
    bgv = np.full(4, 0.25) if bg is None else np.asarray(bg)
    # every k-mer: its integer score and its probability under the background
    kmers = np.array(list(itertools.product(range(4), repeat=width)))
    scores = ints[kmers, np.arange(width)].sum(axis=1)
    probs = bgv[kmers].prod(axis=1)
    order = np.argsort(-scores, kind="stable")
    s_sorted, p_sorted = scores[order], np.cumsum(probs[order])
    # P(S >= s) for every distinct reachable score
    uniq = np.unique(s_sorted)
    last = np.searchsorted(-s_sorted, -uniq, side="right") - 1
    brute = p_sorted[last]
    np.testing.assert_allclose(dist.pvalue(uniq), brute, rtol=1e-9, atol=0)
    assert dist.min_score == scores.min() and dist.max_score == scores.max()
    np.testing.assert_allclose(dist.pmf.sum(), 1.0, rtol=1e-12)
    for p in (1e-2, 1e-3, 10.0 ** -width):
        t = dist.threshold(p)
        assert dist.pvalue(t) < p <= dist.pvalue(t - 1)


def test_bh_qvalues_known_values() -> None:
    q = bh_qvalues(np.array([0.01, 0.04, 0.03, 0.2]))
    np.testing.assert_allclose(q, [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.2])
    q2 = bh_qvalues(np.array([0.01, 0.04]), n_tests=100)
    np.testing.assert_allclose(q2, [1.0, 1.0])
    q3 = bh_qvalues(np.array([1e-4, 2e-4]), n_tests=10)
    np.testing.assert_allclose(q3, [1e-3, 1e-3])
    with pytest.raises(ValueError):
        bh_qvalues(np.array([0.1, 0.2]), n_tests=1)


def test_compile_thresholds_and_strands() -> None:
    rng = np.random.default_rng(1)
    motifs = [_random_motif(rng, w, f"m{w}") for w in (5, 9, 12)]
    pw = compile_pwms(motifs, thresh=1e-3)
    assert pw.int_matrices.shape == (6, 4, 12)
    np.testing.assert_array_equal(pw.widths, [5, 9, 12, 5, 9, 12])
    np.testing.assert_array_equal(pw.int_matrices[4, :, :9], reverse_complement_matrix(pw.int_matrices[1, :, :9]))
    for k in range(6):
        d = pw.distributions[k]
        assert d.pvalue(pw.thresholds[k]) < 1e-3 <= d.pvalue(pw.thresholds[k] - 1)
    # a 4-wide motif can never reach p < 1e-4 (4**-4 = 0.0039): threshold above the maximum
    short = compile_pwms([_random_motif(rng, 4, "s")], thresh=1e-4)
    assert short.thresholds[0] > short.distributions[0].max_score


def test_conv_and_table_kernels_agree_exactly() -> None:
    rng = np.random.default_rng(2)
    motifs = [_random_motif(rng, w, f"m{w}") for w in (3, 6, 8, 11, 17)]
    pw = compile_pwms(motifs, thresh=5e-3)
    n = 3000
    bases = rng.integers(0, 4, n + pw.max_width + 8).astype(np.uint8)
    bases[[100, 101, 2500]] = 4  # N
    found = []
    for scorer in (ConvScorer(pw, "cpu"), TableScorer(pw)):
        starts, filters = scorer.candidates(bases, n)
        ints, _, has_n = pw.exact_scores(bases, starts, filters)
        keep = (~has_n) & (ints >= pw.thresholds[filters])
        found.append(sorted(zip(starts[keep].tolist(), filters[keep].tolist())))
    assert found[0] == found[1] and len(found[0]) > 50
    # brute force over every window and filter
    expected = []
    for f in range(len(pw.widths)):
        w = pw.widths[f]
        for s in range(n):
            win = bases[s : s + w]
            if (win > 3).any():
                continue
            if pw.int_matrices[f, win, np.arange(w)].sum() >= pw.thresholds[f]:
                expected.append((s, f))
    assert found[0] == sorted(expected)
