"""The quotiented counting table of seqfcn.correction.spectrum (8-bit counts beside the
k-mer's remainder, an exact overflow for counts of 255 and more) against numpy oracles."""
from __future__ import annotations

import numpy as np
import pytest

from seqfcn.correction import spectrum
from seqfcn.correction.spectrum import SpectrumCounter, compiled, slot_bytes

pytestmark = pytest.mark.skipif(not compiled(), reason="the compiled counter is not built")


def _oracle(codes: np.ndarray, offsets: np.ndarray, k: int) -> dict[int, int]:
    """Canonical k-mer counts of the reads ``codes[offsets[i]:offsets[i + 1]]``, in numpy."""
    keys = []
    for a, b in zip(offsets[:-1], offsets[1:]):
        r = codes[a:b].astype(np.uint64)
        if r.shape[0] < k:
            continue
        win = np.lib.stride_tricks.sliding_window_view(r, k)
        ok = (win < 4).all(1)
        powers = np.uint64(4) ** np.arange(k - 1, -1, -1, dtype=np.uint64)
        fwd = (np.where(win < 4, win, 0) * powers).sum(1, dtype=np.uint64)
        rc = (np.where(win < 4, 3 - win, 0)[:, ::-1] * powers).sum(1, dtype=np.uint64)
        keys.append(np.minimum(fwd, rc)[ok])
    u, c = np.unique(np.concatenate(keys), return_counts=True)
    return dict(zip(u.tolist(), c.tolist()))


def _reads(seed: int, n: int, length: int, copies: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random reads (some with an N), then one read repeated ``copies`` times (counts
    above 255) and a short random genome sampled 40 times (counts of a few tens)."""
    rng = np.random.default_rng(seed)
    reads = [rng.integers(0, 4, length).astype(np.uint8) for _ in range(n)]
    for r in reads[::7]:
        r[rng.integers(0, length)] = 4
    reads += [np.tile(rng.integers(0, 4, 60).astype(np.uint8), 1)] * copies
    genome = rng.integers(0, 4, 2000).astype(np.uint8)
    for s in rng.integers(0, 2000 - length, 40):
        reads.append(genome[s:s + length].copy())
    codes = np.concatenate(reads)
    offsets = np.r_[0, np.cumsum([r.shape[0] for r in reads])].astype(np.int64)
    return codes, offsets


@pytest.mark.parametrize("k", [5, 11, 21, 31])
def test_exact_counts_above_255_and_every_k(k: int) -> None:
    """Counts of 255 and more (the overflow), tiny k (no remainder bits: every k-mer has its
    own slot) and k > 21 (keys and counts read back apart) equal the oracle's."""
    codes, offsets = _reads(k, 3000, 100, 700, k)
    counter = SpectrumCounter(k, bloom=False)
    counter.add(codes, offsets)
    table = counter.table()
    got = dict(zip(table.keys.tolist(), table.counts.tolist()))
    want = _oracle(codes, offsets, k)
    assert got == want
    assert max(want.values()) >= 700  # the repeated read's k-mers went through the overflow


def test_long_probe_runs_go_to_the_overflow_and_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """With sub-tables filled to the last slot, many k-mers' runs pass the largest
    displacement: they are counted in the overflow (also when seen again, and across the
    sub-tables' growth), and every count still equals the oracle's."""
    monkeypatch.setattr(spectrum, "_MAX_LOAD", 0.9999)
    rng = np.random.default_rng(5)
    base = rng.integers(0, 4, 255_000).astype(np.uint8)  # ~3,980 k-mers for each 4,096-slot sub-table
    more = rng.integers(0, 4, 20_000).astype(np.uint8)  # then some sub-tables grow
    codes = np.concatenate([base, base[:150_000], base[50_000:100_000], more, base])
    offsets = np.r_[np.arange(0, codes.size, 1000), codes.size].astype(np.int64)  # 1,000-base reads
    counter = SpectrumCounter(21, bloom=False)
    counter.add(codes, offsets)
    assert sum(int(p.used[-1]) for p in counter.parts) > 0  # some k-mers live only in the overflow
    table = counter.table()
    assert dict(zip(table.keys.tolist(), table.counts.tolist())) == _oracle(codes, offsets, 21)


def test_bloom_counts_equal_the_previous_layout() -> None:
    """With the filter, a kept k-mer's count is its count less one (or its full count after
    a false positive): the same rule as the uint64/uint32 table it replaced, so counts of
    the repeated k-mers are the oracle's exactly, also above 255."""
    codes, offsets = _reads(7, 2000, 100, 400, 21)
    table = spectrum.count_spectrum((codes[a:b] for a, b in zip(offsets[:-1], offsets[1:])), 21)
    got = dict(zip(table.keys.tolist(), table.counts.tolist()))
    want = _oracle(codes, offsets, 21)
    assert {key: got.get(key) for key, c in want.items() if c >= 2} == {key: c for key, c in want.items() if c >= 2}


def test_slot_bytes_and_table_bytes_per_kmer() -> None:
    """k = 21 slots are 4 bytes from 2**20 slots per sub-table (a 60 Mbp genome's spectrum)
    to 2**27 (past a human one's), 5 bytes below; the counting tables take slot_bytes / 0.8
    bytes per distinct k-mer just before a sub-table doubles and twice that just after."""
    assert [slot_bytes(21, q) for q in range(20, 28)] == [4] * 8
    assert slot_bytes(21, 16) == 5 and slot_bytes(21, 28) == 3 and slot_bytes(31, 20) == 7
    counter = SpectrumCounter(21, bloom=False)
    codes = np.random.default_rng(3).integers(0, 4, 3_000_000).astype(np.uint8)
    counter.add(codes, np.arange(0, codes.size + 1, 150, dtype=np.int64))  # 150-base reads
    width = slot_bytes(21, int(counter.parts[0].caps[0, 0]))
    assert width / 0.8 <= counter.nbytes / counter.used <= width / 0.4 + 0.5
