"""Command-line interface: the ``seqfcn`` parser, its exit codes and signals.

Each subcommand lives in its family's module (:mod:`.info`, :mod:`.scan`, :mod:`.interpret`,
:mod:`.correct`, :mod:`.evaluate`, :mod:`.train`, :mod:`.merge`) as an ``add_*`` function that builds its parser
and a ``run_*`` function that calls the library; :mod:`.args` holds what they share.
User errors (:class:`~seqfcn.errors.SeqfcnError`) become one line on stderr and
exit code 2; anything else is a bug and keeps its traceback (exit code 1).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from seqfcn import __version__
from seqfcn.cli import correct, evaluate, info, interpret, longread, merge, scan, train
from seqfcn.cli.args import check_io, common_parser
from seqfcn.errors import SeqfcnError

log = logging.getLogger("seqfcn")

_SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction, argparse.ArgumentParser], None], ...] = (
    info.add_info,
    info.add_models,
    evaluate.add_evaluate,
    scan.add_scan,
    interpret.add_predict,
    interpret.add_attribute,
    interpret.add_variants,
    interpret.add_discover,
    correct.add_correct,
    correct.add_count,
    longread.add_overlap,
    train.add_train,
    merge.add_merge,
)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (``seqfcn scan: error: ...``), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The full ``seqfcn`` argument parser."""
    parser = _Parser(
        prog="seqfcn",
        description="1D fully convolutional networks for DNA: encode, scan, correct, train, evaluate.",
    )
    parser.add_argument("--version", action="version", version=f"seqfcn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    common = common_parser()
    for add in _SUBCOMMANDS:
        add(sub, common)
    return parser


def _setup(args: argparse.Namespace) -> None:
    level = logging.ERROR if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="seqfcn: %(levelname)s: %(message)s", stream=sys.stderr)
    # scan hands --threads to its kernels itself, so a CPU PWM scan never loads PyTorch
    if args.threads and args.command != "scan":
        _set_threads(args.threads)


def _set_threads(n: int) -> None:
    """``--threads`` for the compiled k-mer kernels and for PyTorch, without importing it (``seqfcn
    correct`` counts the reads before it does): set now where it is loaded, else through
    ``OMP_NUM_THREADS``, which it reads when it is imported."""
    from seqfcn.correction.kmers import set_kernel_threads

    set_kernel_threads(n)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)
    else:
        os.environ["OMP_NUM_THREADS"] = str(n)


class _Terminated(BaseException):
    """SIGTERM turned into an exception, so atomic writers remove their temporary files."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated(signum)


def _catch_sigterm() -> Callable | int | None:
    """Make SIGTERM unwind the stack (exit 143, no partial output); returns the previous handler."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)


def _finish_progress_bars() -> None:
    """Close open tqdm bars so that a message starts on a line of its own (not after ``\rscan: 0%|...``)."""
    std = sys.modules.get("tqdm.std")
    if std is None:
        return
    for bar in list(getattr(std.tqdm, "_instances", ())):
        bar.leave = True  # keep what it showed, then end its line
        bar.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``seqfcn``; returns the exit code (0 ok, 2 user error, 1 internal error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    _setup(args)
    previous = _catch_sigterm()
    try:
        check_io(args)
        return int(args.func(args) or 0)
    except SeqfcnError as exc:
        _finish_progress_bars()
        print(f"seqfcn {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        _finish_progress_bars()
        print(f"seqfcn {args.command}: interrupted", file=sys.stderr)
        return 130
    except _Terminated:
        _finish_progress_bars()
        print(f"seqfcn {args.command}: terminated", file=sys.stderr)
        return 143
    finally:
        if previous is not None:
            import signal

            signal.signal(signal.SIGTERM, previous)
