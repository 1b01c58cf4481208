"""Where and how a job runs: the device (``auto``: CUDA when present, else CPU; ``cpu``, ``cuda``,
``cuda:N``) and torch's intra-op thread count for a block."""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from seqfcn.errors import SeqfcnError


def resolve_device(name: str = "auto", local_rank: int | None = None) -> torch.device:
    """``auto`` → ``cuda`` (``cuda:local_rank`` under DDP) if available, else ``mps``, else ``cpu``."""
    if name == "auto":
        if torch.cuda.is_available():
            name = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            name = "mps"
        else:
            name = "cpu"
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise SeqfcnError(f"unknown device {name!r} ({exc})") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise SeqfcnError(f"device {name!r} requested but CUDA is not available")
        if device.index is None:
            device = torch.device("cuda", local_rank or 0)
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise SeqfcnError("device 'mps' requested but MPS is not available")
    return device


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op thread count ``n`` inside the block; the previous count after it."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
