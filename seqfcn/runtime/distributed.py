"""Multi-GPU / multi-node inference under ``torchrun``: each rank runs one shard, rank 0 merges.

Launch any sharded command with torchrun instead of python, e.g.::

    torchrun --nproc-per-node 4 -m seqfcn scan genome.fa --motifs m.meme -o hits.bed

When ``WORLD_SIZE > 1`` (set by torchrun) the command shards itself automatically:
rank ``r`` of ``W`` runs shard ``(r, W)`` — the same split as ``--shard r+1/W``
(:mod:`seqfcn.runtime.shard`) — and writes a hidden part file beside the output
(``.shard{r+1}of{W}.NAME``, :func:`part_path`; the output's directory must be shared
by all nodes). The ranks then agree (a gloo ``all_reduce``) that every shard
succeeded, rank 0 merges the parts into the output with the same code as
``seqfcn merge`` and removes them. The output is identical to the single-process run.
If any rank fails, no output appears and every rank removes its own part.

``--device auto``/``cuda`` become ``cuda:LOCAL_RANK`` (:func:`rank_device`), so each
process drives its own GPU. Coordination always uses gloo (CPU tensors, a few bytes),
so the same code runs with CPU-only processes (the tests use 2 CPU processes).
"""
from __future__ import annotations

import contextlib
import datetime
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence, TypeVar

from seqfcn.errors import SeqfcnError

if TYPE_CHECKING:
    import torch

log = logging.getLogger("seqfcn")

R = TypeVar("R")

__all__ = ["RankInfo", "torchrun_rank", "rank_device", "part_path", "run_sharded"]


@dataclass(frozen=True)
class RankInfo:
    """This process's place in a torchrun launch."""

    rank: int
    world_size: int
    local_rank: int

    @property
    def shard(self) -> tuple[int, int]:
        """The 0-based ``(index, count)`` shard of this rank."""
        return self.rank, self.world_size


def torchrun_rank(environ: os._Environ | dict | None = None) -> RankInfo | None:
    """The rank from torchrun's ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``; None when not distributed.

    Raises:
        SeqfcnError: ``WORLD_SIZE > 1`` but ``RANK`` missing or out of range.
    """
    env = os.environ if environ is None else environ
    try:
        world = int(env.get("WORLD_SIZE", "1"))
        if world <= 1:
            return None
        rank = int(env["RANK"])
        local = int(env.get("LOCAL_RANK", "0"))
    except (KeyError, ValueError):
        raise SeqfcnError("WORLD_SIZE > 1 but RANK/LOCAL_RANK are not integers; launch with torchrun") from None
    if not 0 <= rank < world:
        raise SeqfcnError(f"RANK {rank} is out of range for WORLD_SIZE {world}")
    return RankInfo(rank, world, local)


def rank_device(device: str, info: RankInfo | None) -> str:
    """``cuda:LOCAL_RANK`` for ``auto``/``cuda`` when CUDA is available under torchrun, else ``device``."""
    if info is None or device not in ("auto", "cuda"):
        return device
    import torch

    if torch.cuda.is_available():
        return f"cuda:{info.local_rank % torch.cuda.device_count()}"
    return device


def part_path(output: str | os.PathLike, index: int, count: int) -> str:
    """The hidden part file of shard ``index`` (0-based) of ``count`` beside ``output``.

    ``results/hits.bed`` → ``results/.shard1of4.hits.bed`` (extension kept, so formats
    are still chosen by name).
    """
    directory, name = os.path.split(os.fspath(output))
    return os.path.join(directory, f".shard{index + 1}of{count}.{name}")


def _agree(flag: int) -> int:
    """The minimum of ``flag`` over all ranks."""
    import torch
    import torch.distributed as dist

    tensor = torch.tensor([flag], dtype=torch.int64)
    dist.all_reduce(tensor, op=dist.ReduceOp.MIN)
    return int(tensor.item())


def run_sharded(
    output: str | os.PathLike,
    run_part: Callable[[tuple[int, int] | None, str], R],
    merge: Callable[[Sequence[str], str], object],
    *,
    info: RankInfo | None = None,
    timeout_s: float = 7200.0,
) -> R:
    """Run ``run_part(shard, path)`` once per rank and merge the parts on rank 0.

    Args:
        output: the final output file (not ``-``: ranks cannot share stdout).
        run_part: does the work of one shard (0-based ``(index, count)``, or None for
            the whole input) and writes it to ``path``.
        merge: ``merge(part_paths, output)`` — e.g. :func:`seqfcn.motifs.shards.merge_scan_shards`.
        info: the rank (default: :func:`torchrun_rank`); None runs ``run_part(None, output)``.
        timeout_s: how long ranks wait for each other (gloo timeout).

    Returns:
        ``run_part``'s result for this rank.

    Raises:
        SeqfcnError: ``output`` is ``-``, or another rank failed (this rank's own error
            is re-raised as is).
    """
    info = torchrun_rank() if info is None else info
    if info is None:
        return run_part(None, str(output))
    if str(output) == "-":
        raise SeqfcnError("under torchrun every rank writes a part file: give -o FILE, not stdout")
    import torch.distributed as dist

    own_group = not dist.is_initialized()
    if own_group:
        dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=timeout_s))
    parts = [part_path(output, r, info.world_size) for r in range(info.world_size)]
    mine = parts[info.rank]
    try:
        error: BaseException | None = None
        result = None
        try:
            result = run_part(info.shard, mine)
        except BaseException as exc:  # re-raised below, after telling the other ranks
            error = exc
        all_ok = _agree(0 if error is not None else 1)
        merged_ok = 1
        if all_ok and info.rank == 0:
            try:
                merge(parts, str(output))
                log.info("rank 0 merged %d parts into %s", len(parts), output)
            except BaseException as exc:
                error, merged_ok = exc, 0
        merged_ok = _agree(merged_ok) if all_ok else 0
        if info.rank == 0 or not all_ok:
            from seqfcn.runtime.shard import manifest_path

            for path in parts if info.rank == 0 else [mine]:
                for name in (path, manifest_path(path)):  # a read part's manifest goes with it
                    with contextlib.suppress(OSError):
                        os.unlink(name)
        if error is not None:
            raise error
        if not all_ok:
            raise SeqfcnError(f"another rank failed (see its message); rank {info.rank} wrote nothing")
        if not merged_ok:
            raise SeqfcnError("rank 0 failed to merge the parts (see its message)")
        return result  # type: ignore[return-value]
    finally:
        if own_group:
            dist.destroy_process_group()


@dataclass(frozen=True)
class DistInfo:
    """This process's place in a (possibly single-process) run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False  # True when this Trainer created the process group

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_distributed(device_name: str = "auto") -> tuple[DistInfo, torch.device]:
    """Join the torchrun process group if ``WORLD_SIZE > 1`` (or one is already initialised).

    Returns the rank info and the device (``cuda:LOCAL_RANK`` on CUDA). Backend: NCCL on
    CUDA, gloo otherwise.
    """
    import torch
    import torch.distributed as dist

    from seqfcn.runtime.device import resolve_device

    if dist.is_available() and dist.is_initialized():
        local = int(os.environ.get("LOCAL_RANK", 0))
        device = resolve_device(device_name, local)
        return DistInfo(dist.get_rank(), dist.get_world_size(), local, False), device
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(), resolve_device(device_name)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_name, local)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistInfo(rank, world, local, True), device
