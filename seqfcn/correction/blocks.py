"""Correct a FASTQ file a block at a time, with Python objects only for the reads that need the network.

The block path of :func:`seqfcn.correction.correct_reads` for the common case: one
FASTQ file (plain or gzip) of 4-line records in, FASTQ out, a reads-spectrum model with
solid checks. Each block of the file (``_BLOCK_BYTES``) is split into records in C
(``seqfcn/correction/_kmercount.c: fastq_spans``, which also checks every record), padded into code
and quality arrays (``fill_rows``) and walked (:meth:`CorrectionEngine.spectrum_walk`);
the walk's substitutions are written into a copy of the block's bytes. Only the reads the
walk leaves weak become :class:`~seqfcn.io.reads.Read` objects, for the network and the
second walk (:func:`seqfcn.correction.chunks.correct_weak`), and their records are
spliced back in. The output is byte for byte the strict path's, because only records that
the strict reader and writer would round-trip unchanged are taken: ``@name`` or
``@name comment`` in printable ASCII (one space after the name, none at the end), valid
bases, a bare ``+``, qualities in range, ``\\n`` line ends. At the first record that is not
such a record the output so far is dropped and the caller runs the strict path from the
start, which also names whatever is wrong with the file.
"""
from __future__ import annotations

import gzip
from typing import Any, Callable, NamedTuple

import numpy as np

from seqfcn.sequence.alphabet import SEQUENCE_CHARACTERS
from seqfcn.correction.chunks import correct_weak
from seqfcn.correction.edits import CorrectionStats, Edited, edit, finish, initial
from seqfcn.correction.engine import CorrectionEngine, walk_decision
from seqfcn.sequence.encode import _CODE_TABLE, _LETTERS, N_CODE, to_codes
from seqfcn.io.reads import Read
from seqfcn.correction.kmers import _kmercount

_BLOCK_BYTES = 1 << 23
_VALID = bytes(1 if chr(b) in SEQUENCE_CHARACTERS else 0 for b in range(256))
_TABLE = _CODE_TABLE.astype(np.uint8).tobytes()


class NotCanonical(Exception):
    """A record the block path does not write back byte for byte: use the strict path."""


class _BlockRun(NamedTuple):
    """What every block of a file is corrected with (:func:`correct_file`'s arguments)."""

    writer: Any
    corrector: CorrectionEngine
    stats: CorrectionStats
    recalibrate: str
    rounds: int
    phred: int


def correct_file(path: str, writer: Any, corrector: CorrectionEngine, stats: CorrectionStats, recalibrate: str,
                 rounds: int, phred: int, progress: Callable[[int], Any]) -> None:
    """Correct every read of the FASTQ ``path`` into ``writer`` (a :class:`~seqfcn.io.reads.FastqWriter`
    in the same quality encoding ``phred``); ``progress(reads)`` after each block.

    Raises:
        NotCanonical: a record outside the canonical layout (the writer holds part of the
            output: the caller aborts it and takes the strict path).
    """
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    rest = b""
    run = _BlockRun(writer, corrector, stats, recalibrate, rounds, phred)
    with (gzip.open if gz else open)(path, "rb") as fh:
        while True:
            chunk = fh.read(_BLOCK_BYTES)
            data = rest + chunk if rest else chunk
            used, n = _correct_block(data, run)
            progress(n)
            rest = data[used:]
            if not chunk:
                if rest:
                    raise NotCanonical("the last record is incomplete")
                return


def _correct_block(data: bytes, run: _BlockRun) -> tuple[int, int]:
    """Correct the complete records at the start of ``data`` into ``run.writer``; returns the
    bytes they take and their number."""
    writer, stats, phred = run.writer, run.stats, run.phred
    spans = np.empty((len(data) // 6 + 1, 4), np.int64)  # a record takes at least 6 bytes
    used, n, width, bad = _kmercount.fastq_spans(data, 0, spans.shape[0], phred, _VALID, spans)
    if bad >= 0:
        raise NotCanonical(f"record {bad} of the block")
    if n == 0:
        return 0, 0
    spans = spans[:n]
    codes = np.empty((n, width), np.uint8)
    quals = np.empty((n, width), np.uint8)
    _kmercount.fill_rows(data, spans, n, width, _TABLE, phred, codes, quals)
    lengths = spans[:, 2]
    walked, before, after = run.corrector.spectrum_walk(codes, lengths, quals)
    out = np.frombuffer(data, np.uint8, count=used).copy()
    changed = walked != codes
    rows, cols = np.nonzero(changed & ~after[:, None])
    out[spans[rows, 1] + cols] = _LETTERS[walked[rows, cols]]
    done = ~after
    n_sub = changed[done].sum(1)
    stats.reads += n
    stats.reads_passed_through += int(np.count_nonzero(lengths == 0))
    stats.bases_examined += int(lengths[done].sum())
    stats.bases_substituted += int(n_sub.sum())
    stats.bases_changed += int(n_sub.sum())
    stats.n_replaced += int(np.count_nonzero(changed[done] & (codes[done] == N_CODE)))
    stats.reads_corrected += int(np.count_nonzero(n_sub))
    stats.extra["reads_skipped_solid"] = stats.extra.get("reads_skipped_solid", 0) + int(
        np.count_nonzero(~before & (lengths > 0)))
    weak = np.nonzero(after)[0]
    if weak.size == 0:
        writer.write_block(out.data, n)
        return used, n
    records = _correct_weak(data, spans[weak], codes[weak], walked[weak], quals[weak], run)
    pieces, at = [], 0
    for row, record in zip(weak.tolist(), records):
        pieces += [out[at:spans[row, 0]].tobytes(), record]
        at = int(spans[row, 3])
    pieces.append(out[at:].tobytes())
    writer.write_block(b"".join(pieces), n)
    return used, n


def _correct_weak(data: bytes, spans: np.ndarray, codes: np.ndarray, walked: np.ndarray, quals: np.ndarray,
                  run: _BlockRun) -> list[bytes]:
    """The records, corrected, of the reads the walk left weak (as the strict path does it
    after its first walk: the network, then the walk again)."""
    chunk: list[Read] = []
    states: dict[int, Edited] = {}
    seq_codes: dict[int, np.ndarray] = {}
    for i, (start, seq, length, _end) in enumerate(spans.tolist()):
        name, _, comment = data[start + 1:seq - 1].decode("ascii").partition(" ")
        read = Read(name=name, sequence=data[seq:seq + length].decode("ascii"),
                    qualities=quals[i, :length].copy(), comment=comment)
        chunk.append(read)
        state = initial(read)
        if (walked[i, :length] != codes[i, :length]).any():
            state = edit(state, walk_decision(codes[i, :length], walked[i, :length], quals[i, :length]), "none")
        states[i] = state
        seq_codes[i] = to_codes(state.seq)
    correct_weak(chunk, run.corrector, seq_codes, states, {i: True for i in states}, list(states), run.recalibrate,
                 run.rounds)
    for i, read in enumerate(chunk):
        finish(read, states[i], run.stats)
    return [run.writer.record(read) for read in chunk]
