"""k-mer-evidence read correction: targets, edits, training on one genome and correcting another."""
import json
import shutil
from pathlib import Path

import numpy as np
import pysam
import pytest

from conftest import write_simulated_reads
from seqfcn.resources import MODELS
from seqfcn.cli import main
from seqfcn.training.simulate import GAP, IlluminaErrorModel, OntErrorModel, codes_to_str, to_codes
from seqfcn.correction.edits import Edited, edit
from seqfcn.correction.engine import Decision
from seqfcn.correction.evaluate import evaluate_correction
from seqfcn.correction.evidence import KmerEvidence
from seqfcn.correction.labels import BASES_GAP_INSERT
from seqfcn.correction.model_files import save_corrector
from seqfcn.correction.pipeline import correct_reads
from seqfcn.correction.training import GcBias, edit_targets, genome_codes, simulate_reads, train_kmer_corrector

INSERT_BASE = BASES_GAP_INSERT.insert_base

DATA = Path(__file__).resolve().parents[2] / "data"
LAMBDA = DATA / "lambda" / "lambda_virus.fa"
SARS = DATA / "sarscov2" / "MN908947.3.fasta"


def _apply(observed: np.ndarray, y: np.ndarray) -> list[int]:
    out: list[int] = []
    for o, t in zip(observed, y):
        if t == GAP:
            continue
        if t >= INSERT_BASE:
            out += [int(o), int(t - INSERT_BASE)]
        elif t >= 0:
            out.append(int(t))
    return out


def test_indel_targets_rebuild_truth_when_deletions_are_single():
    truth = to_codes("ACGTTGCAACGTAGGCTTACGATCGATCGGATCCAGT" * 4)
    em = OntErrorModel(sub_rate=0.03, ins_rate=0.03, del_rate=0.03, homopolymer_rate=0.0)
    batch = em.corrupt_batch(np.stack([truth] * 64), seed=1)
    y = edit_targets(batch, "indel")
    exact = 0
    for i in range(len(batch)):
        n = batch.lengths[i]
        # a row can be rebuilt when no base is followed by two deletions nor a deletion after a wrong base
        if batch.n_deleted[i, :n].max(initial=0) > 1:
            continue
        fixable = all(not (batch.n_deleted[i, j] and batch.target[i, j] in (0, 1, 2, 3)
                           and batch.observed[i, j] != batch.target[i, j]) for j in range(n))
        if fixable:
            assert _apply(batch.observed[i, :n], y[i, :n]) == truth.tolist()
            exact += 1
    assert exact >= 10
    assert set(np.unique(edit_targets(batch, "sub"))) <= {-100, 0, 1, 2, 3}


def test_edit_applies_substitution_deletion_insertion():
    seq = np.frombuffer(b"ACGTAC", np.uint8).copy()
    qual = np.array([30, 31, 32, 33, 34, 35], np.uint8)
    d = Decision(base=np.array([0, 1, 0, 3, 0, 1], np.uint8),
                  substitute=np.array([0, 0, 1, 0, 0, 0], bool),
                  delete=np.array([0, 0, 0, 0, 1, 0], bool),
                  quality=np.full(6, 20, np.uint8),
                  insert=np.array([-1, 3, -1, -1, -1, 2], np.int8),
                  insert_quality=np.full(6, 15, np.uint8))
    out = edit(Edited(seq, qual), d, "changed")
    # A C(+T) G->A T [A deleted] C(+G)
    assert out.seq.tobytes() == b"ACTATCG"
    assert out.qual.tolist() == [30, 31, 15, 20, 33, 35, 15]
    assert (out.n_sub, out.n_del, out.n_ins, out.n_changed) == (1, 1, 2, 4)


@pytest.fixture(scope="module")
def lambda_model():
    """A small substitution corrector trained on reads simulated from lambda phage (~15 s)."""
    em = IlluminaErrorModel.default(read_length=100, q_end=20)
    return train_kmer_corrector(genome_codes(LAMBDA), error_model=em, k=21, coverages=(10, 30), read_length=100,
                                window=100, steps=250, batch_size=32, lr=1e-2, device="cpu", progress=False,
                                model_config={"channels": 16})


