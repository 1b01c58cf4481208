from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from seqfcn.sequence.encode import decode, reverse_complement
from seqfcn.errors import InputFormatError, SeqfcnError
from seqfcn.motifs.peaks import (
    filter_importance,
    PeakDataset,
    gc_fraction,
    genomic_background,
    holdout_split,
    motif_datasets,
    read_sequences,
    sequence_scores,
)
from seqfcn.sequence.shuffle import dinucleotide_counts

DATA = Path(__file__).resolve().parents[2] / "data"
OCT4 = DATA / "chip" / "Oct4_peaks_top1000_mm9.fa"


def _dna(n: int, seed: int) -> str:
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), n))


def test_holdout_split_is_a_seeded_partition():
    train, held = holdout_split(100, 0.2, seed=3)
    assert len(held) == 20 and len(train) == 80
    assert sorted(np.concatenate([train, held]).tolist()) == list(range(100))
    again = holdout_split(100, 0.2, seed=3)
    np.testing.assert_array_equal(again[1], held)
    assert not np.array_equal(holdout_split(100, 0.2, seed=4)[1], held)
    with pytest.raises(SeqfcnError):
        holdout_split(100, 1.5)


def test_items_labels_and_negatives():
    seqs = [_dna(12, 0), _dna(8, 1)]
    ds = PeakDataset(seqs, 10, label_mode="peak", random_crop=False, reverse_complement=False, seed=0)
    assert len(ds) == 4
    np.testing.assert_array_equal(ds.labels, [1, 1, 0, 0])
    # positive 0 (12 bp) is centre-cropped to bases 1..11; every base labelled 1
    item = ds[0]
    assert item["x"].shape == (4, 10) and item["x"].dtype == torch.float32
    assert item["y"].shape == (1, 10)
    assert decode(item["x"].numpy()) == seqs[0][1:11]
    np.testing.assert_array_equal(item["y"].numpy(), np.ones((1, 10)))
    assert float(item["label"]) == 1.0 and int(item["index"]) == 0
    # positive 1 (8 bp) is centred in 10 with a zero column each side; labels 0 there
    item = ds[1]
    assert decode(item["x"].numpy()) == "N" + seqs[1] + "N"
    np.testing.assert_array_equal(item["y"].numpy()[0], [0] + [1] * 8 + [0])
    # negatives: dinucleotide shuffles of their peak, labelled 0 everywhere
    for k, src in ((2, 0), (3, 1)):
        neg = ds.negatives[k - 2]
        assert dinucleotide_counts(neg) == dinucleotide_counts(seqs[src]) and neg != seqs[src]
        item = ds[k]
        assert float(item["label"]) == 0.0 and int(item["index"]) == src
        assert float(item["y"].sum()) == 0.0


def test_center_and_site_labels():
    seqs = [_dna(20, 2)]
    ds = PeakDataset(seqs, 20, label_mode="center", center_width=6, random_crop=False, reverse_complement=False)
    np.testing.assert_array_equal(ds[0]["y"].numpy()[0], [0] * 7 + [1] * 6 + [0] * 7)
    ds = PeakDataset(seqs, 20, names=["p"], label_mode="sites", sites={"p": [(2, 4), (10, 13)]},
                     random_crop=False, reverse_complement=False)
    expected = np.zeros(20)
    expected[2:4] = expected[10:13] = 1
    np.testing.assert_array_equal(ds[0]["y"].numpy()[0], expected)
    bad = PeakDataset(seqs, 20, names=["p"], label_mode="sites", sites={"p": [(15, 25)]})
    with pytest.raises(SeqfcnError, match="outside"):
        bad[0]
    with pytest.raises(SeqfcnError):
        PeakDataset(seqs, 20, label_mode="sites")
    with pytest.raises(SeqfcnError):
        PeakDataset(seqs, 20, label_mode="nope")


def test_random_crop_and_strand_are_pure_functions_of_seed_and_index():
    seqs = [_dna(50, i) for i in range(4)]
    a = PeakDataset(seqs, 30, label_mode="center", center_width=10, seed=7)
    b = PeakDataset(seqs, 30, label_mode="center", center_width=10, seed=7)
    for i in range(len(a)):
        torch.testing.assert_close(a[i]["x"], b[i]["x"])
        torch.testing.assert_close(a[i]["y"], b[i]["y"])
    windows = set()
    for i in range(4):
        x, y = a[i]["x"].numpy(), a[i]["y"].numpy()[0]
        text = decode(x)
        full = seqs[i]
        fwd = full.find(text)
        rc = full.find(reverse_complement(text))
        assert fwd >= 0 or rc >= 0
        start = fwd if fwd >= 0 else rc
        # labels follow the crop: the centre 10 bases of the 50 bp peak are [20, 30)
        truth = np.zeros(50)
        truth[20:30] = 1
        window = truth[start : start + 30]
        np.testing.assert_array_equal(y, window if fwd >= 0 else window[::-1])
        windows.add((start, fwd >= 0))
    assert len(windows) > 1


