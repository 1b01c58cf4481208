from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from seqfcn.sequence import markov
from seqfcn.sequence.encode import to_codes
from seqfcn.sequence.markov import MarkovModel, compressor_bits_per_base

_RC = str.maketrans("ACGTN", "TGCAN")


def _random_dna(n: int, seed: int) -> str:
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), n))


def _kmer_index(kmer: str) -> int:
    return int(kmer.translate(str.maketrans("ACGT", "0123")), 4)


class _Oracle:
    """Witten-Bell interpolation from dict counts, written out the slow way."""

    def __init__(self, seqs: list[str], order: int):
        self.order = order
        self.counts: Counter = Counter()  # (context, base) -> count
        for s in seqs:
            for strand in (s, s.translate(_RC)[::-1]):
                for j in range(order + 1):
                    for i in range(j, len(strand)):
                        word = strand[i - j:i + 1]
                        if "N" not in word:
                            self.counts[word[:-1], word[-1]] += 1

    def p(self, ctx: str | None, base: str) -> float:
        if ctx is None:
            return 0.25
        parent = self.p(ctx[1:] if ctx else None, base)
        seen = [self.counts[ctx, b] for b in "ACGT"]
        n, u = sum(seen), sum(c > 0 for c in seen)
        return parent if n == 0 else (self.counts[ctx, base] + u * parent) / (n + u)

    def log2_probs(self, s: str, order: int) -> np.ndarray:
        out = []
        for i, base in enumerate(s):
            ctx = s[max(0, i - order):i].rsplit("N", 1)[-1]
            out.append(math.nan if base == "N" else math.log2(self.p(ctx, base)))
        return np.array(out)


@pytest.fixture(scope="module")
def small() -> tuple[list[str], str]:
    a, b = _random_dna(300, 1), _random_dna(200, 2)
    train = [a[:120] + "N" + a[121:250] + "NN" + a[252:], b]
    test = _random_dna(150, 3)
    test = test[:40] + "N" + test[41:100] + "N" + test[101:]
    return train, test


@pytest.mark.parametrize("order", [0, 1, 2, 3])
def test_matches_brute_force_oracle(small, order):
    train, test = small
    model = MarkovModel.fit([to_codes(s) for s in train], order=3)
    oracle = _Oracle(train, order)
    for seq in (test, train[0]):
        got, want = model.log2_probs(to_codes(seq), order=order), oracle.log2_probs(seq, order)
        assert np.array_equal(np.isnan(got), np.isnan(want))
        assert np.allclose(got, want, rtol=1e-12, atol=1e-12, equal_nan=True)
    # a model fitted at exactly this order gives the same numbers
    direct = MarkovModel.fit([to_codes(s) for s in train], order=order)
    assert np.allclose(direct.log2_probs(to_codes(test)), oracle.log2_probs(test, order), atol=1e-12, equal_nan=True)


def test_windows_and_sorted_counting_give_the_same_numbers(small, monkeypatch):
    """Tiny windows (7 positions, 3 of them left context) and the sort-based count path change nothing."""
    train, test = small
    codes = [to_codes(s) for s in train]
    model = MarkovModel.fit(codes, order=3)
    want = [model.log2_probs(to_codes(test), order=j) for j in range(4)]
    monkeypatch.setattr(markov, "_CHUNK", 7)
    monkeypatch.setattr(markov, "_BINCOUNT_MAX", 4)
    other = MarkovModel.fit(codes, order=3)
    assert all(np.array_equal(a, b) for a, b in zip(model.counts, other.counts))
    for j in range(4):
        assert np.allclose(other.log2_probs(to_codes(test), order=j), want[j], atol=1e-12, equal_nan=True)
        assert np.allclose(other.log2_probs(to_codes(test), order=j), _Oracle(train, j).log2_probs(test, j),
                           atol=1e-12, equal_nan=True)

def test_distributions_sum_to_one_at_every_order(small):
    train, test = small
    model = MarkovModel.fit([to_codes(s) for s in train], order=5)
    rng = np.random.default_rng(0)
    for j in range(6):
        table = model.probability_table(j)
        assert table.shape == (4 ** j, 4)
        assert np.allclose(table.sum(axis=1), 1.0, atol=1e-12) and (table > 0).all()
        probs = model.probabilities(rng.integers(0, 4, 300).astype(np.int8), order=j)
        assert probs.shape == (300, 4) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-12)
        # the distribution at each position holds the probability of the base that is there
        codes = to_codes(test)
        lp, full = model.log2_probs(codes, order=j), model.probabilities(codes, order=j)
        ok = codes < 4
        assert np.allclose(lp[ok], np.log2(full[ok, codes[ok]]), atol=1e-12)


