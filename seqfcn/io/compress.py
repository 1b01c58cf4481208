"""gzip output compressed on a background thread, with a reproducible header.

Compressing FASTQ at level 6 is slower than correcting it, so a writer that
compresses in the main thread makes the whole job wait on one core (Lighter#14:
23 h → 5 h once its output compression was threaded). :class:`ThreadedGzipWriter`
hands 1 MB blocks to a thread that runs :class:`gzip.GzipFile` (zlib and crc32
release the GIL), through a bounded queue, so memory stays flat. The gzip header
has no file name and mtime 0: the same reads give the same bytes, whatever the
output (or its temporary) is called.
"""
from __future__ import annotations

import gzip
import queue
import threading
from typing import BinaryIO

_DEPTH = 8  # blocks waiting for the compressor at most (~8 MB)


class ThreadedGzipWriter:
    """A write-only binary file that gzip-compresses into ``raw`` on a background thread.

    ``write`` may raise an error the compressor met earlier (e.g. disk full); ``close``
    waits for the thread, finishes the gzip member and raises any such error; ``abort``
    stops without raising. ``raw`` stays open (its owner closes it).
    """

    def __init__(self, raw: BinaryIO, *, level: int = 6) -> None:
        self._gz = gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=level, mtime=0)
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=_DEPTH)
        self._error: BaseException | None = None
        self._drop = False
        self._thread = threading.Thread(target=self._run, name="seqfcn-gzip", daemon=True)
        self._thread.start()
        self._open = True

    def _run(self) -> None:
        while True:
            block = self._queue.get()
            if block is None:
                return
            if self._error is None and not self._drop:
                try:
                    self._gz.write(block)
                except BaseException as exc:  # noqa: BLE001 - handed to the writing thread
                    self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Queue ``data`` (copied) for compression; returns its length."""
        self._raise()
        block = bytes(data)
        self._queue.put(block)
        return len(block)

    def flush(self) -> None:
        """Nothing to do: data reaches ``raw`` when the thread compresses it."""
        self._raise()

    def _stop(self) -> None:
        if self._open:
            self._open = False
            self._queue.put(None)
            self._thread.join()

    def close(self) -> None:
        """Compress what is queued, finish the gzip member; raises a compressor error."""
        self._stop()
        self._raise()
        self._gz.close()

    def abort(self) -> None:
        """Stop the thread, dropping what is still queued (the caller discards the file)."""
        self._drop = True
        self._stop()
        try:
            self._gz.close()
        except Exception:  # noqa: BLE001 - the output is being discarded
            pass
