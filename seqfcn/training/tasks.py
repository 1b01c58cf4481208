"""Training tasks: what ``seqfcn train --task {correct,motif,profile,mask}`` builds and runs.

A task turns a genome (plus labels or an error model) into training and
validation datasets, picks a model from the registry and a loss, and runs the
:class:`~seqfcn.training.trainer.Trainer`. Everything is set by one JSON-able config::

    {"model": {"name": "read_corrector", ...registry overrides},
     "train": {...TrainConfig fields (steps, batch_size, lr, ...)},
     "data":  {"window": 256, "train_windows": 20000, "val_windows": 1000,
               "holdout": 0.1, "max_n_fraction": 0.01}}

Missing parts take the task's defaults (:data:`TASK_DEFAULTS`). The exported
model (safetensors + JSON) lands in ``out_dir/model/`` with the task, the data
config and the error model in its metadata.

Validation data:
- ``correct``: fresh corruption draws of windows from the whole genome (other
  seed). A reference-trained corrector is meant to learn *its* genome, so the
  held-out part is the errors, not the sequence. ``data.val_error_model`` may
  differ from ``data.error_model``: training on a higher error rate than the
  reads have gives more learning signal per step, validation measures the
  rate that matters.
- ``motif`` / ``profile`` / ``mask``: the last ``holdout`` fraction of every chromosome;
  no training window overlaps it.

``mask`` is self-supervised: 15 % of the bases of each window are chosen (``data.error_model``,
a :class:`~seqfcn.training.simulate.MaskModel` spec such as ``mask:mask_rate=0.15``), most become
N, and the model (a ``trunk_*`` preset) predicts the true base there. Its model is a
*trunk*: ``--init-from TRUNK`` starts a ``motif`` / ``profile`` model from its weights with a
new 1x1 head (:func:`init_from_trunk`), and predict / variants score bases with it zero-shot.
"""
from __future__ import annotations

import copy
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seqfcn.sequence.encode import QUALITY_CAP
from seqfcn.errors import SeqfcnError
from seqfcn.runtime.options import resolve_options

log = logging.getLogger("seqfcn.training.tasks")

TASKS = ("correct", "motif", "profile", "mask")

TASK_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "correct": {
        "model": {"name": "read_corrector", "channels": 64, "n_layers": 5, "kernel_size": 3},
        "train": {"steps": 2000, "batch_size": 32, "lr": 2e-3, "warmup_steps": 100, "loss": "cross_entropy",
                  "eval_every": 500},
        "data": {"window": 128, "train_windows": 200_000, "val_windows": 500, "error_model": "illumina"},
    },
    "motif": {
        "model": {"name": "motif_scanner", "n_motifs": 16, "motif_width": 15, "n_outputs": 1},
        "train": {"steps": 1000, "batch_size": 32, "lr": 2e-3, "warmup_steps": 50, "loss": "bce_dice",
                  "eval_every": 250},
        "data": {"window": 1000, "train_windows": 100_000, "val_windows": 200, "holdout": 0.1},
    },
    "profile": {
        "model": {"name": "dilated_fcn", "channels": 32, "n_layers": 8, "n_outputs": 1},
        "train": {"steps": 1000, "batch_size": 16, "lr": 2e-3, "warmup_steps": 50, "loss": "mse",
                  "eval_every": 250},
        "data": {"window": 2000, "train_windows": 100_000, "val_windows": 200, "holdout": 0.1},
    },
    "mask": {
        "model": {"name": "trunk_1k"},
        "train": {"steps": 2000, "batch_size": 16, "lr": 2e-3, "warmup_steps": 100, "loss": "cross_entropy",
                  "eval_every": 250},
        "data": {"window": 4096, "train_windows": 1_000_000, "val_windows": 200, "holdout": 0.1,
                 "error_model": "mask"},
    },
}
HEAD_TASKS = {"motif": "multilabel", "profile": "regression"}
"""The head a task puts on a pretrained trunk (``--init-from``)."""

_DATA_KEYS = {"window", "train_windows", "val_windows", "holdout", "max_n_fraction", "error_model",
              "val_error_model", "qmax"}


