"""Sharding: round-robin read shards, their interleaving inverse, scan shard files, torchrun ranks."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqfcn.runtime.distributed import RankInfo, part_path, rank_device, run_sharded, torchrun_rank
from seqfcn.errors import InputFormatError, SeqfcnError
from seqfcn.runtime.merge import interleave
from seqfcn.motifs.scan import HIT_COLUMNS
from seqfcn.runtime.shard import check_shard, shard_reads, strip_shard_argument
from seqfcn.motifs.shards import read_scan_shard, scan_run_id, write_scan_shard


def test_shard_reads_partition_sizes_and_order() -> None:
    for total in (0, 1, 7, 10, 11):
        for count in (1, 2, 3, 4, 12):
            shards = [list(shard_reads(iter(range(total)), i, count)) for i in range(count)]
            assert sorted(x for s in shards for x in s) == list(range(total))  # each read exactly once
            sizes = [len(s) for s in shards]
            assert sizes == [total // count + (i < total % count) for i in range(count)]
            assert all(s == sorted(s) for s in shards)  # file order kept
            assert list(interleave(shards)) == list(range(total))  # the merge is the inverse
    assert list(shard_reads(range(10), 1, 3)) == [1, 4, 7]


def test_interleave_rejects_shards_out_of_order() -> None:
    shards = [list(shard_reads(range(7), i, 3)) for i in range(3)]  # sizes 3, 2, 2
    assert list(interleave(shards)) == list(range(7))
    with pytest.raises(SeqfcnError, match="round-robin"):
        list(interleave([shards[1], shards[0], shards[2]], ["b", "a", "c"]))  # 2, 3, 2: shard b ends early
    with pytest.raises(SeqfcnError, match="round-robin"):
        list(interleave([[1, 2, 3, 4], [5]]))  # sizes differ by 3


def test_check_shard_errors() -> None:
    assert check_shard((2, 3)) == (2, 3)
    for bad in ((3, 3), (-1, 2), (0, 0)):
        with pytest.raises(SeqfcnError):
            check_shard(bad)
    with pytest.raises(SeqfcnError):
        list(shard_reads(range(3), 2, 2))


def test_strip_shard_argument() -> None:
    assert strip_shard_argument("seqfcn correct r.fq --shard 2/4 -o x.bam") == "seqfcn correct r.fq -o x.bam"
    assert strip_shard_argument("seqfcn correct r.fq --shard=2/4") == "seqfcn correct r.fq"
    assert strip_shard_argument("seqfcn correct r.fq") == "seqfcn correct r.fq"


def _hits() -> pd.DataFrame:
    df = pd.DataFrame({
        "chrom": ["chr1", "chr1", "chr2"], "start": [5, 17, 3], "end": [11, 23, 9],
        "motif": ["A", "B", "A"], "score": [7.358056133798092, 1 / 3, 12.0], "strand": ["+", "-", "+"],
        "p": [0.000732421875, 1e-5 / 3, 2.0 ** -20], "q": [0.5, 0.25, 0.125],
        "sequence": ["CGCGTG", "AAAAAA", "ACGTAC"], "motif_id": ["M1", "M2", "M1"],
    }, columns=HIT_COLUMNS)
    df.attrs["tested"] = 12345
    return df


def test_scan_shard_round_trip_full_precision(tmp_path: Path) -> None:
    hits = _hits()
    write_scan_shard(hits, tmp_path / "s.bed", (1, 4), q_tests="hits")
    first = (tmp_path / "s.bed").read_bytes().split(b"\n")[0].decode()
    assert first.startswith("track name=seqfcn_scan") and "seqfcn_shard=2/4 seqfcn_tested=12345" in first
    info, table = read_scan_shard(tmp_path / "s.bed")
    assert (info.index, info.count, info.tested, info.q_tests, info.run) == (1, 4, 12345, "hits", "")
    write_scan_shard(hits, tmp_path / "r.bed", (0, 4), run="0123456789ab")
    assert read_scan_shard(tmp_path / "r.bed")[0].run == "0123456789ab"
    assert table["start"].dtype == np.int64
    for column in ("score", "p", "q"):  # bit-exact floats
        assert table[column].tolist() == hits[column].tolist()
    pd.testing.assert_frame_equal(table.astype(str), hits.astype(str))


def test_read_scan_shard_errors(tmp_path: Path) -> None:
    (tmp_path / "plain.bed").write_text("chr1\t1\t2\n")
    with pytest.raises(InputFormatError, match="not a seqfcn scan shard"):
        read_scan_shard(tmp_path / "plain.bed")
    write_scan_shard(_hits(), tmp_path / "s.bed", (0, 2))
    track = (tmp_path / "s.bed").read_bytes().split(b"\n")[0].decode()
    rows = ["\t".join(map(str, r)) for r in _hits().itertuples(index=False)]  # an earlier version's text shard
    rows[1] = rows[1].rsplit("\t", 1)[0]  # a row with 9 columns
    (tmp_path / "bad.bed").write_text("\n".join([track, *rows]) + "\n")
    with pytest.raises(InputFormatError, match="line 3: 9 columns"):
        read_scan_shard(tmp_path / "bad.bed")
    blob = (tmp_path / "s.bed").read_bytes()
    (tmp_path / "cut.bed").write_bytes(blob[: len(blob) - 40])  # a binary payload cut short
    with pytest.raises(InputFormatError, match="malformed scan shard payload"):
        read_scan_shard(tmp_path / "cut.bed")


def test_torchrun_rank_and_paths() -> None:
    assert torchrun_rank({}) is None
    assert torchrun_rank({"WORLD_SIZE": "1", "RANK": "0"}) is None
    info = torchrun_rank({"WORLD_SIZE": "4", "RANK": "2", "LOCAL_RANK": "0"})
    assert info == RankInfo(2, 4, 0) and info.shard == (2, 4)
    with pytest.raises(SeqfcnError):
        torchrun_rank({"WORLD_SIZE": "2", "RANK": "5"})
    with pytest.raises(SeqfcnError):
        torchrun_rank({"WORLD_SIZE": "2"})
    assert part_path("out/hits.bed.gz", 0, 4) == "out/.shard1of4.hits.bed.gz"
    assert part_path("hits.bed", 3, 4) == ".shard4of4.hits.bed"
    assert rank_device("cpu", info) == "cpu" and rank_device("auto", None) == "auto"


def test_run_sharded_without_torchrun_runs_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    calls = []
    result = run_sharded(tmp_path / "o.txt", lambda shard, path: calls.append((shard, path)) or 7,
                         lambda parts, out: pytest.fail("no merge without torchrun"))
    assert result == 7 and calls == [(None, str(tmp_path / "o.txt"))]
    with pytest.raises(SeqfcnError, match="not stdout"):
        run_sharded("-", lambda s, p: None, lambda parts, out: None, info=RankInfo(0, 2, 0))


def test_scan_run_id_tracks_settings_and_files(tmp_path: Path) -> None:
    genome = tmp_path / "g.fa"
    genome.write_text(">c\nACGT\n")
    base = scan_run_id(genome=str(genome), thresh=1e-4, motif_names=["A", "B"], tile=1000)
    assert len(base) == 12 and int(base, 16) >= 0
    assert scan_run_id(tile=1000, motif_names=["A", "B"], thresh=1e-4, genome=str(genome)) == base  # order-free
    assert scan_run_id(genome=str(genome), thresh=1e-3, motif_names=["A", "B"], tile=1000) != base
    assert scan_run_id(genome=str(genome), thresh=1e-4, motif_names=["A", "B"], tile=999) != base
    genome.write_text(">c\nACGTACGT\n")  # the file changed
    assert scan_run_id(genome=str(genome), thresh=1e-4, motif_names=["A", "B"], tile=1000) != base


def test_scan_run_id_is_content_based(tmp_path: Path) -> None:
    """A copied genome (other name, other time stamp) gives the same run; another genome of the
    same name and size never does."""
    import os
    import shutil

    genome = tmp_path / "g.fa"
    genome.write_text(">c\nACGTACGT\n")
    base = scan_run_id(genome=str(genome), thresh=1e-4)
    (tmp_path / "copy").mkdir()
    shutil.copy(genome, tmp_path / "copy" / "renamed.fa")
    os.utime(tmp_path / "copy" / "renamed.fa", (0, 0))
    assert scan_run_id(genome=str(tmp_path / "copy" / "renamed.fa"), thresh=1e-4) == base
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "g.fa").write_text(">c\nACGTACGA\n")
    assert scan_run_id(genome=str(tmp_path / "other" / "g.fa"), thresh=1e-4) != base
