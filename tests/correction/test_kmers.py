"""K-mer tables and evidence channels against naive string computations."""
from collections import Counter

import numpy as np
import pytest

from seqfcn.training.simulate import to_codes
from seqfcn.errors import ModelFileError, SeqfcnError
from seqfcn.correction.kmers import KmerTable, evidence, n_channels, placements, table_for_genome

_COMP = str.maketrans("ACGT", "TGCA")


def _canon(s: str) -> str:
    return min(s, s[::-1].translate(_COMP))


def _pack(s: str) -> int:
    v = 0
    for c in s:
        v = 4 * v + "ACGT".index(c)
    return v


@pytest.fixture(scope="module")
def reads():
    rng = np.random.default_rng(0)
    genome = "".join(rng.choice(list("ACGT"), 300))
    return [genome[i : i + 40] for i in range(0, 260, 9)] + ["ACGTNACGTACCGTAGG"]


def test_counts_equal_naive_canonical_counts(reads):
    k = 7
    table = KmerTable.from_codes([to_codes(r) for r in reads], k)
    naive = Counter(_canon(r[i : i + k]) for r in reads for i in range(len(r) - k + 1) if "N" not in r[i : i + k])
    assert len(table) == len(naive)
    got = table.lookup(np.array([_pack(s) for s in naive], np.uint64))
    assert got.tolist() == list(naive.values())
    assert table.lookup(np.array([_pack("A" * 7)], np.uint64))[0] == naive.get("AAAAAAA", 0)


def test_chunked_counting_merges_exactly(reads):
    codes = [to_codes(r) for r in reads]
    one = KmerTable.from_codes(codes, 9)
    many = KmerTable.from_codes(codes, 9, chunk_bases=50)
    assert np.array_equal(one.keys, many.keys) and np.array_equal(one.counts, many.counts)


def _value(table: KmerTable, counts: Counter, s: str) -> float:
    if "N" in s:
        return -1.0
    return float(table.value(np.array([counts.get(_canon(s), 0)]))[0])


