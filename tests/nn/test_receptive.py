"""Analytic receptive fields equal the fields measured from input gradients."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from seqfcn.nn.layers import MotifConv
from seqfcn.nn.models import create_model
from seqfcn.nn.receptive import (
    analytic_receptive_field,
    effective_receptive_field,
    empirical_receptive_field,
    empirical_spans,
    module_span,
    plot_effective_receptive_field,
    receptive_field_at,
)


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread per test


TINY = {
    "motif_scanner": dict(n_motifs=3, motif_width=7, channels=4, n_layers=2),
    "motif_scanner_start": dict(n_motifs=3, motif_width=8, channels=4, n_layers=2, anchor="start"),
    "dilated_fcn": dict(channels=3, n_layers=4, norm="layer"),
    "read_corrector": dict(channels=3, n_layers=3, cycle=2, norm="batch"),
    "unet1d": dict(base_channels=2, depth=3),
    "unet1d_pool": dict(base_channels=2, depth=2, factor=3, down_mode="maxpool", up_kernel=6),
    "unet1d_aspp": dict(base_channels=2, depth=2, aspp_dilations=[1, 3]),
    "fcn1d": dict(base_channels=2, depth=3),
    "fcn1d_conv": dict(base_channels=2, depth=2, down_mode="conv", kernel_size=5),
}
EXPECTED_RF = {
    "motif_scanner": 7 + 2 * (1 + 2),
    "motif_scanner_start": 2 * 8 - 1 + 2 * (1 + 2),  # both strands anchored at their own start
    "dilated_fcn": 9 + 2 * (1 + 2 + 4 + 8),
    "read_corrector": 5 + 2 * (1 + 2 + 1),
}


def _model(key: str) -> nn.Module:
    torch.manual_seed(0)
    name = key.split("_")[0] if key.startswith(("unet", "fcn")) else key.replace("_start", "")
    return create_model(name, **TINY[key])


@pytest.mark.parametrize("key", sorted(TINY))
def test_analytic_equals_empirical_at_every_phase(key):
    model = _model(key)
    rf = model.receptive_field
    if key in EXPECTED_RF:
        assert rf == EXPECTED_RF[key]
    period = model.rf_period
    length = 2 * rf + 4 * period + 40
    spans = empirical_spans(model, length)
    assert len(spans) == period
    for q, span in spans.items():
        assert receptive_field_at(model, q) == span, q
    assert empirical_receptive_field(model, length) == rf
    assert analytic_receptive_field(model) == rf


@pytest.mark.parametrize("strand", ["forward", "rc_equivariant", "both_max", "both_sum"])
@pytest.mark.parametrize("anchor,width", [("start", 6), ("center", 6), ("center", 7)])
def test_motif_conv_span_matches_gradient(strand, anchor, width):
    layer = MotifConv(4, 2, width, strand=strand, anchor=anchor)
    spans = empirical_spans(layer, 41, in_channels=4)
    ((q, span),) = spans.items()
    assert module_span(layer, q, q) == span
    both = strand != "forward"
    expected = {("start", 6): 2 * 6 - 1 if both else 6, ("center", 6): 7 if both else 6, ("center", 7): 7}
    assert span[1] - span[0] + 1 == expected[(anchor, width)]
    assert layer.strand == strand  # the probe works on a copy


def test_strided_model_field_depends_on_phase():
    model = _model("unet1d")
    widths = {analytic_receptive_field(model, position=64 + r) for r in range(model.rf_period)}
    assert len(widths) > 1
    assert max(widths) == model.receptive_field


def test_32k_preset_empirical_field():
    model = create_model("dilated_fcn_32k", channels=2)
    assert model.receptive_field == 32769
    length = 70_001
    assert empirical_receptive_field(model, length) == 32769
    lo, hi = empirical_spans(model, length)[length // 2]
    assert (lo, hi) == (length // 2 - 16384, length // 2 + 16384)


@pytest.mark.parametrize("name, field", [("trunk_1k", 9 + 2 * (511 + 31)), ("trunk_8k", 9 + 2 * (4095 + 3)),
                                         ("trunk_32k", 9 + 2 * 16383)])
def test_trunk_presets_analytic_equals_empirical_field(name, field):
    model = create_model(name, channels=2)
    assert model.receptive_field == field and model.config["n_outputs"] == 4
    length = field + 2_001
    assert empirical_receptive_field(model, length) == field


def test_too_short_input_is_reported():
    model = create_model("dilated_fcn", channels=2, n_layers=4)
    with pytest.raises(ValueError, match="too short"):
        empirical_receptive_field(model, 30)


def test_module_span_rules():
    assert module_span(nn.Conv1d(1, 1, 5, padding=2, dilation=1), 10, 10) == (8, 12)
    assert module_span(nn.Conv1d(1, 1, 3, dilation=4), 0, 2) == (0, 10)
    assert module_span(nn.Conv1d(1, 1, 4, stride=2), 3, 3) == (6, 9)
    assert module_span(nn.MaxPool1d(3), 2, 2) == (6, 8)
    assert module_span(nn.ConvTranspose1d(1, 1, 4, stride=2), 5, 5) == (1, 2)
    assert module_span(nn.Sequential(nn.Conv1d(1, 1, 3), nn.ReLU(), nn.Conv1d(1, 1, 3)), 0, 0) == (0, 4)
    with pytest.raises(TypeError, match="LSTM"):
        module_span(nn.LSTM(2, 2), 0, 0)
    assert module_span(MotifConv(4, 1, 6, strand="both_max"), 20, 20) == (15, 25)


def test_effective_receptive_field_profile_and_plot(tmp_path):
    model = create_model("dilated_fcn", channels=3, n_layers=3, stem_kernel=3)
    rf = model.receptive_field
    assert rf == 17
    profile = effective_receptive_field(model, length=101, n_samples=4, seed=1)
    assert profile.shape == (101,)
    assert profile.sum() == pytest.approx(1.0)
    nonzero = np.flatnonzero(profile)
    # the effective field lies inside the theoretical one, centred on the output
    assert nonzero.min() >= 50 - 8 and nonzero.max() <= 50 + 8
    assert profile[50] > 0
    again = effective_receptive_field(model, length=101, n_samples=4, seed=1)
    np.testing.assert_array_equal(profile, again)
    assert model.training  # mode restored
    path = tmp_path / "erf.png"
    plot_effective_receptive_field(profile, path, theoretical=rf)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    assert [p.name for p in tmp_path.iterdir()] == ["erf.png"]
