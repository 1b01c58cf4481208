"""Per-base losses (seqfcn.training.losses) and metrics (seqfcn.training.metrics) against hand-computed values."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from seqfcn.training import losses as L
from seqfcn.training import metrics as M
from seqfcn.errors import SeqfcnError

LN2 = math.log(2.0)


# ----------------------------------------------------------------------------- losses
def test_cross_entropy_ignore_index_and_weights():
    # batch 1, K=2, length 3; logits (0,0) -> CE ln2 at any label; (ln3, 0) -> CE for label 0 = ln(4/3)
    logits = torch.tensor([[[0.0, math.log(3.0), 0.0], [0.0, 0.0, 0.0]]])
    y = torch.tensor([[1, 0, -100]])
    expected = (LN2 + math.log(4 / 3)) / 2
    assert L.cross_entropy(logits, y).item() == pytest.approx(expected, rel=1e-6)
    w = torch.tensor([[3.0, 1.0, 5.0]])  # weight on an ignored position does not count
    assert L.cross_entropy(logits, y, w).item() == pytest.approx((3 * LN2 + math.log(4 / 3)) / 4, rel=1e-6)
    assert L.cross_entropy(logits, torch.full((1, 3), -100)).item() == 0.0
    with pytest.raises(SeqfcnError):
        L.cross_entropy(logits, torch.zeros(1, 2, 3))


def test_bce_known_values():
    logits = torch.tensor([[[0.0, math.log(3.0)]]])  # sigmoid = 0.5, 0.75
    y = torch.tensor([[[1.0, 0.0]]])
    expected = (LN2 + math.log(4.0)) / 2  # -ln(0.5), -ln(0.25)
    assert L.bce(logits, y).item() == pytest.approx(expected, rel=1e-6)
    w = torch.tensor([[0.0, 1.0]])  # (batch, length)
    assert L.bce(logits, y, w).item() == pytest.approx(math.log(4.0), rel=1e-6)
    # integer labels are one-hot encoded: K=2, label 0 -> targets (1, 0)
    logits2 = torch.zeros(1, 2, 2)
    assert L.bce(logits2, torch.tensor([[0, -100]])).item() == pytest.approx(LN2, rel=1e-6)


def test_dice_known_values():
    # one channel, probs 0.5 and 0.75, targets 1 and 0: inter 0.5, sum p 1.25, sum y 1
    logits = torch.tensor([[[0.0, math.log(3.0)]]])
    y = torch.tensor([[[1.0, 0.0]]])
    expected = 1 - (2 * 0.5 + 1) / (1.25 + 1 + 1)
    assert L.dice(logits, y).item() == pytest.approx(expected, rel=1e-6)
    assert L.dice(logits, y, smooth=0.0).item() == pytest.approx(1 - 1.0 / 2.25, rel=1e-6)
    # perfect confident prediction -> ~0; bce_dice = bce + dice
    big = torch.tensor([[[20.0, -20.0]]])
    assert L.dice(big, y, smooth=0.0).item() == pytest.approx(0.0, abs=1e-6)
    assert L.bce_dice(logits, y).item() == pytest.approx(L.bce(logits, y).item() + expected, rel=1e-6)


def test_bce_max_known_values():
    """The best logit of each sample against its best target: sample 0 (a positive, best logit
    ln 3 at an unlabelled base) costs -ln(0.75); sample 1 (a negative, best logit 0) -ln(0.5);
    the positive's other bases cost nothing, unlike per-base BCE."""
    logits = torch.tensor([[[-5.0, math.log(3.0), -5.0]], [[-2.0, 0.0, -7.0]]])
    y = torch.tensor([[[1.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]]])
    expected = (math.log(4 / 3) + LN2) / 2
    assert L.bce_max(logits, y).item() == pytest.approx(expected, rel=1e-6)
    # per-sample weights, and position weights: weight 0 leaves a base out of both maxima
    assert L.bce_max(logits, y, torch.tensor([1.0, 3.0])).item() == pytest.approx(
        (math.log(4 / 3) + 3 * LN2) / 4, rel=1e-6)
    w = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0]])  # sample 0 now: best logit -5, target 1
    assert L.bce_max(logits, y, w).item() == pytest.approx((math.log1p(math.exp(5.0)) + LN2) / 2, rel=1e-6)
    w0 = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])  # a sample left out entirely
    assert L.bce_max(logits, y, w0).item() == pytest.approx(LN2, rel=1e-6)
    # class labels are one-hot first; bce_dice_max = bce + dice + bce_max
    assert L.bce_max(torch.zeros(1, 2, 2), torch.tensor([[0, -100]])).item() == pytest.approx(LN2, rel=1e-6)
    assert L.bce_dice_max(logits, y).item() == pytest.approx(
        L.bce(logits, y).item() + L.dice(logits, y).item() + expected, rel=1e-6)


def test_dice_class_targets_softmax_and_ignore():
    # K=2, softmax of (0,0) = (0.5, 0.5) at both valid positions, labels 0 and 1; third ignored
    logits = torch.zeros(1, 2, 3)
    logits[0, 0, 2] = 50.0  # would matter if the ignored position counted
    y = torch.tensor([[0, 1, -100]])
    # per class: inter 0.5, sum p 1.0, sum y 1 -> 1 - (1 + 1) / (2 + 1) = 1/3
    assert L.dice(logits, y).item() == pytest.approx(1 / 3, rel=1e-6)


