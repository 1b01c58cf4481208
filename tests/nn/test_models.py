"""Every registered model (one test over ``list_models()``: shapes, save/load, batch independence,
gradients), shift equivariance, presets, the registry."""
from __future__ import annotations

import json

import pytest
import torch

from seqfcn.errors import ModelFileError, SeqfcnError
from seqfcn.nn.checkpoint import load_model, save_model
from seqfcn.nn.models import count_parameters, create_model, list_models, model_from_config


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread per test


# tiny widths for the equivariance tests
TINY = {
    "motif_scanner": dict(n_motifs=3, motif_width=7, channels=4, n_layers=2),
    "pwm_scanner": dict(n_motifs=2, motif_width=5),
    "dilated_fcn": dict(channels=4, n_layers=3),
    "dilated_fcn_32k": dict(channels=4),
    "read_corrector": dict(channels=4, n_layers=2),
    "unet1d": dict(base_channels=4, depth=3),
    "fcn1d": dict(base_channels=4, depth=3),
    "trunk_1k": dict(channels=4),
    "trunk_8k": dict(channels=4),
    "trunk_32k": dict(channels=4),
}


def test_registry_lists_the_tiny_configs():
    assert list_models() == sorted(TINY)


def _build(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model(name, **TINY[name]).double()


@pytest.mark.parametrize("name", list_models())
def test_every_registered_model(name, device, tmp_path):
    """Each registered preset as ``create_model(name)`` builds it: output ``(batch, K, L)`` and finite
    for any ``L``; a save/load round trip gives identical outputs; a batch of 3 equals three batches
    of 1; every parameter gets a non-zero gradient. (dilated_fcn_32k: 32 kb receptive field, still a
    short ``L`` - the padding stands in for the rest.)"""
    torch.manual_seed(0)
    model = create_model(name).to(device).eval()
    config = json.loads(json.dumps(model.config))  # plain JSON
    assert config["name"] == name
    channels, k = config["in_channels"], model.n_outputs

    # the float32 model as saved: same architecture, same parameters, identical outputs
    x = torch.rand(3, channels, 97, device=device)
    loaded, info = load_model(save_model(model, tmp_path / name), device=device)
    assert type(loaded) is type(model) and loaded.config == config and info["architecture"] == config
    assert count_parameters(loaded) == count_parameters(model)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)

    model = model.double()
    x = x.double()
    with torch.no_grad():
        for length in (1, 2, 64, 97, 101):  # tiny, even, odd, prime
            y = model(torch.rand(2, channels, length, dtype=torch.float64, device=device))
            assert y.shape == (2, k, length), length
            assert torch.isfinite(y).all(), length
        single = torch.cat([model(x[i : i + 1]) for i in range(3)])
        torch.testing.assert_close(model(x), single, rtol=1e-12, atol=1e-12)

    model.train()
    (model(torch.randn(2, channels, 50, dtype=torch.float64, device=device)) ** 2).mean().backward()
    for pname, param in model.named_parameters():
        assert param.grad is not None, pname
        assert torch.isfinite(param.grad).all(), pname
        assert param.grad.abs().sum() > 0, pname


@pytest.mark.parametrize("name", ["motif_scanner", "dilated_fcn", "read_corrector"])
def test_translation_equivariance(name):
    model = _build(name).eval()
    left, right = model.receptive_margins
    length, shift = 120, 9
    x = torch.rand(1, model.config["in_channels"], length, dtype=torch.float64)
    y = model(x)
    ys = model(torch.roll(x, shift, -1))
    # away from the edges (and from the wrapped-around bases) the output shifts with the input
    lo, hi = left + shift, length - right
    torch.testing.assert_close(ys[..., lo:hi], y[..., lo - shift : hi - shift])


@pytest.mark.parametrize("name", ["unet1d", "fcn1d"])
def test_strided_models_are_equivariant_to_shifts_by_the_total_stride(name):
    model = _build(name).eval()
    period = model.rf_period
    assert period == 8
    left, right = model.receptive_margins
    length, shift = 256, 2 * period
    x = torch.rand(1, model.config["in_channels"], length, dtype=torch.float64)
    y = model(x)
    ys = model(torch.roll(x, shift, -1))
    lo, hi = left + shift, length - right
    torch.testing.assert_close(ys[..., lo:hi], y[..., lo - shift : hi - shift])


