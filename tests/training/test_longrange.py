"""Long-range context (issue 7): synthetic enhancer task, receptive fields, exact tiling."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from seqfcn.errors import SeqfcnError
from seqfcn.training.longrange import LongRangeDataset, fit_longrange, promoter_auroc, promoter_scores
from seqfcn.nn.models import count_parameters, create_model
from seqfcn.nn.receptive import analytic_receptive_field, empirical_receptive_field
from seqfcn.runtime.tiling import margin_for_receptive_field, predict_tiled


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread per test


def _centre(span: tuple[int, int]) -> int:
    return span[0] + (span[1] - span[0]) // 2


# ---------------------------------------------------------------- dataset
def test_items_are_deterministic_per_seed_and_index() -> None:
    a = LongRangeDataset(10, 500, seed=3)
    b = LongRangeDataset(10, 500, seed=3)
    c = LongRangeDataset(10, 500, seed=4)
    for i in (0, 7, 3):  # any order
        for key in ("x", "y", "weight"):
            assert torch.equal(a[i][key], b[i][key])
    assert not torch.equal(a[5]["x"], c[5]["x"])
    assert a[0]["x"].shape == (4, a.length) and a[0]["y"].shape == (1, a.length)
    assert a[0]["weight"].shape == (a.length,)
    assert torch.equal(a[2]["x"].sum(dim=0), torch.ones(a.length))  # one-hot


def test_layout_geometry_and_labels() -> None:
    ds = LongRangeDataset(60, 700, seed=1, flank=40)
    assert ds.length == 700 + (64 + 64) // 2 + 1 + 80
    motif_block = np.tile(np.array([1, 0, 1, 2, 3, 2, 0, 1]), 8)  # CACGTGAC x 8
    sides, labels = set(), []
    for i in range(len(ds)):
        lay, codes = ds.layout(i)
        item = ds[i]
        a, b = lay.promoter
        assert 0 <= a and b <= ds.length and b - a == 64
        assert np.array_equal(codes[a:b], ds.promoter)
        assert torch.equal(item["weight"].nonzero().flatten(), torch.arange(a, b))
        assert torch.all(item["y"][0, a:b] == float(lay.positive)) and item["y"].sum() == 64 * lay.positive
        labels.append(lay.positive)
        if lay.positive:
            e0, e1 = lay.enhancer
            assert abs(_centre(lay.promoter) - _centre(lay.enhancer)) == 700
            assert np.array_equal(codes[e0:e1], motif_block)
            assert lay.side == ("upstream" if e0 < a else "downstream")
            sides.add(lay.side)
        else:
            assert lay.enhancer is None and lay.side is None
    assert sides == {"upstream", "downstream"}
    assert 15 < sum(labels) < 45


def test_distance_range_and_decoys() -> None:
    ds = LongRangeDataset(200, (100, 1000), seed=2, sampling="log")
    dists = [abs(_centre(lay.promoter) - _centre(lay.enhancer))
             for lay in (ds.layout(i)[0] for i in range(200)) if lay.positive]
    assert min(dists) >= 100 and max(dists) <= 1000
    assert sum(d < 316 for d in dists) > 0.3 * len(dists)  # log-uniform: half below sqrt(100 * 1000)
    decoys = LongRangeDataset(50, 800, p_positive=0.0, p_decoy=1.0, seed=5)
    for i in range(50):
        lay, _ = decoys.layout(i)
        assert not lay.positive and lay.enhancer is not None
        assert abs(abs(_centre(lay.promoter) - _centre(lay.enhancer)) - 800) > decoys.decoy_gap
        assert decoys[i]["y"].sum() == 0


def test_background_function_and_errors() -> None:
    ds = LongRangeDataset(3, 200, background=lambda rng, n: np.full(n, 3), promoter="ACGT" * 8, enhancer_copies=2)
    lay, codes = ds.layout(1)
    outside = np.ones(ds.length, bool)
    outside[slice(*lay.promoter)] = False
    if lay.enhancer is not None:
        outside[slice(*lay.enhancer)] = False
    assert np.all(codes[outside] == 3)
    with pytest.raises(SeqfcnError):
        LongRangeDataset(3, 10)  # segments would overlap
    with pytest.raises(SeqfcnError):
        LongRangeDataset(3, 500, enhancer_motif="CANNTG")
    with pytest.raises(SeqfcnError):
        LongRangeDataset(3, 500, length=400)
    with pytest.raises(SeqfcnError):
        LongRangeDataset(3, (500, 400))


def test_promoter_scores_use_the_promoter_bases() -> None:
    ds = LongRangeDataset(6, 300, seed=0)

    class IsC(torch.nn.Module):  # per-base output = 1 where the base is C
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[:, 1:2]

    scores, labels = promoter_scores(IsC(), ds, batch_size=4)
    for i in range(6):
        lay, codes = ds.layout(i)
        assert scores[i] == pytest.approx(float(np.mean(codes[slice(*lay.promoter)] == 1)))
        assert labels[i] == float(lay.positive)


# ---------------------------------------------------------------- receptive fields
def test_preset_receptive_field_is_32k_at_base_resolution() -> None:
    model = create_model("dilated_fcn_32k", channels=2)
    assert analytic_receptive_field(model) == 32_769
    assert model.receptive_margins == (16_384, 16_384)
    assert empirical_receptive_field(model, length=2 * 32_769 + 64) == 32_769
    full = create_model("dilated_fcn_32k")
    flat = create_model("dilated_fcn_32k", dilations=[1] * 14)
    assert count_parameters(full) == count_parameters(flat)
    assert flat.receptive_field == 31
    x = torch.zeros(1, 4, 1001)
    assert full(x).shape == (1, 1, 1001)  # any length, per-base output


def test_tiled_prediction_equals_whole_sequence_at_32k_reach() -> None:
    torch.manual_seed(0)
    model = create_model("dilated_fcn_32k", channels=4).double().eval()
    n = 100_003
    gen = torch.Generator().manual_seed(1)
    codes = torch.randint(0, 4, (n,), generator=gen)
    seq = torch.zeros(4, n, dtype=torch.float64)
    seq[codes, torch.arange(n)] = 1.0
    with torch.no_grad():
        whole = model(seq[None])[0]
    margin = margin_for_receptive_field(model.receptive_field)
    assert margin == 16_384
    tiled = predict_tiled(model, seq, None, 30_000, margin, batch_size=2)
    assert tiled.shape == whole.shape
    torch.testing.assert_close(tiled, whole, rtol=0, atol=1e-10)
    short = predict_tiled(model, seq, None, 30_000, 2_000, batch_size=2)
    assert (short - whole).abs().max() > 1e-6  # a margin below the reach is not exact


# ---------------------------------------------------------------- learning at d = 1 kb
def test_dilated_model_learns_1kb_dependency_undilated_cannot() -> None:
    # 90 steps at lr 7e-3 (was 130 at 5e-3): seed 0 gives dilated AUROC 1.000, flat 0.544; seeds 1-3
    # 1.000 / 0.47-0.55 too (the 130-step run: seeds 0-4 pass, 5 and 6 miss; this one: 0-3, 4 at 0.90)
    stages = [(100, 40, 32), (300, 20, 16), (1000, 30)]
    val = LongRangeDataset(128, 1000, seed=99)

    def trained(dilations: list[int] | None) -> torch.nn.Module:
        torch.manual_seed(0)
        model = create_model("dilated_fcn", channels=8, n_layers=10, kernel_size=3, stem_kernel=9,
                             head_task="multilabel", dilations=dilations)
        fit_longrange(model, stages, batch_size=8, lr=7e-3, seed=0)
        return model

    dilated, flat = trained(None), trained([1] * 10)
    assert dilated.receptive_field == 2055 and flat.receptive_field == 29
    assert count_parameters(dilated) == count_parameters(flat)
    assert promoter_auroc(dilated, val) >= 0.95
    assert abs(promoter_auroc(flat, val) - 0.5) < 0.2


def test_genome_background_draws_windows_of_the_sequence() -> None:
    from seqfcn.training.longrange import genome_background

    chrom = np.arange(5000) % 4
    chrom[100:110] = 4  # N
    draw = genome_background(chrom, max_n_fraction=0.0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        w = draw(rng, 300)
        assert w.shape == (300,)
        # a window of the periodic chromosome is periodic with the same phase steps
        assert np.all((w[1:] - w[:-1]) % 4 == 1)
    ds = LongRangeDataset(4, 150, background=genome_background(chrom))
    lay, codes = ds.layout(0)
    outside = np.ones(ds.length, bool)
    for seg in (lay.promoter, lay.enhancer):
        if seg is not None:
            outside[seg[0] : seg[1]] = False
    pairs = outside[1:] & outside[:-1]
    assert pairs.sum() > 50 and np.all(((codes[1:] - codes[:-1]) % 4 == 1)[pairs])
    with pytest.raises(SeqfcnError):
        genome_background(chrom[:50])(rng, 300)