def test_order_zero_is_the_base_frequencies_of_both_strands():
    seq = "AACAGATTTAGGAC"
    model = MarkovModel.fit([seq], order=0)
    both = Counter(seq + seq.translate(_RC))
    assert model.counts[0].tolist() == [both[b] for b in "ACGT"]
    n = len(seq) * 2  # all four bases seen: u = 4, so p(b) = (n(b) + 1) / (n + 4)
    assert np.allclose(model.probability_table(0)[0], [(both[b] + 1) / (n + 4) for b in "ACGT"], atol=1e-15)
    # only A (and T on the other strand): u = 2
    assert np.allclose(MarkovModel.fit(["AAAA"], 0).probability_table(0)[0], [0.45, 0.05, 0.05, 0.45], atol=1e-15)


def test_random_sequence_costs_two_bits():
    codes = to_codes(_random_dna(200_000, 7))
    model = MarkovModel.fit([codes[:100_000]], order=2)
    assert abs(model.bits_per_base(codes[100_000:]) - 2.0) < 0.02
    assert abs(model.bits_per_base(codes[100_000:], order=0) - 2.0) < 0.005


def test_repeats_cost_almost_nothing_at_high_order():
    unit = _random_dna(37, 11)
    model = MarkovModel.fit([to_codes(unit * 300)], 10)
    test = to_codes(unit * 50)
    bits = {k: model.bits_per_base(test, order=k) for k in (0, 2, 8, 10)}
    assert all(np.isfinite(model.log2_probs(test, order=k)).sum() == 37 * 50 for k in bits)
    assert bits[0] > 1.5
    assert bits[8] < 0.1 and bits[10] < 0.1


def test_n_handling():
    model = MarkovModel.fit(["ACGTNACG"], order=2)
    # forward ACG CGT ACG, reverse strand (CGTNACGT) CGT ACG CGT
    assert model.counts[2][_kmer_index("ACG")] == 3 and model.counts[2][_kmer_index("CGT")] == 3
    assert model.counts[2].sum() == 6
    assert model.counts[1][[_kmer_index(w) for w in ("AC", "CG", "GT")]].tolist() == [3, 4, 3]
    assert model.counts[1].sum() == 10 and model.counts[0].sum() == 14
    # N positions are NaN; the context restarts after an N (and at the start)
    lp = model.log2_probs(to_codes("CGNGTACNNA"))
    assert np.isnan(lp[[2, 7, 8]]).all() and not np.isnan(lp[[0, 1, 3, 4, 5, 6, 9]]).any()
    t0, t1, t2 = (model.probability_table(j) for j in range(3))
    assert lp[0] == pytest.approx(np.log2(t0[0, 1]))              # C, no context
    assert lp[1] == pytest.approx(np.log2(t1[1, 2]))              # G after C
    assert lp[3] == pytest.approx(np.log2(t0[0, 2]))              # G right after N
    assert lp[4] == pytest.approx(np.log2(t1[2, 3]))              # T after G
    assert lp[5] == pytest.approx(np.log2(t2[_kmer_index("GT"), 0]))  # A after GT
    assert lp[9] == pytest.approx(np.log2(t0[0, 0]))              # A after NN
    assert math.isnan(model.bits_per_base(to_codes("NNN")))


def test_highest_order_and_bad_orders():
    codes = to_codes(_random_dna(3000, 5))
    model = MarkovModel.fit([codes], order=12)
    assert [len(c) for c in model.counts] == [4 ** (j + 1) for j in range(13)]
    assert all(int(c.sum()) == 2 * (3000 - j) for j, c in enumerate(model.counts))
    probs = model.probabilities(codes[:500])
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert model.bits_per_base(codes) < 0.1  # every 12-mer context of a 3 kbp random sequence is unique
    with pytest.raises(ValueError):
        MarkovModel.fit([codes], order=13)
    with pytest.raises(ValueError):
        model.log2_probs(codes, order=-1)
    with pytest.raises(ValueError):
        MarkovModel.fit([codes], order=2).log2_probs(codes, order=3)


def test_compressor_baseline():
    repeat = compressor_bits_per_base([to_codes(_random_dna(37, 11) * 1000)])
    assert repeat["compressor"] == "xz -9e" and repeat["bases"] == 37_000
    assert repeat["bits_per_base"] < 0.2
    rand = compressor_bits_per_base([_random_dna(100_000, 4), "NNNN" + _random_dna(100_000, 5)])
    assert rand["bases"] == 200_000
    assert 1.9 < rand["bits_per_base"] < 2.3
