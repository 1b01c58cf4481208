"""Genome (indexed FASTA), genome_summary, parse_region and `seqfcn info` on real and tiny files."""
from __future__ import annotations

import gzip
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pysam
import pytest

from seqfcn.sequence.alphabet import EncodingPolicy
from seqfcn.cli import main
from seqfcn.errors import InputFormatError, RegionError, SeqfcnError, SequenceError
from seqfcn.io.fasta import Genome, genome_summary, parse_region

DATA = Path(__file__).resolve().parents[2] / "data"
SARS = DATA / "sarscov2" / "MN908947.3.fasta"
CHROM = "MN908947.3"
# samtools faidx MN908947.3.fasta MN908947.3:1001-1060 / MN908947.3:29851-29903
SARS_1000_1060 = "GAAAAGAGCTATGAATTGCAGACACCTTTTGAAATTAAATTGGCAAAGAAATTTGACACC"
SARS_TAIL = "TAGCTTCTTAGGAGAATGACAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


@pytest.fixture
def sars(tmp_path: Path) -> Path:
    """A copy of the SARS-CoV-2 reference without an index."""
    dest = tmp_path / "MN908947.3.fasta"
    shutil.copyfile(SARS, dest)
    return dest


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """Two chromosomes with soft-masking, N and IUPAC codes, wrapped at 10 bp."""
    path = tmp_path / "tiny.fa"
    path.write_text(">c1 first\nACGTacgtNN\nRYAC\n>c2\nGGCC\n")
    return path


def test_genome_creates_index_and_reports_sizes(sars: Path) -> None:
    assert not Path(f"{sars}.fai").exists()
    with Genome(sars) as genome:
        assert Path(f"{sars}.fai").exists()
        assert genome.chrom_sizes == {CHROM: 29903}
        assert genome.chroms == [CHROM]
        assert len(genome) == 29903
        assert CHROM in genome and "chr1" not in genome
        assert genome.fetch(CHROM, 1000, 1060) == SARS_1000_1060
        assert genome.fetch(CHROM, 29850) == SARS_TAIL
        assert len(genome.fetch(CHROM)) == 29903
        assert genome.fetch(CHROM, 5, 5) == ""


def test_bgzip_genome_matches_plain(sars: Path, tmp_path: Path) -> None:
    bgz = tmp_path / "MN908947.3.fa.gz"
    pysam.tabix_compress(str(sars), str(bgz))
    with Genome(bgz) as genome:
        assert Path(f"{bgz}.gzi").exists()
        assert genome.chrom_sizes == {CHROM: 29903}
        assert genome.fetch(CHROM, 1000, 1060) == SARS_1000_1060
        assert genome.fetch(CHROM, 29850, 29903) == SARS_TAIL


def test_plain_gzip_is_refused_with_advice(sars: Path, tmp_path: Path) -> None:
    gz = tmp_path / "plain.fa.gz"
    gz.write_bytes(gzip.compress(sars.read_bytes()))
    with pytest.raises(InputFormatError, match="bgzip") as info:
        Genome(gz)
    assert str(gz) in str(info.value)


def test_region_errors_name_chrom_and_position(sars: Path) -> None:
    with Genome(sars) as genome:
        with pytest.raises(RegionError, match="did you mean 'MN908947.3'") as info:
            genome.fetch("MN908947")
        assert info.value.record == "MN908947" and info.value.path == str(sars)
        with pytest.raises(RegionError) as info:
            genome.fetch(CHROM, -1, 10)
        assert info.value.position == -1
        with pytest.raises(RegionError, match="29903 bp") as info:
            genome.fetch(CHROM, 29000, 29904)
        assert info.value.position == 29904
        with pytest.raises(RegionError) as info:
            genome.fetch(CHROM, 20, 10)
        assert info.value.position == 20
        with pytest.raises(RegionError):
            genome.one_hot(CHROM, 0, 30000)


def test_not_a_fasta_is_one_line_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "not_a_fasta.txt"
    bad.write_text("chrom\tstart\tend\nchr1\t1\t2\n")
    with pytest.raises(InputFormatError) as info:
        Genome(bad)
    message = str(info.value)
    assert "\n" not in message and str(bad) in message and "not a FASTA" in message
    with pytest.raises(SeqfcnError, match="no such file"):
        Genome(tmp_path / "missing.fa")


def test_unequal_line_lengths_cannot_be_indexed(tmp_path: Path) -> None:
    bad = tmp_path / "ragged.fa"
    bad.write_text(">a\nACGT\nAC\nACGT\n")
    with pytest.raises(InputFormatError, match="cannot index") as info:
        Genome(bad)
    assert "line 4" in str(info.value)


