"""The compact spectrum index against a brute-force dictionary, and compacted tables
against full ones (what correction reads of them must not change)."""
import numpy as np
import pytest

from seqfcn.correction import spectrum_index as si
from seqfcn.correction.kmers import KmerTable, evidence
from seqfcn.correction.spectrum import add_reads, compiled, count_spectrum, support, walk
from seqfcn.correction.spectrum_passes import count_compact
from seqfcn.errors import SeqfcnError
from seqfcn.training.simulate import to_codes

needs_c = pytest.mark.skipif(not compiled(), reason="compiled k-mer kernels not built")


def _canonical(values: np.ndarray, k: int) -> np.ndarray:
    """Canonical form of ``values`` (2k-bit k-mers, first base in the top bits)."""
    rc = np.zeros_like(values)
    v = values.copy()
    for _ in range(k):
        rc = (rc << np.uint64(2)) | (np.uint64(3) - (v & np.uint64(3)))
        v >>= np.uint64(2)
    return np.minimum(values, rc)


def _spectrum(k: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` distinct canonical k-mers and counts (heavy-tailed, some far above any cap)."""
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 1 << (2 * k), size=3 * n, dtype=np.uint64)
    keys = np.unique(_canonical(raw, k))[:n]
    rng.shuffle(keys)
    counts = np.minimum(rng.zipf(1.6, keys.shape[0]), 1 << 20).astype(np.int64)
    counts[:3] = [1 << 40, 1 << 30, 1 << 24][: counts.shape[0]]  # above every cap: kept as the cap
    return keys, counts


def _codes(values: np.ndarray, k: int) -> np.ndarray:
    """``(n, k)`` uint8 codes of k-mer values."""
    shifts = np.uint64(2) * np.arange(k - 1, -1, -1, dtype=np.uint64)
    return ((values[:, None] >> shifts[None, :]) & np.uint64(3)).astype(np.uint8)


@pytest.mark.parametrize("k,n", [(9, 5000), (15, 20000), (21, 20000), (31, 20000), (21, 0), (5, 7)])
def test_counts_equal_a_dictionary(k, n):
    keys, counts = _spectrum(k, n, seed=k + n)
    index = si.SpectrumIndex(k, keys, counts, min_cap=300)
    truth = dict(zip(keys.tolist(), np.minimum(counts, index.cap).tolist()))
    assert index.cap >= 300 and len(index) == keys.shape[0]
    rng = np.random.default_rng(1)
    absent = _canonical(rng.integers(0, 1 << (2 * k), size=5000, dtype=np.uint64), k)
    queries = np.concatenate([keys, absent])
    want = np.array([truth.get(v, 0) for v in queries.tolist()], np.int64)
    np.testing.assert_array_equal(index.counts(queries), want)
    assert index.nbytes == index.layout.nbytes(keys.shape[0])


@needs_c
@pytest.mark.parametrize("k", [9, 21, 31])
def test_compiled_builder_and_lookups_equal_numpy(k):
    keys, counts = _spectrum(k, 30000, seed=k)
    built = si.SpectrumIndex(k, keys, counts, min_cap=1000)
    numpy_built = object.__new__(si.SpectrumIndex)
    numpy_built.k, numpy_built.layout = k, built.layout
    numpy_built.offsets = np.empty_like(built.offsets)
    numpy_built.entries = np.empty_like(built.entries)
    numpy_built._build(keys, counts, 0)
    np.testing.assert_array_equal(built.offsets, numpy_built.offsets)
    np.testing.assert_array_equal(built.entries, numpy_built.entries)
    # the packed form (key << bits | count), as the counter exports it, builds the same index
    if 2 * k + 22 <= 64:
        held = np.minimum(counts, (1 << 22) - 1)  # the counter's 22-bit count field
        packed = (keys << np.uint64(22)) | held.astype(np.uint64)
        from_packed = si.SpectrumIndex(k, packed, count_bits=22, min_cap=1000)
        np.testing.assert_array_equal(from_packed.entries, si.SpectrumIndex(k, keys, held, min_cap=1000).entries)
    # the C lookups (a read of exactly k bases: each base's smallest covering count is the k-mer's)
    from seqfcn.correction import _kmercount

    queries = np.concatenate([keys[:5000], _canonical(np.arange(5000, dtype=np.uint64) * np.uint64(7919) % np.uint64(1 << (2 * k)), k)])
    out = np.empty((queries.shape[0], k), np.int64)
    _kmercount.cover_min(_codes(queries, k), queries.shape[0], k, k, built.kernel_args(), out)
    np.testing.assert_array_equal(out[:, 0], built.counts(queries))


def test_layout_is_compact_at_human_scale():
    lay = si.layout(21, 23_100_000, min_cap=676)  # a 30 Mbp human region at 25x (scale 25)
    assert lay.width == 4 and lay.cap >= 676
    assert lay.nbytes(23_100_000) / 23_100_000 < 5.0
    big = si.layout(31, 3_000_000_000, min_cap=2000)  # k = 31 on a human genome: 8-byte entries
    assert big.cap >= 2000 and big.nbytes(3_000_000_000) / 3_000_000_000 < 8.5


def test_mix_is_a_bijection():
    for bits in (6, 11, 18):
        values = np.arange(1 << bits, dtype=np.uint64)
        assert np.unique(si.mix(values, bits)).shape[0] == 1 << bits
        assert si.mix(values, bits).max() < 1 << bits


@pytest.fixture(scope="module")
def genome_reads():
    rng = np.random.default_rng(3)
    genome = rng.integers(0, 4, 3000).astype(np.uint8)
    reads = []
    for _ in range(600):
        s = int(rng.integers(0, 3000 - 80))
        r = genome[s:s + 80].copy()
        if rng.random() < 0.3:
            r[rng.integers(0, 80)] = rng.integers(0, 4)
        reads.append(r)
    return reads


def _compact(reads, k, **options):
    return count_compact(lambda counter: add_reads(counter, iter(reads)), k, expected_bases=1 << 20, **options)


@needs_c
def test_compacted_table_reads_the_same(genome_reads):
    full = count_spectrum(iter(genome_reads), 15)
    compacted = _compact(genome_reads, 15)
    whole = count_spectrum(iter(genome_reads), 15).compact()  # the index built from all k-mers at once
    np.testing.assert_array_equal(compacted.index().offsets, whole.index().offsets)
    np.testing.assert_array_equal(compacted.index().entries, whole.index().entries)
    assert compacted.compacted and not full.compacted
    assert len(compacted) == len(full) and compacted.scale == full.scale
    np.testing.assert_array_equal(compacted.count_histogram(50), full.count_histogram(50))
    codes = np.stack(genome_reads[:200])
    lengths = np.full(200, 80)
    np.testing.assert_array_equal(evidence(codes, compacted), evidence(codes, full))
    np.testing.assert_array_equal(support(codes, compacted), support(codes, full))
    for a, b in zip(walk(codes, lengths, compacted, 3), walk(codes, lengths, full, 3)):
        np.testing.assert_array_equal(a, b)
    probe = np.concatenate([full.keys[:100], np.arange(100, dtype=np.uint64)])
    np.testing.assert_array_equal(compacted.lookup(probe), full.lookup(probe))


def test_compact_keeps_an_explicit_cap_and_refuses_to_save(tmp_path):
    reads = [to_codes("ACGTACGGTCAGT" * 40)] * 3
    table = KmerTable.from_codes(reads, 9)
    top = int(table.counts.max())
    table.compact(min_cap=5000)
    assert table.index().cap >= 5000
    assert int(table.count_histogram().nonzero()[0].max()) == top
    with pytest.raises(SeqfcnError, match="compacted"):
        table.save(tmp_path / "t.npz")
    with pytest.raises(SeqfcnError, match="compacted"):
        table.keys


@needs_c
@pytest.mark.parametrize("below", [1, 2])
def test_a_range_fill_refuses_a_k_mer_outside_its_buckets(below):
    """A k-mer of the buckets just below a part's range (the unsigned wrap) is refused, not written."""
    k = 11
    keys = np.arange(1 << (2 * k), dtype=np.uint64)
    index = si.SpectrumIndex.allocate(k, 3000, min_cap=255)
    bucket = si.mix(keys, 2 * k) >> np.uint64(index.layout.rbits)
    per = 1 << (2 * k - index.layout.rbits - 4)
    index.fill_range(np.zeros(0, np.uint64), 22, 0, 4)
    good = keys[(bucket >= per) & (bucket < 2 * per)][:5]
    stray = keys[bucket == per - below][:1]
    with pytest.raises(ValueError, match="outside the buckets"):
        index.fill_range((np.concatenate([good, stray]) << np.uint64(22)) | np.uint64(7), 22, 1, 4)
