"""Generic training engine for per-base sequence models.

:class:`Trainer` trains any ``torch.nn.Module`` that maps ``(batch, C, length)`` to
``(batch, K, length)`` on any map-style ``Dataset`` whose items are dicts::

    {"x": (C, length) float tensor,
     "y": (length,) int64 class labels (ignore_index -100)  or  (K, length) float targets,
     "weight": optional (length,), (K, length) or scalar per-position / per-sample weights}

What it does
    * device ``auto`` (cuda → mps → cpu) or forced; AMP on CUDA (bf16, or fp16 with a
      gradient scaler), float32 elsewhere; optional ``torch.compile``;
    * AdamW, linear warm-up then cosine decay, gradient-norm clipping;
    * per-base losses from :mod:`seqfcn.training.losses`, validation metrics from :mod:`seqfcn.training.metrics`
      at every evaluation (default once per epoch), early stopping on a monitored metric;
    * checkpoints in ``out_dir/last/`` every ``checkpoint_every`` steps, at the end and on
      SIGINT/SIGTERM, written atomically; ``resume=True`` continues *exactly* (model,
      optimiser, scheduler, grad scaler, per-rank RNG states, data order mid-epoch): a run
      of 2N steps equals N steps + kill + resume N, bit for bit on the same machine;
      :func:`start_run` records what a run is (inputs' fingerprints, configs) in its
      checkpoints and refuses to resume a checkpoint of another run (``force``: warn instead);
    * ``out_dir/metrics.csv``, ``out_dir/training_curve.png``, TensorBoard events in
      ``out_dir/tensorboard/`` when ``torch.utils.tensorboard`` is importable;
    * DistributedDataParallel when launched by ``torchrun`` (``RANK``/``WORLD_SIZE``/
      ``LOCAL_RANK`` set): NCCL on CUDA, gloo on CPU; each global batch of ``batch_size``
      is split exactly across ranks, so gradients equal a single-process run with the
      same batch for losses that are plain means (``mse``, ``bce``, ``cross_entropy``
      without ignored positions; with ``ignore_index`` each rank averages over its own
      valid positions, and Dice is not a mean at all, so those differ slightly); rank 0
      alone writes files, every rank reads ``out_dir`` on resume (use a shared filesystem).

Data order is a function of ``(seed, epoch)`` only, so a resumed run sees the same
batches. Randomness *inside* a dataset's ``__getitem__`` should derive from the item
index (and epoch) to be reproducible across resumes and worker counts.

Signals: on SIGINT/SIGTERM the current step finishes, a checkpoint is written and
:meth:`Trainer.fit` returns with ``stop_reason == "signal:SIGTERM"`` (or SIGINT); the
caller (the CLI) should then exit with ``128 + signum`` (143 for SIGTERM). A second
Ctrl-C aborts at once. DataLoader workers ignore both signals (a signal sent to the whole
process group reaches only the main process). Under ``torchrun`` the agent forwards
SIGTERM to every rank; the ranks agree on the stop step through an all-reduce.
"""
from __future__ import annotations

import json
import logging
import math
import os
import random
import signal
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader, Dataset, Subset

from seqfcn.training import metrics as M
from seqfcn.io.atomic import atomic_path, temporary_directory_beside
from seqfcn.nn.checkpoint import TRAINED_MODEL_DIR
from seqfcn.errors import SeqfcnError
from seqfcn.training.losses import get_loss
from seqfcn.runtime.distributed import setup_distributed
from seqfcn.training.runs import RunRecord
from seqfcn.training.schedule import SeededBatchSampler, mix_seeds, seed_worker, warmup_cosine
from seqfcn.training.state import (
    atomic_dir_replace,
    join_state_tensors,
    json_dump,
    rng_state,
    set_rng_state,
    split_state_tensors,
    state_dict_cpu,
)

log = logging.getLogger("seqfcn.training.trainer")

SaveFn = Callable[[torch.nn.Module, Path, dict], Any]

_AMP_CHOICES = ("auto", "bf16", "fp16", "off")