def test_32k_preset_receptive_field_and_short_forward():
    model = create_model("dilated_fcn_32k")
    assert model.config["n_layers"] == 14
    assert model.receptive_field == 3 + 2 * (2**14 - 1) == 32769
    assert model.receptive_field >= 32768
    assert model.receptive_margins == (16384, 16384)
    # stem 4*16*3+16; 14 x (dilated conv 16*16*3+16 + 1x1 16*16+16); head 16+1
    assert count_parameters(model) == 208 + 14 * (784 + 272) + 17 == 15009
    with torch.no_grad():
        assert model(torch.rand(1, 4, 257)).shape == (1, 1, 257)


def test_read_corrector_channels():
    model = create_model("read_corrector")
    assert model.config["in_channels"] == 5
    assert model.input_channels == ["A", "C", "G", "T", "quality"]
    assert model.n_outputs == 4
    assert create_model("read_corrector", n_outputs=5).n_outputs == 5
    assert create_model("read_corrector", in_channels=4).input_channels == ["A", "C", "G", "T"]
    assert create_model("read_corrector", in_channels=6).input_channels == ["A", "C", "G", "T", "quality", "extra1"]
    assert create_model("unet1d").input_channels == ["A", "C", "G", "T"]
    assert create_model("unet1d", in_channels=5).input_channels == ["A", "C", "G", "T", "extra1"]


def test_dilated_fcn_gradient_checkpointing_matches():
    torch.manual_seed(0)
    model = create_model("dilated_fcn", channels=4, n_layers=4).double()
    ckpt = create_model("dilated_fcn", channels=4, n_layers=4, gradient_checkpointing=True).double()
    ckpt.load_state_dict(model.state_dict())
    x = torch.rand(1, 4, 300, dtype=torch.float64)
    model(x).sum().backward()
    ckpt(x).sum().backward()
    for (name, a), b in zip(model.named_parameters(), ckpt.parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-12, atol=1e-12, msg=name)
    ckpt.set_gradient_checkpointing(False)
    assert ckpt.config["gradient_checkpointing"] is False


def test_count_parameters():
    model = create_model("dilated_fcn", channels=4, n_layers=1, stem_kernel=3)
    # stem 4*4*3+4, block conv 4*4*3+4 + proj 4*4+4, head 4*1+1
    assert count_parameters(model) == 52 + 52 + 20 + 5
    model.stem.weight.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == 129 - 48


def test_registry_rejects_unknown_names_and_options():
    with pytest.raises(ModelFileError, match="unknown model name 'resnet50'"):
        create_model("resnet50")
    with pytest.raises(ModelFileError, match="invalid options"):
        create_model("unet1d", widht=3)
    with pytest.raises(ModelFileError, match="invalid config"):
        create_model("motif_scanner", strand="plus")
    with pytest.raises(SeqfcnError):
        model_from_config({"name": "torch.nn.Linear"})
    with pytest.raises(ModelFileError):
        model_from_config(["unet1d"])


def test_motif_scanner_can_load_pwms():
    import numpy as np

    model = create_model("motif_scanner", n_motifs=2, motif_width=5)
    pfm = np.full((4, 3), 0.25)
    pfm[:, 0] = [0.97, 0.01, 0.01, 0.01]
    model.motif_conv.load_motifs([pfm], freeze=True)
    w = model.motif_conv.weight
    assert w[0, 0, 0].item() > 1.9 and (w[0, :, 3:] == 0).all() and (w[1] == 0).all()
    assert not w.requires_grad


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", sorted(TINY))
def test_cuda_matches_cpu(name):
    torch.manual_seed(0)
    model = create_model(name, **TINY[name]).eval()
    x = torch.rand(2, model.config["in_channels"], 301)
    with torch.no_grad():
        cpu = model(x)
        gpu = model.to("cuda")(x.to("cuda")).cpu()
    torch.testing.assert_close(gpu, cpu, rtol=1e-4, atol=1e-4)


def test_presets_are_registered_functions_and_aliases_load() -> None:
    """Presets are ``@register_model`` functions; a saved config's name rebuilds through them,
    and ``register_model(name=...)`` keeps an old name loadable."""
    from seqfcn.nn import models

    assert models.dilated_fcn_32k().config == create_model("dilated_fcn_32k").config
    assert models.ReadCorrector().config == create_model("read_corrector").config
    try:
        models.register_model(models.read_corrector, name="old_corrector")
        old = create_model("old_corrector", channels=4)
        assert old.config["name"] == "old_corrector"
        assert model_from_config(old.config).config == old.config
    finally:
        models._REGISTRY.pop("old_corrector", None)
