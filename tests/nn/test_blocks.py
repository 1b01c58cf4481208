"""Dilated stack, down/upsampling, skips, score fusion and ASPP."""
from __future__ import annotations

import pytest
import torch

from seqfcn.nn.blocks import (
    ASPP1d,
    ConvBlock,
    DilatedStack,
    Downsample,
    ScoreFusion,
    Upsample,
    center_crop,
    concat_skip,
    dilation_schedule,
    linear_interpolation_kernel,
    pad_to_multiple,
    transposed_conv_coverage,
)
from seqfcn.nn.receptive import module_span


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread per test


def test_dilation_schedule():
    assert dilation_schedule(5) == [1, 2, 4, 8, 16]
    assert dilation_schedule(5, cycle=3) == [1, 2, 4, 1, 2]
    assert dilation_schedule(3, base=3) == [1, 3, 9]


@pytest.mark.parametrize("length", [61, 64, 67])
def test_dilated_stack_same_and_valid(length):
    torch.manual_seed(0)
    same = DilatedStack(3, 3, 3).double().eval()
    valid = DilatedStack(3, 3, 3, padding="valid").double().eval()
    valid.load_state_dict(same.state_dict())
    x = torch.randn(2, 3, length, dtype=torch.float64)
    y = same(x)
    assert y.shape == x.shape
    total = 2 * (1 + 2 + 4)
    v = valid(x)
    assert v.shape == (2, 3, length - total)
    half = total // 2
    torch.testing.assert_close(v, y[..., half : length - half])
    assert module_span(same, 30, 30) == (30 - half, 30 + half)
    assert module_span(valid, 0, 0) == (0, total)


def test_dilated_stack_custom_dilations_and_translation_equivariance():
    torch.manual_seed(2)
    stack = DilatedStack(2, kernel_size=5, dilations=[1, 3], norm="layer").double().eval()
    assert stack.dilations == [1, 3]
    reach = 2 * 1 + 2 * 3
    assert module_span(stack, 50, 50) == (50 - reach, 50 + reach)
    x = torch.randn(1, 2, 100, dtype=torch.float64)
    s = 5
    y, ys = stack(x), stack(torch.roll(x, s, -1))
    torch.testing.assert_close(ys[..., reach + s : 100 - reach], y[..., reach : 100 - reach - s])


def test_gradient_checkpointing_gives_identical_outputs_and_gradients():
    torch.manual_seed(3)
    plain = DilatedStack(4, 4, 3, dropout=0.1).double()
    ckpt = DilatedStack(4, 4, 3, dropout=0.1, gradient_checkpointing=True).double()
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 4, 50, dtype=torch.float64)
    grads = []
    for model in (plain, ckpt):
        torch.manual_seed(7)  # same dropout masks
        xi = x.clone().requires_grad_(True)
        out = model(xi)
        (out**2).sum().backward()
        grads.append((out.detach(), xi.grad, [p.grad for p in model.parameters()]))
    torch.testing.assert_close(grads[0][0], grads[1][0], rtol=0, atol=0)
    torch.testing.assert_close(grads[0][1], grads[1][1], rtol=1e-12, atol=1e-12)
    for a, b in zip(grads[0][2], grads[1][2]):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_center_crop_and_concat_skip():
    x = torch.arange(10.0).reshape(1, 1, 10)
    assert center_crop(x, 6).flatten().tolist() == [2, 3, 4, 5, 6, 7]
    assert center_crop(x, 7).flatten().tolist() == [1, 2, 3, 4, 5, 6, 7]
    deep = torch.full((1, 2, 6), -1.0)
    cat = concat_skip(deep, x)
    assert cat.shape == (1, 3, 6)
    assert cat[0, 0].tolist() == [2, 3, 4, 5, 6, 7]
    assert (cat[0, 1:] == -1).all()
    with pytest.raises(ValueError):
        center_crop(x, 11)


def test_pad_to_multiple():
    x = torch.ones(1, 2, 13)
    assert pad_to_multiple(x, 8).shape == (1, 2, 16)
    assert pad_to_multiple(x, 8)[..., 13:].abs().sum() == 0
    assert pad_to_multiple(torch.ones(1, 2, 16), 8).shape == (1, 2, 16)