@dataclass
class TrainConfig:
    """Everything that controls a training run (saved with checkpoints and exported models).

    Length of the run: ``steps`` optimiser steps if given, else ``epochs`` passes over the
    training set. ``batch_size`` is the *global* batch (split across DDP ranks).
    ``eval_every`` / ``checkpoint_every`` are in steps (``eval_every`` defaults to one
    epoch). A checkpoint is written every ``checkpoint_every`` steps and, whatever that is,
    once ``checkpoint_seconds`` of wall time have passed since the last one, so a run
    killed with SIGKILL loses at most that much work; always at the end, at
    ``stop_after`` and on a signal (``0`` turns either periodic trigger off). ``patience`` counts evaluations without an
    improvement of ``monitor`` before early stopping (``None`` disables it).
    ``stop_after`` ends this invocation (with a checkpoint) once the step count reaches it,
    leaving the schedule unchanged — for time-sliced jobs and resume tests.
    ``freeze_steps``: the first steps update the head alone (parameters named ``head.*``;
    a new head on a pretrained trunk settles before the trunk moves).
    """

    steps: int | None = None
    epochs: int = 1
    batch_size: int = 32
    eval_batch_size: int | None = None
    lr: float = 1e-3
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0
    grad_clip: float | None = 1.0
    freeze_steps: int = 0
    amp: str = "auto"
    compile: bool | str = False
    loss: str = "cross_entropy"
    ignore_index: int = -100
    eval_every: int | None = None
    checkpoint_every: int = 500
    checkpoint_seconds: float = 300.0
    patience: int | None = None
    monitor: str = "val_loss"
    restore_best: bool = True
    seed: int = 0
    num_workers: int = 0
    device: str = "auto"
    stop_after: int | None = None
    progress: bool = True
    tensorboard: bool = True
    plot: bool = True

    def validate(self) -> None:
        """Raise :class:`SeqfcnError` for values that cannot work."""
        def bad(msg: str) -> None:
            raise SeqfcnError(f"training config: {msg}")

        if self.steps is not None and self.steps < 1:
            bad(f"steps must be >= 1, got {self.steps}")
        if self.steps is None and self.epochs < 1:
            bad(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            bad(f"batch_size must be >= 1, got {self.batch_size}")
        if not self.lr > 0:
            bad(f"lr must be > 0, got {self.lr}")
        if self.amp not in _AMP_CHOICES:
            bad(f"amp must be one of {_AMP_CHOICES}, got {self.amp!r}")
        if min(self.warmup_steps, self.checkpoint_every, self.checkpoint_seconds, self.num_workers,
               self.freeze_steps) < 0:
            bad("warmup_steps, checkpoint_every, checkpoint_seconds, num_workers and freeze_steps must be >= 0")
        if self.eval_every is not None and self.eval_every < 1:
            bad(f"eval_every must be >= 1, got {self.eval_every}")
        if self.patience is not None and self.patience < 1:
            bad(f"patience must be >= 1, got {self.patience}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            bad(f"grad_clip must be > 0 or None, got {self.grad_clip}")
        get_loss(self.loss)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "TrainConfig":
        """Build from a dict (e.g. JSON), rejecting unknown keys."""
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise SeqfcnError(f"training config: unknown keys {sorted(unknown)}")
        d = dict(d)
        if "betas" in d:
            d["betas"] = tuple(d["betas"])
        return cls(**d)


def _grad_scaler() -> Any:
    """A CUDA gradient scaler for fp16 training (``torch.amp`` since 2.3, ``torch.cuda.amp`` before)."""
    if hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler("cuda")
    return torch.cuda.amp.GradScaler()


# --------------------------------------------------------------------------- state files


def _default_save_fn(model: torch.nn.Module, directory: Path, metadata: dict) -> None:
    """Export with :func:`seqfcn.nn.checkpoint.save_model` (``model.safetensors`` + ``config.json``)
    for registered seqfcn models (a ``config`` dict with a ``name``); any other module gets
    ``model.safetensors`` + ``metadata.json``, written atomically."""
    config = getattr(model, "config", None)
    if isinstance(config, dict) and "name" in config:
        from seqfcn.nn.checkpoint import save_model

        save_model(model, directory, metadata=metadata)
        return
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(temporary_directory_beside(directory))
    save_file(state_dict_cpu(model), str(tmp / "model.safetensors"))
    json_dump(metadata, tmp / "metadata.json")
    atomic_dir_replace(tmp, directory)


OUTPUT_NAMES = ("last", "last.old", "best", "best.old", TRAINED_MODEL_DIR, TRAINED_MODEL_DIR + ".old",
                "metrics.csv", "training_curve.png", "tensorboard")  # what a Trainer writes in out_dir (no-overwrite check)


# --------------------------------------------------------------------------- trainer
class Trainer:
    """Train ``model`` on ``train_dataset``, validating on ``val_dataset``; files go to ``out_dir``.

    Args:
        model: maps ``(batch, C, length)`` → ``(batch, K, length)``.
        train_dataset / val_dataset: map-style datasets of dicts (see the module docstring).
        config: a :class:`TrainConfig` (default values if ``None``).
        out_dir: ``last/`` (resumable state), ``best/`` (best weights), ``model/`` (export),
            ``metrics.csv``, ``training_curve.png``, ``tensorboard/``.
        save_fn: ``save_fn(model, directory, metadata)`` exports the final model; default
            :func:`seqfcn.nn.checkpoint.save_model` for models with a ``config``, else
            ``model.safetensors`` + ``metadata.json``.
        resume: continue from ``out_dir/last/`` if it exists (a fresh start otherwise).
        run: what this run is (:func:`start_run`, which checks it against the checkpoint
            before a resume); saved in every checkpoint and in the exported metadata (``run``).

    After :meth:`fit`, ``trainer.model`` holds the final weights (the best ones when
    ``config.restore_best`` and a validation set were used) on the training device.
    """

    collate_fn: Callable | None = None
    """The DataLoaders' ``collate_fn`` (None stacks the dict fields); a subclass may set it."""

    def __init__(self, model: torch.nn.Module, train_dataset: Dataset, val_dataset: Dataset | None = None,
                 config: TrainConfig | None = None, out_dir: str | os.PathLike = "seqfcn_train", *,
                 save_fn: SaveFn | None = None, resume: bool = False, run: RunRecord | None = None) -> None:
        self.config = config = config or TrainConfig()
        config.validate()
        self.out_dir = Path(out_dir)
        self.save_fn = save_fn or _default_save_fn
        self.resume = resume
        self.run = run
        self.loss_fn = get_loss(config.loss)
        self.dist, self.device = setup_distributed(config.device)
        self.train_dataset, self.val_dataset = train_dataset, val_dataset

        self.autocast_dtype, use_scaler = self._resolve_amp()
        self.model = model.to(self.device)
        self.sampler = SeededBatchSampler(
            len(train_dataset), config.batch_size, config.seed, self.dist.rank, self.dist.world_size
        )
        self.steps_per_epoch = self.sampler.batches_per_epoch
        if self.steps_per_epoch == 0:
            raise SeqfcnError(
                f"the training set has {len(train_dataset)} items, fewer than one batch of {config.batch_size}"
            )
        self.total_steps = config.steps if config.steps is not None else config.epochs * self.steps_per_epoch
        self.eval_every = config.eval_every or min(self.steps_per_epoch, self.total_steps)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=config.lr, betas=config.betas, weight_decay=config.weight_decay
        )
        total, warm, floor = self.total_steps, config.warmup_steps, config.min_lr_ratio
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: warmup_cosine(s, warm, total, floor)
        )
        self.scaler = _grad_scaler() if use_scaler else None
        self._loader_gen = torch.Generator()
        self.loader = DataLoader(
            train_dataset,
            batch_sampler=self.sampler,
            num_workers=config.num_workers,
            worker_init_fn=seed_worker,
            generator=self._loader_gen,
            collate_fn=type(self).collate_fn,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
        )
        # progress
        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        self.history: list[dict[str, float]] = []
        self.best: float | None = None
        self.best_step: int | None = None
        self.bad_evals = 0
        self.elapsed = 0.0
        self._loss_sum, self._loss_n = 0.0, 0  # train loss accumulated since the last evaluation
        self._signal: int | None = None
        self._train_model: torch.nn.Module = self.model

    # ------------------------------------------------------------------ setup helpers
    def _resolve_amp(self) -> tuple[torch.dtype | None, bool]:
        amp = self.config.amp
        if self.device.type != "cuda":
            if amp in ("bf16", "fp16"):
                log.warning("amp=%s needs CUDA; training in float32 on %s", amp, self.device)
            return None, False
        if amp == "off":
            return None, False
        if amp == "bf16" or (amp == "auto" and torch.cuda.is_bf16_supported()):
            return torch.bfloat16, False
        return torch.float16, True

    def _wrap_model(self) -> None:
        model = self.model
        if self.dist.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            model = DDP(model, device_ids=ids)
        if self.config.compile:
            backend = self.config.compile if isinstance(self.config.compile, str) else "inductor"
            model = torch.compile(model, backend=backend)
        self._train_model = model

    def _autocast(self):
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def _barrier(self) -> None:
        if self.dist.distributed:
            dist.barrier()

    # ------------------------------------------------------------------ checkpoints
    @property
    def last_dir(self) -> Path:
        return self.out_dir / "last"

    def save_checkpoint(self) -> None:
        """Write ``out_dir/last/`` atomically (rank 0), holding everything needed to resume exactly."""
        rng = rng_state()
        if self.dist.distributed:
            all_rng: list[Any] = [None] * self.dist.world_size
            dist.all_gather_object(all_rng, rng)
        else:
            all_rng = [rng]
        if self.dist.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            tmp = Path(temporary_directory_beside(self.last_dir))
            save_file(state_dict_cpu(self.model), str(tmp / "model.safetensors"))
            opt_tensors, opt_meta = split_state_tensors(self.optimizer.state_dict())
            save_file(opt_tensors, str(tmp / "optimizer.safetensors"))
            json_dump(opt_meta, tmp / "optimizer.json")
            rng_tensors: dict[str, torch.Tensor] = {}
            rng_json = []
            for r, st in enumerate(all_rng):
                rng_tensors[f"torch/{r}"] = st["torch"].cpu()
                for i, cs in enumerate(st["cuda"]):
                    rng_tensors[f"cuda/{r}/{i}"] = cs.cpu()
                rng_json.append({"python": st["python"], "numpy": st["numpy"], "n_cuda": len(st["cuda"])})
            save_file(rng_tensors, str(tmp / "rng.safetensors"))
            json_dump(rng_json, tmp / "rng.json")
            sched = {k: v for k, v in self.scheduler.state_dict().items() if k != "lr_lambdas"}
            state = {
                "step": self.step,
                "epoch": self.epoch,
                "batch_in_epoch": self.batch_in_epoch,
                "world_size": self.dist.world_size,
                "scheduler": sched,
                "scaler": self.scaler.state_dict() if self.scaler is not None else None,
                "best": self.best,
                "best_step": self.best_step,
                "bad_evals": self.bad_evals,
                "elapsed": self.elapsed,
                "loss_accumulator": [self._loss_sum, self._loss_n],
                "history": self.history,
                "config": asdict(self.config),
                "run": None if self.run is None else self.run.to_dict(),
            }
            json_dump(state, tmp / "trainer_state.json")
            atomic_dir_replace(tmp, self.last_dir)
        self._barrier()

    def load_checkpoint(self, directory: str | os.PathLike | None = None) -> bool:
        """Restore the state saved by :meth:`save_checkpoint`; ``False`` if there is none."""
        directory = Path(directory) if directory is not None else self.last_dir
        if not (directory / "trainer_state.json").exists():
            old = directory.with_name(directory.name + ".old")  # crash between the two renames
            if not (old / "trainer_state.json").exists():
                return False
            directory = old
        try:
            with open(directory / "trainer_state.json") as fh:
                state = json.load(fh)
            self._check_saved_shapes(directory / "model.safetensors")
            weights = load_file(str(directory / "model.safetensors"))
            self.model.load_state_dict(weights)
            with open(directory / "optimizer.json") as fh:
                opt_meta = json.load(fh)
            # on the CPU: load_state_dict moves moments to each parameter's device and keeps
            # AdamW's "step" counters where the optimizer expects them
            opt_tensors = load_file(str(directory / "optimizer.safetensors"))
            self.optimizer.load_state_dict(join_state_tensors(opt_tensors, opt_meta))
            with open(directory / "rng.json") as fh:
                rng_json = json.load(fh)
            rng_tensors = load_file(str(directory / "rng.safetensors"))
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise SeqfcnError(f"cannot resume from this checkpoint: {exc}", path=directory) from None
        saved_cfg = state["config"]
        for key in ("batch_size", "seed"):
            if saved_cfg.get(key) != getattr(self.config, key):
                log.warning("resuming with %s=%s but the checkpoint used %s: the run will not be an exact "
                            "continuation", key, getattr(self.config, key), saved_cfg.get(key))
        sched = self.scheduler.state_dict()
        sched.update(state["scheduler"])
        self.scheduler.load_state_dict(sched)
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.step, self.epoch, self.batch_in_epoch = state["step"], state["epoch"], state["batch_in_epoch"]
        self.best, self.best_step, self.bad_evals = state["best"], state["best_step"], state["bad_evals"]
        self.elapsed, self.history = state["elapsed"], state["history"]
        self._loss_sum, self._loss_n = state["loss_accumulator"]
        r = self.dist.rank
        if state["world_size"] == self.dist.world_size:
            st = dict(rng_json[r])
            st["torch"] = rng_tensors[f"torch/{r}"]
            st["cuda"] = [rng_tensors[f"cuda/{r}/{i}"] for i in range(st.pop("n_cuda"))]
            set_rng_state(st)
        else:
            log.warning("checkpoint was written by %d processes, now %d: RNG streams reseeded",
                        state["world_size"], self.dist.world_size)
            torch.manual_seed(mix_seeds(self.config.seed, r, self.step))
        log.info("resumed from %s at step %d (epoch %d)", directory, self.step, self.epoch)
        return True

    def _check_saved_shapes(self, weights: Path) -> None:
        """One line naming the first tensor of a checkpoint that does not fit this run's model."""
        from safetensors import safe_open

        from seqfcn.nn.checkpoint import check_tensor_shapes

        try:
            with safe_open(str(weights), framework="np") as handle:
                found = {k: tuple(handle.get_slice(k).get_shape()) for k in handle.keys()}
        except Exception as exc:  # missing or corrupt: safetensors raises its own error types
            raise SeqfcnError(f"cannot resume from this checkpoint: {exc}", path=weights) from None
        expected = {k: tuple(v.shape) for k, v in self.model.state_dict().items()}
        check_tensor_shapes(expected, found, weights, "the model of this run (another model config?)")

    def _save_best(self) -> None:
        if self.dist.is_main:
            best = self.out_dir / "best"
            tmp = Path(temporary_directory_beside(best))
            save_file(state_dict_cpu(self.model), str(tmp / "model.safetensors"))
            json_dump({"step": self.step, self.config.monitor: self.best}, tmp / "best.json")
            atomic_dir_replace(tmp, best)
        self._barrier()

    # ------------------------------------------------------------------ steps
    def _to_device(self, batch: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        nb = self.device.type == "cuda"
        try:
            x, y = batch["x"], batch["y"]
        except (KeyError, TypeError):
            raise SeqfcnError("dataset items must be dicts with 'x' and 'y' (and optional 'weight')") from None
        w = batch.get("weight")
        x = x.to(self.device, non_blocking=nb).float()
        y = y.to(self.device, non_blocking=nb)
        if w is not None:
            w = w.to(self.device, non_blocking=nb)
        return x, y, w

    def _forward_loss(self, model: torch.nn.Module, x, y, w) -> tuple[torch.Tensor, torch.Tensor]:
        with self._autocast():
            out = model(x)
        if out.dim() != 3 or out.shape[0] != x.shape[0] or out.shape[-1] != x.shape[-1]:
            raise SeqfcnError(
                f"model output has shape {tuple(out.shape)} for input {tuple(x.shape)}; "
                "expected (batch, K, same length)"
            )
        return out, self.loss_fn(out.float(), y, w, ignore_index=self.config.ignore_index)

    def train_step(self, batch: Mapping[str, Any]) -> torch.Tensor:
        """One optimiser step on ``batch``; returns the (detached) loss on this rank."""
        self._train_model.train()
        x, y, w = self._to_device(batch)
        _, loss = self._forward_loss(self._train_model, x, y, w)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        if self.step < self.config.freeze_steps:  # the trunk waits: no gradient, no update, no decay
            for name, p in self.model.named_parameters():
                if not name.startswith("head."):
                    p.grad = None
        if self.config.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        return loss.detach()

    @torch.no_grad()
    def evaluate(self, dataset: Dataset | None = None) -> dict[str, float]:
        """Validation loss and metrics on ``dataset`` (default the validation set), sharded over ranks.

        Keys: ``val_loss``; ``val_accuracy`` (per base; thresholded at 0.5 for float targets);
        ``val_error_rate_reduction`` (4 classes and the first 4 input channels are bases);
        ``val_auprc`` (macro one-vs-rest for >2 classes) and ``val_auroc`` (binary);
        ``val_pearson`` for ``mse``.
        """
        dataset = dataset if dataset is not None else self.val_dataset
        if dataset is None:
            return {}
        r, world = self.dist.rank, self.dist.world_size
        shard = Subset(dataset, range(r, len(dataset), world)) if world > 1 else dataset
        loader = DataLoader(
            shard,
            batch_size=self.config.eval_batch_size or max(1, self.config.batch_size // world),
            shuffle=False,
            num_workers=self.config.num_workers,
            worker_init_fn=seed_worker,
            generator=torch.Generator().manual_seed(self.config.seed),
            collate_fn=type(self).collate_fn,
        )
        acc = M.PerBaseEvaluation(self.config.loss, self.config.ignore_index)
        was_training = self.model.training
        self.model.eval()
        for batch in loader:
            x, y, w = self._to_device(batch)
            out, loss = self._forward_loss(self.model, x, y, w)
            acc.add(x, out, y, w, float(loss))
        self.model.train(was_training)
        counts, (scores, labels) = acc.counts, acc.arrays()
        if self.dist.distributed:
            t = torch.tensor(counts, dtype=torch.float64, device=self.device)
            dist.all_reduce(t)
            counts = t.cpu().numpy()
            gathered: list[Any] = [None] * self.dist.world_size
            dist.all_gather_object(gathered, (scores, labels))
            scores = np.concatenate([g[0] for g in gathered])
            labels = np.concatenate([g[1] for g in gathered])
        return acc.result(counts, scores, labels)

    # ------------------------------------------------------------------ fit
    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C aborts without waiting for the checkpoint
        log.warning("received %s: finishing this step, then writing a checkpoint", signal.Signals(signum).name)
        self._signal = signum

    def _stop_requested(self) -> bool:
        flag = 0 if self._signal is None else int(self._signal)
        if self.dist.distributed:
            t = torch.tensor([flag], device=self.device)
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
            flag = int(t.item())
            if flag and self._signal is None:
                self._signal = flag
        return flag != 0

    def _improved(self, value: float) -> bool:
        if value != value:  # nan
            return False
        if self.best is None:
            return True
        lower_better = "loss" in self.config.monitor
        return value < self.best if lower_better else value > self.best

    def _checkpoint_due(self, last_save: float) -> bool:
        """Periodic checkpoint: every ``checkpoint_every`` steps or ``checkpoint_seconds`` of wall time.

        Under DDP the time trigger is rank 0's clock, broadcast, so every rank saves together.
        """
        cfg = self.config
        due = bool(cfg.checkpoint_every) and self.step % cfg.checkpoint_every == 0
        if cfg.checkpoint_seconds and not due:
            late = time.monotonic() - last_save >= cfg.checkpoint_seconds
            if self.dist.distributed:
                flag = torch.tensor([int(late)], device=self.device)
                dist.broadcast(flag, 0)
                late = bool(flag.item())
            due = late
        return due

    def fit(self) -> dict[str, Any]:
        """Train to the end (or early stop / signal / ``stop_after``); returns the final metrics.

        The result holds ``step``, ``epoch``, ``train_loss`` (mean since the last evaluation),
        the validation metrics, ``best_step``/``best`` for the monitored metric and
        ``stop_reason`` (``completed``, ``early_stopping``, ``stop_after``, ``signal:SIGTERM``...).
        A fresh run seeds the global Python/numpy/torch RNGs from ``(config.seed, rank)``
        (dropout etc.); a resumed run restores them. Build the model before, with its own seed.
        Only a finished run (completed or early-stopped) exports ``out_dir/model``.
        """
        cfg = self.config
        resumed = self.resume and self.load_checkpoint()
        if self.resume and not resumed:
            log.warning("--resume: no checkpoint in %s, starting at step 0", self.last_dir)
        if not resumed:
            torch.manual_seed(mix_seeds(cfg.seed, self.dist.rank))
            random.seed(mix_seeds(cfg.seed, self.dist.rank, 1))
            np.random.seed(mix_seeds(cfg.seed, self.dist.rank, 2) % (2**32))
        self._wrap_model()
        main = self.dist.is_main
        writer = self._tensorboard() if main and cfg.tensorboard else None
        handlers = self._install_signal_handlers()
        from tqdm.auto import tqdm

        bar = tqdm(total=self.total_steps, initial=self.step, disable=not (cfg.progress and main),
                   file=sys.stderr, dynamic_ncols=True, desc="train")
        loss_sum = torch.tensor(self._loss_sum, device=self.device, dtype=torch.float64)
        loss_n = self._loss_n
        stop_reason = "completed"
        t0 = time.monotonic() - self.elapsed
        last_save = time.monotonic()
        it: Iterator | None = None
        try:
            while self.step < self.total_steps:
                if it is None:
                    self.sampler.set_epoch(self.epoch, self.batch_in_epoch)
                    self._loader_gen.manual_seed(mix_seeds(cfg.seed, self.epoch, self.batch_in_epoch, self.dist.rank))
                    it = iter(self.loader)
                batch = next(it)
                loss = self.train_step(batch)
                loss_sum += loss
                loss_n += 1
                self.step += 1
                self.batch_in_epoch += 1
                if self.batch_in_epoch == self.steps_per_epoch:
                    self.epoch, self.batch_in_epoch, it = self.epoch + 1, 0, None
                bar.update(1)
                if main and cfg.progress and (self.step % 10 == 0 or self.step == self.total_steps):
                    bar.set_postfix(loss=f"{float(loss):.4f}", lr=f"{self.scheduler.get_last_lr()[0]:.2e}")

                early = False
                if self.step % self.eval_every == 0 or self.step == self.total_steps:
                    row = self._log_row(loss_sum, loss_n, t0, writer)
                    loss_sum.zero_()
                    loss_n = 0
                    early = self._early_stopping_check(row)
                stopping = early or self._stop_requested() or (cfg.stop_after is not None and self.step >= cfg.stop_after)
                if stopping or self.step == self.total_steps or self._checkpoint_due(last_save):
                    self.elapsed = time.monotonic() - t0
                    self._loss_sum, self._loss_n = float(loss_sum), loss_n
                    self.save_checkpoint()
                    last_save = time.monotonic()
                if stopping:
                    if early:
                        stop_reason = "early_stopping"
                    elif self._signal is not None:
                        stop_reason = f"signal:{signal.Signals(self._signal).name}"
                    else:
                        stop_reason = "stop_after"
                    break
        finally:
            bar.close()
            self._restore_signal_handlers(handlers)
            if writer is not None:
                writer.close()
        self.elapsed = time.monotonic() - t0
        result: dict[str, Any] = dict(self.history[-1]) if self.history else {"step": self.step}
        result.update(step=self.step, epoch=self.epoch, stop_reason=stop_reason,
                      best=self.best, best_step=self.best_step, monitor=cfg.monitor)
        finished = stop_reason in ("completed", "early_stopping")
        if finished and cfg.restore_best and self.best_step is not None and self.best_step != self.step:
            best_file = self.out_dir / "best" / "model.safetensors"
            self.model.load_state_dict(load_file(str(best_file), device=str(self.device)))
        if main:
            self._write_outputs()
            if finished:
                meta = {"train_config": asdict(cfg), "metrics": _json_safe(result),
                        "trained_steps": self.step}
                if self.run is not None:
                    meta["run"] = self.run.to_dict()
                self.save_fn(self.model, self.out_dir / TRAINED_MODEL_DIR, meta)
        self._barrier()
        if self.dist.owns_group:
            dist.destroy_process_group()
        return result

    def _early_stopping_check(self, row: Mapping[str, float]) -> bool:
        cfg = self.config
        value = row.get(cfg.monitor)
        if value is None:
            return False
        if self._improved(value):
            self.best, self.best_step, self.bad_evals = float(value), self.step, 0
            self._save_best()
            return False
        self.bad_evals += 1
        if cfg.patience is not None and self.bad_evals >= cfg.patience:
            log.info("early stopping at step %d: %s has not improved for %d evaluations (best %.6g at step %s)",
                     self.step, cfg.monitor, self.bad_evals, self.best, self.best_step)
            return True
        return False

    def _log_row(self, loss_sum: torch.Tensor, loss_n: int, t0: float, writer: Any) -> dict[str, float]:
        total = loss_sum.clone()
        if self.dist.distributed:
            dist.all_reduce(total)
            total /= self.dist.world_size
        if not torch.isfinite(total):
            raise SeqfcnError(f"the training loss became {float(total)} before step {self.step}; "
                              "try a lower learning rate, gradient clipping or amp='off'")
        row: dict[str, float] = {
            "step": self.step,
            "epoch": round(self.step / self.steps_per_epoch, 6),
            "train_loss": float(total) / max(loss_n, 1),
            "lr": float(self.scheduler.get_last_lr()[0]),
        }
        row.update(self.evaluate())
        row["time"] = round(time.monotonic() - t0, 3)
        self.history.append(row)
        if self.dist.is_main:
            log.info("step %d: %s", self.step, ", ".join(f"{k}={v:.4g}" for k, v in row.items() if k != "step"))
            self._write_csv()
            if writer is not None:
                for k, v in row.items():
                    if k not in ("step", "epoch"):
                        writer.add_scalar(k, v, self.step)
        return row

    # ------------------------------------------------------------------ outputs
    def _write_csv(self) -> None:
        import csv

        columns: list[str] = []
        for row in self.history:
            columns += [k for k in row if k not in columns]
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.out_dir / "metrics.csv") as tmp, open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, restval="")
            writer.writeheader()
            writer.writerows(self.history)

    def _write_outputs(self) -> None:
        if self.history:
            self._write_csv()
            if self.config.plot:
                plot_history(self.history, self.out_dir / "training_curve.png")

    def _tensorboard(self) -> Any:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return None
        return SummaryWriter(log_dir=str(self.out_dir / "tensorboard"), purge_step=self.step or None)

    def _install_signal_handlers(self) -> dict[int, Any]:
        import threading

        if threading.current_thread() is not threading.main_thread():
            return {}
        old = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, self._on_signal)
        return old

    @staticmethod
    def _restore_signal_handlers(old: Mapping[int, Any]) -> None:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _json_safe(d: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def plot_history(history: list[Mapping[str, float]], path: str | os.PathLike) -> None:
    """Write a training-curve PNG: losses against step (left), other validation metrics (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    steps = [h["step"] for h in history]
    metric_keys = [k for k in history[0] if k.startswith("val_") and k != "val_loss"]
    fig, axes = plt.subplots(1, 2 if metric_keys else 1, figsize=(10 if metric_keys else 5, 3.5), squeeze=False)
    ax = axes[0, 0]
    ax.plot(steps, [h["train_loss"] for h in history], label="train loss")
    if "val_loss" in history[0]:
        ax.plot(steps, [h.get("val_loss", float("nan")) for h in history], label="validation loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    if metric_keys:
        ax = axes[0, 1]
        for k in metric_keys:
            ax.plot(steps, [h.get(k, float("nan")) for h in history], label=k[4:])
        ax.set_xlabel("step")
        ax.set_ylabel("validation metric")
        ax.legend()
    fig.tight_layout()
    try:
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, format="png", dpi=100)
    finally:
        plt.close(fig)
