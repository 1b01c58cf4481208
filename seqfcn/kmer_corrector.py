"""Read correctors that see k-mer evidence: simulation, training data, model files.

A k-mer-evidence corrector is a :class:`seqfcn.nn.models.ReadCorrector` whose input
is the read (one-hot + quality, 5 channels) followed by the per-base evidence
channels of :func:`seqfcn.kmers.evidence` (12 for substitutions, 27 with indels).
Its weights learn how evidence, quality and neighbourhood decide a base, not a
genome, so one model serves any sample:

* ``source="reads"``: the evidence table is the k-mer spectrum of the reads being
  corrected (built by ``seqfcn correct`` in a first pass over the input;
  reference-free, like Lighter or Musket, but the decision is learnt);
* ``source="reference"``: the table is a genome's k-mers, stored in the model
  directory (``kmers.npz``); reads are corrected towards that genome, so true
  variants of the sample against it can be "corrected" away — use it for reads of
  the same strain, or when the reads are too few for their own spectrum.

Output classes: 0-3 the true base; with ``edits="indel"`` also 4 (``GAP``: the
base is an insertion, delete it) and 5-8 (a base A/C/G/T is missing right after
this one: insert it). Training reads are simulated from a genome with an error
model (:mod:`seqfcn.corrupt`) at several coverages, each simulated sample with its
own spectrum.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from seqfcn.corrupt import GAP, IGNORE_INDEX, CorruptedBatch, to_codes
from seqfcn.errors import ModelFileError, SeqfcnError
from seqfcn.kmers import (
    TABLE_NAME,
    KmerTable,
    channel_names,
    evidence,
    mirror_order,
    n_channels,
    table_for_genome,
    table_for_reads,
)

log = logging.getLogger("seqfcn.kmer_corrector")

INSERT_BASE = 5
"""First of the classes 5-8: "insert A/C/G/T after this base" (``edits="indel"``)."""
QMAX_INPUT = 50
_CHUNK = 4096  # simulated reads whose inputs are computed at once
_ONE_HOT = np.concatenate([np.eye(4, dtype=np.float32), np.zeros((1, 4), np.float32)])


def n_outputs(edits: str) -> int:
    """Output classes of a corrector for an edit set: 4 (``sub``) or 9 (``indel``)."""
    n_channels(edits)  # validates
    return 4 if edits == "sub" else 9


@dataclass
class KmerEvidence:
    """What a model needs to compute its evidence channels.

    Attributes:
        k: k-mer length (odd, 3..31).
        edits: ``"sub"`` or ``"indel"``.
        source: ``"reads"`` (table from the reads at correction time) or ``"reference"``.
        table: the table (always set for ``reference``; set per run for ``reads``).
    """

    k: int
    edits: str = "sub"
    source: str = "reads"
    table: KmerTable | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.source not in ("reads", "reference"):
            raise SeqfcnError(f"k-mer source must be 'reads' or 'reference', not {self.source!r}")
        n_channels(self.edits)
        if not 3 <= int(self.k) <= 31 or int(self.k) % 2 == 0:
            raise SeqfcnError(f"k must be odd and in 3..31, not {self.k}")
        self.k = int(self.k)

    @property
    def channels(self) -> int:
        """Number of evidence channels."""
        return n_channels(self.edits)

    def to_dict(self) -> dict[str, Any]:
        return {"k": self.k, "edits": self.edits, "source": self.source}

    def features(self, codes: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """Evidence ``(batch, channels, L)`` of padded codes ``(batch, L)``."""
        if self.table is None:
            raise SeqfcnError("this model corrects with the reads' own k-mer spectrum; count the reads first")
        return evidence(codes, self.table, edits=self.edits, lengths=lengths)

    def with_reads(self, reads: Sequence[np.ndarray]) -> "KmerEvidence":
        """A copy whose table is the spectrum of ``reads`` (``source="reads"``), else self."""
        if self.source != "reads":
            return self
        return KmerEvidence(self.k, self.edits, self.source, table_for_reads(reads, self.k))


def model_inputs(codes: np.ndarray, qualities: np.ndarray, lengths: np.ndarray,
                 ev: KmerEvidence | None) -> np.ndarray:
    """Model input ``(batch, 5 + channels, L)`` of padded reads.

    Args:
        codes: ``(batch, L)`` codes (padding 4); qualities: ``(batch, L)`` Phred
            (or float ``(batch, L)`` already scaled to 0..1 when ``qualities.dtype`` is float).
        lengths: ``(batch,)``.
    """
    n, w = codes.shape
    real = np.arange(w)[None, :] < np.asarray(lengths)[:, None]
    c_ev = 0 if ev is None else ev.channels
    x = np.zeros((n, 5 + c_ev, w), np.float32)
    x[:, :4] = _ONE_HOT[np.where((codes >= 0) & (codes < 4), codes, 4).astype(np.intp)].transpose(0, 2, 1)
    q = qualities if np.issubdtype(qualities.dtype, np.floating) else np.minimum(qualities, QMAX_INPUT) / QMAX_INPUT
    x[:, 4] = np.where(real, q, 0.0)
    if ev is not None:
        x[:, 5:] = ev.features(codes, lengths)
        x[:, 5:] *= real[:, None, :]
    return x


# --------------------------------------------------------------------------- simulation
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
        truth[i] = np.where(t < 4, 3 - t, t)[::-1] if rng.integers(0, 2) else t
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
    y[ins] = INSERT_BASE + missing_all[ins]
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
            y = np.where((y >= 0) & (y < 4), 3 - y, y)[::-1]
        return {"x": torch.from_numpy(x.astype(np.float32)), "y": torch.from_numpy(y.copy())}


def build_training_set(genome: Sequence[np.ndarray], error_model: Any | Sequence[Any], ev: KmerEvidence, *,
                       coverages: Sequence[float] = (15.0, 30.0, 60.0), read_length: int = 150,
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
    k: int = 21,
    edits: str = "sub",
    source: str = "reads",
    coverages: Sequence[float] = (15.0, 30.0, 60.0),
    read_length: int = 150,
    window: int = 64,
    model_config: dict[str, Any] | None = None,
    steps: int = 600,
    batch_size: int = 64,
    lr: float = 3e-3,
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
        model_config: ``read_corrector`` overrides (default 32 channels, 3 layers, stem 5).
        steps, batch_size, lr, device, seed: the schedule (:func:`seqfcn.correct.train_corrector`).

    Returns:
        The model (CPU, eval) with ``model.kmer_evidence`` (a :class:`KmerEvidence`;
        for ``reference`` with the genome's table) and ``model.train_info``.
    """
    from seqfcn.correct import train_corrector
    from seqfcn.nn.models import create_model

    codes = genome_codes(genome) if isinstance(genome, (str, os.PathLike)) else list(genome)
    ev = KmerEvidence(k, edits, source)
    if source == "reference":
        ev.table = table_for_genome(codes, k)
    x, y, lengths = build_training_set(codes, error_model, ev, coverages=coverages, read_length=read_length,
                                       seed=seed)
    config = {"channels": 32, "n_layers": 3, "stem_kernel": 5, "kernel_size": 3}
    config.update(model_config or {})
    config.update(in_channels=5 + ev.channels, n_outputs=n_outputs(edits))
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


