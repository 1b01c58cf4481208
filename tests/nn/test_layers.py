"""MotifConv (PWM init, anchors, strands), DilatedResidualBlock and heads."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from seqfcn.resources import MOTIFS
from seqfcn.sequence.encode import one_hot, reverse_complement_onehot
from seqfcn.nn.layers import ChannelLayerNorm, DilatedResidualBlock, MotifConv, PerBaseHead
from seqfcn.nn.receptive import module_span


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread per test


DATA = Path(__file__).resolve().parents[2] / "data" / "motifs"
JASPAR = MOTIFS["jaspar2024"].path
INDEX = {b: i for i, b in enumerate("ACGT")}


def _random_onehot(batch: int, length: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    bases = torch.randint(0, 4, (batch, length), generator=gen)
    return torch.nn.functional.one_hot(bases, 4).permute(0, 2, 1).to(torch.float64)


def _jaspar_motifs(*ids: str):
    from seqfcn.io.motifs import read_motifs

    motifs = {m.id: m for m in read_motifs(JASPAR)}
    return [motifs[i] for i in ids]


def _hand_log_odds(pfm: np.ndarray, nsites: int, pseudocount: float = 0.1) -> np.ndarray:
    """FIMO-style log-odds in bits against a uniform background, computed here by hand."""
    bg = 0.25
    smoothed = (pfm * nsites + pseudocount * bg) / (nsites + pseudocount)
    return np.log2(smoothed / bg)


def test_jaspar_pwm_gives_exact_log_odds_of_hand_computed_site():
    (motif,) = _jaspar_motifs("MA0142.1")  # Pou5f1::Sox2
    assert motif.pfm.shape == (4, 15)
    lo = _hand_log_odds(motif.pfm, motif.nsites)
    consensus = "".join("ACGT"[i] for i in motif.pfm.argmax(axis=0))
    site = "TTTGCATAACAATGA"  # a hand-picked site with mismatches to the consensus
    assert site != consensus
    expected = sum(lo[INDEX[b], j] for j, b in enumerate(site))
    flank = "ACGTTGCA"
    seq = flank + site + flank
    layer = MotifConv.from_motifs([motif], dtype=torch.float64)
    out = layer(torch.from_numpy(one_hot(seq, dtype=np.float64))[None])
    assert out.shape == (1, 1, len(seq))
    # anchor "start": the score at i is the window starting at i
    assert out[0, 0, len(flank)].item() == pytest.approx(expected, abs=1e-9)
    expected_consensus = lo.max(axis=0).sum()
    out_c = layer(torch.from_numpy(one_hot(consensus, dtype=np.float64))[None])
    assert out_c[0, 0, 0].item() == pytest.approx(expected_consensus, abs=1e-9)
    assert not layer.weight.requires_grad  # frozen by default
    assert layer.motif_names == [motif.name]


def test_padded_motifs_score_like_their_own_width_on_both_strands():
    short, long_ = _jaspar_motifs("MA0142.1", "MA0066.2")  # 15 and 19 (PPARG) wide
    assert short.pfm.shape[1] < long_.pfm.shape[1]
    layer = MotifConv.from_motifs([short, long_], strand="rc_equivariant", freeze=False, dtype=torch.float64)
    assert layer.kernel_size == long_.pfm.shape[1]
    assert layer.weight.requires_grad
    lo = _hand_log_odds(short.pfm, short.nsites)
    x = _random_onehot(1, 60, seed=3)
    seq = "".join("ACGT"[i] for i in x[0].argmax(0).tolist())
    out = layer(x)[0]  # (4, 60): fwd short, fwd long, rc long, rc short
    w = short.pfm.shape[1]
    for i in (0, 20, 60 - w):  # forward window [i, i + w); zero columns add nothing
        site = seq[i : i + w]
        assert out[0, i].item() == pytest.approx(sum(lo[INDEX[b], j] for j, b in enumerate(site)), abs=1e-9)
    comp = {"A": "T", "C": "G", "G": "C", "T": "A"}
    for i in (w - 1, 33, 59):  # minus strand: motif's first base at i, window [i - w + 1, i]
        site = "".join(comp[b] for b in reversed(seq[i - w + 1 : i + 1]))
        assert out[3, i].item() == pytest.approx(sum(lo[INDEX[b], j] for j, b in enumerate(site)), abs=1e-9)


@pytest.mark.parametrize("anchor", ["start", "center"])
@pytest.mark.parametrize("width", [4, 5])
def test_anchor_positions(anchor, width):
    layer = MotifConv(4, 1, width, anchor=anchor, bias=False).double()
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[0, 0, 0] = 1.0  # scores 1 when the motif's first base is A
    x = torch.zeros(1, 4, 20, dtype=torch.float64)
    x[0, 0, 10] = 1.0  # a single A at 10
    out = layer(x)[0, 0]
    c = 0 if anchor == "start" else (width - 1) // 2
    assert torch.nonzero(out).flatten().tolist() == [10 + c]
    assert module_span(layer, 10 + c, 10 + c) == (10, 10 + width - 1)


@pytest.mark.parametrize("anchor", ["start", "center"])
@pytest.mark.parametrize("width", [4, 7])
def test_rc_equivariance_and_both_strand_invariance(anchor, width):
    torch.manual_seed(0)
    x = _random_onehot(3, 41, seed=1)
    rc = reverse_complement_onehot(x)
    eq = MotifConv(4, 5, width, strand="rc_equivariant", anchor=anchor).double()
    y = eq(x)
    assert y.shape == (3, 10, 41)
    torch.testing.assert_close(eq(rc), y.flip(1, 2), rtol=0, atol=1e-12)
    for mode in ("both_max", "both_sum"):
        both = MotifConv(4, 5, width, strand=mode, anchor=anchor).double()
        both.load_state_dict(eq.state_dict())
        z = both(x)
        assert z.shape == (3, 5, 41)
        torch.testing.assert_close(both(rc), z.flip(2), rtol=0, atol=1e-12)
        halves = (y[:, :5], y[:, 5:].flip(1))
        ref = torch.maximum(*halves) if mode == "both_max" else halves[0] + halves[1]
        torch.testing.assert_close(z, ref, rtol=0, atol=1e-12)


def test_forward_mode_is_not_rc_equivariant_and_strand_needs_4_channels():
    layer = MotifConv(4, 2, 5).double()
    x = _random_onehot(1, 30)
    assert not torch.allclose(layer(reverse_complement_onehot(x)), layer(x).flip(1, 2))
    with pytest.raises(ValueError, match="in_channels == 4"):
        MotifConv(5, 2, 5, strand="both_max")
    with pytest.raises(ValueError, match="strand"):
        MotifConv(4, 2, 5, strand="plus")


def test_load_motifs_validates():
    layer = MotifConv(4, 1, 3)
    with pytest.raises(ValueError, match="wide"):
        layer.load_motifs([np.full((4, 5), 0.25)])
    with pytest.raises(ValueError, match="2 motifs"):
        layer.load_motifs([np.full((4, 3), 0.25)] * 2)
    with pytest.raises(ValueError, match="pseudocount"):
        layer.load_motifs([np.eye(4)[:, :3]], pseudocount=0.0)


@pytest.mark.parametrize("length", [31, 32, 37])
@pytest.mark.parametrize("dilation", [1, 3, 4])
def test_residual_block_same_and_valid(length, dilation):
    torch.manual_seed(0)
    same = DilatedResidualBlock(3, 3, dilation, norm="layer").double().eval()
    valid = DilatedResidualBlock(3, 3, dilation, padding="valid", norm="layer").double().eval()
    valid.load_state_dict(same.state_dict())
    x = torch.randn(2, 3, length, dtype=torch.float64)
    y = same(x)
    assert y.shape == x.shape
    v = valid(x)
    assert v.shape == (2, 3, length - 2 * dilation)
    # valid output j is same output j + dilation (no padding involved there)
    torch.testing.assert_close(v, y[..., dilation : length - dilation])
    assert module_span(same, 10, 10) == (10 - dilation, 10 + dilation)
    assert module_span(valid, 10, 10) == (10, 10 + 2 * dilation)


def test_residual_block_translation_equivariance():
    torch.manual_seed(1)
    block = DilatedResidualBlock(4, 5, 2, norm="batch", dropout=0.2).double().eval()
    x = torch.randn(1, 4, 60, dtype=torch.float64)
    s = 7
    shifted = torch.roll(x, s, dims=-1)
    y, ys = block(x), block(shifted)
    torch.testing.assert_close(ys[..., 4 + s : 60 - 4], y[..., 4 : 60 - 4 - s])


def test_residual_block_rejects_even_kernel():
    with pytest.raises(ValueError, match="odd"):
        DilatedResidualBlock(4, 4)


def test_channel_layer_norm_is_per_position():
    norm = ChannelLayerNorm(3).double()
    x = torch.tensor([[[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]]], dtype=torch.float64)
    y = norm(x)
    expected = (x - x.mean(1, keepdim=True)) / torch.sqrt(x.var(1, unbiased=False, keepdim=True) + 1e-5)
    torch.testing.assert_close(y, expected)


def test_per_base_head_is_a_1x1_conv():
    head = PerBaseHead(3, 5, task="classification").double()
    x = torch.randn(2, 3, 11, dtype=torch.float64)
    conv = head.net[0]
    expected = torch.einsum("kc,bcl->bkl", conv.weight[:, :, 0], x) + conv.bias[None, :, None]
    torch.testing.assert_close(head(x), expected)
    assert module_span(head, 4, 6) == (4, 6)
    hidden = PerBaseHead(3, 1, task="regression", hidden_channels=8)
    assert hidden(x.float()).shape == (2, 1, 11)
    with pytest.raises(ValueError, match="task"):
        PerBaseHead(3, 1, task="segmentation")


def test_seed_motifs_centres_pwms_in_the_first_filters_and_keeps_the_rest():
    from seqfcn.sequence.pwm import log_odds
    from seqfcn.nn.layers import MotifConv

    torch.manual_seed(0)
    conv = MotifConv(4, 3, 9, strand="both_max")
    before = conv.weight.detach().clone()
    pfm = np.array([[0.7, 0.1, 0.1, 0.1, 0.25], [0.1, 0.7, 0.1, 0.1, 0.25],
                    [0.1, 0.1, 0.7, 0.1, 0.25], [0.1, 0.1, 0.1, 0.7, 0.25]])
    conv.seed_motifs([pfm])
    w = conv.weight.detach().numpy()
    np.testing.assert_allclose(w[0, :, 2:7], log_odds(pfm), rtol=1e-6)
    assert (w[0, :, :2] == 0).all() and (w[0, :, 7:] == 0).all() and conv.bias[0].item() == 0
    assert torch.equal(conv.weight[1:], before[1:]) and conv.weight.requires_grad
    with pytest.raises(ValueError, match="wide"):
        conv.seed_motifs([np.full((4, 11), 0.25)])
