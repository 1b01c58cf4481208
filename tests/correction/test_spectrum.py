"""The compact k-mer spectrum (seqfcn.correction.spectrum) against brute-force oracles."""
from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import EX1_FASTQ
from seqfcn.correction.spectrum import (
    SpectrumCounter, compiled, count_fastq_file, count_spectrum, expected_bases, extend, solid_threshold, support,
    walk,
)
from seqfcn.sequence.encode import to_codes
from seqfcn.correction.kmers import KmerTable

_RC = str.maketrans("ACGT", "TGCA")


def _canonical_counts(reads: list[str], k: int) -> Counter:
    c: Counter = Counter()
    for r in reads:
        for i in range(len(r) - k + 1):
            s = r[i:i + k]
            if set(s) <= set("ACGT"):
                c[min(s, s.translate(_RC)[::-1])] += 1
    return c


def _pack(s: str) -> int:
    v = 0
    for ch in s:
        v = 4 * v + "ACGT".index(ch)
    return v


def _random_reads(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    genome = "".join(rng.choice(list("ACGT"), 3000))
    reads = []
    for _ in range(n):
        s = int(rng.integers(0, len(genome) - 80))
        r = list(genome[s:s + int(rng.integers(15, 80))])
        if rng.random() < 0.3:
            r[int(rng.integers(0, len(r)))] = "N"
        reads.append("".join(r))
    return reads


def test_exact_counts_equal_brute_force() -> None:
    reads = _random_reads(400)
    table = count_spectrum((to_codes(r) for r in reads), 11, bloom=False)
    oracle = _canonical_counts(reads, 11)
    got = dict(zip(table.keys.tolist(), table.counts.tolist()))
    assert got == {_pack(s): c for s, c in oracle.items()}


def test_bloom_keeps_every_repeated_kmer_with_its_count() -> None:
    reads = _random_reads(400, seed=1)
    oracle = {_pack(s): c for s, c in _canonical_counts(reads, 11).items()}
    table = count_spectrum((to_codes(r) for r in reads), 11, bloom=True)
    got = dict(zip(table.keys.tolist(), table.counts.tolist()))
    repeated = {key: c for key, c in oracle.items() if c >= 2}
    assert {key: got.get(key) for key in repeated} == repeated
    # singletons are dropped unless a filter false positive let them in (then they read as 2)
    assert all(got[key] == 2 for key in got if oracle[key] == 1)
    assert sum(oracle[key] == 1 for key in got) <= 0.05 * sum(c == 1 for c in oracle.values())


def _canonical_keys(codes: np.ndarray, k: int) -> np.ndarray:
    """The packed canonical k-mer of every window of ``codes`` (ACGT only), vectorised."""
    windows = np.lib.stride_tricks.sliding_window_view(codes.astype(np.uint64), k)
    fwd = np.zeros(len(windows), np.uint64)
    rev = np.zeros(len(windows), np.uint64)
    for j in range(k):
        fwd = fwd * np.uint64(4) + windows[:, j]
        rev = rev * np.uint64(4) + (np.uint64(3) - windows[:, k - 1 - j])
    return np.minimum(fwd, rev)


def test_table_grows_past_its_first_size() -> None:
    """A million random 21-mers (about 4x the first table's slots, so the sub-tables double
    several times): every one is kept, with the brute-force count."""
    counter = SpectrumCounter(21, bloom=False)
    first = counter.slots
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 4, 1_000_000).astype(np.uint8)
    counter.add(codes, np.array([0, codes.size], np.int64))
    table = counter.table()
    assert counter.slots > first and counter.used == len(table) > 999_900
    keys, counts = np.unique(_canonical_keys(codes, 21), return_counts=True)
    assert np.array_equal(table.keys, keys) and np.array_equal(table.counts, counts)


def test_partitions_counted_on_threads_give_the_same_spectrum_as_one_thread() -> None:
    """The k-mers are counted in hash partitions on threads: 1 and 3 threads give identical
    tables, filtered or exact, and the exact one equals the brute-force count."""
    reads = _random_reads(400, seed=3)
    codes = np.concatenate([to_codes(r) for r in reads]).astype(np.uint8)
    offsets = np.r_[0, np.cumsum([len(r) for r in reads])].astype(np.int64)
    for bloom in (True, False):
        tables = []
        for threads in (1, 3):
            counter = SpectrumCounter(11, bloom=bloom, threads=threads)
            counter.add(codes, offsets)
            tables.append(counter.table())
        assert np.array_equal(tables[0].keys, tables[1].keys) and np.array_equal(tables[0].counts, tables[1].counts)
    oracle = _canonical_counts(reads, 11)
    assert dict(zip(tables[1].keys.tolist(), tables[1].counts.tolist())) == {_pack(key): c for key, c in oracle.items()}