def test_dice_handles_imbalance_better_than_bce():
    # 1 positive in 100: predicting all-negative gives small BCE but Dice near 1
    y = torch.zeros(1, 1, 100)
    y[0, 0, 50] = 1.0
    all_neg = torch.full((1, 1, 100), -6.0)
    assert L.bce(all_neg, y).item() < 0.1
    assert L.dice(all_neg, y, smooth=0.0).item() > 0.9


def test_mse_and_registry():
    out = torch.tensor([[[1.0, 2.0]]])
    y = torch.tensor([[[0.0, 4.0]]])
    assert L.mse(out, y).item() == pytest.approx(2.5)
    assert L.mse(out, y, torch.tensor([1.0])).item() == pytest.approx(2.5)  # per-sample weight
    assert L.get_loss("bce_dice") is L.bce_dice
    assert set(L.LOSSES) == {"cross_entropy", "bce", "dice", "bce_dice", "bce_max", "bce_dice_max", "mse"}
    with pytest.raises(SeqfcnError, match="unknown loss"):
        L.get_loss("focal")
    with pytest.raises(SeqfcnError, match="shape"):
        L.bce(torch.zeros(1, 2, 3), torch.zeros(1, 1, 3))


@pytest.mark.parametrize("name", sorted(L.LOSSES))
def test_losses_give_gradients(name):
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 5, requires_grad=True)
    y = torch.randint(0, 3, (2, 5)) if name == "cross_entropy" else torch.rand(2, 3, 5).round()
    loss = L.get_loss(name)(logits, y)
    loss.backward()
    assert loss.dim() == 0 and torch.isfinite(loss) and logits.grad.abs().sum() > 0


# ----------------------------------------------------------------------------- metrics
def test_per_base_accuracy_and_error_rate_reduction():
    truth = np.array([[0, 1, 2, 3, -100]])
    observed = np.array([[0, 2, 2, 0, 1]])  # 2 errors at valid positions
    predicted = np.array([[0, 1, 2, 0, 3]])  # 1 error left
    assert M.per_base_accuracy(predicted, truth) == 0.75
    assert M.error_rate_reduction(observed, predicted, truth) == 0.5
    worse = np.array([[1, 2, 2, 0, 0]])  # 3 errors: reduction -0.5
    assert M.error_rate_reduction(observed, worse, truth) == -0.5
    assert math.isnan(M.error_rate_reduction(truth, predicted, truth))
    assert M.per_base_accuracy(torch.tensor([1, 1]), torch.tensor([1, 0])) == 0.5
    assert math.isnan(M.per_base_accuracy(np.array([1]), np.array([-100])))


def test_average_precision_hand_computed():
    # ranking: 0.9(+) 0.8(-) 0.7(+) 0.1(-): AP = 1/2*1 + 1/2*2/3 = 5/6
    assert M.average_precision([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0]) == pytest.approx(5 / 6)
    # perfect ranking -> 1; a tie of one positive and one negative at the top -> 1/2*1/2 + 1/2*2/3
    assert M.average_precision([0.3, 0.2, 0.1], [1, 1, 0]) == 1.0
    assert M.average_precision([0.5, 0.5, 0.2], [1, 0, 1]) == pytest.approx(0.25 + 1 / 3)
    assert math.isnan(M.average_precision([0.1, 0.2], [0, 0]))


def test_auroc_hand_computed():
    assert M.auroc([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0]) == pytest.approx(0.75)
    assert M.auroc([0.5, 0.5], [1, 0]) == pytest.approx(0.5)  # a tie counts one half
    assert M.auroc([0.1, 0.9], [1, 0]) == 0.0
    # agrees with the Mann-Whitney count on random data with ties
    rng = np.random.default_rng(0)
    s = rng.integers(0, 5, 200).astype(float)
    y = rng.random(200) < 0.3
    pos, neg = s[y], s[~y]
    mw = ((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()) / (len(pos) * len(neg))
    assert M.auroc(s, y) == pytest.approx(mw)
    assert math.isnan(M.auroc([0.1, 0.2], [1, 1]))


def test_pearson_and_macro_ap():
    assert M.pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert M.pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert M.pearson([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert math.isnan(M.pearson([1, 1], [1, 2]))
    probs = np.array([[0.8, 0.2], [0.6, 0.4], [0.3, 0.7]])
    truth = np.array([0, 1, 1])
    # class 0 scores (0.8+,0.6-,0.3-) -> AP 1; class 1 scores (0.2-,0.4+,0.7+) -> AP 1
    assert M.macro_average_precision(probs, truth) == 1.0
    truth2 = np.array([1, 0, -100])
    # class 0: scores 0.8(-) 0.6(+) -> AP 1/2; class 1: 0.2(+) 0.4(-) -> AP 1/2
    assert M.macro_average_precision(probs, truth2) == pytest.approx(0.5)
