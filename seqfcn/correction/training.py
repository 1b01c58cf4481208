"""Training read correctors on reads simulated from genomes.

A k-mer corrector (:func:`train_kmer_corrector`) learns from reads simulated from
one or more genomes with one or more error models (:mod:`seqfcn.training.simulate`), one
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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from seqfcn.correction import defaults
from seqfcn.correction.evidence import KmerEvidence
from seqfcn.correction.inputs import model_inputs
from seqfcn.correction.labels import scheme_for_edits
from seqfcn.runtime.options import resolve_options
from seqfcn.training.simulate import GAP, IGNORE_INDEX, CorruptedBatch
from seqfcn.sequence.encode import reverse_complement_codes
from seqfcn.errors import SeqfcnError
from seqfcn.correction.kmers import mirror_order, table_for_genome

if TYPE_CHECKING:
    from seqfcn.training.runs import RunOptions

log = logging.getLogger("seqfcn.correction")

_CHUNK = 4096  # simulated reads whose inputs are computed at once
_SIM_CHUNK = 100_000  # reads simulated at once


@dataclass(frozen=True)
class TrainSchedule:
    """How :func:`train_corrector` trains (AdamW, warm-up then cosine); the base of
    :class:`KmerTrainingOptions` and :class:`~seqfcn.correction.selftrain.SelfTrainOptions`.

    Attributes:
        steps: optimiser steps.
        batch_size: windows per step.
        lr: peak learning rate (k-mer and self-trained correctors: ``defaults.TRAIN_LR``).
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``.
        seed: data order and initial weights.
        progress: a progress bar on stderr.
        run: checkpoints and resume (:class:`seqfcn.training.runs.RunOptions`): checkpoints go
            to ``run.out_dir/last/`` (every ``checkpoint_every`` steps and ``checkpoint_seconds``,
            and on SIGINT/SIGTERM, when the result's ``stop_reason`` is ``signal:...``) and
            ``run.resume`` continues them exactly; None: a temporary folder, nothing kept.
    """

    steps: int = defaults.TRAIN_STEPS
    batch_size: int = defaults.TRAIN_BATCH_SIZE
    lr: float = 3e-3
    device: str = "auto"
    seed: int = 0
    progress: bool = True
    run: RunOptions | None = None


def train_corrector(dataset: Dataset, model: nn.Module, schedule: TrainSchedule | None = None,
                    **overrides: Any) -> tuple[nn.Module, dict[str, Any]]:
    """Train ``model`` on a correction dataset (items ``{"x": (C, L), "y": (L,)}``) with
    :class:`seqfcn.training.trainer.Trainer` (AdamW, warm-up then cosine, cross-entropy with
    ignore -100) as ``schedule`` (:class:`TrainSchedule`; ``overrides`` replace single fields)
    says. Returns ``(model on CPU in eval mode, the trainer's final metrics)``."""
    from seqfcn.training.trainer import Trainer, TrainConfig

    o = resolve_options(TrainSchedule, schedule, overrides, "train_corrector")
    steps, run = o.steps, o.run
    saving = {} if run is None else {"checkpoint_every": run.checkpoint_every,
                                     "checkpoint_seconds": run.checkpoint_seconds}
    cfg = TrainConfig(steps=steps, batch_size=o.batch_size, lr=o.lr, warmup_steps=min(100, steps // 10),
                      weight_decay=0.0, seed=o.seed, device=o.device, progress=o.progress, tensorboard=False,
                      eval_every=steps, plot=False, **saving)
    with tempfile.TemporaryDirectory(prefix="seqfcn-correct-train-") as tmp:
        trainer = Trainer(model, dataset, None, cfg, out_dir=tmp if run is None else run.out_dir,
                          save_fn=lambda *a: None, resume=run is not None and run.resume,
                          run=None if run is None else run.record)
        result = trainer.fit()
    return trainer.model.cpu().eval(), result


def genome_codes(path: str | os.PathLike) -> list[np.ndarray]:
    """Codes of every chromosome of a FASTA (:class:`seqfcn.io.fasta.Genome`)."""
    from seqfcn.io.fasta import Genome

    g = Genome(path)
    return [g.codes(c) for c in g.chrom_sizes]


@dataclass(frozen=True)
class GcBias:
    """Coverage that depends on a fragment's GC fraction ``g``, as Illumina libraries have
    it (PCR and cluster amplification; Benjamini & Speed 2012, Nucleic Acids Res. 40:e72
    show a unimodal curve falling off at low and high GC): relative coverage
    ``w(g) = exp(-(g - peak)^2 / (2 width^2))``. The simulated fragment is the read itself.
    ``peak=0.5, width=0.15`` halves the coverage of 68%-GC reads against 50%-GC ones."""

    peak: float = 0.5
    width: float = 0.15

    def __post_init__(self) -> None:
        if not (0.0 <= self.peak <= 1.0 and self.width > 0.0):
            raise SeqfcnError(f"GC bias needs 0 <= peak <= 1 and width > 0, not {self.peak}, {self.width}")

    def weight(self, gc: np.ndarray) -> np.ndarray:
        """Relative coverage ``(n,)`` in (0, 1] of fragments with GC fractions ``gc`` ``(n,)``."""
        return np.exp(-0.5 * ((np.asarray(gc, np.float64) - self.peak) / self.width) ** 2)

    @classmethod
    def parse(cls, text: str) -> "GcBias | None":
        """``"PEAK,WIDTH"`` (e.g. ``"0.5,0.15"``), or ``"none"`` for uniform coverage."""
        if text.strip().lower() in ("none", "off", ""):
            return None
        try:
            peak, width = (float(v) for v in text.split(","))
        except ValueError:
            raise SeqfcnError(f"GC bias is PEAK,WIDTH (e.g. 0.5,0.15) or none, not {text!r}") from None
        return cls(peak, width)


def _gc_prefix(chrom: np.ndarray) -> np.ndarray:
    """``(L + 1,)`` running count of G and C (codes 1, 2) in ``chrom``."""
    out = np.zeros(chrom.shape[0] + 1, np.int32)
    np.cumsum((chrom == 1) | (chrom == 2), out=out[1:])
    return out


def _start_positions(sizes: np.ndarray, prefixes: list[np.ndarray] | None, gc_bias: GcBias | None,
                     n: int, read_length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` read starts ``(chromosome, start)``: uniform over every possible start, or with
    ``gc_bias`` kept with probability ``w(GC of the read)`` (rejection sampling, so the
    number of reads, hence the mean coverage, stays ``n``)."""
    which_all, start_all, have = [], [], 0
    while have < n:
        m = n - have if gc_bias is None else max(1024, 2 * (n - have))
        which = rng.choice(sizes.shape[0], size=m, p=sizes / sizes.sum())
        start = (rng.random(m) * sizes[which]).astype(np.int64)
        if gc_bias is not None:
            gc = np.empty(m)
            for c in np.unique(which):
                sel = which == c
                gc[sel] = (prefixes[c][start[sel] + read_length] - prefixes[c][start[sel]]) / read_length
            keep = rng.random(m) < gc_bias.weight(gc)
            which, start = which[keep], start[keep]
        which_all.append(which[: n - have])
        start_all.append(start[: n - have])
        have += which_all[-1].shape[0]
    return np.concatenate(which_all), np.concatenate(start_all)


def simulate_reads(genome: Sequence[np.ndarray], error_model: Any, n_reads: int, read_length: int,
                   seed: int | Sequence[int], gc_bias: GcBias | None = None) -> CorruptedBatch:
    """``n_reads`` reads of ``read_length`` from random positions and strands of ``genome``
    (chromosome code arrays) through ``error_model``; coverage uniform, or shaped by
    ``gc_bias`` (:class:`GcBias`)."""
    rng = np.random.default_rng(seed)
    chroms = [c for c in genome if c.shape[0] >= read_length]
    if not chroms:
        raise SeqfcnError(f"no chromosome is at least {read_length} bases long")
    sizes = np.array([c.shape[0] - read_length + 1 for c in chroms], np.float64)
    prefixes = [_gc_prefix(c) for c in chroms] if gc_bias is not None else None
    which, start = _start_positions(sizes, prefixes, gc_bias, n_reads, read_length, rng)
    flip = rng.integers(0, 2, n_reads).astype(bool)
    truth = np.empty((n_reads, read_length), np.int8)
    for i, (c, s) in enumerate(zip(which, start)):
        t = chroms[c][s : s + read_length]
        truth[i] = reverse_complement_codes(t) if flip[i] else t
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
    (the evidence channel order of :func:`seqfcn.correction.kmers.mirror_order`) half the items
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


def _sample_rows(genome: Sequence[np.ndarray], em: Any, n: int, read_length: int, edits: str, seed: int,
                 gc_bias: GcBias | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n`` simulated reads as compact arrays ``(codes uint8, qualities uint8, targets int8,
    lengths)``, simulated ``_SIM_CHUNK`` reads at a time (a whole genome at 60x fits)."""
    parts = []
    for c in range(0, n, _SIM_CHUNK):
        batch = simulate_reads(genome, em, min(_SIM_CHUNK, n - c), read_length, seed=[seed, c], gc_bias=gc_bias)
        parts.append((np.where(batch.observed < 4, batch.observed, 4).astype(np.uint8), batch.qualities,
                      edit_targets(batch, edits).astype(np.int8), batch.lengths))
    width = max(p[0].shape[1] for p in parts)
    pad = lambda a, v: np.pad(a, [(0, 0), (0, width - a.shape[1])], constant_values=v)  # noqa: E731
    return (np.concatenate([pad(p[0], 4) for p in parts]), np.concatenate([pad(p[1], 0) for p in parts]),
            np.concatenate([pad(p[2], IGNORE_INDEX) for p in parts]), np.concatenate([p[3] for p in parts]))


def _walked_rows(codes: np.ndarray, quals: np.ndarray, lengths: np.ndarray, table: Any, keep: int | None,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """What the network sees in ``seqfcn correct``: the reads after the spectrum walk
    (:func:`seqfcn.correction.spectrum.walk`, solid count = the histogram valley) that it
    leaves with an unsupported base, plus a quarter as many reads as they came (the model
    alone decides with ``--solid off``). Returns the walked codes and the chosen rows."""
    from seqfcn.correction.spectrum import solid_threshold, walk

    new, _, after = walk(codes, lengths, table, solid_threshold(table), qualities=quals)
    weak = np.nonzero(after)[0]
    if keep is not None and weak.size > keep:
        weak = np.sort(rng.choice(weak, keep, replace=False))
    plain = np.sort(rng.choice(codes.shape[0], min(codes.shape[0], max(1, weak.size // 4)), replace=False))
    return np.concatenate([new[weak], codes[plain]]), np.concatenate([weak, plain])


def build_training_set(genomes: Sequence[Sequence[np.ndarray]], error_model: Any | Sequence[Any],
                       ev: KmerEvidence, options: KmerTrainingOptions | None = None,
                       **overrides: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulated reads at each coverage with their evidence: ``(x, y, lengths)``, ``x``
    ``(reads, 5 + channels, L)`` float16, ``y`` ``(reads, L)`` int64.

    ``genomes``: one or more genomes, each a list of chromosome code arrays. Each (error
    model, coverage) pair is one simulated sample of a whole genome, sample ``j`` of genome
    ``j mod len(genomes)``. ``options`` (:class:`KmerTrainingOptions`, ``overrides`` replacing
    single fields) give ``coverages``, ``read_length``, ``seed``, ``max_reads``, ``walked`` and
    ``gc_bias`` (the others are not used here).
    With ``source="reads"`` a sample's evidence is its own spectrum, counted as
    ``seqfcn correct`` counts it (:func:`seqfcn.correction.spectrum.count_spectrum`), with
    ``"reference"`` the table ``ev.table``. ``read_length`` None: each error model's own
    number of cycles. ``walked`` (reads spectrum, substitutions): train on what the network
    sees after the spectrum walk (:func:`_walked_rows`). ``max_reads``: at most this many
    reads per sample get inputs (the spectrum still counts every read). ``gc_bias``: every
    sample's coverage follows the reads' GC (:class:`GcBias`) on top of Poisson sampling.
    """
    from seqfcn.correction.spectrum import count_spectrum

    o = resolve_options(KmerTrainingOptions, options, overrides, "build_training_set")
    coverages, read_length, seed, max_reads = o.coverages, o.read_length, o.seed, o.max_reads
    models = list(error_model) if isinstance(error_model, (list, tuple)) else [error_model]
    walked = o.walked and ev.source == "reads" and ev.edits == "sub"
    xs, ys, ls = [], [], []
    samples = [(em, cov) for em in models for cov in coverages]
    for j, (em, cov) in enumerate(samples):
        chroms = genomes[j % len(genomes)]
        length = read_length or cycles_of(em)
        n = max(1, int(round(cov * sum(int(c.shape[0]) for c in chroms) / length)))
        codes, quals, y, lengths = _sample_rows(chroms, em, n, length, ev.edits, seed * 1000 + j, o.gc_bias)
        sample_ev = ev
        if ev.source == "reads":
            rows = (codes[i, : lengths[i]] for i in range(codes.shape[0]))
            sample_ev = ev.with_table(count_spectrum(rows, ev.k, expected_bases=int(lengths.sum())))
        rng = np.random.default_rng([seed, j])
        if walked:
            codes, pick = _walked_rows(codes, quals, lengths, sample_ev.table, max_reads, rng)
        else:
            pick = np.arange(codes.shape[0])
            if max_reads is not None and pick.size > max_reads:
                pick = np.sort(rng.choice(pick, max_reads, replace=False))
            codes = codes[pick]
        quals, y, lengths = quals[pick], y[pick], lengths[pick]
        log.info("training sample %d: %d reads of %d simulated at %gx", j, pick.size, n, cov)
        for c in range(0, codes.shape[0], _CHUNK):  # bounded temporaries: evidence per chunk of reads
            part = slice(c, c + _CHUNK)
            xs.append(model_inputs(codes[part], quals[part], lengths[part], sample_ev).astype(np.float16))
        ys.append(y.astype(np.int64))
        ls.append(lengths)
    width = max(x.shape[-1] for x in xs)
    # float16 storage halves the training set's memory (one-hot exact; quality and evidence to ~1e-3)
    pad = lambda a, v: np.pad(a, [(0, 0)] * (a.ndim - 1) + [(0, width - a.shape[-1])], constant_values=v)  # noqa: E731
    return (np.concatenate([pad(x, 0.0) for x in xs]),
            np.concatenate([pad(y, IGNORE_INDEX) for y in ys]), np.concatenate(ls))


def cycles_of(error_model: Any, default: int = defaults.READ_LENGTH) -> int:
    """The read length an error model describes: an Illumina model's cycles, else ``default``."""
    probs = getattr(error_model, "quality_probs", None)
    return int(probs.shape[0]) if probs is not None else default


@dataclass(frozen=True)
class KmerTrainingOptions(TrainSchedule):
    """How :func:`train_kmer_corrector` trains a k-mer-evidence corrector (and the
    schedule fields of :class:`TrainSchedule`, with ``lr`` ``defaults.TRAIN_LR``).

    Attributes:
        k, edits, source: the evidence (:class:`KmerEvidence`).
        coverages: one simulated sample per coverage (and error model).
        read_length: simulated read length (None: each error model's cycles).
        window: training window (bases).
        max_reads: at most this many reads per sample get inputs (the spectrum still counts
            every read).
        walked: train on what the network sees after the spectrum walk (reads spectrum,
            substitutions; :func:`_walked_rows`).
        gc_bias: every sample's coverage follows the reads' GC (:class:`GcBias`); None: uniform.
        model_config: ``read_corrector`` overrides of ``defaults.KMER_MODEL``.
    """

    lr: float = defaults.TRAIN_LR
    k: int = defaults.K_READS
    edits: str = "sub"
    source: str = "reads"
    coverages: Sequence[float] = defaults.TRAIN_COVERAGES
    read_length: int | None = defaults.READ_LENGTH
    window: int = defaults.TRAIN_WINDOW
    max_reads: int | None = None
    walked: bool = defaults.TRAIN_WALKED
    gc_bias: GcBias | None = GcBias(*defaults.TRAIN_GC_BIAS)
    model_config: dict[str, Any] | None = None


def train_kmer_corrector(genome: str | os.PathLike | Sequence[str | os.PathLike] | Sequence[np.ndarray],
                         options: KmerTrainingOptions | None = None, *, error_model: Any,
                         **overrides: Any) -> torch.nn.Module:
    """Train a k-mer-evidence corrector on reads simulated from ``genome``.

    Args:
        genome: a FASTA path, several (each genome its own samples), or chromosome code arrays.
        options: :class:`KmerTrainingOptions`; ``overrides`` replace single fields
            (``train_kmer_corrector(g, error_model=em, k=21, steps=300)``).
        error_model: a :mod:`seqfcn.training.simulate` model (Illumina for ``edits="sub"``,
            ONT for ``"indel"``), or several (one simulated sample per model and coverage).

    Returns:
        The model (CPU, eval) with ``model.kmer_evidence`` (a :class:`KmerEvidence`;
        for ``reference`` with the genome's table) and ``model.train_info`` (its
        ``stop_reason`` is ``signal:...`` when a signal stopped the training early).
    """
    from seqfcn.nn.models import create_model

    o = resolve_options(KmerTrainingOptions, options, overrides, "train_kmer_corrector")
    k, edits, source, seed = o.k, o.edits, o.source, o.seed
    paths = [genome] if isinstance(genome, (str, os.PathLike)) else \
        list(genome) if genome and isinstance(genome[0], (str, os.PathLike)) else None
    if source == "reference" and paths is not None and len(paths) > 1:
        raise SeqfcnError("a reference-evidence corrector is trained on one genome (its k-mers are the model's)")
    genomes = [genome_codes(g) for g in paths] if paths is not None else [list(genome)]
    ev = KmerEvidence(k, edits, source)
    if source == "reference":
        ev.table = table_for_genome(genomes[0], k)
    x, y, lengths = build_training_set(genomes, error_model, ev, o)
    config = dict(defaults.KMER_MODEL)
    config.update(o.model_config or {})
    config.update(in_channels=5 + ev.channels, n_outputs=scheme_for_edits(edits).n_classes)
    torch.manual_seed(seed)
    model = create_model("read_corrector", **config)
    data = EvidenceWindows(x, y, lengths, min(o.window, int(lengths.max())), o.steps * o.batch_size,
                           seed=seed + 7, mirror=mirror_order(edits))
    model, result = train_corrector(data, model, o)
    model.kmer_evidence = ev
    gc_bias = o.gc_bias
    model.train_info = {"training_reads": int(lengths.shape[0]), "coverages": list(o.coverages),
                        "genomes": len(genomes), "walked": o.walked,
                        "gc_bias": None if gc_bias is None else {"peak": gc_bias.peak, "width": gc_bias.width},
                        "max_reads": o.max_reads, "read_length": o.read_length, "window": o.window,
                        "steps": o.steps, "batch_size": o.batch_size, "lr": o.lr,
                        "train_loss": result.get("train_loss"), "seed": seed,
                        "stop_reason": result.get("stop_reason"),
                        "error_model": [describe_error_model(em, o.read_length or cycles_of(em)) for em in
                                        (error_model if isinstance(error_model, (list, tuple)) else [error_model])]}
    return model


@dataclass(frozen=True)
class KmerModelRun:
    """What :func:`train_kmer_model` trains, as ``seqfcn train --task correct`` takes it.

    ``coverages`` and ``gc_bias`` are text (``"10,20,40,80"``, ``"PEAK,WIDTH"`` or ``none``) and are
    recorded as given in the run's identity (``--resume`` compares them); ``kmer`` None:
    ``defaults.K_READS`` for reads evidence, ``defaults.K_REFERENCE`` for reference;
    ``edits`` ``auto``: ``indel`` for an ONT error model, else ``sub``; ``reads``: a BAM
    aligned to the first genome whose errors the model is fitted to (instead of the config's
    ``data.error_model``); ``command``: recorded in the model's metadata."""

    evidence: str = "reads"
    reads: str | None = None
    kmer: int | None = None
    edits: str = "auto"
    coverages: str = ",".join(f"{c:g}" for c in defaults.TRAIN_COVERAGES)
    read_length: int | None = None
    max_train_reads: int | None = None
    gc_bias: str = ",".join(f"{v:g}" for v in defaults.TRAIN_GC_BIAS)
    walked: bool = defaults.TRAIN_WALKED
    device: str = "auto"
    seed: int = 0
    resume: bool = False
    force: bool = False
    progress: bool = True
    command: str | None = None


def _coverages(text: str) -> list[float]:
    try:
        coverages = [float(c) for c in text.split(",") if c.strip()]
    except ValueError:
        raise SeqfcnError(f"--coverages needs comma-separated numbers, not {text!r}") from None
    if not coverages or min(coverages) <= 0:
        raise SeqfcnError(f"--coverages needs positive numbers, not {text!r}")
    return coverages


KMER_CONFIG_KEYS = {"model": None, "train": ("steps", "batch_size", "lr", "window", "checkpoint_every",
                                              "checkpoint_seconds", "progress", "tensorboard", "plot"),
                    "data": ("error_model",)}
"""What a k-mer corrector's ``--config`` may set (``model``: any option of the ``read_corrector``
architecture, checked with the model's sizes; ``progress``/``tensorboard``/``plot`` change no
weights). Anything else is refused rather than silently ignored."""


def _check_kmer_config(config: dict[str, Any]) -> None:
    """Refuse a ``--config`` key the k-mer corrector would not read (it would be silently ignored)."""
    for section, value in config.items():
        if section not in KMER_CONFIG_KEYS:
            raise SeqfcnError(f"--config section {section!r} is not read by the k-mer corrector "
                              f"(it reads {', '.join(KMER_CONFIG_KEYS)})")
        allowed = KMER_CONFIG_KEYS[section]
        if not isinstance(value, dict):
            raise SeqfcnError(f"--config section {section!r} must be an object")
        unknown = sorted(set(value) - set(allowed)) if allowed is not None else []
        if unknown:
            raise SeqfcnError(f"--config {section}.{unknown[0]} is not read by the k-mer corrector "
                              f"({section} takes {', '.join(allowed)})")


def train_kmer_model(genomes: Sequence[str | os.PathLike], out: str | os.PathLike,
                     options: KmerModelRun = KmerModelRun(),
                     config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train a k-mer-evidence corrector on ``genomes`` into ``out`` (``seqfcn train --task correct``):
    the run is recorded and checkpointed in ``out`` (``options.resume`` continues it), the model
    goes to ``out/model/``.

    ``config``: ``{"model": {...}, "train": {...}, "data": {...}}`` (``data.error_model``: one or
    several error-model specs separated by ``;``, default ``illumina``; ``train``: ``steps``,
    ``batch_size``, ``lr``, ``window``, ``checkpoint_every``, ``checkpoint_seconds``).
    Returns ``{"model", "train_loss", "k", "edits", "evidence", "stop_reason"}``; when a signal
    stopped the training (``stop_reason`` ``signal:...``) the checkpoint is in ``out/last/``
    and only ``stop_reason`` is given."""
    from seqfcn.correction.model_files import save_corrector
    from seqfcn.nn.checkpoint import TRAINED_MODEL_DIR
    from seqfcn.nn.models import planned_tensors
    from seqfcn.training.runs import RunOptions, input_identity, start_run
    from seqfcn.training.simulate import OntErrorModel, make_error_model
    from seqfcn.training.tasks import error_model_identity
    from seqfcn.training.trainer import TrainConfig

    o, config = options, config or {}
    _check_kmer_config(config)
    spec = f"fitted:{o.reads}" if o.reads else config.get("data", {}).get("error_model", "illumina")
    train = config.get("train", {})
    model_config = {kk: v for kk, v in config.get("model", {}).items() if kk != "name"}
    planned_tensors({**defaults.KMER_MODEL, **model_config, "name": "read_corrector"})  # sizes, before any work
    schedule = {"steps": int(train.get("steps", defaults.TRAIN_STEPS)),
                "batch_size": int(train.get("batch_size", defaults.TRAIN_BATCH_SIZE)),
                "lr": float(train.get("lr", defaults.TRAIN_LR))}
    saving = {key: train.get(key, getattr(TrainConfig, key)) for key in ("checkpoint_every", "checkpoint_seconds")}
    identity = {"task": "correct", "evidence": o.evidence, "genome": [input_identity(g) for g in genomes],
                "error_model": [error_model_identity(one.strip()) for one in spec.split(";") if one.strip()],
                "options": {"kmer": o.kmer, "edits": o.edits, "coverages": o.coverages,
                            "read_length": o.read_length, "max_train_reads": o.max_train_reads,
                            "gc_bias": o.gc_bias, "walked": o.walked, "window": train.get("window")},
                "model": model_config, "train": {**schedule, "seed": o.seed}}
    run = RunOptions(out, resume=o.resume, record=start_run(out, identity, resume=o.resume, force=o.force), **saving)
    # several error models, separated by ";", each give their own simulated samples; BAMs of
    # fitted models are aligned to the first genome
    models = [make_error_model(one.strip(), reference=genomes[0]) for one in spec.split(";") if one.strip()]
    em = models[0]
    edits = ("indel" if isinstance(em, OntErrorModel) else "sub") if o.edits == "auto" else o.edits
    k = o.kmer or (defaults.K_READS if o.evidence == "reads" else defaults.K_REFERENCE)
    coverages = _coverages(o.coverages)
    gc_bias = GcBias.parse(o.gc_bias)
    length = o.read_length or (defaults.ONT_READ_LENGTH if isinstance(em, OntErrorModel) else None)
    window = length or min(cycles_of(m) for m in models)
    model = train_kmer_corrector(
        genomes, error_model=models, k=k, edits=edits, source=o.evidence, coverages=coverages,
        read_length=length, window=int(train.get("window", window if edits == "sub" else defaults.INDEL_TRAIN_WINDOW)),
        max_reads=o.max_train_reads, walked=o.walked, gc_bias=gc_bias, model_config=model_config,
        **schedule, device=o.device, seed=o.seed, progress=o.progress, run=run,
    )
    stop_reason = model.train_info["stop_reason"]
    if str(stop_reason or "").startswith("signal:"):  # the checkpoint is in OUT/last/, no model
        return {"stop_reason": stop_reason}
    saved = save_corrector(model, os.path.join(out, TRAINED_MODEL_DIR),
                           metadata={"genome": ", ".join(os.path.basename(g) for g in genomes),
                                     "mode": f"kmer-{o.evidence}", "train": model.train_info,
                                     "error_model_spec": spec, "run": run.record.to_dict(), "command": o.command})
    return {"model": str(saved), "train_loss": model.train_info["train_loss"], "k": k, "edits": edits,
            "evidence": o.evidence, "stop_reason": stop_reason}


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