@pytest.mark.parametrize("k", [5, 7])
def test_evidence_equals_naive_edits(reads, k):
    table = KmerTable.from_codes([to_codes(r) for r in reads], k)
    counts = Counter(_canon(r[i : i + k]) for r in reads for i in range(len(r) - k + 1))
    read = reads[3][:25].replace(reads[3][10], "N", 1)  # an N inside, edits around it
    ev = evidence(to_codes(read)[None], table, edits="indel")
    assert ev.shape == (1, n_channels("indel"), len(read)) == (1, 27, len(read))
    L = len(read)

    def expect(pieces_start: int, text: str, end: int) -> float:
        return -1.0 if pieces_start < 0 or end > L else _value(table, counts, text)

    ch = 0
    for b in "ACGT":
        for a in placements(k):
            for i in range(L):
                s, e = i - a, i + k - a
                want = expect(s, (read[max(s, 0) : i] + b + read[i + 1 : e]) if s >= 0 else "", e)
                assert ev[0, ch, i] == pytest.approx(want), (b, a, i)
            ch += 1
    for a in (k - 1, k // 2, 1):
        for i in range(L):
            s, e = i - a, i + 1 + k - a
            want = expect(s, (read[max(s, 0) : i] + read[i + 1 : e]) if s >= 0 else "", e)
            assert ev[0, ch, i] == pytest.approx(want), ("del", a, i)
        ch += 1
    for b in "ACGT":
        for a in placements(k):
            for i in range(L):
                s, e = i + 1 - a, i + k - a
                want = expect(s, (read[max(s, 0) : i + 1] + b + read[i + 1 : e]) if s >= 0 else "", e)
                assert ev[0, ch, i] == pytest.approx(want), ("ins", b, a, i)
            ch += 1


def test_evidence_is_strand_symmetric(reads):
    """Canonical k-mers: the substitution evidence of a read's reverse complement is the
    mirror image (positions flipped, bases complemented, placements swapped)."""
    k = 7
    table = KmerTable.from_codes([to_codes(r) for r in reads], k)
    read = reads[5]
    rc = read[::-1].translate(_COMP)
    f = evidence(to_codes(read)[None], table)[0].reshape(4, 3, -1)
    r = evidence(to_codes(rc)[None], table)[0].reshape(4, 3, -1)
    assert np.array_equal(f, r[::-1, ::-1, ::-1])


def test_padding_and_values(reads):
    table = KmerTable.from_codes([to_codes(r) for r in reads], 5)
    codes = np.full((2, 30), 4, np.int8)
    codes[0, :20] = to_codes(reads[0][:20])
    codes[1] = to_codes(reads[1][:30])
    ev = evidence(codes, table, lengths=np.array([20, 30]))
    assert np.all(ev[0, :, 20:] == -1.0)
    assert np.array_equal(ev[0, :, :20], evidence(codes[:1, :20], table)[0])
    assert ev.max() <= 2.0 and set(np.unique(ev[ev < 0])) == {-1.0}


def test_genome_table_scale_and_round_trip(tmp_path):
    t = table_for_genome([to_codes("ACGTACGTTTGACCA")], 5)
    assert t.scale == 1.0 and t.source == "reference"
    assert t.value(np.array([0, 1]))[1] == pytest.approx(1.0) and t.value(np.array([0]))[0] == 0.0
    t.save(tmp_path / "t.npz")
    u = KmerTable.load(tmp_path / "t.npz")
    assert (u.k, u.scale, u.source) == (5, 1.0, "reference")
    assert np.array_equal(u.keys, t.keys) and np.array_equal(u.counts, t.counts)
    (tmp_path / "bad.npz").write_bytes(b"not a table")
    with pytest.raises(ModelFileError):
        KmerTable.load(tmp_path / "bad.npz")


def test_bad_k():
    with pytest.raises(SeqfcnError):
        KmerTable.from_codes([to_codes("ACGT")], 40)
    with pytest.raises(SeqfcnError):
        n_channels("everything")


@pytest.mark.skipif(getattr(__import__("seqfcn.correction.kmers", fromlist=["_kmerev"]), "_kmerev") is None,
                    reason="compiled k-mer kernel not built")
@pytest.mark.parametrize("k", [5, 11, 21])
def test_compiled_kernel_equals_numpy(k):
    rng = np.random.default_rng(k)
    genome = rng.integers(0, 4, 3000).astype(np.int8)
    reads = [genome[s : s + 80] for s in rng.integers(0, 2920, 200)]
    table = KmerTable.from_codes(reads, k)
    codes = np.stack(reads[:50]).copy()
    codes[rng.random(codes.shape) < 0.01] = 4  # scattered N
    codes[3, 40:] = 4
    lengths = np.full(50, 80)
    lengths[7] = 33
    for t in (table, KmerTable(k, np.zeros(0, np.uint64), np.zeros(0, np.int64))):
        c = evidence(codes, t, lengths=lengths)
        py = evidence(codes, t, lengths=lengths, use_c=False)
        assert np.array_equal(c, py)
        assert (c[7, :, 33:] == -1).all()
    assert (evidence(codes, table) > 0.5).mean() > 0.1


@pytest.mark.skipif(getattr(__import__("seqfcn.correction.kmers", fromlist=["_kmerev"]), "_kmerev") is None,
                    reason="compiled k-mer kernel not built")
def test_compiled_evidence_is_the_same_on_any_number_of_threads():
    from seqfcn.correction.kmers import _kmerev

    rng = np.random.default_rng(8)
    genome = rng.integers(0, 4, 5000).astype(np.int8)
    reads = [genome[s : s + 90] for s in rng.integers(0, 4910, 700)]
    table = KmerTable.from_codes(reads, 15)
    codes = np.ascontiguousarray(np.stack(reads), np.uint8)
    codes[rng.random(codes.shape) < 0.01] = 4
    index, values = table.index().kernel_args(), table.value_table()
    outs = []
    for threads in (1, 2, 3):
        out = np.empty((codes.shape[0], 12, codes.shape[1]), np.float32)
        _kmerev.substitutions(codes, *codes.shape, 15, index, values, out, threads)
        outs.append(out)
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])
    assert np.array_equal(outs[0], evidence(codes.astype(np.int8), table, use_c=False))
