"""The FASTQ block path of read correction writes byte for byte what the strict path writes."""
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import LAMBDA_FA, write_simulated_reads
from seqfcn.resources import MODELS
from seqfcn.correction import blocks
from seqfcn.correction.pipeline import correct_reads
from seqfcn.correction.training import genome_codes
from seqfcn.training.simulate import IlluminaErrorModel
from seqfcn.correction.kmers import _kmercount

KMER_MODEL = MODELS["kmer_illumina"].path
_RUN_ONLY = {"seconds", "batches", "output", "shard", "input"}


@pytest.fixture(scope="module")
def reads(tmp_path_factory) -> Path:
    """Lambda reads at ~16x with a few records the block path must round-trip: comments,
    lower-case bases, Ns, an empty read."""
    path = tmp_path_factory.mktemp("blocks") / "r.fq"
    write_simulated_reads(path, genome_codes(LAMBDA_FA), IlluminaErrorModel.default(read_length=100, q_end=20),
                          8000, 100, seed=3)
    lines = path.read_text().splitlines()
    lines[0] += " 1:N:0:ACGT extra"  # a comment
    lines[5] = lines[5][:30].lower() + lines[5][30:]  # lower-case bases
    lines[9] = lines[9][:50] + "N" + lines[9][51:]
    lines[12:12] = ["@empty", "", "+", ""]
    path.write_text("\n".join(lines) + "\n")
    return path


def _correct(reads: Path, out: Path, **options) -> dict:
    stats = correct_reads(reads, KMER_MODEL, out, progress=False, device="cpu", **options)
    return {k: v for k, v in stats.items() if k not in _RUN_ONLY}


def _strict(reads: Path, out: Path) -> dict:
    return _correct(reads, out, shard=(0, 1))  # sharded runs take the strict path; one shard is every read


