"""htslib's own messages, silenced where seqfcn reports the problem itself.

htslib (under pysam) prints ``[E::...]``/``[W::...]`` lines straight to the process's
stderr. Where seqfcn turns the failure into its one-line error (naming file, record and
position), those lines would say the same thing a second time, in htslib's words, and
would appear even under ``-q``. Both helpers restore the previous verbosity, so other
pysam users in the process are unaffected.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterable, Iterator

__all__ = ["quiet_htslib", "quiet_records"]


@contextlib.contextmanager
def quiet_htslib() -> Iterator[None]:
    """htslib's ``[E::]``/``[W::]`` lines off inside the block; the previous verbosity after."""
    import pysam

    verbosity = pysam.set_verbosity(0)
    try:
        yield
    finally:
        pysam.set_verbosity(verbosity)


def quiet_records(records: Iterable[Any]) -> Iterator[Any]:
    """``records`` (a pysam file or record iterator) with htslib silenced while each is read
    and restored between records (the consumer's own pysam calls keep their verbosity)."""
    it = iter(records)
    while True:
        with quiet_htslib():
            entry = next(it, _END)
        if entry is _END:
            return
        yield entry


_END = object()
