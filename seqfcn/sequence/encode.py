"""One-hot encoding, decoding, reverse complement and quality channels.

Shapes: one sequence encodes to ``(C, L)``, a batch to ``(batch, C, L)``, with
channels 0-3 = A, C, G, T and a soft-mask channel 4 when the policy asks for it.

The encoder works on the raw bytes in cache-sized chunks: upper-case A/C/G/T
(and their lowercase) are found with four vectorised comparisons per chunk;
anything else (N, IUPAC, U, invalid) is rare and looked up in the policy's
256-entry table only for the positions that need it.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Sequence, Union

import numpy as np

from seqfcn.sequence.alphabet import BASES, COMPLEMENT_TABLE, DEFAULT_POLICY, IUPAC_CODES, EncodingPolicy
from seqfcn.errors import SequenceError

if TYPE_CHECKING:  # PyTorch is imported only where a tensor is made (start-up of torch-free commands)
    import torch

SeqLike = Union[str, bytes, bytearray, memoryview, np.ndarray]

_CHUNK = 1 << 16

try:  # the C kernel built by setup.py; numpy gives the same result without it
    from seqfcn.sequence import _onehot as _kernel
except ImportError:  # pragma: no cover - depends on the build
    _kernel = None
_LOWER_ACGT = np.frombuffer(b"acgt", dtype=np.uint8)
_CODE_ONE_HOT = np.concatenate([np.eye(4, dtype=np.float32), np.zeros((1, 4), np.float32)])  # code 4 (N) → zeros

QUALITY_CAP = 50
"""Phred scores are capped here in model inputs: the quality channel is ``min(Q, 50) / 50``."""
_TABLES: dict[tuple[EncodingPolicy, bool], tuple[np.ndarray, np.ndarray]] = {}


def _tables(policy: EncodingPolicy, integer: bool) -> tuple[np.ndarray, np.ndarray]:
    key = (policy, integer)
    if key not in _TABLES:
        _TABLES[key] = policy.weights(integer)
    return _TABLES[key]


def as_byte_array(seq: SeqLike, name: str | None = None) -> np.ndarray:
    """View a sequence as a ``(L,)`` uint8 array of ASCII codes (no copy when possible).

    Accepts ``str``, ``bytes``-like objects and numpy arrays of ASCII codes
    (uint8/int8), of single-byte strings (``S1``) or single characters (``U1``).
    """
    if isinstance(seq, str):
        try:
            return np.frombuffer(seq.encode("ascii"), dtype=np.uint8)
        except UnicodeEncodeError as exc:
            raise SequenceError(
                f"non-ASCII character {seq[exc.start]!r} in sequence", record=name, position=exc.start
            ) from None
    if isinstance(seq, (bytes, bytearray, memoryview)):
        return np.frombuffer(seq, dtype=np.uint8)
    if isinstance(seq, np.ndarray):
        if seq.ndim != 1:
            raise ValueError(f"expected a 1-D sequence array, got shape {seq.shape}")
        if seq.dtype in (np.uint8, np.int8) or seq.dtype == np.dtype("S1"):
            return np.ascontiguousarray(seq).view(np.uint8)
        if seq.dtype.kind == "U":
            return as_byte_array("".join(seq.tolist()), name)
        raise TypeError(f"cannot read a sequence from an array of dtype {seq.dtype}")
    raise TypeError(f"cannot read a sequence from {type(seq).__name__}")


N_CODE = 4
"""Integer code of N and of every other non-A/C/G/T character (codes 0-3 are A, C, G, T)."""

_CODE_TABLE = np.full(256, N_CODE, dtype=np.int8)
for _i, _b in enumerate(BASES):
    _CODE_TABLE[ord(_b)] = _i
    _CODE_TABLE[ord(_b.lower())] = _i
_CODE_TABLE[ord("U")] = _CODE_TABLE[ord("u")] = 3
_LETTERS = np.frombuffer(b"ACGTN", dtype=np.uint8)


def is_tensor(x: object) -> bool:
    """True for a ``torch.Tensor`` (without importing PyTorch: no tensor exists before it is)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _as_tensor(a: np.ndarray) -> "torch.Tensor":
    import torch

    return torch.from_numpy(a)


def _is_code_array(x: object) -> bool:
    """Signed-integer arrays hold codes already; uint8 arrays hold ASCII."""
    return isinstance(x, np.ndarray) and x.dtype.kind == "i"


