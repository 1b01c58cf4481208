"""No command writes over one of its inputs.

:func:`check_outputs` compares every output a command is about to write (files,
and output directories) with every input it reads (files, and the files inside
input directories such as a model folder), before anything is read. Two paths
are the same file when they resolve to the same place (``./a``, ``dir/../a``,
symlinks) or share a device and inode (hard links). Standard output counts as a
path when it is redirected to a regular file. Two outputs that are one file are
refused too (the second would replace the first). :func:`check_output_places` refuses,
just as early, an output file that is a directory or whose directory does not exist, and
an output directory that is a file.
"""
from __future__ import annotations

import os
import stat
from typing import Iterable, Mapping, Sequence

from seqfcn.errors import SeqfcnError

PathLike = str | os.PathLike
_DIR_DEPTH = 3  # how deep input and output directories are looked into


def _identity(path: PathLike | int) -> tuple[int, int] | None:
    """``(device, inode)`` of an existing regular file (a path, or an open descriptor), else None."""
    try:
        st = os.fstat(path) if isinstance(path, int) else os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def _files_under(directory: str, depth: int = _DIR_DEPTH) -> Iterable[str]:
    """Regular files in ``directory`` and its subdirectories, ``depth`` levels down."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        if entry.is_dir():
            if depth > 1:
                yield from _files_under(entry.path, depth - 1)
        elif entry.is_file():
            yield entry.path


def _flatten(values: Mapping[str, PathLike | Sequence[PathLike] | None]) -> list[tuple[str, str]]:
    out = []
    for label, value in values.items():
        if value is None:
            continue
        items = value if isinstance(value, (list, tuple)) else [value]
        out += [(label, os.fspath(v)) for v in items if v is not None]
    return out


def _input_files(inputs: Mapping[str, PathLike | Sequence[PathLike] | None]) -> list[tuple[str, str, tuple | None]]:
    """``(label, path, identity)`` of every input file (directories expanded; ``-`` left out)."""
    files = []
    for label, path in _flatten(inputs):
        if path == "-":
            continue
        if os.path.isdir(path):
            files += [(label, f, _identity(f)) for f in _files_under(path)]
        else:
            files.append((label, path, _identity(path)))
    return files


def _inside(path: str, directory: str) -> bool:
    real, top = os.path.realpath(path), os.path.realpath(directory)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def _refuse(output_label: str, output: str, input_label: str, input_path: str) -> SeqfcnError:
    where = "is" if os.path.realpath(output) == os.path.realpath(input_path) else "is the same file as"
    return SeqfcnError(
        f"{output_label} {where} the input {input_path} ({input_label}); seqfcn never writes over an input, "
        "choose another output path",
        path=output,
    )


def check_outputs(
    inputs: Mapping[str, PathLike | Sequence[PathLike] | None],
    outputs: Mapping[str, PathLike | None] | None = None,
    directories: Mapping[str, PathLike | tuple[PathLike | None, Sequence[str] | None] | None] | None = None,
) -> None:
    """Refuse (``SeqfcnError``) when an output would replace or write into an input.

    Args:
        inputs: label (e.g. ``"--motifs"``) → input path(s); directories stand for the
            files inside them; ``-`` (stdin) and None are skipped.
        outputs: label → output file path; ``-`` means standard output (checked when it
            is redirected to a regular file).
        directories: label → output directory, or ``(directory, names)`` where ``names``
            are the entries the command writes in it; no input may lie at those places
            (anywhere in the directory when no names are given).
    """
    outputs, directories = outputs or {}, directories or {}
    files = _input_files(inputs)
    seen: dict[tuple[int, int] | str, str] = {}
    for label, out in _flatten(outputs):
        ident = _identity(1) if out == "-" else _identity(out)
        shown = "standard output" if out == "-" else out
        for in_label, in_path, in_ident in files:
            if (ident is not None and ident == in_ident) or (
                out != "-" and os.path.realpath(out) == os.path.realpath(in_path)
            ):
                raise _refuse(label, shown, in_label, in_path)
        if out == "-":
            continue
        key: tuple[int, int] | str = ident if ident is not None else os.path.realpath(out)
        if key in seen:
            raise SeqfcnError(f"{label} and {seen[key]} are the same file; give each output its own path", path=out)
        seen[key] = label
    for label, value in directories.items():
        directory, names = value if isinstance(value, tuple) else (value, None)
        if directory is None:
            continue
        directory = os.fspath(directory)
        _check_directory(label, directory, names, files)
        for out_label, out in _flatten(outputs):
            if out != "-" and _inside(out, directory):
                raise SeqfcnError(f"{out_label} lies inside {label}'s output directory; choose another path",
                                  path=out)


def _check_directory(label: str, directory: str, names: Sequence[str] | None,
                     files: list[tuple[str, str, tuple | None]]) -> None:
    """Refuse when an input lies where the command writes inside ``directory``.

    ``names`` are the entries the command writes in it (files or subdirectories); None
    means it may write anywhere in it.
    """
    for in_label, in_path, ident in files:  # the directory's own path is an input file
        if os.path.realpath(directory) == os.path.realpath(in_path) or (
                ident is not None and _identity(directory) == ident):
            raise _refuse(label, directory, in_label, in_path)
    targets = [directory] if names is None else [os.path.join(directory, n) for n in names]
    written: set = set()
    for t in targets:
        written |= {_identity(f) for f in _files_under(t)} | {_identity(t)}
    written.discard(None)
    for in_label, in_path, ident in files:
        if any(_inside(in_path, t) for t in targets) or ident in written:
            raise SeqfcnError(
                f"{label} would write over the input {in_path} ({in_label}); choose another output directory",
                path=directory,
            )


def check_output_places(
    files: Mapping[str, PathLike | Sequence[PathLike] | None],
    directories: Mapping[str, PathLike | None] | None = None,
) -> None:
    """Refuse (``SeqfcnError``), before any input is read, outputs that cannot be written.

    Args:
        files: label → output file path(s) (``-`` = standard output, skipped): the path must
            not be a directory and its directory must exist.
        directories: label → output directory, created with its parents when missing: it
            must not be a file, nor lie below one.
    """
    for label, out in _flatten(files):
        if out == "-":
            continue
        if os.path.isdir(out):
            raise SeqfcnError(f"{label} is a directory; give a file name", path=out)
        parent = os.path.dirname(out) or "."
        if not os.path.isdir(parent):
            raise SeqfcnError(f"{label}: the output's directory does not exist ({parent})", path=out)
    for label, directory in _flatten(directories or {}):
        wanted = place = os.path.normpath(os.path.abspath(directory))  # as mkdir(parents=True) walks it
        while not os.path.exists(place) and os.path.dirname(place) != place:
            place = os.path.dirname(place)
        if not os.path.isdir(place):
            where = "is a file" if place == wanted else f"lies below the file {place}"
            raise SeqfcnError(f"{label} {where}, not a directory; give a directory", path=directory)
