"""Long-read correction from the reads' own overlaps: pileups against a column-by-column oracle, PAF
round trips and checks, a planted read corrected exactly, pass-through, shards and resumable overlaps."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pysam
import pytest

from seqfcn.correction.longread import apply_posterior
from seqfcn.correction.overlaps import OverlapFinder, cigar_text, paf_groups, paf_line, parse_paf_line
from seqfcn.correction.pileup import COUNTS, pileup_counts
from seqfcn.errors import InputFormatError
from seqfcn.resources import MODELS
from seqfcn.sequence.encode import codes_to_str, reverse_complement, to_codes
from tests.conftest import LAMBDA_FA

pytestmark = pytest.mark.usefixtures("one_thread")
GENOME = str(next(iter(pysam.FastxFile(str(LAMBDA_FA)))).sequence)
COMP = {"A": "T", "C": "G", "G": "C", "T": "A"}


def _fastq(path: Path, reads: list[tuple[str, str]]) -> Path:
    with open(path, "w") as fh:
        for name, seq in reads:
            fh.write(f"@{name} note\n{seq}\n+\n{'5' * len(seq)}\n")
    return path


def _noisy(seq: str, rng: np.random.Generator, rate: float) -> str:
    out = []
    for base in seq:
        r = rng.random()
        if r < rate:  # substitution
            out.append("ACGT"[("ACGT".index(base) + int(rng.integers(1, 4))) % 4])
        elif r < 1.5 * rate:  # deletion
            continue
        else:
            out.append(base)
        if rng.random() < rate / 2:
            out.append("ACGT"[int(rng.integers(4))])
    return "".join(out)


def _planted(truth: str) -> str:
    """3 substitutions, 2 inserted and 2 deleted bases, far apart and outside homopolymers."""
    s = list(truth)
    for at in (900, 2600, 4400):
        s[at] = COMP[s[at]]
    for at in (6500, 3500):  # from the right, so the earlier positions stay put
        del s[at]
    for at in (5300, 1700):
        s.insert(at, "A" if s[at - 1] != "A" and s[at] != "A" else "C")
    return "".join(s)


@pytest.fixture(scope="module")
def overlapping(tmp_path_factory) -> tuple[Path, str, str]:
    """Reads tiling lambda 0-14 kb at ~12x on both strands (3 % errors), one read with planted
    errors (``planted``, true sequence lambda 3000-10000) and one unrelated read (``lonely``)."""
    rng = np.random.default_rng(5)
    reads = []
    for i, start in enumerate(range(0, 12000, 500)):
        seq = _noisy(GENOME[start:start + 3000 + 1000 * (i % 4)], rng, 0.03)
        reads.append((f"r{i}", reverse_complement(seq) if i % 2 else seq))
    truth = GENOME[3000:10000]
    reads.insert(7, ("planted", _planted(truth)))
    reads.append(("lonely", codes_to_str(rng.integers(0, 4, 4000).astype(np.int8))))
    path = _fastq(tmp_path_factory.mktemp("long") / "reads.fq", reads)
    return path, truth, reads[-1][1]


def _oracle(length: int, overlaps, finder: OverlapFinder) -> np.ndarray:
    """Counts walked column by column in plain Python."""
    counts = np.zeros((len(COUNTS), length), np.float32)
    for ov in overlaps:
        target = finder.target_bases(ov.target, ov.t_start, ov.t_end)
        if ov.strand < 0:  # walk the reverse complement of the read against the forward target
            pos_of = lambda p: ov.q_end - 1 - p  # noqa: E731
            comp = lambda b: COMP.get(b, "N")  # noqa: E731
        else:
            pos_of = lambda p: ov.q_start + p  # noqa: E731
            comp = lambda b: b  # noqa: E731
        p = t = 0
        for n, op in ov.cigar.tolist():
            if op == 0:
                for _ in range(n):
                    b = comp(target[t])
                    if b in "ACGT":
                        counts["ACGT".index(b), pos_of(p)] += 1
                    p, t = p + 1, t + 1
            elif op == 1:
                for _ in range(n):
                    counts[4, pos_of(p)] += 1
                    p += 1
            else:
                inserted = target[t:t + n]
                after = ov.q_start + p - 1 if ov.strand > 0 else ov.q_end - 1 - p
                first = inserted[0] if ov.strand > 0 else comp(inserted[-1])
                counts[5, after] += 1
                counts[6 + "ACGT".index(first), after] += 1
                t += n
    return counts


def test_pileup_counts_match_a_column_walk(overlapping):
    path, _, _ = overlapping
    finder = OverlapFinder(path, 1)
    checked = 0
    for rec in pysam.FastxFile(str(path)):
        overlaps = finder.overlaps(rec.name, rec.sequence)
        got = pileup_counts(len(rec.sequence), overlaps, finder.target_bases)
        np.testing.assert_array_equal(got, _oracle(len(rec.sequence), overlaps, finder))
        checked += len(overlaps)
    assert checked > 100 and {ov.strand for ov in overlaps} <= {1, -1}


def test_paf_lines_round_trip_and_bad_lines_are_named(overlapping, tmp_path):
    path, _, _ = overlapping
    finder = OverlapFinder(path, 1)
    rec = next(r for r in pysam.FastxFile(str(path)) if r.name == "planted")
    ov = finder.overlaps(rec.name, rec.sequence)[0]
    name, length, back = parse_paf_line(paf_line(rec.name, len(rec.sequence), ov))
    assert (name, length) == ("planted", len(rec.sequence))
    assert back.target == ov.target and (back.q_start, back.q_end, back.t_start, back.t_end, back.strand) == \
        (ov.q_start, ov.q_end, ov.t_start, ov.t_end, ov.strand)
    np.testing.assert_array_equal(back.cigar, ov.cigar)
    line = paf_line("a", len(rec.sequence), ov)
    bad = tmp_path / "bad.paf"
    bad.write_text(line + line.replace("cg:Z:", "xx:Z:"))
    with pytest.raises(InputFormatError, match="line 2: no cg:Z:"):
        list(paf_groups(bad))
    bad.write_text(line + paf_line("b", len(rec.sequence), ov) + line)
    with pytest.raises(InputFormatError, match="line 3: read a comes back"):
        list(paf_groups(bad))


def test_cigar_text_round_trips_every_alignment_operation():
    ops = np.array([[3, 7], [1, 8], [2, 1], [1, 2], [4, 0]])
    assert cigar_text(ops) == "3=1X2I1D4M"
    name, length, ov = parse_paf_line("q\t20\t0\t10\t+\tt\t30\t5\t14\t7\t11\t255\tcg:Z:3=1X2I1D4M\n")
    assert (name, length, ov.strand) == ("q", 20, 1)
    np.testing.assert_array_equal(ov.cigar, ops)
    with pytest.raises(ValueError, match="does not span"):
        parse_paf_line("q\t20\t0\t11\t+\tt\t30\t5\t14\t7\t11\t255\tcg:Z:3=1X2I1D4M\n")


def test_apply_posterior_edits_and_keeps_unsupported_positions():
    probs = np.zeros((9, 6), np.float32)
    probs[[0, 4, 1, 5 + 3, 2, 3], range(6)] = 1.0  # keep A, delete, C for G, keep + insert T, G, T
    depth = np.array([5, 5, 5, 5, 5, 0])
    out = apply_posterior("AAGCGa", np.arange(6, dtype=np.uint8) + 20, probs, depth, 3, 0.5)
    assert out.sequence == "ACCTGa"  # the unsupported lower-case base stays as it was
    assert (out.substituted, out.deleted, out.inserted, out.supported) == (1, 1, 1, 5)
    assert out.qualities.tolist() == [50, 50, 50, 50, 50, 25]


@pytest.mark.parametrize("model", ["ont_r9", "ont_r10"])
def test_planted_read_comes_back_exact_and_lonely_read_unchanged(overlapping, tmp_path, cli, model):
    path, truth, lonely = overlapping
    out, stats = tmp_path / "out.fq", tmp_path / "stats.json"
    code, _, err = cli(["correct", path, "--model", model, "-o", out, "--stats", stats, "--no-progress"])
    assert code == 0, err
    got = {r.name: r for r in pysam.FastxFile(str(out))}
    src = [r for r in pysam.FastxFile(str(path))]
    assert [r.name for r in src] == list(got)  # every read, in order
    assert got["planted"].sequence == truth
    assert got["planted"].comment == "note"
    assert (got["lonely"].sequence, got["lonely"].quality) == (lonely, "5" * len(lonely))
    s = json.loads(stats.read_text())
    assert s["reads"] == len(src) and s["untouched"] == 1 and s["inserted"] >= 2 and s["deleted"] >= 2
    assert s["rounds"] == {"ont_r9": 3, "ont_r10": 2}[model] == len(s["per_round"])


def test_overlap_shards_and_correct_shards_merge_byte_identical(overlapping, tmp_path, cli):
    path = overlapping[0]
    whole = tmp_path / "whole.fq"
    assert cli(["correct", path, "--model", "ont_r10", "-o", whole, "--no-progress", "--rounds", "1"])[0] == 0
    pafs = [tmp_path / f"ov{i}.paf" for i in (1, 2)]
    for i, paf in enumerate(pafs, 1):
        assert cli(["overlap", path, "-o", paf, "--shard", f"{i}/2", "--no-progress"])[0] == 0
    from_paf = tmp_path / "from_paf.fq"
    assert cli(["correct", path, "--model", "ont_r10", "--overlaps", *pafs, "-o", from_paf, "--no-progress"])[0] == 0
    assert from_paf.read_bytes() == whole.read_bytes()
    parts = [tmp_path / f"part{i}.fq" for i in (1, 2)]
    for i, (paf, part) in enumerate(zip(pafs, parts), 1):
        code, _, err = cli(["correct", path, "--model", "ont_r10", "--overlaps", paf, "--shard", f"{i}/2",
                            "-o", part, "--no-progress"])
        assert code == 0, err
    merged = tmp_path / "merged.fq"
    assert cli(["merge", *parts, "-o", merged])[0] == 0
    assert merged.read_bytes() == whole.read_bytes()


def test_overlaps_of_other_reads_or_an_incomplete_set_are_refused(overlapping, tmp_path, cli):
    path = overlapping[0]
    paf = tmp_path / "ov1.paf"
    assert cli(["overlap", path, "-o", paf, "--shard", "1/2", "--no-progress"])[0] == 0
    code, _, err = cli(["correct", path, "--model", "ont_r10", "--overlaps", paf, "-o", tmp_path / "o.fq"])
    assert code == 2 and "every shard 1/n..n/n" in err and not (tmp_path / "o.fq").exists()
    other = _fastq(tmp_path / "other.fq", [("x", GENOME[:5000]), ("y", GENOME[2000:7000])])
    code, _, err = cli(["correct", other, "--model", "ont_r10", "--overlaps", paf, "--shard", "1/2",
                        "-o", tmp_path / "o.fq"])
    assert code == 2 and "overlaps of other reads" in err and len(err.strip().splitlines()) == 1
    cut = tmp_path / "cut.paf"
    cut.write_text("".join(paf.read_text().splitlines(keepends=True)[:-1]))
    (tmp_path / "cut.paf.json").write_text((tmp_path / "ov1.paf.json").read_text())
    code, _, err = cli(["correct", path, "--model", "ont_r10", "--overlaps", cut, "--shard", "1/2",
                        "-o", tmp_path / "o.fq"])
    assert code == 2 and "cut.paf: changed since seqfcn overlap wrote it" in err and not (tmp_path / "o.fq").exists()
    code, _, err = cli(["correct", path, "--model", "ont_r10", "--overlaps", paf, "--shard", "1/2", "--rounds", "2",
                        "-o", tmp_path / "o.fq"])
    assert code == 2 and "--rounds above 1" in err and not (tmp_path / "o.fq").exists()


def test_duplicate_names_and_stdin_are_one_line_errors(tmp_path, cli):
    dup = _fastq(tmp_path / "dup.fq", [("a", GENOME[:3000]), ("b", GENOME[100:3000]), ("a", GENOME[:200])])
    code, _, err = cli(["correct", dup, "--model", "ont_r9", "-o", tmp_path / "o.fq"])
    assert code == 2 and "read name a is given twice (records 1 and 3)" in err and "dup.fq" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "o.fq").exists()
    code, _, err = cli(["overlap", dup, "-o", tmp_path / "o.paf"])
    assert code == 2 and not (tmp_path / "o.paf").exists()
    code, _, err = cli(["correct", "-", "--model", "ont_r9", "-o", tmp_path / "o.fq"])
    assert code == 2 and "not stdin" in err
    code, _, err = cli(["correct", dup, "--model", "ont_r9", "--spectrum", dup, "-o", tmp_path / "o.fq"])
    assert code == 2 and "--spectrum is for short-read models" in err
    code, _, err = cli(["correct", dup, "--model", "ont_r9", "-o", tmp_path / "o.bam"])
    assert code == 2 and "written as FASTQ or FASTA" in err and not (tmp_path / "o.bam").exists()


def test_shipped_pileup_models_resolve_by_name():
    from seqfcn.correction.longread import PileupCorrector, is_pileup_model

    for name in ("ont_r9", "ont_r10"):
        assert MODELS[name].path.is_dir() and is_pileup_model(name)
        corrector = PileupCorrector(name)
        x = np.zeros((15, 300), np.float32)
        x[11 + to_codes(GENOME[:300]), np.arange(300)] = 1.0
        probs = corrector.posterior(x, window=128)
        np.testing.assert_allclose(probs, corrector.posterior(x, window=1000), atol=1e-6)  # tiled == whole
        np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-5)
    assert not is_pileup_model("kmer_illumina")


def test_cigar_strings_parse_to_the_oracle_s_rows_and_bad_ones_are_named() -> None:
    import re

    from seqfcn.correction.overlaps import _parse_cigar

    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(1, 40))
        text = "".join(f"{int(rng.integers(1, 10 ** int(rng.integers(1, 9))))}{rng.choice(list('MID=X'))}"
                       for _ in range(n))
        want = [[int(a), "MIDNSHP=X".index(b)] for a, b in re.findall(r"(\d+)([MID=X])", text)]
        assert _parse_cigar(text).tolist() == want
    for bad, message in [("10M2", "ends without an operation"), ("", "ends without an operation"),
                         ("10Q", "bad CIGAR operation 'Q'"), ("5S10M", "bad CIGAR operation 'S'"),
                         ("10MM", "bad CIGAR operation 'M'"), ("10M 2I", "bad CIGAR operation ' '")]:
        with pytest.raises(ValueError, match=message):
            _parse_cigar(bad)