def to_codes(seq: SeqLike | np.ndarray) -> np.ndarray:
    """Integer codes ``(L,)`` int8 (0-3 = A, C, G, T; anything else 4 = N) of a sequence.

    Text, bytes and uint8 arrays are read as ASCII; signed-integer arrays are taken
    as codes already (values outside 0-3 become 4) and returned as int8.
    """
    if _is_code_array(seq):
        return seq if seq.dtype == np.int8 else np.where((seq >= 0) & (seq < 4), seq, N_CODE).astype(np.int8)
    return _CODE_TABLE[as_byte_array(seq)]


def to_codes_batch(seqs: Sequence[SeqLike] | np.ndarray) -> np.ndarray:
    """Codes ``(batch, L)`` int8 of equal-length sequences (a 2-D array: see :func:`to_codes`)."""
    if isinstance(seqs, np.ndarray) and seqs.ndim == 2:
        if _is_code_array(seqs):
            return to_codes(seqs.reshape(-1)).reshape(seqs.shape)
        return _CODE_TABLE[seqs.astype(np.uint8, copy=False)]
    rows = [to_codes(s) for s in seqs]
    if len({r.shape[0] for r in rows}) > 1:
        raise ValueError("sequences differ in length; corrupt them one by one or crop to one length")
    return np.stack(rows) if rows else np.zeros((0, 0), np.int8)


def codes_to_str(codes: np.ndarray) -> str:
    """Text of ``(L,)`` codes (4 and anything out of range → N)."""
    c = np.asarray(codes)
    c = np.where((c >= 0) & (c < 4), c, N_CODE).astype(np.intp)
    return _LETTERS[c].tobytes().decode("ascii")


def _is_integer(dtype: np.dtype) -> bool:
    return np.dtype(dtype).kind in "biu"


def _kernel_source(seq: SeqLike, name: str | None) -> str | np.ndarray:
    """What the encoder reads: an ASCII ``str`` as it is (the C kernel reads it in
    place, no copy), anything else as a ``(L,)`` uint8 array."""
    if _kernel is not None and isinstance(seq, str) and seq.isascii():
        return seq
    return as_byte_array(seq, name)


def _chunk_bytes(source: str | np.ndarray, start: int, stop: int) -> np.ndarray:
    if isinstance(source, str):
        return np.frombuffer(source[start:stop].encode("ascii"), dtype=np.uint8)
    return source[start:stop]


def _split_rows(source: str | np.ndarray, start: int, rows: np.ndarray) -> int:
    """Write 0/1 A/C/G/T rows for ``source[start:start+n]`` into ``rows`` ``(4, n)`` uint8.

    Returns the number of positions that are none of A/C/G/T (either case).
    """
    if _kernel is not None:
        return _kernel.acgt_rows(source, start, rows[0], rows[1], rows[2], rows[3])
    lower = np.bitwise_or(_chunk_bytes(source, start, start + rows.shape[1]), 0x20)
    found = 0
    for c in range(4):
        dest = rows[c].view(np.bool_)
        np.equal(lower, _LOWER_ACGT[c], out=dest)
        found += np.count_nonzero(dest)
    return rows.shape[1] - found


def _encode_into(
    source: str | np.ndarray, out: np.ndarray, policy: EncodingPolicy, name: str | None, scratch: np.ndarray
) -> None:
    """Fill ``out`` ``(C, L)`` with the encoding of ``source`` (see :func:`_kernel_source`).

    Byte-sized outputs whose rows are contiguous are written in place; other
    dtypes go through the ``(4, chunk)`` uint8 ``scratch`` and are cast.
    """
    length = len(source)
    direct = out.dtype in (np.uint8, np.int8, np.bool_) and out.strides[-1] == 1
    for start in range(0, length, _CHUNK):
        stop = min(start + _CHUNK, length)
        rows = out[:4, start:stop].view(np.uint8) if direct else scratch[:, : stop - start]
        missing = _split_rows(source, start, rows)
        if not direct:
            out[:4, start:stop] = rows
        if missing:
            _encode_rare(_chunk_bytes(source, start, stop), out[:4, start:stop], policy, name, start)
        if policy.soft_mask_channel:
            out[4, start:stop] = _chunk_bytes(source, start, stop) >= ord("a")


def _encode_rare(chunk: np.ndarray, out: np.ndarray, policy: EncodingPolicy, name: str | None, offset: int) -> None:
    """Encode the positions of ``chunk`` that are not A/C/G/T (either case)."""
    hit = out.any(axis=0)
    idx = np.flatnonzero(~hit)
    codes = chunk[idx]
    table, valid = _tables(policy, _is_integer(out.dtype))
    bad = ~valid[codes]
    if bad.any():
        pos = int(idx[np.argmax(bad)])
        char = chr(chunk[pos])
        raise SequenceError(
            f"invalid character {char!r} for the encoding policy", record=name, position=offset + pos
        )
    out[:, idx] = table[codes].T.astype(out.dtype, copy=False)