def test_fastq_fast_path_equals_strict_reader(tmp_path: Path) -> None:
    from seqfcn.io.reads import read_reads

    slow = count_spectrum((to_codes(r.sequence) for r in read_reads(EX1_FASTQ)), 21)
    fast = count_fastq_file(str(EX1_FASTQ), 21)
    assert np.array_equal(fast.keys, slow.keys) and np.array_equal(fast.counts, slow.counts)
    gz = tmp_path / "r.fq.gz"
    gz.write_bytes(gzip.compress(EX1_FASTQ.read_bytes()))
    fast_gz = count_fastq_file(str(gz), 21)
    assert np.array_equal(fast_gz.keys, slow.keys) and np.array_equal(fast_gz.counts, slow.counts)


@pytest.mark.parametrize("text", [">a\nACGT\n", "@a\nACGT\nIIII\n@b\nAC\n+\nII\n", "@a\nACGT\n+\nIII\n", "@a\nACGT\n+\nIIII\n@b\nAC"])
def test_fastq_fast_path_declines_what_it_cannot_read(tmp_path: Path, text: str) -> None:
    path = tmp_path / "x.fq"
    path.write_text(text)
    assert count_fastq_file(str(path), 3) is None  # the strict reader then counts (and names errors)


def test_support_is_the_weakest_covering_kmer() -> None:
    reads = _random_reads(300, seed=3)
    table = count_spectrum((to_codes(r) for r in reads), 9, bloom=False)
    counts = {_pack(s): c for s, c in _canonical_counts(reads, 9).items()}
    probe = reads[:20]
    width = max(map(len, probe))
    codes = np.full((len(probe), width), 4, np.int8)
    for i, r in enumerate(probe):
        codes[i, :len(r)] = to_codes(r)
    got = support(codes, table)
    for i, r in enumerate(probe):
        for p in range(width):
            cover = [r[j:j + 9] for j in range(max(0, p - 8), min(p, len(r) - 9) + 1) if p < len(r)]
            cover = [counts[_pack(min(s, s.translate(_RC)[::-1]))] for s in cover if set(s) <= set("ACGT")]
            assert got[i, p] == (min(cover) if cover else -1), (i, p)


def test_solid_threshold_is_the_valley() -> None:
    counts = np.r_[np.full(500, 1), np.full(80, 2), np.full(20, 3), np.full(5, 4), np.full(30, 5),
                   np.full(200, 20), np.full(400, 25)]
    table = KmerTable(5, np.arange(counts.size, dtype=np.uint64), counts)
    assert solid_threshold(table) == 4
    flat = KmerTable(5, np.arange(3, dtype=np.uint64), np.array([30, 30, 30]))
    assert solid_threshold(flat) == 2


def test_extend_fixes_an_error_from_the_solid_side_and_leaves_true_reads() -> None:
    rng = np.random.default_rng(4)
    genome = "".join(rng.choice(list("ACGT"), 2000))
    reads = [genome[s:s + 60] for s in range(0, 1940, 3) for _ in range(4)]
    table = count_spectrum((to_codes(r) for r in reads), 15, bloom=False)
    true = genome[500:560]
    wrong = list(true)
    wrong[40] = "ACGT"[("ACGT".index(true[40]) + 1) % 4]
    wrong[3] = "N"
    codes = np.stack([to_codes(true), to_codes("".join(wrong))])
    out = extend(codes, np.array([60, 60]), table, solid=2)
    assert out[0].tobytes() == to_codes(true).astype(np.uint8).tobytes()
    assert out[1].tobytes() == to_codes(true).astype(np.uint8).tobytes()


