"""Tiling: cores partition chromosomes; tiled prediction equals the whole-sequence run."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from seqfcn.errors import SeqfcnError
from seqfcn.runtime.tiling import (
    Tile,
    blend_weights,
    margin_for_receptive_field,
    parse_shard,
    predict_genome,
    predict_tiled,
    select_shard,
    stitch,
    tile_chromosome,
    tile_genome,
    window_bounds,
)

WINDOW = 100
LENGTHS = {"chrA": 1000, "chrB": 1237, "chrC": 37, "chrD": WINDOW}
KERNELS, DILATIONS = (5, 7, 5), (1, 2, 4)
RF = 1 + sum(d * (k - 1) for k, d in zip(KERNELS, DILATIONS))  # 33
MARGIN = margin_for_receptive_field(RF)  # 16


def conv_stack(dtype: torch.dtype) -> torch.nn.Module:
    """3 same-padded dilated conv layers with biases and ReLUs, seeded."""
    torch.manual_seed(0)
    layers, channels = [], 4
    for i, (k, d) in enumerate(zip(KERNELS, DILATIONS)):
        out = 2 if i == len(KERNELS) - 1 else 8
        layers.append(torch.nn.Conv1d(channels, out, k, dilation=d, padding="same"))
        if out != 2:
            layers.append(torch.nn.ReLU())
        channels = out
    return torch.nn.Sequential(*layers).to(dtype).eval()


def random_onehot(length: int, seed: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    idx = np.random.default_rng(seed).integers(0, 4, length)
    return torch.from_numpy(np.eye(4)[idx].T.copy()).to(dtype)


def whole(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return net(x[None])[0]


def test_receptive_field_margin():
    assert RF == 33 and MARGIN == 16
    assert margin_for_receptive_field(1) == 0
    assert margin_for_receptive_field(34, centered=False) == 33
    with pytest.raises(SeqfcnError):
        margin_for_receptive_field(0)


@pytest.mark.parametrize("length", sorted(set(LENGTHS.values())))
def test_cores_partition_and_last_tile_kept(length):
    tiles = tile_chromosome("c", length, WINDOW, MARGIN)
    assert len(tiles) == -(-length // WINDOW)
    assert [t.core_start for t in tiles] == list(range(0, length, WINDOW))
    assert all(a.core_end == b.core_start for a, b in zip(tiles, tiles[1:]))
    assert tiles[-1].core_end == length
    assert tiles[-1].core_length == length - WINDOW * (len(tiles) - 1)
    for t in tiles:
        assert t.start == max(t.core_start - MARGIN, 0) and t.end == min(t.core_end + MARGIN, length)
        assert t.padded_length == t.core_length + 2 * MARGIN
        assert t.core_slice.stop - t.core_slice.start == t.core_length
        assert t.padded_core_slice.start == MARGIN


def test_tile_values_exact():
    tiles = tile_chromosome("c", 250, 100, 16)
    assert tiles == [
        Tile("c", 0, 100, 0, 116, 16, 0),
        Tile("c", 100, 200, 84, 216, 0, 0),
        Tile("c", 200, 250, 184, 250, 0, 16),
    ]
    assert tiles[2].core_slice == slice(16, 66)
    assert tile_chromosome("c", 0, 100, 16) == []
    assert window_bounds(tiles[0], 250, 100, 16, "shift") == (0, 132, 0, 0)
    assert window_bounds(tiles[2], 250, 100, 16, "shift") == (118, 250, 0, 0)
    assert window_bounds(tiles[2], 250, 100, 16, "pad") == (184, 250, 0, 66)
    with pytest.raises(SeqfcnError):
        tile_chromosome("c", 10, 0, 1)


def test_shards_disjoint_and_covering():
    tiles = tile_genome(LENGTHS, WINDOW, MARGIN)
    assert len(tiles) == 10 + 13 + 1 + 1
    for count in (1, 2, 4, 7, 25, 30):
        shards = [select_shard(tiles, i, count) for i in range(count)]
        flat = [t for s in shards for t in s]
        assert flat == tiles  # disjoint, covering, in order
        assert max(map(len, shards)) - min(map(len, shards)) <= 1
    assert parse_shard("1/4") == (0, 4) and parse_shard("4/4") == (3, 4)
    for bad in ("0/4", "5/4", "x", "1/0", "1/2/3"):
        with pytest.raises(SeqfcnError):
            parse_shard(bad)
    with pytest.raises(SeqfcnError):
        select_shard(tiles, 4, 4)


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
@pytest.mark.parametrize("chrom", sorted(LENGTHS))
def test_tiled_equals_untiled(chrom, dtype, tol):
    net = conv_stack(dtype)
    x = random_onehot(LENGTHS[chrom], seed=len(chrom) + LENGTHS[chrom], dtype=dtype)
    ref = whole(net, x)
    got = predict_tiled(net, x, None, WINDOW, MARGIN, batch_size=3)
    assert got.shape == ref.shape == (2, LENGTHS[chrom]) and got.dtype == dtype
    assert (got - ref).abs().max().item() < tol


def test_wrong_margin_is_detected():
    net = conv_stack(torch.float64)
    x = random_onehot(1237, seed=1)
    diff = (predict_tiled(net, x, None, WINDOW, MARGIN - 1, batch_size=8) - whole(net, x)).abs()
    assert diff.max().item() > 1e-4
    bad_cols = torch.nonzero(diff.amax(0) > 1e-12).flatten() % WINDOW
    # errors only next to interior core boundaries (within the missing base of reach)
    assert set(bad_cols.tolist()) <= {0, WINDOW - 1}


def test_batch_sizes_identical_and_bounded():
    net = conv_stack(torch.float64)
    x = random_onehot(1237, seed=2)
    shapes = []

    def model(batch):
        shapes.append(tuple(batch.shape))
        return net(batch)

    outs = [predict_tiled(model, x, None, WINDOW, MARGIN, batch_size=b) for b in (1, 3, 64)]
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2])
    w = WINDOW + 2 * MARGIN
    assert shapes == [(1, 4, w)] * 13 + [(3, 4, w)] * 4 + [(1, 4, w)] + [(13, 4, w)]


DEVICES = ["cpu"] + [pytest.param("cuda", marks=pytest.mark.gpu)] * torch.cuda.is_available()


@pytest.mark.parametrize("device", DEVICES)
def test_device_runs_match_whole(device):
    net = conv_stack(torch.float32).to(device)
    x = random_onehot(1237, seed=6, dtype=torch.float32)
    got = predict_tiled(net, x, None, WINDOW, MARGIN, batch_size=4, device=device)
    assert got.device.type == "cpu"
    assert (got - whole(net.cpu(), x)).abs().max().item() < 1e-5


def test_fetch_function_and_numpy_input():
    net = conv_stack(torch.float64)
    x = random_onehot(1000, seed=3)
    calls = []

    def fetch(a, b):
        calls.append((a, b))
        return x[:, a:b].numpy()

    got = predict_tiled(net, fetch, 1000, WINDOW, MARGIN, batch_size=4)
    assert torch.allclose(got, whole(net, x), atol=1e-12, rtol=0)
    assert all(b - a == WINDOW + 2 * MARGIN for a, b in calls) and len(calls) == 10
    got_u8 = predict_tiled(net.float(), x.numpy().astype(np.uint8), None, WINDOW, MARGIN)
    assert got_u8.dtype == torch.float32


def test_pad_edge_mode_exact_for_one_layer_only():
    torch.manual_seed(0)
    one = torch.nn.Conv1d(4, 3, 9, padding="same").double().eval()
    x = random_onehot(1237, seed=4)
    got = predict_tiled(one, x, None, WINDOW, 4, edge="pad", batch_size=5)
    assert (got - whole(one, x)).abs().max().item() < 1e-12
    # a deeper stack sees non-zero first-layer outputs in the padded columns
    net = conv_stack(torch.float64)
    diff = (predict_tiled(net, x, None, WINDOW, MARGIN, edge="pad") - whole(net, x)).abs().amax(0)
    assert diff.max().item() > 1e-3
    assert torch.all(diff[MARGIN : 1237 - MARGIN] < 1e-12)  # only within reach of the chromosome ends


def test_stitch_span_and_padded_outputs():
    net = conv_stack(torch.float64)
    seqs = {c: random_onehot(n, seed=n) for c, n in LENGTHS.items()}
    tiles = tile_genome(LENGTHS, WINDOW, MARGIN)
    spans = [whole(net, seqs[t.chrom][:, t.start : t.end]).numpy() for t in tiles]
    padded = []
    for t in tiles:
        xp = torch.nn.functional.pad(seqs[t.chrom][:, t.start : t.end], (t.pad_left, t.pad_right))
        padded.append(whole(net, xp))
    for outputs in (spans, padded):
        got = stitch(tiles, outputs, LENGTHS)
        assert list(got) == list(LENGTHS)
        for c, n in LENGTHS.items():
            assert got[c].shape == (2, n)
    # unpadded spans run the model with its own edge padding: exact
    got = stitch(tiles, spans, LENGTHS)
    for c in LENGTHS:
        assert np.abs(got[c] - whole(net, seqs[c]).numpy()).max() < 1e-12
    with pytest.raises(ValueError, match="partition"):
        stitch(tiles[:12] + tiles[13:], spans[:12] + spans[13:], LENGTHS)  # a chrB core missing
    with pytest.raises(ValueError):
        stitch(tiles[1:], spans[1:], LENGTHS)  # chrA's first core missing


def test_blend_weights_sum_to_one():
    for length, window, overlap in ((1237, 100, 8), (1000, 100, 50), (300, 20, 45), (37, 100, 10)):
        tiles = tile_chromosome("c", length, window, overlap)
        total = np.zeros(length)
        for i, t in enumerate(tiles):
            lo, hi, w = blend_weights(tiles, i, length, overlap)
            assert lo == max(t.core_start - overlap, 0) and hi == min(t.core_end + overlap, length)
            assert np.all(w > 0)
            total[lo:hi] += w
        assert np.abs(total - 1).max() < 1e-12
    # tent weights: core [100, 200) reaches [90, 210); neighbours' tents fall off past their cores
    tiles = tile_chromosome("c", 400, 100, 10)
    lo, hi, w = blend_weights(tiles, 1, 400, 10)
    assert (lo, hi) == (90, 210)
    assert w[90 - lo] == pytest.approx(0.5 / 20)  # own tent 0.5, tile 0's 19.5
    assert w[100 - lo] == pytest.approx(10.5 / 20) and w[199 - lo] == pytest.approx(10.5 / 20)
    assert np.all(w[110 - lo : 190 - lo] == 1.0)


def test_blend_equals_plain_for_equivariant_model():
    net = conv_stack(torch.float64)
    x = random_onehot(1237, seed=5)
    plain = predict_tiled(net, x, None, WINDOW, MARGIN)
    blended = predict_tiled(net, x, None, WINDOW, MARGIN + 12, blend="linear", blend_overlap=12, batch_size=4)
    assert (blended - plain).abs().max().item() < 1e-12
    # blending values that are not exact (overlap eats into the needed margin) changes the result
    bad = predict_tiled(net, x, None, WINDOW, MARGIN, blend="linear", blend_overlap=12)
    assert (bad - plain).abs().max().item() > 1e-4
    # stitch blends the same way
    tiles = tile_chromosome("c", 1237, WINDOW, MARGIN + 12)
    outs = [whole(net, x[:, t.start : t.end]) for t in tiles]
    got = stitch(tiles, outs, {"c": 1237}, blend="linear", blend_overlap=12)["c"]
    assert (got - plain).abs().max().item() < 1e-12
    with pytest.raises(SeqfcnError):
        predict_tiled(net, x, None, WINDOW, 4, blend="linear", blend_overlap=5)


def test_predict_genome_and_bad_model():
    net = conv_stack(torch.float64)
    seqs = {c: random_onehot(n, seed=n) for c, n in LENGTHS.items()}
    got = dict(predict_genome(net, lambda c, a, b: seqs[c][:, a:b], LENGTHS, WINDOW, MARGIN, batch_size=7))
    for c in LENGTHS:
        assert (got[c] - whole(net, seqs[c])).abs().max().item() < 1e-12
    with pytest.raises(ValueError, match="same length|\\(batch, K, W\\)"):
        predict_tiled(lambda x: x[:, :, 1:], seqs["chrA"], None, WINDOW, MARGIN)


def test_merge_spans_genome_order_and_overlaps():
    from seqfcn.runtime.tiling import merge_spans

    spans = [("b", 5, 9), ("a", 10, 20), ("a", 0, 4), ("b", 0, 5), ("a", 15, 30), ("a", 3, 6)]
    assert merge_spans(spans, ["a", "b"]) == [("a", 0, 6), ("a", 10, 30), ("b", 0, 9)]
    assert merge_spans(spans, ["b", "a"])[0] == ("b", 0, 9)
    assert merge_spans([], ["a"]) == []