def test_block_path_equals_the_strict_path_across_block_boundaries(reads, tmp_path, monkeypatch):
    calls = []
    real = blocks._correct_block
    monkeypatch.setattr(blocks, "_correct_block", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(blocks, "_BLOCK_BYTES", 5000)  # records split across many blocks
    fast = _correct(reads, tmp_path / "fast.fq")
    strict = _strict(reads, tmp_path / "strict.fq")
    assert len(calls) > 100
    assert (tmp_path / "fast.fq").read_bytes() == (tmp_path / "strict.fq").read_bytes()
    assert fast == strict
    assert fast["reads"] == 8001 and fast["reads_passed_through"] == 1
    assert fast["bases_substituted"] > 500 and fast["reads_skipped_solid"] > 1000
    out = (tmp_path / "fast.fq").read_text().splitlines()
    assert out[0].endswith(" 1:N:0:ACGT extra") and out[12:16] == ["@empty", "", "+", ""]


def test_gzip_in_and_out(reads, tmp_path):
    gz = tmp_path / "r.fq.gz"
    gz.write_bytes(gzip.compress(reads.read_bytes()))
    _correct(gz, tmp_path / "o.fq.gz")
    _correct(reads, tmp_path / "o.fq")
    assert gzip.decompress((tmp_path / "o.fq.gz").read_bytes()) == (tmp_path / "o.fq").read_bytes()


@pytest.mark.parametrize("change", [
    lambda t: t.replace("@r3\n", "@r3\tsample\n", 1),  # a tab: pysam splits the name there too
    lambda t: t.replace("\n+\n", "\n+r0\n", 1),  # the name repeated on the '+' line
    lambda t: t.replace("@r5\n", "@r5 \n", 1),  # a trailing space
    lambda t: t.replace("@empty\n\n+\n\n", "").replace("\n", "\r\n"),  # Windows line ends
    lambda t: t[:-1],  # no final newline
    lambda t: t + "\n",  # a blank line at the end
])
def test_records_outside_the_canonical_layout_take_the_strict_path(reads, tmp_path, change, caplog):
    odd = tmp_path / "odd.fq"
    odd.write_bytes(change(reads.read_text()).encode())
    with caplog.at_level("INFO", logger="seqfcn.correction"):
        fast = _correct(odd, tmp_path / "fast.fq")
    assert "record by record" in caplog.text
    strict = _strict(odd, tmp_path / "strict.fq")
    assert (tmp_path / "fast.fq").read_bytes() == (tmp_path / "strict.fq").read_bytes()
    assert fast == strict and fast["reads"] in (8000, 8001)


def test_a_malformed_record_is_still_named_with_exit_2(reads, tmp_path, cli):
    bad = tmp_path / "bad.fq"
    text = reads.read_text().splitlines()
    text[4001] = text[4001][:-1]  # the 1,001st record's bases one short of its qualities
    bad.write_text("\n".join(text) + "\n")
    code, _, err = cli(["correct", bad, "--model", KMER_MODEL, "-o", tmp_path / "o.fq", "--no-progress",
                        "--device", "cpu", "-q"])
    assert code == 2 and len(err.strip().splitlines()) == 1 and "r999" in err, err
    assert not (tmp_path / "o.fq").exists()


def test_bad_input_met_by_the_block_path_is_named_with_exit_2(reads, tmp_path, cli):
    """With ``--spectrum`` there is no counting pass: the block path itself meets the bad base,
    leaves the file to the strict reader, which names file, record and position; no output."""
    good = tmp_path / "good" / "r.fq"
    good.parent.mkdir()
    good.write_bytes(reads.read_bytes())
    assert cli(["count", good, "-k", "21", "-o", tmp_path / "r.kmers", "-q"])[0] == 0
    bad = tmp_path / "r.fq"  # the same name and size (other content)
    lines = reads.read_text().splitlines()
    lines[24001] = lines[24001][:17] + "X" + lines[24001][18:]  # record 6,001 (r5999: the empty read comes 4th), base 17
    bad.write_text("\n".join(lines) + "\n")
    from seqfcn.correction.evidence import describe_inputs, load_spectrum

    table = load_spectrum(tmp_path / "r.kmers")  # the spectrum claims the bad file's content: the check passes
    table.inputs = describe_inputs(bad)
    table.save(tmp_path / "r.kmers")
    code, _, err = cli(["correct", bad, "--model", KMER_MODEL, "-o", tmp_path / "o.fq", "--no-progress",
                        "--device", "cpu", "-q", "--spectrum", tmp_path / "r.kmers"])
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and str(bad) in lines[0] and "r5999" in lines[0] and "position 17" in lines[0], err
    assert not (tmp_path / "o.fq").exists()


def test_fastq_spans_finds_canonical_records_exactly():
    data = b"@a x\nACGT\n+\nIIII\n@b\n\n+\n\n@c\nAC\n+\nI"  # the last record is incomplete
    spans = np.zeros((8, 4), np.int64)
    used, n, longest, bad = _kmercount.fastq_spans(data, 0, 8, 33, blocks._VALID, spans)
    assert (used, n, longest, bad) == (24, 2, 4, -1)
    assert spans[:2].tolist() == [[0, 5, 4, 17], [17, 20, 0, 24]]
    assert _kmercount.fastq_spans(data, 0, 1, 33, blocks._VALID, spans)[:2] == (17, 1)
    codes = np.zeros((2, 4), np.uint8)
    quals = np.zeros((2, 4), np.uint8)
    _kmercount.fill_rows(data, spans, 2, 4, blocks._TABLE, 33, codes, quals)
    assert codes.tolist() == [[0, 1, 2, 3], [4, 4, 4, 4]] and quals.tolist() == [[40] * 4, [0] * 4]
    for odd in (b"@a\nACGT\n+a\nIIII\n", b"@a\nACXT\n+\nIIII\n", b"@a\nACGT\n+\nII \x7f\n", b"@ a\nA\n+\nI\n",
                b"@a  b\nA\n+\nI\n", b"@a\tb\nA\n+\nI\n", b"@a\nACG\n+\nIIII\n", b"a\nA\n+\nI\n"):
        assert _kmercount.fastq_spans(b"@ok\nA\n+\nI\n" + odd, 0, 8, 33, blocks._VALID, spans)[1:] == (1, 1, 1), odd
    assert _kmercount.fastq_spans(b"@a\nA\n+\n;\n", 0, 8, 64, blocks._VALID, spans)[3] == 0  # below Phred+64


def test_stats_file_of_the_block_path(reads, tmp_path, cli):
    code, _, _ = cli(["correct", reads, "--model", KMER_MODEL, "-o", tmp_path / "o.fq", "--no-progress",
                      "--device", "cpu", "-q", "--stats", tmp_path / "s.json"])
    stats = json.loads((tmp_path / "s.json").read_text())
    assert code == 0 and stats["reads"] == 8001 and stats["bases_examined"] == 8000 * 100