def test_model_trained_on_lambda_corrects_sarscov2_reads(tmp_path, lambda_model):
    """Genome-agnostic: trained on lambda phage, corrects real SARS-CoV-2 sequence at 25x."""
    sars = genome_codes(SARS)
    reads = tmp_path / "sars.fq"
    truth = write_simulated_reads(reads, sars, IlluminaErrorModel.default(read_length=100, q_end=20), 7500, 100, seed=5)
    out = tmp_path / "corrected.fq"
    stats = correct_reads(reads, lambda_model, out, min_confidence=0.5, progress=False, device="cpu")
    m = evaluate_correction(reads, out, truth=truth)
    assert stats["reads"] == 7500 and stats["rounds"] == 2
    assert m["TP"] + m["FN"] > 1000  # the simulated reads do have errors
    assert m["gain"] > 0.7, m  # measured 0.805
    assert m["FP"] <= 0.0005 * m["bases"], m  # error-free bases stay (measured 0 FP)
    # a threshold of 1 changes nothing
    same = tmp_path / "same.fq"
    correct_reads(reads, lambda_model, same, min_confidence=1.0, progress=False, device="cpu")
    assert same.read_bytes() == reads.read_bytes()


def test_saved_reads_model_counts_input_and_refuses_stdin(tmp_path, lambda_model, capsys):
    save_corrector(lambda_model, tmp_path / "m")
    doc = json.loads((tmp_path / "m" / "config.json").read_text())
    assert doc["input_channels"][:7] == ["A", "C", "G", "T", "quality", "sub_A_end", "sub_A_mid"]
    assert len(doc["input_channels"]) == 17 and doc["metadata"]["kmer_evidence"]["source"] == "reads"
    reads = tmp_path / "r.fq"
    write_simulated_reads(reads, genome_codes(LAMBDA), IlluminaErrorModel.default(read_length=100), 300, 100, seed=2)
    out = tmp_path / "o.fq"
    assert main(["correct", str(reads), "--model", str(tmp_path / "m"), "-o", str(out), "--no-progress", "-q"]) == 0
    assert sum(1 for _ in pysam.FastxFile(str(out))) == 300
    import io
    import sys

    old = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(reads.read_bytes()))
    try:
        code = main(["correct", "-", "--model", str(tmp_path / "m"), "-o", str(tmp_path / "x.fq"), "--no-progress"])
    finally:
        sys.stdin = old
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "stdin" in err[-1] and len(err) == 1
    assert not (tmp_path / "x.fq").exists()


@pytest.mark.skipif(shutil.which("minimap2") is None, reason="needs minimap2 to align")
def test_cli_reference_indel_model_round_trip(tmp_path, one_thread):
    """`seqfcn train --evidence reference` stores the genome's table; corrected ONT-like reads
    have fewer edits against the genome. 150 steps of 16 windows at lr 2e-2 on 2x and 5x samples
    (was 64 windows at 1e-2 on 5x and 15x, 3x the time): error rate after / before 0.665 (seed 1;
    seeds 2, 3: 0.638, 0.658; the old run 0.686, 0.666, 0.652)."""
    out = tmp_path / "ont"
    config = tmp_path / "train.json"
    config.write_text(json.dumps({"train": {"batch_size": 16, "lr": 0.02}}))
    assert main(["train", "--task", "correct", "--evidence", "reference", "--genome", str(SARS), "--error-model",
                 "ont;ont:del_rate=0.05", "--kmer", "13", "--coverages", "2,5", "--steps", "150", "--read-length", "200", "--out", str(out), "-q",
                 "--seed", "1", "--config", str(config)]) == 0
    model_dir = out / "model"
    assert (model_dir / "kmers.npz").exists() and (model_dir / "model.safetensors").exists()
    meta = json.loads((model_dir / "config.json").read_text())["metadata"]
    assert meta["kmer_evidence"] == {"k": 13, "edits": "indel", "source": "reference"}
    assert [m["del_rate"] for m in meta["train"]["error_model"]] == [0.03, 0.05]
    assert (meta["train"]["batch_size"], meta["train"]["lr"], meta["train"]["steps"]) == (16, 0.02, 150)
    reads = tmp_path / "ont.fq"
    write_simulated_reads(reads, genome_codes(SARS), OntErrorModel(), 150, 300, seed=9)
    fixed = tmp_path / "fixed.fq"
    stats = correct_reads(reads, model_dir, fixed, min_confidence=0.5, progress=False, device="cpu", rounds=3)
    assert stats["reads"] == 150 and stats["bases_deleted"] > 0 and stats["bases_inserted"] > 0
    names = [r.name for r in pysam.FastxFile(str(fixed))]
    assert names == [f"r{i}" for i in range(150)]
    m = evaluate_correction(reads, fixed, reference=SARS, aligner="minimap2")
    assert m["alignment_error_rate_after"] < 0.8 * m["alignment_error_rate_before"], m


