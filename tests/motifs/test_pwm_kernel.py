"""The compiled PWM kernel (seqfcn.motifs._pwmscan / CScorer) against brute force, the table and conv kernels."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import seqfcn.motifs.pwm as pwm
from seqfcn.errors import SeqfcnError
from seqfcn.io.motifs import Motif
from seqfcn.motifs.pwm import ConvScorer, CScorer, PWMSet, TableScorer, compile_pwms, make_scorer
from seqfcn.motifs.scan import scan_pwm

_pwmscan = pytest.importorskip("seqfcn.motifs._pwmscan")

WIDTHS = (1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 16, 23, 31, 36)


def _motifs(seed: int, widths: tuple[int, ...] = WIDTHS) -> list[Motif]:
    rng = np.random.default_rng(seed)
    out = []
    for k, w in enumerate(widths):
        pfm = rng.dirichlet(np.full(4, 0.4), size=w).T
        out.append(Motif(name=f"m{k}", id=f"id{k}", pfm=pfm, nsites=int(rng.integers(5, 60))))
    return out


def _codes(seed: int, n: int, n_rate: float = 0.01) -> np.ndarray:
    """``(n,)`` uint8 codes 0-3 with ~``n_rate`` of them 4 (N or another non-ACGT base), and one run of N."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, n).astype(np.uint8)
    bad = rng.random(n) < n_rate
    codes[bad] = 4
    codes[n // 3 : n // 3 + 40] = 4  # a run of N longer than every motif
    return codes


def _brute(pwms: PWMSet, codes: np.ndarray, n_windows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every N-free window inside ``codes`` starting before ``n_windows`` with score >= threshold,
    as ``(starts, filters, int_scores)`` sorted by start then filter."""
    rows = []
    for f, w in enumerate(pwms.widths.tolist()):
        last = min(n_windows, len(codes) - w + 1)
        if last <= 0:
            continue
        win = np.lib.stride_tricks.sliding_window_view(codes, w)[:last].astype(np.int64)  # (last, w)
        clean = (win < 4).all(axis=1)
        score = pwms.int_matrices[f, np.minimum(win, 3), np.arange(w)[None, :]].sum(axis=1)
        s = np.flatnonzero(clean & (score >= pwms.thresholds[f]))
        rows.append(np.stack([s, np.full(len(s), f), score[s]], axis=1))
    allrows = np.concatenate(rows) if rows else np.zeros((0, 3), np.int64)
    order = np.lexsort((allrows[:, 1], allrows[:, 0]))
    allrows = allrows[order]
    return allrows[:, 0], allrows[:, 1], allrows[:, 2]


def _via_candidates(scorer, pwms: PWMSet, codes: np.ndarray, n_windows: int) -> tuple[np.ndarray, ...]:
    """What scan._score_tile keeps from a kernel's candidates, sorted by start then filter."""
    padded = np.full(n_windows + pwms.max_width + 8, 4, dtype=np.uint8)
    padded[: min(len(codes), len(padded))] = codes[: len(padded)]
    starts, filters = scorer.candidates(padded, n_windows)
    ints, _, has_n = pwms.exact_scores(padded, starts, filters)
    ok = (~has_n) & (ints >= pwms.thresholds[filters]) & (starts + pwms.widths[filters] <= len(codes))
    starts, filters, ints = starts[ok], filters[ok], ints[ok]
    order = np.lexsort((filters, starts))
    return starts[order], filters[order], ints[order]


def _assert_same(got: tuple[np.ndarray, ...], want: tuple[np.ndarray, ...]) -> None:
    for g, w in zip(got, want):
        np.testing.assert_array_equal(np.asarray(g, dtype=np.int64), np.asarray(w, dtype=np.int64))


@pytest.mark.parametrize("thresh", [1e-4, 3e-3, 0.05])
def test_c_equals_brute_force_table_and_conv(thresh: float) -> None:
    pwms = compile_pwms(_motifs(1), thresh=thresh)
    codes = _codes(2, 20_000)
    n = len(codes) - 3  # the last windows reach past the sequence: dropped by every kernel
    want = _brute(pwms, codes, n)
    assert len(want[0]) > {1e-4: 20, 3e-3: 500, 0.05: 10_000}[thresh]
    if thresh == 0.05:  # the 3-wide and the 36-wide motif on both strands (1 and 2 wide cannot reach it)
        assert set(np.unique(want[1])) >= {2, len(WIDTHS) - 1, len(WIDTHS) + 2, 2 * len(WIDTHS) - 1}
    for q in (5, 6, 3):  # the default blocks, the large-scan blocks, small ones
        _assert_same(CScorer(pwms, q).hits(codes, n), want)
    _assert_same(_via_candidates(CScorer(pwms), pwms, codes, n), want)
    _assert_same(_via_candidates(TableScorer(pwms), pwms, codes, n), want)
    _assert_same(_via_candidates(ConvScorer(pwms), pwms, codes, n), want)



def test_c_equals_brute_force_over_several_filter_groups() -> None:
    """40 motifs = 80 filters: the kernel runs two groups of 64 filters one after the other."""
    pwms = compile_pwms(_motifs(11, tuple(range(3, 43))), thresh=3e-3)
    assert len(pwms.widths) > 64
    codes = _codes(12, 8_000)
    want = _brute(pwms, codes, len(codes))
    assert len(want[0]) > 1_000 and want[1].max() >= 64
    _assert_same(CScorer(pwms).hits(codes, len(codes)), want)

def test_c_with_asymmetric_background_and_long_tile() -> None:
    bg = [0.35, 0.15, 0.2, 0.3]
    pwms = compile_pwms(_motifs(3, (1, 8, 12, 20, 33)), thresh=1e-3, background=bg)
    assert not np.array_equal(pwms.thresholds[:5], pwms.thresholds[5:])  # strands differ here
    codes = _codes(4, 40_000, n_rate=0.002)  # more than one 8192-window chunk
    want = _brute(pwms, codes, len(codes))
    assert len(want[0]) > 100
    _assert_same(CScorer(pwms).hits(codes, len(codes)), want)


def test_thresholds_at_the_extremes() -> None:
    pwms = compile_pwms(_motifs(5, (1, 5, 6, 14, 31)), thresh=1e-4)
    codes = _codes(6, 3000)
    n = len(codes)
    # above the best score: no window passes
    none = dataclasses.replace(pwms, thresholds=np.array([d.max_score + 1 for d in pwms.distributions]))
    got = CScorer(none).hits(codes, n)
    assert all(len(x) == 0 for x in got) and len(_brute(none, codes, n)[0]) == 0
    # exactly the best score: only perfect sites (the matrix's consensus)
    best = dataclasses.replace(pwms, thresholds=np.array([d.max_score for d in pwms.distributions]))
    _assert_same(CScorer(best).hits(codes, n), _brute(best, codes, n))
    # at the lowest score: every N-free window inside the sequence, with its exact score
    every = dataclasses.replace(pwms, thresholds=np.array([d.min_score for d in pwms.distributions]))
    starts, filters, scores = CScorer(every).hits(codes, n)
    clean_windows = sum(
        int((np.lib.stride_tricks.sliding_window_view(codes, w) < 4).all(axis=1).sum()) for w in every.widths
    )
    assert len(starts) == clean_windows
    _assert_same((starts, filters, scores), _brute(every, codes, n))
    _assert_same(_via_candidates(TableScorer(every), every, codes, n), (starts, filters, scores))
    # a p-value threshold of 1 keeps everything but the lowest score
    one = compile_pwms(_motifs(5, (1, 5, 6, 14, 31)), thresh=1.0)
    _assert_same(CScorer(one).hits(codes, n), _brute(one, codes, n))


def test_known_scores_of_a_one_column_and_a_consensus_motif() -> None:
    pfm1 = np.array([[0.97], [0.01], [0.01], [0.01]])
    pfm2 = np.array([[0.0, 0, 0, 0, 0], [1, 0, 0, 0, 0], [0, 0, 1, 0, 1], [0, 1, 0, 1, 0]])  # CTGTG
    motifs = [Motif(name="A", id="A", pfm=pfm1, nsites=100), Motif(name="c", id="c", pfm=pfm2, nsites=20)]
    pwms = compile_pwms(motifs, thresh=0.3)  # the one-column motif: its best base only
    tops = [d.max_score for d in pwms.distributions]
    pwms = dataclasses.replace(pwms, thresholds=np.array([pwms.thresholds[0], tops[1], pwms.thresholds[2], tops[3]]))
    codes = np.frombuffer(b"\x00\x01\x03\x02\x03\x02\x04\x00\x01\x00", dtype=np.uint8).copy()  # ACTGTGNACA
    starts, filters, scores = CScorer(pwms).hits(codes, len(codes))
    # filter 0 (A, +) hits every A; filter 2 (T, the - strand of A) every T; filter 1 CTGTG at 1
    want = sorted([(0, 0), (7, 0), (9, 0), (2, 2), (4, 2), (1, 1)])
    assert list(zip(starts.tolist(), filters.tolist())) == want
    best = {f: int(pwms.int_matrices[f].max(axis=0)[: pwms.widths[f]].sum()) for f in range(4)}
    assert all(s == best[f] for f, s in zip(filters.tolist(), scores.tolist()))


def test_kernel_rejects_bad_arguments() -> None:
    pwms = compile_pwms(_motifs(7, (4, 12)), thresh=1e-3)
    c = CScorer(pwms)
    args = (c.tables, c.offsets, c.needs, c.first, c.nblocks, c.widths, c.masks)
    with pytest.raises(ValueError, match="too short"):
        _pwmscan.scan_hits(np.zeros(20, np.uint8), 15, c.q, *args)
    with pytest.raises(ValueError, match="q must be"):
        _pwmscan.scan_hits(np.zeros(200, np.uint8), 15, 9, *args)
    with pytest.raises(ValueError, match="sizes disagree"):
        _pwmscan.scan_hits(np.zeros(200, np.uint8), 15, c.q, c.tables[:1], *args[1:])
    with pytest.raises(ValueError, match="masks do not fit"):
        _pwmscan.scan_hits(np.zeros(200, np.uint8), 15, c.q, *args[:-1], c.masks[:-8])
    with pytest.raises(ValueError, match="outside the block arrays"):
        _pwmscan.seed_masks(c.q, c.tables, c.offsets, c.needs, c.first + 100, c.nblocks)
    empty = _pwmscan.scan_hits(np.zeros(200, np.uint8), 0, c.q, *args)
    assert empty == (b"", b"", b"")


def _fasta(path: Path, seed: int, lengths: dict[str, int]) -> None:
    rng = np.random.default_rng(seed)
    with open(path, "w") as fh:
        for name, n in lengths.items():
            s = np.array(list("ACGTRY"))[rng.choice(6, n, p=[0.24, 0.24, 0.24, 0.24, 0.02, 0.02])]
            s[rng.random(n) < 0.01] = "N"
            low = rng.random(n) < 0.3
            s[low] = np.char.lower(s[low])
            fh.write(f">{name}\n" + "".join(s) + "\n")


def test_scan_pwm_c_equals_table_and_conv(tmp_path: Path) -> None:
    _fasta(tmp_path / "g.fa", 8, {"chr2": 7000, "chr1": 2500, "tiny": 3})
    motifs = _motifs(9, (1, 6, 11, 19, 31))
    common = dict(thresh=2e-2, tile_size=1000, background="genome")
    c = scan_pwm(tmp_path / "g.fa", motifs, method="c", threads=2, **common)
    assert len(c) > 300 and c["sequence"].str.contains("[acgt]").any()  # soft-masked bases are scanned
    table = scan_pwm(tmp_path / "g.fa", motifs, method="table", threads=2, **common)
    conv = scan_pwm(tmp_path / "g.fa", motifs, method="conv", threads=1, **common)
    auto = scan_pwm(tmp_path / "g.fa", motifs, threads=1, **dict(common, tile_size=4096))
    for other in (table, conv, auto):
        pd.testing.assert_frame_equal(c, other)
        assert c.attrs["tested"] == other.attrs["tested"]


def test_auto_uses_c_and_numpy_fallback_without_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pwms = compile_pwms(_motifs(10, (6,)), thresh=1e-3)
    assert isinstance(make_scorer(pwms, "auto", "cpu"), CScorer)
    assert isinstance(make_scorer(pwms, "table", "cpu"), TableScorer)
    assert isinstance(make_scorer(pwms, "conv", "cpu"), ConvScorer)
    with pytest.raises(ValueError, match="CPU only"):
        make_scorer(pwms, "c", "cuda")
    _fasta(tmp_path / "g.fa", 11, {"chr1": 3000})
    motifs = _motifs(12, (7, 15))
    with_c = scan_pwm(tmp_path / "g.fa", motifs, thresh=5e-3)
    monkeypatch.setattr(pwm, "_ckernel", None)
    assert isinstance(make_scorer(pwms, "auto", "cpu"), TableScorer)
    with pytest.raises(ValueError, match="not built"):
        make_scorer(pwms, "c", "cpu")
    with pytest.raises(SeqfcnError, match="not built"):
        scan_pwm(tmp_path / "g.fa", motifs, method="c")
    pd.testing.assert_frame_equal(scan_pwm(tmp_path / "g.fa", motifs, thresh=5e-3), with_c)


def test_scores_beyond_int32_are_refused() -> None:
    pwms = compile_pwms(_motifs(13, (8,)), thresh=1e-3)
    CScorer(pwms)
    huge = dataclasses.replace(pwms, int_matrices=pwms.int_matrices * 10**6)  # sums of ~1e9 per window
    with pytest.raises(ValueError, match="too large"):
        CScorer(huge)


@pytest.mark.parametrize("widths", [WIDTHS, (7,), (3, 8, 12), (130,), (5, 140, 260)])
def test_c_exact_scores_are_numpy_s_bit_for_bit(widths: tuple[int, ...]) -> None:
    """Integer and float sums and the non-ACGT flag equal the numpy oracle's, floats to the bit
    (numpy's pairwise summation: widths below 8, up to 128 and above)."""
    pwms = compile_pwms(_motifs(3, widths), thresh=1e-3)
    codes = _codes(4, 5_000, n_rate=0.002)
    rng = np.random.default_rng(5)
    starts = rng.integers(0, len(codes) - pwms.max_width, 20_000)
    filters = rng.integers(0, len(pwms.widths), 20_000)
    got = pwms.exact_scores(codes, starts, filters)
    want = pwms._exact_scores_numpy(codes, starts, filters)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)
    assert want[2].any() and not want[2].all()
    with pytest.raises(ValueError, match="a window outside the codes"):
        pwms.exact_scores(codes, np.array([len(codes) - 1]), np.array([0]))


@pytest.mark.parametrize("background", [None, [0.3, 0.2, 0.2, 0.3], [0.1, 0.4, 0.35, 0.15]])
def test_c_score_distribution_is_numpy_s_bit_for_bit(background) -> None:
    """The exact score DP in C gives the numpy DP's probabilities to the bit (p-values follow)."""
    pwms = compile_pwms(_motifs(6), thresh=1e-3)
    bg = np.ascontiguousarray(pwm.check_background(background), np.float64)
    for k, w in enumerate(pwms.widths.tolist()):
        m = np.ascontiguousarray(pwms.int_matrices[k, :, :w])
        got = pwm.score_distribution(m, background).pmf
        want = pwm._score_pmf_numpy(m, bg)
        assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want), k
        assert abs(want.sum() - 1.0) < 1e-9


def test_large_scans_take_6_base_blocks() -> None:
    pwms = compile_pwms(_motifs(1), thresh=1e-3)
    assert make_scorer(pwms, "c").q == 5 and make_scorer(pwms, "c", bases=pwm.LARGE_SCAN).q == 6
    assert CScorer(pwms, 6).tables.shape[1] == 4**6 and CScorer(pwms, 6).tables.flags.c_contiguous
