"""Scan hits as compact binary blocks, formatted as BED text in bulk.

A :class:`HitBlock` holds a run of hits (one tile's, one shard's part) as arrays: chromosome
and motif indices into name tables, coordinates, strand, float64 score, p and q, and the
sites' bytes (already read on the motif's strand). Blocks are what a streamed scan keeps in
its temporary file and what a scan shard carries after its track line; :meth:`HitBlock.lines`
turns one into BED lines through the compiled formatter (:func:`format_hits` of
``_pwmscan``): p- and q-value text come from a table per distinct value, so a hit costs a few
table look-ups and no Python.

On disk a block is a sequence of ``.npy`` arrays (:func:`write_block`, :func:`read_block`);
a stream of blocks ends at the end of the file.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO

import numpy as np

from seqfcn.sequence.alphabet import COMPLEMENT_TABLE

_COMPLEMENT = np.frombuffer(COMPLEMENT_TABLE, dtype=np.uint8)
_ARRAYS = ("chrom", "start", "end", "motif", "minus", "score", "p", "q", "seq", "seq_off")
_DTYPES = {"chrom": np.int32, "start": np.int64, "end": np.int64, "motif": np.int32, "minus": np.uint8,
           "score": np.float64, "p": np.float64, "q": np.float64, "seq": np.uint8, "seq_off": np.int64}


@dataclass
class HitBlock:
    """Hits as arrays (``n`` hits; indices into tables the block's user keeps).

    Attributes:
        chrom: ``(n,)`` int32 index of the chromosome name.
        start, end: ``(n,)`` int64 0-based half-open coordinates.
        motif: ``(n,)`` int32 index of the motif (name and id).
        minus: ``(n,)`` uint8, 1 for a ``-`` hit.
        score, p, q: ``(n,)`` float64 (``q`` zeros until known).
        seq: the sites' bytes, concatenated (uint8).
        seq_off: ``(n + 1,)`` int64: site ``i`` is ``seq[seq_off[i] : seq_off[i + 1]]``.
    """

    chrom: np.ndarray
    start: np.ndarray
    end: np.ndarray
    motif: np.ndarray
    minus: np.ndarray
    score: np.ndarray
    p: np.ndarray
    q: np.ndarray
    seq: np.ndarray
    seq_off: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    def slice(self, a: int, b: int) -> HitBlock:
        """Hits ``a .. b - 1`` as a block of their own."""
        a, b = min(a, len(self)), min(b, len(self))
        lo, hi = int(self.seq_off[a]), int(self.seq_off[b])
        return HitBlock(self.chrom[a:b], self.start[a:b], self.end[a:b], self.motif[a:b], self.minus[a:b],
                        self.score[a:b], self.p[a:b], self.q[a:b], self.seq[lo:hi], self.seq_off[a : b + 1] - lo)

    def lines(self, chroms: Table, names: Table, ids: Table, pq: np.ndarray, pq_text: Table) -> bytes:
        """BED lines (``chrom start end name score strand p q sequence id``) of the hits:
        ``pq`` ``(n,)`` indexes ``pq_text``, whose entries are ``p\\tq`` as written."""
        from seqfcn.motifs._pwmscan import format_hits

        c = np.ascontiguousarray
        return format_hits(c(self.chrom, np.int32), chroms.text, chroms.offsets, c(self.start, np.int64),
                           c(self.end, np.int64), c(self.motif, np.int32), names.text, names.offsets, ids.text,
                           ids.offsets, c(self.minus, np.uint8), c(self.score, np.float64), c(pq, np.int32),
                           pq_text.text, pq_text.offsets, c(self.seq, np.uint8).tobytes(), c(self.seq_off, np.int64))


@dataclass(frozen=True)
class Table:
    """Strings as one UTF-8 ``text`` cut at ``offsets`` (``k + 1`` int64), for the formatter."""

    text: bytes
    offsets: np.ndarray

    @classmethod
    def of(cls, strings: Iterable[str]) -> Table:
        """The table of ``strings``, in order."""
        encoded = [s.encode("utf-8") for s in strings]
        return cls(b"".join(encoded), np.concatenate([[0], np.cumsum([len(e) for e in encoded])]).astype(np.int64))

    def strings(self) -> list[str]:
        """The entries back as strings."""
        o = self.offsets.tolist()
        return [self.text[a:b].decode("utf-8") for a, b in zip(o[:-1], o[1:])]


def byte_sink(out: IO[str]) -> IO[bytes]:
    """The binary stream under a text handle of :func:`seqfcn.io.atomic.atomic_text`. Only stdout
    is flushed first (flushing a gzip stream would change its bytes)."""
    import sys

    if out is sys.stdout:
        out.flush()
    return out.buffer


def value_table(values: np.ndarray, q: np.ndarray | None = None) -> Table:
    """The ``p\\tq`` text (4 significant digits each) of distinct p-values and their q-values
    (or of the p-values alone when ``q`` is None)."""
    if q is None:
        return Table.of(f"{v:.4g}" for v in np.asarray(values).tolist())
    return Table.of(f"{v:.4g}\t{w:.4g}" for v, w in zip(np.asarray(values).tolist(), np.asarray(q).tolist()))


def site_bytes(text: np.ndarray, starts: np.ndarray, widths: np.ndarray, minus: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """The sites ``text[start : start + width]`` (uint8 sequence) concatenated, each read on its
    motif's strand (reverse complement where ``minus``, case kept): ``(bytes, offsets)``."""
    widths = np.asarray(widths, dtype=np.int64)
    offsets = np.zeros(len(widths) + 1, dtype=np.int64)
    np.cumsum(widths, out=offsets[1:])
    total = int(offsets[-1])
    if not total:
        return np.zeros(0, np.uint8), offsets
    try:  # the compiled kernel: no per-base index arrays
        from seqfcn.motifs._pwmscan import site_bytes as c_site_bytes
    except ImportError:  # pragma: no cover - depends on the build
        return _site_bytes_numpy(text, starts, widths, minus, offsets), offsets
    out = c_site_bytes(np.ascontiguousarray(text, np.uint8), np.ascontiguousarray(starts, np.int64),
                       np.ascontiguousarray(widths),
                       np.ascontiguousarray(minus, np.uint8), _COMPLEMENT.tobytes())
    return np.frombuffer(out, np.uint8).copy(), offsets


def _site_bytes_numpy(text: np.ndarray, starts: np.ndarray, widths: np.ndarray, minus: np.ndarray,
                      offsets: np.ndarray) -> np.ndarray:
    """:func:`site_bytes`' sites in numpy (no compiled kernel; the C kernel's oracle)."""
    total = int(offsets[-1])
    owner = np.repeat(np.arange(len(widths)), widths)
    within = np.arange(total, dtype=np.int64) - offsets[owner]
    flip = np.asarray(minus, dtype=bool)[owner]
    pos = np.asarray(starts, dtype=np.int64)[owner] + np.where(flip, widths[owner] - 1 - within, within)
    out = text[pos]
    out[flip] = _COMPLEMENT[out[flip]]
    return out


def frame_block(hits, chroms: Sequence[str] | None = None) -> tuple[HitBlock, Table, Table, Table]:
    """A :data:`seqfcn.motifs.scan.HIT_COLUMNS` table as one block with its chromosome, name and
    id tables (motifs are the distinct ``(motif, motif_id)`` pairs)."""
    n = len(hits["start"])
    chrom_col = np.asarray(hits["chrom"], dtype=object).astype(str)
    chrom_names, chrom_idx = np.unique(chrom_col, return_inverse=True) if n else (np.zeros(0, str), np.zeros(0, int))
    pairs = np.char.add(np.char.add(np.asarray(hits["motif"], dtype=object).astype(str), "\t"),
                        np.asarray(hits["motif_id"], dtype=object).astype(str)) if n else np.zeros(0, str)
    motif_keys, motif_idx = np.unique(pairs, return_inverse=True) if n else (np.zeros(0, str), np.zeros(0, int))
    seqs = [s.encode("utf-8") for s in np.asarray(hits["sequence"], dtype=object).tolist()]
    seq_off = np.zeros(n + 1, np.int64)
    np.cumsum([len(s) for s in seqs], out=seq_off[1:]) if n else None
    block = HitBlock(
        chrom=chrom_idx.ravel().astype(np.int32), start=np.asarray(hits["start"], np.int64),
        end=np.asarray(hits["end"], np.int64), motif=motif_idx.ravel().astype(np.int32),
        minus=(np.asarray(hits["strand"], dtype=object) == "-").astype(np.uint8),
        score=np.asarray(hits["score"], np.float64), p=np.asarray(hits["p"], np.float64),
        q=np.asarray(hits["q"], np.float64), seq=np.frombuffer(b"".join(seqs), np.uint8).copy(), seq_off=seq_off)
    keys = [k.split("\t", 1) for k in motif_keys.tolist()]
    return (block, Table.of(chrom_names.tolist()), Table.of(k[0] for k in keys), Table.of(k[1] for k in keys))


def pair_index(p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, Table]:
    """``(index, table)``: each hit's entry in the table of its distinct ``p\\tq`` text."""
    pv, pi = np.unique(p, return_inverse=True)
    qv, qi = np.unique(q, return_inverse=True)
    keys, index = np.unique(pi.ravel().astype(np.int64) * max(len(qv), 1) + qi.ravel(), return_inverse=True)
    return index.ravel().astype(np.int32), value_table(pv[keys // max(len(qv), 1)], qv[keys % max(len(qv), 1)])


def write_block(fh: IO[bytes], block: HitBlock) -> None:
    """Append ``block`` to a binary stream."""
    for name in _ARRAYS:
        np.save(fh, np.ascontiguousarray(getattr(block, name), dtype=_DTYPES[name]), allow_pickle=False)


def read_block(fh: IO[bytes]) -> HitBlock | None:
    """The next block of a binary stream, None at its end.

    Raises:
        ValueError: a truncated or malformed block.
    """
    arrays = {}
    for k, name in enumerate(_ARRAYS):
        try:
            arr = np.load(fh, allow_pickle=False)
        except EOFError:
            if k == 0:
                return None
            raise ValueError("a hit block is cut short") from None
        except (ValueError, OSError) as exc:
            raise ValueError(f"a hit block is cut short or malformed ({exc})") from None
        if arr.dtype != _DTYPES[name] or arr.ndim != 1:
            raise ValueError(f"a hit block's {name} array is malformed")
        arrays[name] = arr
    n = len(arrays["start"])
    if any(len(arrays[k]) != n for k in _ARRAYS if k not in ("seq", "seq_off")) or len(arrays["seq_off"]) != n + 1:
        raise ValueError("a hit block's arrays disagree in length")
    return HitBlock(**arrays)


def write_tables(fh: IO[bytes], **tables: Table) -> None:
    """Append named string tables (JSON, one ``.npy`` uint8 array) to a binary stream."""
    doc = json.dumps({k: t.strings() for k, t in tables.items()}).encode("utf-8")
    np.save(fh, np.frombuffer(doc, np.uint8), allow_pickle=False)


def read_tables(fh: IO[bytes]) -> dict[str, Table]:
    """The tables :func:`write_tables` wrote."""
    try:
        arr = np.load(fh, allow_pickle=False)
        doc = json.loads(arr.tobytes().decode("utf-8"))
        return {k: Table.of(v) for k, v in doc.items()}
    except (EOFError, ValueError, UnicodeDecodeError, AttributeError) as exc:
        raise ValueError(f"the name tables are unreadable ({exc})") from None


def read_blocks(fh: IO[bytes]) -> Iterator[HitBlock]:
    """Every block left in a binary stream."""
    while (block := read_block(fh)) is not None:
        yield block