@pytest.mark.parametrize("mode", ["conv", "maxpool", "avgpool"])
def test_downsample(mode):
    down = Downsample(2, 3, 4, mode=mode).double()
    x = torch.randn(1, 2, 24, dtype=torch.float64)
    y = down(x)
    assert y.shape == (1, 3, 6)
    assert module_span(down, 2, 2) == (8, 11)
    if mode == "avgpool":
        expected = down.net[1](x.reshape(1, 2, 6, 4).mean(-1))
        torch.testing.assert_close(y, expected)


@pytest.mark.parametrize("kernel,stride", [(2, 2), (4, 2), (6, 3), (3, 2), (5, 2), (4, 3), (7, 3)])
def test_transposed_conv_coverage_variance(kernel, stride):
    coverage = transposed_conv_coverage(kernel, stride, length=40)
    if kernel % stride == 0:
        assert coverage.var().item() == 0.0
        assert coverage[0].item() == kernel // stride
    else:
        assert coverage.var().item() > 0.0


def test_upsample_rejects_checkerboard_kernels():
    with pytest.raises(ValueError, match="multiple"):
        Upsample(2, 2, 2, kernel_size=3)


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_bilinear_upsample_interpolates_linearly(factor):
    up = Upsample(1, 1, factor).double()
    assert linear_interpolation_kernel(2).tolist() == [0.25, 0.75, 0.75, 0.25]
    length = 12
    x = torch.arange(length, dtype=torch.float64).reshape(1, 1, length) * 3.0 + 1.0
    y = up(x)
    assert y.shape == (1, 1, length * factor)
    # interior outputs lie on the line through the inputs, sampled at the output centres
    positions = (torch.arange(length * factor, dtype=torch.float64) + 0.5) / factor - 0.5
    expected = positions * 3.0 + 1.0
    interior = slice(factor, (length - 1) * factor)
    torch.testing.assert_close(y[0, 0, interior], expected[interior], rtol=0, atol=1e-5)  # float32 taps
    # constant input stays constant away from the ends (no checkerboard)
    c = up(torch.ones(1, 1, length, dtype=torch.float64))[0, 0, interior]
    torch.testing.assert_close(c, torch.ones_like(c), rtol=0, atol=1e-6)


@pytest.mark.parametrize("factor,kernel", [(2, 4), (2, 2), (3, 6)])
def test_upsample_span(factor, kernel):
    up = Upsample(1, 1, factor, kernel_size=kernel, init="default").double()
    x = torch.zeros(1, 1, 10, dtype=torch.float64)
    for q in range(factor, 9 * factor):
        lo, hi = module_span(up, q, q)
        # an input outside [lo, hi] does not change output q; every input inside does (nonzero kernel)
        for i in range(10):
            xi = x.clone()
            xi[0, 0, i] = 1.0
            hit = (up(xi) - up(x))[0, 0, q].item() != 0.0
            assert hit == (lo <= i <= hi), (q, i, lo, hi)


def test_score_fusion_starts_as_pure_upsampling():
    fusion = ScoreFusion(skip_channels=3, n_scores=2, factor=2).double()
    coarse = torch.randn(1, 2, 8, dtype=torch.float64)
    skip = torch.randn(1, 3, 16, dtype=torch.float64)
    torch.testing.assert_close(fusion(coarse, skip), fusion.up(coarse))
    with torch.no_grad():
        fusion.score.weight.fill_(1.0)
    expected = fusion.up(coarse) + skip.sum(1, keepdim=True) + fusion.score.bias[None, :, None]
    torch.testing.assert_close(fusion(coarse, skip), expected)


def test_aspp_shape_span_and_equivariance():
    torch.manual_seed(0)
    aspp = ASPP1d(3, 4, dilations=(1, 2, 5)).double().eval()
    x = torch.randn(2, 3, 40, dtype=torch.float64)
    y = aspp(x)
    assert y.shape == (2, 4, 40)
    assert module_span(aspp, 20, 20) == (15, 25)
    s = 3
    ys = aspp(torch.roll(x, s, -1))
    torch.testing.assert_close(ys[..., 5 + s : 35], y[..., 5 : 35 - s])


def test_conv_block_same_length():
    block = ConvBlock(2, 3, 5, norm="batch")
    assert block(torch.randn(1, 2, 17)).shape == (1, 3, 17)
    assert module_span(block, 8, 8) == (4, 12)
