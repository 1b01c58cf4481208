"""Training a pileup corrector: long reads simulated from genomes, their own overlaps, exact labels.

Reads are drawn from a genome (log-normal lengths, either strand, uniform start) and
corrupted by an :class:`~seqfcn.training.simulate.OntErrorModel`; their overlaps are mapped
exactly as ``seqfcn correct`` maps them, so the model learns from the pileups it will see.
Every observed base's class comes from the simulation's alignment
(:func:`seqfcn.correction.training.edit_targets`, ``indel`` edits: the true base, ``gap``, or
``ins_X`` for a right base followed by a missing one).

:data:`PROFILES` are the two shipped error profiles. Their sub : ins : del proportions come
from real R9 reads (``nanotest``: 1000 MinION reads aligned by minimap2; 5.8 % substitutions,
2.4 % insertions, 9.6 % deleted bases per reference base), scaled to R9-like (~0.90 identity)
and R10-like (~0.98) totals.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from seqfcn.correction.overlaps import OverlapFinder, iter_overlaps
from seqfcn.correction.pileup import FEATURES, pileup_counts, pileup_features
from seqfcn.correction.training import TrainSchedule, edit_targets
from seqfcn.errors import SeqfcnError
from seqfcn.sequence.encode import codes_to_str, reverse_complement_codes
from torch.utils.data import Dataset
from seqfcn.training.simulate import IGNORE_INDEX, OntErrorModel

PROFILES: dict[str, OntErrorModel] = {
    "r9": OntErrorModel(sub_rate=0.033, ins_rate=0.014, del_rate=0.045, homopolymer_rate=0.15,
                        q_mean=12.0, q_error_mean=6.0, q_sd=4.0),
    "r10": OntErrorModel(sub_rate=0.006, ins_rate=0.003, del_rate=0.006, homopolymer_rate=0.08,
                         q_mean=22.0, q_error_mean=10.0, q_sd=5.0),
}
"""Error profiles by name: ``r9`` (~0.90 identity) and ``r10`` (~0.98)."""
MODEL_OPTIONS: dict[str, Any] = {"in_channels": len(FEATURES), "channels": 48, "n_layers": 6, "kernel_size": 3,
                                 "stem_kernel": 5, "n_outputs": 9, "head_task": "classification"}
"""The ``dilated_fcn`` options of a shipped pileup corrector (receptive field 131 bases)."""


@dataclass(frozen=True)
class LongReadSimulation:
    """How long reads are drawn from a genome: ``coverage`` x, log-normal lengths (median
    ``median_length``, log-sd ``length_sigma``, clipped to ``min_length``..``max_length``)."""

    coverage: float = 30.0
    median_length: int = 8000
    length_sigma: float = 0.5
    min_length: int = 500
    max_length: int = 60_000


@dataclass
class SimulatedRead:
    """One simulated read: name, observed codes and qualities, per-base classes and its origin."""

    name: str
    observed: np.ndarray
    qualities: np.ndarray
    classes: np.ndarray
    chrom: int
    start: int
    end: int
    minus: bool


def simulate_long_reads(genome: Sequence[np.ndarray], error_model: OntErrorModel, sim: LongReadSimulation,
                        seed: int, prefix: str = "read") -> list[SimulatedRead]:
    """Reads covering ``genome`` (codes per chromosome) ``sim.coverage`` times over."""
    rng = np.random.default_rng(seed)
    sizes = np.array([len(c) for c in genome], np.int64)
    target, out = float(sim.coverage) * sizes.sum(), []
    drawn = 0
    while drawn < target:
        length = int(np.clip(rng.lognormal(np.log(sim.median_length), sim.length_sigma), sim.min_length,
                             sim.max_length))
        chrom = int(rng.choice(sizes.size, p=sizes / sizes.sum()))
        length = min(length, int(sizes[chrom]))
        start = int(rng.integers(0, sizes[chrom] - length + 1))
        truth = genome[chrom][start:start + length]
        minus = bool(rng.random() < 0.5)
        if minus:
            truth = reverse_complement_codes(truth)
        batch = error_model.corrupt_batch(truth[None, :], rng)
        n = int(batch.lengths[0])
        classes = edit_targets(batch, "indel")[0, :n]
        out.append(SimulatedRead(f"{prefix}{len(out)}", batch.observed[0, :n].copy(), batch.qualities[0, :n].copy(),
                                 classes, chrom, start, start + length, minus))
        drawn += length
    return out


def write_fastq(reads: Sequence[SimulatedRead], path: str | os.PathLike) -> None:
    """The reads as FASTQ (atomically)."""
    from seqfcn.io.read_writers import FastqWriter
    from seqfcn.io.reads import Read

    with FastqWriter(path) as writer:
        for r in reads:
            writer.write(Read(r.name, codes_to_str(r.observed), r.qualities))


def pileup_examples(reads: Sequence[SimulatedRead], fastq: str | os.PathLike,
                    threads: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(features (len(FEATURES), L), classes (L,))`` of every read of ``fastq`` (written from ``reads``),
    from the overlaps ``seqfcn correct`` would map."""
    finder = OverlapFinder(fastq, threads)
    by_name = {r.name: r for r in reads}
    out = []
    pairs = ((r.name, codes_to_str(r.observed)) for r in reads)
    for name, length, overlaps in iter_overlaps(finder, pairs, threads):
        r = by_name[name]
        counts = pileup_counts(length, overlaps, finder.target_bases)
        out.append((pileup_features(r.observed, counts), r.classes))
    return out


class PileupWindows(Dataset):
    """Training items ``{"x": (len(FEATURES), W), "y": (W,)}``: window ``i`` of a read drawn by
    ``default_rng([seed, i])`` (reads shorter than ``W`` are padded with ignored positions)."""

    def __init__(self, examples: Sequence[tuple[np.ndarray, np.ndarray]], window: int, size: int,
                 seed: int = 0) -> None:
        if not examples:
            raise SeqfcnError("no training reads")
        self.examples, self.window, self.size, self.seed = examples, int(window), int(size), int(seed)
        lengths = np.array([y.size for _, y in examples], np.float64)
        self._p = lengths / lengths.sum()

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict[str, Any]:
        import torch

        rng = np.random.default_rng([self.seed, i])
        x, y = self.examples[int(rng.choice(len(self.examples), p=self._p))]
        w = self.window
        xs = np.zeros((x.shape[0], w), np.float32)
        ys = np.full(w, IGNORE_INDEX, np.int64)
        start = int(rng.integers(0, max(1, y.size - w + 1)))
        n = min(w, y.size - start)
        xs[:, :n], ys[:n] = x[:, start:start + n], y[start:start + n]
        return {"x": torch.from_numpy(xs), "y": torch.from_numpy(ys)}


def train_pileup_corrector(examples: Sequence[tuple[np.ndarray, np.ndarray]], schedule: TrainSchedule,
                           window: int = 1024, model_options: dict[str, Any] | None = None) -> Any:
    """A ``dilated_fcn`` pileup corrector trained on ``examples`` (see :func:`pileup_examples`);
    returns the model (CPU, eval mode) with its training metrics in ``train_metrics``."""
    from seqfcn.correction.training import train_corrector
    from seqfcn.nn.models import create_model

    model = create_model("dilated_fcn", **{**MODEL_OPTIONS, **(model_options or {})})
    model.channel_names = list(FEATURES)
    data = PileupWindows(examples, window, schedule.steps * schedule.batch_size, seed=schedule.seed)
    model, metrics = train_corrector(data, model, schedule)
    model.train_metrics = metrics
    return model