def test_evidence_spec_validation():
    with pytest.raises(Exception):
        KmerEvidence(20)
    with pytest.raises(Exception):
        KmerEvidence(21, source="elsewhere")


def test_gc_bias_weights_and_parse():
    bias = GcBias(0.4, 0.1)
    assert np.allclose(bias.weight(np.array([0.4, 0.3, 0.5, 0.6])), [1, np.exp(-0.5), np.exp(-0.5), np.exp(-2)])
    assert GcBias.parse("0.4,0.1") == bias and GcBias.parse("none") is None


def test_gc_biased_reads_follow_the_tilted_window_distribution():
    """With a GC bias every read start is kept with probability w(GC of its window): the reads'
    mean GC is the w-weighted mean over every start of the genome (brute force), and uniform
    sampling gives the plain mean; both within 4 standard errors."""
    genome = genome_codes(LAMBDA)
    L, n = 100, 20000
    windows = np.lib.stride_tricks.sliding_window_view(genome[0], L)
    gc_all = ((windows == 1) | (windows == 2)).mean(1)
    em = IlluminaErrorModel.default(read_length=L)
    bias = GcBias(0.42, 0.04)
    for gc_bias, weights in ((None, np.ones_like(gc_all)), (bias, bias.weight(gc_all))):
        batch = simulate_reads(genome, em, n, L, seed=3, gc_bias=gc_bias)
        assert batch.observed.shape == (n, L)
        got = ((batch.observed == 1) | (batch.observed == 2)).mean(1)
        mean = (gc_all * weights).sum() / weights.sum()
        sd = np.sqrt((((gc_all - mean) ** 2) * weights).sum() / weights.sum())
        assert abs(got.mean() - mean) < 4 * sd / np.sqrt(n) + 0.003  # + substitution errors' drift
    assert mean < gc_all.mean() - 0.02  # the bias moves the reads well away from the genome's GC


def test_mirrored_inputs_equal_the_reverse_complement_read():
    """The channel permutation used for strand averaging and training augmentation turns the
    inputs of a read into exactly those of its reverse complement (qualities reversed)."""
    from seqfcn.correction.inputs import model_inputs
    from seqfcn.correction.training import EvidenceWindows
    from seqfcn.correction.kmers import mirror_order, table_for_reads

    rng = np.random.default_rng(3)
    genome = rng.integers(0, 4, 2000).astype(np.int8)
    reads = [genome[s : s + 60] for s in rng.integers(0, 1940, 300)]
    ev = KmerEvidence(11, "sub", "reads", table_for_reads(reads, 11))
    read = reads[0].copy()
    read[[5, 30]] = (read[[5, 30]] + 1) % 4  # two errors
    qual = rng.integers(2, 41, 60).astype(np.uint8)
    x = model_inputs(read[None], qual[None], np.array([60]), ev)[0]
    rc = (3 - read)[::-1].copy()
    x_rc = model_inputs(rc[None], qual[::-1][None].copy(), np.array([60]), ev)[0]
    order = [3, 2, 1, 0, 4] + [5 + c for c in mirror_order("sub")]
    assert np.array_equal(x[order, ::-1], x_rc)
    data = EvidenceWindows(x[None], np.arange(60)[None] % 4, np.array([60]), 60, 20, mirror=mirror_order("sub"))
    flipped = [i for i in range(20) if not np.array_equal(data[i]["x"].numpy(), x)]
    assert 3 < len(flipped) < 17
    assert np.array_equal(data[flipped[0]]["x"].numpy(), x_rc)
    assert data[flipped[0]]["y"].tolist() == [3 - (v % 4) for v in range(60)][::-1]


