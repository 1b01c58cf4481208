"""The indel pass: planted insertions and deletions restored exactly, ambiguity left alone,
qualities follow the edits, and ``seqfcn correct`` fixes them (``--indels 0`` does not)."""
from __future__ import annotations

import numpy as np
import pysam
import pytest

from seqfcn.correction.edits import Edited
from seqfcn.correction.indels import IndelSettings, IndelWalker, candidates, first_suspect, kmer_counts
from seqfcn.correction.kmers import table_for_reads
from seqfcn.correction.pipeline import correct_reads
from seqfcn.correction.spectrum import compiled
from seqfcn.resources import MODELS

pytestmark = pytest.mark.skipif(not compiled(), reason="the compiled k-mer kernels are not built")
LETTERS = np.frombuffer(b"ACGT", np.uint8)
K = 21


def _genome(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 4, n).astype(np.uint8)


def _tiles(genome: np.ndarray, length: int = 150, step: int = 5) -> list[np.ndarray]:
    """Error-free reads every ``step`` bases, both strands' k-mers (the table is canonical)."""
    return [genome[s:s + length] for s in range(0, genome.shape[0] - length + 1, step)]


def _state(codes: np.ndarray, qual: np.ndarray | None = None) -> Edited:
    return Edited(LETTERS[codes].copy(), qual)


def _plant(truth: np.ndarray, p: int, kind: str, bases: tuple[int, ...] = (), length: int = 0) -> np.ndarray:
    if kind == "del":
        return np.concatenate([truth[:p], truth[p + length:]])
    return np.concatenate([truth[:p], np.array(bases, np.uint8), truth[p:]])


@pytest.fixture(scope="module")
def spectrum():
    genome = _genome(8_000, 1)
    table = table_for_reads(_tiles(genome), K)
    return genome, table


def test_candidates_are_every_indel_up_to_the_length_and_back_then_the_substitutions():
    c = candidates(3)
    assert [(x.length, x.back) for x in c if x.kind == "del"] == [(d, b) for b in range(4) for d in (1, 2, 3)]
    assert sum(x.kind == "ins" for x in c) == 4 * (4 + 16 + 64) and [x.back for x in c if x.kind == "sub"] == [0] * 4
    assert len({(x.kind, x.bases, x.length, x.back) for x in c}) == len(c) and c[0].shift == -1


@pytest.mark.parametrize("j", [1, 2, 40, 110, 125])
def test_edited_rows_equal_each_edit_made_on_the_read(spectrum, j):
    """Every row of :meth:`IndelWalker.passing` is the read with that edit made (brute force),
    from ``max_length`` bases before the suspect k-mer, padded with N past either end."""
    genome, table = spectrum
    read = genome[500:650]
    walker = IndelWalker(table, 2)
    n = len(walker.cands)
    rows = walker.edited(walker.sources([read], [j]), np.zeros(n, np.int64), np.arange(n))
    m, p = 3, j + K - 1
    for c, row in zip(walker.cands, rows):
        q = p - c.back
        edited = (np.concatenate([read[:q], read[q + c.length:]]) if c.kind == "del" else
                  np.concatenate([read[:q], np.array(c.bases, np.uint8), read[q + (c.kind == "sub"):]]))
        padded = np.concatenate([np.full(m, 4, np.uint8), edited, np.full(walker.width, 4, np.uint8)])
        assert row.tobytes() == padded[j:j + walker.width].tobytes(), c


def test_kmer_counts_and_first_suspect_match_a_brute_force_count(spectrum):
    genome, table = spectrum
    read = genome[100:250].copy()
    read[80] = (read[80] + 1) % 4
    counts = kmer_counts([read, read[:10]], table)
    assert counts[1].shape == (0,) and counts[0].shape == (150 - K + 1,)
    weak = [j for j in range(150 - K + 1) if counts[0][j] < 2]
    assert weak == list(range(80 - K + 1, 81))  # exactly the k-mers covering base 80
    assert first_suspect(counts[0], 2, 1) == 80 - K + 1 and first_suspect(counts[0], 2, 61) == -1


@pytest.mark.parametrize("kind,p,bases,length", [
    ("del", 70, (), 1), ("del", 90, (), 2), ("del", 60, (), 3),
    ("ins", 75, (2,), 1), ("ins", 100, (0, 3), 2), ("ins", 50, (1, 1, 2), 3),
    ("del", 12, (), 1), ("ins", 14, (3,), 1),  # within k of the start: found on the reverse complement
    ("del", 135, (), 2),  # near the end: fewer than k k-mers after it, still at least min_kmers (10)
])
def test_planted_indels_are_restored_exactly_with_qualities_following(spectrum, kind, p, bases, length):
    genome, table = spectrum
    truth = genome[1000:1150]
    read = _plant(truth, p, kind, bases, length)
    qual = (np.arange(read.shape[0]) % 30 + 10).astype(np.uint8)
    walker = IndelWalker(table, 2)
    fixed = walker.fix([_state(read, qual)])[0]
    assert fixed.seq.tobytes() == LETTERS[truth].tobytes() and walker.edits == 1
    assert (fixed.n_del, fixed.n_ins, fixed.n_sub) == ((len(bases), 0, 0) if kind == "ins" else (0, length, 0))
    n = len(bases) or length
    near = range(max(p - 4, 1), min(p + 4, read.shape[0]))
    if kind == "ins":  # the inserted bases' qualities go with them, the rest kept in order
        assert any(fixed.qual.tobytes() == np.delete(qual, range(q, q + n)).tobytes() for q in near)
    else:  # each base put back takes the quality of the base before it
        assert any(fixed.qual.tobytes() == np.concatenate([qual[:q], np.repeat(qual[q - 1], n), qual[q:]]).tobytes()
                   for q in near)


