"""Torch Datasets: genome windows, corrupted windows for correction, labelled windows.

Every item is a pure function of ``(seed, index)``: the window position, strand
and corruption of item ``i`` come from ``numpy.random.default_rng([seed, i])``.
So a DataLoader gives the same batches with any number of workers, and resuming
training at step ``k`` sees exactly the items it would have seen.

Items are dicts of tensors: ``{"x": (C, L) float32, "y": targets, ...}``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from seqfcn.training.simulate import IGNORE_INDEX, N_CODE
from seqfcn.sequence.encode import QUALITY_CAP, codes_one_hot, reverse_complement_codes, scale_quality
from seqfcn.errors import SeqfcnError
from seqfcn.io.fasta import Genome


@dataclass(frozen=True)
class Region:
    """A half-open interval ``[start, end)`` on ``chrom``."""

    chrom: str
    start: int
    end: int


def holdout_regions(chrom_sizes: dict[str, int], fraction: float) -> list[Region]:
    """The last ``fraction`` of every chromosome: a validation hold-out that no
    training window overlaps (see ``GenomeWindows(exclude=...)``)."""
    if not 0 < fraction < 1:
        raise SeqfcnError(f"hold-out fraction must be in (0, 1), not {fraction}")
    return [Region(c, int(n * (1 - fraction)), n) for c, n in chrom_sizes.items()]


def _subtract(intervals: list[Region], remove: Sequence[Region]) -> list[Region]:
    out = []
    for iv in intervals:
        pieces = [(iv.start, iv.end)]
        for r in remove:
            if r.chrom != iv.chrom:
                continue
            pieces = [p for s, e in pieces for p in ((s, min(e, r.start)), (max(s, r.end), e)) if p[0] < p[1]]
        out += [Region(iv.chrom, s, e) for s, e in pieces]
    return out


class GenomeWindows(Dataset):
    """Random fixed-length windows of a genome, as integer codes.

    Args:
        genome: a :class:`~seqfcn.io.fasta.Genome` or a FASTA path.
        length: window length L.
        n_windows: dataset length (windows are drawn with replacement).
        seed: item ``i`` is drawn from ``default_rng([seed, i])``.
        regions: where windows may lie (default: whole chromosomes).
        exclude: regions no window may overlap (e.g. a validation hold-out).
        max_n_fraction: windows with a larger fraction of non-ACGT are redrawn.
        both_strands: half of the windows (at random) are reverse complemented.

    Item: ``{"codes": (L,) int64, "chrom": str, "start": int, "strand": "+"|"-"}``.
    The chromosomes are held as int8 codes in memory (1 byte per base).
    """

    def __init__(
        self,
        genome: Genome | str | os.PathLike,
        length: int,
        n_windows: int,
        *,
        seed: int = 0,
        regions: Sequence[Region] | None = None,
        exclude: Sequence[Region] = (),
        max_n_fraction: float = 0.01,
        both_strands: bool = True,
    ) -> None:
        genome = genome if isinstance(genome, Genome) else Genome(genome)
        self.length, self.n_windows, self.seed = int(length), int(n_windows), int(seed)
        self.max_n_fraction, self.both_strands = max_n_fraction, both_strands
        if regions is None:
            regions = [Region(c, 0, n) for c, n in genome.chrom_sizes.items()]
        self.regions = [r for r in _subtract(list(regions), exclude) if r.end - r.start >= self.length]
        if not self.regions:
            raise SeqfcnError(f"no region of the genome is at least {self.length} bp long", path=genome.path)
        self.codes = {c: genome.codes(c) for c in {r.chrom for r in self.regions}}
        starts = np.array([r.end - r.start - self.length + 1 for r in self.regions], dtype=np.float64)
        self._weights = starts / starts.sum()

    def __len__(self) -> int:
        return self.n_windows

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng([self.seed, int(index)])
        for _ in range(100):
            region = self.regions[rng.choice(len(self.regions), p=self._weights)]
            start = region.start + int(rng.integers(0, region.end - region.start - self.length + 1))
            codes = self.codes[region.chrom][start : start + self.length]
            if np.count_nonzero(codes >= N_CODE) <= self.max_n_fraction * self.length:
                break
        else:
            raise SeqfcnError(f"no window of {self.length} bp with at most {self.max_n_fraction:.0%} N found")
        minus = self.both_strands and bool(rng.integers(0, 2))
        codes = reverse_complement_codes(codes) if minus else codes.copy()
        return {"codes": torch.from_numpy(codes.astype(np.int64)), "chrom": region.chrom, "start": start,
                "strand": "-" if minus else "+"}


class CorruptedWindows(Dataset):
    """Genome windows passed through a sequencing-error model, for read correction.

    Item: ``{"x": (5, L) float32`` one-hot of the observed read + quality channel
    (``min(Q, qmax)/qmax``), ``"y": (L,) int64`` per-base target classes (0-3 true
    base, 4 = inserted base, -100 = no loss), ``"observed": (L,) int64`` codes of
    the read}. Error models that change the length (ONT) are cropped or padded
    to L (padding: N, quality 0, target -100).
    """

    def __init__(self, windows: GenomeWindows, error_model, *, qmax: int = QUALITY_CAP, seed: int = 0) -> None:
        self.windows, self.error_model, self.qmax, self.seed = windows, error_model, qmax, int(seed)

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict:
        truth = self.windows[index]["codes"].numpy().astype(np.int8)
        length = truth.shape[0]
        read = self.error_model.corrupt(truth, np.random.default_rng([self.seed, 1, int(index)]))
        n = min(length, read.observed.shape[0])
        observed = np.full(length, N_CODE, np.int64)
        observed[:n] = read.observed[:n]
        quality = np.zeros(length, np.float32)
        quality[:n] = scale_quality(read.qualities[:n], self.qmax)
        target = np.full(length, IGNORE_INDEX, np.int64)
        target[:n] = read.target[:n]
        x = np.concatenate([codes_one_hot(observed), quality[None, :]])
        return {"x": torch.from_numpy(x), "y": torch.from_numpy(target), "observed": torch.from_numpy(observed)}


class LabelledWindows(Dataset):
    """Genome windows with per-base labels (a BED mask or a signal track).

    Args:
        windows: the :class:`GenomeWindows` to label.
        tracks: per chromosome, a ``(length,)`` float32 array of labels (0/1 for
            BED peaks/sites from :func:`seqfcn.io.intervals.bed_to_mask`, or signal
            values from a bedGraph/bigWig).

    Item: ``{"x": (4, L) float32 one-hot, "y": (1, L) float32 labels}``; a
    reverse-complemented window gets its labels reversed too.
    """

    def __init__(self, windows: GenomeWindows, tracks: dict[str, np.ndarray]) -> None:
        missing = {r.chrom for r in windows.regions} - set(tracks)
        if missing:
            raise SeqfcnError(f"no labels for chromosome(s) {sorted(missing)}")
        self.windows, self.tracks = windows, tracks

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict:
        item = self.windows[index]
        start = item["start"]
        labels = self.tracks[item["chrom"]][start : start + self.windows.length].astype(np.float32)
        if item["strand"] == "-":
            labels = labels[::-1].copy()
        x = codes_one_hot(item["codes"].numpy())
        return {"x": torch.from_numpy(x), "y": torch.from_numpy(labels[None, :])}


class MaskedWindows(Dataset):
    """Genome windows with bases masked for self-supervised training (``seqfcn train --task mask``).

    Args:
        windows: the :class:`GenomeWindows` to mask.
        masker: a :class:`~seqfcn.training.simulate.MaskModel` (which bases are chosen, and
            whether each becomes N, a random base or stays).

    Item: ``{"x": (4, L) float32`` one-hot of the masked window (a masked N is all zeros),
    ``"y": (L,) int64`` the true base at chosen positions, -100 elsewhere}. The mask of item
    ``i`` comes from ``default_rng([seed, 2, i])``.
    """

    def __init__(self, windows: GenomeWindows, masker, *, seed: int = 0) -> None:
        self.windows, self.masker, self.seed = windows, masker, int(seed)

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict:
        truth = self.windows[index]["codes"].numpy().astype(np.int8)
        masked = self.masker.corrupt(truth, np.random.default_rng([self.seed, 2, int(index)]))
        return {"x": torch.from_numpy(codes_one_hot(masked.observed)), "y": torch.from_numpy(masked.target)}
