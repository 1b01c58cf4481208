from __future__ import annotations

import numpy as np
import pytest
import torch

from seqfcn.checkpoint import save_model
from seqfcn.encode import one_hot, reverse_complement
from seqfcn.errors import RegionError, SeqfcnError
from seqfcn.io.intervals import read_bed, read_bedgraph, read_bigwig
from seqfcn.nn.models import create_model
from seqfcn.motifs.scan_model import StrandMerged, call_sites, scan_model, write_scan

CHROMS = {"chrA": 2300, "chrB": 1100}


def _dna(n: int, seed: int) -> str:
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), n))


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scan")
    seqs = {c: _dna(n, i) for i, (c, n) in enumerate(CHROMS.items())}
    fasta = tmp / "g.fa"
    fasta.write_text("".join(f">{c}\n{s}\n" for c, s in seqs.items()))
    rc_fasta = tmp / "rc.fa"
    rc_fasta.write_text("".join(f">{c}\n{reverse_complement(s)}\n" for c, s in seqs.items()))
    torch.manual_seed(0)
    # forward-only first layer: the two strands really differ, so the merge matters
    model = create_model("motif_scanner", n_motifs=4, motif_width=9, n_outputs=2, channels=8, n_layers=2,
                         strand="forward")
    model_dir = save_model(model, tmp / "model")
    model.eval()
    return tmp, seqs, fasta, rc_fasta, model, model_dir


def _whole(model, seq, output=0, merge="mean"):
    x = torch.from_numpy(one_hot(seq))[None]
    with torch.no_grad():
        return StrandMerged(model, output, merge)(x)[0, 0].numpy()


def test_call_sites_hand_made():
    t = np.array([0.0, 0.6, 0.9, 0.6, 0.0, 0.7, 0.7, 0.0, 0.55, 0.4, 0.95, 0.2])
    # maxima >= 0.5: 2 (0.9), 5 (plateau 0.7, left end), 8 (0.55), 10 (0.95)
    np.testing.assert_array_equal(call_sites(t, 0.5, 0), [2, 5, 8, 10])
    # NMS within 2: 10 kept, 8 suppressed (|10-8| = 2), 2 kept, 5 kept (|5-2| = 3)
    np.testing.assert_array_equal(call_sites(t, 0.5, 2), [2, 5, 10])
    np.testing.assert_array_equal(call_sites(t, 0.5, 3), [2, 10])
    np.testing.assert_array_equal(call_sites(t, 0.92, 3), [10])
    # ties: the leftmost wins; NaN never a site
    np.testing.assert_array_equal(call_sites(np.array([0, 1.0, 0, 1.0, 0]), 0.5, 5), [1])
    np.testing.assert_array_equal(call_sites(np.array([np.nan, 0.9, np.nan]), 0.5, 1), [1])
    assert call_sites(np.zeros(0), 0.5, 3).size == 0


def test_tracks_equal_a_whole_chromosome_run_and_sites_follow(setup):
    tmp, seqs, fasta, _, model, model_dir = setup
    sites, tracks = scan_model(fasta, model_dir, window=300, batch_size=3, threshold=0.0, min_distance=9)
    assert list(tracks) == list(CHROMS)
    for chrom, seq in seqs.items():
        assert tracks[chrom].dtype == np.float32 and tracks[chrom].shape == (CHROMS[chrom],)
        np.testing.assert_allclose(tracks[chrom], _whole(model, seq), rtol=0, atol=2e-6)
        mine = sites[sites["chrom"] == chrom]
        np.testing.assert_array_equal(mine["summit"].to_numpy(), call_sites(tracks[chrom], 0.0, 9))
        np.testing.assert_allclose(mine["score"], tracks[chrom][mine["summit"]], atol=1e-6)
    assert list(sites.columns) == ["chrom", "start", "end", "name", "score", "strand", "summit"]
    assert (sites["end"] - sites["start"]).max() == 9 and set(sites["strand"]) == {"."}
    assert len(sites) > 10
    # a second output channel and the max merge
    _, t1 = scan_model(fasta, model_dir, window=500, output=1, merge="max")
    np.testing.assert_allclose(t1["chrB"], _whole(model, seqs["chrB"], 1, "max"), atol=2e-6)


def test_strand_symmetry(setup):
    tmp, seqs, fasta, rc_fasta, model, model_dir = setup
    _, fwd = scan_model(fasta, model_dir, window=400)
    _, rev = scan_model(rc_fasta, model_dir, window=400)
    for chrom in CHROMS:
        np.testing.assert_allclose(rev[chrom][::-1], fwd[chrom], atol=2e-6)


def test_regions_and_shards(setup):
    tmp, seqs, fasta, _, model, model_dir = setup
    _, full = scan_model(fasta, model_dir, window=250)
    _, part = scan_model(fasta, model_dir, window=250, regions=["chrA:101-400", ("chrA", 350, 700), ("chrB", 1000, None)])
    a = part["chrA"]
    np.testing.assert_allclose(a[100:700], full["chrA"][100:700], atol=2e-6)
    assert np.isnan(a[:100]).all() and np.isnan(a[700:]).all()
    np.testing.assert_allclose(part["chrB"][1000:], full["chrB"][1000:], atol=2e-6)
    assert np.isnan(part["chrB"][:1000]).all()
    # three shards: disjoint, together the whole genome
    covered = {c: np.zeros(n, int) for c, n in CHROMS.items()}
    for i in range(3):
        _, t = scan_model(fasta, model_dir, window=250, shard=(i, 3))
        for chrom, track in t.items():
            done = ~np.isnan(track)
            covered[chrom] += done
            np.testing.assert_allclose(track[done], full[chrom][done], atol=2e-6)
    for chrom in CHROMS:
        np.testing.assert_array_equal(covered[chrom], 1)


def test_writers_round_trip(setup):
    tmp, seqs, fasta, _, model, model_dir = setup
    sites, tracks = scan_model(fasta, model_dir, window=700, threshold=0.3)
    write_scan(sites, tracks, CHROMS, sites_path=tmp / "s.bed", bedgraph_path=tmp / "t.bedgraph",
               bigwig_path=tmp / "t.bw")
    back = read_bed(tmp / "s.bed")
    assert len(back) == len(sites)
    np.testing.assert_array_equal(back["start"].to_numpy(), sites["start"].to_numpy())
    graph = read_bedgraph(tmp / "t.bedgraph", chrom_sizes=CHROMS)
    for chrom in CHROMS:
        np.testing.assert_array_equal(graph[chrom], tracks[chrom])
        np.testing.assert_array_equal(read_bigwig(tmp / "t.bw", chrom, 0, CHROMS[chrom]), tracks[chrom])


def test_user_errors(setup):
    tmp, seqs, fasta, _, model, model_dir = setup
    with pytest.raises(SeqfcnError):
        scan_model(fasta, model_dir, threshold=1.5)
    with pytest.raises(SeqfcnError):
        scan_model(fasta, model_dir, output=5)
    with pytest.raises(RegionError):
        scan_model(fasta, model_dir, regions=["chrZ:1-10"])
    with pytest.raises(RegionError):
        scan_model(fasta, model_dir, regions=[("chrB", 1000, 5000)])