def test_read_sequences_and_motif_datasets(tmp_path):
    names, seqs = read_sequences(OCT4)
    assert len(seqs) == 1000 and names[0] == "mm9_chr3_121848111_121848740_+"
    assert len(seqs[0]) == 121848740 - 121848111 and seqs[0] == seqs[0].upper()
    train, val = motif_datasets(OCT4, length=200, holdout=0.2, seed=0)
    assert len(train) == 1600 and len(val) == 400
    assert not set(train.source) & set(val.source)
    assert set(train.source) | set(val.source) == set(range(1000))
    assert val.random_crop is False and train.random_crop is True
    assert val[0]["x"].shape == (4, 200)
    missing = tmp_path / "none.fa"
    with pytest.raises(InputFormatError):
        read_sequences(missing)
    empty = tmp_path / "empty.fa"
    empty.write_text("")
    with pytest.raises(InputFormatError):
        read_sequences(empty)


def test_background_negatives_split_by_holdout():
    bg = [_dna(30, 100 + i) for i in range(10)]
    fasta = DATA / "chip" / "Oct4_peaks_top1000_mm9.fa"
    train, val = motif_datasets(fasta, length=100, holdout=0.2, negatives=bg)
    assert len(train.negatives) == 8 and len(val.negatives) == 2
    assert sorted(train.negatives + val.negatives) == sorted(bg)


def test_shuffle_orders_give_kmer_shuffles_of_each_peak():
    """Per peak, n_shuffles shuffles of each order in turn, shuffle j seeded (seed, index, j):
    the default (2,) is the dinucleotide shuffles; (2, 4) adds 4-mer shuffles, which keep every
    4-mer count. The held-out set of motif_datasets keeps dinucleotide shuffles."""
    from collections import Counter

    from seqfcn.sequence.shuffle import dinucleotide_shuffle, kmer_shuffle

    seqs = [_dna(150, 40 + i) for i in range(3)]
    plain = PeakDataset(seqs, 100, n_shuffles=2, seed=7)
    assert plain.negatives == [dinucleotide_shuffle(s, np.random.default_rng([7, i, j]))
                               for i, s in enumerate(seqs) for j in range(2)]
    both = PeakDataset(seqs, 100, n_shuffles=1, shuffle_orders=(2, 4), seed=7)
    assert len(both.negatives) == 6 and both.negative_source == [0, 0, 1, 1, 2, 2]
    words = lambda s, k: Counter(s[i : i + k] for i in range(len(s) - k + 1))  # noqa: E731
    for i, s in enumerate(seqs):
        di, four = both.negatives[2 * i], both.negatives[2 * i + 1]
        assert di == dinucleotide_shuffle(s, np.random.default_rng([7, i, 0]))
        assert four == kmer_shuffle(s, 4, np.random.default_rng([7, i, 1])) and four != s
        assert words(four, 4) == words(s, 4) and words(di, 4) != words(s, 4)
    fasta = DATA / "chip" / "Oct4_peaks_top1000_mm9.fa"
    train, val = motif_datasets(fasta, length=100, holdout=0.2, seed=2, train_shuffle_orders=(2, 4))
    plain_train, plain_val = motif_datasets(fasta, length=100, holdout=0.2, seed=2)
    assert len(train.negatives) == 2 * len(plain_train.negatives) and val.negatives == plain_val.negatives


def test_train_negatives_join_the_shuffles_of_the_training_set_only():
    extra = [_dna(120, 300 + i).lower() for i in range(5)]
    fasta = DATA / "chip" / "Oct4_peaks_top1000_mm9.fa"
    plain_train, plain_val = motif_datasets(fasta, length=100, holdout=0.2, seed=4)
    train, val = motif_datasets(fasta, length=100, holdout=0.2, seed=4, train_negatives=extra)
    assert train.negatives == plain_train.negatives + [s.upper() for s in extra]
    assert train.negative_source[-5:] == [-1] * 5 and len(train) == len(plain_train) + 5
    assert val.negatives == plain_val.negatives and list(val.labels) == list(plain_val.labels)
    assert list(train.labels[-5:]) == [0.0] * 5 and float(train[len(train) - 1]["y"].sum()) == 0.0


