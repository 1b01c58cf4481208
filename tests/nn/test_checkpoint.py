"""Model files: safetensors + JSON round trip, validation errors, describe_model, `seqfcn info`."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from seqfcn import __version__
from seqfcn.nn.checkpoint import describe_model, load_model, save_model
from seqfcn.cli import main
from seqfcn.errors import ModelFileError
from seqfcn.nn.models import count_parameters, create_model


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread per test


TINY = {
    "motif_scanner": dict(n_motifs=3, motif_width=7, channels=4, n_layers=2),
    "dilated_fcn": dict(channels=4, n_layers=3, norm="batch"),
    "dilated_fcn_32k": dict(channels=2),
    "read_corrector": dict(channels=4, n_layers=2),
    "unet1d": dict(base_channels=2, depth=2),
    "fcn1d": dict(base_channels=2, depth=2),
}


def _trained_like(name: str) -> torch.nn.Module:
    torch.manual_seed(1)
    model = create_model(name, **TINY[name])
    with torch.no_grad():  # move off the initial values, including batch-norm buffers
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
    return model.eval()


@pytest.mark.parametrize("name", sorted(TINY))
def test_save_load_identical_outputs(tmp_path, name):
    model = _trained_like(name)
    meta = {"epochs": 3, "loss": np.float32(0.25), "train_files": ["a.fa"]}
    save_model(model, tmp_path / "m", metadata=meta)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]
    loaded, info = load_model(tmp_path / "m")
    assert type(loaded) is type(model) and not loaded.training
    assert loaded.config == model.config
    x = torch.rand(2, model.config["in_channels"], 77)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    assert info["seqfcn_version"] == __version__
    assert info["metadata"] == {"epochs": 3, "loss": 0.25, "train_files": ["a.fa"]}
    assert info["architecture"]["name"] == name
    assert info["parameter_count"] == count_parameters(model)
    assert info["receptive_field"] == model.receptive_field
    assert info["input_channels"] == model.input_channels
    # the config file and the weights file load the same model
    for target in (tmp_path / "m" / "config.json", tmp_path / "m" / "model.safetensors"):
        again, _ = load_model(target)
        with torch.no_grad():
            torch.testing.assert_close(again(x), model(x), rtol=0, atol=0)


def test_config_json_contents(tmp_path):
    model = _trained_like("read_corrector")
    save_model(model, tmp_path)
    doc = json.loads((tmp_path / "config.json").read_text())
    assert doc["format"] == "seqfcn-model" and doc["format_version"] == 1
    assert doc["architecture"] == model.config
    assert doc["input_channels"] == ["A", "C", "G", "T", "quality"]
    assert doc["alphabet"] == "ACGT"
    assert doc["weights_file"] == "model.safetensors"
    assert len(doc["weights_sha256"]) == 64
    assert doc["metadata"] == {}
    # weights are plain safetensors (no pickle) with the config in the header
    tensors = load_file(tmp_path / "model.safetensors")
    assert set(tensors) == set(model.state_dict())


def test_lone_safetensors_file_uses_embedded_config(tmp_path):
    model = _trained_like("unet1d")
    save_model(model, tmp_path / "m")
    lone = tmp_path / "lone.safetensors"
    lone.write_bytes((tmp_path / "m" / "model.safetensors").read_bytes())
    loaded, info = load_model(lone)
    assert info["config_path"] is None
    x = torch.rand(1, 4, 30)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_resave_replaces_files(tmp_path):
    save_model(_trained_like("dilated_fcn"), tmp_path)
    model = _trained_like("read_corrector")
    save_model(model, tmp_path, metadata={"step": 2})
    loaded, info = load_model(tmp_path)
    assert loaded.config["name"] == "read_corrector" and info["metadata"] == {"step": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]


@pytest.fixture()
def saved(tmp_path):
    directory = tmp_path / "model"
    save_model(_trained_like("dilated_fcn"), directory)
    return directory


def _edit_config(directory, fn):
    path = directory / "config.json"
    doc = json.loads(path.read_text())
    fn(doc)
    path.write_text(json.dumps(doc))


def test_missing_files(saved, tmp_path):
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "nothing.bin")
    (saved / "model.safetensors").unlink()
    with pytest.raises(ModelFileError, match="model.safetensors: model weights file not found"):
        load_model(saved)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelFileError, match="config.json: model config file not found"):
        load_model(empty)


def test_bad_json(saved):
    (saved / "config.json").write_text('{"format": "seqfcn-model",\n "architecture": }')
    with pytest.raises(ModelFileError, match=r"config.json: invalid JSON at line 2"):
        load_model(saved)
    (saved / "config.json").write_text('{"name": "unet1d"}')
    with pytest.raises(ModelFileError, match="not a seqfcn model config"):
        load_model(saved)


def test_unknown_model_name(saved):
    _edit_config(saved, lambda d: d["architecture"].update(name="builtins.eval"))
    with pytest.raises(ModelFileError, match="config.json: unknown model name 'builtins.eval'"):
        load_model(saved)


def test_unknown_option(saved):
    _edit_config(saved, lambda d: d["architecture"].update(chanels=4))
    with pytest.raises(ModelFileError, match="config.json: invalid options.*chanels"):
        load_model(saved)


def test_shape_mismatch_names_the_tensor(saved):
    _edit_config(saved, lambda d: d["architecture"].update(channels=5))
    with pytest.raises(ModelFileError, match=r"model.safetensors: tensor 'stem.weight' has shape \(4, 4, 9\) "
                                             r"but the architecture in config.json needs \(5, 4, 9\)"):
        load_model(saved)


def test_missing_and_unexpected_tensors(saved):
    weights = saved / "model.safetensors"
    tensors = load_file(weights)
    del tensors["stem.bias"]
    save_file(tensors, weights)
    with pytest.raises(ModelFileError, match="model.safetensors: tensor 'stem.bias' required by .* is missing"):
        load_model(saved)
    tensors["stem.bias"] = torch.zeros(4)
    tensors["extra.weight"] = torch.zeros(2)
    save_file(tensors, weights)
    with pytest.raises(ModelFileError, match="unexpected tensor 'extra.weight'"):
        load_model(saved)


def test_config_checked_against_the_weights_header_before_building(saved, monkeypatch):
    """#28.5: absurd sizes fail on the caps, a config of more layers than the weights on the
    safetensors header, both before any module is built, in well under a second."""
    import time

    import seqfcn.nn.models as models

    real = models._build

    def meta_only(name, params, *, meta=False):
        assert meta, "the model was built"
        return real(name, params, meta=meta)

    monkeypatch.setattr(models, "_build", meta_only)
    _edit_config(saved, lambda d: d["architecture"].update(n_layers=20000))
    t0 = time.perf_counter()
    with pytest.raises(ModelFileError, match=r"config.json: model option n_layers = 20000 exceeds the limit of 256"):
        load_model(saved)
    assert time.perf_counter() - t0 < 0.5
    _edit_config(saved, lambda d: d["architecture"].update(n_layers=200, cycle=8))
    t0 = time.perf_counter()
    with pytest.raises(ModelFileError, match=r"model.safetensors: tensor 'stack.* required by the architecture in "
                                             r"config.json is missing \(\d+ tensors missing\)"):
        load_model(saved)
    assert time.perf_counter() - t0 < 0.8


def test_parameter_cap_is_checked_without_allocating():
    with pytest.raises(ModelFileError, match=r"model 'dilated_fcn' would have [\d,]+ parameters, more than the limit"):
        create_model("dilated_fcn", channels=4096, n_layers=64, cycle=8)
    with pytest.raises(ModelFileError, match="base_channels = 1024 and depth = 12"):
        create_model("unet1d", base_channels=1024, depth=12)
    with pytest.raises(ModelFileError, match="n_motifs = 1e[+]09 exceeds"):
        create_model("motif_scanner", n_motifs=1e9)


def test_weights_from_another_save_are_rejected(saved):
    tensors = load_file(saved / "model.safetensors")
    tensors["stem.bias"] = tensors["stem.bias"] + 1.0
    save_file(tensors, saved / "model.safetensors")
    with pytest.raises(ModelFileError, match="sha256 differs"):
        load_model(saved)


def test_corrupt_weights(saved):
    (saved / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(ModelFileError, match="not a valid safetensors file"):
        load_model(saved)


def test_save_needs_a_registered_model(tmp_path):
    with pytest.raises(TypeError, match="registered"):
        save_model(torch.nn.Conv1d(4, 4, 3), tmp_path)
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        save_model(_trained_like("dilated_fcn"), tmp_path, metadata={"x": object()})
    assert list(tmp_path.iterdir()) == []


def test_describe_model_and_cli_info(saved, capsys):
    text = describe_model(saved)
    assert "name:             dilated_fcn (DilatedFCN)" in text
    assert f"parameters:       {count_parameters(create_model('dilated_fcn', **TINY['dilated_fcn'])):,}" in text
    assert "receptive field:  23 bases (left 11, right 11)" in text
    assert f"seqfcn version:   {__version__}" in text
    assert "input channels:   A, C, G, T" in text
    assert main(["info", str(saved)]) == 0
    assert capsys.readouterr().out.strip() == text
    assert main(["info", str(saved / "missing.json")]) == 2
    assert "model config file not found" in capsys.readouterr().err


def test_describe_strided_model_mentions_the_period(tmp_path):
    save_model(_trained_like("unet1d"), tmp_path, metadata={"dataset": "lambda"})
    text = describe_model(tmp_path / "config.json")
    assert "varies with position modulo 4" in text
    assert 'dataset: "lambda"' in text
