from __future__ import annotations

from collections import Counter
from itertools import permutations

import numpy as np
import pytest

from seqfcn.sequence.shuffle import dinucleotide_counts, dinucleotide_shuffle, kmer_shuffle, shuffle_sequences


def _random_dna(n: int, seed: int) -> str:
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), n))


@pytest.mark.parametrize("seed", range(5))
def test_dinucleotide_counts_preserved_exactly(seed):
    seq = _random_dna(500, seed) + "NNacgtN" + _random_dna(80, seed + 100)
    out = dinucleotide_shuffle(seq, seed=seed)
    assert isinstance(out, str) and len(out) == len(seq)
    assert dinucleotide_counts(out) == dinucleotide_counts(seq)
    assert Counter(out) == Counter(seq)
    assert out[0] == seq[0] and out[-1] == seq[-1]
    assert out != seq
    # a long random sequence: most positions change
    assert sum(a != b for a, b in zip(out, seq)) > len(seq) // 2


def test_known_counts():
    assert dinucleotide_counts("ACACG") == {"AC": 2, "CA": 1, "CG": 1}
    assert dinucleotide_counts("A") == {}


def test_seeded_and_bytes():
    seq = _random_dna(300, 7)
    assert dinucleotide_shuffle(seq, seed=3) == dinucleotide_shuffle(seq, seed=3)
    assert dinucleotide_shuffle(seq, seed=3) != dinucleotide_shuffle(seq, seed=4)
    as_bytes = dinucleotide_shuffle(seq.encode(), seed=3)
    assert isinstance(as_bytes, bytes) and as_bytes.decode() == dinucleotide_shuffle(seq, seed=3)


def test_short_and_forced_sequences_unchanged():
    assert dinucleotide_shuffle("", seed=0) == ""
    assert dinucleotide_shuffle("AC", seed=0) == "AC"
    # only one sequence has these pair counts
    assert dinucleotide_shuffle("AAAAACCCC", seed=0) == "AAAAACCCC"
    assert dinucleotide_shuffle("ACGTACGT", seed=1) == "ACGTACGT"


def test_uniform_over_all_sequences_with_the_same_pair_counts():
    seq = "AACAGATCAG"
    target = dinucleotide_counts(seq)
    space = {"".join(p) for p in permutations(seq)}
    valid = sorted(s for s in space if dinucleotide_counts(s) == target)
    assert len(valid) > 5
    rng = np.random.default_rng(0)
    n = 400 * len(valid)
    seen = Counter(dinucleotide_shuffle(seq, rng) for _ in range(n))
    assert set(seen) == set(valid)
    expected = n / len(valid)
    chi2 = sum((seen[s] - expected) ** 2 / expected for s in valid)
    # chi-square with len(valid) - 1 degrees of freedom: mean df, sd sqrt(2 df)
    df = len(valid) - 1
    assert chi2 < df + 5 * (2 * df) ** 0.5


def test_shuffle_sequences_grouped_and_deterministic():
    seqs = [_random_dna(100, i) for i in range(3)]
    out = shuffle_sequences(seqs, seed=5, n_shuffles=2)
    assert len(out) == 6
    for i, s in enumerate(seqs):
        for k in range(2):
            assert dinucleotide_counts(out[2 * i + k]) == dinucleotide_counts(s)
            assert out[2 * i + k] == dinucleotide_shuffle(s, np.random.default_rng([5, i, k]))
    assert out[0] != out[1]
    assert shuffle_sequences(seqs, seed=5, n_shuffles=2) == out


def _words(seq: str, k: int) -> Counter:
    return Counter(seq[i : i + k] for i in range(len(seq) - k + 1))


@pytest.mark.parametrize("k", [3, 4, 6])
def test_kmer_shuffle_keeps_every_word_count_up_to_k(k):
    seq = _random_dna(700, k) + "NNacgtN" + _random_dna(90, k + 100)
    out = kmer_shuffle(seq, k, seed=k)
    assert isinstance(out, str) and len(out) == len(seq) and out != seq
    for j in range(1, k + 1):
        assert _words(out, j) == _words(seq, j)
    assert out[: k - 1] == seq[: k - 1] and out[-(k - 1) :] == seq[-(k - 1) :]
    assert isinstance(kmer_shuffle(seq.encode(), k, seed=k), bytes)
    # dinucleotides are the k = 2 case, draw for draw
    assert kmer_shuffle(seq, 2, seed=9) == dinucleotide_shuffle(seq, seed=9)
    for bad in (1, 2.5):
        with pytest.raises(ValueError):
            kmer_shuffle(seq, bad)


def test_kmer_shuffle_uniform_over_all_sequences_with_the_same_trinucleotide_counts():
    """Every sequence over the alphabet (brute force) with the same 3-mer counts and the same
    first and last 2 letters comes out, equally often."""
    from itertools import product

    seq = "AAACAAGAA"
    target = _words(seq, 3)
    valid = sorted(s for s in ("".join(t) for t in product("ACG", repeat=len(seq)))
                   if _words(s, 3) == target and s[:2] == seq[:2] and s[-2:] == seq[-2:])
    assert len(valid) == 6
    rng = np.random.default_rng(1)
    n = 400 * len(valid)
    seen = Counter(kmer_shuffle(seq, 3, rng) for _ in range(n))
    assert set(seen) == set(valid)
    expected = n / len(valid)
    chi2 = sum((seen[s] - expected) ** 2 / expected for s in valid)
    df = len(valid) - 1
    assert chi2 < df + 5 * (2 * df) ** 0.5
