"""`seqfcn attribute`: ISM against the brute-force loop, gradients of a PWM model against
its log-odds columns, integrated-gradients completeness, and the command line."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import PLANTED_AT
from seqfcn.interpret.attribute import attribute_regions, attribute_sequence, ism, target_reducer
from seqfcn.cli import main
from seqfcn.sequence.encode import one_hot
from seqfcn.io.intervals import read_bedgraph
from seqfcn.sequence.pwm import log_odds
from seqfcn.nn.models import PWMScanner, create_model
from seqfcn.runtime.inference import StrandMerged


def test_ism_equals_the_brute_force_loop():
    torch.manual_seed(0)
    model = create_model("motif_scanner", n_motifs=3, motif_width=7, n_outputs=2, channels=4, n_layers=2).eval()
    fn = StrandMerged(model, [1], "mean", "sigmoid")
    seq = "".join(np.random.default_rng(5).choice(list("ACGT"), 60))
    x = torch.from_numpy(one_hot(seq))
    reduce = target_reducer("window:5", 0, 10, 50)
    got = ism(fn, x, reduce, range(10, 50), batch_size=17)
    with torch.no_grad():
        ref = float(reduce(fn(x[None]))[0])
        want = np.zeros((4, 40))
        for j, i in enumerate(range(10, 50)):
            for b in range(4):
                if seq[i] != "ACGT"[b]:
                    mutant = seq[:i] + "ACGT"[b] + seq[i + 1 :]
                    want[b, j] = float(reduce(fn(torch.from_numpy(one_hot(mutant))[None]))[0]) - ref
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    assert np.abs(want).max() > 1e-3 and (want[:, :5] == 0).all()  # far from the window: no effect


def test_gradients_of_a_pwm_model_are_its_log_odds_columns(planted_site):
    """A one-layer PWM model, target = its score at the site's anchor (both strands merged):
    the hypothetical contributions over the site are the PWM's log-odds columns, zero
    elsewhere; ISM gives each column minus the present base's entry."""
    tmp, motif, seq, fasta, model_dir = planted_site
    width = motif.pfm.shape[1]
    pwm = log_odds(motif.pfm, nsites=motif.nsites)
    anchor = PLANTED_AT + (width - 1) // 2
    region = [("chr1", anchor - 20, anchor + 21)]  # centre base = the anchor
    for method in ("grad_input", "ism"):
        (r,) = attribute_regions(fasta, model_dir, region, method=method)
        hyp = r["hypothetical"].astype(np.float64)
        site = slice(PLANTED_AT - r["start"], PLANTED_AT - r["start"] + width)
        present = (pwm * one_hot(seq[PLANTED_AT : PLANTED_AT + width])).sum(0)  # the present base's entry per column
        expected = pwm if method == "grad_input" else pwm - present[None, :]
        np.testing.assert_allclose(hyp[:, site], expected, atol=2e-5)
        outside = np.ones(hyp.shape[1], bool)
        outside[site] = False
        assert np.abs(hyp[:, outside]).max() < 1e-5  # float32 rounding of a score near 15
        assert r["target"] == pytest.approx(present.sum(), abs=1e-4)
    np.testing.assert_allclose(r["contribution"][site], -(pwm - present[None]).sum(0) / 3, atol=2e-5)


def test_integrated_gradients_add_up_for_a_linear_model(planted_site):
    _, motif, seq, _, _ = planted_site
    model = PWMScanner.from_motifs([motif], strand="forward").eval()
    fn = StrandMerged(model, [0], "mean", "none")
    x = torch.from_numpy(one_hot(seq[250:400]))
    hyp, contrib = attribute_sequence(fn, x, 0, 150, target="sum", method="integrated_gradients", steps=4)
    with torch.no_grad():
        total = float(fn(x[None]).sum()) - float(fn(torch.full_like(x, 0.25)[None]).sum())
    assert contrib.sum() == pytest.approx(total, rel=1e-5)
    grad, _ = attribute_sequence(fn, x, 0, 150, target="sum", method="grad_input")
    np.testing.assert_allclose(hyp, grad, atol=1e-5)  # linear: the gradient is the same everywhere


def test_cli_attribute_track_and_npz(planted_site, capsys):
    tmp, motif, seq, fasta, model_dir = planted_site
    bed = tmp / "r.bed"
    bed.write_text("chr1\t280\t340\nchr1\t100\t130\n")
    out, npz = tmp / "c.bedGraph", tmp / "c.npz"
    assert main(["attribute", str(fasta), "--model", str(model_dir), "--regions", str(bed), "--method", "ism",
                 "-o", str(out), "--npz", str(npz), "-q"]) == 0
    results = attribute_regions(fasta, model_dir, [("chr1", 280, 340), ("chr1", 100, 130)], method="ism")
    saved = np.load(npz)
    assert saved["start"].tolist() == [280, 100] and saved["chrom"].tolist() == ["chr1", "chr1"]
    for i, r in enumerate(results):
        np.testing.assert_array_equal(saved[f"hypothetical_{i}"], r["hypothetical"])
    track = read_bedgraph(out, chrom_sizes={"chr1": 800})["chr1"]
    np.testing.assert_allclose(track[280:340], results[0]["contribution"], atol=1e-6)
    np.testing.assert_allclose(track[100:130], results[1]["contribution"], atol=1e-6)
    assert np.isnan(track[:100]).all() and np.isnan(track[340:]).all()
    capsys.readouterr()
    for extra, message in ((["--target", "middle", "-o", str(tmp / "x.bedGraph")], "target"),
                           (["--output-channel", "3", "-o", str(tmp / "x.bedGraph")], "does not exist"),
                           ([], "-o TRACK")):
        assert main(["attribute", str(fasta), "--model", str(model_dir), "--regions", str(bed), *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
    assert not (tmp / "x.bedGraph").exists()
    far = tmp / "far.bed"
    far.write_text("chr1\t790\t900\n")
    assert main(["attribute", str(fasta), "--model", str(model_dir), "--regions", str(far), "-o",
                 str(tmp / "x.bedGraph")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(far) in err[0] and "chr1" in err[0] and "790" in err[0]
