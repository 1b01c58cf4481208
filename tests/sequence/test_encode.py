"""One-hot encoding, decoding, reverse complement and quality channels: exact arrays."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import seqfcn.sequence.encode as enc
from seqfcn.sequence.alphabet import EncodingPolicy
from seqfcn.sequence.encode import (
    decode,
    encode_read,
    one_hot,
    one_hot_batch,
    phred_scores,
    quality_channel,
    reverse_complement,
    reverse_complement_onehot,
)
from seqfcn.errors import SeqfcnError, SequenceError


@pytest.fixture(params=["c-kernel", "numpy"])
def backend(request, monkeypatch):
    """Run a test with the compiled kernel and with the pure numpy path."""
    if request.param == "numpy":
        monkeypatch.setattr(enc, "_kernel", None)
    elif enc._kernel is None:
        pytest.skip("C kernel not built")
    return request.param


def test_acgt_exact(backend):
    x = one_hot("ACGTacgt")
    expected = np.array(
        [[1, 0, 0, 0, 1, 0, 0, 0], [0, 1, 0, 0, 0, 1, 0, 0], [0, 0, 1, 0, 0, 0, 1, 0], [0, 0, 0, 1, 0, 0, 0, 1]],
        dtype=np.float32,
    )
    assert x.dtype == np.float32 and x.shape == (4, 8)
    np.testing.assert_array_equal(x, expected)


def test_n_iupac_rna_float(backend):
    x = one_hot("NRYSWKMBDHVUu")
    expected = np.array(
        [
            [0, 0.5, 0, 0, 0.5, 0, 0.5, 0, 1 / 3, 1 / 3, 1 / 3, 0, 0],
            [0, 0, 0.5, 0.5, 0, 0, 0.5, 1 / 3, 0, 1 / 3, 1 / 3, 0, 0],
            [0, 0.5, 0, 0.5, 0, 0.5, 0, 1 / 3, 1 / 3, 0, 1 / 3, 0, 0],
            [0, 0, 0.5, 0, 0.5, 0.5, 0, 1 / 3, 1 / 3, 1 / 3, 0, 1, 1],
        ],
        dtype=np.float32,
    )
    np.testing.assert_allclose(x, expected, rtol=0, atol=1e-7)


def test_policies(backend):
    uniform = one_hot("ANT", policy=EncodingPolicy(n="uniform"))
    np.testing.assert_array_equal(uniform[:, 1], [0.25] * 4)
    zero_iupac = one_hot("R", policy=EncodingPolicy(iupac="zero"))
    np.testing.assert_array_equal(zero_iupac[:, 0], [0, 0, 0, 0])
    with pytest.raises(SequenceError, match="position 2"):
        one_hot("ACRT", policy=EncodingPolicy(iupac="error"))
    with pytest.raises(SequenceError, match="position 1"):
        one_hot("AUG", policy=EncodingPolicy(rna=False))
    # integer outputs hold compatibility indicators
    ints = one_hot("RN", dtype=np.uint8, policy=EncodingPolicy(n="uniform"))
    np.testing.assert_array_equal(ints, [[1, 1], [0, 1], [1, 1], [0, 1]])


def test_soft_mask_channel(backend):
    x = one_hot("ACgtN", policy=EncodingPolicy(soft_mask_channel=True), dtype=np.uint8)
    assert x.shape == (5, 5)
    np.testing.assert_array_equal(x[4], [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(x[:4], one_hot("ACGTN", dtype=np.uint8))


def test_invalid_character_names_record_and_position(backend):
    seq = "ACGT" * 30000 + "AC-GT"  # past the first chunk
    with pytest.raises(SequenceError) as info:
        one_hot(seq, name="chr7")
    assert info.value.record == "chr7" and info.value.position == 120002
    assert str(info.value) == "record 'chr7': position 120002: invalid character '-' for the encoding policy"
    with pytest.raises(SeqfcnError, match="position 3"):
        one_hot("ACGé")


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int8, np.bool_])
def test_input_types_and_dtypes_agree(backend, dtype):
    rng = np.random.default_rng(1)
    raw = rng.choice(np.frombuffer(b"ACGTacgtNnRY", np.uint8), 150_001)
    ref = one_hot(raw.tobytes().decode(), dtype=dtype)
    for form in (raw.tobytes(), bytearray(raw.tobytes()), raw, raw.view("S1"), np.array(list(raw.tobytes().decode()))):
        np.testing.assert_array_equal(one_hot(form, dtype=dtype), ref)
    assert ref.dtype == dtype


def test_backends_identical():
    if enc._kernel is None:
        pytest.skip("C kernel not built")
    rng = np.random.default_rng(2)
    raw = rng.choice(np.frombuffer(b"ACGTacgtNnRYSWKMBDHVUu", np.uint8), 300_007).tobytes()
    policy = EncodingPolicy(n="uniform", soft_mask_channel=True)
    fast = one_hot(raw, policy=policy)
    kernel, enc._kernel = enc._kernel, None
    try:
        slow = one_hot(raw, policy=policy)
    finally:
        enc._kernel = kernel
    np.testing.assert_array_equal(fast, slow)


def test_out_buffer_and_torch(backend):
    buf = np.full((4, 6), 7, dtype=np.uint8)
    res = one_hot("ACGTNA", out=buf)
    assert res is buf
    np.testing.assert_array_equal(buf, one_hot("ACGTNA", dtype=np.uint8))
    with pytest.raises(ValueError):
        one_hot("ACG", out=buf)
    t = one_hot("ACGT", as_torch=True)
    assert isinstance(t, torch.Tensor) and t.shape == (4, 4) and t.dtype == torch.float32


def test_batch(backend):
    x = one_hot_batch(["ACG", "TTA"], dtype=np.uint8)
    assert x.shape == (2, 4, 3)
    np.testing.assert_array_equal(x[1], one_hot("TTA", dtype=np.uint8))
    padded = one_hot_batch(["AC", "GTA"], length=4)
    np.testing.assert_array_equal(padded[0, :, 2:], 0)
    with pytest.raises(ValueError):
        one_hot_batch(["AC", "GTA"])
    with pytest.raises(SequenceError, match="record 'b'"):
        one_hot_batch(["AC", "GX"], names=["a", "b"])
    # batch size does not change any row
    rng = np.random.default_rng(3)
    seqs = ["".join(rng.choice(list("ACGTN"), 50)) for _ in range(64)]
    big = one_hot_batch(seqs)
    for size in (1, 8):
        np.testing.assert_array_equal(one_hot_batch(seqs[:size]), big[:size])


def test_decode_round_trip(backend):
    text = "ACGTNRYSWKMBDHV"
    assert decode(one_hot(text)) == text
    assert decode(one_hot("acgt", policy=EncodingPolicy(soft_mask_channel=True))) == "acgt"
    assert decode(one_hot("AUG")) == "ATG"
    assert decode(one_hot_batch(["AC", "GT"])) == ["AC", "GT"]
    logits = torch.tensor([[2.0, -1.0], [0.1, 3.0], [0.0, 0.0], [-5.0, 2.9]])
    assert decode(logits) == "AC"


def test_reverse_complement():
    assert reverse_complement("AACGTNRYacgt") == "acgtRYNACGTT"
    assert reverse_complement(b"GATC") == b"GATC"
    seq = "ACGGTNAcgt"
    assert reverse_complement(reverse_complement(seq)) == seq


def test_reverse_complement_onehot():
    rng = np.random.default_rng(4)
    seq = "".join(rng.choice(list("ACGTacgtN"), 257))
    policy = EncodingPolicy(soft_mask_channel=True)
    x = one_hot(seq, policy=policy)
    rc = reverse_complement_onehot(x)
    np.testing.assert_array_equal(rc, one_hot(reverse_complement(seq), policy=policy))
    np.testing.assert_array_equal(reverse_complement_onehot(rc), x)
    xt = torch.from_numpy(np.stack([x, x]))
    np.testing.assert_array_equal(reverse_complement_onehot(xt).numpy()[1], rc)


def test_quality_channel():
    np.testing.assert_array_equal(phred_scores("!+5I"), [0, 10, 20, 40])
    np.testing.assert_array_equal(phred_scores(np.array([3, 60], dtype=np.int64)), [3, 60])
    q = quality_channel("!+5Ik", qmax=50)
    np.testing.assert_allclose(q, [[0.0, 0.2, 0.4, 0.8, 1.0]])
    with pytest.raises(SequenceError, match="position 1"):
        phred_scores("I I")
    read = encode_read("ACGT", "IIII")
    assert read.shape == (5, 4)
    np.testing.assert_allclose(read[4], 0.8)
    with pytest.raises(SequenceError, match="record 'r1'.*quality length 3"):
        encode_read("ACGT", "III", name="r1")
    np.testing.assert_array_equal(encode_read("AC", None)[4], [1.0, 1.0])
