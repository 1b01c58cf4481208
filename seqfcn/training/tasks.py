"""Training tasks: what ``seqfcn train --task {correct,motif,profile}`` builds and runs.

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
- ``motif`` / ``profile``: the last ``holdout`` fraction of every chromosome;
  no training window overlaps it.
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

TASKS = ("correct", "motif", "profile")

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
}

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
    """

    config: dict[str, Any] | None = None
    labels: str | os.PathLike | None = None
    reads: str | os.PathLike | None = None
    device: str = "auto"
    seed: int = 0
    resume: bool = False
    force: bool = False


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
    train_cfg = TrainConfig.from_dict({**cfg["train"], "device": device, "seed": seed})
    train_cfg.validate()
    identity = {"task": task, "genome": input_identity(genome), "labels": input_identity(labels),
                "reads": input_identity(reads), "model": cfg["model"],
                "data": {k: error_model_identity(v) if k in ("error_model", "val_error_model") else v
                         for k, v in cfg["data"].items()},
                "train": train_identity(train_cfg)}
    record = start_run(out_dir, identity, resume=resume, force=o.force)  # another run's checkpoint: refused
    planned_tensors(cfg["model"])  # sizes checked before any work
    train_ds, val_ds, meta = build_datasets(task, genome, cfg["data"], labels=labels, reads=reads, seed=seed)
    model_cfg = dict(cfg["model"])
    if task == "profile" and meta.get("binary_labels") and train_cfg.loss == "mse":
        train_cfg.loss = "bce_dice"
    torch.manual_seed(seed)  # initial weights: a function of the seed alone
    model = model_from_config(model_cfg)
    meta["config"] = cfg

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
