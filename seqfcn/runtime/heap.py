"""The process's memory: glibc heap settings for passes that allocate and free many
multi-megabyte numpy arrays, and its resident size now (for passes that budget memory).

glibc serves a block from its own mapping only above a threshold that, by default, rises to
the size of the largest mapped block freed so far (up to 32 MiB). The k-mer counter's
sub-tables double and are freed a few MiB at a time, so after the first free they come from
the heap, whose freed holes stay resident: counting the 30 Mbp human set peaked at 434 MB
with the default and 351 MB with a fixed 128 KiB threshold. Written here with ctypes: no
maintained package sets ``mallopt``."""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
from typing import Iterator

M_MMAP_THRESHOLD = -3  # mallopt parameter (malloc.h)
GLIBC_MAX_THRESHOLD = 32 << 20  # the most glibc's rising threshold reaches on 64-bit systems


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "mallopt") else None


@contextlib.contextmanager
def mapped_blocks(threshold: int = 128 << 10) -> Iterator[None]:
    """Inside the block, every allocation of ``threshold`` bytes or more gets its own mapping
    (returned to the system when freed); afterwards the threshold stays at glibc's own
    ceiling, 32 MiB (what it would have risen to). Nothing off glibc."""
    libc = _libc()
    if libc is None:
        yield
        return
    libc.mallopt(M_MMAP_THRESHOLD, int(threshold))
    try:
        yield
    finally:
        libc.mallopt(M_MMAP_THRESHOLD, GLIBC_MAX_THRESHOLD)


def resident_bytes() -> int:
    """The process's resident memory now, in bytes (``/proc/self/statm``; elsewhere its peak
    so far, ``getrusage``, which is never less)."""
    import os

    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)
