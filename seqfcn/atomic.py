"""Atomic outputs: write to a hidden temporary file beside the target, then rename.

A crash, an error or a signal leaves either the old file or nothing, never half a
file. The published file gets the permissions a plain ``open(path, "w")`` would
give (``0o666`` less the umask; ``mkstemp`` alone would make it owner-only).
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Iterator

from seqfcn.errors import SeqfcnError


def umask() -> int:
    """The process umask (read without changing it for longer than a call)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temporary_beside(target: str | os.PathLike, suffix: str = ".tmp") -> str:
    """Create an empty hidden temporary file in ``target``'s directory; returns its path."""
    target = os.fspath(target)
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise SeqfcnError("output directory does not exist", path=directory)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(target)}.", suffix=suffix)
    except OSError as exc:
        raise SeqfcnError(f"cannot write: {exc.strerror or exc}", path=target) from None
    os.close(fd)
    return tmp


def publish(tmp: str | os.PathLike, target: str | os.PathLike) -> None:
    """Give ``tmp`` ordinary permissions and rename it onto ``target``."""
    os.chmod(tmp, 0o666 & ~umask())
    os.replace(tmp, target)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = ".tmp") -> Iterator[str]:
    """A temporary path beside ``target``; renamed onto it when the block succeeds, removed if not."""
    tmp = temporary_beside(target, suffix)
    try:
        yield tmp
        publish(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write(target: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` (text is UTF-8 encoded) to ``target`` atomically, fsynced."""
    blob = data.encode() if isinstance(data, str) else data
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