def _genome_table(k: int = 15, seed: int = 4) -> tuple[str, KmerTable]:
    """A random 2 kb genome and the exact spectrum of error-free 60 bp reads tiling it 4x deep."""
    rng = np.random.default_rng(seed)
    genome = "".join(rng.choice(list("ACGT"), 2000))
    reads = [genome[s:s + 60] for s in range(0, 1940, 3) for _ in range(4)]
    return genome, count_spectrum((to_codes(r) for r in reads), k, bloom=False)


def _mutate(seq: str, positions: list[int]) -> str:
    out = list(seq)
    for p in positions:
        out[p] = "ACGT"[("ACGT".index(seq[p]) + 1) % 4]
    return "".join(out)


@pytest.mark.skipif(not compiled(), reason="compiled k-mer kernels not built")
def test_extend_with_lookahead_fixes_dense_errors_that_a_plain_walk_cannot() -> None:
    """Three errors 3 bases apart at a read's start (as in MiSeq reads): no single substitution
    makes min_run k-mers solid, so the plain walk (depth 0) gives up; with lookahead every
    error is fixed, and an error-free read is left as it is."""
    genome, table = _genome_table()
    true = genome[700:760]
    wrong = _mutate(true, [2, 5, 8])
    codes = np.stack([to_codes(wrong), to_codes(true)])
    lengths = np.array([60, 60])
    plain = extend(codes, lengths, table, solid=2, depth=0, weight=1, margin=1)
    assert plain[0].tobytes() == to_codes(wrong).astype(np.uint8).tobytes()
    out = extend(codes, lengths, table, solid=2, depth=3)
    assert out[0].tobytes() == to_codes(true).astype(np.uint8).tobytes()
    assert out[1].tobytes() == to_codes(true).astype(np.uint8).tobytes()


@pytest.mark.skipif(not compiled(), reason="compiled k-mer kernels not built")
def test_lookahead_substitutes_only_bases_below_the_quality_cap_and_undoes_unsupported_edits() -> None:
    """The same dense errors with the middle one at quality 40: a continuation may not change
    it, so no walk reaches the solid k-mers past it and nothing is left changed (an edit whose
    base is not supported at the end is undone unless ``keep_weak``)."""
    genome, table = _genome_table()
    true = genome[700:760]
    wrong = _mutate(true, [2, 5, 8])
    codes = to_codes(wrong)[None]
    qual = np.full((1, 60), 10, np.uint8)
    out = extend(codes, np.array([60]), table, solid=2, qualities=qual, depth=3, max_quality=30)
    assert out[0].tobytes() == to_codes(true).astype(np.uint8).tobytes()
    qual[0, 5] = 40
    out = extend(codes, np.array([60]), table, solid=2, qualities=qual, depth=3, max_quality=30)
    assert out[0].tobytes() == to_codes(wrong).astype(np.uint8).tobytes()
    assert np.array_equal(support(out, table) >= 2, support(codes, table) >= 2)


@pytest.mark.skipif(not compiled(), reason="compiled k-mer kernels not built")
def test_lookahead_prefers_the_continuation_that_spends_less_quality() -> None:
    """A 2-copy repeat; the read matches neither copy: both need its base 40 changed, copy A
    also base 45, copy B base 48. The plain walk takes copy A (the read's longest solid run,
    its anchor, is copy A's: bases 48 on); the lookahead takes the copy whose second change
    is at the low-quality base, and neither when the two cost the same."""
    rng = np.random.default_rng(8)
    left, m1, m2, right = ("".join(rng.choice(list("ACGT"), n)) for n in (40, 4, 2, 40))
    copy_a = left + "A" + m1 + "C" + m2 + "T" + right
    copy_b = left + "G" + m1 + "A" + m2 + "G" + right
    read = left + "C" + m1 + "A" + m2 + "T" + right
    reads = [c[s:s + 50] for c in (copy_a, copy_b) for s in range(0, len(c) - 49) for _ in range(3)]
    table = count_spectrum((to_codes(r) for r in reads), 11, bloom=False)
    codes, lengths = to_codes(read)[None], np.array([len(read)])

    def walk(q45: int, q48: int, **kw) -> str:
        qual = np.full((1, len(read)), 35, np.uint8)
        qual[0, 45], qual[0, 48] = q45, q48
        out = extend(codes, lengths, table, solid=2, qualities=qual, max_quality=40, **kw)[0]
        return "".join("ACGTN"[c] for c in out)

    assert walk(3, 35, depth=0, weight=1, margin=1) == copy_a
    assert walk(3, 35, depth=3) == copy_a
    assert walk(35, 3, depth=3) == copy_b
    assert walk(20, 20, depth=3) == read


