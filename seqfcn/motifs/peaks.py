"""Peak sequences against negatives, for training per-base motif models.

A :class:`PeakDataset` holds positive sequences (ChIP-seq peaks, or any
sequences that carry the motif) and negatives: by default k-mer shuffles of the
positives (:mod:`seqfcn.sequence.shuffle`; the same composition without the motifs:
dinucleotide shuffles, and with ``shuffle_orders=(2, 4)`` also 4-mer shuffles, which
keep more of real sequence's texture so that a model can not tell peaks from
negatives by texture alone), or given background sequences (e.g.
:func:`genomic_background`).

Items are ``{"x": (4, L) float32 one-hot, "y": (1, L) float32 per-base labels,
"label": () float32 sequence label, "index": () int64 source sequence}``.

Per-base labels of a positive (``label_mode``; default ``"center"``, which
trains a far better Oct4 model than ``"peak"``: held-out AUROC 0.91 against 0.70,
benchmarks/results_oct4.md):

* ``"peak"``: 1 over the whole peak sequence (0 over padding);
* ``"center"``: 1 over the central ``center_width`` bases of the peak
  (ChIP-seq summits, and the bound sites, concentrate at the peak centre);
* ``"sites"``: 1 over the given sites (``sites[name]``: ``(start, end)``
  0-based half-open in the peak sequence's coordinates, e.g. from a BED file
  whose chromosome column names the sequence).

Every position of a negative is 0.

Fixed length ``L``: a longer sequence is cropped to ``L`` bases, a shorter one
padded with all-zero columns (N). With ``random_crop`` (training) the crop /
pad offset is drawn, and with ``reverse_complement`` half of the items are
reverse complemented (labels reversed too), from
``numpy.random.default_rng([seed, index])``: every item is a pure function of
``(seed, index)``. Without ``random_crop`` (validation) the window is centred.

Hold-out: :func:`holdout_split` splits the *source sequences* by index, and
the negatives of a peak (its shuffles) go with it, so no held-out peak or
shuffle of it is seen in training.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np
import pysam
import torch
from torch.utils.data import Dataset

from seqfcn.errors import InputFormatError, SeqfcnError
from seqfcn.runtime.options import pick, resolve_options
from seqfcn.sequence.alphabet import DEFAULT_POLICY, EncodingPolicy
from seqfcn.sequence.encode import one_hot, reverse_complement_onehot
from seqfcn.sequence.shuffle import kmer_shuffle

if TYPE_CHECKING:
    import pandas as pd

    from seqfcn.training.trainer import TrainConfig

LABEL_MODES = ("peak", "center", "sites")


PEAK_TRAINING: dict[str, object] = {"loss": "bce_dice_max", "lr": 3e-3, "epochs": 25, "batch_size": 32,
                                    "warmup_steps": 10, "restore_best": False}
"""The training recipe of :func:`train_motif_model` (a :class:`seqfcn.training.trainer.TrainConfig`'s fields):
per-base BCE + Dice plus the sequence-level max term (``seqfcn.training.losses.bce_dice_max``), which
from random filters beats the best JASPAR PWM on held-out Oct4 peaks for every seed measured
(``benchmarks/bench_oct4.py``); the final weights are kept (no epoch picked on the hold-out)."""

PEAK_SHUFFLE_ORDERS: tuple[int, ...] = (2, 4)
"""The training negatives of :func:`train_motif_model`: per peak, ``n_shuffles`` dinucleotide and
``n_shuffles`` 4-mer shuffles. Against dinucleotide shuffles alone a model from random filters
also learns what tells real sequence from shuffled (and then loses to the PWM on real genomic
negatives); the 4-mer shuffles keep that texture (``benchmarks/bench_oct4.py``)."""


def read_sequences(path: str | os.PathLike) -> tuple[list[str], list[str]]:
    """Names and upper-cased sequences of a FASTA file (pysam). Raises :class:`InputFormatError`."""
    if not os.path.exists(path):
        raise InputFormatError("no such file", path=path)
    names, seqs = [], []
    try:
        with pysam.FastxFile(str(path)) as handle:
            for record in handle:
                if record.sequence is None:
                    raise InputFormatError("record without a sequence", path=path, record=record.name)
                names.append(record.name)
                seqs.append(record.sequence.upper())
    except (OSError, ValueError) as exc:
        raise InputFormatError(f"not a readable FASTA file: {exc}", path=path) from None
    if not seqs:
        raise InputFormatError("no sequences", path=path)
    return names, seqs


def sites_from_bed(intervals: pd.DataFrame) -> dict[str, list[tuple[int, int]]]:
    """``{sequence name: [(start, end), ...]}`` from a BED table (``seqfcn.io.intervals.read_bed``)
    whose chromosome column names the peak sequences (coordinates within each sequence)."""
    out: dict[str, list[tuple[int, int]]] = {}
    for chrom, start, end in zip(intervals["chrom"], intervals["start"], intervals["end"]):
        out.setdefault(str(chrom), []).append((int(start), int(end)))
    return out


def holdout_split(n: int, fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(train, held_out)`` sorted index arrays: a seeded random ``fraction`` of ``range(n)`` is held out."""
    if not 0 < fraction < 1:
        raise SeqfcnError(f"hold-out fraction must be in (0, 1), got {fraction}")
    n_out = int(round(n * fraction))
    if n_out < 1 or n_out >= n:
        raise SeqfcnError(f"cannot hold out {fraction:.0%} of {n} sequences")
    order = np.random.default_rng([int(seed), 0x5EED]).permutation(n)
    return np.sort(order[n_out:]), np.sort(order[:n_out])


def genomic_background(
    genome: object,
    lengths: Sequence[int],
    *,
    exclude: Mapping[str, Sequence[tuple[int, int]]] | None = None,
    seed: int = 0,
    max_n_fraction: float = 0.01,
    max_tries: int = 1000,
    gc: Sequence[float] | None = None,
    gc_tolerance: float = 0.02,
) -> list[str]:
    """Random genome windows, one per requested length, avoiding ``exclude`` (e.g. the peaks).

    Args:
        genome: a :class:`seqfcn.io.fasta.Genome` (or a FASTA path).
        lengths: the window lengths (e.g. the peak lengths, to match them).
        exclude: ``{chrom: [(start, end), ...]}`` intervals no window may overlap.
        seed: window ``i`` is drawn from ``default_rng([seed, i])``.
        max_n_fraction: windows with more non-ACGT bases are redrawn.
        gc: a GC fraction per window (e.g. each peak's, :func:`gc_fraction`): windows are
            redrawn until their GC is within ``gc_tolerance`` of it; after ``max_tries``
            the closest one drawn is kept (HOMER-style GC-matched background).

    Returns:
        Upper-cased sequences, ``len(lengths)`` of them.
    """
    from seqfcn.io.fasta import Genome

    genome = genome if isinstance(genome, Genome) else Genome(genome)
    sizes = genome.chrom_sizes
    chroms = list(sizes)
    weights = np.array([sizes[c] for c in chroms], dtype=np.float64)
    weights /= weights.sum()
    blocked = {c: sorted(v) for c, v in (exclude or {}).items()}
    if gc is not None and len(gc) != len(lengths):
        raise SeqfcnError(f"{len(gc)} GC targets for {len(lengths)} windows")
    if gc is not None and not all(0.0 <= float(g) <= 1.0 for g in gc):
        raise SeqfcnError("GC targets must be fractions in [0, 1]")
    out = []
    for i, length in enumerate(lengths):
        rng = np.random.default_rng([int(seed), i])
        best, best_off = None, np.inf
        for _ in range(max_tries):
            chrom = chroms[int(rng.choice(len(chroms), p=weights))]
            if sizes[chrom] < length:
                continue
            start = int(rng.integers(0, sizes[chrom] - length + 1))
            end = start + int(length)
            if any(s < end and start < e for s, e in blocked.get(chrom, ())):
                continue
            seq = genome.fetch(chrom, start, end).upper()
            if sum(seq.count(b) for b in "ACGT") < (1 - max_n_fraction) * length:
                continue
            off = 0.0 if gc is None else abs(gc_fraction(seq) - float(gc[i]))
            if off < best_off:
                best, best_off = seq, off
            if off <= gc_tolerance:
                break
        if best is None:
            raise SeqfcnError(f"no background window of {length} bp found in {max_tries} tries")
        out.append(best)
    return out


def gc_fraction(seq: str) -> float:
    """G + C over A + C + G + T of ``seq`` (any case; other letters ignored; 0 when none)."""
    s = seq.upper()
    acgt = sum(s.count(b) for b in "ACGT")
    return (s.count("G") + s.count("C")) / acgt if acgt else 0.0


@dataclass
class PeakLabelOptions:
    """The labels and negatives of peak items, shared by :class:`PeakDatasetOptions` and
    :class:`MotifDataOptions` (see the module docstring).

    Attributes:
        negatives: ``"shuffle"`` (default: ``n_shuffles`` k-mer shuffles of each used peak
            for each ``k`` of the shuffle orders; shuffle ``j`` of a peak, counted over the
            orders in turn, is seeded by ``(seed, sequence index, j)``) or a list of
            background sequences.
        n_shuffles: shuffles per peak and order with ``negatives="shuffle"`` (default 1).
        label_mode: ``"peak"``, ``"center"`` (default) or ``"sites"``.
        center_width: width of the labelled centre for ``"center"`` (default 100).
        sites: ``{name: [(start, end), ...]}`` for ``"sites"`` (default None).
        seed: seeds the shuffles and the per-item randomness (default 0).
    """

    negatives: str | Sequence[str] = "shuffle"
    n_shuffles: int = 1
    label_mode: str = "center"
    center_width: int = 100
    sites: Mapping[str, Sequence[tuple[int, int]]] | None = None
    seed: int = 0


@dataclass
class PeakDatasetOptions(PeakLabelOptions):
    """How a :class:`PeakDataset` labels, draws negatives and crops: :class:`PeakLabelOptions`
    (all background ``negatives`` given are used) and:

    Attributes:
        extra_negatives: background sequences added to the negatives (e.g. genomic windows
            beside the shuffles; default none).
        shuffle_orders: the k of the shuffles (default ``(2,)``: dinucleotide).
        random_crop: draw crop/pad offsets (default True; else centre them).
        reverse_complement: reverse complement half of the items, at random (default True).
        policy: the encoding policy (:class:`~seqfcn.sequence.alphabet.EncodingPolicy`, 4
            channels; default :data:`~seqfcn.sequence.alphabet.DEFAULT_POLICY`).
    """

    extra_negatives: Sequence[str] = ()
    shuffle_orders: Sequence[int] = (2,)
    random_crop: bool = True
    reverse_complement: bool = True
    policy: EncodingPolicy = DEFAULT_POLICY


class PeakDataset(Dataset):
    """Positives (peaks) and negatives with per-base motif labels (see the module docstring).

    Args:
        sequences: all peak sequences (upper or lower case; N allowed).
        length: the fixed item length ``L``.
        options: :class:`PeakDatasetOptions`; ``overrides`` replace single fields
            (``PeakDataset(seqs, 200, label_mode="peak", seed=3)``).
        names: one name per sequence (for ``sites`` and error messages).
        indices: which sequences this dataset uses (default all), e.g. one side
            of :func:`holdout_split`.

    Items ``0 .. n_pos - 1`` are the positives (in ``indices`` order), the rest the
    negatives. ``labels`` holds the ``(len,)`` sequence labels.
    """

    def __init__(
        self,
        sequences: Sequence[str],
        length: int,
        options: PeakDatasetOptions | None = None,
        *,
        names: Sequence[str] | None = None,
        indices: Sequence[int] | None = None,
        **overrides: object,
    ) -> None:
        opts = resolve_options(PeakDatasetOptions, options, overrides, "PeakDataset")
        label_mode, center_width, sites, policy = opts.label_mode, opts.center_width, opts.sites, opts.policy
        negatives, extra_negatives = opts.negatives, opts.extra_negatives
        if length < 1:
            raise SeqfcnError(f"length must be >= 1, got {length}")
        if label_mode not in LABEL_MODES:
            raise SeqfcnError(f"unknown label mode {label_mode!r}; choose from {', '.join(LABEL_MODES)}")
        if label_mode == "sites" and sites is None:
            raise SeqfcnError("label mode 'sites' needs sites")
        if label_mode == "center" and center_width < 1:
            raise SeqfcnError(f"center_width must be >= 1, got {center_width}")
        if policy.channels != 4:
            raise SeqfcnError("peak datasets use 4 channels (A, C, G, T)")
        self.length, self.seed, self.policy = int(length), int(opts.seed), policy
        self.label_mode, self.center_width, self.sites = label_mode, int(center_width), sites or {}
        self.random_crop, self.reverse_complement = opts.random_crop, opts.reverse_complement
        all_names = list(names) if names is not None else [f"seq{i}" for i in range(len(sequences))]
        if len(all_names) != len(sequences):
            raise SeqfcnError(f"{len(all_names)} names for {len(sequences)} sequences")
        idx = np.arange(len(sequences)) if indices is None else np.asarray(indices, dtype=np.int64)
        self.positives = [str(sequences[i]).upper() for i in idx]
        self.names = [all_names[i] for i in idx]
        self.source = [int(i) for i in idx]
        if isinstance(negatives, str):
            if negatives != "shuffle":
                raise SeqfcnError(f"negatives must be 'shuffle' or a list of sequences, got {negatives!r}")
            ks = [int(k) for k in opts.shuffle_orders for _ in range(int(opts.n_shuffles))]
            self.negatives = [
                kmer_shuffle(s, k, np.random.default_rng([self.seed, int(i), j]))
                for s, i in zip(self.positives, idx)
                for j, k in enumerate(ks)
            ]
            self.negative_source = [int(i) for i in idx for _ in ks]
        else:
            self.negatives = [str(s).upper() for s in negatives]
            self.negative_source = [-1] * len(self.negatives)
        self.negatives += [str(s).upper() for s in extra_negatives]
        self.negative_source += [-1] * len(extra_negatives)
        self.labels = np.concatenate([np.ones(len(self.positives)), np.zeros(len(self.negatives))]).astype(np.float32)

    def __len__(self) -> int:
        return len(self.positives) + len(self.negatives)

    def base_labels(self, item: int) -> np.ndarray:
        """``(len(sequence),)`` float32 per-base labels of item ``item`` before cropping."""
        n_pos = len(self.positives)
        if item >= n_pos:
            return np.zeros(len(self.negatives[item - n_pos]), np.float32)
        seq, name = self.positives[item], self.names[item]
        y = np.zeros(len(seq), np.float32)
        if self.label_mode == "peak":
            y[:] = 1.0
        elif self.label_mode == "center":
            width = min(self.center_width, len(seq))
            start = (len(seq) - width) // 2
            y[start : start + width] = 1.0
        else:
            for start, end in self.sites.get(name, ()):
                if not 0 <= start < end <= len(seq):
                    raise SeqfcnError(f"site {start}-{end} lies outside the {len(seq)} bp sequence", record=name)
                y[start:end] = 1.0
        return y

    def _window(self, n: int, rng: np.random.Generator) -> int:
        """Offset of the crop (``n > L``, into the sequence) or of the sequence in the padded item."""
        slack = abs(n - self.length)
        return int(rng.integers(0, slack + 1)) if self.random_crop else slack // 2

    def __getitem__(self, item: int) -> dict:
        if not 0 <= item < len(self):
            raise IndexError(item)
        n_pos = len(self.positives)
        seq = self.positives[item] if item < n_pos else self.negatives[item - n_pos]
        name = self.names[item] if item < n_pos else f"negative{item - n_pos}"
        rng = np.random.default_rng([self.seed, 1, int(item)])
        x_full = one_hot(seq, policy=self.policy, name=name)
        y_full = self.base_labels(item)
        offset = self._window(len(seq), rng)
        x = np.zeros((4, self.length), np.float32)
        y = np.zeros((1, self.length), np.float32)
        if len(seq) >= self.length:
            x[:] = x_full[:, offset : offset + self.length]
            y[0] = y_full[offset : offset + self.length]
        else:
            x[:, offset : offset + len(seq)] = x_full
            y[0, offset : offset + len(seq)] = y_full
        if self.reverse_complement and bool(rng.integers(0, 2)):
            x = reverse_complement_onehot(x)
            y = np.ascontiguousarray(y[:, ::-1])
        source = self.source[item] if item < n_pos else self.negative_source[item - n_pos]
        return {
            "x": torch.from_numpy(np.ascontiguousarray(x)),
            "y": torch.from_numpy(y),
            "label": torch.tensor(self.labels[item]),
            "index": torch.tensor(source, dtype=torch.int64),
        }


@dataclass
class MotifDataOptions(PeakLabelOptions):
    """How :func:`motif_datasets` builds the training and held-out sets: :class:`PeakLabelOptions`
    (``seed`` also seeds the split; background ``negatives`` are split like the peaks) and:

    Attributes:
        length: the item length (default None: the median peak length).
        holdout: the fraction of the peaks held out (default 0.2, :func:`holdout_split`).
        train_negatives: background sequences added to the training set's negatives only
            (e.g. genomic windows drawn away from the held-out ones; default none).
        train_shuffle_orders: the k-mer orders of the training shuffles (default ``(2,)``;
            the held-out set's shuffles are dinucleotide, the usual benchmark negatives).
        train_peaks: train on only this many of the training peaks (a seeded random choice;
            the held-out set is unchanged; default None: all).
    """

    length: int | None = None
    holdout: float = 0.2
    train_negatives: Sequence[str] = ()
    train_shuffle_orders: Sequence[int] = (2,)
    train_peaks: int | None = None


def motif_datasets(
    fasta: str | os.PathLike,
    options: MotifDataOptions | None = None,
    **overrides: object,
) -> tuple[PeakDataset, PeakDataset]:
    """Training and held-out :class:`PeakDataset` from a FASTA of peak sequences.

    ``options``: :class:`MotifDataOptions`; ``overrides`` replace single fields
    (``motif_datasets(fasta, length=200, seed=1)``). The held-out set (``holdout`` of the
    peaks, :func:`holdout_split`) uses centred windows and no strand flips.
    """
    opts = resolve_options(MotifDataOptions, options, overrides, "motif_datasets")
    seed, holdout, negatives = opts.seed, opts.holdout, opts.negatives
    names, seqs = read_sequences(fasta)
    train_idx, val_idx = holdout_split(len(seqs), holdout, seed)
    if opts.train_peaks is not None:
        if not 0 < opts.train_peaks <= len(train_idx):
            raise SeqfcnError(f"train_peaks must be in 1..{len(train_idx)} (the training peaks), "
                              f"not {opts.train_peaks}")
        train_idx = np.sort(np.random.default_rng([int(seed), 0x7EA]).permutation(train_idx)[:opts.train_peaks])
    length = int(np.median([len(s) for s in seqs])) if opts.length is None else int(opts.length)
    common = pick(PeakDatasetOptions, opts)
    if isinstance(negatives, str):
        neg_train: str | list[str] = negatives
        neg_val: str | list[str] = negatives
    else:
        bg = list(negatives)
        order = np.random.default_rng([int(seed), 0xB6]).permutation(len(bg))
        n_val = int(round(len(bg) * holdout))
        neg_val, neg_train = [bg[i] for i in order[:n_val]], [bg[i] for i in order[n_val:]]
    train = PeakDataset(seqs, length, common, names=names, indices=train_idx, negatives=neg_train,
                        extra_negatives=opts.train_negatives, shuffle_orders=opts.train_shuffle_orders)
    val = PeakDataset(seqs, length, common, names=names, indices=val_idx, negatives=neg_val, random_crop=False,
                      reverse_complement=False)
    return train, val


@torch.no_grad()
def sequence_scores(
    model: torch.nn.Module,
    dataset: Dataset,
    *,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    output: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Sequence-level scores: the max over positions of the per-base probability.

    ``sigmoid(model(x))[:, output]`` is maximised over the length (padding
    included: an all-zero column scores like any other input).

    Returns:
        ``(scores, labels)``, each ``(len(dataset),)`` float64, in item order.
    """
    was_training = model.training
    model.eval()
    scores, labels = [], []
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    for batch in loader:
        logits = model(batch["x"].to(device).float())[:, output]
        # max logit first, then the sigmoid in float64: no ties from float32 saturation
        top = logits.amax(dim=-1).double().cpu()
        scores.append(torch.sigmoid(top).numpy())
        labels.append(batch["label"].numpy())
    model.train(was_training)
    return np.concatenate(scores).astype(np.float64), np.concatenate(labels).astype(np.float64)


def filter_importance(
    model: torch.nn.Module,
    dataset: Dataset,
    *,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
) -> tuple[float, np.ndarray]:
    """Held-out importance of each first-layer filter, by ablation.

    The sequence-level AUROC (:func:`sequence_scores`, labels of ``dataset``)
    of the model, and for each filter ``k`` of ``model.motif_conv`` the drop in
    AUROC when its weights are set to zero (its output becomes its bias). The
    weights are restored afterwards.

    Returns:
        ``(auroc, drops)``: ``drops`` is ``(n_filters,)`` float64; larger = more important.
    """
    from seqfcn.training.metrics import auroc

    conv = getattr(model, "motif_conv", None)
    if conv is None:
        raise SeqfcnError("the model has no first-layer motif_conv to ablate")
    scores, labels = sequence_scores(model, dataset, batch_size=batch_size, device=device)
    base = auroc(scores, labels)
    saved = conv.weight.detach().clone()
    drops = np.zeros(saved.shape[0])
    try:
        for k in range(saved.shape[0]):
            with torch.no_grad():
                conv.weight[k] = 0
            s, _ = sequence_scores(model, dataset, batch_size=batch_size, device=device)
            drops[k] = base - auroc(s, labels)
            with torch.no_grad():
                conv.weight.copy_(saved)
    finally:
        with torch.no_grad():
            conv.weight.copy_(saved)
    return base, drops


@dataclass
class MotifTrainingOptions(MotifDataOptions):
    """How :func:`train_motif_model` trains: the data of :class:`MotifDataOptions` (with
    ``seed`` default None: ``config.seed``, and ``train_shuffle_orders`` default
    :data:`PEAK_SHUFFLE_ORDERS`) and:

    Attributes:
        seed: seeds the split, the shuffles, the crops and the initial weights (default
            None: ``config.seed``).
        train_shuffle_orders: k-mer orders of the training shuffles (``n_shuffles`` each;
            default :data:`PEAK_SHUFFLE_ORDERS`).
        model_name: the registered model (default ``"motif_scanner"``), built as
            ``create_model(model_name, n_outputs=1, **model_options)``.
        model_options: keyword arguments of the model (default none).
        config: a :class:`seqfcn.training.trainer.TrainConfig` (default None: :data:`PEAK_TRAINING`).
        init_motifs: known motifs (e.g. JASPAR ``Motif`` objects) the first filters of the
            model's ``motif_conv`` start from (:meth:`seqfcn.nn.layers.MotifConv.seed_motifs`);
            they are trained like the others (default None).
        init_from: a ``--task mask`` trunk (path or shipped name): the model is the trunk with a
            new 1x1 head (:func:`seqfcn.training.tasks.init_from_trunk`; ``model_name`` and
            ``model_options`` do not apply; default None).
    """

    seed: int | None = None
    train_shuffle_orders: Sequence[int] = PEAK_SHUFFLE_ORDERS
    model_name: str = "motif_scanner"
    model_options: Mapping[str, object] | None = None
    config: TrainConfig | None = None
    init_motifs: Sequence | None = None
    init_from: str | os.PathLike | None = None


def train_motif_model(
    fasta: str | os.PathLike,
    out_dir: str | os.PathLike,
    options: MotifTrainingOptions | None = None,
    **overrides: object,
) -> tuple[torch.nn.Module, dict]:
    """Train a per-base motif model on peaks against negatives (``seqfcn train --task motif``).

    Builds :func:`motif_datasets`, a registered model and runs
    :class:`seqfcn.training.trainer.Trainer`. The trained model is in ``out_dir/model``
    (``seqfcn.nn.checkpoint`` format, usable by :func:`seqfcn.motifs.scan_model.scan_model`).
    ``options``: :class:`MotifTrainingOptions`; ``overrides`` replace single fields
    (``train_motif_model(fasta, out, length=400, seed=1)``).

    Returns:
        ``(model, result)``: the model (eval mode) and the trainer's final metrics
        plus ``seq_auroc`` (held-out peaks against their negatives, sequence
        score = max per-base probability), ``n_train``, ``n_val`` and ``length``.
    """
    from seqfcn.nn.models import create_model
    from seqfcn.training.trainer import TrainConfig, Trainer

    opts = resolve_options(MotifTrainingOptions, options, overrides, "train_motif_model")
    cfg = opts.config if opts.config is not None else TrainConfig(**PEAK_TRAINING)
    seed = int(cfg.seed if opts.seed is None else opts.seed)
    train, val = motif_datasets(fasta, pick(MotifDataOptions, opts, seed=seed))
    torch.manual_seed(seed)
    if opts.init_from is not None:
        from seqfcn.training.tasks import init_from_trunk

        model, _ = init_from_trunk("motif", opts.init_from, {"n_outputs": 1})
    else:
        model = create_model(opts.model_name, **{"n_outputs": 1, **dict(opts.model_options or {})})
    if opts.init_motifs:
        model.motif_conv.seed_motifs(opts.init_motifs)
    trainer = Trainer(model, train, val, cfg, out_dir=out_dir)
    result = dict(trainer.fit())
    model = trainer.model.eval()
    device = next(model.parameters()).device
    scores, labels = sequence_scores(model, val, device=device)
    from seqfcn.training.metrics import auroc

    result.update(seq_auroc=auroc(scores, labels), n_train=len(train), n_val=len(val), length=train.length)
    return model, result