def task_config(task: str, config: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The task's default config updated section by section with ``config``."""
    if task not in TASKS:
        raise SeqfcnError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    merged = copy.deepcopy(TASK_DEFAULTS[task])
    for section, values in (config or {}).items():
        if section not in merged:
            raise SeqfcnError(f"config: unknown section {section!r} (model, train, data)")
        if not isinstance(values, dict):
            raise SeqfcnError(f"config: section {section!r} must be an object")
        if section == "model" and "name" in values and values["name"] != merged["model"]["name"]:
            merged["model"] = {}
        merged[section].update(values)
    unknown = set(merged["data"]) - _DATA_KEYS
    if unknown:
        raise SeqfcnError(f"config: unknown data keys {sorted(unknown)}")
    return merged


def _label_tracks(labels: str | os.PathLike, chrom_sizes: dict[str, int]) -> tuple[dict[str, np.ndarray], bool]:
    """Per-base label arrays from a BED/narrowPeak (0/1 mask) or a bedGraph/bigWig (values).

    Returns ``(tracks, is_binary)``.
    """
    from seqfcn.io import intervals

    name = str(labels).lower()
    if name.endswith((".bw", ".bigwig", ".bedgraph", ".bedgraph.gz", ".bdg", ".bdg.gz")):
        return {c: intervals.signal_track(labels, c, n) for c, n in chrom_sizes.items()}, False
    bed = intervals.read_bed(labels)
    return {c: intervals.bed_to_mask(bed, c, n).astype(np.float32) for c, n in chrom_sizes.items()}, True


def build_datasets(
    task: str,
    genome_path: str | os.PathLike,
    data: dict[str, Any],
    *,
    labels: str | os.PathLike | None = None,
    reads: str | os.PathLike | None = None,
    seed: int = 0,
) -> tuple[Any, Any, dict[str, Any]]:
    """Training and validation datasets for ``task``; returns ``(train, val, metadata)``."""
    from seqfcn.training.datasets import CorruptedWindows, GenomeWindows, LabelledWindows, holdout_regions
    from seqfcn.io.fasta import Genome

    genome = Genome(genome_path)
    window, max_n = int(data["window"]), float(data.get("max_n_fraction", 0.01))
    meta: dict[str, Any] = {"task": task, "genome": Path(genome_path).name, "data": dict(data)}
    if task == "mask":
        return _mask_datasets(genome, data, meta, seed)
    if task == "correct":
        from seqfcn.training.simulate import make_error_model

        spec = f"fitted:{reads}" if reads is not None else data.get("error_model", "illumina")
        error_model = make_error_model(spec, reference=genome_path)
        val_spec = data.get("val_error_model")
        val_model = error_model if val_spec is None else make_error_model(val_spec, reference=genome_path)
        qmax = int(data.get("qmax", QUALITY_CAP))
        train = CorruptedWindows(GenomeWindows(genome, window, data["train_windows"], seed=seed,
                                               max_n_fraction=max_n), error_model, qmax=qmax, seed=seed)
        val = CorruptedWindows(GenomeWindows(genome, window, data["val_windows"], seed=seed + 1_000_003,
                                             max_n_fraction=max_n), val_model, qmax=qmax, seed=seed + 1_000_003)
        meta.update(error_model=error_model.to_dict(), qmax=qmax)
        return train, val, meta
    if labels is None:
        raise SeqfcnError(f"--task {task} needs --labels (BED/narrowPeak, bedGraph or bigWig)")
    tracks, binary = _label_tracks(labels, genome.chrom_sizes)
    hold = holdout_regions(genome.chrom_sizes, float(data.get("holdout", 0.1)))
    train = LabelledWindows(GenomeWindows(genome, window, data["train_windows"], seed=seed, exclude=hold,
                                          max_n_fraction=max_n), tracks)
    val = LabelledWindows(GenomeWindows(genome, window, data["val_windows"], seed=seed + 1_000_003,
                                        regions=hold, max_n_fraction=max_n), tracks)
    meta.update(labels=Path(labels).name, binary_labels=binary)
    return train, val, meta


def _mask_datasets(genome: Any, data: dict[str, Any], meta: dict[str, Any], seed: int) -> tuple[Any, Any, dict]:
    """``--task mask``: masked windows of the genome outside / inside its hold-out."""
    from seqfcn.training.datasets import GenomeWindows, MaskedWindows, holdout_regions
    from seqfcn.training.simulate import MaskModel, make_error_model

    masker = make_error_model(str(data.get("error_model", "mask")))
    if not isinstance(masker, MaskModel):
        raise SeqfcnError("--task mask takes a mask error model (mask, or mask:mask_rate=0.15,...)")
    window, max_n = int(data["window"]), float(data.get("max_n_fraction", 0.01))
    hold = holdout_regions(genome.chrom_sizes, float(data.get("holdout", 0.1)))
    train = MaskedWindows(GenomeWindows(genome, window, data["train_windows"], seed=seed, exclude=hold,
                                        max_n_fraction=max_n), masker, seed=seed)
    val = MaskedWindows(GenomeWindows(genome, window, data["val_windows"], seed=seed + 1_000_003, regions=hold,
                                      max_n_fraction=max_n), masker, seed=seed + 1_000_003)
    meta.update(error_model=masker.to_dict(), activation="softmax",
                label_scheme={"name": "bases", "classes": ["A", "C", "G", "T"]})  # what correction's "bases" says
    return train, val, meta


def init_from_trunk(task: str, trunk: str | os.PathLike, model_cfg: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """A ``task`` model on a pretrained trunk: the trunk's architecture and weights with a new
    1x1 head of ``model_cfg.get("n_outputs", 1)`` outputs (:data:`HEAD_TASKS`); returns
    ``(model, {"name", "fingerprint"} of the trunk)``.

    Raises:
        SeqfcnError: ``trunk`` is not a ``--task mask`` model, or ``task`` takes no trunk.
    """
    from seqfcn.nn.checkpoint import load_model
    from seqfcn.nn.models import model_from_config
    from seqfcn.training.runs import input_identity

    if task not in HEAD_TASKS:
        raise SeqfcnError(f"--init-from is for --task {' or '.join(HEAD_TASKS)}, not {task}")
    net, info = load_model(trunk)
    if (info.get("metadata") or {}).get("task") != "mask":
        raise SeqfcnError("--init-from takes a trunk trained with --task mask", path=trunk)
    config = {**net.config, "n_outputs": int(model_cfg.get("n_outputs", 1)), "head_task": HEAD_TASKS[task]}
    model = model_from_config(config)
    body = {k: v for k, v in net.state_dict().items() if not k.startswith("head.")}
    missing, unexpected = model.load_state_dict(body, strict=False)
    if unexpected or any(not k.startswith("head.") for k in missing):
        raise SeqfcnError(f"the trunk's weights do not fit its architecture ({missing + unexpected})", path=trunk)
    return model, input_identity(info["weights_path"])


def error_model_identity(spec: Any) -> Any:
    """An error model spec as a run records it: a file it names (``fitted:BAM``, a ``.json``)
    by its name and content fingerprint, so a resume with another file of that name is caught."""
    from seqfcn.training.runs import input_identity

    if not isinstance(spec, str):
        return spec
    path = spec[len("fitted:"):] if spec.startswith("fitted:") else spec
    if os.path.isfile(path):
        return {"spec": spec.split(":", 1)[0] if spec.startswith("fitted:") else "file",
                "file": input_identity(path)}
    return spec


@dataclass(frozen=True)
class TrainTaskOptions:
    """What :func:`train_task` trains on and how (``seqfcn train``).

    Attributes:
        config: ``{"model": ..., "train": ..., "data": ...}`` (see the module docstring).
        labels: per-base labels for ``motif``/``profile``.
        reads: for ``correct``, a BAM of real reads aligned to the genome; the error
            model is fitted to it (same as ``data.error_model = "fitted:BAM"``).
        device, seed, resume: as for :class:`~seqfcn.training.trainer.TrainConfig`.
        force: with ``resume``, continue a run started with other inputs or configs
            (:func:`~seqfcn.training.runs.start_run`: a warning per difference instead of an error).
        init_from: a ``--task mask`` trunk (path or shipped name): ``motif`` / ``profile``
            start from its weights with a new head (:func:`init_from_trunk`; the config's
            ``model`` section gives only ``n_outputs``).
    """

    config: dict[str, Any] | None = None
    labels: str | os.PathLike | None = None
    reads: str | os.PathLike | None = None
    device: str = "auto"
    seed: int = 0
    resume: bool = False
    force: bool = False
    init_from: str | os.PathLike | None = None


def train_task(task: str, genome: str | os.PathLike, out_dir: str | os.PathLike,
               options: TrainTaskOptions | None = None, **overrides: Any) -> dict[str, Any]:
    """Train a model for ``task`` on ``genome``; the model goes to ``out_dir/model/``.

    Args:
        task: ``correct`` (reads from the genome through an error model: per-base
            base classes), ``motif`` (BED sites/peaks: per-base motif presence) or
            ``profile`` (bedGraph/bigWig signal, or BED: per-base values).
        genome: indexed or indexable FASTA.
        options: :class:`TrainTaskOptions`; ``overrides`` replace single fields
            (``train_task("motif", g, out, labels=bed, device="cpu")``).

    Returns:
        The trainer's final result (metrics, steps, stop reason).
    """
    import torch

    from seqfcn.nn.checkpoint import save_model
    from seqfcn.nn.models import model_from_config, planned_tensors
    from seqfcn.training.trainer import TrainConfig, Trainer
    from seqfcn.training.runs import input_identity, start_run, train_identity

    o = resolve_options(TrainTaskOptions, options, overrides, "train_task")
    labels, reads, device, seed, resume = o.labels, o.reads, o.device, o.seed, o.resume
    cfg = task_config(task, o.config)
    trunk = None
    if o.init_from is not None:
        extra = set((o.config or {}).get("model") or {}) - {"n_outputs"}
        if extra:
            raise SeqfcnError(f"with --init-from the model is the trunk's; the config's \"model\" may set only "
                              f"n_outputs, not {', '.join(sorted(extra))}")
        torch.manual_seed(seed)  # the new head's weights: a function of the seed alone
        trunk, trunk_id = init_from_trunk(task, o.init_from, cfg["model"])
        cfg["model"] = dict(trunk.config)
    train_cfg = TrainConfig.from_dict({**cfg["train"], "device": device, "seed": seed})
    train_cfg.validate()
    identity = {"task": task, "genome": input_identity(genome), "labels": input_identity(labels),
                "reads": input_identity(reads), "model": cfg["model"],
                "data": {k: error_model_identity(v) if k in ("error_model", "val_error_model") else v
                         for k, v in cfg["data"].items()},
                "train": train_identity(train_cfg)}
    if trunk is not None:
        identity["init_from"] = trunk_id
    record = start_run(out_dir, identity, resume=resume, force=o.force)  # another run's checkpoint: refused
    planned_tensors(cfg["model"])  # sizes checked before any work
    train_ds, val_ds, meta = build_datasets(task, genome, cfg["data"], labels=labels, reads=reads, seed=seed)
    model_cfg = dict(cfg["model"])
    if task == "profile" and meta.get("binary_labels") and train_cfg.loss == "mse":
        train_cfg.loss = "bce_dice"
    torch.manual_seed(seed)  # initial weights: a function of the seed alone
    model = model_from_config(model_cfg) if trunk is None else trunk
    meta["config"] = cfg
    if trunk is not None:
        meta["init_from"] = trunk_id

    def export(model, directory: Path, metadata: dict) -> None:
        save_model(model, directory, metadata={**metadata, **meta})

    trainer = Trainer(model, train_ds, val_ds, train_cfg, out_dir, save_fn=export, resume=resume, run=record)
    log.info("training %s (%s) on %s", task, model_cfg["name"], genome)
    return trainer.fit()


def read_config(path: str | os.PathLike | None) -> dict[str, Any]:
    """A training config file (``seqfcn train --config``): a JSON object ``{"model": {...},
    "train": {...}, "data": {...}}`` over the task defaults (``{}`` for ``path`` None)."""
    import json

    if not path:
        return {}
    try:
        with open(path) as fh:
            config = json.load(fh)
    except OSError as exc:
        raise SeqfcnError(f"cannot read config: {exc.strerror}", path=path) from None
    except json.JSONDecodeError as exc:
        raise SeqfcnError(f"not JSON: {exc.msg} (line {exc.lineno})", path=path) from None
    if not isinstance(config, dict):
        raise SeqfcnError("config must be a JSON object", path=path)
    return config