@pytest.mark.skipif(not compiled(), reason="compiled k-mer kernels not built")
@pytest.mark.skipif(not compiled(), reason="compiled k-mer kernels not built")
def test_the_walk_anchors_on_the_longest_solid_run() -> None:
    """An error at base 20 whose first k-mers another genome copy holds (a short solid run
    before it): walking from the first solid k-mer would suspect a later base; from the
    longest run (right of the error) the error itself is fixed."""
    rng = np.random.default_rng(3)
    genome = rng.integers(0, 4, 400).astype(np.uint8)
    read_true = genome[100:200].copy()
    read = read_true.copy()
    read[20] = (read[20] + 1) % 4
    other = np.concatenate([rng.integers(0, 4, 30).astype(np.uint8), read[6:26], rng.integers(0, 4, 30).astype(np.uint8)])
    reads = [g[s:s + 40] for g in (genome, other) for s in range(0, g.shape[0] - 39) for _ in range(3)]
    table = count_spectrum(reads, 11, bloom=False)
    from seqfcn.correction.indels import kmer_counts

    counts = kmer_counts([read], table)[0]
    assert (counts[10:16] >= 2).all() and (counts[16:21] < 2).all()  # a short solid run holds the error
    out = extend(read[None].copy(), np.array([100]), table, solid=2)[0]
    assert out.tobytes() == read_true.tobytes()


def test_a_high_quality_base_near_a_read_end_is_changed_only_with_k_solid_k_mers() -> None:
    """An error 2 bases from a read's end is confirmed by only 2 k-mers: fixed at quality 10,
    left at quality 35 (>= max_quality); the same error mid-read (k k-mers) is fixed at 35."""
    genome, table = _genome_table()
    true = genome[700:760]
    qual = np.full((1, 60), 35, np.uint8)
    for pos, fixed_at_35 in ((58, False), (30, True)):
        wrong = to_codes(_mutate(true, [pos]))[None]
        for q, fixed in ((10, True), (35, fixed_at_35)):
            qual[0, pos] = q
            out = extend(wrong, np.array([60]), table, solid=2, qualities=qual, max_quality=30)
            assert (out[0].tobytes() == to_codes(true).astype(np.uint8).tobytes()) == fixed, (pos, q)
        qual[0, pos] = 35


@pytest.mark.skipif(not compiled(), reason="compiled k-mer kernels not built")
def test_an_error_that_matches_a_repeat_copy_is_fixed_where_it_is_not_at_the_copy_difference() -> None:
    """Two repeat copies differ at bases 40 and 46 (within k). A read of copy A with an error at
    40 that gives copy B's base is solid up to 46, where it is A again: the first weak k-mer's
    entering base is 46, and changing it makes the read copy B (one false correction, the error
    kept). The rival explanation, a change at 40 back to A, is taken instead when base 40's
    quality is lower than base 46's, and neither when they are equal."""
    rng = np.random.default_rng(11)
    left, mid, right = ("".join(rng.choice(list("ACGT"), n)) for n in (40, 5, 60))
    copy_a = left + "A" + mid + "C" + right
    copy_b = left + "G" + mid + "T" + right
    read = left + "G" + mid + "C" + right  # copy A with an error at 40
    reads = [c[s:s + 50] for c in (copy_a, copy_b) for s in range(0, len(c) - 49) for _ in range(3)]
    table = count_spectrum((to_codes(r) for r in reads), 11, bloom=False)
    codes, lengths = to_codes(read)[None], np.array([len(read)])

    def walk_with(q40: int, q46: int) -> str:
        qual = np.full((1, len(read)), 30, np.uint8)
        qual[0, 40], qual[0, 46] = q40, q46
        out = extend(codes, lengths, table, solid=2, qualities=qual, max_quality=41)[0]
        return "".join("ACGTN"[c] for c in out)

    assert walk_with(8, 38) == copy_a
    assert walk_with(38, 8) == copy_b
    assert walk_with(20, 20) == read