def test_fetch_keeps_case_and_one_hot_uses_absolute_positions(tiny: Path) -> None:
    with Genome(tiny) as genome:
        assert genome.chrom_sizes == {"c1": 14, "c2": 4}
        assert genome.fetch("c1", 6, 12) == "gtNNRY"
        x = genome.one_hot("c1", 2, 6)
        expected = np.array(
            [[0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0]], dtype=np.float32
        ).T  # G T a c
        assert x.dtype == np.float32 and x.shape == (4, 4)
        np.testing.assert_array_equal(x, expected)
        masked = genome.one_hot("c1", 3, 6, policy=EncodingPolicy(soft_mask_channel=True), dtype=np.uint8)
        np.testing.assert_array_equal(masked[4], [0, 1, 1])
        with pytest.raises(SequenceError) as info:
            genome.one_hot("c1", 8, 14, policy=EncodingPolicy(iupac="error"))
        assert info.value.position == 10 and info.value.record == "c1"


def test_stale_index_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "edit.fa"
    path.write_text(">a\nACGT\n")
    with Genome(path) as genome:
        assert genome.chrom_sizes == {"a": 4}
    path.write_text(">a\nACGTACGTAA\n>b\nGG\n")
    old = Path(f"{path}.fai").stat().st_mtime
    os.utime(path, (old + 10, old + 10))
    with Genome(path) as genome:
        assert genome.chrom_sizes == {"a": 10, "b": 2}
        assert genome.fetch("a", 6) == "GTAA"


def test_genome_pickles_and_reopens(sars: Path) -> None:
    with Genome(sars) as genome:
        clone = pickle.loads(pickle.dumps(genome))
    assert clone.fetch(CHROM, 1000, 1060) == SARS_1000_1060
    clone.close()
    with pytest.raises(ValueError, match="closed"):
        clone.fetch(CHROM, 0, 5)


def test_genome_summary_counts(sars: Path, tiny: Path) -> None:
    # independent count: grep -v '>' | tr -cd A | wc -c (and C, G, T, N)
    table = genome_summary(sars)
    assert list(table.columns) == ["chrom", "length", "A", "C", "G", "T", "N", "other", "gc", "soft_masked"]
    row = table.iloc[0]
    assert (row["chrom"], row["length"], row["A"], row["C"], row["G"], row["T"], row["N"]) == (
        CHROM, 29903, 8954, 5492, 5863, 9594, 0,
    )
    assert row["other"] == 0 and row["soft_masked"] == 0
    assert row["gc"] == pytest.approx((5492 + 5863) / (8954 + 5492 + 5863 + 9594))
    small = genome_summary(tiny)
    assert small["chrom"].tolist() == ["c1", "c2"]
    assert small[["length", "A", "C", "G", "T", "N", "other", "soft_masked"]].values.tolist() == [
        [14, 3, 3, 2, 2, 2, 2, 4],
        [4, 0, 2, 2, 0, 0, 0, 0],
    ]
    assert small["gc"].tolist() == [0.5, 1.0]


def test_parse_region_is_one_based_inclusive() -> None:
    assert parse_region("chr1:100-200") == ("chr1", 99, 200)
    assert parse_region("chr1:1,000-2,000") == ("chr1", 999, 2000)
    assert parse_region("chr1:5") == ("chr1", 4, None)
    assert parse_region("MN908947.3") == ("MN908947.3", 0, None)
    for bad in ("chr1:0-5", "chr1:10-5", ""):
        with pytest.raises(RegionError):
            parse_region(bad)


def test_cli_info_prints_summary(sars: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(sars)]) == 0
    out = capsys.readouterr().out
    assert CHROM in out and "29903" in out and "9594" in out


def test_cli_info_json_is_one_object_per_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    fa = tmp_path / "two.fa"
    fa.write_text(">a\nACGTNNacgt\n>b\nGGGC\n")
    assert main(["info", "--json", str(fa)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["chrom"] for r in rows] == ["a", "b"] and [r["length"] for r in rows] == [10, 4]
    assert (rows[0]["A"], rows[0]["N"], rows[0]["soft_masked"], rows[1]["G"], rows[1]["C"]) == (2, 2, 4, 3, 1)
    assert rows[1]["gc"] == 1.0


def test_cli_info_bad_file_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "not_a_fasta.txt"
    bad.write_text("hello\n")
    assert main(["info", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(bad) in err and "not a FASTA" in err