def test_homopolymer_deletion_is_restored(spectrum):
    genome, _ = spectrum
    genome = genome.copy()
    genome[2000:2006] = 0  # AAAAAA
    table = table_for_reads(_tiles(genome), K)
    truth = genome[1950:2100]
    read = np.concatenate([truth[:52], truth[53:]])  # one A fewer
    fixed = IndelWalker(table, 2).fix([_state(read)])[0]
    assert fixed.seq.tobytes() == LETTERS[truth].tobytes() and (fixed.n_ins, fixed.n_del) == (1, 0)


def test_no_edit_with_fewer_than_min_kmers_to_confirm_it(spectrum):
    genome, table = spectrum
    truth = genome[1000:1150]
    read = _plant(truth, 143, "del", (), 1)  # 6 k-mers after it
    assert IndelWalker(table, 2).fix([_state(read)])[0].n_changed == 0
    fixed = IndelWalker(table, 2, IndelSettings(min_kmers=4)).fix([_state(read)])[0]
    assert fixed.seq.tobytes() == LETTERS[truth].tobytes()


def test_no_edit_beside_a_k_mer_of_a_high_copy_repeat(spectrum):
    """A region counted 21 times over (a repeat far above 8x the typical count): an indel there
    may be another copy's, so it is left; without the limit it is fixed."""
    genome, _ = spectrum
    tiles = _tiles(genome)
    table = table_for_reads(tiles + _tiles(genome[3000:3300]) * 20, K)
    truth = genome[3050:3200]
    read = _plant(truth, 70, "del", (), 1)
    walker = IndelWalker(table, 2)
    assert walker.fix([_state(read)])[0].n_changed == 0 and walker.repeats >= 1
    fixed = IndelWalker(table, 2, IndelSettings(max_copies=float("inf"))).fix([_state(read)])[0]
    assert fixed.seq.tobytes() == LETTERS[truth].tobytes()
    elsewhere = genome[5050:5200]  # the same table away from the repeat: fixed as usual
    assert IndelWalker(table, 2).fix([_state(_plant(elsewhere, 70, "del", (), 1))])[0].seq.tobytes() == \
        LETTERS[elsewhere].tobytes()


def test_the_repeat_guard_holds_at_low_coverage():
    """At a typical count of 4 the index keeps counts exact past 8x it (not only to the
    evidence's (1 + 4)**2 = 25), so the guard still sees the repeat."""
    genome = _genome(60_000, 1)
    table = table_for_reads(_tiles(genome, step=32) + _tiles(genome[3000:3300], step=32) * 20, K).compact()
    assert table.scale == 4 and table.index().cap > 8 * table.scale
    walker = IndelWalker(table, 2)
    assert walker.fix([_state(_plant(genome[3050:3200], 70, "del", (), 1))])[0].n_changed == 0
    assert walker.repeats >= 1


def test_error_free_reads_and_substitution_errors_get_no_indel(spectrum):
    genome, table = spectrum
    clean = genome[3000:3150]
    sub = clean.copy()
    sub[75] = (sub[75] + 2) % 4
    walker = IndelWalker(table, 2)
    out = walker.fix([_state(clean), _state(sub)])
    assert out[0].seq.tobytes() == LETTERS[clean].tobytes() and out[0].n_changed == 0
    assert out[1].seq.tobytes() == LETTERS[sub].tobytes() and out[1].n_changed == 0  # a substitution is the walk's
    assert walker.edits == 0


def test_two_explanations_leave_the_read_as_it_is():
    """Two copies of a region, one with A and one with AAA at the same place: a read with AA is
    one deletion from one and one insertion from the other, so no edit is made."""
    rng = np.random.default_rng(5)
    left, right = rng.integers(0, 4, 60).astype(np.uint8), rng.integers(0, 4, 60).astype(np.uint8)
    a = np.zeros(1, np.uint8)
    copy1 = np.concatenate([left, a, right])
    copy2 = np.concatenate([left, a, a, a, right])
    genome = np.concatenate([_genome(500, 6), copy1, _genome(500, 7), copy2, _genome(500, 8)])
    table = table_for_reads(_tiles(genome, 100, 1), K)
    read = np.concatenate([left, a, a, right])
    walker = IndelWalker(table, 2)
    out = walker.fix([_state(read)])[0]
    assert out.n_changed == 0 and out.seq.tobytes() == LETTERS[read].tobytes() and walker.ambiguous >= 1
    assert IndelWalker(table, 2, IndelSettings(max_length=0)).fix([_state(read)])[0].n_changed == 0


