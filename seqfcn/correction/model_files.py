"""Read-corrector model files: safetensors + JSON (:mod:`seqfcn.nn.checkpoint`) with the
corrector's label scheme, input channels and k-mer evidence recorded in the metadata,
and for a reference-evidence model its k-mer table (``kmers.npz``) beside them."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seqfcn.correction.evidence import KmerEvidence
from seqfcn.correction.inputs import BASE_CHANNELS
from seqfcn.correction.labels import LabelScheme, scheme_for_edits, scheme_of
from seqfcn.errors import ModelFileError
from seqfcn.correction.kmers import TABLE_NAME, KmerTable, channel_names

if TYPE_CHECKING:  # a model file's evidence is read without torch (corrector_evidence)
    from torch import nn


@dataclass
class Corrector:
    """A loaded read corrector: the model, what its outputs mean and its evidence."""

    model: nn.Module
    scheme: LabelScheme
    evidence: KmerEvidence | None
    label: str
    info: dict[str, Any]


def save_corrector(model: nn.Module, directory: str | os.PathLike, metadata: dict[str, Any] | None = None) -> Path:
    """Save a corrector: the model, ``task``, ``label_scheme`` and (k-mer models, which carry
    ``model.kmer_evidence``) ``kmer_evidence`` in the metadata, and a reference model's table."""
    from seqfcn.nn.checkpoint import save_model

    ev: KmerEvidence | None = getattr(model, "kmer_evidence", None)
    meta = {"task": "correct", **(metadata or {}), "label_scheme": scheme_of(model).to_dict()}
    model.channel_names = list(BASE_CHANNELS)
    if ev is not None:
        meta["kmer_evidence"] = ev.to_dict()
        model.channel_names += channel_names(ev.edits)
    directory = Path(directory)
    save_model(model, directory, metadata=meta)
    if ev is not None and ev.source == "reference":
        ev.table.save(directory / TABLE_NAME)
    return directory


def evidence_from_info(info: dict[str, Any]) -> KmerEvidence | None:
    """The :class:`KmerEvidence` recorded in a loaded model's info (None for plain correctors)."""
    spec = (info.get("metadata") or {}).get("kmer_evidence")
    if spec is None:
        return None
    try:
        ev = KmerEvidence(int(spec["k"]), str(spec["edits"]), str(spec["source"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"bad kmer_evidence entry: {exc}", path=info.get("config_path")) from None
    if ev.source == "reference":
        where = Path(info.get("config_path") or info["weights_path"]).parent / TABLE_NAME
        ev.table = KmerTable.load(where)
        if ev.table.k != ev.k:
            raise ModelFileError(f"k-mer table has k={ev.table.k}, the model k={ev.k}", path=where)
    return ev


def check_corrector(model: nn.Module, scheme: LabelScheme | None, evidence: KmerEvidence | None,
                    label: str) -> None:
    """Raise :class:`ModelFileError` unless ``model`` takes the 5 read channels (+ the evidence
    channels) and has its scheme's outputs: 4 or 5 for plain models, the scheme of the edit
    set for k-mer models (``scheme`` None: the file's scheme could not be read)."""
    config = getattr(model, "config", {}) or {}
    k, c = int(config.get("n_outputs", 0)), int(config.get("in_channels", 0))
    want = len(BASE_CHANNELS) + (0 if evidence is None else evidence.channels)
    allowed = (4, 5) if evidence is None else (scheme_for_edits(evidence.edits).n_classes,)
    if c != want or k not in allowed or scheme is None or k != scheme.n_classes:
        what = ", ".join(BASE_CHANNELS) + ("" if evidence is None else f" + {evidence.channels} k-mer evidence")
        raise ModelFileError(
            f"not a read-correction model: needs {want} input channels ({what}) and "
            f"{' or '.join(map(str, allowed))} outputs, has {c} and {k}", path=label)


def corrector_evidence(model: str | os.PathLike | nn.Module) -> KmerEvidence | None:
    """The :class:`KmerEvidence` of a corrector (as :func:`load_corrector` would give it) without
    importing torch for a model file: its config and weights header are read and checked as a
    read corrector's (channels, outputs, label scheme), the model is not built (so ``seqfcn
    correct`` counts the reads before torch takes its memory; :func:`load_corrector` then
    checks the tensors' shapes and checksum)."""
    if not isinstance(model, (str, os.PathLike)):
        return getattr(model, "kmer_evidence", None)
    from types import SimpleNamespace

    from seqfcn.nn.checkpoint import model_info

    info = model_info(_existing(model))
    evidence = evidence_from_info(info)
    _checked_scheme(SimpleNamespace(config=info["architecture"]), info, evidence, str(model))
    return evidence


def _existing(model: str | os.PathLike) -> Path:
    """The path of a model directory or file, or of a shipped model's name; an error when absent."""
    from seqfcn.resources import model_path

    path = model_path(model)
    if not path.exists():
        raise ModelFileError("no such model directory or file", path=model)
    return path


def load_corrector(model: str | os.PathLike | nn.Module) -> Corrector:
    """A corrector from a model directory (or ``seqfcn train --out`` directory, or file), a
    shipped model's name (``"kmer_illumina"``) or a model."""
    if not isinstance(model, (str, os.PathLike)):
        info: dict[str, Any] = {"metadata": {}}
        label = "model"
        evidence = getattr(model, "kmer_evidence", None)
    else:
        from seqfcn.nn.checkpoint import load_model

        label = str(model)
        model, info = load_model(_existing(model))
        evidence = evidence_from_info(info)
    scheme = _checked_scheme(model, info, evidence, label)
    model.label_scheme = scheme
    return Corrector(model, scheme, evidence, label, info)


def _checked_scheme(model: Any, info: dict[str, Any], evidence: KmerEvidence | None, label: str) -> LabelScheme:
    """The model's label scheme, once :func:`check_corrector` found it a read corrector
    (``model``: anything with the architecture as ``config``)."""
    try:
        scheme: LabelScheme | None = scheme_of(model, info)
    except ModelFileError:
        scheme = None
    check_corrector(model, scheme, evidence, label)
    return scheme
