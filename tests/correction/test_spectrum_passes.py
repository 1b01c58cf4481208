"""Counting for correction in passes under a memory cap: the same index as one pass, a
one-line error when the cap leaves no room, refusals when the pieces do not belong together."""
import logging

import numpy as np
import pytest

from seqfcn.correction import spectrum_passes as passes
from seqfcn.correction.spectrum import SpectrumCounter, add_reads, compiled, count_spectrum
from seqfcn.correction.spectrum_files import take
from seqfcn.errors import SeqfcnError

pytestmark = pytest.mark.skipif(not compiled(), reason="compiled k-mer kernels not built")


@pytest.fixture(scope="module")
def reads():
    """6x of 150 bp reads from a random 300 kb genome, 1% substitutions (~320 k distinct 21-mers)."""
    rng = np.random.default_rng(11)
    genome = rng.integers(0, 4, 300_000).astype(np.uint8)
    starts = rng.integers(0, genome.shape[0] - 150, 12_000)
    out = []
    for s in starts:
        r = genome[s:s + 150].copy()
        hit = rng.random(150) < 0.01
        r[hit] = (r[hit] + rng.integers(1, 4, int(hit.sum()))) % 4
        out.append(r if rng.random() < 0.5 else (3 - r[::-1]).copy())
    return out


def _count(reads, **options):
    return passes.count_compact(lambda counter: add_reads(counter, iter(reads)), 21, expected_bases=1 << 22,
                                **options)


def _no_process(monkeypatch):
    """The budget is then the cap less the filters alone: the test controls the passes."""
    monkeypatch.setattr(passes, "resident_bytes", lambda: 0)
    monkeypatch.setattr(passes, "SLACK", 0)


def _filters() -> int:
    counter = SpectrumCounter(21, expected_bases=1 << 22)
    return counter.nbytes - counter.table_bytes()


def test_passes_under_a_cap_give_the_one_pass_index(reads, monkeypatch, tmp_path, caplog):
    one = _count(reads)
    _no_process(monkeypatch)
    with caplog.at_level(logging.INFO, logger=passes.__name__):
        capped = _count(reads, memory=_filters() + 1_800_000, tmp_dir=tmp_path)
    made = [r.getMessage() for r in caplog.records if "counting pass" in r.getMessage()]
    assert len(made) >= 2, made  # the cap forced passes
    assert len(capped) == len(one) > 250_000 and capped.scale == one.scale and capped.reads == one.reads == 12_000
    np.testing.assert_array_equal(capped.count_histogram(), one.count_histogram())
    np.testing.assert_array_equal(capped.index().offsets, one.index().offsets)
    np.testing.assert_array_equal(capped.index().entries, one.index().entries)
    assert list(tmp_path.iterdir()) == []  # the spilled sub-tables are gone


def test_a_cap_with_no_room_for_tables_is_refused_before_any_read(reads, monkeypatch):
    _no_process(monkeypatch)
    fed = []
    with pytest.raises(SeqfcnError, match="too little to count k-mers"):
        passes.count_compact(lambda counter: fed.append(1) or True, 21, expected_bases=1 << 22,
                             memory=_filters() + 100_000)
    assert fed == []


def test_one_large_batch_stays_within_the_budget():
    """A batch far larger than the budget is counted a slice at a time, so the tables cannot
    outgrow the projection made before it (4 Mbp of new k-mers against 3 MB)."""
    genome = np.random.default_rng(0).integers(0, 4, 2_000_000).astype(np.uint8)
    counter = SpectrumCounter(21, expected_bases=1 << 22, budget=3_000_000)
    add_reads(counter, iter([genome[s:s + 150].copy() for s in range(0, genome.shape[0] - 150, 75)]))
    assert counter.table_bytes() <= 3_000_000 and len(counter.subs) < 16


def test_one_sixteenth_over_the_cap_is_an_error(reads):
    counter = SpectrumCounter(21, expected_bases=1 << 22, subs=range(15, 16), budget=200_000)
    with pytest.raises(SeqfcnError, match="one sixteenth of the k-mer spectrum"):
        add_reads(counter, iter(reads))


def test_a_pass_drops_its_highest_sub_tables_to_fit(reads):
    counter = SpectrumCounter(21, expected_bases=1 << 22, subs=range(4, 16), budget=800_000)
    add_reads(counter, iter(reads))
    assert 5 <= counter.subs.stop < 16 and counter.subs.start == 4
    assert counter.table_bytes() <= 800_000


def test_reads_that_change_between_passes_are_refused(reads, monkeypatch):
    _no_process(monkeypatch)
    calls = []

    def feed(counter):
        calls.append(1)
        return add_reads(counter, iter(reads[: len(reads) - len(calls)]))

    with pytest.raises(SeqfcnError, match="the reads changed while they were counted"):
        passes.count_compact(feed, 21, expected_bases=1 << 22, memory=_filters() + 2_500_000)


def test_a_spilled_sub_table_cut_short_is_refused(tmp_path):
    path = tmp_path / "3.u64"
    np.arange(10, dtype=np.uint64).tofile(path)
    with pytest.raises(SeqfcnError, match="12 were written"):
        take(str(path), 12)


def test_a_tiny_spectrum_and_large_k_are_compacted_too():
    tiny = [np.array([0, 1, 2, 3] * 10, np.uint8)] * 3
    table = passes.count_compact(lambda counter: add_reads(counter, iter(tiny)), 5, expected_bases=1 << 20)
    assert table.compacted and len(table) == 2  # ACGTA and CGTAC, canonical
    np.testing.assert_array_equal(table.index().entries, count_spectrum(iter(tiny), 5).compact().index().entries)
    big = passes.count_compact(lambda counter: add_reads(counter, iter(tiny)), 25, expected_bases=1 << 20)
    assert big.compacted and len(big) == len(count_spectrum(iter(tiny), 25)) == 2  # k > 21: compacted whole
    with pytest.raises(SeqfcnError, match="k <= 21"):
        passes.count_compact(lambda counter: True, 25, expected_bases=1 << 20, memory=1 << 30)


def test_a_spill_directory_that_cannot_be_made_or_written_is_one_line(reads, monkeypatch, tmp_path):
    _no_process(monkeypatch)
    with pytest.raises(SeqfcnError, match="cannot make a directory for k-mers on disk"):
        _count(reads[:100], memory=1 << 30, tmp_dir=tmp_path / "missing")

    def full(self, i):
        raise OSError(28, "No space left on device")
        yield

    monkeypatch.setattr(SpectrumCounter, "sub_pieces", full)
    with pytest.raises(SeqfcnError, match="No space left on device"):
        _count(reads[:100], memory=1 << 30, tmp_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # the spill directory is gone
