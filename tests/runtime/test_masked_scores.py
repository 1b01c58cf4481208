"""Zero-shot scores of a masked-base trunk: a brute-force oracle, strand symmetry, tiled == untiled."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.usefixtures("one_thread")


def _oracle(net, x: torch.Tensor, i: int, period: int) -> float:
    """ln p(base at i) with i and every period-th base from it masked, both strands averaged, by hand."""
    masked = x.clone()
    masked[:, :, i % period :: period] = 0
    fwd = torch.softmax(net(masked), 1)[0, :, i]
    rc = masked.flip(-1).flip(1)  # A<->T, C<->G, reversed
    rev = torch.softmax(net(rc), 1)[0, :, x.shape[-1] - 1 - i].flip(0)
    return math.log(float(((fwd + rev) / 2 * x[0, :, i]).sum()))


@pytest.fixture(scope="module")
def scored(tiny_trunk):
    from seqfcn.nn.checkpoint import load_model
    from seqfcn.runtime.masked_scores import MaskedBaseScore
    from seqfcn.sequence.encode import one_hot

    net, _ = load_model(tiny_trunk[1])
    rng = np.random.default_rng(1)
    seq = list("".join(rng.choice(list("ACGT"), 600)))
    seq[300:303] = "NNN"
    x = torch.from_numpy(one_hot("".join(seq)))[None]
    fn = MaskedBaseScore(net).eval()
    with torch.no_grad():
        return net, fn, x, fn(x)[0, 0].numpy()


def test_scores_equal_the_oracle(scored):
    net, fn, x, scores = scored
    with torch.no_grad():
        for i in (0, 1, 6, 7, 150, 299, 303, 599):
            assert scores[i] == pytest.approx(_oracle(net, x, i, fn.period), abs=1e-5)
    assert np.isnan(scores[300:303]).all() and not np.isnan(np.delete(scores, [300, 301, 302])).any()
    assert (scores[~np.isnan(scores)] < 0).all()


def test_reverse_complement_gives_the_reversed_scores(scored):
    _, fn, x, scores = scored
    with torch.no_grad():
        rc = fn(x.flip(-1).flip(1))[0, 0].numpy()
    np.testing.assert_allclose(rc[::-1], scores, atol=1e-5)


def test_tiled_equals_untiled(scored):
    net, fn, x, scores = scored
    left, right = net.receptive_margins
    with torch.no_grad():
        for a, b in ((0, 400), (123, 600), (37, 520)):
            part = fn(x[:, :, a:b])[0, 0].numpy()
            lo, hi = (a + left if a else 0), (b - right if b < 600 else 600)
            np.testing.assert_array_equal(part[lo - a : hi - a], scores[lo:hi])
