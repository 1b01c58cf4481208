"""`seqfcn variants`: effects of SNVs and indels on a model's output, REF checked."""
from __future__ import annotations

import numpy as np
import pysam
import pytest
import torch

from conftest import PLANTED_AT
from seqfcn.nn.checkpoint import save_model
from seqfcn.cli import main
from seqfcn.sequence.encode import one_hot
from seqfcn.sequence.pwm import log_odds
from seqfcn.nn.models import create_model
from seqfcn.runtime.inference import StrandMerged
from seqfcn.interpret.variants import score_variants


def _vcf(path, rows, contigs=(("chr1", 800),)):
    head = "##fileformat=VCFv4.2\n" + "".join(f"##contig=<ID={c},length={n}>\n" for c, n in contigs)
    head += "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    path.write_text(head + "".join(f"{c}\t{p}\t{i}\t{r}\t{a}\t.\tPASS\t.\n" for c, p, i, r, a in rows))
    return path


def test_a_variant_that_breaks_a_planted_site_changes_the_pwm_score_exactly(planted_site):
    """PWM model (log-odds, both strands): an SNV at the site's anchor changes the output
    there by exactly the PWM difference of the two bases in that column; a REF that is not
    the genome's is reported, not scored; a multi-allelic record gives one row per ALT."""
    tmp, motif, seq, fasta, model_dir = planted_site
    width = motif.pfm.shape[1]
    pwm = log_odds(motif.pfm, nsites=motif.nsites)
    c = (width - 1) // 2
    anchor = PLANTED_AT + c  # 0-based
    ref = seq[anchor]
    alts = [b for b in "ACGT" if b != ref]
    wrong = "A" if seq[100] != "A" else "C"
    vcf = _vcf(tmp / "v.vcf", [("chr1", anchor + 1, "snv", ref, ",".join(alts)), ("chr1", 101, "bad", wrong, "G"),
                               ("chr1", 50, "sym", seq[49], "<DEL>"), ("chr9", 5, "elsewhere", "A", "C")])
    rows = score_variants(vcf, fasta, model_dir, window=10)
    assert [r["alt"] for r in rows[:3]] == alts and [r["status"] for r in rows] == ["ok"] * 3 + [
        "ref_mismatch", "symbolic", "unknown_chrom"]
    for r, alt in zip(rows, alts):
        assert r["effect"] == pytest.approx(pwm["ACGT".index(alt), c] - pwm["ACGT".index(ref), c], abs=1e-4)
        assert r["ref_score"] == pytest.approx((pwm * one_hot(seq[PLANTED_AT : PLANTED_AT + width])).sum(), abs=1e-4)
    assert rows[3]["effect"] is None and rows[3]["window_effect"] is None


def test_an_indel_shifts_the_prediction_by_its_length(planted_site, tmp_path):
    """A 3-base insertion (and a 2-base deletion) upstream: the alternative window's output
    right of the variant is the reference output shifted by the length difference, so the
    window effect is the sum over the inserted bases alone minus what the edges see."""
    _, _, seq, fasta, _ = planted_site
    torch.manual_seed(1)
    net = create_model("dilated_fcn", channels=4, n_layers=2, n_outputs=1).eval()
    model_dir = save_model(net, tmp_path / "m")
    pos = 400
    fn = StrandMerged(net, [0], "mean", "none")
    for ref, alt in ((seq[pos], seq[pos] + "GTA"), (seq[pos : pos + 3], seq[pos])):
        vcf = _vcf(tmp_path / "i.vcf", [("chr1", pos + 1, "indel", ref, alt)])
        (row,) = score_variants(vcf, fasta, model_dir, window=0)
        alt_seq = seq[:pos] + alt + seq[pos + len(ref):]
        with torch.no_grad():
            y_ref = fn(torch.from_numpy(one_hot(seq))[None])[0, 0].double().numpy()
            y_alt = fn(torch.from_numpy(one_hot(alt_seq))[None])[0, 0].double().numpy()
        shift = len(alt) - len(ref)
        margin = max(net.receptive_margins)
        far = pos + len(ref) + margin + 5
        np.testing.assert_allclose(y_alt[far + shift : far + shift + 50], y_ref[far : far + 50], atol=1e-6)
        assert row["effect"] == pytest.approx(y_alt[pos] - y_ref[pos], abs=1e-5)
        assert row["window_effect"] == pytest.approx(y_alt[pos : pos + len(alt)].sum() - y_ref[pos : pos + len(ref)].sum(),
                                                     abs=1e-4)


