"""The ``seqfcn`` command line: a thin shell over the library (see :mod:`seqfcn.cli.main`)."""
from seqfcn.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