def _fastq(path, records) -> None:
    with open(path, "w") as fh:
        for name, codes in records:
            fh.write(f"@{name}\n{LETTERS[codes].tobytes().decode()}\n+\n{'I' * codes.shape[0]}\n")


def _reads_with_indels() -> tuple[list[tuple[str, np.ndarray]], dict[str, str], list[str]]:
    """1,600 error-free 150 bp reads of a 6 kb genome (40x), 20 of them with one indel in the
    middle: the records, the true reads by name and the names of the 20."""
    genome = _genome(6_000, 3)
    rng = np.random.default_rng(4)
    records, truth = [], {}
    for i, s in enumerate(rng.integers(0, genome.shape[0] - 150, 1600).tolist()):
        t = genome[s:s + 150]
        r = t
        if i % 80 == 0:
            p = 40 + i % 60
            r = _plant(t, p, "del", (), 1 + i % 3) if i % 160 else _plant(t, p, "ins", tuple(rng.integers(0, 4, 2)))
        records.append((f"r{i}", r))
        truth[f"r{i}"] = LETTERS[t].tobytes().decode()
    return records, truth, [f"r{i}" for i in range(0, 1600, 80)]


def test_correct_fixes_planted_indels_and_indels_0_does_not(tmp_path, cli):
    records, truth, planted = _reads_with_indels()
    reads = tmp_path / "r.fq"
    _fastq(reads, records)
    stats = correct_reads(reads, MODELS["kmer_illumina"].path, tmp_path / "o.fq", progress=False, device="cpu")
    out = {r.name: (r.sequence, r.quality) for r in pysam.FastxFile(str(tmp_path / "o.fq"))}
    for name in planted:
        seq, qual = out[name]
        assert seq == truth[name] and len(qual) == len(seq), name
    assert all(out[f"r{i}"][0] == truth[f"r{i}"] for i in range(1600) if i % 80)
    assert stats["indel_edits"] == 20 and stats["bases_deleted"] + stats["bases_inserted"] >= 20
    code, _, err = cli(["correct", str(reads), "--model", "kmer_illumina", "-o", str(tmp_path / "none.fq"),
                        "--indels", "0", "--no-progress", "--device", "cpu"])
    kept = {r.name: r.sequence for r in pysam.FastxFile(str(tmp_path / "none.fq"))}
    assert code == 0 and sum(kept[n] != LETTERS[dict(records)[n]].tobytes().decode() for n in planted) == 0
    code, _, err = cli(["correct", str(reads), "-o", str(tmp_path / "bad.fq"), "--indels", "-1"])
    assert code == 2 and "--indels" in err and not (tmp_path / "bad.fq").exists()
    walk = correct_reads(reads, MODELS["kmer_illumina"].path, tmp_path / "w.fq", progress=False, device="cpu",
                         rounds=0)  # no network: the walk and the indel pass alone
    assert walk["bases_through_network"] == 0 and walk["indel_edits"] == 20 and walk["rounds"] == 0
    code, _, err = cli(["correct", str(reads), "--model", "kmer_illumina", "-o", str(tmp_path / "bad.fq"),
                        "--rounds", "0", "--solid", "off"])
    assert code == 2 and "--rounds 0" in err and not (tmp_path / "bad.fq").exists()


def test_unaligned_bam_records_change_length_with_tags_and_aligned_ones_never(tmp_path):
    """Unmapped BAM records get the indel fixed, the original bases in ``xo`` and qualities in
    ``OQ``; the same reads as mapped records with a CIGAR keep their length."""
    records, truth, planted = _reads_with_indels()
    header = {"HD": {"VN": "1.6"}, "SQ": [{"SN": "g", "LN": 6_000}]}
    for mapped in (False, True):
        path = tmp_path / f"in{int(mapped)}.bam"
        with pysam.AlignmentFile(str(path), "wb", header=header) as fh:
            for name, codes in records:
                seg = pysam.AlignedSegment(fh.header)
                seg.query_name, seg.query_sequence = name, LETTERS[codes].tobytes().decode()
                seg.query_qualities = pysam.qualitystring_to_array("I" * codes.shape[0])
                if mapped:
                    seg.reference_id, seg.reference_start, seg.mapping_quality = 0, 0, 60
                    seg.cigartuples = [(0, codes.shape[0])]
                else:
                    seg.flag = 4
                fh.write(seg)
        out = tmp_path / f"out{int(mapped)}.bam"
        correct_reads(path, MODELS["kmer_illumina"].path, out, progress=False, device="cpu")
        with pysam.AlignmentFile(str(out), check_sq=False) as fh:
            got = {seg.query_name: seg for seg in fh}
        original = dict(records)
        for name in planted:
            seg = got[name]
            if mapped:
                assert seg.query_length == original[name].shape[0] and not seg.has_tag("xc")
            else:
                assert seg.query_sequence == truth[name] and len(seg.query_qualities) == 150
                assert seg.get_tag("xo") == LETTERS[original[name]].tobytes().decode()
                assert len(seg.get_tag("OQ")) == original[name].shape[0]
