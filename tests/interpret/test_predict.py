"""`seqfcn predict`: per-base model outputs over a genome, streamed tile by tile; and
`seqfcn scan --model` (called sites)."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from seqfcn.nn.checkpoint import save_model
from seqfcn.cli import main
from seqfcn.sequence.encode import one_hot, reverse_complement
from seqfcn.errors import SeqfcnError
from seqfcn.io.intervals import read_bed, read_bedgraph
from seqfcn.motifs.scan_model import scan_model
from seqfcn.nn.models import create_model
from seqfcn.runtime.inference import StrandMerged, output_activation
from seqfcn.interpret.predict import channel_paths, predict_genome_tracks

CHROMS = {"chrA": 2300, "chrB": 1100, "chrC": 90}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("predict")
    rng = np.random.default_rng(4)
    seqs = {c: "".join(rng.choice(list("ACGT"), n)) for c, n in CHROMS.items()}
    fasta = tmp / "g.fa"
    fasta.write_text("".join(f">{c}\n{s}\n" for c, s in seqs.items()))
    torch.manual_seed(0)
    # a forward-only first layer and two stacked layers: strands differ, margins matter
    model = create_model("motif_scanner", n_motifs=4, motif_width=9, n_outputs=2, channels=8, n_layers=2,
                         strand="forward").eval()
    return tmp, seqs, fasta, model, save_model(model, tmp / "model")


def _whole(model, seq, activation="sigmoid", merge="mean"):
    """(2, L): the strand-merged outputs of one run over the whole chromosome (the oracle)."""
    with torch.no_grad():
        return StrandMerged(model, [0, 1], merge, activation)(torch.from_numpy(one_hot(seq))[None])[0].numpy()


def test_bedgraph_per_channel_equals_a_whole_chromosome_run(setup):
    tmp, seqs, fasta, model, model_dir = setup
    out = tmp / "p.bedGraph"
    done = predict_genome_tracks(fasta, model_dir, out, window=300, batch_size=3)
    assert done["activation"] == "sigmoid" and done["files"] == [str(tmp / "p.0.bedGraph"), str(tmp / "p.1.bedGraph")]
    assert done["bases"] == sum(CHROMS.values()) and done["margin"] == max(model.receptive_margins) > 4
    for channel, path in enumerate(done["files"]):
        tracks = read_bedgraph(path, chrom_sizes=CHROMS)
        for chrom, seq in seqs.items():
            np.testing.assert_allclose(tracks[chrom], _whole(model, seq)[channel], rtol=0, atol=2e-6)
    raw = predict_genome_tracks(fasta, model_dir, tmp / "raw.bedGraph", outputs=[1], activation="none", merge="max")
    tracks = read_bedgraph(raw["files"][0], chrom_sizes=CHROMS)
    np.testing.assert_allclose(tracks["chrB"], _whole(model, seqs["chrB"], "none", "max")[1], atol=2e-6)


def test_regions_keep_real_flanks_and_the_reverse_genome_gives_the_reversed_track(setup):
    tmp, seqs, fasta, model, model_dir = setup
    regions = [("chrA", 500, 800), ("chrA", 750, 1000), ("chrB", 0, 40), ("chrC", 80, 90)]
    done = predict_genome_tracks(fasta, model_dir, tmp / "r.bedGraph", regions=regions, outputs=[0], window=128)
    track = read_bedgraph(done["files"][0], chrom_sizes=CHROMS)
    whole = {c: _whole(model, s)[0] for c, s in seqs.items()}
    np.testing.assert_allclose(track["chrA"][500:1000], whole["chrA"][500:1000], atol=2e-6)
    assert np.isnan(track["chrA"][:500]).all() and np.isnan(track["chrA"][1000:]).all()
    np.testing.assert_allclose(track["chrB"][:40], whole["chrB"][:40], atol=2e-6)
    np.testing.assert_allclose(track["chrC"][80:], whole["chrC"][80:], atol=2e-6)
    assert done["bases"] == 500 + 40 + 10
    with pytest.raises(SeqfcnError, match="never clipped"):  # the rule of every --regions: refused, not clipped
        predict_genome_tracks(fasta, model_dir, tmp / "x.bedGraph", regions=[("chrC", 80, 91)], outputs=[0])
    assert not (tmp / "x.0.bedGraph").exists() and not (tmp / "x.bedGraph").exists()
    rc = tmp / "rc.fa"
    rc.write_text("".join(f">{c}\n{reverse_complement(s)}\n" for c, s in seqs.items()))
    back = predict_genome_tracks(rc, model_dir, tmp / "rc.bedGraph", outputs=[0], window=256)
    rev = read_bedgraph(back["files"][0], chrom_sizes=CHROMS)
    for chrom in CHROMS:
        np.testing.assert_allclose(rev[chrom][::-1], whole[chrom], atol=2e-6)


def test_cli_shards_merge_into_the_unsharded_file(setup, capsys):
    tmp, _, fasta, _, model_dir = setup
    base = ["predict", str(fasta), "--model", str(model_dir), "--output-channel", "1", "--window", "200", "-q"]
    assert main([*base, "-o", str(tmp / "full.bedGraph")]) == 0
    shards = [str(tmp / f"s{i}.bedGraph") for i in (1, 2, 3)]
    for i, shard in enumerate(shards, 1):
        assert main([*base, "--shard", f"{i}/3", "-o", shard]) == 0
    sizes = [len(open(s).read()) for s in shards]
    assert min(sizes) > 0
    assert main(["merge", "-q", *shards, "-o", str(tmp / "m.bedGraph")]) == 0
    assert (tmp / "m.bedGraph").read_bytes() == (tmp / "full.bedGraph").read_bytes()
    assert main(["merge", "-q", *shards[::-1], "-o", str(tmp / "r.bedGraph")]) == 0  # any order: sorted by shard
    assert (tmp / "r.bedGraph").read_bytes() == (tmp / "full.bedGraph").read_bytes()
    assert main([*base[:5], "0", *base[6:], "--shard", "2/3", "-o", str(tmp / "c0.bedGraph")]) == 0
    capsys.readouterr()
    assert main(["merge", shards[0], str(tmp / "c0.bedGraph"), shards[2], "-o", str(tmp / "x.bedGraph")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{tmp / 'c0.bedGraph'}: comes from a different predict run" in err[0], err
    capsys.readouterr()
    for extra, message in ((["--shard", "1/2", "-o", str(tmp / "x.bw")], "bedGraph"),
                           (["--output-channel", "5", "-o", str(tmp / "x.bedGraph")], "does not exist"),
                           (["-o", str(tmp / "x.bedGraph"), "--regions", str(tmp / "missing.bed")], "missing.bed")):
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
    assert not list(tmp.glob("x*"))
    assert main(["predict", str(fasta), "--model", str(model_dir), "-o", "-", "-q"]) == 2  # 2 channels, one stdout
    assert "stdout" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("pyBigWig") is None, reason="needs pyBigWig (the [bigwig] extra)")
def test_bigwig_holds_the_bedgraph_values(setup):
    from seqfcn.io.intervals import read_bigwig

    tmp, seqs, fasta, model, model_dir = setup
    assert main(["predict", str(fasta), "--model", str(model_dir), "--output-channel", "0", "--window", "500",
                 "-o", str(tmp / "p.bw"), "-q"]) == 0
    for chrom, seq in seqs.items():
        np.testing.assert_allclose(read_bigwig(tmp / "p.bw", chrom, 0, CHROMS[chrom]), _whole(model, seq)[0],
                                   atol=2e-6)


def test_output_activation_follows_the_training_loss():
    assert output_activation({"architecture": {"name": "motif_scanner"}}) == "sigmoid"
    assert output_activation({"architecture": {"name": "dilated_fcn"}}) == "none"
    assert output_activation({"metadata": {"task": "profile", "config": {"train": {"loss": "mse"}}}}) == "none"
    assert output_activation({"metadata": {"config": {"train": {"loss": "cross_entropy"}}}}) == "softmax"
    assert output_activation({"metadata": {"task": "profile", "binary_labels": True,
                                           "config": {"train": {"loss": "mse"}}}}) == "sigmoid"
    assert output_activation({"metadata": {"activation": "none", "task": "motif"}}) == "none"
    assert channel_paths("out/p.bedGraph.gz", ["0", "1"]) == ["out/p.0.bedGraph.gz", "out/p.1.bedGraph.gz"]
    assert channel_paths("p", ["a", "b"]) == ["p.a", "p.b"] and channel_paths("p.bw", ["0"]) == ["p.bw"]


def test_cli_scan_with_a_model_writes_its_sites(setup, capsys):
    tmp, _, fasta, _, model_dir = setup
    out = tmp / "sites.bed"
    assert main(["scan", str(fasta), "--model", str(model_dir), "--site-threshold", "0.3", "--min-distance", "9",
                 "--output-channel", "1", "-o", str(out), "-q"]) == 0
    sites = scan_model(fasta, model_dir, threshold=0.3, min_distance=9, output=1)
    got = read_bed(out)
    assert len(got) == len(sites) > 5
    assert got["start"].tolist() == sites["start"].tolist() and got["chrom"].tolist() == sites["chrom"].tolist()
    capsys.readouterr()
    assert main(["scan", str(fasta), "--model", str(model_dir), "--max-hits", "3", "-o", str(tmp / "y.bed")]) == 2
    assert "--max-hits" in capsys.readouterr().err and not (tmp / "y.bed").exists()


def test_cli_regions_off_the_genome_and_channel_files_over_an_input_are_refused(setup, capsys):
    """A --regions chromosome the genome lacks is one line naming the BED file and the record;
    per-channel output names (OUT.0.bedGraph, ...) that are an input, here through a hard
    link to the genome, are refused before anything is written."""
    import os

    tmp, _, fasta, _, model_dir = setup
    bed = tmp / "off.bed"
    bed.write_text("chrA\t0\t10\nchrZ\t5\t20\n")
    capsys.readouterr()
    assert main(["predict", str(fasta), "--model", str(model_dir), "--regions", str(bed), "-o",
                 str(tmp / "r.bedGraph"), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(bed) in err[0] and "chrZ" in err[0] and "5" in err[0]
    before = fasta.read_bytes()
    os.link(fasta, tmp / "clash.1.bedGraph")
    assert main(["predict", str(fasta), "--model", str(model_dir), "-o", str(tmp / "clash.bedGraph"), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "clash.1.bedGraph" in err[0]
    assert fasta.read_bytes() == before and not (tmp / "clash.0.bedGraph").exists()
