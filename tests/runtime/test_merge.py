"""`seqfcn merge`: shard outputs merge into exactly (byte for byte) the unsharded output."""
from __future__ import annotations

import gzip
import logging
from pathlib import Path

import pysam
import pytest
from conftest import EX1_BAM as BAM
from conftest import EX1_FASTQ as FASTQ
from conftest import EX1_MODEL as MODEL
from conftest import JASPAR_MEME as MOTIFS
from conftest import LAMBDA_FA as GENOME

from seqfcn.cli import main
from seqfcn.cli.merge import merge_shards
from seqfcn.io.fingerprint import file_fingerprint
from seqfcn.io.read_writers import FastqWriter
from seqfcn.io.reads import read_reads
from seqfcn.motifs.shards import read_scan_shard
from seqfcn.resources import MODELS
from seqfcn.runtime.merge import merge_bed
from seqfcn.runtime.shard import ReadShardManifest, shard_reads, write_read_manifest


def _scan(*extra: str) -> list[str]:
    return ["scan", "-q", str(GENOME), "--motifs", str(MOTIFS), "--motif", "MA0004.1", "MA0069.1",
            "--thresh", "1e-3", "--batch-size", "5000", *extra]


@pytest.mark.parametrize("q_tests,count", [("tested", 3), ("hits", 2)])
def test_scan_shards_merge_byte_identical(tmp_path: Path, q_tests: str, count: int) -> None:
    full = tmp_path / "full.bed"
    assert main(_scan("--q-tests", q_tests, "-o", str(full))) == 0
    shards = [tmp_path / f"s{i}.bed" for i in range(1, count + 1)]
    for i, path in enumerate(shards, 1):
        assert main(_scan("--q-tests", q_tests, "--shard", f"{i}/{count}", "-o", str(path))) == 0
    lines = full.read_text().splitlines()
    assert len(lines) > 100 and lines[0].startswith("track") and "seqfcn 0.1" in lines[0]
    shard_rows = sum(len(read_scan_shard(p)[1]) for p in shards)  # binary payloads
    assert shard_rows == len(lines) - 1  # every hit in exactly one shard
    merged = tmp_path / "merged.bed"
    assert main(["merge", "-q", *map(str, reversed(shards)), "-o", str(merged)]) == 0  # any order
    assert merged.read_bytes() == full.read_bytes()
    assert main(["merge", "-q", *map(str, shards), "-o", str(tmp_path / "m.bed.gz")]) == 0
    assert gzip.decompress((tmp_path / "m.bed.gz").read_bytes()) == full.read_bytes()
    # gzip shards (scan --shard -o x.bed.gz) are scan shards too, not plain BED
    gz = [tmp_path / f"s{i}.bed.gz" for i in range(1, count + 1)]
    for i, path in enumerate(gz, 1):
        assert main(_scan("--q-tests", q_tests, "--shard", f"{i}/{count}", "-o", str(path))) == 0
    assert main(["merge", "-q", *map(str, gz), "-o", str(tmp_path / "mgz.bed")]) == 0
    assert (tmp_path / "mgz.bed").read_bytes() == full.read_bytes()
    data = bytearray(gz[-1].read_bytes())  # a damaged gzip shard: one line, exit 2, nothing written
    data[len(data) // 2] ^= 0xFF
    gz[-1].write_bytes(bytes(data))
    assert main(["merge", "-q", *map(str, gz), "-o", str(tmp_path / "bad.bed")]) == 2
    assert not (tmp_path / "bad.bed").exists()


def test_scan_merge_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for i in (1, 2):
        assert main(_scan("--shard", f"{i}/3", "-o", str(tmp_path / f"s{i}.bed"))) == 0
    capsys.readouterr()
    assert main(["merge", str(tmp_path / "s1.bed"), str(tmp_path / "s2.bed"), "-o", str(tmp_path / "m.bed")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "shard(s) 3/3 missing" in err
    assert main(["merge", str(tmp_path / "s1.bed"), str(tmp_path / "s1.bed"), "-o", str(tmp_path / "m.bed")]) == 2
    assert "given twice" in capsys.readouterr().err
    assert not (tmp_path / "m.bed").exists()
    assert main(_scan("--shard", "1/2", "--max-hits", "5", "-o", str(tmp_path / "x.bed"))) == 2
    assert "--max-hits" in capsys.readouterr().err
    assert main(_scan("--shard", "3/2", "-o", str(tmp_path / "x.bed"))) == 2
    assert not (tmp_path / "x.bed").exists()
    # shard 3 of another scan (other threshold: other fingerprint) is refused
    assert main(_scan("--shard", "3/3", "--thresh", "1e-4", "-o", str(tmp_path / "s3.bed"))) == 0
    capsys.readouterr()
    assert main(["merge", *(str(tmp_path / f"s{i}.bed") for i in (1, 2, 3)), "-o", str(tmp_path / "m.bed")]) == 2
    assert "comes from a different scan" in capsys.readouterr().err
    assert not (tmp_path / "m.bed").exists()


def test_scan_merge_bad_shard_line_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The merge streams the shards twice; a malformed payload is caught by the first pass:
    one line naming the file, exit 2, no output."""
    shards = [tmp_path / f"s{i}.bed" for i in (1, 2)]
    for i, path in enumerate(shards, 1):
        assert main(_scan("--shard", f"{i}/2", "-o", str(path))) == 0
    blob = shards[1].read_bytes()
    shards[1].write_bytes(blob[: len(blob) - 50])  # a binary payload cut short
    capsys.readouterr()
    assert main(["merge", *map(str, shards), "-o", str(tmp_path / "m.bed")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(shards[1]) in err and "malformed scan shard payload" in err
    assert not (tmp_path / "m.bed").exists()



def test_scan_merge_refuses_a_shard_whose_hits_disagree_with_its_track_line(tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture) -> None:
    """A payload cut at a block boundary still parses; the hit count in the track line catches it."""
    import re

    shards = [tmp_path / f"s{i}.bed" for i in (1, 2)]
    for i, path in enumerate(shards, 1):
        assert main(_scan("--shard", f"{i}/2", "-o", str(path))) == 0
    blob = shards[0].read_bytes()
    held = int(re.search(rb"seqfcn_hits=(\d+)", blob).group(1))
    assert held > 0
    shards[0].write_bytes(blob.replace(b"seqfcn_hits=%d" % held, b"seqfcn_hits=%d" % (held + 1), 1))
    capsys.readouterr()
    assert main(["merge", *map(str, shards), "-o", str(tmp_path / "m.bed")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"holds {held:,} hits but its track line says {held + 1:,}" in err
    assert not (tmp_path / "m.bed").exists()

def _manifest(path: Path, source: Path, i: int, count: int, total: int, reads: int) -> None:
    """The manifest `seqfcn correct --shard` writes, for a shard made here."""
    write_read_manifest(path, ReadShardManifest(i, count, "testrun", (file_fingerprint(source),), 0, total, reads))


def _split_fastq(source: Path, out: Path, count: int, suffix: str = ".fastq", manifests: bool = True) -> list[Path]:
    paths = [out / f"shard{i + 1}{suffix}" for i in range(count)]
    total = sum(1 for _ in read_reads(source))
    for i, path in enumerate(paths):
        with FastqWriter(path) as writer:
            for read in shard_reads(read_reads(source), i, count):
                writer.write(read)
        if manifests:
            _manifest(path, source, i, count, total, writer.count)
    return paths


def test_fastq_shards_interleave_back(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    shards = _split_fastq(FASTQ, tmp_path, 3)
    counts = [sum(1 for _ in read_reads(p)) for p in shards]
    assert counts == [1103, 1102, 1102]  # 3307 reads, round-robin
    assert main(["merge", "-q", *map(str, shards), "-o", str(tmp_path / "m.fastq")]) == 0
    assert (tmp_path / "m.fastq").read_bytes() == FASTQ.read_bytes()
    assert main(["merge", "-q", *map(str, shards), "-o", str(tmp_path / "m.fq.gz")]) == 0
    assert gzip.decompress((tmp_path / "m.fq.gz").read_bytes()) == FASTQ.read_bytes()
    # concatenation is a different order; shards given out of order are sorted by their manifests
    assert merge_shards(shards, tmp_path / "c.fastq", order="concat") == ("reads", 3307)
    assert (tmp_path / "c.fastq").read_bytes() != FASTQ.read_bytes()
    assert main(["merge", "-q", str(shards[1]), str(shards[2]), str(shards[0]), "-o", str(tmp_path / "o.fq")]) == 0
    assert (tmp_path / "o.fq").read_bytes() == FASTQ.read_bytes()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_plain_chunks_interleave_needs_manifests(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Chunks without manifests merge only when asked to concatenate; interleave refuses them."""
    shards = _split_fastq(FASTQ, tmp_path, 2, manifests=False)
    assert main(["merge", *map(str, shards), "-o", str(tmp_path / "m.fq")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{shards[0]}: no shard manifest shard1.fastq.seqfcn-shard.json" in err
    assert not (tmp_path / "m.fq").exists()
    assert main(["merge", "-q", "--order", "concat", *map(str, shards), "-o", str(tmp_path / "c.fq")]) == 0
    assert len((tmp_path / "c.fq").read_bytes()) == len(FASTQ.read_bytes())


def test_read_shard_set_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A changed shard, a shard of another n, and a manifest whose counts do not add up."""
    shards = _split_fastq(FASTQ, tmp_path, 3)
    shards[2].write_bytes(shards[2].read_bytes()[:-4] + b"IIII")  # changed after it was written
    assert main(["merge", *map(str, shards), "-o", str(tmp_path / "m.fq")]) == 2
    assert f"{shards[2]}: does not match its manifest" in capsys.readouterr().err
    _manifest(shards[2], FASTQ, 2, 3, 3307, 1101)  # one read short of its share
    assert main(["merge", *map(str, shards), "-o", str(tmp_path / "m.fq")]) == 2
    assert f"{shards[2]}: holds 1101 reads, but shard 3/3 of 3307 reads has 1102" in capsys.readouterr().err
    _manifest(shards[2], FASTQ, 2, 4, 3307, 1102)
    assert main(["merge", *map(str, shards), "-o", str(tmp_path / "m.fq")]) == 2
    assert "shard 3/4 does not belong with 3 shards" in capsys.readouterr().err
    assert not (tmp_path / "m.fq").exists()


@pytest.mark.skipif(not (MODEL / "config.json").exists(), reason="default correction model not built")
def test_corrected_shards_merge_equals_unsharded(tmp_path: Path) -> None:
    from seqfcn.correction.pipeline import correct_reads

    subset = tmp_path / "reads.fastq"
    subset.write_bytes(b"".join(FASTQ.read_bytes().splitlines(keepends=True)[: 4 * 400]))
    correct_reads(subset, MODEL, tmp_path / "full.fastq", progress=False)
    outs = [tmp_path / f"shard{i + 1}.out.fastq" for i in range(2)]
    for i, path in enumerate(outs):
        correct_reads(subset, MODEL, path, progress=False, shard=(i, 2))
    assert merge_shards(outs, tmp_path / "merged.fastq") == ("reads", 400)
    assert (tmp_path / "merged.fastq").read_bytes() == (tmp_path / "full.fastq").read_bytes()


def test_bam_shards_merge(tmp_path: Path) -> None:
    with pysam.AlignmentFile(str(BAM)) as fh:
        header = fh.header.to_dict()
        segments = list(fh.fetch(until_eof=True))
    records = [r.to_string() for r in segments]
    assert len(records) > 3000
    paths = []
    for i in range(2):
        h = {**header, "PG": [{"ID": "seqfcn", "PN": "seqfcn", "VN": "0.1.0",
                               "CL": f"seqfcn correct ex1.bam --shard {i + 1}/2 -o out.bam"}]}
        paths.append(tmp_path / f"s{i + 1}.bam")
        with pysam.AlignmentFile(str(paths[-1]), "wb", header=h) as out:
            for seg in shard_reads(segments, i, 2):
                out.write(seg)
        _manifest(paths[-1], BAM, i, 2, len(segments), len(range(i, len(segments), 2)))
    assert merge_shards(paths, tmp_path / "m.bam") == ("reads", len(records))
    with pysam.AlignmentFile(str(tmp_path / "m.bam")) as fh:
        assert [r.to_string() for r in fh.fetch(until_eof=True)] == records
        assert fh.header.to_dict()["PG"] == [{"ID": "seqfcn", "PN": "seqfcn", "VN": "0.1.0",
                                              "CL": "seqfcn correct ex1.bam -o out.bam"}]
    assert merge_shards(paths, tmp_path / "m.sam") == ("reads", len(records))
    assert (tmp_path / "m.sam").read_text().startswith("@HD")


def test_plain_bed_sorted_merge(tmp_path: Path) -> None:
    (tmp_path / "a.bed").write_text("track name=x\nchr2\t5\t9\ta\nchr2\t20\t30\tb\nchr10\t1\t2\tc\n")
    (tmp_path / "b.bed").write_text("track name=y\n#comment\nchr2\t5\t9\td\nchr2\t7\t8\te\nchr10\t0\t5\tf\n")
    assert merge_bed([tmp_path / "a.bed", tmp_path / "b.bed"], tmp_path / "m.bed") == 6
    assert (tmp_path / "m.bed").read_text() == (
        "track name=x\nchr2\t5\t9\ta\nchr2\t5\t9\td\nchr2\t7\t8\te\nchr2\t20\t30\tb\nchr10\t0\t5\tf\nchr10\t1\t2\tc\n")
    assert merge_shards([tmp_path / "a.bed"], tmp_path / "one.bed")[0] == "bed"


def test_stdout_carries_data_only(tmp_path: Path, capsys: pytest.CaptureFixture,
                                  caplog: pytest.LogCaptureFixture) -> None:
    assert main([*_scan("--shard", "1/1", "-o", str(tmp_path / "s.bed"))]) == 0
    capsys.readouterr()
    caplog.set_level(logging.INFO, logger="seqfcn")
    assert main(["merge", str(tmp_path / "s.bed")]) == 0  # -o - is the default
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("track name=seqfcn_scan") and "seqfcn_shard" not in lines[0]
    assert len(lines) > 100 and all(line.count("\t") == 9 for line in lines[1:])
    assert "merged 1 scan shard(s): " in caplog.text  # the log goes to logging (stderr), not stdout


KMER_MODEL = MODELS["kmer_illumina"].path


@pytest.mark.parametrize("suffix", [".fastq", ".bam"])
def test_cli_correct_shards_merge_byte_identical(tmp_path: Path, suffix: str) -> None:
    """`seqfcn correct --shard i/3` then `seqfcn merge` == one unsharded run, with a model that counts
    the whole input's k-mer spectrum (so every shard sees the same evidence)."""
    src = FASTQ if suffix == ".fastq" else BAM
    full = tmp_path / f"full{suffix}"
    base = ["correct", str(src), "--model", str(KMER_MODEL), "--no-progress", "-q", "--min-confidence", "0.5"]
    assert main([*base, "-o", str(full)]) == 0
    shards = [tmp_path / f"s{i}{suffix}" for i in range(1, 4)]
    for i, path in enumerate(shards, 1):
        assert main([*base, "--shard", f"{i}/3", "-o", str(path)]) == 0
    counts = [sum(1 for _ in read_reads(p)) for p in shards]
    assert counts == [1103, 1102, 1102]
    merged = tmp_path / f"merged{suffix}"
    assert main(["merge", "-q", *map(str, shards), "-o", str(merged)]) == 0
    if suffix == ".fastq":
        assert merged.read_bytes() == full.read_bytes()
    else:
        with pysam.AlignmentFile(str(merged)) as a, pysam.AlignmentFile(str(full)) as b:
            assert [r.to_string() for r in a.fetch(until_eof=True)] == [r.to_string() for r in b.fetch(until_eof=True)]
    changed = sum(a.sequence != b.sequence for a, b in zip(read_reads(src), read_reads(full)))
    assert changed > 100  # the reads were corrected, not just copied


def test_stdin_shards_prove_their_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Shards read from stdin record a hash of the records they read: shards of the same stream
    merge to the unsharded output, a shard of other records is refused."""
    import subprocess
    import sys

    from seqfcn.correction.pipeline import correct_reads

    lines = FASTQ.read_bytes().splitlines(keepends=True)
    reads, other = b"".join(lines[:4 * 60]), b"".join(lines[4 * 60:4 * 120])
    (tmp_path / "reads.fq").write_bytes(reads)
    correct_reads(tmp_path / "reads.fq", MODEL, tmp_path / "full.fq", progress=False, device="cpu")

    def shard(data: bytes, i: int, out: str) -> None:
        done = subprocess.run([sys.executable, "-m", "seqfcn", "correct", "-", "--model", str(MODEL), "-q",
                               "--device", "cpu", "--shard", f"{i}/2", "-o", str(tmp_path / out)],
                              input=data, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr

    shard(reads, 1, "s1.fq")
    shard(reads, 2, "s2.fq")
    shard(other, 2, "o2.fq")
    assert main(["merge", "-q", str(tmp_path / "s2.fq"), str(tmp_path / "s1.fq"), "-o", str(tmp_path / "m.fq")]) == 0
    assert (tmp_path / "m.fq").read_bytes() == (tmp_path / "full.fq").read_bytes()
    capsys.readouterr()
    assert main(["merge", str(tmp_path / "s1.fq"), str(tmp_path / "o2.fq"), "-o", str(tmp_path / "x.fq")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{tmp_path / 'o2.fq'}: comes from another input (reads stdin:" in err
    assert not (tmp_path / "x.fq").exists()


def test_mates_of_one_pair_are_not_merged_together(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    shards = _split_fastq(FASTQ, tmp_path, 2)
    write_read_manifest(shards[1], ReadShardManifest(1, 2, "testrun", (file_fingerprint(FASTQ),), 1, 3307, 1653))
    assert main(["merge", *map(str, shards), "-o", str(tmp_path / "m.fq")]) == 2
    assert f"{shards[1]}: holds mate 2, {shards[0]} mate 1" in capsys.readouterr().err
    assert not (tmp_path / "m.fq").exists()
