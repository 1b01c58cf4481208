"""Genome scanning: naive loop equality, strand symmetry, tiling/sharding invariance, filters, BED, CLI."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqfcn.resources import MOTIFS
from seqfcn.cli import main
from seqfcn.sequence.encode import reverse_complement
from seqfcn.io.motifs import Motif, read_motifs
from seqfcn.sequence.pwm import log_odds, reverse_complement_matrix
from seqfcn.motifs.pwm import scale_matrix, score_distribution
from seqfcn.motifs.scan import HIT_COLUMNS, scan_pwm, write_hits_bed

DATA = Path(__file__).resolve().parents[2] / "data"
JASPAR = MOTIFS["jaspar2024"].path
LAMBDA = DATA / "lambda" / "lambda_virus.fa"


@pytest.fixture(scope="module")
def motifs() -> list[Motif]:
    all_motifs = read_motifs(JASPAR)
    return [all_motifs[i] for i in (0, 1, 7, 30, 120)]  # widths 6..18 incl. a long one


def _random_genome(path: Path, seed: int, lengths: dict[str, int]) -> dict[str, str]:
    rng = np.random.default_rng(seed)
    seqs = {}
    for name, n in lengths.items():
        s = np.array(list("ACGT"))[rng.integers(0, 4, n)]
        s[rng.random(n) < 0.01] = "N"
        low = rng.random(n) < 0.2
        s[low] = np.char.lower(s[low])
        seqs[name] = "".join(s)
    with open(path, "w") as fh:
        for name, s in seqs.items():
            fh.write(f">{name}\n")
            for i in range(0, len(s), 60):
                fh.write(s[i : i + 60] + "\n")
    return seqs


def _naive(seqs: dict[str, str], motifs: list[Motif], thresh: float) -> pd.DataFrame:
    """A plain per-position loop over both strands."""
    rows = []
    for m in motifs:
        lo = log_odds(m.pfm, nsites=m.nsites)
        for strand, mat in (("+", lo), ("-", reverse_complement_matrix(lo))):
            ints = scale_matrix(mat)
            dist = score_distribution(ints)
            w = mat.shape[1]
            for chrom, seq in seqs.items():
                upper = seq.upper()
                for s in range(len(seq) - w + 1):
                    site = upper[s : s + w]
                    if any(c not in "ACGT" for c in site):
                        continue
                    idx = ["ACGT".index(c) for c in site]
                    score_int = int(sum(ints[b, j] for j, b in enumerate(idx)))
                    p = float(dist.pvalue(score_int))
                    if p < thresh:
                        score = float(sum(mat[b, j] for j, b in enumerate(idx)))
                        rows.append((chrom, s, s + w, m.name, score, strand, p))
    return pd.DataFrame(rows, columns=["chrom", "start", "end", "motif", "score", "strand", "p"])


@pytest.mark.parametrize("method", ["table", "conv"])
def test_hits_equal_naive_loop(tmp_path: Path, motifs: list[Motif], method: str) -> None:
    seqs = _random_genome(tmp_path / "g.fa", 0, {"chrB": 1500, "chrA": 900})
    got = scan_pwm(tmp_path / "g.fa", motifs, thresh=2e-3, method=method, tile_size=333)
    want = _naive(seqs, motifs, 2e-3)
    assert list(got.columns) == HIT_COLUMNS and len(want) > 20
    key = ["chrom", "start", "end", "motif", "strand"]
    got_s = got.sort_values(key).reset_index(drop=True)
    want_s = want.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(got_s[key], want_s[key])
    np.testing.assert_allclose(got_s["score"], want_s["score"], rtol=1e-12)
    np.testing.assert_allclose(got_s["p"], want_s["p"], rtol=1e-12)
    # genome order (chrB first, as in the file), then start
    assert got["chrom"].iloc[0] == "chrB" and got.groupby("chrom")["start"].apply(lambda s: s.is_monotonic_increasing).all()
    # the matched sequence is read on the motif's strand
    for row in got.itertuples():
        site = seqs[row.chrom][row.start : row.end]
        assert row.sequence == (site if row.strand == "+" else reverse_complement(site))
    # every hit's q-value >= its p-value; tested windows counted
    assert (got["q"] >= got["p"]).all() and got.attrs["tested"] > 0


def test_reverse_strand_equals_forward_scan_of_reverse_complement(tmp_path: Path, motifs: list[Motif]) -> None:
    seqs = _random_genome(tmp_path / "g.fa", 1, {"c1": 2500})
    rc = tmp_path / "rc.fa"
    rc.write_text(">c1\n" + reverse_complement(seqs["c1"]) + "\n")
    fwd = scan_pwm(tmp_path / "g.fa", motifs, thresh=1e-3)
    back = scan_pwm(rc, motifs, thresh=1e-3)
    n = len(seqs["c1"])
    minus = fwd[fwd.strand == "-"]
    plus = back[back.strand == "+"]
    mirrored = plus.assign(start=n - plus.end, end=n - plus.start)
    key = ["start", "end", "motif"]
    a = minus.sort_values(key).reset_index(drop=True)
    b = mirrored.sort_values(key).reset_index(drop=True)
    assert len(a) > 5
    pd.testing.assert_frame_equal(a[key], b[key])
    np.testing.assert_allclose(a["p"], b["p"], rtol=1e-12)
    np.testing.assert_allclose(a["score"], b["score"], rtol=1e-9)
    assert list(a["sequence"]) == list(b["sequence"])


def test_tiles_shards_regions_filters(tmp_path: Path, motifs: list[Motif]) -> None:
    _random_genome(tmp_path / "g.fa", 2, {"x": 3000, "y": 1200})
    full = scan_pwm(tmp_path / "g.fa", motifs, thresh=2e-3, tile_size=1_000_000)
    small = scan_pwm(tmp_path / "g.fa", motifs, thresh=2e-3, tile_size=97)
    pd.testing.assert_frame_equal(full, small)
    shards = [scan_pwm(tmp_path / "g.fa", motifs, thresh=2e-3, tile_size=500, shard=(i, 3), q_tests="hits")
              for i in range(3)]
    joined = pd.concat(shards).reset_index(drop=True)
    pd.testing.assert_frame_equal(joined.drop(columns="q"), full.drop(columns="q"))
    # regions: only hits wholly inside
    bed = tmp_path / "r.bed"
    bed.write_text("y\t100\t700\nx\t2000\t2600\nx\t2500\t2900\n")
    reg = scan_pwm(tmp_path / "g.fa", motifs, thresh=2e-3, regions=bed)
    inside = full[((full.chrom == "y") & (full.start >= 100) & (full.end <= 700))
                  | ((full.chrom == "x") & (full.start >= 2000) & (full.end <= 2900))]
    pd.testing.assert_frame_equal(reg.drop(columns="q"), inside.drop(columns="q").reset_index(drop=True))
    # motif filter by name or id, max hits keeps the smallest p-values
    one = scan_pwm(tmp_path / "g.fa", motifs, thresh=2e-3, motif_names=[motifs[1].id])
    pd.testing.assert_frame_equal(one.drop(columns="q"),
                                  full[full.motif == motifs[1].name].drop(columns="q").reset_index(drop=True))
    best = scan_pwm(tmp_path / "g.fa", motifs, thresh=2e-3, max_hits=10)
    assert len(best) == 10 and best["p"].max() <= full["p"].nsmallest(11).iloc[-1]
    # a threshold nothing passes gives an empty, well-formed table
    none = scan_pwm(tmp_path / "g.fa", motifs[:1], thresh=1e-12)
    assert list(none.columns) == HIT_COLUMNS and len(none) == 0


def test_genome_background_changes_pvalues(tmp_path: Path, motifs: list[Motif]) -> None:
    path = tmp_path / "at.fa"
    rng = np.random.default_rng(3)
    path.write_text(">at\n" + "".join(np.array(list("AACGTT"))[rng.integers(0, 6, 3000)]) + "\n")
    uni = scan_pwm(path, motifs, thresh=1e-3)
    gen = scan_pwm(path, motifs, thresh=1e-3, background="genome")
    assert len(uni) != len(gen)


def test_bed_output_and_cli(tmp_path: Path, motifs: list[Motif], capsys: pytest.CaptureFixture) -> None:
    hits = scan_pwm(LAMBDA, motifs, thresh=1e-4)
    out = tmp_path / "hits.bed"
    write_hits_bed(hits, out)
    lines = out.read_text().splitlines()
    assert lines[0].startswith("track name=seqfcn_scan") and len(lines) == len(hits) + 1
    first = lines[1].split("\t")
    assert len(first) == 10 and int(first[1]) == hits.start[0] and first[5] in "+-"
    # the CLI writes the same file
    cli_out = tmp_path / "cli.bed"
    assert main(["scan", str(LAMBDA), "--motifs", str(JASPAR), "--motif", *[m.id for m in motifs],
                 "-o", str(cli_out), "-q"]) == 0
    assert cli_out.read_text() == out.read_text()
    assert main(["scan", str(LAMBDA), "--motifs", str(JASPAR), "--motif", "NOPE", "-o", str(cli_out)]) == 2
    assert "NOPE" in capsys.readouterr().err
    bad = tmp_path / "bad.meme"
    bad.write_text("MEME version 4\n\nALPHABET= ACGT\n\nMOTIF z\nletter-probability matrix: w= 1\n1 2\n")
    assert main(["scan", str(LAMBDA), "--motifs", str(bad), "-o", str(cli_out)]) == 2
    assert "bad.meme" in capsys.readouterr().err


@pytest.mark.slow  # memesuite-lite compiles its numba kernels on first use (about a minute, cached after)
def test_agreement_with_memelite_fimo(motifs: list[Motif]) -> None:
    """Same smoothed matrices given to memesuite-lite's FIMO: the hit sets agree."""
    memelite = pytest.importorskip("memelite")
    all_motifs = read_motifs(JASPAR)[:40]
    ours = scan_pwm(LAMBDA, all_motifs, thresh=1e-4)
    smoothed = {m.id: (m.pfm * m.nsites + 0.1 * 0.25) / (m.nsites + 0.1) for m in all_motifs}
    theirs = pd.concat(memelite.fimo(smoothed, str(LAMBDA), eps=0.0, bin_size=0.01, threshold=1e-4))
    a = set(zip(ours.motif_id, ours.start, ours.strand))
    b = set(zip(theirs.motif_name.astype(str), theirs.start.astype(int), theirs.strand))
    assert len(a) > 100
    assert len(a & b) >= 0.99 * len(a) and len(a & b) >= 0.9 * len(b)
    # where the two differ, brute force over every k-mer (unrounded log-odds) sides with seqfcn:
    # memesuite-lite bins scores (0.01 bit here), seqfcn's p-values are exact for 0.01-bit rounding
    by_id = {m.id: m for m in all_motifs}
    seq = open(LAMBDA).read().split("\n", 1)[1].replace("\n", "").upper()
    checked = 0
    for mid, start, strand in sorted(a ^ b):
        m = by_id[mid]
        if m.width > 9:
            continue
        lo = log_odds(m.pfm, nsites=m.nsites)
        lo = lo if strand == "+" else reverse_complement_matrix(lo)
        kmers = np.array(list(itertools.product(range(4), repeat=m.width)))
        all_scores = lo[kmers, np.arange(m.width)].sum(axis=1)
        site = seq[start : start + m.width]
        score = sum(lo["ACGT".index(c), j] for j, c in enumerate(site))
        p_exact = float((all_scores >= score - 1e-9).mean())
        assert (p_exact < 1.05e-4) if (mid, start, strand) in a else (p_exact > 0.95e-4)
        checked += 1
    assert checked > 0


