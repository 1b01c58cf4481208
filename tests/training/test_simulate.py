"""Error models: measured rates match configured rates, determinism, targets, fitting from a BAM."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from seqfcn.training.simulate import (
    GAP,
    IGNORE_INDEX,
    N_CODE,
    IlluminaErrorModel,
    MaskModel,
    OntErrorModel,
    apply_targets,
    codes_to_str,
    error_model_from_dict,
    make_error_model,
    save_error_model,
    to_codes,
    to_codes_batch,
)
from seqfcn.errors import SeqfcnError

DATA = Path(__file__).resolve().parents[2] / "data"


def within(count: float, n: float, p: float, sigmas: float = 4.0) -> bool:
    """``count`` successes of ``n`` is within ``sigmas`` binomial sd of rate ``p``."""
    return abs(count - n * p) <= sigmas * np.sqrt(n * p * (1 - p)) + 1e-9


@pytest.fixture(scope="module")
def truth() -> np.ndarray:
    return np.random.default_rng(123).integers(0, 4, size=(4000, 250), dtype=np.int8)  # 1e6 bases


def test_codes_round_trip() -> None:
    codes = to_codes("ACGTNacgtRu")
    assert codes.tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 3]
    assert codes_to_str(codes) == "ACGTNACGTNT"
    np.testing.assert_array_equal(to_codes(np.array([0, 3, 4, 7, -1], np.int64)), [0, 3, 4, 4, 4])
    ascii_rows = np.frombuffer(b"ACGTNACGTT", np.uint8).reshape(2, 5)
    np.testing.assert_array_equal(to_codes_batch(ascii_rows), [[0, 1, 2, 3, 4], [0, 1, 2, 3, 3]])
    np.testing.assert_array_equal(to_codes_batch(np.array([[0, 1], [2, 3]])), [[0, 1], [2, 3]])


@pytest.mark.parametrize("model", [IlluminaErrorModel.default(), OntErrorModel(), MaskModel()], ids=lambda m: m.kind)
def test_seed_determinism(model, truth) -> None:
    a = model.corrupt_batch(truth[:50], 7)
    b = model.corrupt_batch(truth[:50], 7)
    c = model.corrupt_batch(truth[:50], 8)
    for name in ("observed", "qualities", "target", "n_deleted", "truth_index", "lengths"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.observed, c.observed) or not np.array_equal(a.qualities, c.qualities)
    # single-read API = row of the batch API with the same generator state
    one = model.corrupt(truth[0], 7)
    np.testing.assert_array_equal(one.observed, model.corrupt_batch(truth[:1], 7).observed[0])


# ----------------------------------------------------------------------------- Illumina
def test_illumina_rates_calibration_and_profile(truth) -> None:
    model = IlluminaErrorModel.default(read_length=250, n_rate=0.002)
    r = model.corrupt_batch(truth, 0)
    assert r.observed.shape == truth.shape and r.qualities.dtype == np.uint8
    np.testing.assert_array_equal(r.target, truth)  # substitution model: target = truth
    is_n = r.observed == N_CODE
    assert within(is_n.sum(), truth.size, 0.002)
    assert np.all(r.qualities[is_n] == 2)
    called = ~is_n
    wrong = (r.observed != truth) & called
    n_called = called.sum()
    # overall substitution rate: the model's expectation among called bases
    assert within(wrong.sum(), n_called, model.expected_error_rate(250), 4.5)
    # calibration: error frequency per emitted Q is 10^(-Q/10)
    q = r.qualities[called]
    w = wrong[called]
    checked = 0
    for qv in range(2, 42):
        sel = q == qv
        if sel.sum() < 5000:
            continue
        assert within(w[sel].sum(), sel.sum(), 10 ** (-qv / 10)), qv
        checked += 1
    assert checked >= 10
    # quality declines along the read and follows the configured mean per cycle
    mean_q = r.qualities.astype(float).mean(axis=0, where=called)
    assert mean_q[:10].mean() - mean_q[-10:].mean() > 10
    assert mean_q[0] > 36.5 and abs(mean_q[-1] - 25) < 0.3
    np.testing.assert_allclose(mean_q, model.mean_quality(), atol=0.35)


def test_illumina_substitution_spectrum(truth) -> None:
    sub = np.array([[0, 0.1, 0.7, 0.2], [0.2, 0, 0.1, 0.7], [0.7, 0.2, 0, 0.1], [0.1, 0.7, 0.2, 0]])
    model = IlluminaErrorModel.default(read_length=250, q_start=15, q_end=10, n_rate=0.0, substitution=sub)
    r = model.corrupt_batch(truth, 1)
    wrong = r.observed != truth
    counts = np.zeros((4, 4))
    np.add.at(counts, (truth[wrong], r.observed[wrong]), 1)
    for a in range(4):
        n = counts[a].sum()
        assert n > 10000
        for b in range(4):
            assert within(counts[a, b], n, sub[a, b]) if a != b else counts[a, b] == 0


# ----------------------------------------------------------------------------- ONT
def _ont_events(r, truth):
    kept = r.truth_index >= 0
    length = truth.shape[1]
    n_obs_true = kept.sum()
    rows = np.nonzero(kept)[0]
    true_at = truth[rows, r.truth_index[kept]]
    subs = (r.observed[kept] != true_at).sum()
    ins = (r.target == GAP).sum()
    dels = truth.size - n_obs_true
    assert r.n_deleted.sum() == dels
    assert np.all(r.lengths == (r.target != IGNORE_INDEX).sum(axis=1))
    return subs, n_obs_true, ins, dels, length


def test_ont_rates(truth) -> None:
    model = OntErrorModel(sub_rate=0.04, ins_rate=0.02, del_rate=0.03, homopolymer_rate=0.0)
    r = model.corrupt_batch(truth, 2)
    subs, n_kept, ins, dels, length = _ont_events(r, truth)
    assert within(subs, n_kept, 0.04)
    assert within(ins, truth.size, 0.02)
    assert within(dels, truth.shape[0] * (length - 1), 0.03)  # the first base is never deleted
    # qualities: erroneous bases are lower on average
    q = r.qualities.astype(float)
    assert q[r.target == GAP].mean() < q[r.truth_index >= 0].mean() - 4


def test_ont_homopolymer_rate(truth) -> None:
    model = OntErrorModel(sub_rate=0, ins_rate=0, del_rate=0, homopolymer_rate=0.2)
    r = model.corrupt_batch(truth, 3)
    same = truth[:, 1:] == truth[:, :-1]
    runs = (same[:, :-1] & ~same[:, 1:]).sum() + same[:, -1].sum()  # runs of length >= 2
    longer = (r.target == GAP).sum()
    shorter = r.n_deleted.sum()
    assert within(longer + shorter, runs, 0.2)
    assert within(longer, longer + shorter, 0.5)
    # extensions copy the run's base; contractions remove one base of a run
    rows, cols = np.nonzero(r.target == GAP)
    np.testing.assert_array_equal(r.observed[rows, cols], r.observed[rows, cols - 1])


def test_ont_targets_rebuild_truth(truth) -> None:
    sub_ins = OntErrorModel(sub_rate=0.05, ins_rate=0.05, del_rate=0.0, homopolymer_rate=0.0)
    r = sub_ins.corrupt_batch(truth[:300], 4)
    assert (r.lengths > truth.shape[1]).all()
    for i in range(len(r)):
        np.testing.assert_array_equal(apply_targets(r[i].target), truth[i])
    full = OntErrorModel(sub_rate=0.05, ins_rate=0.05, del_rate=0.05, homopolymer_rate=0.3)
    r = full.corrupt_batch(truth[:300], 5)
    for i in range(len(r)):
        c = r[i]
        rebuilt = apply_targets(c.target, c.n_deleted, gap_code=-1)
        assert rebuilt.shape == truth[i].shape
        gaps = rebuilt == -1
        np.testing.assert_array_equal(rebuilt[~gaps], truth[i][~gaps])
        # the gaps are exactly the true bases no observed base was read from
        expected = np.ones(truth.shape[1], bool)
        expected[c.truth_index[c.truth_index >= 0]] = False
        np.testing.assert_array_equal(gaps, expected)


def test_ont_small_example() -> None:
    c = OntErrorModel(sub_rate=0, ins_rate=0, del_rate=0, homopolymer_rate=1.0).corrupt("ACCGTTTA", 0)
    # two runs (CC, TTT): each is one longer or one shorter
    assert len(c.observed) in (6, 8, 10)
    assert codes_to_str(apply_targets(c.target, c.n_deleted, gap_code=N_CODE)).replace("N", "") in (
        "ACCGTTTA", "ACGTTTA", "ACCGTTA", "ACGTTA")


# ----------------------------------------------------------------------------- mask
def test_mask_rates(truth) -> None:
    model = MaskModel(mask_rate=0.15)
    r = model.corrupt_batch(truth, 6)
    chosen = r.target != IGNORE_INDEX
    assert within(chosen.sum(), truth.size, 0.15)
    np.testing.assert_array_equal(r.target[chosen], truth[chosen])
    n = chosen.sum()
    to_n = (r.observed == N_CODE) & chosen
    assert within(to_n.sum(), n, 0.8)
    # random replacement: 10% of chosen, 3/4 of which differ from the true base
    changed = chosen & (r.observed != truth) & ~to_n
    assert within(changed.sum(), n, 0.1 * 0.75)
    np.testing.assert_array_equal(r.observed[~chosen], truth[~chosen])
    assert (r.qualities == 30).all()


# ----------------------------------------------------------------------------- serialisation
@pytest.mark.parametrize(
    "spec", ["illumina", "ont", "mask", "ont:sub_rate=0.1,del_rate=0.01", "illumina:read_length=50,q_end=20"]
)
def test_spec_and_json_round_trip(spec, truth, tmp_path) -> None:
    model = make_error_model(spec)
    again = error_model_from_dict(json.loads(json.dumps(model.to_dict())))
    a, b = model.corrupt_batch(truth[:20], 9), again.corrupt_batch(truth[:20], 9)
    np.testing.assert_array_equal(a.observed, b.observed)
    np.testing.assert_array_equal(a.qualities, b.qualities)
    path = tmp_path / "model.json"
    save_error_model(model, path)
    np.testing.assert_array_equal(make_error_model(str(path)).corrupt_batch(truth[:20], 9).target, a.target)


def test_spec_overrides_apply() -> None:
    assert make_error_model("ont:sub_rate=0.1").sub_rate == 0.1
    assert make_error_model("illumina:read_length=50").quality_probs.shape == (50, 42)


@pytest.mark.parametrize(
    "spec, message",
    [("pacbio", "unknown error model"), ("ont:sub_rate", "key=value"), ("ont:bogus=1", "bad error model option"),
     ("ont:sub_rate=2", "probability"), ("fitted:", "needs a BAM"), ("fitted:x.bam", "reference")],
)
def test_bad_specs(spec, message) -> None:
    with pytest.raises(SeqfcnError, match=message):
        make_error_model(spec)


# ----------------------------------------------------------------------------- fitted from real data
def _measured_mismatch_rate(bam_path: Path, fa_path: Path) -> tuple[float, dict[int, int], float]:
    """Mismatches / aligned called bases, and N rate, straight from pysam."""
    import pysam

    ref = pysam.FastaFile(str(fa_path))
    seqs = {name: ref.fetch(name).upper() for name in ref.references}
    mism = total = ncalls = 0
    lengths: dict[int, int] = {}
    with pysam.AlignmentFile(str(bam_path)) as bam:
        for seg in bam:
            if seg.is_unmapped or seg.is_secondary or seg.is_supplementary or seg.mapping_quality < 1:
                continue
            query = seg.query_sequence.upper()
            lengths[len(query)] = lengths.get(len(query), 0) + 1
            chrom = seqs[seg.reference_name]
            for qpos, rpos in seg.get_aligned_pairs(matches_only=True):
                r, q = chrom[rpos], query[qpos]
                if r not in "ACGT":
                    continue
                if q == "N":
                    ncalls += 1
                    continue
                total += 1
                mism += q != r
    return mism / total, lengths, ncalls / (total + ncalls)


def test_fit_bam_matches_real_mismatch_rate() -> None:
    bam, fa = DATA / "samtools" / "ex1.bam", DATA / "samtools" / "ex1.fa"
    real_rate, lengths, real_n_rate = _measured_mismatch_rate(bam, fa)
    assert 0.003 < real_rate < 0.02  # ~0.8% mismatches in these real reads
    model = IlluminaErrorModel.fit_bam(bam, fa, max_reads=None)
    assert model.quality_probs.shape[0] == max(lengths)
    assert abs(model.n_rate - real_n_rate) < 1e-9
    # simulate 10x as many reads as the real run, with the same read lengths
    wrong = called_total = 0
    for i, (length, count) in enumerate(sorted(lengths.items())):
        truth = np.random.default_rng(i).integers(0, 4, size=(10 * count, length), dtype=np.int8)
        r = model.corrupt_batch(truth, 10 + i)
        called = r.observed != N_CODE
        wrong += ((r.observed != truth) & called).sum()
        called_total += called.sum()
    sim_rate = wrong / called_total
    # the fit reproduces the real rate up to simulation noise and the tiny Phred prior
    sd = np.sqrt(real_rate * (1 - real_rate) / called_total)
    assert abs(sim_rate - real_rate) < 4 * sd + 0.03 * real_rate, (sim_rate, real_rate)
    # the fitted substitution spectrum is far from uniform (1/3 each)
    off = model.substitution[~np.eye(4, dtype=bool)]
    assert np.abs(off - 1 / 3).max() > 0.2
    # the fitted qualities decline along the read, as the real ones do
    mq = model.mean_quality()
    assert mq[:5].mean() > mq[30:35].mean() + 2


def test_fit_bam_needs_aligned_reads() -> None:
    with pytest.raises(SeqfcnError, match="no usable aligned reads"):
        IlluminaErrorModel.fit_bam(DATA / "samtools" / "ex1.fastq", DATA / "samtools" / "ex1.fa")