@pytest.mark.parametrize("extra, message", [
    (["--coverages", "10,x"], "--coverages"),
    (["--coverages", "0"], "--coverages"),
    (["--kmer", "20"], "odd"),
    (["--force"], "--force is for --resume"),
    (["--gc-bias", "0.5"], "PEAK,WIDTH"),
    (["--gc-bias", "0.5,0"], "width > 0"),
])
def test_cli_train_evidence_bad_options(tmp_path, capsys, extra, message):
    code = main(["train", "--task", "correct", "--evidence", "reads", "--genome", str(SARS), "--out",
                 str(tmp_path / "o"), "-q", *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0]
    assert not (tmp_path / "o" / "model").exists()


def test_train_correct_info_round_trip_on_the_train_directory(tmp_path, capsys):
    """`seqfcn train --task correct --out D` (default: the reads-spectrum k-mer corrector), then
    `seqfcn correct --model D` and `seqfcn info D` on the directory train wrote."""
    out = tmp_path / "run"
    assert main(["train", "--task", "correct", "--genome", str(LAMBDA), "--coverages", "20", "--read-length", "100",
                 "--steps", "20", "--out", str(out), "--device", "cpu", "-q"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["evidence"] == "reads" and summary["k"] == 21
    em = IlluminaErrorModel.default(read_length=100)
    batch = simulate_reads(genome_codes(LAMBDA), em, 600, 100, seed=5)
    reads = tmp_path / "r.fq"
    reads.write_text("".join(f"@r{i}\n{codes_to_str(batch.observed[i])}\n+\n"
                             f"{''.join(chr(33 + int(q)) for q in batch.qualities[i])}\n" for i in range(len(batch))))
    fixed = tmp_path / "c.fq"
    assert main(["correct", str(reads), "--model", str(out), "-o", str(fixed), "--no-progress"]) == 0
    names = [r.name for r in pysam.FastxFile(str(fixed))]
    assert names == [f"r{i}" for i in range(len(batch))]
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "bases: A, C, G, T" in text and '"k": 21' in text and "parameters:" in text
    assert len(text) < 4000 and "quality_probs" not in text  # a summary, not the error model's tables
    assert main(["info", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["metadata"]["label_scheme"]["classes"] == ["A", "C", "G", "T"] and doc["parameters"] > 0


def test_malformed_fastq_in_the_counting_pass_exits_2_naming_the_read(tmp_path, capsys):
    """A k-mer-spectrum model reads the input first to count it: a bad record fails there, with
    one line naming the file and read, and no output is written."""
    bad = tmp_path / "bad.fq"
    bad.write_text("@ok\nACGTACGTACGTACGTACGTACGTACGT\n+\nIIIIIIIIIIIIIIIIIIIIIIIIIIII\n"
                   "@broken\nACGTACGTACGTACGTACGTACGTAAAA\n+\nIIII\n")
    out = tmp_path / "out.fq"
    code = main(["correct", str(bad), "--model", str(MODELS["kmer_illumina"].path), "-o", str(out),
                 "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "bad.fq" in err[0] and "broken" in err[0]
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["bad.fq"]


def test_self_train_under_torchrun_is_refused_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    reads = DATA / "samtools" / "ex1.fastq"
    code = main(["correct", str(reads), "--self-train", "-o", str(tmp_path / "o.fq"), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--self-train under torchrun" in err[0]


def test_spectrum_checks_keep_error_free_reads_and_bound_false_corrections(tmp_path):
    """A barely trained model proposes changes everywhere; with the solid k-mer checks
    (the default for reads-spectrum models) error-free reads come out unchanged, and the
    model's proposals pass only where the spectrum supports them."""
    em = IlluminaErrorModel.default(read_length=100, q_end=20)
    weak = train_kmer_corrector(genome_codes(LAMBDA), error_model=em, k=21, coverages=(10,), read_length=100,
                                window=100, steps=2, batch_size=8, lr=1e-2, device="cpu", progress=False,
                                model_config={"channels": 4, "n_layers": 1})
    reads = tmp_path / "r.fq"
    truth = write_simulated_reads(reads, genome_codes(LAMBDA), em, 12_000, 100, seed=9)  # 25x
    free = {r.name for r, t in zip(pysam.FastxFile(str(reads)), pysam.FastxFile(str(truth))) if r.sequence == t.sequence}
    out = tmp_path / "o.fq"
    stats = correct_reads(reads, weak, out, min_confidence=0.0, progress=False, device="cpu")
    assert stats["solid"] >= 2 and stats["reads_skipped_solid"] > 0.5 * len(free)
    kept = {r.name: r.sequence for r in pysam.FastxFile(str(out))}
    original = {r.name: r.sequence for r in pysam.FastxFile(str(reads))}
    assert all(kept[n] == original[n] for n in free)
    m = evaluate_correction(reads, out, truth=truth)
    assert m["FP"] <= 0.002 * m["TP"] + 2 and m["gain"] > 0.9, m
    unguarded = correct_reads(reads, weak, tmp_path / "u.fq", min_confidence=0.0, progress=False, device="cpu",
                              solid=None)
    assert evaluate_correction(reads, tmp_path / "u.fq", truth=truth)["FP"] > 10 * max(m["FP"], 1), unguarded


def test_cli_solid_off_is_the_model_alone(tmp_path, lambda_model):
    save_corrector(lambda_model, tmp_path / "m")
    reads = tmp_path / "r.fq"
    write_simulated_reads(reads, genome_codes(LAMBDA), IlluminaErrorModel.default(read_length=100, q_end=20), 3000, 100, seed=4)
    assert main(["correct", str(reads), "--model", str(tmp_path / "m"), "-o", str(tmp_path / "off.fq"),
                 "--solid", "off", "--min-confidence", "0.5", "--no-progress", "-q", "--device", "cpu"]) == 0
    correct_reads(reads, tmp_path / "m", tmp_path / "api.fq", min_confidence=0.5, solid=None, progress=False,
                  device="cpu")
    assert (tmp_path / "off.fq").read_bytes() == (tmp_path / "api.fq").read_bytes()
    assert main(["correct", str(reads), "--model", str(tmp_path / "m"), "-o", str(tmp_path / "auto.fq"),
                 "--min-confidence", "0.5", "--no-progress", "-q", "--device", "cpu", "--stats",
                 str(tmp_path / "s.json")]) == 0
    assert json.loads((tmp_path / "s.json").read_text())["solid"] >= 2


def test_network_on_windows_around_weak_bases_decides_exactly_as_on_whole_reads():
    """With solid checks, running the network only on the receptive-field windows around
    unsupported bases gives the same substitutions and qualities as whole reads, on fewer bases."""
    from seqfcn.correction.engine import CorrectionEngine, ReadItem
    from seqfcn.correction.model_files import load_corrector
    from seqfcn.correction.spectrum import compiled, solid_threshold
    from seqfcn.correction.kmers import table_for_reads

    if not compiled():
        pytest.skip("compiled k-mer kernels not built")
    em = IlluminaErrorModel.default(read_length=120)
    batch = simulate_reads(genome_codes(LAMBDA), em, 8000, 120, seed=21)
    reads = [batch.observed[i, : batch.lengths[i]] for i in range(len(batch))]
    c = load_corrector(MODELS["kmer_illumina"].path)
    ev = c.evidence.with_table(table_for_reads(reads, c.evidence.k))
    solid = solid_threshold(ev.table)
    items = [ReadItem(i, reads[i], batch.qualities[i, : batch.lengths[i]], True) for i in range(1500)]
    fast = CorrectionEngine(c.model, device="cpu", evidence=ev, solid=solid)
    whole = CorrectionEngine(c.model, device="cpu", evidence=ev, solid=solid, windows=False)
    weak = [it for it, w in zip(items, fast.needs_model([it.codes for it in items])) if w]
    a, b = fast.decide(weak), whole.decide(weak)
    assert fast.windows and len(weak) > 100 and sum(int(d.substitute.sum()) for d in a.values()) > 50
    for i in a:
        assert np.array_equal(a[i].substitute, b[i].substitute)
        sub = a[i].substitute
        assert np.array_equal(a[i].base[sub], b[i].base[sub]) and np.array_equal(a[i].quality[sub], b[i].quality[sub])
    assert fast.bases_run < 0.8 * whole.bases_run
