"""Hits formatted in bulk (seqfcn.motifs.hitblock): the same bytes as Python's per-line text."""
from __future__ import annotations

import io

import numpy as np
import pytest

from seqfcn.motifs.hitblock import HitBlock, Table, read_block, read_blocks, site_bytes, value_table, write_block


def _block(scores: np.ndarray) -> HitBlock:
    n = len(scores)
    return HitBlock(chrom=np.arange(n, dtype=np.int32) % 2, start=np.arange(n) * 7, end=np.arange(n) * 7 + 3,
                    motif=np.zeros(n, np.int32), minus=(np.arange(n) % 3 == 0).astype(np.uint8),
                    score=scores, p=np.full(n, 2.0 ** -20), q=np.zeros(n),
                    seq=np.frombuffer(b"ACg" * n, np.uint8).copy(), seq_off=np.arange(n + 1, dtype=np.int64) * 3)


def test_scores_are_written_as_python_writes_them_ties_and_huge_values_included():
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.normal(0, 20, 20000), np.arange(-400, 400) / 32,  # exact ties: half-even
                             [0.0, -0.0, -0.00001, 0.00005, 0.00015, 1e12, -3e9, 12.34565]])
    block = _block(scores)
    pq = value_table(np.array([2.0 ** -20]), np.array([0.03125]))
    text = block.lines(Table.of(["chr1", "plasmid"]), Table.of(["SOX2"]), Table.of(["MA0143.4"]),
                       np.zeros(len(scores), np.int32), pq).decode()
    want = "".join(f"{('chr1', 'plasmid')[i % 2]}\t{7 * i}\t{7 * i + 3}\tSOX2\t{s:.4f}\t{'-' if i % 3 == 0 else '+'}"
                   f"\t{2.0 ** -20:.4g}\t{0.03125:.4g}\tACg\tMA0143.4\n" for i, s in enumerate(scores.tolist()))
    assert text == want
    assert "\t-0.0000\t" in text and "\t0.0312\t" in text and "\t1000000000000.0000\t" in text


def test_sites_are_read_on_the_motif_strand_case_kept():
    seq = np.frombuffer(b"AACgTTa", np.uint8)
    site, off = site_bytes(seq, np.array([1, 2, 0]), np.array([3, 5, 0]), np.array([False, True, True]))
    assert site.tobytes() == b"ACg" + b"tAAcG" and off.tolist() == [0, 3, 8, 8]


def test_blocks_round_trip_and_a_cut_block_is_refused():
    block = _block(np.array([1.5, -2.25, 3.0]))
    fh = io.BytesIO()
    write_block(fh, block)
    write_block(fh, block.slice(1, 3))
    fh.seek(0)
    back = list(read_blocks(fh))
    assert [len(b) for b in back] == [3, 2] and back[1].seq.tobytes() == b"ACgACg"
    assert back[1].seq_off.tolist() == [0, 3, 6] and back[1].score.tolist() == [-2.25, 3.0]
    with pytest.raises(ValueError, match="cut short"):
        read_block(io.BytesIO(fh.getvalue()[:200]))
    with pytest.raises(ValueError, match="format_hits"):
        block.lines(Table.of(["c"]), Table.of(["m"]), Table.of(["i"]), np.zeros(3, np.int32), Table.of(["p\tq"]))


def test_streamed_scan_and_merged_shards_write_the_per_line_text_of_earlier_versions(tmp_path):
    """Today's bytes: scan_pwm_bed and `seqfcn merge` of 3 binary shards equal the per-line
    Python text earlier versions wrote (f-strings over scan_pwm's table), on records with
    lowercase runs, N runs and an IUPAC base, hits on both strands."""
    from seqfcn.cli import main
    from seqfcn.io.motifs import read_motifs, write_meme
    from seqfcn.motifs.scan import HIT_TRACK, scan_pwm, scan_pwm_bed

    rng = np.random.default_rng(7)
    records = []
    for name, n in (("chrA", 9000), ("plasmid_1", 4000), ("p2", 1500)):
        s = np.array(list("ACGT"))[rng.integers(0, 4, n)]
        s[100:900] = np.char.lower(s[100:900])
        s[1200:1300] = "N"
        s[50] = "R"
        records.append(f">{name}\n" + "".join(s) + "\n")
    (tmp_path / "g.fa").write_text("".join(records))
    write_meme(read_motifs("jaspar2024")[:30], tmp_path / "m.meme")
    table = scan_pwm(tmp_path / "g.fa", tmp_path / "m.meme", thresh=2e-3, tile_size=3000)
    assert len(table) > 500 and set(table["strand"]) == {"+", "-"}
    want = HIT_TRACK + "\n" + "".join(
        f"{c}\t{s}\t{e}\t{m}\t{sc:.4f}\t{st}\t{p:.4g}\t{q:.4g}\t{seq}\t{mid}\n"
        for c, s, e, m, sc, st, p, q, seq, mid in zip(*(table[k].tolist() for k in table.columns)))
    scan_pwm_bed(tmp_path / "g.fa", tmp_path / "m.meme", tmp_path / "all.bed", thresh=2e-3, tile_size=3000)
    assert (tmp_path / "all.bed").read_text() == want
    shards = [str(tmp_path / f"s{i}.bed") for i in (1, 2, 3)]
    for i, path in enumerate(shards, 1):
        assert main(["scan", str(tmp_path / "g.fa"), "--motifs", str(tmp_path / "m.meme"), "--thresh", "2e-3",
                     "--batch-size", "3000", "--shard", f"{i}/3", "-o", path, "-q"]) == 0
    assert main(["merge", shards[2], shards[0], shards[1], "-o", str(tmp_path / "merged.bed"), "-q"]) == 0
    assert (tmp_path / "merged.bed").read_text() == want


def test_compiled_site_bytes_are_the_numpy_oracle_s() -> None:
    from seqfcn.motifs import hitblock

    pytest.importorskip("seqfcn.motifs._pwmscan")
    rng = np.random.default_rng(2)
    text = np.frombuffer(b"ACGTacgtNnRYK-"[:14], np.uint8)[rng.integers(0, 14, 5_000)]
    widths = rng.integers(0, 40, 3_000)
    starts = rng.integers(0, len(text) - widths)
    minus = rng.random(3_000) < 0.5
    site, off = site_bytes(text, starts, widths, minus)
    assert site.flags.writeable and off[-1] == widths.sum()
    np.testing.assert_array_equal(site, hitblock._site_bytes_numpy(text, starts, widths, minus, off))
