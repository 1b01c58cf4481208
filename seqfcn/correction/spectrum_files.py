"""Spectrum files written and read a piece at a time: what bounds the memory of ``seqfcn count
--memory``, of ``seqfcn merge`` of count shards and of ``seqfcn correct --spectrum``.

A spectrum file (:meth:`seqfcn.correction.kmers.KmerTable.save`) is an ``.npz`` (deflated)
of ``keys.npy`` (``(n,)`` sorted unique uint64 canonical k-mers), ``counts.npy`` (``(n,)``
int64) and ``meta.npy`` (JSON as uint8). Here, for ``k <= 21`` (a k-mer and its count packed
in one uint64, ``key << COUNT_BITS | count``):

* :func:`write_sorted` writes one from packed k-mers given as chunks in any order (the
  counter's spilled sub-tables, or shard files' arrays): each chunk is sorted and cut by the
  key's top bits into ``2**RANGE_BITS`` key ranges appended to files on disk; then each range
  is read, sorted and appended to ``keys.npy``, and read again for ``counts.npy``. Only one
  chunk or one range (about ``n / 256`` k-mers) is ever in memory; the file holds the same
  arrays (and meta) as :meth:`KmerTable.save` of the whole table.
* :class:`SpectrumReader` streams a file's arrays in chunks, checking that the keys are
  sorted, unique and ``k``-mers, and that the shapes match the meta.
* :func:`load_compact` fills the correction index (:class:`SpectrumIndex`) from a file as the
  counting passes do: the k-mers go to disk by sub-table (the top bits of their mix), then
  the index is filled one sub-table at a time; the index and one sub-table's k-mers are all
  it holds, never the file's 16 bytes a k-mer.

The disk holds 8 bytes a k-mer (``tmp`` / ``$TMPDIR``); numpy's own ``.npy`` header
functions write and read the members, ``zipfile`` the archive (as ``numpy.savez_compressed``).
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
import zlib
from typing import IO, Iterable, Iterator

import numpy as np

from seqfcn.correction.kmers import HISTOGRAM_TOP, KmerTable, _median_of_histogram
from seqfcn.correction.spectrum import COUNT_BITS, SUB_BITS, SUBS, compiled, packs
from seqfcn.correction.spectrum_index import SpectrumIndex, mix
from seqfcn.errors import ModelFileError, SeqfcnError

__all__ = ["RANGE_BITS", "SpectrumReader", "load_compact", "spill_dir", "take", "write_run", "write_sorted"]

RANGE_BITS = 8
"""Key ranges (by the key's top bits) a sorted file is assembled from."""
CHUNK = 1 << 22
"""k-mers read from a file at a time."""
_COUNT_MASK = np.uint64((1 << COUNT_BITS) - 1)


def spill_dir(tmp_dir: str | os.PathLike | None) -> tempfile.TemporaryDirectory:
    """A temporary directory for k-mers on disk (``tmp_dir`` or ``$TMPDIR``); one line when it cannot be made."""
    try:
        return tempfile.TemporaryDirectory(prefix="seqfcn-spectrum-", dir=tmp_dir)
    except OSError as exc:
        raise SeqfcnError(f"cannot make a directory for k-mers on disk: {exc.strerror} (set TMPDIR to a writable "
                          "disk)", path=exc.filename or tmp_dir) from None


def write_run(path: str, pieces: Iterable[np.ndarray], *, append: bool = False) -> int:
    """Write (or append) uint64 ``pieces`` to ``path``; the k-mers written. A full or unwritable
    disk is a one-line error."""
    total = 0
    try:
        with open(path, "ab" if append else "wb") as fh:
            for piece in pieces:
                np.ascontiguousarray(piece, np.uint64).tofile(fh)
                total += int(piece.shape[0])
    except OSError as exc:
        raise SeqfcnError(f"cannot write k-mers to disk: {exc.strerror} (they need 8 bytes a k-mer; set TMPDIR "
                          "to a disk with room)", path=path) from None
    return total


def take(path: str, size: int, *, keep: bool = False) -> np.ndarray:
    """The ``size`` uint64 written to ``path`` (removed unless ``keep``), checked against that size."""
    if size == 0 and not os.path.exists(path):
        return np.zeros(0, np.uint64)
    chunk = np.fromfile(path, np.uint64)
    if not keep:
        os.remove(path)
    if chunk.shape[0] != size:
        raise SeqfcnError(f"holds {chunk.shape[0]:,} k-mers where {size:,} were written: the temporary directory "
                          "was changed while seqfcn ran", path=path)
    return chunk


def _append_parts(packed: np.ndarray, part: np.ndarray, names: list[str], sizes: list[int] | np.ndarray) -> None:
    """Append ``packed`` (uint64) to the files ``names`` by ``part`` (non-decreasing, ``0..len(names)-1``),
    counting what each file received in ``sizes``."""
    cuts = np.searchsorted(part, np.arange(len(names) + 1, dtype=part.dtype))
    for i in np.nonzero(np.diff(cuts))[0].tolist():
        sizes[i] += write_run(names[i], [packed[cuts[i]:cuts[i + 1]]], append=True)


def write_sorted(path: str | os.PathLike, k: int, chunks: Iterable[np.ndarray], meta: dict, tmp: str) -> dict:
    """Write the spectrum file ``path`` (atomically) of the packed k-mers ``chunks`` (each
    ``(m,)`` uint64 ``key << COUNT_BITS | count``, unique keys over all chunks, any order;
    each chunk is sorted in place) with ``meta`` (``source``, ``inputs``, ``reads``,
    ``shard``: as :meth:`KmerTable.meta`; ``k``, ``scale`` and ``distinct`` are set here).
    ``tmp``: a directory for the key ranges. Returns the file's meta."""
    from seqfcn.io.atomic import atomic_path

    if not packs(k):
        raise ValueError(f"k = {k}: a k-mer and its count do not pack in one uint64")
    bits = min(RANGE_BITS, 2 * k)
    shift = np.uint64(COUNT_BITS + 2 * k - bits)
    sizes = np.zeros(1 << bits, np.int64)
    names = [os.path.join(tmp, f"range{r}.u64") for r in range(1 << bits)]
    for chunk in chunks:
        chunk.sort()
        _append_parts(chunk, chunk >> shift, names, sizes)
        del chunk
    n = int(sizes.sum())
    hist = np.zeros(1, np.int64)
    with atomic_path(path) as out, open(out, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
        with _member(zf, "keys.npy", "<u8", n) as member:
            for name, size in zip(names, sizes.tolist()):
                run = take(name, size, keep=True)
                run.sort()
                if run.shape[0] > 1 and not (run[1:] >> np.uint64(COUNT_BITS) > run[:-1] >> np.uint64(COUNT_BITS)).all():
                    raise RuntimeError("a k-mer was given twice to write_sorted")
                write_run(name, [run])
                member.write((run >> np.uint64(COUNT_BITS)).astype("<u8").tobytes())
        with _member(zf, "counts.npy", "<i8", n) as member:
            for name, size in zip(names, sizes.tolist()):
                counts = (take(name, size) & _COUNT_MASK).astype("<i8")
                hist = _add(hist, np.bincount(counts))
                member.write(counts.tobytes())
        meta = {"k": int(k), "source": meta.get("source", "reads"), "scale": max(_median_of_histogram(hist), 1.0),
                "distinct": n, **{key: meta[key] for key in ("inputs", "reads", "shard") if meta.get(key) is not None}}
        with zf.open("meta.npy", "w") as member:
            np.lib.format.write_array(member, np.frombuffer(json.dumps(meta).encode(), np.uint8), allow_pickle=False)
    return meta


@contextlib.contextmanager
def _member(zf: zipfile.ZipFile, name: str, descr: str, n: int) -> Iterator[IO[bytes]]:
    """A ``.npy`` member of ``n`` values of ``descr`` being written: its header, then the caller's bytes."""
    with zf.open(name, "w", force_zip64=True) as member:
        np.lib.format.write_array_header_1_0(member, {"descr": descr, "fortran_order": False, "shape": (n,)})
        yield member


def _add(total: np.ndarray, more: np.ndarray) -> np.ndarray:
    """The sum of two count histograms of different lengths."""
    if more.shape[0] > total.shape[0]:
        total, more = more.astype(np.int64), total
    total[: more.shape[0]] += more
    return total


class SpectrumReader:
    """A spectrum file opened for streaming (a context manager): :attr:`meta`, :meth:`header`
    and :meth:`chunks`. Errors name the file and are one line."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = str(path)
        if not os.path.isfile(self.path):
            raise SeqfcnError("no such spectrum file", path=self.path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise ModelFileError(f"not a seqfcn k-mer table: {exc}", path=self.path) from None
        try:
            with self._zip.open("meta.npy") as fh:
                self.meta = json.loads(np.lib.format.read_array(fh, allow_pickle=False).tobytes().decode())
            self.k, self.n = int(self.meta["k"]), int(self.meta["distinct"])
            self.scale, self.source = float(self.meta["scale"]), str(self.meta["source"])
            if not 1 <= self.k <= 31 or self.n < 0 or not np.isfinite(self.scale):
                raise ValueError(f"k {self.k}, {self.n} k-mers and scale {self.scale} in its meta")
        except (OSError, ValueError, KeyError, TypeError, AttributeError, zipfile.BadZipFile, zlib.error,
                EOFError) as exc:
            self._zip.close()
            raise ModelFileError(f"not a seqfcn k-mer table: {exc}", path=self.path) from None

    def __enter__(self) -> "SpectrumReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self._zip.close()

    def header(self) -> KmerTable:
        """The file's meta as an empty :class:`KmerTable` (``k``, ``source``, ``scale``,
        ``inputs``, ``reads``, ``shard``: what the checks before any work read)."""
        return KmerTable(self.k, np.zeros(0, np.uint64), np.zeros(0, np.int64), scale=self.scale,
                         source=self.source, inputs=self.meta.get("inputs"),
                         reads=self.meta.get("reads"), shard=self.meta.get("shard"))

    def chunks(self, size: int = CHUNK) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(keys, counts)`` (uint64, int64) of up to ``size`` k-mers at a time, in the file's order."""
        last = -1
        try:
            with self._zip.open("keys.npy") as kf, self._zip.open("counts.npy") as cf:
                _header(kf, np.uint64, self.n)
                _header(cf, np.int64, self.n)
                for at in range(0, self.n, size):
                    m = min(size, self.n - at)
                    keys = np.frombuffer(_read(kf, 8 * m), "<u8").astype(np.uint64)
                    counts = np.frombuffer(_read(cf, 8 * m), "<i8").astype(np.int64)
                    self._check(keys, counts, last)
                    last = int(keys[-1])
                    yield keys, counts
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise ModelFileError(f"not a seqfcn k-mer table: {exc}", path=self.path) from None

    def _check(self, keys: np.ndarray, counts: np.ndarray, last: int) -> None:
        if keys[0] <= last and last >= 0 or (keys.shape[0] > 1 and not (keys[1:] > keys[:-1]).all()):
            raise ValueError("its k-mers are not sorted and unique")
        if int(keys[-1]) >> (2 * self.k):
            raise ValueError(f"it holds a value that is not a {self.k}-mer")
        if int(counts.min()) < 0:
            raise ValueError("it holds a negative count")


def _header(fh: IO[bytes], dtype: type, n: int) -> None:
    """Read a ``.npy`` header from ``fh``; ValueError unless it is ``(n,)`` of ``dtype``."""
    version = np.lib.format.read_magic(fh)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, got = read(fh)
    if shape != (n,) or got != np.dtype(dtype) or fortran:
        raise ValueError(f"an array of {shape} {got} where its meta says ({n},) {np.dtype(dtype)}")


def _read(fh: IO[bytes], nbytes: int) -> bytes:
    data = fh.read(nbytes)
    if len(data) != nbytes:
        raise ValueError("it ends early")
    return data


def load_compact(path: str | os.PathLike, reader: SpectrumReader, *, min_cap: int = 0,
                 tmp_dir: str | os.PathLike | None = None) -> KmerTable:
    """The spectrum file ``path`` (open as ``reader``) as a compacted table (:meth:`KmerTable.compact`,
    counts exact up to at least ``min_cap``), built a sub-table at a time (the module docstring):
    the table ``KmerTable.load(path).compact(min_cap=min_cap)`` gives (the meta's typical count;
    the index keeps counts only up to its cap, far below the 4,194,303 a packed k-mer holds);
    k > 21 or no compiled kernels: loaded whole, then compacted."""
    if not (packs(reader.k) and compiled()):
        return KmerTable.load(path).compact(min_cap=min_cap)
    k, n = reader.k, reader.n
    shift = np.uint64(2 * k - SUB_BITS)
    hist = np.zeros(HISTOGRAM_TOP + 1, np.int64)  # clipped: the meta's scale is the typical count, as for load()
    with spill_dir(tmp_dir) as tmp:
        names = [os.path.join(tmp, f"sub{i}.u64") for i in range(SUBS)]
        sizes = [0] * SUBS
        for keys, counts in reader.chunks():
            hist += np.bincount(np.minimum(counts, HISTOGRAM_TOP), minlength=HISTOGRAM_TOP + 1)
            part = mix(keys, 2 * k) >> shift
            order = np.argsort(part, kind="stable")
            packed = (keys << np.uint64(COUNT_BITS)) | np.minimum(counts, int(_COUNT_MASK)).astype(np.uint64)
            _append_parts(packed[order], part[order], names, sizes)
        chunks = (take(names[i], sizes[i]) for i in range(SUBS))
        table = KmerTable.from_index(k, hist, lambda cap: SpectrumIndex.from_parts(
            k, n, chunks, count_bits=COUNT_BITS, part_bits=SUB_BITS, min_cap=max(cap, min_cap)), scale=reader.scale)
    head = reader.header()
    table.source, table.inputs, table.reads, table.shard = head.source, head.inputs, head.reads, head.shard
    return table
