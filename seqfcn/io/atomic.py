"""Atomic outputs: write to a hidden temporary file beside the target, then rename.

A crash, an error or a signal leaves either the old file or nothing, never half a
file. The published file gets the permissions a plain ``open(path, "w")`` would
give (``0o666`` less the umask; ``mkstemp`` alone would make it owner-only).

Temporaries are named ``.TARGET.HOST.PID.RANDOM.SUFFIX``. A process killed with SIGKILL
cannot clean up, so the next write of the same target removes the temporaries of
processes that no longer run on this host (those of other hosts, on a shared
filesystem, are left alone: their processes cannot be checked from here).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
from typing import IO, Any, Iterator

from seqfcn.errors import SeqfcnError


def umask() -> int:
    """The process umask (read without changing it for longer than a call)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _host() -> str:
    """This host's name as it appears in temporary names (no dots, so names split cleanly)."""
    return socket.gethostname().replace(".", "_") or "localhost"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temporaries(target: str | os.PathLike) -> list[str]:
    """Remove temporaries of ``target`` left by dead processes of this host; returns their paths."""
    target = os.path.abspath(os.fspath(target))
    directory, base = os.path.split(target)
    prefix = f".{base}.{_host()}."
    removed = []
    with contextlib.suppress(OSError):
        for name in os.listdir(directory):
            if not name.startswith(prefix):
                continue
            pid = name[len(prefix):].split(".", 1)[0]
            if not pid.isdigit() or int(pid) == os.getpid() or _pid_alive(int(pid)):
                continue
            path = os.path.join(directory, name)
            with contextlib.suppress(OSError):
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
                removed.append(path)
    return removed


def _temporary_prefix(target: str) -> str:
    return f".{os.path.basename(target)}.{_host()}.{os.getpid()}."


def _output_directory(target: str) -> str:
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise SeqfcnError("output directory does not exist", path=directory)
    remove_stale_temporaries(target)
    return directory


def temporary_beside(target: str | os.PathLike, suffix: str = ".tmp") -> str:
    """Create an empty hidden temporary file in ``target``'s directory; returns its path."""
    target = os.fspath(target)
    directory = _output_directory(target)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=_temporary_prefix(target), suffix=suffix)
    except OSError as exc:
        raise SeqfcnError(f"cannot write: {exc.strerror or exc}", path=target) from None
    os.close(fd)
    return tmp


def temporary_directory_beside(target: str | os.PathLike) -> str:
    """Create an empty hidden temporary directory beside ``target`` (a directory); returns its path."""
    target = os.fspath(target).rstrip("/") or "/"
    directory = _output_directory(target)
    try:
        return tempfile.mkdtemp(dir=directory, prefix=_temporary_prefix(target))
    except OSError as exc:
        raise SeqfcnError(f"cannot write: {exc.strerror or exc}", path=target) from None


def publish(tmp: str | os.PathLike, target: str | os.PathLike) -> None:
    """Give ``tmp`` (a file) ordinary permissions and rename it onto ``target``.

    Raises:
        SeqfcnError: the rename failed (e.g. ``target`` is a directory); ``tmp`` is removed.
    """
    try:
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        what = "is a directory" if os.path.isdir(target) else f"cannot write: {exc.strerror or exc}"
        raise SeqfcnError(what, path=target) from None


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


@contextlib.contextmanager
def atomic_text(target: str | os.PathLike) -> Iterator[IO[str]]:
    """A text handle for ``target`` (``-`` = stdout; ``.gz`` compresses, with no file name and
    mtime 0 in the gzip header so the same text gives the same bytes) that appears only
    when the block completes."""
    import gzip
    import io
    import sys

    if str(target) == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    with atomic_path(target) as tmp:
        if not str(target).endswith(".gz"):
            with open(tmp, "w", newline="\n") as handle:
                yield handle
            return
        with open(tmp, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz, \
                io.TextIOWrapper(gz, encoding="ascii", newline="\n") as handle:
            yield handle


def atomic_write(target: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` (text is UTF-8 encoded) to ``target`` atomically, fsynced."""
    blob = data.encode() if isinstance(data, str) else data
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())


def write_json(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` as indented, key-sorted JSON atomically (temp file in the same folder, then rename)."""
    import json

    atomic_write(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")
