"""Correction metrics: exact counts on hand-made reads, truth files, alignment to a reference, CLI."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from seqfcn.cli import main
from seqfcn.correction.evaluate import (
    correction_metrics,
    edit_distance,
    edit_metrics,
    evaluate_with_truth,
    format_metrics,
)
from seqfcn.errors import SeqfcnError

DATA = Path(__file__).resolve().parents[2] / "data"

# read 1: error at 2 fixed (TP), 5 introduced (FP), 6 left (FN), 9 changed T->G (FN, wrong fix)
# read 2: error at 3 fixed (TP); read 3: truth N at 2 is not counted, no errors
ORIGINAL = ["AACAAAGAAT", "ACGA", "ACGT"]
CORRECTED = ["AAAAATGAAG", "acgt", "ACCT"]
TRUTH = ["AAAAAAAAAA", "ACGT", "ACNT"]


def test_hand_made_counts() -> None:
    m = correction_metrics(ORIGINAL, CORRECTED, TRUTH)
    assert (m["TP"], m["FP"], m["FN"], m["wrong_fix"]) == (2, 1, 2, 1)
    assert m["reads"] == 3 and m["bases"] == 17
    assert (m["errors_before"], m["errors_after"]) == (4, 3)
    assert m["error_rate_before"] == pytest.approx(4 / 17)
    assert m["error_rate_after"] == pytest.approx(3 / 17)
    assert m["gain"] == pytest.approx(0.25)
    assert m["sensitivity"] == pytest.approx(0.5)
    assert m["precision"] == pytest.approx(0.5)
    assert (m["reads_with_errors_before"], m["reads_with_errors_after"]) == (2, 1)
    # gain = 1 - errors after / errors before under this convention
    assert m["gain"] == pytest.approx(1 - m["errors_after"] / m["errors_before"])


def test_perfect_and_empty() -> None:
    m = correction_metrics(["ACGTT"], ["ACGTA"], ["ACGTA"])
    assert (m["TP"], m["FP"], m["FN"], m["gain"], m["sensitivity"]) == (1, 0, 0, 1.0, 1.0)
    m = correction_metrics(["ACGT"], ["ACGT"], ["ACGT"])
    assert m["gain"] is None and m["error_rate_before"] == 0.0
    assert "n/a" in format_metrics(m)


def test_length_mismatch_names_read() -> None:
    with pytest.raises(SeqfcnError, match="read2.*lengths differ"):
        correction_metrics(["ACGT", "ACGT"], ["ACGT", "ACG"], ["ACGT", "ACGT"], names=["read1", "read2"])


def _levenshtein(a: str, b: str) -> int:
    """The oracle: Levenshtein distance by dynamic programming over the whole (len(a)+1) x (len(b)+1) table."""
    d = [[i + j if i == 0 or j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
    return d[len(a)][len(b)]


def _plant(rng, seq: str, n: int) -> str:
    """``seq`` with ``n`` random edits: substitutions, insertions and deletions."""
    s = list(seq)
    for _ in range(n):
        kind = rng.integers(3)
        i = int(rng.integers(len(s) + (kind == 1))) if s else 0
        if kind == 0 and s:
            s[i] = "ACGT"[("ACGT".index(s[i]) + 1 + int(rng.integers(3))) % 4]
        elif kind == 1 or not s:
            s.insert(i, "ACGT"[int(rng.integers(4))])
        else:
            del s[i]
    return "".join(s)


def test_edit_distances_equal_a_dynamic_programming_oracle() -> None:
    """Random reads with planted substitutions, insertions and deletions: every distance and
    every sum equals the oracle's; a read and its exact copy are 0 apart."""
    import numpy as np

    rng = np.random.default_rng(7)
    truth = ["".join(rng.choice(list("ACGT"), int(rng.integers(1, 60)))) for _ in range(150)]
    original = [_plant(rng, t, int(rng.integers(0, 6))) for t in truth]
    corrected = [t if i % 3 == 0 else o if i % 3 == 1 else _plant(rng, o, int(rng.integers(0, 3)))
                 for i, (t, o) in enumerate(zip(truth, original))]
    before = [_levenshtein(o, t) for o, t in zip(original, truth)]
    after = [_levenshtein(c, t) for c, t in zip(corrected, truth)]
    assert [edit_distance(o, t) for o, t in zip(original, truth)] == before
    assert [edit_distance(c, t) for c, t in zip(corrected, truth)] == after
    assert len({len(o) - len(t) for o, t in zip(original, truth)}) > 3  # indels of both signs were planted
    m = edit_metrics(original, corrected, truth)
    assert (m["edits_before"], m["edits_after"]) == (sum(before), sum(after))
    assert m["edit_reduction"] == 1 - sum(after) / sum(before)
    assert m["reads_improved"] == sum(a < b for a, b in zip(after, before))
    assert m["reads_worsened"] == sum(a > b for a, b in zip(after, before))
    assert m["reads_unchanged"] == sum(a == b for a, b in zip(after, before))
    assert (m["reads_exact_before"], m["reads_exact_after"]) == (before.count(0), after.count(0))
    assert m["reads_exact_after"] >= 50  # every third read was corrected to its truth
    assert edit_distance("", "ACG") == 3 and edit_distance("acgt", "ACGT") == 0