def test_cli_tsv_and_vcf_outputs(planted_site, capsys):
    tmp, motif, seq, fasta, model_dir = planted_site
    vcf = _vcf(tmp / "c.vcf", [("chr1", 305, "a", seq[304], "A,T" if seq[304] not in "AT" else "C,G"),
                               ("chr1", 20, "b", "N" if seq[19] != "N" else "A", "C")])
    tsv = tmp / "e.tsv"
    assert main(["variants", str(vcf), "--genome", str(fasta), "--model", str(model_dir), "-o", str(tsv), "-q"]) == 0
    lines = tsv.read_text().splitlines()
    assert lines[0].split("\t")[:6] == ["chrom", "pos", "id", "ref", "alt", "status"] and len(lines) == 4
    assert lines[3].split("\t")[5] == "ref_mismatch" and lines[3].endswith("NA")
    out = tmp / "e.vcf"
    assert main(["variants", str(vcf), "--genome", str(fasta), "--model", str(model_dir), "-o", str(out), "-q"]) == 0
    with pysam.VariantFile(str(out)) as fh:
        recs = list(fh)
    assert len(recs) == 2 and len(recs[0].info["SEQFCN_EFFECT"]) == 2
    assert recs[0].info["SEQFCN_EFFECT"][0] == pytest.approx(float(lines[1].split("\t")[8]), rel=1e-4)
    assert recs[1].info["SEQFCN_STATUS"] == ("ref_mismatch",)
    capsys.readouterr()
    (tmp / "broken.vcf").write_text("not a vcf\n")
    assert main(["variants", str(tmp / "broken.vcf"), "--genome", str(fasta), "--model", str(model_dir),
                 "-o", str(tmp / "x.tsv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "broken.vcf" in err[0] and not (tmp / "x.tsv").exists()


def _lambda_vcf(path, body: str):
    from conftest import LAMBDA_FA

    name, _, seq = LAMBDA_FA.read_text().partition("\n")
    chrom, seq = name[1:].split()[0], seq.replace("\n", "")
    path.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
                    + body.format(chrom=chrom, ref=seq[99]))
    return path


def test_bcf_round_trip_and_a_damaged_bcf_in_seqfcn_words(tmp_path, capfd, caplog):
    """.bcf output of a VCF with undeclared names and a symbolic ALT reads back with the same
    fields; the symbolic ALT is counted in the log; a truncated BCF input is one line naming the
    record, with nothing from htslib on the terminal (fd 2, not only sys.stderr)."""
    from conftest import LAMBDA_FA

    vcf = _lambda_vcf(tmp_path / "v.vcf", "{chrom}\t100\tv1\t{ref}\tA,<DEL>\t.\t.\tDP=10\tGT:AD\t0/1:3,4\n")
    argv = ["--genome", str(LAMBDA_FA), "--model", "pou5f1_sox2_pwm", "--window", "10"]
    with caplog.at_level("WARNING", logger="seqfcn"):
        assert main(["variants", str(vcf), *argv, "-o", str(tmp_path / "e.bcf")]) == 0
    assert "1 ALT allele(s) that are symbolic" in caplog.text
    with pysam.VariantFile(str(tmp_path / "e.bcf")) as fh:
        (rec,) = list(fh)
    assert rec.info["DP"] == ("10",) and rec.info["SEQFCN_STATUS"] == ("ok", "symbolic")
    assert rec.samples["S1"]["GT"] == (0, 1) and rec.samples["S1"]["AD"] == ("3", "4")
    data = (tmp_path / "e.bcf").read_bytes()
    (tmp_path / "cut.bcf").write_bytes(data[: len(data) - 40])
    capfd.readouterr()
    assert main(["variants", str(tmp_path / "cut.bcf"), *argv, "-o", str(tmp_path / "x.tsv")]) == 2
    err = capfd.readouterr().err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and "cut.bcf" in lines[0] and "[E::" not in err and "[W::" not in err, err
    assert not (tmp_path / "x.tsv").exists()


def test_a_bad_allele_and_an_empty_line_name_the_vcf_line(tmp_path, capfd):
    from conftest import LAMBDA_FA

    argv = ["--genome", str(LAMBDA_FA), "--model", "pou5f1_sox2_pwm", "-o", str(tmp_path / "e.vcf")]
    for body, phrase in (("{chrom}\t100\tv1\t{ref}\tAXG\t.\t.\t.\tGT\t0\n", "line 3: ALT allele 'AXG' is neither"),
                         ("{chrom}\t100\tv1\t{ref}\tA\t.\t.\t.\tGT\t0\n\n{chrom}\t100\tv1\t{ref}\tA\t.\t.\t.\tGT\t0\n",
                          "line 4: an empty line between records")):
        vcf = _lambda_vcf(tmp_path / "v.vcf", body)
        capfd.readouterr()
        assert main(["variants", str(vcf), *argv]) == 2
        err = capfd.readouterr().err
        assert err == f"seqfcn variants: error: {vcf}: {phrase}" + err.split(phrase, 1)[1] and err.count("\n") == 1
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(("e.vcf", ".e.vcf"))]
