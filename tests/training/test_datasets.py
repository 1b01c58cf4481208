"""Datasets: determinism per (seed, index), hold-outs, corruption targets, labels."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from seqfcn.training.simulate import IlluminaErrorModel, OntErrorModel
from seqfcn.training.datasets import (
    CorruptedWindows,
    GenomeWindows,
    LabelledWindows,
    Region,
    holdout_regions,
)
from seqfcn.sequence.encode import codes_one_hot, reverse_complement_codes
from seqfcn.errors import SeqfcnError
from seqfcn.io.fasta import Genome

LAMBDA = "data/lambda/lambda_virus.fa"


@pytest.fixture(scope="module")
def genome():
    return Genome(LAMBDA)


def test_codes_helpers():
    codes = np.array([0, 1, 2, 3, 4])
    np.testing.assert_array_equal(codes_one_hot(codes), np.vstack([np.eye(4), np.zeros(4)]).T)
    np.testing.assert_array_equal(reverse_complement_codes(codes), [4, 0, 1, 2, 3])


def test_windows_match_genome_and_are_deterministic(genome):
    ds = GenomeWindows(genome, 100, 50, seed=3)
    chrom = genome.chroms[0]
    text = genome.fetch(chrom)
    table = {"A": 0, "C": 1, "G": 2, "T": 3}
    for i in range(20):
        item = ds[i]
        expect = np.array([table[b] for b in text[item["start"] : item["start"] + 100]])
        if item["strand"] == "-":
            expect = reverse_complement_codes(expect)
        np.testing.assert_array_equal(item["codes"].numpy(), expect)
    again = GenomeWindows(genome, 100, 50, seed=3)
    assert [again[i]["start"] for i in range(50)] == [ds[i]["start"] for i in range(50)]
    other = GenomeWindows(genome, 100, 50, seed=4)
    assert [other[i]["start"] for i in range(50)] != [ds[i]["start"] for i in range(50)]
    assert {ds[i]["strand"] for i in range(50)} == {"+", "-"}


def test_holdout_is_excluded(genome):
    hold = holdout_regions(genome.chrom_sizes, 0.2)
    length = genome.chrom_sizes[genome.chroms[0]]
    assert hold == [Region(genome.chroms[0], int(length * 0.8), length)]
    train = GenomeWindows(genome, 500, 400, seed=0, exclude=hold)
    assert max(train[i]["start"] + 500 for i in range(400)) <= hold[0].start
    val = GenomeWindows(genome, 500, 100, seed=0, regions=hold)
    assert min(val[i]["start"] for i in range(100)) >= hold[0].start
    with pytest.raises(SeqfcnError, match="at least"):
        GenomeWindows(genome, 10_000, 5, regions=[Region(genome.chroms[0], 0, 9_999)])


def test_n_windows_are_redrawn(tmp_path):
    fa = tmp_path / "g.fa"
    fa.write_text(">c\n" + "N" * 900 + "ACGT" * 25 + "\n")
    ds = GenomeWindows(fa, 50, 20, seed=1, max_n_fraction=0.0)
    for i in range(20):
        assert ds[i]["start"] >= 900
        assert (ds[i]["codes"] < 4).all()


def test_loader_workers_give_same_batches(genome):
    ds = CorruptedWindows(GenomeWindows(genome, 64, 32, seed=5), IlluminaErrorModel.default(), seed=6)
    serial = [b["x"] for b in DataLoader(ds, batch_size=8)]
    parallel = [b["x"] for b in DataLoader(ds, batch_size=8, num_workers=2)]
    for a, b in zip(serial, parallel):
        assert torch.equal(a, b)


def test_corrupted_windows_targets(genome):
    windows = GenomeWindows(genome, 200, 300, seed=7, both_strands=False)
    ds = CorruptedWindows(windows, IlluminaErrorModel.default(), seed=8)
    errors = total = 0
    for i in range(300):
        item = ds[i]
        truth = windows[i]["codes"]
        assert item["x"].shape == (5, 200)
        assert torch.equal(item["y"], truth)  # substitutions only: the target is the truth
        assert torch.equal(item["x"][:4].argmax(0)[item["observed"] < 4], item["observed"][item["observed"] < 4])
        errors += int((item["observed"] != truth).sum())
        total += 200
    rate = errors / total
    assert 0.001 < rate < 0.02  # the default model's expected error rate is a few per thousand
    ont = CorruptedWindows(windows, OntErrorModel(), seed=8)[0]
    assert ont["x"].shape == (5, 200) and ont["y"].shape == (200,)


def test_labelled_windows_reverse_labels(genome):
    chrom = genome.chroms[0]
    track = np.arange(genome.chrom_sizes[chrom], dtype=np.float32)
    ds = LabelledWindows(GenomeWindows(genome, 30, 40, seed=9), {chrom: track})
    for i in range(40):
        item, start = ds[i], ds.windows[i]["start"]
        expect = track[start : start + 30]
        if ds.windows[i]["strand"] == "-":
            expect = expect[::-1]
        np.testing.assert_array_equal(item["y"][0].numpy(), expect)
        assert item["x"].shape == (4, 30)
    with pytest.raises(SeqfcnError, match="no labels"):
        LabelledWindows(GenomeWindows(genome, 30, 4), {})