# hand-made: r1 a deletion fixed (better, exact after); r2 an insertion made by the corrector (worse);
# r3 a substitution swapped for another one (unchanged); r4 exact and left so; r5 two errors, one fixed
INDEL_NAMES = ["r1", "r2", "r3", "r4", "r5"]
INDEL_TRUTH = ["ACGTACGTAA", "GGGCCCAAAT", "ACGTTGCA", "TTTTAAAA", "ACACACACGG"]
INDEL_ORIGINAL = ["ACGTCGTAA", "GGGCCCAAAT", "ACGATGCA", "TTTTAAAA", "ACTCACACGGG"]
INDEL_CORRECTED = ["ACGTACGTAA", "GGGCCCCAAAT", "ACGTTGCT", "TTTTAAAA", "ACACACACGGG"]


def test_hand_made_indel_reads_better_worse_exact(tmp_path) -> None:
    orig = _fastq(tmp_path / "o.fq", INDEL_NAMES, INDEL_ORIGINAL)
    corr = _fastq(tmp_path / "c.fq", INDEL_NAMES[::-1], INDEL_CORRECTED[::-1])  # names decide, not order
    truth = tmp_path / "t.fa"
    truth.write_text("".join(f">{n}\n{s}\n" for n, s in zip(INDEL_NAMES, INDEL_TRUTH)))
    m = evaluate_with_truth(orig, corr, truth)
    assert (m["edits_before"], m["edits_after"]) == (1 + 0 + 1 + 0 + 2, 0 + 1 + 1 + 0 + 1)
    assert m["edit_reduction"] == 1 - 3 / 4
    assert (m["reads_improved"], m["reads_worsened"], m["reads_unchanged"]) == (2, 1, 2)
    assert (m["reads_exact_before"], m["reads_exact_after"]) == (2, 2)
    # base-level counts only the reads whose three versions have one length: r3 (TP 1, FP 1) and r4
    assert (m["reads"], m["base_level_reads"]) == (5, 2)
    assert (m["TP"], m["FP"], m["FN"], m["bases"]) == (1, 1, 0, 16)
    table = format_metrics(m)
    assert "edits after (residual)" in table and "reads made worse (more edits)" in table


def test_missing_edlib_is_one_line(monkeypatch) -> None:
    from conftest import hide_module

    hide_module(monkeypatch, "edlib")
    with pytest.raises(SeqfcnError, match="needs edlib.*pip install edlib"):
        edit_distance("ACGT", "AGT")


def _fastq(path: Path, names, seqs) -> Path:
    path.write_text("".join(f"@{n}\n{s}\n+\n{'I' * len(s)}\n" for n, s in zip(names, seqs)))
    return path


def _truth_sam(path: Path) -> Path:
    """Truth as art_illumina -ef writes it: r2 on the reverse strand (stored reverse-complemented)."""
    header = "@HD\tVN:1.4\n@SQ\tSN:chr\tLN:100\n"
    rows = [("r1", 0, 1, TRUTH[0]), ("r2", 16, 20, "ACGT"), ("r3", 0, 40, TRUTH[2])]  # ACGT is its own RC
    text = header + "".join(
        f"{n}\t{flag}\tchr\t{pos}\t60\t{len(s)}M\t*\t0\t0\t{s}\t{'I' * len(s)}\n" for n, flag, pos, s in rows
    )
    path.write_text(text)
    return path


