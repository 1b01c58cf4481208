"""``seqfcn evaluate mask`` (held-out bits per base of a trunk beside Markov and xz), and a trunk in
``predict`` (ln p track) and ``variants`` (log-likelihood ratio)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from conftest import EX1_MODEL

pytestmark = pytest.mark.usefixtures("one_thread")


def test_tandem_mask_marks_short_period_repeats():
    from seqfcn.interpret.likelihood import tandem_mask
    from seqfcn.sequence.encode import to_codes

    seq = "ACGTTGCT" + "A" * 12 + "GCTAGT" + "CA" * 6 + "TTGACA" + "CAG" * 3 + "TTAC"
    want = np.zeros(len(seq), bool)
    want[8:20] = True  # homopolymer of 12
    want[26:38] = True  # (CA)6 = 12 bases
    # (CAG)3 is 9 bases: too short
    np.testing.assert_array_equal(tandem_mask(to_codes(seq)), want)
    assert not tandem_mask(to_codes("A" * 11)).any() and tandem_mask(to_codes("A" * 12)).all()
    assert not tandem_mask(to_codes("N" * 20)).any()


@pytest.fixture(scope="module")
def evaluated(tiny_trunk):
    from seqfcn.interpret.likelihood import evaluate_mask

    fasta, model, _ = tiny_trunk
    return evaluate_mask(fasta, model, max_order=6, window=1000)


def test_trunk_beats_an_order_zero_model_on_the_held_out_repeat(tiny_trunk, evaluated):
    from seqfcn.interpret.likelihood import evaluate_mask
    from seqfcn.sequence.markov import MarkovModel

    fasta, model, _ = tiny_trunk
    rep = evaluate_mask(fasta, model, regions=[("rep", 8000, 10000)], max_order=1, compressor=False)
    lines = fasta.read_text().split("\n")
    seq = lines[1]
    zero = MarkovModel.fit([seq[:8000]], 0).bits_per_base(seq[8000:])
    assert rep["positions"] == 2000 and zero > 1.9
    assert rep["bits_per_base"] < 0.5 * zero


def test_default_held_out_is_the_training_hold_out(evaluated):
    # hold-out 0.2: rep 10,000 -> [8000, 10000); mix 4,000 -> [3200, 4000); N run before it
    assert evaluated["bases"] == 2000 + 800 and evaluated["positions"] == 2800 and evaluated["regions"] == 2
    classes = evaluated["classes"]
    assert classes["uppercase"]["positions"] == 2800 and classes["lowercase"]["positions"] == 0
    assert classes["multicopy"]["positions"] == 2000  # the held-out repeat; the random bases are single-copy
    assert evaluated["receptive_field"] == 71
    markov = evaluated["markov"]
    assert [r["order"] for r in markov["orders"]] == [1, 2, 3, 4, 5, 6]
    assert markov["bits_per_base"] == min(r["bits_per_base"] for r in markov["orders"])
    assert markov["orders"][markov["best_order"] - 1]["bits_per_base"] == markov["bits_per_base"]
    assert evaluated["compressor"]["bases"] == 2800


def test_evaluate_equals_the_scores_it_is_made_of(tiny_trunk):
    from seqfcn.interpret.likelihood import evaluate_mask
    from seqfcn.nn.checkpoint import load_model
    from seqfcn.runtime.masked_scores import MaskedBaseScore
    from seqfcn.sequence.encode import one_hot

    fasta, model, _ = tiny_trunk
    mix = fasta.read_text().split("\n")[3]
    got = evaluate_mask(fasta, model, regions=[("mix", 900, 1500)], max_order=0, compressor=False, window=128)
    net, _ = load_model(model)
    with torch.no_grad():
        ln_p = MaskedBaseScore(net)(torch.from_numpy(one_hot(mix))[None])[0, 0].numpy()
    assert got["bits_per_base"] == pytest.approx(float(-ln_p[900:1500].mean() / math.log(2)), rel=1e-5)
    assert got["classes"]["lowercase"]["positions"] == 300 and got["classes"]["uppercase"]["positions"] == 300
    assert "markov" not in got and "compressor" not in got


def test_cli_evaluate_mask_json_and_table(tiny_trunk, cli):
    fasta, model, _ = tiny_trunk
    code, out, err = cli(["evaluate", "mask", "--model", model, "--genome", fasta, "--max-order", "3",
                          "--no-compressor", "--json", "-q"])
    assert code == 0, err
    result = json.loads(out)  # one object
    assert result["positions"] == 2800 and 0 < result["bits_per_base"] < 2.5
    code, out, _ = cli(["evaluate", "mask", "--model", model, "--genome", fasta, "--max-order", "2", "-q"])
    assert code == 0 and out.splitlines()[0].split("\t") == ["class", "positions", "trunk", "markov k=2"]
    assert out.splitlines()[2].startswith("uppercase\t2800\t") and out.splitlines()[3] == "lowercase\t0\t-\t-"
    code, _, err = cli(["evaluate", "mask", "--model", EX1_MODEL, "--genome", fasta, "-q"])
    assert code == 2 and ("4 input channels" in err or "--task mask" in err)


def test_predict_writes_the_log_probability_of_each_base(tiny_trunk, tmp_path, cli):
    from seqfcn.nn.checkpoint import load_model
    from seqfcn.runtime.masked_scores import MaskedBaseScore
    from seqfcn.sequence.encode import one_hot

    fasta, model, _ = tiny_trunk
    bed = tmp_path / "r.bed"
    bed.write_text("mix\t1900\t2200\n")
    code, _, err = cli(["predict", fasta, "--model", model, "-o", tmp_path / "lp.bedGraph", "--regions", bed,
                        "--window", "64", "-q"])
    assert code == 0, err
    rows = [r.split("\t") for r in (tmp_path / "lp.bedGraph").read_text().splitlines()]
    net, _ = load_model(model)
    mix = fasta.read_text().split("\n")[3]
    with torch.no_grad():
        ln_p = MaskedBaseScore(net)(torch.from_numpy(one_hot(mix))[None])[0, 0].numpy()
    got = np.full(len(mix), np.nan)
    for _, s, e, v in rows:
        got[int(s):int(e)] = float(v)
    np.testing.assert_allclose(got[1900:2200], ln_p[1900:2200], atol=1e-6)  # the N run [2000, 2050) is absent
    assert np.isnan(got[2000:2050]).all()
    code, _, err = cli(["predict", fasta, "--model", model, "-o", tmp_path / "x.bedGraph", "--output-channel", "2"])
    assert code == 2 and "one output channel" in err


def test_variants_score_the_log_likelihood_ratio(tiny_trunk, tmp_path):
    from seqfcn.interpret.variants import score_variants
    from seqfcn.nn.checkpoint import load_model
    from seqfcn.runtime.masked_scores import MaskedBaseScore
    from seqfcn.sequence.encode import one_hot

    fasta, model, _ = tiny_trunk
    rep = fasta.read_text().split("\n")[1]
    pos0 = 5000
    alt = "ACGT"[("ACGT".index(rep[pos0]) + 1) % 4]
    vcf = tmp_path / "v.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n##contig=<ID=rep,length=10000>\n##contig=<ID=mix,length=4000>\n"
                   "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                   f"rep\t{pos0 + 1}\tsnv\t{rep[pos0]}\t{alt}\t.\tPASS\t.\n"
                   f"rep\t{pos0 + 1}\tdel\t{rep[pos0:pos0 + 3]}\t{rep[pos0]}\t.\tPASS\t.\n")
    snv, dele = score_variants(vcf, fasta, model, window=10)
    net, _ = load_model(model)
    fn = MaskedBaseScore(net)
    x = torch.from_numpy(one_hot(rep))[None]
    masked = x.clone()
    masked[:, :, pos0 % fn.period :: fn.period] = 0
    with torch.no_grad():
        p = fn.probabilities(masked)[0, :, pos0]
    assert snv["status"] == "ok"
    assert snv["effect"] == pytest.approx(math.log(p["ACGT".index(alt)]) - math.log(p["ACGT".index(rep[pos0])]),
                                          abs=1e-5)
    assert snv["effect"] < 0  # the repeat's base is the likely one
    assert dele["status"] == "ok" and dele["window_effect"] < 0  # a deletion breaks the repeat's period


def test_multicopy_mask_equals_a_brute_force_count():
    from seqfcn.interpret.likelihood import multicopy_mask
    from seqfcn.sequence.encode import reverse_complement, to_codes

    rng = np.random.default_rng(3)
    a = "".join(rng.choice(list("ACGT"), 300))
    b = list("".join(rng.choice(list("ACGT"), 200)))
    b[20:50] = a[100:130]  # a 30-base copy
    b[120:150] = reverse_complement(a[200:230])  # and a reverse-complement copy
    b[170] = "N"
    genome = [a, "".join(b)]
    k = 8
    seen: dict[str, int] = {}
    for g in genome:
        for i in range(len(g) - k + 1):
            w = g[i:i + k]
            if "N" not in w:
                c = min(w, reverse_complement(w))
                seen[c] = seen.get(c, 0) + 1
    for g, got in zip(genome, multicopy_mask([to_codes(x) for x in genome], [to_codes(x) for x in genome], k)):
        want = np.zeros(len(g), bool)
        for i in range(len(g) - k + 1):
            w = g[i:i + k]
            if "N" not in w and seen[min(w, reverse_complement(w))] >= 2:
                want[i:i + k] = True
        np.testing.assert_array_equal(got, want)
    assert got[20:50].all() and got[120:150].all()


def test_shipped_trunk_predicts_mouse_peaks_better_than_a_markov_model():
    """The shipped human trunk on three soft-masked mouse Oct4 peaks (a species it never saw): fewer bits
    per base than an order-2 Markov model fitted on the other 997 peaks, in repeats and outside them."""
    from conftest import DATA
    from seqfcn.interpret.likelihood import evaluate_mask
    from seqfcn.io.fasta import Genome

    fasta = DATA / "chip" / "Oct4_peaks_top1000_mm9.fa"
    with Genome(fasta) as g:
        regions = [(n, 0, g.chrom_sizes[n]) for n in g.chroms[:3]]
    r = evaluate_mask(fasta, "human_trunk_1k", regions=regions, max_order=2, compressor=False)
    assert r["positions"] == 1938 and r["receptive_field"] == 1093
    assert r["bits_per_base"] == pytest.approx(1.82068, abs=1e-4)
    assert r["bits_per_base"] < r["markov"]["bits_per_base"] - 0.1
    for name in ("uppercase", "lowercase"):
        c = r["classes"][name]
        assert c["bits_per_base"] < c["markov_bits_per_base"]


@pytest.mark.parametrize("order", ["13", "-1", "x"])
def test_cli_evaluate_mask_refuses_a_bad_order(tiny_trunk, cli, order):
    fasta, model, _ = tiny_trunk
    code, out, err = cli(["evaluate", "mask", "--model", model, "--genome", fasta, "--max-order", order])
    assert code == 2 and "--max-order" in err and len(err.strip().splitlines()) == 1 and not out