# --------------------------------------------------------------------------- model files
def save_kmer_corrector(model: torch.nn.Module, directory: str | os.PathLike,
                        metadata: dict[str, Any] | None = None) -> Path:
    """Save the model (safetensors + JSON with ``kmer_evidence``) and, for a reference
    source, its k-mer table (``kmers.npz``)."""
    from seqfcn.checkpoint import save_model

    ev: KmerEvidence = model.kmer_evidence
    meta = {"task": "correct", **(metadata or {}), "kmer_evidence": ev.to_dict()}
    model.channel_names = ["A", "C", "G", "T", "quality"] + channel_names(ev.edits)
    directory = Path(directory)
    save_model(model, directory, metadata=meta)
    if ev.source == "reference":
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


def self_train_kmer(
    reads_path: str | os.PathLike,
    *,
    k: int = 21,
    steps: int = 1500,
    genome_size: int = 50_000,
    max_reads: int = 200_000,
    device: str = "auto",
    seed: int = 0,
    reference: str | os.PathLike | None = None,
    progress: bool = True,
) -> torch.nn.Module:
    """A k-mer-evidence corrector fitted to a read set, with no reference (``--self-train``).

    The reads give everything the simulation needs: the per-cycle quality profile
    (:func:`seqfcn.correct.quality_profile_model`), the read length (median) and
    the coverage (the typical count of their k-mers, times ``L / (L - k + 1)``).
    Reads are simulated at half, once and twice that coverage over a random
    genome of ``genome_size`` bases, and the corrector learns on them; it then
    corrects the real reads with their own spectrum. Substitutions only (short reads).
    """
    from seqfcn.correct import quality_profile_model, training_reads

    reads = training_reads(reads_path, max_reads, reference=reference)
    length = int(np.median([len(r.sequence) for r in reads]))
    if length > 400:
        raise SeqfcnError(f"--self-train with k-mer evidence is for short reads (median {length} bp); "
                          "use a reference model for long reads (seqfcn train --evidence reference)")
    if length <= k:
        raise SeqfcnError(f"reads of {length} bp are too short for {k}-mers; pass a smaller k")
    table = table_for_reads((to_codes(r.sequence) for r in reads), k)
    coverage = max(2.0, table.scale * length / (length - k + 1))
    em = quality_profile_model(reads, read_length=length)
    rng = np.random.default_rng(seed)
    genome = [rng.integers(0, 4, int(genome_size)).astype(np.int8)]
    model = train_kmer_corrector(genome, error_model=em, k=k, coverages=(coverage / 2, coverage, 2 * coverage),
                                 read_length=length, window=length, steps=steps, device=device, seed=seed,
                                 lr=1e-2, progress=progress)
    model.train_info.update(mode="self-train", reads=len(reads), estimated_coverage=round(coverage, 1),
                            genome_size=int(genome_size))
    model.self_train_info = model.train_info
    return model