def test_truth_files_matched_by_name(tmp_path) -> None:
    names = ["r1", "r2", "r3"]
    orig = _fastq(tmp_path / "orig.fq", [n + "/1" for n in names], ORIGINAL)
    corr = _fastq(tmp_path / "corr.fq", [n + "/1" for n in names[::-1]], CORRECTED[::-1])  # other order
    truth_fa = tmp_path / "truth.fa"
    truth_fa.write_text("".join(f">{n}\n{s}\n" for n, s in zip(names, TRUTH)))
    expected = correction_metrics(ORIGINAL, CORRECTED, TRUTH)
    for truth in (truth_fa, _truth_sam(tmp_path / "truth.sam")):
        m = evaluate_with_truth(orig, corr, truth)
        assert {k: m[k] for k in expected} == expected


def test_reverse_strand_truth_is_flipped(tmp_path) -> None:
    orig = _fastq(tmp_path / "o.fq", ["x"], ["AACCG"])
    corr = _fastq(tmp_path / "c.fq", ["x"], ["AACCT"])
    sam = tmp_path / "t.sam"
    sam.write_text("@SQ\tSN:chr\tLN:100\nx\t16\tchr\t1\t60\t5M\t*\t0\t0\tAGGTT\tIIIII\n")  # truth AACCT
    m = evaluate_with_truth(orig, corr, sam)
    assert (m["TP"], m["FP"], m["FN"]) == (1, 0, 0)


def test_missing_read_names_it(tmp_path) -> None:
    orig = _fastq(tmp_path / "orig.fq", ["r1", "r2"], ["ACGT", "ACGT"])
    corr = _fastq(tmp_path / "corr.fq", ["r1"], ["ACGT"])
    truth = _fastq(tmp_path / "truth.fq", ["r1", "r2"], ["ACGT", "ACGT"])
    with pytest.raises(SeqfcnError, match="corr.fq.*'r2'.*missing from the corrected"):
        evaluate_with_truth(orig, corr, truth)
    other = _fastq(tmp_path / "other.fq", ["r1", "zz"], ["ACGT", "ACGT"])
    with pytest.raises(SeqfcnError, match="'r2'.*missing from the true"):
        evaluate_with_truth(orig, orig, other)


def test_cli_table_and_json(tmp_path, capsys) -> None:
    names = ["r1", "r2", "r3"]
    orig = _fastq(tmp_path / "orig.fq", names, ORIGINAL)
    corr = _fastq(tmp_path / "corr.fq", names, CORRECTED)
    truth = _fastq(tmp_path / "truth.fq", names, TRUTH)
    out = tmp_path / "m.json"
    rc = main(["evaluate", "correction", "--original", str(orig), "--corrected", str(corr),
               "--truth", str(truth), "--json", str(out)])
    assert rc == 0
    table = capsys.readouterr().out
    assert "gain (TP-FP)/(TP+FN)" in table and "0.2500" in table
    m = json.loads(out.read_text())
    assert (m["TP"], m["FP"], m["FN"], m["mode"]) == (2, 1, 2, "truth")
    # edit distances: r1 3 -> 3 (as many), r2 1 -> 0 (better, exact), r3 1 (the N) -> 1 (as many)
    assert (m["edits_before"], m["edits_after"], m["edit_reduction"]) == (5, 4, 1 - 4 / 5)
    assert (m["reads_improved"], m["reads_worsened"], m["reads_unchanged"], m["reads_exact_after"]) == (1, 0, 2, 1)
    assert "edits before (edit distance to truth)" in table and "0.2000" in table
    assert not list(tmp_path.glob(".*tmp"))
    corr2 = _fastq(tmp_path / "short.fq", names[:2], CORRECTED[:2])
    rc = main(["evaluate", "correction", "--original", str(orig), "--corrected", str(corr2), "--truth", str(truth)])
    err = capsys.readouterr().err
    assert rc == 2 and "'r3'" in err and len(err.strip().splitlines()) == 1