def one_hot(
    seq: SeqLike,
    *,
    policy: EncodingPolicy = DEFAULT_POLICY,
    dtype: np.dtype | type = np.float32,
    name: str | None = None,
    as_torch: bool = False,
    out: np.ndarray | None = None,
) -> np.ndarray | torch.Tensor:
    """One-hot encode one sequence.

    Args:
        seq: the sequence (str, bytes or numpy array of ASCII codes).
        policy: what N, IUPAC codes, lowercase and U become (:class:`EncodingPolicy`).
        dtype: output dtype; integer dtypes hold compatibility indicators for ambiguous codes.
        name: record name, used in error messages.
        as_torch: return a ``torch.Tensor`` (sharing memory with the numpy result).
        out: an existing ``(C, L)`` array to fill (its dtype wins over ``dtype``);
            reusing one buffer avoids the page faults of a fresh allocation.

    Returns:
        ``(C, L)`` array, ``C = policy.channels`` (4, or 5 with the soft-mask channel).

    Raises:
        SequenceError: a character the policy does not accept, with its 0-based position.
    """
    source = _kernel_source(seq, name)
    shape = (policy.channels, len(source))
    if out is None:
        out = np.empty(shape, dtype=dtype)
    elif out.shape != shape:
        raise ValueError(f"out has shape {out.shape}, expected {shape}")
    _encode_into(source, out, policy, name, np.empty((4, min(_CHUNK, max(len(source), 1))), np.uint8))
    return _as_tensor(out) if as_torch else out


def one_hot_batch(
    seqs: Sequence[SeqLike],
    *,
    policy: EncodingPolicy = DEFAULT_POLICY,
    dtype: np.dtype | type = np.float32,
    names: Sequence[str] | None = None,
    length: int | None = None,
    as_torch: bool = False,
) -> np.ndarray | torch.Tensor:
    """One-hot encode equal-length sequences into ``(batch, C, L)``.

    With ``length`` given, shorter sequences are padded on the right with all-zero
    columns (longer ones are an error); without it all lengths must be equal.
    """
    arrays = [_kernel_source(s, None if names is None else names[i]) for i, s in enumerate(seqs)]
    lengths = {len(a) for a in arrays}
    if length is None:
        if len(lengths) > 1:
            raise ValueError(f"sequences differ in length ({sorted(lengths)[:5]}...); pass length= to pad")
        length = lengths.pop() if lengths else 0
    elif lengths and max(lengths) > length:
        raise ValueError(f"a sequence of length {max(lengths)} does not fit length={length}")
    out = np.zeros((len(arrays), policy.channels, length), dtype=dtype)
    scratch = np.empty((4, min(_CHUNK, max(length, 1))), np.uint8)
    for i, arr in enumerate(arrays):
        _encode_into(arr, out[i, :, : len(arr)], policy, None if names is None else names[i], scratch)
    return _as_tensor(out) if as_torch else out


def _decode_table() -> np.ndarray:
    table = np.full(16, ord("N"), dtype=np.uint8)
    for code, bases in IUPAC_CODES.items():
        if code == "U":
            continue
        bits = sum(1 << BASES.index(b) for b in bases)
        table[bits] = ord(code)
    return table


_DECODE = _decode_table()


def decode(onehot: np.ndarray | torch.Tensor) -> str | list[str]:
    """Turn ``(C, L)`` or ``(batch, C, L)`` scores back into text.

    Each column becomes the IUPAC code of the channels that share its maximum
    (so an exact one-hot column gives its base, R = 0.5 A + 0.5 G gives R);
    all-zero columns give N. With a 5th (soft-mask) channel, masked positions are
    lowercase. Returns a str, or a list of str for a batch.
    """
    x = onehot.detach().cpu().numpy() if is_tensor(onehot) else np.asarray(onehot)
    if x.ndim == 3:
        return [decode(row) for row in x]
    if x.ndim != 2 or x.shape[0] < 4:
        raise ValueError(f"expected (C, L) with C >= 4, got shape {x.shape}")
    scores = x[:4].astype(np.float32, copy=False)
    top = scores.max(axis=0)
    is_top = (scores == top) & (top > 0)
    bits = (is_top * np.array([1, 2, 4, 8], dtype=np.uint8)[:, None]).sum(axis=0).astype(np.uint8)
    text = _DECODE[bits]
    if x.shape[0] > 4:
        text = np.where(x[4] > 0.5, text | 0x20, text).astype(np.uint8)
    return text.tobytes().decode("ascii")


