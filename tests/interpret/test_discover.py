"""`seqfcn discover`: seqlets from attributions, clustered into motifs matched to JASPAR."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import JASPAR_MEME
from seqfcn.cli import main
from seqfcn.errors import SeqfcnError
from seqfcn.io.motifs import Motif, read_motifs, write_meme
from seqfcn.sequence.compare import similarity
from seqfcn.interpret.discover import attribute_all, discover_motifs, seqlet_starts


def _fasta(path, motif, n, with_site, seed):
    """``n`` random 200 bp sequences; ``with_site`` of them carry a site sampled from the motif
    (either strand, anywhere)."""
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        s = list(rng.choice(list("ACGT"), 200))
        if i < with_site:
            site = "".join("ACGT"[rng.choice(4, p=motif.pfm[:, j])] for j in range(motif.width))
            if rng.random() < 0.5:
                site = site[::-1].translate(str.maketrans("ACGT", "TGCA"))
            p = int(rng.integers(20, 160))
            s[p : p + len(site)] = site
        records.append(f">s{i}\n{''.join(s)}\n")
    path.write_text("".join(records))
    return path


@pytest.fixture(scope="module")
def jaspar():
    return read_motifs(JASPAR_MEME)


def test_seqlet_starts_take_the_best_windows_without_overlap():
    c = np.zeros(40)
    c[5:8] = 1.0
    c[20:23] = 2.0
    c[24] = 0.5
    assert seqlet_starts(c, 3, 0.9) == [(20, 6.0), (5, 3.0)]
    assert seqlet_starts(c, 3, 3.0) == [(20, 6.0)] and seqlet_starts(c[:2], 3, 0.0) == []


def test_batched_attributions_equal_one_sequence_at_a_time():
    """Mixed lengths, batches that split a length group: every sequence's gradient x input
    equals attribute_sequence on it alone (the logsumexp target over the whole sequence),
    for a multi-layer model whose edges see zero padding."""
    import torch

    from seqfcn.interpret.attribute import attribute_sequence
    from seqfcn.nn.models import create_model
    from seqfcn.runtime.inference import StrandMerged

    torch.manual_seed(0)
    net = create_model("motif_scanner", n_motifs=4, motif_width=7, n_outputs=1, channels=4, n_layers=2).eval()
    fn = StrandMerged(net, 0, activation="none")
    rng = np.random.default_rng(0)
    xs = [np.eye(4, dtype=np.float32)[:, rng.integers(0, 4, n)] for n in (50, 80, 50, 50, 80, 33, 50)]
    got = attribute_all(fn, xs, batch_size=2)
    for x, (hyp, contrib) in zip(xs, got):
        want_h, want_c = attribute_sequence(fn, torch.from_numpy(x), 0, x.shape[1], target="logsumexp")
        np.testing.assert_allclose(hyp, want_h, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(contrib, want_c, rtol=1e-5, atol=1e-7)
        assert hyp.shape == (4, x.shape[1]) and np.abs(hyp).max() > 0
    with pytest.raises(SeqfcnError):
        attribute_all(fn, xs, batch_size=0)


def test_discover_finds_the_planted_motif_and_nothing_in_random_sequence(tmp_path, jaspar):
    motif = next(m for m in jaspar if m.id == "MA0142.1")
    fasta = _fasta(tmp_path / "p.fa", motif, 40, 30, seed=0)
    found = discover_motifs(fasta, "pou5f1_sox2_pwm", database=jaspar, min_seqlets=5, n_null=2000)
    assert found["clusters"][0] >= 22 and len(found["motifs"]) == 1  # most of the 30 planted sites
    best = found["motifs"][0]
    assert similarity(best.pfm, motif.pfm) > 0.95
    top = [x["id"] for x in found["matches"][0]]
    assert "MA0142.1" in top and found["matches"][0][0]["p"] <= 1e-3
    plain = _fasta(tmp_path / "r.fa", motif, 40, 0, seed=1)
    assert discover_motifs(plain, "pou5f1_sox2_pwm", database=jaspar, min_seqlets=5, n_null=100)["motifs"] == []


def test_cli_discover_writes_meme_matches_and_logos(tmp_path, jaspar, capsys):
    motif = next(m for m in jaspar if m.id == "MA0142.1")
    fasta = _fasta(tmp_path / "p.fa", motif, 30, 25, seed=3)
    out, tsv, logos = tmp_path / "d.meme", tmp_path / "m.tsv", tmp_path / "logos"
    assert main(["discover", str(fasta), "--model", "pou5f1_sox2_pwm", "-o", str(out), "--matches", str(tsv),
                 "--logos", str(logos), "--min-seqlets", "5", "-q"]) == 0
    (got,) = read_motifs(out)
    assert got.id == "seqfcn_1" and got.nsites >= 15 and similarity(got.pfm, motif.pfm) > 0.9
    rows = [line.split("\t") for line in tsv.read_text().splitlines()]
    assert rows[0][:4] == ["motif", "seqlets", "rank", "id"] and "MA0142.1" in [r[3] for r in rows[1:]]
    assert (logos / "seqfcn_1.png").read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    assert main(["discover", str(fasta), "--model", "pou5f1_sox2_pwm", "-o", str(tmp_path / "x.meme"),
                 "--alpha", "2"]) == 2
    assert "alpha" in capsys.readouterr().err and not (tmp_path / "x.meme").exists()


def test_write_meme_round_trips(tmp_path, jaspar):
    motifs = [*jaspar[:2], Motif(name="x", id="x", pfm=np.full((4, 3), 0.25), nsites=None)]
    write_meme(motifs, tmp_path / "m.meme")
    back = read_motifs(tmp_path / "m.meme")
    assert [m.id for m in back] == [m.id for m in motifs] and [m.name for m in back] == [m.name for m in motifs]
    for a, b in zip(motifs, back):
        np.testing.assert_allclose(a.pfm, b.pfm, atol=1e-6)
    assert back[2].nsites == 20 and back[1].nsites == jaspar[1].nsites


def test_cli_discover_logos_never_replace_an_input(tmp_path, jaspar, capsys):
    """A logo file that would be an input (a symlink to the FASTA) is refused before the MEME
    file or any logo is written."""
    motif = next(m for m in jaspar if m.id == "MA0142.1")
    fasta = _fasta(tmp_path / "p.fa", motif, 30, 25, seed=3)
    (tmp_path / "logos").mkdir()
    (tmp_path / "logos" / "seqfcn_1.png").symlink_to(fasta)
    before = fasta.read_bytes()
    capsys.readouterr()
    assert main(["discover", str(fasta), "--model", "pou5f1_sox2_pwm", "-o", str(tmp_path / "d.meme"),
                 "--logos", str(tmp_path / "logos"), "--min-seqlets", "5", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "seqfcn_1.png" in err[0]
    assert fasta.read_bytes() == before and not (tmp_path / "d.meme").exists()


def test_discover_over_a_region_longer_than_max_length_finds_the_planted_motif_first(tmp_path, jaspar):
    """A 60 kb random chromosome with 40 planted sites: discover over a 50 kb region (tiles of
    10 kb plus the model's receptive field) returns the planted motif first; no 10 kb refusal."""
    motif = next(m for m in jaspar if m.id == "MA0142.1")
    rng = np.random.default_rng(5)
    s = list(rng.choice(list("ACGT"), 60_000))
    for k in range(40):
        site = "".join("ACGT"[rng.choice(4, p=motif.pfm[:, j])] for j in range(motif.width))
        if k % 2:
            site = site[::-1].translate(str.maketrans("ACGT", "TGCA"))
        p = 5_000 + k * 1_200 + int(rng.integers(0, 800))
        s[p : p + len(site)] = site
    (tmp_path / "g.fa").write_text(">chr1\n" + "".join(s) + "\n")
    found = discover_motifs(tmp_path / "g.fa", "pou5f1_sox2_pwm", regions=[("chr1", 4_000, 54_000)],
                            min_seqlets=5, n_null=500, batch_size=2)
    assert found["clusters"][0] >= 10 and len(found["clusters"]) == 1  # the planted sites only
    assert similarity(found["motifs"][0].pfm, motif.pfm) > 0.9
