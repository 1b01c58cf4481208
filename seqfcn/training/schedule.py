"""What a run sees in which order: seeded batch sampling (resumable, rank-aware) and the learning-rate schedule.
"""
from __future__ import annotations

import math
import random
import signal
from typing import Iterator
import numpy as np
import torch
from torch.utils.data import Sampler
from seqfcn.errors import SeqfcnError


def mix_seeds(*values: int) -> int:
    """A 63-bit seed derived from integers (stable across platforms and runs)."""
    return int(np.random.SeedSequence([int(v) % (2**63) for v in values]).generate_state(1, np.uint64)[0] >> 1)


class SeededBatchSampler(Sampler[list[int]]):
    """Shuffled, drop-last batches whose order is a function of ``(seed, epoch)``.

    Each *global* batch of ``batch_size`` indices is split into ``world_size`` equal
    contiguous parts; this rank yields part ``rank``. :meth:`set_epoch` with
    ``start_batch`` skips the batches already consumed, so a resumed run continues the
    same order mid-epoch.
    """

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        if batch_size % world_size:
            raise SeqfcnError(f"batch_size {batch_size} is not divisible by the {world_size} processes")
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.local = batch_size // world_size
        self.epoch, self.start_batch = 0, 0

    @property
    def batches_per_epoch(self) -> int:
        return self.n // self.batch_size

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    def order(self, epoch: int) -> torch.Tensor:
        """The permutation of ``range(n)`` used in ``epoch``."""
        g = torch.Generator().manual_seed(mix_seeds(self.seed, epoch))
        return torch.randperm(self.n, generator=g)

    def __iter__(self) -> Iterator[list[int]]:
        perm = self.order(self.epoch)
        for b in range(self.start_batch, self.batches_per_epoch):
            lo = b * self.batch_size + self.rank * self.local
            yield perm[lo : lo + self.local].tolist()

    def __len__(self) -> int:
        return self.batches_per_epoch - self.start_batch


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: seed numpy and ``random`` from the worker's torch seed.

    Workers ignore SIGINT/SIGTERM: a Ctrl-C or a job scheduler signalling the whole process
    group must reach only the main process, which checkpoints and then shuts the workers down.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    s = torch.initial_seed() % (2**32)
    np.random.seed(s)
    random.seed(s)


def warmup_cosine(step: int, warmup_steps: int, total_steps: int, min_ratio: float = 0.0) -> float:
    """LR multiplier: linear from ``1/(warmup+1)`` to 1 over ``warmup_steps``, then cosine to ``min_ratio``."""
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
