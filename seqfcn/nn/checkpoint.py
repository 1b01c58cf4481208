"""Model files: safetensors weights + a JSON config. Never pickle.

A model directory holds two files:

* ``model.safetensors``: the ``state_dict`` tensors (CPU, contiguous). Its
  safetensors header metadata repeats the JSON document below (without the
  checksum), so a lone ``.safetensors`` file still describes itself.
* ``config.json``::

    {"format": "seqfcn-model", "format_version": 1, "seqfcn_version": "0.1.0",
     "architecture": {"name": "unet1d", ...},      # model.config
     "input_channels": ["A", "C", "G", "T"], "alphabet": "ACGT",
     "n_outputs": 4, "receptive_field": 116, "parameter_count": 3958,
     "weights_file": "model.safetensors", "weights_sha256": "...",
     "metadata": {...}}                             # training metadata

:func:`load_model` checks the config's sizes and every tensor name and shape (from the
safetensors header, before building anything), rebuilds the architecture from the
registry (only registered names), then checks the checksum;
anything that does not fit raises :class:`~seqfcn.errors.ModelFileError`
naming the file and the tensor.
"""
from __future__ import annotations

import hashlib
import json
import os
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from seqfcn.io.atomic import atomic_write
from seqfcn.errors import ModelFileError
from seqfcn.resources import model_path

if TYPE_CHECKING:  # torch is imported where a model is built: reading a config needs none of it
    import torch
    from torch import nn

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
TRAINED_MODEL_DIR = "model"
"""Where ``seqfcn train --out DIR`` puts the final model (``DIR/model/``); loading ``DIR`` finds it."""
FORMAT = "seqfcn-model"
FORMAT_VERSION = 1
_HEADER_KEY = "seqfcn_config"


def _atomic_write(path: Path, data: bytes) -> None:
    atomic_write(path, data)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (Path, PathLike)):
        return os.fspath(value)
    raise TypeError(f"metadata value of type {type(value).__name__} is not JSON-serialisable")


def _document(model: nn.Module, metadata: dict[str, Any] | None) -> dict[str, Any]:
    from seqfcn import __version__
    from seqfcn.nn.models import count_parameters, model_from_config

    config = getattr(model, "config", None)
    if not isinstance(config, dict) or "name" not in config:
        raise TypeError("save_model needs a registered seqfcn model (with a .config dict)")
    config = json.loads(json.dumps(config))
    model_from_config(config)  # only registered, rebuildable architectures are saved
    channels = list(getattr(model, "input_channels", []))
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "seqfcn_version": __version__,
        "architecture": config,
        "input_channels": channels,
        "alphabet": "ACGT",
        "n_outputs": int(config.get("n_outputs", 0)),
        "receptive_field": int(getattr(model, "receptive_field", 0)),
        "parameter_count": count_parameters(model),
        "weights_file": WEIGHTS_NAME,
        "metadata": json.loads(json.dumps(metadata or {}, default=_json_default)),
    }


