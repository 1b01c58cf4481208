"""Spectrum files a piece at a time: `seqfcn count --memory` writes the file an uncapped count
writes, `merge` and `correct --spectrum` read files in chunks, and a damaged file is one line."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_same_spectrum_file, EX1_FASTQ, KMER_MODEL
from seqfcn.correction import spectrum_passes as passes
from seqfcn.correction.evidence import count_spectrum
from seqfcn.correction.kmers import KmerTable
from seqfcn.correction.spectrum import COUNT_BITS, SpectrumCounter, compiled, expected_bases
from seqfcn.correction.spectrum_files import SpectrumReader, load_compact, write_sorted
from seqfcn.errors import SeqfcnError

pytestmark = pytest.mark.skipif(not compiled(), reason="compiled k-mer kernels not built")


@pytest.fixture(scope="module")
def reads_fastq(tmp_path_factory) -> Path:
    """6x of 150 bp reads of a random 300 kb genome, 1% substitutions, both strands (~280 k 21-mers kept)."""
    rng = np.random.default_rng(11)
    genome = rng.integers(0, 4, 300_000)
    path = tmp_path_factory.mktemp("reads") / "reads.fq"
    with open(path, "w") as fh:
        for i, s in enumerate(rng.integers(0, genome.shape[0] - 150, 12_000)):
            r = genome[s:s + 150].copy()
            hit = rng.random(150) < 0.01
            r[hit] = (r[hit] + rng.integers(1, 4, int(hit.sum()))) % 4
            if rng.random() < 0.5:
                r = 3 - r[::-1]
            fh.write(f"@r{i}\n{''.join('ACGT'[x] for x in r)}\n+\n{'I' * 150}\n")
    return path


def _cap_for(path: Path, monkeypatch) -> int:
    """A cap that forces several passes: the process and batches ignored, the filters plus 1.8 MB."""
    monkeypatch.setattr(passes, "resident_bytes", lambda: 0)
    monkeypatch.setattr(passes, "SLACK", 0)
    counter = SpectrumCounter(21, expected_bases=expected_bases(str(path)))
    return counter.nbytes - counter.table_bytes() + 1_800_000


def test_count_under_a_cap_writes_the_uncapped_file(reads_fastq, tmp_path, monkeypatch, caplog):
    meta = count_spectrum([reads_fastq], tmp_path / "one.kmers", k=21)
    cap = _cap_for(reads_fastq, monkeypatch)
    with caplog.at_level(logging.INFO, logger=passes.__name__):
        capped = count_spectrum([reads_fastq], tmp_path / "capped.kmers", k=21, memory=cap)
    assert sum("counting pass" in r.getMessage() for r in caplog.records) >= 2  # the cap forced passes
    assert capped == meta and meta["distinct"] > 250_000 and meta["reads"] == 12_000
    assert_same_spectrum_file(tmp_path / "one.kmers", tmp_path / "capped.kmers")
    # a count shard under the cap: the uncapped shard's file
    count_spectrum([reads_fastq], tmp_path / "s2.kmers", k=21, shard=(1, 3))
    count_spectrum([reads_fastq], tmp_path / "s2c.kmers", k=21, shard=(1, 3), memory=cap)
    assert_same_spectrum_file(tmp_path / "s2.kmers", tmp_path / "s2c.kmers")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["capped.kmers", "one.kmers", "s2.kmers", "s2c.kmers"]


@pytest.mark.parametrize("k", [3, 11, 21])
def test_write_sorted_of_shuffled_chunks_is_the_table_saved(k, tmp_path):
    rng = np.random.default_rng(k)
    keys = np.unique(rng.integers(0, 4 ** k, 5_000, dtype=np.uint64))
    counts = rng.integers(2, 300, keys.shape[0]).astype(np.int64)
    counts[:3] = (1 << COUNT_BITS) - 1  # the largest count a packed k-mer holds
    table = KmerTable(k, keys, counts, inputs=[{"name": "x.fq", "bytes": 1, "fingerprint": "ab"}], reads=77)
    table.save(tmp_path / "saved.kmers")
    packed = (keys << np.uint64(COUNT_BITS)) | counts.astype(np.uint64)
    chunks = np.array_split(rng.permutation(packed), 7)
    (tmp_path / "tmp").mkdir()
    n = write_sorted(tmp_path / "streamed.kmers", k, iter(chunks), {"source": "reads", "inputs": table.inputs,
                                                                     "reads": 77}, str(tmp_path / "tmp"))["distinct"]
    assert n == keys.shape[0]
    assert_same_spectrum_file(tmp_path / "saved.kmers", tmp_path / "streamed.kmers")
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_file_loaded_a_sub_table_at_a_time_is_the_compacted_table(reads_fastq, tmp_path):
    count_spectrum([reads_fastq], tmp_path / "s.kmers", k=21)
    whole = KmerTable.load(tmp_path / "s.kmers").compact(min_cap=40)
    with SpectrumReader(tmp_path / "s.kmers") as reader:
        got = load_compact(tmp_path / "s.kmers", reader, min_cap=40, tmp_dir=tmp_path)
    assert got.compacted and len(got) == len(whole) and got.scale == whole.scale
    assert (got.inputs, got.reads, got.source, got.shard) == (whole.inputs, whole.reads, "reads", None)
    np.testing.assert_array_equal(got.count_histogram(), whole.count_histogram())
    np.testing.assert_array_equal(got.index().offsets, whole.index().offsets)
    np.testing.assert_array_equal(got.index().entries, whole.index().entries)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.kmers"]  # the k-mers on disk are gone


def _damaged(tmp_path: Path, keys, counts, **meta) -> Path:
    import json

    path = tmp_path / "bad.kmers"
    doc = {"k": 5, "source": "reads", "scale": 3.0, "distinct": len(keys), **meta}
    with open(path, "wb") as fh:
        np.savez_compressed(fh, keys=np.asarray(keys, np.uint64), counts=np.asarray(counts, np.int64),
                            meta=np.frombuffer(json.dumps(doc).encode(), np.uint8))
    return path


@pytest.mark.parametrize("keys, counts, meta, message", [
    ([5, 3, 9], [2, 2, 2], {}, "not sorted and unique"),
    ([3, 3, 9], [2, 2, 2], {}, "not sorted and unique"),
    ([3, 4, 1 << 10], [2, 2, 2], {}, "not a 5-mer"),
    ([3, 4, 9], [2, -1, 2], {}, "negative count"),
    ([3, 4, 9], [2, 2, 2], {"distinct": 4}, "meta says (4,)"),
])
def test_a_damaged_file_is_one_line_naming_it(tmp_path, keys, counts, meta, message):
    path = _damaged(tmp_path, keys, counts, **meta)
    with pytest.raises(SeqfcnError, match="bad.kmers: not a seqfcn k-mer table") as err, SpectrumReader(path) as r:
        list(r.chunks(size=2))
    assert message in str(err.value) and "\n" not in str(err.value)
    (tmp_path / "junk.kmers").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(SeqfcnError, match="junk.kmers: not a seqfcn k-mer table"):
        SpectrumReader(tmp_path / "junk.kmers")


def test_count_memory_on_the_command_line(tmp_path, cli, caplog):
    reads = str(EX1_FASTQ)
    assert cli(["count", reads, "-o", tmp_path / "a.kmers"])[0] == 0
    assert cli(["count", reads, "-o", tmp_path / "b.kmers", "--memory", "1G"])[0] == 0
    assert_same_spectrum_file(tmp_path / "a.kmers", tmp_path / "b.kmers")
    for extra, message in [(["--memory", "20M"], "too little to count k-mers"),
                           (["--memory", "1G", "-k", "25"], "--memory needs the compiled k-mer counter and k <= 21"),
                           (["--memory", "lots"], "--memory")]:
        code, _, err = cli(["count", reads, "-o", tmp_path / "x.kmers", *extra])
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "x.kmers").exists()
    # the capped file serves correct --spectrum: the output of counting in the run itself
    base = ["correct", reads, "--model", KMER_MODEL, "--no-progress"]
    assert cli([*base, "-o", tmp_path / "counted.fq"])[0] == 0
    with caplog.at_level(logging.WARNING):
        code = cli([*base, "--spectrum", tmp_path / "b.kmers", "-o", tmp_path / "given.fq", "--memory", "1G"])[0]
    assert code == 0 and "with --spectrum there is none" in caplog.text  # said, not silently ignored
    assert (tmp_path / "counted.fq").read_bytes() == (tmp_path / "given.fq").read_bytes()
    with SpectrumReader(tmp_path / "b.kmers") as reader:  # right k and reads, k-mers out of order
        bad = _damaged(tmp_path, [5, 3], [2, 2], k=21, inputs=reader.meta["inputs"])
    code, _, err = cli([*base, "--spectrum", bad, "-o", tmp_path / "y.fq"])
    assert code == 2 and "bad.kmers: not a seqfcn k-mer table" in err and not (tmp_path / "y.fq").exists()


def test_a_saturated_count_is_the_same_capped_uncapped_and_merged(tmp_path, cli):
    """A k-mer seen more than 2**22 times keeps the packed field's largest count, 4,194,303, in
    every path (the uncapped table once added the filter's +1 to it)."""
    reads = tmp_path / "a.fq"
    reads.write_text("".join(f"@r{i}\n{'A' * 100_000}\n+\n{'I' * 100_000}\n" for i in range(42)))
    for name, extra in (("u", []), ("c", ["--memory", "1G"])):
        assert cli(["count", reads, "-k", "3", "-o", tmp_path / f"{name}.kmers", *extra])[0] == 0
    assert_same_spectrum_file(tmp_path / "u.kmers", tmp_path / "c.kmers")
    saturated = KmerTable.load(tmp_path / "u.kmers")
    assert saturated.counts.max() == (1 << COUNT_BITS) - 1 and saturated.scale == (1 << COUNT_BITS) - 1
    for i in (1, 2):
        assert cli(["count", reads, "-k", "3", "--shard", f"{i}/2", "-o", tmp_path / f"s{i}.kmers"])[0] == 0
    assert cli(["merge", tmp_path / "s1.kmers", tmp_path / "s2.kmers", "-o", tmp_path / "m.kmers"])[0] == 0
    assert_same_spectrum_file(tmp_path / "u.kmers", tmp_path / "m.kmers")


def _rewrite(src: Path, dst: Path, *, drop: str | None = None, **meta) -> Path:
    """``src`` written to ``dst`` with ``meta`` keys changed (None: removed) or member ``drop`` left out."""
    import json

    with np.load(src, allow_pickle=False) as z:
        arrays = {name: z[name] for name in z.files if name != drop}
    doc = json.loads(arrays["meta"].tobytes().decode())
    doc.update(meta)
    doc = {key: value for key, value in doc.items() if value is not None}
    arrays["meta"] = np.frombuffer(json.dumps(doc).encode(), np.uint8)
    with open(dst, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    return dst


def test_hand_edited_files_are_one_line_everywhere(tmp_path, cli):
    reads = str(EX1_FASTQ)
    for i in (1, 2):
        assert cli(["count", reads, "--shard", f"{i}/2", "-o", tmp_path / f"s{i}.kmers"])[0] == 0
    assert cli(["count", reads, "-o", tmp_path / "w.kmers"])[0] == 0
    bad = [_rewrite(tmp_path / "s1.kmers", tmp_path / "noscale.kmers", scale=None),
           _rewrite(tmp_path / "s1.kmers", tmp_path / "textscale.kmers", scale="high"),
           _rewrite(tmp_path / "s1.kmers", tmp_path / "nokeys.kmers", drop="keys")]
    for path in bad:
        code, _, err = cli(["merge", tmp_path / "s2.kmers", path, "-o", tmp_path / "x.kmers"])
        assert code == 2 and f"{path.name}: not a seqfcn k-mer table" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.kmers").exists()
    nokeys = _rewrite(tmp_path / "w.kmers", tmp_path / "wnokeys.kmers", drop="keys")
    code, _, err = cli(["correct", reads, "--model", KMER_MODEL, "--spectrum", nokeys, "-o", tmp_path / "y.fq",
                        "--no-progress"])
    assert code == 2 and "wnokeys.kmers: not a seqfcn k-mer table" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "y.fq").exists()
