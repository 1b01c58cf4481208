"""Reference-free correctors trained on the reads themselves (``seqfcn correct --self-train``).

Two modes:

* :func:`self_train_kmer` (default): a k-mer-evidence corrector fitted to the
  reads' per-cycle quality profile, read length and coverage, trained on reads
  simulated over a random genome; it then corrects the real reads with their own
  spectrum (substitutions; short reads).
* :func:`self_train` ("memorise"): a plain model learns the sample's own sequence:
  windows of the observed reads are corrupted again with an error model whose
  quality profile is fitted to the reads, 15% of the input bases are hidden, and
  the model learns to restore the observed bases. Sequencing errors are rare and
  scattered while the genome is shared by every read, so it needs coverage >= ~20x
  and a genome small enough for the model and the budget — measured on 2 shared
  CPU cores: a 120 bp target is learnt in 300 steps (gain 0.84), a 3.2 kb one partly
  in 5,000 steps (ex1: 11-38% fewer mismatches), a 48.5 kb one (lambda) not at all
  in 800 steps. Bacteria and up need GPU training.

Both train with :class:`seqfcn.training.trainer.Trainer`; given ``run`` (:class:`seqfcn.training.trainer.RunOptions`,
the CLI's ``--self-train-dir``) they checkpoint to ``run.out_dir/last/`` and resume exactly.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from seqfcn.correction import defaults
from seqfcn.correction.labels import BASES, BASES_GAP
from seqfcn.correction.training import TrainSchedule, train_corrector, train_kmer_corrector
from seqfcn.runtime.options import resolve_options
from seqfcn.training.simulate import MAX_Q, IlluminaErrorModel, OntErrorModel, make_error_model
from seqfcn.sequence.encode import QUALITY_CAP, reverse_complement_codes, to_codes
from seqfcn.errors import SeqfcnError
from seqfcn.io.reads import Read, read_reads
from seqfcn.correction.kmers import table_for_reads

if TYPE_CHECKING:
    from seqfcn.training.runs import RunOptions


class ReadWindowSource:
    """Fixed-length windows of observed reads, as a window source for
    :class:`seqfcn.training.datasets.CorruptedWindows` (item: ``{"codes": (L,) int64}``).

    Item ``i`` picks a read (weighted by its number of windows) and a start from
    ``default_rng([seed, i])``, and reverse-complements half of the windows, so a
    model trained on them is strand-symmetric. Reads shorter than ``length`` are not used.
    """

    def __init__(self, reads: Sequence[np.ndarray], length: int, n_windows: int, *, seed: int = 0) -> None:
        self.length, self.n_windows, self.seed = int(length), int(n_windows), int(seed)
        self.reads = [r for r in reads if r.shape[0] >= self.length]
        if not self.reads:
            raise SeqfcnError(f"no read is at least {self.length} bases long")
        counts = np.array([r.shape[0] - self.length + 1 for r in self.reads], dtype=np.float64)
        self._cum = np.cumsum(counts)

    def __len__(self) -> int:
        return self.n_windows

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng([self.seed, int(index)])
        k = int(rng.integers(0, int(self._cum[-1])))
        r = int(np.searchsorted(self._cum, k, side="right"))
        start = k - (int(self._cum[r - 1]) if r else 0)
        codes = self.reads[r][start : start + self.length].astype(np.int64)
        if rng.integers(0, 2):
            codes = reverse_complement_codes(codes)
        return {"codes": torch.from_numpy(codes)}


def quality_profile_model(reads: Sequence[Read], *, read_length: int | None = None) -> IlluminaErrorModel:
    """An Illumina error model whose per-cycle quality distribution is that of ``reads``
    (sequencing orientation) and whose error rate per quality is the Phred value."""
    lengths = [len(r.sequence) for r in reads if r.qualities is not None]
    if not lengths:
        return IlluminaErrorModel.default(read_length=read_length or 150)
    cycles = read_length or int(np.percentile(lengths, 95))
    counts = np.zeros((cycles, MAX_Q + 1), np.float64)
    for r in reads:
        if r.qualities is None:
            continue
        q = np.minimum(np.asarray(r.qualities, np.int64), MAX_Q)[:cycles]
        if r.is_reverse:
            q = q[::-1]
        np.add.at(counts, (np.arange(q.shape[0]), q), 1.0)
    empty = counts.sum(axis=1) == 0
    counts[empty] = counts[~empty].sum(axis=0)
    return IlluminaErrorModel(quality_probs=counts + 1e-3, error_by_q=10.0 ** (-np.arange(MAX_Q + 1) / 10.0))


class MaskedInputs(Dataset):
    """Hide a fraction of the input bases of a correction dataset (targets unchanged).

    Each position of item ``i`` is hidden with probability ``mask_rate`` (drawn from
    ``default_rng([seed, 2, i])``): its one-hot and quality channels become 0, like an
    ``N`` of quality 0, while its target stays the true base. Substitution errors alone
    rarely force a model to use the sequence context (the observed base is right 99%
    of the time); hidden bases must be predicted from context, which teaches the model
    the genome's sequence much faster (measured: gain 0.34 vs 0.11 after 400 steps on
    1 kb of ex1.fa). Items are dicts with ``"x"`` ``(5, L)`` and ``"y"`` ``(L,)``.
    """

    def __init__(self, dataset: Dataset, mask_rate: float = 0.15, *, seed: int = 0) -> None:
        if not 0.0 <= mask_rate < 1.0:
            raise SeqfcnError(f"mask_rate must be in [0, 1), not {mask_rate}")
        self.dataset, self.mask_rate, self.seed = dataset, float(mask_rate), int(seed)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict:
        item = dict(self.dataset[index])
        if self.mask_rate > 0:
            x = item["x"].clone()
            hide = np.random.default_rng([self.seed, 2, int(index)]).random(x.shape[-1]) < self.mask_rate
            x[:, torch.from_numpy(hide)] = 0.0
            item["x"] = x
        return {"x": item["x"], "y": item["y"]}




def training_reads(reads_path: str | os.PathLike, max_reads: int, *,
                   reference: str | os.PathLike | None = None) -> list[Read]:
    """The first ``max_reads`` reads with a sequence (for self-training); an error when there are none."""
    reads: list[Read] = []
    for read in read_reads(reads_path, reference=reference):
        if read.sequence:
            reads.append(read)
        if len(reads) >= max_reads:
            break
    if not reads:
        raise SeqfcnError("no reads with a sequence to train on", path=reads_path)
    return reads


def self_train(reads_path: str | os.PathLike, options: SelfTrainOptions | None = None, **overrides: Any) -> nn.Module:
    """Train a read corrector on the reads themselves (reference-free; see the module docstring).

    Args:
        reads_path: the reads to learn from (the first ``options.max_reads``; any format of
            :func:`~seqfcn.io.reads.read_reads`).
        options: :class:`SelfTrainOptions` (this mode reads ``model_config``, ``error_model``,
            ``window``, ``mask_rate``, ``max_reads``, ``reference`` and the schedule);
            ``overrides`` replace single fields (``self_train(r, steps=20, device="cpu")``).

    Returns:
        The trained model (eval mode, on CPU), with ``model.self_train_info`` (a dict).
    """
    from seqfcn.training.datasets import CorruptedWindows
    from seqfcn.nn.models import create_model

    o = resolve_options(SelfTrainOptions, options, overrides, "self_train")
    error_model, steps, batch_size, seed = o.error_model, o.steps, o.batch_size, o.seed
    reads = training_reads(reads_path, o.max_reads, reference=o.reference)
    lengths = np.array([len(r.sequence) for r in reads])
    median = int(np.median(lengths))
    varied = float(np.mean(np.abs(lengths - median) > 0.1 * median))  # Illumina reads share one length
    ont = median > 300 or varied > 0.25  # Illumina reads are at most 300 bp
    if isinstance(error_model, str):
        if error_model == "auto":
            em = OntErrorModel() if ont else quality_profile_model(reads)
        else:
            em = make_error_model(error_model)
    else:
        em = error_model
    length = int(o.window or min(64, median))
    codes = [to_codes(r.sequence) for r in reads]
    scheme = BASES_GAP if isinstance(em, OntErrorModel) else BASES
    config = {**defaults.PLAIN_MODEL, "n_outputs": scheme.n_classes}
    config.update(o.model_config or {})
    torch.manual_seed(seed)
    model = create_model("read_corrector", **config)
    source = ReadWindowSource(codes, length, steps * batch_size, seed=seed)
    dataset = MaskedInputs(CorruptedWindows(source, em, qmax=QUALITY_CAP, seed=seed + 1), o.mask_rate, seed=seed + 2)
    model, result = train_corrector(dataset, model, o)
    model.self_train_info = {
        "reads": len(reads), "bases": int(lengths.sum()), "window": length,
        "error_model": getattr(em, "kind", type(em).__name__), "steps": steps, "batch_size": batch_size,
        "train_loss": result.get("train_loss"), "seed": seed, "mask_rate": o.mask_rate,
        "stop_reason": result.get("stop_reason"),
    }
    return model


def self_train_kmer(reads_path: str | os.PathLike, options: SelfTrainOptions | None = None,
                    **overrides: Any) -> torch.nn.Module:
    """A k-mer-evidence corrector fitted to a read set, with no reference (``--self-train``).

    The reads give everything the simulation needs: the per-cycle quality profile
    (:func:`quality_profile_model`), the read length (median) and
    the coverage (the typical count of their k-mers, times ``L / (L - k + 1)``).
    Reads are simulated at half, once and twice that coverage over a random
    genome of ``genome_size`` bases, and the corrector learns on them; it then
    corrects the real reads with their own spectrum. Substitutions only (short reads).
    ``options`` (:class:`SelfTrainOptions`; this mode reads ``k``, ``genome_size``,
    ``max_reads``, ``reference`` and the schedule) and ``overrides`` as for :func:`self_train`.
    """

    o = resolve_options(SelfTrainOptions, options, overrides, "self_train_kmer")
    k, genome_size = o.k, o.genome_size
    reads = training_reads(reads_path, o.max_reads, reference=o.reference)
    length = int(np.median([len(r.sequence) for r in reads]))
    if length > 400:
        raise SeqfcnError(f"--self-train with k-mer evidence is for short reads (median {length} bp); "
                          "use a reference model for long reads (seqfcn train --evidence reference)")
    if length <= k:
        raise SeqfcnError(f"reads of {length} bp are too short for {k}-mers; pass a smaller k")
    table = table_for_reads((to_codes(r.sequence) for r in reads), k)
    coverage = max(2.0, table.scale * length / (length - k + 1))
    em = quality_profile_model(reads, read_length=length)
    rng = np.random.default_rng(o.seed)
    genome = [rng.integers(0, 4, int(genome_size)).astype(np.int8)]
    schedule = {f.name: getattr(o, f.name) for f in dataclasses.fields(TrainSchedule)}
    model = train_kmer_corrector(genome, error_model=em, k=k, coverages=(coverage / 2, coverage, 2 * coverage),
                                 read_length=length, window=length, walked=False, **schedule,
                                 gc_bias=None)  # a random genome: no GC variation to shape coverage
    model.train_info.update(mode="self-train", reads=len(reads), estimated_coverage=round(coverage, 1),
                            genome_size=int(genome_size))
    model.self_train_info = model.train_info
    return model


@dataclass(frozen=True)
class SelfTrainOptions(TrainSchedule):
    """How a corrector is trained on the reads themselves: :func:`self_train_corrector`
    (``seqfcn correct --self-train``), :func:`self_train_kmer` and :func:`self_train`, with the
    schedule fields of :class:`~seqfcn.correction.training.TrainSchedule` (``steps``
    ``defaults.SELF_TRAIN_STEPS``, ``lr`` ``defaults.TRAIN_LR``).

    Attributes:
        mode: ``kmer`` (:func:`self_train_kmer`) or ``memorise`` (:func:`self_train`).
        error_model: ``memorise``: ``"auto"`` (the ONT model when the median read length is
            > 300 or more than a quarter of the reads differ from it by > 10%, else an Illumina
            model with the reads' own per-cycle quality profile), a spec for
            :func:`~seqfcn.training.simulate.make_error_model`, or an error model object.
        reference: FASTA for CRAM input only (never used as truth).
        directory: keep the training's checkpoints in ``directory/last/`` (``resume`` continues
            them; refused when started on other reads or settings).
        resume: continue the checkpoint in ``directory``.
        save_model: save the trained model to this directory.
        max_reads: learn from the first this many reads with a sequence.
        model_config: ``memorise``: ``create_model("read_corrector", **model_config)`` overrides
            (default ``defaults.PLAIN_MODEL``; 5 outputs, the ``bases+gap`` scheme, for ONT).
        window: ``memorise``: training window length (default: min(64, median read length)).
        mask_rate: ``memorise``: fraction of input bases hidden during training (:class:`MaskedInputs`).
        k: ``kmer``: k of the evidence.
        genome_size: ``kmer``: bases of the random genome the reads are simulated from.
    """

    mode: str = "kmer"
    steps: int = defaults.SELF_TRAIN_STEPS
    lr: float = defaults.TRAIN_LR
    error_model: str | Any = "auto"
    reference: str | os.PathLike | None = None
    directory: str | os.PathLike | None = None
    resume: bool = False
    save_model: str | os.PathLike | None = None
    max_reads: int = defaults.SELF_TRAIN_MAX_READS
    model_config: dict[str, Any] | None = None
    window: int | None = None
    mask_rate: float = 0.15
    k: int = defaults.K_READS
    genome_size: int = defaults.SELF_TRAIN_GENOME


def _self_train_run(reads_path: str | os.PathLike, o: SelfTrainOptions) -> RunOptions | None:
    """``o.directory`` / ``o.resume`` as :class:`seqfcn.training.runs.RunOptions` (None without a
    directory), checked against the run already there before any work."""
    if o.directory is None:
        if o.resume:
            raise SeqfcnError("--resume needs --self-train-dir (where the self-training checkpoints are)")
        return None
    if os.path.exists(o.directory) and not os.path.isdir(o.directory):
        raise SeqfcnError("--self-train-dir: exists and is not a directory", path=o.directory)
    from seqfcn.training.runs import RunOptions, input_identity, start_run
    from seqfcn.training.tasks import error_model_identity

    identity = {"task": "self-train", "mode": o.mode, "reads": input_identity(reads_path),
                "reference": input_identity(o.reference), "steps": o.steps, "seed": o.seed,
                "error_model": None if o.mode == "kmer" else error_model_identity(o.error_model)}
    return RunOptions(o.directory, resume=o.resume,
                      record=start_run(o.directory, identity, resume=o.resume, force=None))


def self_train_corrector(reads_path: str | os.PathLike, options: SelfTrainOptions = SelfTrainOptions()) -> nn.Module:
    """Train a corrector on the reads of ``reads_path`` themselves (``seqfcn correct --self-train``):
    the run is checked against ``options.directory`` first, the model saved to
    ``options.save_model`` (with the run's record) unless a signal stopped the training (then
    ``model.self_train_info["stop_reason"]`` is ``signal:...`` and the checkpoint, with a
    directory, is kept). Returns the model with ``self_train_info``."""
    o = options
    run = _self_train_run(reads_path, o)
    model = (self_train_kmer if o.mode == "kmer" else self_train)(reads_path, o, run=run)
    stopped = str(model.self_train_info.get("stop_reason") or "").startswith("signal:")
    if o.save_model and not stopped:
        from seqfcn.correction.model_files import save_corrector

        record = {} if run is None or run.record is None else {"run": run.record.to_dict()}
        save_corrector(model, o.save_model, metadata={"self_train": model.self_train_info, **record})
    return model
