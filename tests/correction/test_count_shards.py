"""Count shards: `seqfcn count --shard i/n` + `seqfcn merge` give exactly the one-process spectrum,
and a set that does not belong together is refused in one line before anything is written."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import assert_same_spectrum_file, EX1_FASTQ, ILLUMINA_R1, ILLUMINA_R2, KMER_MODEL
from seqfcn.correction.count_shards import merge_count_shards, partition_of, shard_record
from seqfcn.correction.kmers import KmerTable
from seqfcn.correction.spectrum import _PARTS, SpectrumCounter, solid_threshold
from seqfcn.sequence.encode import to_codes


def _inputs(tmp_path: Path, kind: str) -> list[str]:
    if kind == "fastq":  # the compiled FASTQ parser
        return [str(EX1_FASTQ)]
    if kind == "pair":  # two gzip files, one spectrum
        return [str(ILLUMINA_R1), str(ILLUMINA_R2)]
    lines = EX1_FASTQ.read_text().splitlines()  # FASTA: the strict reader feeds the counter
    fasta = tmp_path / "ex1.fa"
    fasta.write_text("".join(f">{lines[i][1:]}\n{lines[i + 1]}\n" for i in range(0, len(lines), 4)))
    return [str(fasta)]


@pytest.mark.parametrize("kind", ["fastq", "fasta", "pair"])
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_count_shards_merge_into_the_unsharded_spectrum(tmp_path: Path, cli, kind: str, n: int) -> None:
    reads = _inputs(tmp_path, kind)
    whole, merged = tmp_path / "whole.kmers", tmp_path / "merged.kmers"
    assert cli(["count", *reads, "-k", "21", "-o", whole])[0] == 0
    shards = [tmp_path / f"part.{i}.kmers" for i in range(1, n + 1)]
    for i, shard in enumerate(shards, 1):
        assert cli(["count", *reads, "-k", "21", "--shard", f"{i}/{n}", "-o", shard])[0] == 0
    assert cli(["merge", *shards[::-1], "-o", merged])[0] == 0  # any order
    assert_same_spectrum_file(whole, merged)
    a, b = KmerTable.load(whole), KmerTable.load(merged)
    assert b.shard is None and a.meta() == b.meta() and len(a) > 1000
    assert np.array_equal(np.bincount(a.counts), np.bincount(b.counts))
    assert solid_threshold(a) == solid_threshold(b)
    parts = [KmerTable.load(s) for s in shards]
    assert sum(len(t) for t in parts) == len(a)  # disjoint shares
    for i, t in enumerate(parts):
        assert t.shard == {"index": i, "count": n, "partitions": _PARTS, "parts": list(range(i, _PARTS, n))}
        assert set(partition_of(t.keys, _PARTS).tolist()) <= set(t.shard["parts"])
        assert t.reads == a.reads and t.inputs == a.inputs


def test_the_counter_and_partition_of_agree_on_every_partition() -> None:
    """Each partition counted alone holds exactly the k-mers partition_of() puts there, with the
    counts of the run over all partitions (the Bloom filter is per partition)."""
    rng = np.random.default_rng(3)
    genome = "".join(rng.choice(list("ACGT"), 3000))
    reads = [genome[s:s + 80] for s in rng.integers(0, 2920, 600)]

    def count(partitions) -> KmerTable:
        counter = SpectrumCounter(15, expected_bases=48_000, partitions=partitions)
        codes = np.concatenate([to_codes(r).astype(np.uint8) for r in reads])
        counter.add(codes, np.arange(0, 80 * len(reads) + 1, 80, dtype=np.int64))
        counter.release()
        return counter.table()

    whole = count(None)
    got = [count([p]) for p in range(_PARTS)]
    for p, t in enumerate(got):
        assert len(t) and (partition_of(t.keys, _PARTS) == p).all()
        idx = np.searchsorted(whole.keys, t.keys)
        assert np.array_equal(whole.keys[idx], t.keys) and np.array_equal(whole.counts[idx], t.counts)
    assert sum(len(t) for t in got) == len(whole)


def test_without_the_compiled_counter_shards_still_merge_exactly(monkeypatch, tmp_path: Path) -> None:
    """numpy counts every k-mer exactly; a shard keeps its partitions' k-mers."""
    import seqfcn.correction.spectrum as spectrum
    from seqfcn.correction.evidence import count_reads

    monkeypatch.setattr(spectrum, "_kmercount", None)
    whole = count_reads([str(EX1_FASTQ)], 17)
    for i in range(3):
        table = count_reads([str(EX1_FASTQ)], 17, shard=(i, 3))
        table.save(tmp_path / f"s.{i + 1}.kmers")
    assert merge_count_shards([tmp_path / f"s.{i}.kmers" for i in (2, 3, 1)], tmp_path / "m.kmers") == len(whole)
    merged = KmerTable.load(tmp_path / "m.kmers")
    assert np.array_equal(merged.keys, whole.keys) and np.array_equal(merged.counts, whole.counts)
    assert merged.meta() == whole.meta()


def _one_line(err: str) -> str:
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_refusals_are_one_line_and_write_nothing(tmp_path: Path, cli) -> None:
    reads = str(EX1_FASTQ)
    for i in (1, 2):
        assert cli(["count", reads, "-k", "21", "--shard", f"{i}/2", "-o", tmp_path / f"s.{i}.kmers"])[0] == 0
    assert cli(["count", reads, "-k", "21", "-o", tmp_path / "whole.kmers"])[0] == 0

    code, _, err = cli(["count", reads, "--shard", f"{_PARTS + 1}/{_PARTS + 1}", "-o", tmp_path / "x.kmers"])
    assert code == 2 and f"at most {_PARTS} count shards, not {_PARTS + 1}" in _one_line(err)
    code, _, err = cli(["merge", tmp_path / "whole.kmers", tmp_path / "s.1.kmers", "-o", tmp_path / "x.kmers"])
    assert code == 2 and "whole.kmers: is a whole spectrum, not a count shard" in _one_line(err)
    code, _, err = cli(["merge", tmp_path / "s.1.kmers", tmp_path / "s.2.kmers", "-o", "-"])
    assert code == 2 and "a merged spectrum is a file" in _one_line(err)

    # shard 2's k-mers in a file that says it is shard 1: refused, not merged into a wrong spectrum
    one, two = KmerTable.load(tmp_path / "s.1.kmers"), KmerTable.load(tmp_path / "s.2.kmers")
    KmerTable(21, two.keys, two.counts, inputs=two.inputs, reads=two.reads, shard=one.shard).save(tmp_path / "t.kmers")
    code, _, err = cli(["merge", tmp_path / "t.kmers", tmp_path / "s.2.kmers", "-o", tmp_path / "x.kmers"])
    assert code == 2 and f"t.kmers: holds {len(two)} k-mers outside count shard 1/2's partitions" in _one_line(err)

    code, _, err = cli(["correct", reads, "--model", KMER_MODEL, "--spectrum", tmp_path / "s.1.kmers",
                        "-o", tmp_path / "x.fq", "--no-progress"])
    assert code == 2 and "s.1.kmers: is count shard 1/2, only a share of the k-mers" in _one_line(err)
    assert not (tmp_path / "x.kmers").exists() and not (tmp_path / "x.fq").exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_shard_record_is_the_partition_split() -> None:
    assert shard_record((0, 1))["parts"] == list(range(_PARTS))
    assert shard_record((1, 3))["parts"] == [p for p in range(_PARTS) if p % 3 == 1]
