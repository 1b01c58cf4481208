"""What a training run was started with, so ``--resume`` continues only that run.

A run records its task, the content fingerprints of its genome, labels and reads, and its
model, data and training configs (:func:`start_run`); a resume compares them
(:func:`identity_differences`) and refuses another run, or with ``force`` warns and records
what changed.
"""
from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
import logging
from typing import TYPE_CHECKING, Any, Mapping

from seqfcn.errors import SeqfcnError
from seqfcn.nn.checkpoint import TRAINED_MODEL_DIR

if TYPE_CHECKING:
    from seqfcn.training.trainer import TrainConfig

log = logging.getLogger("seqfcn.training")


_NOT_IDENTITY = ("progress", "tensorboard", "plot", "stop_after", "checkpoint_every", "checkpoint_seconds",
                 "num_workers", "device", "eval_batch_size")
"""TrainConfig fields a resumed run may change freely (they do not change the weights)."""


def train_identity(config: TrainConfig) -> dict[str, Any]:
    """The fields of ``config`` that decide the weights (all but :data:`_NOT_IDENTITY`), JSON-ready."""
    return {k: v for k, v in json.loads(json.dumps(asdict(config))).items() if k not in _NOT_IDENTITY}


def input_identity(path: str | os.PathLike | None) -> dict[str, str] | None:
    """``{"name": file name, "fingerprint": content fingerprint}`` of an input file (None for None)."""
    if path is None:
        return None
    from seqfcn.io.fingerprint import file_fingerprint

    return {"name": Path(path).name, "fingerprint": file_fingerprint(path)}


@dataclass
class RunRecord:
    """What a training run is and what happened to it, kept in every checkpoint
    (``last/trainer_state.json``) and in the exported model's metadata (``run``).

    ``identity``: the JSON-able facts a resumed run must share with the run it continues
    (task, inputs as :func:`input_identity`, model, data and :func:`train_identity` configs,
    error model, ...); ``history``: one entry per start or resume (time, step, what changed).
    """

    identity: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"identity": self.identity, "history": self.history}


def _short_value(value: Any) -> str:
    if isinstance(value, dict) and "fingerprint" in value:
        return f"{value.get('name')} (fingerprint {value['fingerprint']})"
    if isinstance(value, list) and value and all(isinstance(v, dict) and "fingerprint" in v for v in value):
        return ", ".join(_short_value(v) for v in value)
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def identity_differences(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Phrases naming each difference between a run's saved identity and the current one, e.g.
    ``was trained on genome a.fa (fingerprint ...), not b.fa (fingerprint ...)``."""
    out = []
    for key in list(saved) + [k for k in current if k not in saved]:
        old, new = saved.get(key), current.get(key)
        if json.dumps(old, sort_keys=True, default=str) == json.dumps(new, sort_keys=True, default=str):
            continue
        if key == "task":
            out.append(f"was trained for task {old}, not {new}")
        elif isinstance(old, dict) and isinstance(new, dict) and "fingerprint" not in old:
            for sub in list(old) + [k for k in new if k not in old]:
                if json.dumps(old.get(sub), sort_keys=True) != json.dumps(new.get(sub), sort_keys=True):
                    was, now = (_short_value(d[sub]) if sub in d else "unset" for d in (old, new))
                    out.append(f"was trained with {key} {sub}={was}, not {now}")
        elif old is None:
            out.append(f"was trained without {key}, not with {_short_value(new)}")
        elif new is None:
            out.append(f"was trained with {key} {_short_value(old)}, not without")
        else:
            verb = "on" if isinstance(old, (dict, list)) and "fingerprint" in json.dumps(old) else "with"
            out.append(f"was trained {verb} {key} {_short_value(old)}, not {_short_value(new)}")
    return out


def _saved_state(out_dir: Path) -> dict[str, Any] | None:
    """``trainer_state.json`` of ``out_dir/last/`` (or ``last.old/``, a crash between renames), or None."""
    for name in ("last", "last.old"):
        path = out_dir / name / "trainer_state.json"
        if path.exists():
            try:
                return json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise SeqfcnError(f"cannot resume from this checkpoint: {exc}", path=path) from None
    return None


def start_run(out_dir: str | os.PathLike, identity: dict[str, Any], *, resume: bool = False,
              force: bool | None = False) -> RunRecord:
    """The :class:`RunRecord` of a run about to start in ``out_dir``; call it before any work.

    Without ``resume``, an unfinished run's checkpoint in ``out_dir/last/`` (no ``model/`` yet) is
    never replaced: :class:`SeqfcnError` says to ``--resume`` it or remove the directory.
    With ``resume`` and a checkpoint in ``out_dir/last/``, ``identity`` is compared with the
    one the checkpoint recorded: a difference raises :class:`SeqfcnError` naming it (one
    line; ``force=None``: the command has no ``--force`` to offer), or with ``force`` logs a
    warning per difference; the record keeps the run's
    history (its start and each resume, with what changed).
    """
    out_dir = Path(out_dir)
    identity = json.loads(json.dumps(identity, default=str))
    now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    state = _saved_state(out_dir)
    if not resume and state is not None and not (out_dir / TRAINED_MODEL_DIR).exists():
        raise SeqfcnError(f"holds the checkpoint of an unfinished run (step {state.get('step')}); --resume "
                          "continues it, or remove the directory to start over", path=out_dir)
    if not resume or state is None:
        return RunRecord(identity, [{"event": "start", "time": now, "identity": identity}])
    step = state.get("step")
    saved = state.get("run")
    if not isinstance(saved, dict) or not isinstance(saved.get("identity"), dict):
        log.warning("%s: the checkpoint does not record what its run was trained on (an older seqfcn); "
                    "resuming without checking", out_dir)
        return RunRecord(identity, [{"event": "resume", "time": now, "step": step, "unchecked": True}])
    changes = identity_differences(saved["identity"], identity)
    if changes and not force:
        more = f" (and {len(changes) - 1} more difference{'s' * (len(changes) > 2)})" if len(changes) > 1 else ""
        hint = "" if force is None else " (--force continues anyway)"
        raise SeqfcnError(f"{changes[0]}{more}; --resume continues only the run it started{hint}", path=out_dir)
    for change in changes:
        log.warning("--force: resuming %s, which %s", out_dir, change)
    entry: dict[str, Any] = {"event": "resume", "time": now, "step": step}
    if changes:
        entry.update(forced=True, changes=changes)
    return RunRecord(identity, list(saved.get("history") or []) + [entry])


def exit_code(stop_reason: str) -> int:
    """The exit code for a training run's ``stop_reason``: ``128 + signal`` for ``signal:NAME``, else 0."""
    if stop_reason.startswith("signal:"):
        return 128 + int(getattr(signal, stop_reason.split(":", 1)[1], signal.SIGTERM))
    return 0


@dataclass
class RunOptions:
    """Where a training run that builds its own :class:`TrainConfig` (k-mer correctors,
    self-training) keeps its checkpoints, and what it continues.

    ``out_dir``: ``last/`` (resumable state) and ``metrics.csv`` go here; ``resume``: continue
    ``out_dir/last/``; ``record``: the run's :class:`RunRecord` (from :func:`start_run`);
    ``checkpoint_every`` / ``checkpoint_seconds``: as in :class:`TrainConfig`.
    """

    out_dir: str | os.PathLike
    resume: bool = False
    record: RunRecord | None = None
    checkpoint_every: int = 500
    checkpoint_seconds: float = 300.0
