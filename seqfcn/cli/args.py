"""What the subcommands share: argument types that validate (:func:`positive_int`), the
common parent parser (-q/-v/--threads/--device/--seed), the ``--model`` argument of the model
jobs, the inputs and outputs each subcommand declares and has checked before it runs
(:func:`declare_io`, :func:`check_io`, :func:`refuse_overwrite`), and the helpers that turn
the common arguments into a run (:func:`model_device`, :func:`torchrun_rank`, :func:`run_shards`).

Nothing here imports PyTorch or pandas at module level: ``seqfcn scan`` on CPU must not load them.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from seqfcn.errors import SeqfcnError


def _at_least(text: str, low: int) -> int:
    """``text`` as an integer >= ``low`` (a bad value is a usage error, exit 2, one line)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, not {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, not {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    return _at_least(text, 1)


def count_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _at_least(text, 0)


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def memory_size(text: str) -> int:
    """argparse type for --memory: bytes, or a number with K, M, G or T (powers of 1024, as
    ``samtools sort -m``; a trailing B or iB is allowed), at least 1M."""
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if m is None:
        raise argparse.ArgumentTypeError(f"expected a size such as 500M, 4G or 2.5G, not {text!r}")
    value = int(float(m.group(1)) * _UNITS[m.group(2).upper()])
    if value < _UNITS["M"]:
        raise argparse.ArgumentTypeError(f"expected at least 1M, not {text!r}")
    return value


def solid_count(text: str) -> int | str | None:
    """argparse type for --solid: ``auto``, ``off`` or a count >= 1."""
    if text in ("auto", "off"):
        return None if text == "off" else text
    return positive_int(text)


def common_parser() -> argparse.ArgumentParser:
    """The parent parser of every subcommand: -q/-v/--threads/--device/--seed."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("common options")
    group.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")
    group.add_argument("-v", "--verbose", action="store_true", help="debug messages on stderr")
    group.add_argument("--threads", type=positive_int, default=None, help="CPU threads for torch (default: torch's)")
    group.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    group.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    return common


@dataclass(frozen=True)
class IOSpec:
    """Which arguments of a subcommand are inputs, output files and output directories:
    ``(dest, label)`` pairs, checked by :func:`seqfcn.io.overwrite.check_outputs` before the run."""

    inputs: tuple[tuple[str, str], ...] = ()
    outputs: tuple[tuple[str, str], ...] = ()
    directories: tuple[tuple[str, str], ...] = ()
    written: Callable[[], Sequence[str]] | None = None  # names written inside the directories
    folders: tuple[tuple[str, str], ...] = ()  # output directories whose entries are named during the run


def declare_io(p: argparse.ArgumentParser, inputs: Sequence[str] = (), outputs: Sequence[str] = (),
                directories: Sequence[str] = (), written: Callable[[], Sequence[str]] | None = None,
                folders: Sequence[str] = ()) -> None:
    """Record a subcommand's input and output arguments (by dest) for the checks of :func:`check_io`.

    ``written`` (called only when checking, so heavy modules load late) names the entries
    the command writes inside its output directories; ``folders`` are output directories
    whose entries are only named during the run (checked then by :func:`refuse_overwrite`)."""
    labels = {a.dest: "/".join(a.option_strings) or a.dest for a in p._actions}

    def pairs(dests: Sequence[str]) -> tuple[tuple[str, str], ...]:
        return tuple((d, labels[d]) for d in dests)

    p.set_defaults(io=IOSpec(pairs(inputs), pairs(outputs), pairs(directories), written, pairs(folders)))


def check_io(args: argparse.Namespace) -> None:
    """Refuse, before any input is read or any work starts, a run whose outputs would replace
    one of its inputs or cannot be written (an output file that is a directory or lies in a
    missing directory, an output directory that is a file)."""
    spec: IOSpec | None = getattr(args, "io", None)
    if spec is None:
        return
    from seqfcn.io.overwrite import check_output_places, check_outputs

    def values(pairs: tuple[tuple[str, str], ...]) -> dict:
        return {label: getattr(args, dest, None) for dest, label in pairs}

    names = list(spec.written()) if spec.written is not None else None
    directories = {label: (getattr(args, dest, None), names) for dest, label in spec.directories}
    check_outputs(values(spec.inputs), values(spec.outputs), directories)
    check_output_places(values(spec.outputs), values(spec.directories + spec.folders))


def refuse_overwrite(args: argparse.Namespace, label: str, paths: Sequence[str]) -> None:
    """Refuse, before writing, files a command names itself (per-channel tracks, logos) that
    would replace one of its inputs (:func:`seqfcn.io.overwrite.check_outputs`)."""
    from seqfcn.io.overwrite import check_outputs

    spec: IOSpec = args.io
    check_outputs({lab: getattr(args, dest, None) for dest, lab in spec.inputs},
                  {f"{label} ({p})": p for p in paths})


# --------------------------------------------------------------------------- runs
def add_model_argument(p: argparse.ArgumentParser) -> None:
    """``--model`` of the jobs that run a trained sequence model (predict, attribute, variants, discover)."""
    p.add_argument("--model", required=True, help="model directory, file or shipped name (4 input channels; "
                   "`seqfcn models` lists the shipped ones)")


def model_device(args: argparse.Namespace, rank: int | None = None) -> str:
    """``--device`` for a model job: ``auto`` resolved (cuda, mps, cpu), the rank's GPU under torchrun."""
    from seqfcn.runtime.device import resolve_device
    from seqfcn.runtime.distributed import rank_device

    return str(resolve_device(rank_device(args.device, rank)))


def torchrun_rank(args: argparse.Namespace) -> int | None:
    """This process's torchrun rank (None outside torchrun); ``--shard`` and torchrun exclude each other."""
    from seqfcn.runtime.distributed import torchrun_rank

    rank = torchrun_rank()
    if args.shard and rank is not None:
        raise SeqfcnError("--shard and torchrun both split the work; use one of them")
    return rank


def run_shards(args: argparse.Namespace, rank: int | None, run: Callable[[tuple[int, int] | None, Any], None],
                merge: Callable[[Sequence[str], str], object], output: Any = None) -> None:
    """Run the job: one ``--shard i/n``, or every torchrun rank's share merged by rank 0, or all of it.
    ``output``: what ``run`` writes (default ``args.output``); paired outputs (a list) run unsharded
    or as one ``--shard``, never under torchrun."""
    from seqfcn.runtime.distributed import run_sharded
    from seqfcn.runtime.tiling import parse_shard

    output = args.output if output is None else output
    if args.shard:
        run(parse_shard(args.shard), output)
    elif isinstance(output, list):
        run(None, output)
    else:
        run_sharded(output, run, merge, info=rank)