def save_model(model: nn.Module, directory: str | PathLike, *, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``directory/model.safetensors`` and ``directory/config.json``, each atomically.

    Args:
        model: a registered seqfcn model (``model.config["name"]`` in ``list_models()``).
        directory: created if needed; existing model files in it are replaced.
        metadata: JSON-serialisable training metadata (numpy scalars/arrays and
            paths are converted).

    Returns:
        The directory.
    """
    from safetensors.torch import save

    directory = Path(directory)
    document = _document(model, metadata)
    directory.mkdir(parents=True, exist_ok=True)
    # clone: safetensors refuses tensors that share storage
    state = {k: v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}
    blob = save(state, metadata={_HEADER_KEY: json.dumps(document, sort_keys=True)})
    document["weights_sha256"] = hashlib.sha256(blob).hexdigest()
    _atomic_write(directory / WEIGHTS_NAME, blob)
    _atomic_write(directory / CONFIG_NAME, (json.dumps(document, indent=2, sort_keys=True) + "\n").encode())
    return directory


def _read_json(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelFileError("model config file not found", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"cannot read the model config: {exc}", path=path) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", path=path) from None
    return _check_document(document, path)


def _check_document(document: Any, path: Path) -> dict[str, Any]:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFileError(f"not a seqfcn model config (no \"format\": \"{FORMAT}\")", path=path)
    if not isinstance(document.get("architecture"), dict):
        raise ModelFileError("the config has no \"architecture\" object", path=path)
    version = document.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(f"unsupported model format version {version!r} (this seqfcn reads <= {FORMAT_VERSION})",
                             path=path)
    return document


def _resolve(path: Path) -> tuple[Path | None, Path]:
    """``(config path or None for the embedded header, weights path)`` for a directory, .json or .safetensors."""
    if path.is_dir():
        if not (path / CONFIG_NAME).exists() and (path / TRAINED_MODEL_DIR / CONFIG_NAME).is_file():
            path = path / TRAINED_MODEL_DIR  # the directory `seqfcn train --out` wrote
        return path / CONFIG_NAME, path / WEIGHTS_NAME
    if path.suffix == ".json":
        document = _read_json(path)
        name = document.get("weights_file", WEIGHTS_NAME)
        if not isinstance(name, str) or os.path.basename(name) != name:
            raise ModelFileError(f"invalid weights_file {name!r}", path=path)
        return path, path.parent / name
    if path.suffix == ".safetensors":
        for candidate in (path.with_suffix(".json"), path.parent / CONFIG_NAME):
            if candidate.is_file():
                try:
                    document = json.loads(candidate.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                if isinstance(document, dict) and document.get("weights_file") == path.name:
                    return candidate, path
        return None, path
    if not path.exists():
        raise ModelFileError("no such model file or directory", path=path)
    raise ModelFileError("expected a model directory, a .json config or a .safetensors file", path=path)


def _read_header(path: Path) -> tuple[dict[str, tuple[int, ...]], dict[str, str]]:
    """``(tensor name -> shape, header metadata)`` of a safetensors file, without reading its tensors."""
    from safetensors import safe_open

    if not path.is_file():
        raise ModelFileError("model weights file not found", path=path)
    try:
        with safe_open(str(path), framework="np") as handle:
            shapes = {k: tuple(handle.get_slice(k).get_shape()) for k in handle.keys()}
            header = handle.metadata() or {}
    except OSError as exc:
        raise ModelFileError(f"cannot read the model weights: {exc}", path=path) from None
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise ModelFileError(f"not a valid safetensors file: {exc}", path=path) from None
    return shapes, header


def _read_weights(path: Path) -> tuple[dict[str, torch.Tensor], bytes]:
    from safetensors.torch import load

    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"cannot read the model weights: {exc}", path=path) from None
    try:
        tensors = load(blob)
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise ModelFileError(f"not a valid safetensors file: {exc}", path=path) from None
    return tensors, blob


def _read_document(path: str | PathLike) -> tuple[dict[str, Any], Path | None, Path, dict[str, tuple[int, ...]]]:
    """``(config document, config path or None, weights path, tensor shapes)`` of a saved
    model: the JSON (or the embedded config) and the safetensors header, no tensors read."""
    path = model_path(path)
    config_path, weights_path = _resolve(path)
    if config_path is not None:
        document = _read_json(config_path)
    shapes, header = _read_header(weights_path)
    if config_path is None:
        if _HEADER_KEY not in header:
            raise ModelFileError(
                f"no {CONFIG_NAME} beside the weights and no embedded seqfcn config", path=weights_path
            )
        try:
            document = _check_document(json.loads(header[_HEADER_KEY]), weights_path)
        except json.JSONDecodeError as exc:
            raise ModelFileError(f"invalid embedded config: {exc.msg}", path=weights_path) from None
    return document, config_path, weights_path, shapes


def model_info(path: str | PathLike) -> dict[str, Any]:
    """The ``info`` :func:`load_model` returns, without building the model or importing torch:
    the config document plus ``config_path`` and ``weights_path`` (the JSON, or the embedded
    config, and the safetensors header are checked; tensor shapes and the checksum are checked
    by :func:`load_model`)."""
    document, config_path, weights_path, _ = _read_document(path)
    return _info(document, config_path, weights_path)


def _info(document: dict[str, Any], config_path: Path | None, weights_path: Path) -> dict[str, Any]:
    info = dict(document)
    info["config_path"] = None if config_path is None else str(config_path)
    info["weights_path"] = str(weights_path)
    return info


def load_model(path: str | PathLike, *, device: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Load a model saved by :func:`save_model`; returns ``(model in eval mode, info)``.

    Args:
        path: the model directory, its ``config.json`` or its ``.safetensors``
            file (a lone ``.safetensors`` file uses its embedded config), or the
            name of a shipped model (:mod:`seqfcn.resources`).
        device: where to put the model.

    Returns:
        ``info``: the config document (``architecture``, ``input_channels``,
        ``seqfcn_version``, ``metadata``, ...) plus ``config_path`` and
        ``weights_path``.

    Raises:
        ModelFileError: missing file, bad JSON, unknown model name, invalid
            options, missing / unexpected tensors, a shape mismatch or a
            checksum mismatch; the message names the file and the tensor.
    """
    from seqfcn.nn.models import model_from_config, planned_tensors

    document, config_path, weights_path, shapes = _read_document(path)
    described = config_path or weights_path
    try:  # sizes and tensor shapes before anything is built or read: an absurd config fails at once
        check_tensor_shapes(planned_tensors(document["architecture"]), shapes, weights_path,
                            f"the architecture in {described.name}")
        model = model_from_config(document["architecture"])
    except ModelFileError as exc:
        raise ModelFileError(exc.message, path=exc.path or described) from None
    tensors, blob = _read_weights(weights_path)
    expected = document.get("weights_sha256")
    if expected is not None and hashlib.sha256(blob).hexdigest() != expected:
        raise ModelFileError(f"the weights' sha256 differs from the one recorded in {described.name} "
                             "(config and weights come from different saves)", path=weights_path)
    model.load_state_dict(tensors, strict=True)
    model.to(device).eval()
    return model, _info(document, config_path, weights_path)


def check_tensor_shapes(expected: dict[str, tuple[int, ...]], found: dict[str, tuple[int, ...]],
                        weights: str | PathLike, architecture: str) -> None:
    """Raise :class:`ModelFileError` (one line naming ``weights`` and the first tensor) unless the
    tensors ``found`` in a weights file have exactly the names and shapes ``expected``.

    ``architecture`` says where the expectation comes from (``"the architecture in config.json"``).
    """
    missing = sorted(set(expected) - set(found))
    if missing:
        raise ModelFileError(
            f"tensor {missing[0]!r} required by {architecture} is missing"
            + (f" ({len(missing)} tensors missing)" if len(missing) > 1 else ""),
            path=weights,
        )
    unexpected = sorted(set(found) - set(expected))
    if unexpected:
        raise ModelFileError(
            f"unexpected tensor {unexpected[0]!r}: not part of {architecture}"
            + (f" ({len(unexpected)} unexpected tensors)" if len(unexpected) > 1 else ""),
            path=weights,
        )
    for key, shape in expected.items():
        if tuple(found[key]) != tuple(shape):
            raise ModelFileError(
                f"tensor {key!r} has shape {tuple(found[key])} but {architecture} needs {tuple(shape)}",
                path=weights,
            )


def model_summary(path: str | PathLike) -> dict[str, Any]:
    """Everything about a saved model, JSON-ready (``seqfcn info MODEL --json``): the config
    document (architecture, input channels, metadata, ...) plus ``parameters``,
    ``receptive_field``, ``receptive_margins`` and the resolved file paths."""
    from seqfcn.nn.models import count_parameters

    model, info = load_model(path)
    summary = dict(info)
    summary.update(model_class=type(model).__name__, rf_period=int(getattr(model, "rf_period", 1)),
                   parameters=count_parameters(model), receptive_field=int(model.receptive_field),
                   receptive_margins=list(model.receptive_margins), n_outputs=int(model.n_outputs),
                   input_channels=list(info.get("input_channels") or model.input_channels))
    return summary


_SHORT = 72  # longest value shown inline by describe_model; longer ones are summarised


def _short(value: Any) -> str:
    """``value`` as short text: JSON when it fits, else a count of its entries."""
    text = json.dumps(value, default=str)
    if len(text) <= _SHORT or (isinstance(value, str) and len(text) <= 4 * _SHORT):
        return text
    if isinstance(value, (list, tuple, dict)):
        return f"({len(value)} entries; see --json)"
    return text[: _SHORT - 3] + "..."


def describe_model(path: str | PathLike) -> str:
    """A readable summary of a saved model (``seqfcn info MODEL``): name, architecture,
    input channels, output classes, parameter count, receptive field, seqfcn version and
    the training metadata one level deep, long values summarised (never whole matrices;
    :func:`model_summary` has everything)."""
    summary = model_summary(path)
    config = summary["architecture"]
    left, right = summary["receptive_margins"]
    period = summary["rf_period"]
    metadata = dict(summary.get("metadata") or {})
    scheme = metadata.pop("label_scheme", None)
    outputs = f"{summary['n_outputs']} per base"
    if isinstance(scheme, dict) and "classes" in scheme:
        outputs += f" ({scheme.get('name')}: {', '.join(map(str, scheme['classes']))})"
    options = ", ".join(f"{k}={_short(v)}" for k, v in config.items() if k != "name")
    lines = [
        f"model:            {summary['config_path'] or summary['weights_path']}",
        f"name:             {config['name']} ({summary['model_class']})",
        f"architecture:     {options}",
        f"input channels:   {', '.join(summary['input_channels'])}",
        f"outputs:          {outputs}",
        f"parameters:       {summary['parameters']:,}",
        f"receptive field:  {summary['receptive_field']:,} bases (left {left:,}, right {right:,}"
        + (f"; varies with position modulo {period})" if period > 1 else ")"),
        f"seqfcn version:   {summary.get('seqfcn_version', 'unknown')}",
    ]
    if not metadata:
        lines.append("metadata:         none")
        return "\n".join(lines)
    lines.append("metadata:")
    for key, value in metadata.items():
        if isinstance(value, dict) and len(json.dumps(value, default=str)) > _SHORT:
            lines.append(f"  {key}:")
            lines += [f"    {k}: {_short(v)}" for k, v in value.items()]
        else:
            lines.append(f"  {key}: {_short(value)}")
    return "\n".join(lines)