@pytest.mark.skipif(shutil.which("bwa") is None, reason="bwa is not installed")
def test_reference_alignment_real_reads(tmp_path) -> None:
    """200 real reads vs themselves with planted fixes (mismatches set to the reference base)
    and planted errors (a middle base of error-free reads changed)."""
    from seqfcn.sequence.encode import reverse_complement
    from seqfcn.io.reads import read_reads

    reads = []
    for read in read_reads(DATA / "samtools" / "ex1.fastq"):
        reads.append((read.name, read.sequence))
        if len(reads) == 200:
            break
    truth_by_name: dict[str, str] = {}  # FASTQ name (with /1, /2) -> reference base under each read base
    for read in read_reads(DATA / "samtools" / "ex1.bam", reference=DATA / "samtools" / "ex1.fa", primary_only=True):
        if read.ref_bases is not None and read.segment.mapping_quality >= 20:
            ref = read.ref_bases
            mate = "/1" if read.segment.is_read1 else "/2"
            truth_by_name[read.name + mate] = reverse_complement(ref) if read.is_reverse else ref
    errors_before = fixes = planted = 0
    corrected = []
    for name, seq in reads:
        ref = truth_by_name.get(name)
        new = list(seq)
        if ref is not None:
            mism = [i for i, (a, b) in enumerate(zip(seq, ref)) if b in "ACGT" and a in "ACGT" and a != b]
            errors_before += len(mism)
            middle = [i for i in mism if 8 <= i < len(seq) - 8]
            if middle and len(mism) <= 2 and fixes < 6:  # bwa aln maps 35 bp reads with <= 2 differences
                new[middle[0]] = ref[middle[0]]
                fixes += 1
            elif not mism and planted < 3 and "N" not in seq:
                i = len(seq) // 2
                new[i] = "A" if seq[i] != "A" else "C"
                planted += 1
        corrected.append("".join(new))
    assert fixes == 6 and planted == 3
    orig = _fastq(tmp_path / "orig.fq", [n for n, _ in reads], [s for _, s in reads])
    corr = _fastq(tmp_path / "corr.fq", [n for n, _ in reads], corrected)
    out = tmp_path / "m.json"
    rc = main(["evaluate", "correction", "--original", str(orig), "--corrected", str(corr),
               "--reference", str(DATA / "samtools" / "ex1.fa"), "--aligner", "bwa", "--json", str(out)])
    assert rc == 0
    m = json.loads(out.read_text())
    assert m["aligner"] == "bwa" and m["mode"] == "reference"
    assert m["reads_aligned_both"] >= 150  # bwa mem leaves some 35 bp reads unmapped
    assert (m["TP"], m["FP"]) == (6, 3)
    assert m["edits_after"] == m["edits_before"] - 6 + 3
    assert (m["reads_improved"], m["reads_worsened"]) == (6, 3)
    # the reads bwa aln maps carry part of the mismatches ex1.bam shows for all 200 reads;
    # they align without indels here, so NM edits and base-level errors agree
    assert 0 < m["errors_before"] <= errors_before
    assert m["errors_before"] == m["edits_before"] and m["errors_after"] == m["edits_after"]
    assert m["FN"] == m["errors_before"] - 6


@pytest.mark.skipif(shutil.which("minimap2") is None, reason="minimap2 is not installed")
def test_reference_alignment_ont_minimap2(tmp_path) -> None:
    """Long ONT reads go to minimap2; an unchanged 'correction' changes nothing."""
    from seqfcn.correction.evaluate import evaluate_correction
    from seqfcn.io.reads import read_reads

    names, seqs = [], []
    for read in read_reads(DATA / "sarscov2" / "MT007544.fastq"):
        names.append(read.name)
        seqs.append(read.sequence)
        if len(names) == 20:
            break
    orig = _fastq(tmp_path / "o.fq", names, seqs)
    m = evaluate_correction(orig, orig, reference=DATA / "sarscov2" / "MN908947.3.fasta")
    assert m["aligner"] == "minimap2"
    assert m["reads_aligned_both"] >= 15
    assert (m["TP"], m["FP"], m["reads_improved"], m["reads_worsened"]) == (0, 0, 0, 0)
    assert m["edits_before"] == m["edits_after"] > 0
    assert 0.01 < m["alignment_error_rate_before"] < 0.2  # ONT R9-era reads: several % errors


def test_missing_aligner_is_a_user_error(tmp_path, monkeypatch) -> None:
    import seqfcn.correction.evaluate as ev

    orig = _fastq(tmp_path / "o.fq", ["a"], ["ACGTACGTAC"])
    monkeypatch.setattr(ev.shutil, "which", lambda tool: None)
    with pytest.raises(SeqfcnError, match="bwa is not installed"):
        ev.evaluate_correction(orig, orig, reference=DATA / "samtools" / "ex1.fa", aligner="bwa")
    with pytest.raises(SeqfcnError, match="exactly one"):
        ev.evaluate_correction(orig, orig)
