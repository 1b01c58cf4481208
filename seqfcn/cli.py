"""Command-line interface: argparse subcommands, each a thin shell over one library function.

User errors (:class:`~seqfcn.errors.SeqfcnError`) become one line on stderr and
exit code 2; anything else is a bug and keeps its traceback (exit code 1).
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Callable, Sequence

from seqfcn import __version__
from seqfcn.errors import SeqfcnError

log = logging.getLogger("seqfcn")


def _common_parser() -> argparse.ArgumentParser:
    """Options every subcommand shares."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("common options")
    group.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")
    group.add_argument("-v", "--verbose", action="store_true", help="debug messages on stderr")
    group.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's)")
    group.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    group.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    return common


# --------------------------------------------------------------------------- info
def _add_info(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "info",
        parents=[common],
        help="summarise a genome FASTA (chromosomes, composition, encoding) or a model directory",
        description="Summarise a FASTA genome or a seqfcn model directory.",
    )
    p.add_argument("path", help="FASTA (plain or bgzip) or a model directory")
    p.set_defaults(func=_run_info)


def _run_info(args: argparse.Namespace) -> int:
    from pathlib import Path

    path = Path(args.path)
    if path.is_dir() or path.suffix in (".json", ".safetensors"):
        from seqfcn.checkpoint import describe_model

        print(describe_model(path))
        return 0
    from seqfcn.io.fasta import genome_summary

    print(genome_summary(path).to_string(index=False))
    return 0


_SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction, argparse.ArgumentParser], None], ...] = (
    _add_info,
)


def build_parser() -> argparse.ArgumentParser:
    """The full ``seqfcn`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="seqfcn",
        description="1D fully convolutional networks for DNA: encode, scan, correct, train, evaluate.",
    )
    parser.add_argument("--version", action="version", version=f"seqfcn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    common = _common_parser()
    for add in _SUBCOMMANDS:
        add(sub, common)
    return parser


def _setup(args: argparse.Namespace) -> None:
    level = logging.ERROR if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="seqfcn: %(levelname)s: %(message)s", stream=sys.stderr)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``seqfcn``; returns the exit code (0 ok, 2 user error, 1 internal error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    _setup(args)
    try:
        return int(args.func(args) or 0)
    except SeqfcnError as exc:
        print(f"seqfcn {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"seqfcn {args.command}: interrupted", file=sys.stderr)
        return 130