def test_invalid_character_reports_chromosome_position(tmp_path: Path, motifs: list[Motif]) -> None:
    from seqfcn.errors import SequenceError

    seq = list("ACGT" * 500)
    seq[1234] = "*"
    (tmp_path / "bad.fa").write_text(">chrZ\n" + "".join(seq) + "\n")
    with pytest.raises(SequenceError) as err:
        scan_pwm(tmp_path / "bad.fa", motifs, tile_size=500)
    assert err.value.position == 1234 and err.value.record == "chrZ"


@pytest.mark.parametrize("q_tests", ["tested", "hits"])
def test_streamed_bed_equals_the_in_memory_table(tmp_path: Path, motifs: list[Motif], q_tests: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """scan_pwm_bed (what the CLI runs) writes exactly write_hits_bed(scan_pwm(...)): the same hits,
    order and q-values (exact BH from the distinct p-value counts, merged many times here)."""
    import gzip

    import seqfcn.motifs.scan as scan_module

    _random_genome(tmp_path / "g.fa", 5, {"x": 9000, "y": 4000, "z": 50})
    bed = tmp_path / "r.bed"
    bed.write_text("y\t100\t3700\nx\t0\t5000\nx\t4000\t8800\n")
    for regions in (None, bed):
        table = scan_pwm(tmp_path / "g.fa", motifs, thresh=5e-3, tile_size=701, q_tests=q_tests, regions=regions)
        assert len(table) > 500 and table["p"].duplicated().any()  # ties share a q-value
        write_hits_bed(table, tmp_path / "memory.bed")
        monkeypatch.setattr(scan_module.PValueCounts, "add", _eager_add)
        done = scan_module.scan_pwm_bed(tmp_path / "g.fa", motifs, tmp_path / "stream.bed.gz", thresh=5e-3,
                                        tile_size=701, q_tests=q_tests, regions=regions)
        monkeypatch.undo()
        assert done == {"hits": len(table), "tested": table.attrs["tested"]}
        assert gzip.decompress((tmp_path / "stream.bed.gz").read_bytes()).decode() == \
            (tmp_path / "memory.bed").read_text()
    empty = scan_module.scan_pwm_bed(tmp_path / "g.fa", motifs[:1], tmp_path / "none.bed", thresh=1e-12)
    assert empty["hits"] == 0 and len((tmp_path / "none.bed").read_text().splitlines()) == 1


def _eager_add(self, p: np.ndarray) -> None:
    """PValueCounts.add that merges after every tile (the merge path on every call)."""
    self._pending.append(p)
    self._merge()


def test_streamed_scan_bad_base_is_one_line_and_writes_nothing(tmp_path: Path, motifs: list[Motif],
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture) -> None:
    """A bad character in a later tile (earlier tiles already streamed to the temporary folder):
    one line naming file, record and position, exit 2, no output, no temporary files left."""
    import tempfile

    seq = list("ACGT" * 2000)
    seq[5234] = "*"
    (tmp_path / "bad.fa").write_text(">chrZ\n" + "".join(seq) + "\n")
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    out = tmp_path / "hits.bed"
    code = main(["scan", str(tmp_path / "bad.fa"), "--motifs", str(JASPAR), "--motif", *[m.id for m in motifs],
                 "--thresh", "1e-2", "--batch-size", "500", "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "bad.fa" in err and "chrZ" in err and "5234" in err
    assert not out.exists() and not list((tmp_path / "tmp").iterdir())
