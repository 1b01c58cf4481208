"""BED / narrowPeak / bedGraph / bigWig: known values, exact round trips, line-numbered errors."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from seqfcn.errors import InputFormatError, RegionError, SeqfcnError
from seqfcn.io.intervals import (
    bed_to_mask,
    is_bigwig,
    read_bed,
    read_bedgraph,
    read_bigwig,
    signal_track,
    sort_bed,
    write_bed,
    write_bedgraph,
    write_bigwig,
)

DATA = Path(__file__).resolve().parents[1] / "data"
PEAKS = DATA / "ctcf_chr22_head.narrowPeak"

BED6 = (
    "track name=test\n"
    "# a comment\n"
    "chr2\t10\t20\tb\t5\t+\n"
    "\n"
    "chr1\t0\t5\ta\t.\t-\n"
    "chr10\t3\t3\tc\t1000\t.\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    if name.endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def test_narrowpeak_known_values():
    df = read_bed(PEAKS)
    assert len(df) == 32
    assert list(df.columns) == [
        "chrom", "start", "end", "name", "score", "strand", "signal_value", "p_value", "q_value", "peak",
    ]
    first = df.iloc[0]
    assert (first.chrom, first.start, first.end, first["name"]) == (
        "chr22", 17255466, 17255847, "run_callpeak_narrow0_peak_1",
    )
    assert (first.score, first.strand, first.peak) == (214, ".", 166)
    assert (first.signal_value, first.p_value, first.q_value) == (13.2158, 24.2291, 21.4687)
    last = df.iloc[-1]
    assert (last.start, last.end, last.score, last.peak, last.q_value) == (18941870, 18942304, 282, 206, 28.2183)
    assert df["start"].dtype == np.int64 and df["peak"].dtype == np.int64
    summits = df["start"] + df["peak"]
    assert summits.iloc[9] == 17752930 + 193
    assert (df["end"] > df["start"]).all()


def test_bed6_header_lines_gzip_and_types(tmp_path):
    for name in ("a.bed", "a.bed.gz"):
        df = read_bed(write(tmp_path, name, BED6))
        assert df["chrom"].tolist() == ["chr2", "chr1", "chr10"]
        assert df["start"].tolist() == [10, 0, 3] and df["end"].tolist() == [20, 5, 3]
        assert str(df["score"].dtype) == "Int64" and pd.isna(df["score"].iloc[1]) and df["score"].iloc[2] == 1000
        assert df["strand"].tolist() == ["+", "-", "."]
    df = read_bed(write(tmp_path, "f.bed", "c\t1\t2\tx\t0.5\n"))
    assert df["score"].dtype == np.float64 and df["score"].iloc[0] == 0.5
    df = read_bed(write(tmp_path, "b3.bed", "chrM\t7\t9\n"))
    assert list(df.columns) == ["chrom", "start", "end"] and df["end"].iloc[0] == 9
    empty = read_bed(write(tmp_path, "e.bed", "track x\n"))
    assert len(empty) == 0 and list(empty.columns) == ["chrom", "start", "end"]


@pytest.mark.parametrize(
    "text,line,words",
    [
        ("c\t1\t2\nc\tx1\t5\n", 2, "start 'x1'"),
        ("#h\nc\t1\t2\n\nc\t9\t5\n", 4, "before start"),
        ("c\t1\t2\tn\t5\t+\nc\t1\t2\tn\t5\t*\n", 2, "strand"),
        ("c\t1\t2\nc\t1\t2\t3\n", 2, "columns"),
        ("track t\nc\t1\n", 2, "at least 3"),
        ("c\t-1\t2\n", 1, "non-negative integer"),
        ("c\t1\t2\tn\thigh\t+\n", 1, "score 'high'"),
        ("c\t1\t2\tn\t5\t.\t1.0\t2\tbad\t4\n", 1, "q_value 'bad'"),
        ("c\t1\t2\nc\t3\t4\nc\t5\tz\nc\ty\t4\n", 3, "end 'z'"),
    ],
)
def test_malformed_bed_names_line(tmp_path, text, line, words):
    path = write(tmp_path, "bad.bed", text)
    with pytest.raises(InputFormatError) as err:
        read_bed(path)
    message = str(err.value)
    assert message.startswith(f"{path}: line {line}: ") and words in message
    with pytest.raises(InputFormatError, match="^peaks.bed: line"):
        read_bed(path, path_label="peaks.bed")


def test_missing_file_is_input_error(tmp_path):
    with pytest.raises(InputFormatError, match="cannot open"):
        read_bed(tmp_path / "nope.bed")


def test_bed_write_read_exact(tmp_path):
    src = PEAKS.read_text()
    df = read_bed(PEAKS)
    out = tmp_path / "copy.narrowPeak"
    write_bed(df, out)
    assert out.read_text() == src  # byte-exact round trip
    pd.testing.assert_frame_equal(read_bed(out), df)
    bed = read_bed(write(tmp_path, "a.bed", BED6))
    write_bed(bed, tmp_path / "b.bed.gz", track_line="name=x")
    with gzip.open(tmp_path / "b.bed.gz", "rt") as fh:
        assert fh.read() == "track name=x\nchr2\t10\t20\tb\t5\t+\nchr1\t0\t5\ta\t.\t-\nchr10\t3\t3\tc\t1000\t.\n"
    pd.testing.assert_frame_equal(read_bed(tmp_path / "b.bed.gz"), bed)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_write_bed_stdout(capsys):
    write_bed(pd.DataFrame({"chrom": ["c"], "start": [1], "end": [4]}), "-")
    assert capsys.readouterr().out == "c\t1\t4\n"


def test_atomic_write_leaves_old_file_on_error(tmp_path):
    out = tmp_path / "t.bed"
    out.write_text("old\n")
    with pytest.raises(ValueError):
        write_bed(pd.DataFrame({"start": [1], "chrom": ["c"], "end": [2]}), out)
    with pytest.raises(ValueError):
        write_bedgraph({"c": np.zeros((2, 2))}, out)
    assert out.read_text() == "old\n" and sorted(os.listdir(tmp_path)) == ["t.bed"]


def test_sort_bed_natural_and_given_order():
    df = pd.DataFrame({
        "chrom": ["chr10", "chr2", "chrX", "chr2", "chr1", "chr2"],
        "start": [5, 9, 0, 3, 7, 3], "end": [6, 10, 1, 8, 8, 4], "name": list("abcdef"),
    })
    got = sort_bed(df)
    assert got["name"].tolist() == ["e", "f", "d", "b", "a", "c"]
    got = sort_bed(df, ["chrX", "chr10"])
    assert got["name"].tolist() == ["c", "a", "e", "f", "d", "b"]


def test_bed_to_mask_exact():
    df = pd.DataFrame({
        "chrom": ["c", "c", "d", "c", "c"], "start": [2, 4, 0, 8, 9], "end": [5, 6, 3, 10, 9],
        "score": [1.0, 3.0, 9.0, 2.0, 7.0],
    })
    assert bed_to_mask(df, "c", 12).tolist() == [0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0]
    assert bed_to_mask(df, "c", 12).dtype == np.uint8
    vals = bed_to_mask(df, "c", 12, column="score")
    assert vals.dtype == np.float32
    assert vals.tolist() == [0, 0, 1, 1, 3, 3, 0, 0, 2, 2, 0, 0]
    assert bed_to_mask(df, "e", 4).tolist() == [0, 0, 0, 0]
    with pytest.raises(RegionError):
        bed_to_mask(df, "c", 9)
    with pytest.raises(SeqfcnError):
        bed_to_mask(df, "c", 12, column="nope")
    peaks = read_bed(PEAKS)
    mask = bed_to_mask(peaks, "chr22", 18_942_400)
    assert mask.sum() == (peaks["end"] - peaks["start"]).sum()  # the peaks do not overlap
    assert mask[17255466] == 1 and mask[17255465] == 0 and mask[17255846] == 1 and mask[17255847] == 0


def tracks(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = np.repeat(rng.normal(size=40).astype(np.float32), rng.integers(1, 30, 40))
    a[5:17] = np.nan
    a[-3:] = np.nan
    b = rng.random(257).astype(np.float32)
    b[100:110] = 0.1
    return {"chr1": a, "chr2": b, "chr3": np.full(9, np.nan, np.float32)}


@pytest.mark.parametrize("name", ["t.bedGraph", "t.bedGraph.gz"])
def test_bedgraph_round_trip(tmp_path, name):
    t = tracks()
    sizes = {c: len(v) for c, v in t.items()}
    path = tmp_path / name
    write_bedgraph(t, path, track_line="type=bedGraph")
    back = read_bedgraph(path, chrom_sizes=sizes)
    assert list(back) == ["chr1", "chr2", "chr3"]
    for c in t:
        np.testing.assert_array_equal(back[c], t[c])  # exact, NaN where NaN
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt") as fh:
        lines = fh.read().splitlines()
    assert lines[0] == "track type=bedGraph"
    runs_chr2 = [line for line in lines if line.startswith("chr2\t")]
    assert "chr2\t100\t110\t0.1" in runs_chr2 and len(runs_chr2) == 257 - 9
    assert not any(line.startswith("chr3") for line in lines)
    assert lines[1].startswith("chr1\t0\t5\t")
    no_sizes = read_bedgraph(path)
    assert "chr3" not in no_sizes and len(no_sizes["chr1"]) == len(t["chr1"]) - 3


def test_bedgraph_per_base_and_tensor_input(tmp_path):
    path = tmp_path / "x.bg"
    write_bedgraph({"c": torch.tensor([1.5, 1.5, float("nan"), 2.0])}, path, run_length=False)
    assert path.read_text() == "c\t0\t1\t1.5\nc\t1\t2\t1.5\nc\t3\t4\t2.0\n"
    write_bedgraph({"c": np.array([1.5, 1.5, np.nan, 2.0])}, path)
    assert path.read_text() == "c\t0\t2\t1.5\nc\t3\t4\t2.0\n"
    assert signal_track(path, "c", 6, missing=0).tolist() == [1.5, 1.5, 0, 2.0, 0, 0]
    got = signal_track(path, "c", 5)
    assert np.isnan(got[2]) and np.isnan(got[4]) and got[3] == 2.0
    assert signal_track(path, "other", 3, missing=-1).tolist() == [-1, -1, -1]
    with pytest.raises(RegionError):
        signal_track(path, "c", 3)


def test_bedgraph_malformed_and_overlaps(tmp_path):
    path = write(tmp_path, "bad.bg", "track t\nc\t0\t2\t1\nc\t2\t4\tabc\n")
    with pytest.raises(InputFormatError, match="line 3: value 'abc'"):
        read_bedgraph(path)
    nan = read_bedgraph(write(tmp_path, "nan.bg", "c\t0\t1\t1\nc\t1\t2\tNaN\nc\t2\t3\t-2.5e3\n"))["c"]
    assert nan[0] == 1 and np.isnan(nan[1]) and nan[2] == -2500
    path = write(tmp_path, "over.bg", "c\t0\t4\t1\nc\t2\t3\t5\n")
    assert read_bedgraph(path)["c"].tolist() == [1, 1, 5, 1]  # the later line wins
    with pytest.raises(RegionError):
        read_bedgraph(path, chrom_sizes={"c": 3})
    with pytest.raises(RegionError):
        read_bedgraph(path, chrom_sizes={"d": 10})


def test_bigwig_round_trip(tmp_path):
    t = tracks(1)
    t["chr2"] = t["chr2"] * 1000
    sizes = {"chr1": len(t["chr1"]), "chr2": len(t["chr2"]), "chr3": 9, "chrEmpty": 50}
    path = tmp_path / "t.bw"
    write_bigwig(t, sizes, path)
    assert is_bigwig(path) and not is_bigwig(PEAKS)
    assert [p.name for p in tmp_path.iterdir()] == ["t.bw"]
    for c, v in t.items():
        got = read_bigwig(path, c, 0, len(v))
        assert got.dtype == np.float32
        np.testing.assert_array_equal(np.isnan(got), np.isnan(v))
        np.testing.assert_allclose(got, v, rtol=1e-6, equal_nan=True)
        np.testing.assert_array_equal(signal_track(path, c, len(v)), got)
    np.testing.assert_array_equal(read_bigwig(path, "chr2", 100, 110), np.full(10, 100, np.float32))
    assert np.isnan(signal_track(path, "chrEmpty", 50)).all()
    assert signal_track(path, "chrNone", 4, missing=0).tolist() == [0, 0, 0, 0]
    with pytest.raises(RegionError):
        read_bigwig(path, "chr2", 250, 300)
    with pytest.raises(RegionError):
        read_bigwig(path, "chrZ", 0, 1)
    with pytest.raises(RegionError):
        signal_track(path, "chr2", 10)
    with pytest.raises(RegionError):
        write_bigwig({"chr1": np.zeros(3)}, {"chr1": 4}, tmp_path / "x.bw")
    with pytest.raises(InputFormatError):
        read_bigwig(PEAKS, "chr22", 0, 1)


def test_bigwig_missing_pybigwig(tmp_path, monkeypatch):
    from conftest import hide_module

    hide_module(monkeypatch, "pyBigWig")
    with pytest.raises(SeqfcnError, match=r"seqfcn\[bigwig\]"):
        write_bigwig({"c": np.zeros(2)}, {"c": 2}, tmp_path / "a.bw")
