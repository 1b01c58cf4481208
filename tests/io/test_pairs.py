"""Paired reads (R1/R2 files and interleaved), counting once with `seqfcn count`, shards + merge.

The bundled pairs are real SARS-CoV-2 NextSeq reads (data/illumina, 100 pairs)."""
from __future__ import annotations

import gzip
from pathlib import Path

import pysam
import pytest

from conftest import ILLUMINA_R1, ILLUMINA_R2, KMER_MODEL


def _records(path: Path) -> list[tuple[str, str, str, str]]:
    with pysam.FastxFile(str(path)) as fh:
        return [(r.name, r.comment or "", r.sequence, r.quality) for r in fh]


def _write(path: Path, records) -> Path:
    path.write_text("".join(f"@{n}{' ' + c if c else ''}\n{s}\n+\n{q}\n" for n, c, s, q in records))
    return path


@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("pairs")
    return _write(d / "r1.fq", _records(ILLUMINA_R1)), _write(d / "r2.fq", _records(ILLUMINA_R2))


def test_paired_files_in_give_paired_files_out_equal_to_one_combined_run(tmp_path, cli, pairs):
    r1, r2 = pairs
    code, _, err = cli(["correct", r1, r2, "--model", KMER_MODEL, "-o", tmp_path / "c1.fq", tmp_path / "c2.fq",
                        "--stats", tmp_path / "s.json", "-q"])
    assert code == 0, err
    out1, out2 = _records(tmp_path / "c1.fq"), _records(tmp_path / "c2.fq")
    assert [r[:2] for r in out1] == [r[:2] for r in _records(r1)] and len(out1) == 100
    assert [r[:2] for r in out2] == [r[:2] for r in _records(r2)] and len(out2) == 100
    # one spectrum over both files, every read corrected on its own: the same as one run of R1 + R2
    both = _write(tmp_path / "both.fq", _records(r1) + _records(r2))
    assert cli(["correct", both, "--model", KMER_MODEL, "-o", tmp_path / "both.c.fq", "-q"])[0] == 0
    combined = _records(tmp_path / "both.c.fq")
    assert out1 + out2 == combined
    assert sum(a[2] != b[2] for a, b in zip(combined, _records(both))) > 0  # something was corrected


@pytest.mark.parametrize("damage, message", [
    (lambda recs: recs[:-1], "ends after 99 reads"),
    (lambda recs: recs[:5] + [recs[6], recs[5]] + recs[7:], "read pair 6: mate 2 is"),
])
def test_mismatched_pairs_exit_2_and_write_nothing(tmp_path, cli, pairs, damage, message):
    r1, r2 = pairs
    bad = _write(tmp_path / "bad2.fq", damage(_records(r2)))
    code, _, err = cli(["correct", r1, bad, "--model", KMER_MODEL, "-o", tmp_path / "c1.fq", tmp_path / "c2.fq",
                        "-q"])
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and message in lines[0] and "bad2.fq" in lines[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad2.fq"]


def test_paired_option_errors(tmp_path, cli, pairs):
    r1, r2 = pairs
    code, _, err = cli(["correct", r1, r2, "--model", KMER_MODEL, "-o", tmp_path / "c1.fq", "-q"])
    assert code == 2 and "need as many outputs" in err
    code, _, err = cli(["correct", r1, r2, "--model", KMER_MODEL, "-o", tmp_path / "c.fq", tmp_path / "c.fq", "-q"])
    assert code == 2 and "same file" in err
    assert not list(tmp_path.iterdir())


def test_interleaved_keeps_mates_together_and_checks_them(tmp_path, cli, pairs):
    r1, r2 = pairs
    a, b = _records(r1), _records(r2)
    inter = _write(tmp_path / "i.fq", [rec for pair in zip(a, b) for rec in pair])
    assert cli(["correct", inter, "--interleaved", "--model", KMER_MODEL, "-o", tmp_path / "ic.fq", "-q"])[0] == 0
    assert cli(["correct", r1, r2, "--model", KMER_MODEL, "-o", tmp_path / "c1.fq", tmp_path / "c2.fq", "-q"])[0] == 0
    expect = [rec for pair in zip(_records(tmp_path / "c1.fq"), _records(tmp_path / "c2.fq")) for rec in pair]
    assert _records(tmp_path / "ic.fq") == expect
    odd = _write(tmp_path / "odd.fq", [rec for pair in zip(a, b) for rec in pair][:-1])
    code, _, err = cli(["correct", odd, "--interleaved", "--model", KMER_MODEL, "-o", tmp_path / "oc.fq", "-q"])
    assert code == 2 and "even number" in err and not (tmp_path / "oc.fq").exists()


def test_count_once_then_four_shards_merge_to_the_unsharded_output(tmp_path, cli, pairs, monkeypatch):
    """`seqfcn count` + `correct --spectrum --shard i/4` (no counting pass: the counter is
    disabled for the shard runs) + `seqfcn merge` == one unsharded run, byte for byte, gz included."""
    r1, r2 = pairs
    spectrum = tmp_path / "sample.kmers"
    assert cli(["count", r1, r2, "--model", KMER_MODEL, "-o", spectrum])[0] == 0
    one = [tmp_path / "one_1.fq.gz", tmp_path / "one_2.fq.gz"]
    assert cli(["correct", r1, r2, "--model", KMER_MODEL, "-o", *one, "-q"])[0] == 0

    import seqfcn.correction.pipeline as pipeline

    def no_counting(*args, **kwargs):
        raise AssertionError("a shard counted the reads again")

    monkeypatch.setattr(pipeline, "count_reads", no_counting)
    for i in range(1, 5):
        code, _, err = cli(["correct", r1, r2, "--model", KMER_MODEL, "--spectrum", spectrum, "--shard", f"{i}/4",
                            "-o", tmp_path / f"s{i}_1.fq.gz", tmp_path / f"s{i}_2.fq.gz", "-q"])
        assert code == 0, err
    for mate in (1, 2):
        parts = [tmp_path / f"s{i}_{mate}.fq.gz" for i in range(1, 5)]
        assert cli(["merge", *parts, "-o", tmp_path / f"merged_{mate}.fq.gz"])[0] == 0
        merged = (tmp_path / f"merged_{mate}.fq.gz").read_bytes()
        assert merged == one[mate - 1].read_bytes()
        assert gzip.decompress(merged).count(b"\n") == 400


def test_a_spectrum_that_does_not_match_is_refused(tmp_path, cli, pairs):
    r1, r2 = pairs
    other_k = tmp_path / "k15.kmers"
    assert cli(["count", r1, r2, "-k", "15", "-o", other_k])[0] == 0
    code, _, err = cli(["correct", r1, r2, "--model", KMER_MODEL, "--spectrum", other_k, "-o", tmp_path / "a.fq",
                        tmp_path / "b.fq", "-q"])
    assert code == 2 and "k=15" in err and "k=21" in err
    only_r1 = tmp_path / "r1.kmers"
    assert cli(["count", r1, "--model", KMER_MODEL, "-o", only_r1])[0] == 0
    code, _, err = cli(["correct", r1, r2, "--model", KMER_MODEL, "--spectrum", only_r1, "-o", tmp_path / "a.fq",
                        tmp_path / "b.fq", "-q"])
    assert code == 2 and "counted from r1.fq" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "a.fq").exists()


