"""Training read correctors on reads simulated from genomes.

A k-mer corrector (:func:`train_kmer_corrector`) learns from reads simulated from
one or more genomes with one or more error models (:mod:`seqfcn.corrupt`), one
simulated sample per (error model, coverage) pair, each with its own spectrum, so
the model sees the coverages, read ends and multi-copy k-mers a real sample has.
Targets follow the label scheme of the edit set (:mod:`.labels`): the true base,
and with ``edits="indel"`` the gap class for an inserted base and "insert b after
this base" for a right base followed by a deleted one.
"""
from __future__ import annotations

import logging
import os
import tempfile
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from seqfcn.correction import defaults
from seqfcn.correction.evidence import KmerEvidence
from seqfcn.correction.inputs import model_inputs
from seqfcn.correction.labels import scheme_for_edits
from seqfcn.corrupt import GAP, IGNORE_INDEX, CorruptedBatch
from seqfcn.encode import reverse_complement_codes
from seqfcn.errors import SeqfcnError
from seqfcn.kmers import mirror_order, table_for_genome

log = logging.getLogger("seqfcn.correction")

_CHUNK = 4096  # simulated reads whose inputs are computed at once


def train_corrector(
    dataset: Dataset,
    model: nn.Module,
    *,
    steps: int,
    batch_size: int = defaults.TRAIN_BATCH_SIZE,
    lr: float = 3e-3,
    device: str = "auto",
    seed: int = 0,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> tuple[nn.Module, dict[str, Any]]:
    """Train ``model`` on a correction dataset (items ``{"x": (C, L), "y": (L,)}``) with
    :class:`seqfcn.train.Trainer` (AdamW, warm-up then cosine, cross-entropy with
    ignore -100). Returns ``(model on CPU in eval mode, the trainer's final metrics)``."""
    from seqfcn.train import Trainer, TrainConfig

    cfg = TrainConfig(steps=steps, batch_size=batch_size, lr=lr, warmup_steps=min(100, steps // 10),
                      weight_decay=0.0, seed=seed, device=device, progress=progress, tensorboard=False,
                      eval_every=steps)
    with tempfile.TemporaryDirectory(prefix="seqfcn-correct-train-") as tmp:
        trainer = Trainer(model, dataset, None, cfg, out_dir=out_dir or tmp, save_fn=lambda *a: None)
        result = trainer.fit()
    return trainer.model.cpu().eval(), result


def genome_codes(path: str | os.PathLike) -> list[np.ndarray]:
    """Codes of every chromosome of a FASTA (:class:`seqfcn.io.fasta.Genome`)."""
    from seqfcn.io.fasta import Genome

    g = Genome(path)
    return [g.codes(c) for c in g.chrom_sizes]


def simulate_reads(genome: Sequence[np.ndarray], error_model: Any, n_reads: int, read_length: int,
                   seed: int) -> CorruptedBatch:
    """Reads from random positions and strands of ``genome`` through ``error_model``."""
    rng = np.random.default_rng(seed)
    chroms = [c for c in genome if c.shape[0] >= read_length]
    if not chroms:
        raise SeqfcnError(f"no chromosome is at least {read_length} bases long")
    sizes = np.array([c.shape[0] - read_length + 1 for c in chroms], np.float64)
    which = rng.choice(len(chroms), size=n_reads, p=sizes / sizes.sum())
    truth = np.empty((n_reads, read_length), np.int8)
    for i, c in enumerate(which):
        s = int(rng.integers(0, sizes[c]))
        t = chroms[c][s : s + read_length]
        truth[i] = reverse_complement_codes(t) if rng.integers(0, 2) else t
    return error_model.corrupt_batch(truth, rng)


def edit_targets(batch: CorruptedBatch, edits: str) -> np.ndarray:
    """Per-observed-base classes ``(batch, L_out)`` for an edit set (see the module docstring).

    ``indel``: a right base followed by deleted true bases gets class
    ``5 + (first missing base)`` (a wrong base's own fix wins); an inserted base followed
    by a deletion becomes a substitution to the missing base.
    """
    y = batch.target.copy()
    if edits == "sub":
        y[y == GAP] = IGNORE_INDEX
        return y
    # the first true base missing after observed base j follows the last true base read at or before j
    last_true = np.maximum.accumulate(np.where(batch.truth_index >= 0, batch.truth_index, -1), axis=1)
    nxt_all = np.minimum(last_true + 1, batch.truth.shape[1] - 1)
    missing_all = np.take_along_axis(batch.truth, nxt_all, axis=1).astype(np.int64)
    has_del = (batch.n_deleted > 0) & (last_true + 1 < batch.truth.shape[1]) & (missing_all < 4)
    # an inserted base followed by a deleted one is a substitution of the inserted base
    swap = has_del & (y == GAP)
    y[swap] = missing_all[swap]
    # a right base followed by a deletion: insert the missing base after it (a wrong base's own fix wins)
    ins = has_del & (y >= 0) & (y < 4) & ~swap & (batch.observed == y)
    y[ins] = scheme_for_edits("indel").insert_base + missing_all[ins]
    return y


class EvidenceWindows(Dataset):
    """Training items from simulated reads with evidence: ``{"x": (C, W), "y": (W,)}``.

    Inputs and targets are computed once, per whole read (so evidence near a
    window's edge sees the rest of the read); item ``i`` is a window of ``W``
    bases of a read (random start from ``default_rng([seed, i])``). With ``mirror``
    (the evidence channel order of :func:`seqfcn.kmers.mirror_order`) half the items
    are reverse-complemented, qualities and evidence included, so the model also sees
    reads whose low-quality end comes first (as it does when ``seqfcn correct``
    averages a read with its reverse complement).
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, lengths: np.ndarray, window: int, n_items: int,
                 seed: int = 0, mirror: list[int] | None = None) -> None:
        self.x, self.y, self.lengths = x, y, np.asarray(lengths)
        self.order = None if mirror is None else [3, 2, 1, 0, 4] + [5 + c for c in mirror]
        self.window, self.n_items, self.seed = int(window), int(n_items), int(seed)
        self.rows = np.nonzero(self.lengths >= self.window)[0]
        if self.rows.size == 0:
            raise SeqfcnError(f"no simulated read is at least {self.window} bases long")

    def __len__(self) -> int:
        return self.n_items

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng([self.seed, int(index)])
        r = int(self.rows[rng.integers(0, self.rows.size)])
        s = int(rng.integers(0, self.lengths[r] - self.window + 1))
        x = self.x[r, :, s : s + self.window]
        y = self.y[r, s : s + self.window]
        if self.order is not None and rng.integers(0, 2):
            x = x[self.order, ::-1]
            y = reverse_complement_codes(y)
        return {"x": torch.from_numpy(x.astype(np.float32)), "y": torch.from_numpy(np.ascontiguousarray(y))}


def build_training_set(genome: Sequence[np.ndarray], error_model: Any | Sequence[Any], ev: KmerEvidence, *,
                       coverages: Sequence[float] = defaults.TRAIN_COVERAGES, read_length: int = defaults.READ_LENGTH,
                       seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulated reads at each coverage with their evidence: ``(x, y, lengths)``, ``x``
    ``(reads, 5 + channels, L)`` float16, ``y`` ``(reads, L)`` int64.

    Each (error model, coverage) pair is one simulated sample; with ``source="reads"``
    its evidence uses its own spectrum, with ``"reference"`` the genome's table ``ev.table``.
    """
    size = sum(int(c.shape[0]) for c in genome)
    models = list(error_model) if isinstance(error_model, (list, tuple)) else [error_model]
    xs, ys, ls = [], [], []
    samples = [(em, cov) for em in models for cov in coverages]
    for j, (em, cov) in enumerate(samples):
        n = max(1, int(round(cov * size / read_length)))
        batch = simulate_reads(genome, em, n, read_length, seed=seed * 1000 + j)
        reads = [batch.observed[i, : batch.lengths[i]] for i in range(len(batch))]
        sample_ev = ev.with_reads(reads)
        for c in range(0, len(batch), _CHUNK):  # bounded temporaries: evidence per chunk of reads
            part = slice(c, c + _CHUNK)
            xs.append(model_inputs(batch.observed[part], batch.qualities[part], batch.lengths[part],
                                   sample_ev).astype(np.float16))
        ys.append(edit_targets(batch, ev.edits))
        ls.append(batch.lengths)
    width = max(x.shape[-1] for x in xs)
    # float16 storage halves the training set's memory (one-hot exact; quality and evidence to ~1e-3)
    pad = lambda a, v: np.pad(a, [(0, 0)] * (a.ndim - 1) + [(0, width - a.shape[-1])], constant_values=v)  # noqa: E731
    return (np.concatenate([pad(x, 0.0) for x in xs]),
            np.concatenate([pad(y, IGNORE_INDEX) for y in ys]), np.concatenate(ls))


def train_kmer_corrector(
    genome: str | os.PathLike | Sequence[np.ndarray],
    *,
    error_model: Any,
    k: int = defaults.K_READS,
    edits: str = "sub",
    source: str = "reads",
    coverages: Sequence[float] = defaults.TRAIN_COVERAGES,
    read_length: int = defaults.READ_LENGTH,
    window: int = defaults.TRAIN_WINDOW,
    model_config: dict[str, Any] | None = None,
    steps: int = defaults.TRAIN_STEPS,
    batch_size: int = defaults.TRAIN_BATCH_SIZE,
    lr: float = defaults.TRAIN_LR,
    device: str = "auto",
    seed: int = 0,
    progress: bool = True,
) -> torch.nn.Module:
    """Train a k-mer-evidence corrector on reads simulated from ``genome``.

    Args:
        genome: a FASTA path or chromosome code arrays.
        error_model: a :mod:`seqfcn.corrupt` model (Illumina for ``edits="sub"``,
            ONT for ``"indel"``), or several (one simulated sample per model and coverage).
        k, edits, source: the evidence (:class:`KmerEvidence`).
        coverages: one simulated sample per coverage (``source="reads"``).
        read_length: simulated read length; window: training window (bases).
        model_config: ``read_corrector`` overrides of ``defaults.KMER_MODEL``.
        steps, batch_size, lr, device, seed: the schedule (:func:`train_corrector`).

    Returns:
        The model (CPU, eval) with ``model.kmer_evidence`` (a :class:`KmerEvidence`;
        for ``reference`` with the genome's table) and ``model.train_info``.
    """
    from seqfcn.nn.models import create_model

    codes = genome_codes(genome) if isinstance(genome, (str, os.PathLike)) else list(genome)
    ev = KmerEvidence(k, edits, source)
    if source == "reference":
        ev.table = table_for_genome(codes, k)
    x, y, lengths = build_training_set(codes, error_model, ev, coverages=coverages, read_length=read_length,
                                       seed=seed)
    config = dict(defaults.KMER_MODEL)
    config.update(model_config or {})
    config.update(in_channels=5 + ev.channels, n_outputs=scheme_for_edits(edits).n_classes)
    torch.manual_seed(seed)
    model = create_model("read_corrector", **config)
    data = EvidenceWindows(x, y, lengths, min(window, int(lengths.max())), steps * batch_size, seed=seed + 7,
                           mirror=mirror_order(edits))
    model, result = train_corrector(data, model, steps=steps, batch_size=batch_size, lr=lr, device=device,
                                    seed=seed, progress=progress)
    model.kmer_evidence = ev
    model.train_info = {"simulated_reads": int(lengths.shape[0]), "coverages": list(coverages),
                        "read_length": read_length, "window": window, "steps": steps, "batch_size": batch_size,
                        "lr": lr, "train_loss": result.get("train_loss"), "seed": seed,
                        "error_model": [describe_error_model(em, read_length) for em in
                                        (error_model if isinstance(error_model, (list, tuple)) else [error_model])]}
    return model


def describe_error_model(em: Any, read_length: int) -> dict[str, Any]:
    """A short JSON description of an error model for model metadata: its parameters, with
    per-cycle tables replaced by the expected substitution rate over ``read_length`` cycles."""
    d = em.to_dict()
    big = [key for key, value in d.items() if isinstance(value, list) and len(value) > 16]
    for key in big:
        del d[key]
    if big and hasattr(em, "expected_error_rate"):
        d["expected_error_rate"] = round(float(em.expected_error_rate(read_length)), 6)
    return d