def count_reads(reads_path: str | os.PathLike, k: int, *, reference: str | os.PathLike | None = None,
                progress: bool = False, phred: int | None = None) -> KmerTable:
    """The k-mer spectrum of a read file (first pass of ``seqfcn correct``): Bloom-filtered
    compact counting (:func:`seqfcn.correction.spectrum.count_spectrum`)."""
    from seqfcn.correction.spectrum import count_fastq_file, count_spectrum, expected_bases
    from seqfcn.io.reads import read_reads

    if str(reads_path) == "-":
        raise SeqfcnError("this model counts the reads' k-mers in a first pass; give a file, not stdin")
    table = count_fastq_file(str(reads_path), k) if os.path.isfile(reads_path) else None
    if table is None:
        gen = (to_codes(r.sequence) for r in read_reads(reads_path, reference=reference, phred=phred) if r.sequence)
        table = count_spectrum(gen, k, expected_bases=expected_bases(str(reads_path)))
    log.info("counted %d distinct %d-mers of %s (typical count %.0f)", len(table), k, reads_path, table.scale)
    return table


__all__ = [
    "INSERT_BASE", "KmerEvidence", "model_inputs", "simulate_reads", "edit_targets", "EvidenceWindows",
    "build_training_set", "train_kmer_corrector", "self_train_kmer", "save_kmer_corrector", "evidence_from_info", "count_reads",
    "n_outputs",
]