def test_gzip_output_is_reproducible_and_equals_plain(tmp_path, cli, pairs):
    r1, _ = pairs
    for name in ("a.fq.gz", "b.fq.gz", "plain.fq"):
        assert cli(["correct", r1, "--model", KMER_MODEL, "-o", tmp_path / name, "-q"])[0] == 0
    assert (tmp_path / "a.fq.gz").read_bytes() == (tmp_path / "b.fq.gz").read_bytes()
    assert gzip.decompress((tmp_path / "a.fq.gz").read_bytes()) == (tmp_path / "plain.fq").read_bytes()


def test_count_and_pair_user_errors_and_spectrum_file_order(tmp_path, cli, pairs):
    r1, r2 = pairs
    code, _, err = cli(["count", r1, "-k", "20", "-o", tmp_path / "s.kmers"])
    assert code == 2 and "odd" in err and not (tmp_path / "s.kmers").exists()
    code, _, err = cli(["count", r1, "-o", tmp_path / "nodir" / "s.kmers"])
    assert code == 2 and "directory does not exist" in err
    code, _, err = cli(["correct", r1, r1, "--model", KMER_MODEL, "-o", tmp_path / "a.fq", tmp_path / "b.fq", "-q"])
    assert code == 2 and "same file" in err
    spectrum = tmp_path / "s.kmers"
    assert cli(["count", r2, r1, "--model", KMER_MODEL, "-o", spectrum])[0] == 0  # R2 R1: the same spectrum
    code, _, err = cli(["correct", r1, r2, "--model", KMER_MODEL, "--spectrum", spectrum, "-o", tmp_path / "a.fq",
                        tmp_path / "b.fq", "-q"])
    assert code == 0, err


@pytest.mark.parametrize("spelling", ["plain", "symlink", "hardlink"])
def test_a_second_output_may_not_write_over_an_input(tmp_path, cli, pairs, spelling):
    import os
    import shutil

    r1, r2 = tmp_path / "r1.fq", tmp_path / "r2.fq"
    shutil.copy(pairs[0], r1)
    shutil.copy(pairs[1], r2)
    target = tmp_path / "alias.fq"
    if spelling == "plain":
        target = r2
    elif spelling == "symlink":
        target.symlink_to(r2)
    else:
        os.link(r2, target)
    before = r2.read_bytes()
    code, _, err = cli(["correct", r1, r2, "--model", KMER_MODEL, "-o", tmp_path / "c1.fq", target, "-q"])
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "r2.fq" in lines[0], err
    assert r2.read_bytes() == before and not (tmp_path / "c1.fq").exists()


def test_a_spectrum_file_that_is_not_one_is_one_line(tmp_path, cli, pairs):
    r1, r2 = pairs
    bad = tmp_path / "bad.kmers"
    bad.write_bytes(b"not a spectrum")
    code, _, err = cli(["correct", r1, r2, "--model", KMER_MODEL, "--spectrum", bad, "-o", tmp_path / "a.fq",
                        tmp_path / "b.fq", "-q"])
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "bad.kmers" in lines[0] and "Traceback" not in err, err
    assert not (tmp_path / "a.fq").exists()