def test_genomic_background_avoids_excluded_regions():
    genome = DATA / "lambda" / "lambda_virus.fa"
    exclude = {"gi|9626243|ref|NC_001416.1|": [(0, 40000)]}
    seqs = genomic_background(genome, [100, 200, 300], exclude=exclude, seed=1)
    assert [len(s) for s in seqs] == [100, 200, 300]
    from seqfcn.io.fasta import Genome

    g = Genome(genome)
    chrom = g.chroms[0]
    text = g.fetch(chrom).upper()
    for s in seqs:
        pos = text.find(s)
        assert pos >= 40000
    assert genomic_background(genome, [100], exclude=exclude, seed=1) == seqs[:1]


class _MaxOfA(torch.nn.Module):
    """Per-base logit = 10 * (is A) - 5: a sequence with any A scores sigmoid(5)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 10.0 * x[:, :1] - 5.0


def test_sequence_scores_is_max_over_positions():
    ds = PeakDataset(["CCCCACCC", "CCCCCCCC"], 8, label_mode="peak", negatives=["GGGGGGGG"], random_crop=False, reverse_complement=False)
    scores, labels = sequence_scores(_MaxOfA(), ds, batch_size=2)
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    np.testing.assert_allclose(scores, [sig(5.0), sig(-5.0), sig(-5.0)])
    np.testing.assert_array_equal(labels, [1, 1, 0])


class _TwoFilters(torch.nn.Module):
    """Filter 0 detects A, filter 1 detects C; the logit reads only filter 0."""

    def __init__(self) -> None:
        super().__init__()
        from seqfcn.nn.layers import MotifConv

        self.motif_conv = MotifConv(4, 2, 1, strand="forward", bias=True)
        with torch.no_grad():
            self.motif_conv.weight.zero_()
            self.motif_conv.weight[0, 0, 0] = 1.0
            self.motif_conv.weight[1, 1, 0] = 1.0
            self.motif_conv.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 10.0 * self.motif_conv(x)[:, :1] - 5.0


def test_filter_importance_by_ablation():
    ds = PeakDataset(["CCACC", "GGAGG"], 5, label_mode="peak", negatives=["CCCCC", "GGGGG"], random_crop=False,
                     reverse_complement=False)
    model = _TwoFilters()
    before = model.motif_conv.weight.detach().clone()
    base, drops = filter_importance(model, ds)
    assert base == 1.0
    # without filter 0 every sequence scores the same: AUROC 0.5
    np.testing.assert_allclose(drops, [0.5, 0.0])
    torch.testing.assert_close(model.motif_conv.weight, before)


def test_sites_from_bed(tmp_path):
    from seqfcn.io.intervals import read_bed
    from seqfcn.motifs.peaks import sites_from_bed

    bed = tmp_path / "sites.bed"
    bed.write_text("p1\t2\t4\np2\t0\t3\np1\t10\t13\n")
    assert sites_from_bed(read_bed(bed)) == {"p1": [(2, 4), (10, 13)], "p2": [(0, 3)]}


def test_genomic_background_matches_gc():
    """GC-matched windows: every window's GC (counted here by hand) is within the tolerance of
    its target, including targets far from lambda's mean (0.50); an unreachable target gets
    the closest window drawn; the windows are real lambda sequence."""
    genome = DATA / "lambda" / "lambda_virus.fa"
    targets = [0.40, 0.45, 0.50, 0.55, 0.60, 0.40]
    seqs = genomic_background(genome, [200] * 6, gc=targets, gc_tolerance=0.01, seed=3)
    from seqfcn.io.fasta import Genome

    text = Genome(genome).fetch(Genome(genome).chroms[0]).upper()
    for s, t in zip(seqs, targets):
        assert abs((s.count("G") + s.count("C")) / 200 - t) <= 0.01 and s in text
    assert gc_fraction("ACGTNNgc") == 4 / 6 and gc_fraction("NNN") == 0.0
    # no 200 bp window of lambda has GC 0.05: the closest of the draws is kept, not an error
    far = genomic_background(genome, [200], gc=[0.05], max_tries=50, seed=3)[0]
    assert far in text and gc_fraction(far) < 0.42  # lambda's 200 bp windows: GC 0.50 on average
    with pytest.raises(SeqfcnError):
        genomic_background(genome, [200, 300], gc=[0.5])
    with pytest.raises(SeqfcnError):
        genomic_background(genome, [200], gc=[float("nan")])
