"""Content fingerprints: which bytes a file holds, whatever its name, path or time stamp.

Pieces that are joined later (shards of one run, a spectrum counted once and used by
``correct``, a training run resumed) record the fingerprints of their inputs, so a piece
made from other data is refused instead of mixed in. A fingerprint reads at most
``2 * edge`` bytes: the size and the first and last ``edge`` bytes (1 MiB by default),
hashed with SHA-256. Two files that differ only in their middle, with the same size,
collide; everything a user mixes up in practice (another sample of the same name,
another genome of the same size, a truncated copy) does not. A stream (stdin) has no
file to fingerprint: :class:`RecordHasher` hashes its records as they are read.
"""
from __future__ import annotations

import hashlib
import os

from seqfcn.errors import SeqfcnError

__all__ = ["file_fingerprint", "RecordHasher", "EDGE_BYTES"]

EDGE_BYTES = 1 << 20


def file_fingerprint(path: str | os.PathLike, *, edge: int = EDGE_BYTES) -> str:
    """A 16-hex-digit fingerprint of ``path``'s content: SHA-256 of its size and first and last ``edge`` bytes.

    Equal for a copy (any name, directory or time stamp); different for another content
    of the same size (unless the difference lies only beyond both edges of a file larger
    than ``2 * edge``).

    Raises:
        SeqfcnError: the file cannot be read (naming it).
    """
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            digest = hashlib.sha256(str(size).encode() + b"\0")
            digest.update(fh.read(edge))
            if size > edge:
                fh.seek(max(edge, size - edge))
                digest.update(fh.read(edge))
    except OSError as exc:
        raise SeqfcnError(f"cannot read: {exc.strerror or exc}", path=path) from None
    return digest.hexdigest()[:16]


class RecordHasher:
    """A fingerprint of a stream of records (stdin), fed as they are read: SHA-256 over every
    record's fields (strings or bytes, each length-prefixed), 16 hex digits like
    :func:`file_fingerprint`. Equal for the same records in the same order."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256(b"records\0")
        self.records = 0

    def update(self, *fields: str | bytes | None) -> None:
        """Add one record made of ``fields`` (None for an absent field)."""
        for field in fields:
            data = b"\xff" if field is None else field.encode() if isinstance(field, str) else bytes(field)
            self._digest.update(len(data).to_bytes(8, "little"))
            self._digest.update(data)
        self.records += 1

    def hexdigest(self) -> str:
        """The fingerprint of the records so far."""
        return self._digest.hexdigest()[:16]