def reverse_complement(seq: SeqLike) -> str | bytes:
    """Reverse complement of a sequence (IUPAC aware, case kept); str in → str out."""
    if isinstance(seq, str):
        return seq.encode("ascii").translate(COMPLEMENT_TABLE)[::-1].decode("ascii")
    return as_byte_array(seq).tobytes().translate(COMPLEMENT_TABLE)[::-1]


def reverse_complement_onehot(x: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Reverse complement of ``(C, L)`` or ``(batch, C, L)`` one-hot data.

    Channels 0-3 (A, C, G, T) swap A↔T and C↔G; any extra channels (mask,
    quality) keep their place; every channel is reversed along the length.
    """
    channels = x.shape[-2]
    order = [3, 2, 1, 0] + list(range(4, channels))
    if is_tensor(x):
        return x[..., order, :].flip(-1)
    return np.ascontiguousarray(x[..., order, ::-1])


def reverse_complement_codes(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of base codes ``(..., L)`` (0-3 = A, C, G, T; anything else, e.g.
    N = 4 or padding, stays), reversed along the last axis; a new contiguous array."""
    codes = np.asarray(codes)
    return np.ascontiguousarray(np.where((codes >= 0) & (codes < 4), 3 - codes, codes)[..., ::-1])


def codes_one_hot(codes: np.ndarray) -> np.ndarray:
    """Base codes ``(..., L)`` (0-3 = A, C, G, T; anything else = no base) → one-hot
    ``(..., 4, L)`` float32 (an N is all zeros)."""
    codes = np.asarray(codes)
    idx = np.where((codes >= 0) & (codes < 4), codes, 4).astype(np.intp)
    return np.ascontiguousarray(np.moveaxis(_CODE_ONE_HOT[idx], -1, -2))


def scale_quality(scores: np.ndarray, qmax: int = QUALITY_CAP) -> np.ndarray:
    """Phred scores (any shape) → the model's quality channel ``min(Q, qmax) / qmax``, float32."""
    return np.minimum(np.asarray(scores), qmax).astype(np.float32) / np.float32(qmax)


def phred_scores(qual: SeqLike, *, offset: int = 33, name: str | None = None) -> np.ndarray:
    """Phred scores ``(L,)`` uint8 from a quality string (Phred+``offset``) or an integer array.

    An integer numpy array is taken as Phred scores already (as pysam returns them).
    """
    if isinstance(qual, np.ndarray) and qual.dtype.kind in "iu" and qual.dtype.itemsize > 1:
        scores = qual
    elif isinstance(qual, (list, tuple)) or (hasattr(qual, "typecode")):
        scores = np.asarray(qual)
    else:
        raw = as_byte_array(qual, name).astype(np.int16)
        scores = raw - offset
    if scores.size and scores.min() < 0:
        pos = int(np.argmax(scores < 0))
        raise SequenceError(f"quality below 0 (Phred+{offset} expected)", record=name, position=pos)
    return scores.astype(np.uint8)


def quality_channel(
    qual: SeqLike, *, offset: int = 33, qmax: int = QUALITY_CAP, name: str | None = None
) -> np.ndarray:
    """A scaled quality channel ``(1, L)`` float32: ``min(Q, qmax) / qmax`` in [0, 1]."""
    return scale_quality(phred_scores(qual, offset=offset, name=name), qmax)[None, :]


def encode_read(
    seq: SeqLike,
    qual: SeqLike | None,
    *,
    policy: EncodingPolicy = DEFAULT_POLICY,
    qmax: int = QUALITY_CAP,
    name: str | None = None,
) -> np.ndarray:
    """Encode a read with its qualities as ``(C + 1, L)`` float32: one-hot then quality.

    Without qualities (FASTA reads) the quality channel is all ones.
    """
    x = one_hot(seq, policy=policy, dtype=np.float32, name=name)
    if qual is None:
        q = np.ones((1, x.shape[1]), dtype=np.float32)
    else:
        q = quality_channel(qual, qmax=qmax, name=name)
        if q.shape[1] != x.shape[1]:
            raise SequenceError(
                f"quality length {q.shape[1]} differs from sequence length {x.shape[1]}", record=name
            )
    return np.concatenate([x, q], axis=0)
