"""Errors a user can cause: each names the file, the record and the position.

The CLI prints ``str(error)`` as one line on stderr and exits with code 2; any
other exception is a bug and keeps its traceback.
"""
from __future__ import annotations

from os import PathLike


class SeqfcnError(Exception):
    """A user-caused error (bad input file, bad argument, unknown region).

    ``str()`` gives one line: ``file: record NAME: position P: message`` with the
    parts that are known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | PathLike | None = None,
        record: str | None = None,
        position: int | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.record = record
        self.position = position
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = []
        if self.path is not None:
            parts.append(self.path)
        if self.record is not None:
            parts.append(f"record {self.record!r}")
        if self.position is not None:
            parts.append(f"position {self.position}")
        parts.append(self.message.replace("\n", " "))
        return ": ".join(parts)


class InputFormatError(SeqfcnError):
    """A file is not in the format it claims (truncated, malformed record)."""


class SequenceError(SeqfcnError):
    """A sequence holds a character the encoding policy does not accept."""


class RegionError(SeqfcnError):
    """An unknown chromosome or a region outside it."""


class ModelFileError(SeqfcnError):
    """A model file is missing, unreadable or does not match its config."""