@pytest.mark.skipif(not compiled(), reason="compiled k-mer kernels not built")
def test_walk_says_which_reads_were_weak_before_and_after_as_support_does() -> None:
    """walk's flags equal what support() says of the reads before and after it: a true read
    (solid throughout), one it fixes, one with an N in a true copy (an N is never solid, but
    the walk makes it a base), one too short for a k-mer, and one with an unfixable base."""
    genome, table = _genome_table()
    true = genome[300:360]
    with_n = true[:30] + "N" + true[31:]
    junk = "".join(np.random.default_rng(2).choice(list("ACGT"), 60))
    reads = [true, _mutate(true, [20]), with_n, true[:10], junk]
    lengths = np.array([len(r) for r in reads])
    codes = np.full((len(reads), 60), 4, np.uint8)
    for i, r in enumerate(reads):
        codes[i, :len(r)] = to_codes(r)
    new, before, after = walk(codes, lengths, table, solid=2)

    def weak(c: np.ndarray) -> np.ndarray:
        sup = support(c, table)
        inside = np.arange(60)[None, :] < lengths[:, None]
        return (((sup >= 0) & (sup < 2)) | ((c >= 4) & inside & (lengths[:, None] >= 15))).any(1)

    assert before.tolist() == weak(codes).tolist() == [False, True, True, False, True]
    assert after.tolist() == weak(new).tolist() == [False, False, False, False, True]
    assert new[2, :60].tobytes() == to_codes(true).astype(np.uint8).tobytes()


def test_without_the_compiled_kernels_counting_falls_back_to_exact_numpy(monkeypatch, tmp_path: Path) -> None:
    import seqfcn.correction.spectrum as spectrum

    reads = _random_reads(200, seed=6)
    exact = count_spectrum((to_codes(r) for r in reads), 11, bloom=False)
    monkeypatch.setattr(spectrum, "_kmercount", None)
    assert not spectrum.compiled() and count_fastq_file(str(EX1_FASTQ), 21) is None
    fallback = spectrum.count_spectrum((to_codes(r) for r in reads), 11)
    assert np.array_equal(fallback.keys, exact.keys) and np.array_equal(fallback.counts, exact.counts)


def test_a_fastq_and_its_gzip_get_the_same_filter_size(tmp_path):
    """The Bloom filter is sized from the file: a gzip'd FASTQ must be sized like the plain one
    (else its spectrum, and so its correction, would differ)."""
    import gzip

    plain = tmp_path / "r.fq"
    plain.write_bytes(b"".join(b"@r%d\n%s\n+\n%s\n" % (i, b"ACGT" * 40, b"I" * 160) for i in range(3000)))
    packed = tmp_path / "r.fq.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert expected_bases(str(packed)) == expected_bases(str(plain)) == plain.stat().st_size // 2


@pytest.mark.skipif(not compiled(), reason="compiled k-mer kernels not built")
def test_support_is_the_same_on_any_number_of_threads_and_largest_is_the_strongest() -> None:
    """The compiled kernels split rows over threads: 1, 2 and 5 threads give the same arrays;
    ``largest`` is the strongest covering k-mer (brute force on a few rows)."""
    from seqfcn.correction.kmers import _kmercount

    reads = _random_reads(600, seed=5)
    table = count_spectrum((to_codes(r) for r in reads), 9, bloom=False)
    width = max(map(len, reads))
    codes = np.full((len(reads), width), 4, np.uint8)
    for i, r in enumerate(reads):
        codes[i, :len(r)] = to_codes(r)
    codes[::7, 30] = 4  # N inside some reads
    index = table.index().kernel_args()
    runs = {}
    for largest in (False, True):
        for threads in (1, 2, 5):
            out = np.empty(codes.shape, np.int64)
            _kmercount.cover_min(codes, *codes.shape, 9, index, out, largest, threads)
            runs[largest, threads] = out
        assert np.array_equal(runs[largest, 1], runs[largest, 2]) and np.array_equal(runs[largest, 1], runs[largest, 5])
    count = {_pack(s): c for s, c in _canonical_counts(reads, 9).items()}
    for i in range(0, 600, 97):
        text = "".join("ACGTN"[c] for c in codes[i])
        for p in range(width):
            cover = [text[j:j + 9] for j in range(max(0, p - 8), p + 1) if j + 9 <= width]
            cover = [count[_pack(min(s, s.translate(_RC)[::-1]))] for s in cover if set(s) <= set("ACGT")]
            assert runs[True, 1][i, p] == (max(cover) if cover else -1), (i, p)
