"""The reliability probe: bad input, bad options, clobbering outputs, kills — as one table.

Each :class:`Probe` row is a case, the expected outcome (exit code and a phrase of the
one-line message) and, where it matters, a check of the files afterwards. The numbered
defects of the reliability issue each have a row (``#N`` in the case name) that failed
before the fix. ``python tests/test_reliability.py`` prints the table with what is
observed now (case, expected, observed).
"""
from __future__ import annotations

import argparse

import gzip
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from conftest import EX1_FA, EX1_FASTQ, EX1_MODEL, LAMBDA_FA, SMALL_MEME

MEME_HEAD = "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\nBackground letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n"


# --------------------------------------------------------------------------- the work directory
def _fastq(records: list[tuple[str, str, str]]) -> str:
    return "".join(f"@{n}\n{s}\n+\n{q}\n" for n, s, q in records)


def _ex1_records(n: int) -> list[tuple[str, str, str]]:
    lines = EX1_FASTQ.read_text().splitlines()
    return [(lines[i][1:], lines[i + 1], lines[i + 3]) for i in range(0, 4 * n, 4)]


def _read_fastq(path: Path) -> list[tuple[str, str, str]]:
    lines = path.read_text().splitlines()
    return [(lines[i][1:].split()[0], lines[i + 1], lines[i + 3]) for i in range(0, len(lines), 4)]


def make_work(w: Path) -> Path:
    """Inputs every probe may use, in ``w``: g.fa (lambda), m.meme, r.fq (100 ex1 reads)."""
    shutil.copy(LAMBDA_FA, w / "g.fa")
    shutil.copy(SMALL_MEME, w / "m.meme")
    (w / "r.fq").write_text(_fastq(_ex1_records(100)))
    return w


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _correct(reads: str, out: str = "out.fq", *extra: str) -> list[str]:
    return ["correct", reads, "--model", str(EX1_MODEL), "-o", out, "--no-progress", "--device", "cpu", *extra]


# --------------------------------------------------------------------------- probes
@dataclass
class Probe:
    """One row: ``make(w)`` prepares files in ``w`` and returns the argv (relative to ``w``)."""

    case: str
    rc: int
    needle: str  # a phrase of stderr (exit 2: the whole message is one line)
    make: Callable[[Path], list[str]]
    check: Callable[[Path, str, str], None] | None = None

    @property
    def expected(self) -> str:
        return f"exit {self.rc}" + (f", '{self.needle}'" if self.needle else "")


def _unchanged(name: str) -> Callable[[Path, str, str], None]:
    def check(w: Path, out: str, err: str) -> None:
        assert _digest(w / name) == _DIGESTS[name], f"{name} was changed"
    return check


_DIGESTS: dict[str, str] = {}


def _dup_fasta(w: Path) -> list[str]:
    (w / "dup.fa").write_text(">chrA\nACGTACGTAC\n>chrB\nGGGGCCCC\n>chrA\nTTTTAAAA\n")
    return ["scan", "dup.fa", "--motifs", "m.meme", "-o", "hits.bed"]


def _fai(length: int | None = None, offset: int | None = None) -> Callable[[Path], list[str]]:
    def make(w: Path) -> list[str]:
        name = LAMBDA_FA.read_text().split("\n", 1)[0][1:].split()[0]
        line_len = len(LAMBDA_FA.read_text().split("\n")[1])
        off = len(name) + 2 if offset is None else offset
        (w / "g.fa.fai").write_text(f"{name}\t{length or 48502}\t{off}\t{line_len}\t{line_len + 1}\n")
        return ["scan", "g.fa", "--motifs", "m.meme", "-o", "hits.bed", "--thresh", "1e-3"]
    return make


def _scans_whole_record(w: Path, out: str, err: str) -> None:
    ends = [int(line.split("\t")[2]) for line in (w / "hits.bed").read_text().splitlines()
            if line and not line.startswith(("#", "track"))]
    assert max(ends) > 47_000, f"hits end at {max(ends)}: the stale index was trusted"


def _phred64(w: Path) -> list[str]:
    recs = [(n, s, "".join(chr(ord(c) + 31) for c in q)) for n, s, q in _ex1_records(100)]
    (w / "r64.fq").write_text(_fastq(recs))
    return _correct("r64.fq")


def _phred64_kept(w: Path, out: str, err: str) -> None:
    before, after = _read_fastq(w / "r64.fq"), _read_fastq(w / "out.fq")
    assert [r[0] for r in before] == [r[0] for r in after]
    changed = 0
    for (_, s0, q0), (_, s1, q1) in zip(before, after):
        assert min(q1) >= "@", "a Phred+33 character in a Phred+64 output"
        same = [i for i in range(len(s0)) if s0[i] == s1[i]]
        assert [q1[i] for i in same] == [q0[i] for i in same], "unchanged bases keep their qualities"
        changed += len(s0) - len(same)
    assert changed > 0  # otherwise this probe could not see mixed encodings

def _bad_char(char: str) -> Callable[[Path], list[str]]:
    def make(w: Path) -> list[str]:
        recs = _ex1_records(3)
        n, s, q = recs[1]
        recs[1] = (n, s[:5] + char + s[6:], q)
        (w / "c.fq").write_text(_fastq(recs))
        return _correct("c.fq")
    return make


def _no_call_is_n(w: Path, out: str, err: str) -> None:
    after = _read_fastq(w / "out.fq")
    assert len(after) == 3 and len(after[1][1]) == len(_ex1_records(3)[1][1])


def _meme_row(w: Path) -> list[str]:
    (w / "bad.meme").write_text(MEME_HEAD + "MOTIF m1\nletter-probability matrix: alength= 4 w= 2\n"
                                "0.5 0.5 0 0\n0.05 0.05 0.05 0.05\n")
    return ["scan", "g.fa", "--motifs", "bad.meme", "-o", "hits.bed"]


def _empty_reads(w: Path) -> list[str]:
    recs = _ex1_records(4)
    recs.insert(2, ("trimmed_away", "", ""))
    (w / "e.fq").write_text(_fastq(recs))
    return _correct("e.fq")


def _empty_kept(w: Path, out: str, err: str) -> None:
    after = _read_fastq(w / "out.fq")
    assert [r[0] for r in after][2] == "trimmed_away" and after[2][1:] == ("", "") and len(after) == 5


def _bad_second_record(w: Path) -> list[str]:
    (w / "b.fa").write_text(LAMBDA_FA.read_text() + ">two\nACGT7ACGT\n")
    return ["scan", "b.fa", "--motifs", "m.meme", "-o", "hits.bed"]  # progress bar on


def _error_on_its_own_line(w: Path, out: str, err: str) -> None:
    lines = [line for line in err.replace("\r", "\n").splitlines() if "error" in line]
    assert lines and all(line.startswith("seqfcn scan: error:") for line in lines), lines


def _truncated_gz(w: Path) -> list[str]:
    data = gzip.compress(_fastq(_ex1_records(1500)).encode())
    cut = data[: len(data) // 2]
    (w / "t.fq.gz").write_bytes(cut)
    complete = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(cut).count(b"\n") // 4
    (w / "complete.txt").write_text(str(complete))
    return _correct("t.fq.gz")


def _names_complete(w: Path, out: str, err: str) -> None:
    assert "[E::" not in err and f"after {(w / 'complete.txt').read_text()} complete records" in err


def _missing_plus(w: Path) -> list[str]:
    (w / "p.fq").write_text("@a\nACGT\n+\nIIII\n@b\nACGT\nIIII\n@c\nAC\n+\nII\n")
    return _correct("p.fq")


def _short_quality(w: Path) -> list[str]:
    (w / "s.fq").write_text("@a\nACGT\n+\nIIII\n@b\nACGTACGT\n+\nIII\n@c\nAC\n+\nII\n")
    return _correct("s.fq")


def _stale_temporaries(w: Path) -> list[str]:
    host = socket.gethostname().replace(".", "_")
    (w / f".out.fq.{host}.{_dead_pid()}.abc123.part").write_text("left by a SIGKILL")
    (w / f".out.fq.{host}.{os.getppid()}.def456.part").write_text("a live writer's")
    (w / f".out.fq.otherhost.{_dead_pid()}.ghi789.part").write_text("another host's")
    return _correct("r.fq")


def _only_live_temporaries_left(w: Path, out: str, err: str) -> None:
    left = sorted(p.name for p in w.iterdir() if p.name.startswith(".out.fq."))
    assert len(left) == 2 and all(str(os.getppid()) in n or "otherhost" in n for n in left), left


PROBES = [
    Probe("#1 scan -o names the genome", 2, "never writes over an input",
          lambda w: ["scan", "g.fa", "--motifs", "m.meme", "-o", "g.fa"], _unchanged("g.fa")),
    Probe("#1 scan -o ./x/../genome spelling", 2, "never writes over an input",
          lambda w: (w / "x").mkdir() or ["scan", "g.fa", "--motifs", "m.meme", "-o", "./x/../g.fa"],
          _unchanged("g.fa")),
    Probe("#1 scan -o names the motif file", 2, "never writes over an input",
          lambda w: ["scan", "g.fa", "--motifs", "m.meme", "-o", "m.meme"], _unchanged("m.meme")),
    Probe("#2 correct --stats names the reads", 2, "never writes over an input",
          lambda w: _correct("r.fq", "out.fq", "--stats", "r.fq"), _unchanged("r.fq")),
    Probe("#2 correct -o and --stats the same file", 2, "are the same file",
          lambda w: _correct("r.fq", "out.fq", "--stats", "out.fq")),
    Probe("#3 FASTA with two records named chrA", 2, "two sequences have this name", _dup_fasta),
    Probe("#4 stale .fai (30,000 of 48,502 bp) is rebuilt", 0, "", _fai(length=30_000), _scans_whole_record),
    Probe("#5 Phred+64 FASTQ keeps Phred+64", 0, "", _phred64, _phred64_kept),
    Probe("#6 read character '7' rejected by correct", 2, "position 5", _bad_char("7")),
    Probe("#6 read character '-' rejected by correct", 2, "position 5", _bad_char("-")),
    Probe("#6 read character '.' (no-call) read as N", 0, "", _bad_char("."), _no_call_is_n),
    Probe("#7 MEME row summing to 0.2", 2, "sums to 0.2", _meme_row),
    Probe("#10 .fai with a too-long length", 0, "", _fai(length=60_000), _scans_whole_record),
    Probe("#10 .fai with a wrong offset", 0, "", _fai(offset=3), _scans_whole_record),
    Probe("#11 --threads -2", 2, "expected a whole number >= 1", lambda w: _correct("r.fq", "o.fq", "--threads", "-2")),
    Probe("--solid 0", 2, "expected a whole number >= 1", lambda w: _correct("r.fq", "o.fq", "--solid", "0")),
    Probe("#12 empty FASTQ reads pass through", 0, "", _empty_reads, _empty_kept),
    Probe("#13 error during a scan, progress bar on", 2, "'two'", _bad_second_record, _error_on_its_own_line),
    Probe("#14 truncated .fastq.gz", 2, "truncated or corrupt gzip data", _truncated_gz, _names_complete),
    Probe("#15 FASTQ record without its '+' line", 2, "expected the '+' line", _missing_plus),
    Probe("#15 quality line shorter than the sequence", 2, "the sequence has 8 bases but the quality string has 3",
          _short_quality),
    Probe("#16 temporaries of dead writers are removed", 0, "", _stale_temporaries, _only_live_temporaries_left),
]


# --------------------------------------------------------------------------- shard sets and spectra (#28: 1, 2)
_KEPT: dict[str, str] = {}  # digests of the files a shard probe made, taken in make()


def _seqfcn(w: Path, *argv: object) -> None:
    """Run seqfcn in ``w`` to make a probe's inputs (it must succeed)."""
    from seqfcn.cli import main

    cwd = os.getcwd()
    os.chdir(w)
    try:
        assert main([str(a) for a in argv] + ["-q"]) == 0, argv
    finally:
        os.chdir(cwd)


def _keep(w: Path, *names: str) -> None:
    _KEPT.clear()
    _KEPT.update({name: _digest(w / name) for name in names})


def _read_shards(w: Path, reads: str, stem: str, which: tuple[int, ...], n: int = 3) -> None:
    for i in which:
        _seqfcn(w, *_correct(reads, f"{stem}.{i}.fq", "--shard", f"{i}/{n}"))


def _merge_reads(*names: str) -> Callable[[Path], list[str]]:
    def make(w: Path) -> list[str]:
        _read_shards(w, "r.fq", "a", (1, 2, 3))
        (w / "b.fq").write_text(_fastq(_ex1_records(200)[100:]))  # another sample, as many reads
        _read_shards(w, "b.fq", "b", (2,))
        _seqfcn(w, *_correct("r.fq", "full.fq"))
        _keep(w, "a.1.fq", "a.2.fq", "a.3.fq", "b.2.fq", "r.fq", "b.fq")
        return ["merge", *names, "-o", "m.fq"]
    return make


def _nothing_written(*outputs: str) -> Callable[[Path, str, str], None]:
    """No output, no temporary, every input as it was."""
    def check(w: Path, out: str, err: str) -> None:
        for name in outputs:
            assert not (w / name).exists(), f"{name} was written"
        assert not [p.name for p in w.iterdir() if p.name.startswith(".")], "a temporary was left"
        for name, digest in _KEPT.items():
            assert _digest(w / name) == digest, f"{name} was changed"
    return check


def _merged_as_unsharded(w: Path, out: str, err: str) -> None:
    assert (w / "m.fq").read_bytes() == (w / "full.fq").read_bytes()
    _nothing_written()(w, out, err)


def _predict(*extra: str) -> list[str]:
    return ["predict", "g.fa", "--model", "pou5f1_sox2_pwm", "--window", "5000", "--device", "cpu", *extra]


def _merge_predict(*names: str) -> Callable[[Path], list[str]]:
    def make(w: Path) -> list[str]:
        for i in (1, 2, 3):
            _seqfcn(w, *_predict("--shard", f"{i}/3", "-o", f"p.{i}.bedGraph"))
        _seqfcn(w, *_predict("-o", "full.bedGraph"))
        _keep(w, "p.1.bedGraph", "p.2.bedGraph", "p.3.bedGraph", "g.fa")
        return ["merge", *names, "-o", "m.bedGraph"]
    return make


def _predict_merged_as_unsharded(w: Path, out: str, err: str) -> None:
    assert (w / "m.bedGraph").read_bytes() == (w / "full.bedGraph").read_bytes()
    assert (w / "m.bedGraph").stat().st_size > 1000
    _nothing_written()(w, out, err)


def _other_reads_spectrum(fingerprints: bool) -> Callable[[Path], list[str]]:
    """A spectrum counted from sampleA/r.fq (the same name and size as sampleB/r.fq, other reads),
    or (``fingerprints=False``) one of an older seqfcn that records no fingerprint."""
    def make(w: Path) -> list[str]:
        from seqfcn.correction.kmers import KmerTable

        for sample in ("sampleA", "sampleB"):
            (w / sample).mkdir()
        shutil.copy(w / "r.fq", w / "sampleB" / "r.fq")
        flipped = [(n, s[::-1], q[::-1]) for n, s, q in _ex1_records(100)]  # same size, other content
        (w / "sampleA" / "r.fq").write_text(_fastq(flipped))
        counted = "sampleA/r.fq" if fingerprints else "sampleB/r.fq"
        _seqfcn(w, "count", counted, "--model", "kmer_illumina", "-o", "r.kmers")
        if not fingerprints:
            table = KmerTable.load(w / "r.kmers")
            table.inputs = [{k: v for k, v in i.items() if k != "fingerprint"} for i in table.inputs]
            table.save(w / "r.kmers")
        _keep(w, "sampleA/r.fq", "sampleB/r.fq", "r.kmers")
        return ["correct", "sampleB/r.fq", "--model", "kmer_illumina", "--spectrum", "r.kmers", "-o", "out.fq",
                "--no-progress", "--device", "cpu"]
    return make


def _merge_spectra(*names: str) -> Callable[[Path], list[str]]:
    """Count shards 1..3 of r.fq (s.i.kmers), shard 2/3 of other reads of the same name and size
    (other/r.fq -> o.2.kmers) and of another k (k.2.kmers); merge ``names``."""
    def make(w: Path) -> list[str]:
        (w / "other").mkdir()
        flipped = [(n, s[::-1], q[::-1]) for n, s, q in _ex1_records(100)]  # same size, other content
        (w / "other" / "r.fq").write_text(_fastq(flipped))
        for i in (1, 2, 3):
            _seqfcn(w, "count", "r.fq", "-k", "21", "--shard", f"{i}/3", "-o", f"s.{i}.kmers")
        _seqfcn(w, "count", "other/r.fq", "-k", "21", "--shard", "2/3", "-o", "o.2.kmers")
        _seqfcn(w, "count", "r.fq", "-k", "23", "--shard", "2/3", "-o", "k.2.kmers")
        _keep(w, "s.1.kmers", "s.2.kmers", "s.3.kmers", "o.2.kmers", "k.2.kmers", "r.fq", "other/r.fq")
        return ["merge", *names, "-o", "m.kmers"]
    return make


SHARD_PROBES: list[Probe] = [
    Probe("merge with read shard 2/3 missing", 2, "shard(s) 2/3 missing from the merge (given: a.1.fq, a.3.fq)",
          _merge_reads("a.1.fq", "a.3.fq"), _nothing_written("m.fq")),
    Probe("merge with shard 2/3 of another input", 2, "b.2.fq: comes from another input",
          _merge_reads("a.1.fq", "b.2.fq", "a.3.fq"), _nothing_written("m.fq")),
    Probe("merge of one read shard three times", 2, "a.1.fq: shard 1/3 given twice (also a.1.fq)",
          _merge_reads("a.1.fq", "a.1.fq", "a.1.fq"), _nothing_written("m.fq")),
    Probe("merge of read shards in shuffled order", 0, "",
          _merge_reads("a.2.fq", "a.3.fq", "a.1.fq"), _merged_as_unsharded),
    Probe("merge with predict shard 3/3 missing", 2, "shard(s) 3/3 missing from the merge",
          _merge_predict("p.2.bedGraph", "p.1.bedGraph"), _nothing_written("m.bedGraph")),
    Probe("merge of predict shards in shuffled order", 0, "",
          _merge_predict("p.3.bedGraph", "p.1.bedGraph", "p.2.bedGraph"), _predict_merged_as_unsharded),
    Probe("correct --spectrum of same-name same-size other reads", 2,
          "r.kmers: the spectrum was counted from r.fq (fingerprint", _other_reads_spectrum(True),
          _nothing_written("out.fq")),
    Probe("correct --spectrum without fingerprints (older seqfcn)", 2, "recount with `seqfcn count`",
          _other_reads_spectrum(False), _nothing_written("out.fq")),
    Probe("merge with spectrum shard 2/3 missing", 2, "shard(s) 2/3 missing from the merge (given: s.1.kmers, "
          "s.3.kmers)", _merge_spectra("s.3.kmers", "s.1.kmers"), _nothing_written("m.kmers")),
    Probe("merge of a spectrum shard given twice", 2, "s.1.kmers: shard 1/3 given twice (also s.1.kmers)",
          _merge_spectra("s.1.kmers", "s.2.kmers", "s.1.kmers", "s.3.kmers"), _nothing_written("m.kmers")),
    Probe("merge with spectrum shard 2/3 of other reads (same name and size)", 2,
          "o.2.kmers: was counted from r.fq (fingerprint", _merge_spectra("s.1.kmers", "o.2.kmers", "s.3.kmers"),
          _nothing_written("m.kmers")),
    Probe("merge with spectrum shard 2/3 of another k", 2, "k.2.kmers: has k=23, but s.1.kmers has k=21",
          _merge_spectra("s.1.kmers", "k.2.kmers", "s.3.kmers"), _nothing_written("m.kmers")),
]

# --------------------------------------------------------------------------- VCF round trip and variants (#28: 3)
VCF_HEAD = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n"


def _lambda() -> tuple[str, str]:
    """The lambda genome's record name and sequence."""
    name, _, seq = LAMBDA_FA.read_text().partition("\n")
    return name[1:].split()[0], seq.replace("\n", "")


def _vcf_records() -> list[list[str]]:
    """Records on lambda (REF = the genome's), nothing declared: INFO DP, a flag, FORMAT GT:AD,
    a missing sample, a multi-allelic SNV, a symbolic <DEL> without ##ALT, a '*' allele."""
    chrom, seq = _lambda()
    return [[chrom, "100", "v1", seq[99], "A,G" if seq[99] not in "AG" else "C,T", "30.50", "PASS", "DP=10;XX",
             "GT:AD", "0/1:3,4", "."],
            [chrom, "200", "v2", seq[199], "<DEL>", ".", ".", "SVTYPE=DEL;END=250", "GT", "1/1", "0|1"],
            [chrom, "300", ".", seq[299], "*", ".", ".", ".", "GT", "./.", "0"]]


def _variants_vcf(out: str, *, gz: bool = False, records: list[list[str]] | None = None) -> Callable[[Path], list[str]]:
    def make(w: Path) -> list[str]:
        text = VCF_HEAD + "".join("\t".join(r) + "\n" for r in (records or _vcf_records()))
        if gz:
            (w / "v.vcf.gz").write_bytes(gzip.compress(text.encode()))  # plain gzip, not bgzip
        else:
            (w / "v.vcf").write_text(text)
        return ["variants", "v.vcf.gz" if gz else "v.vcf", "--genome", "g.fa", "--model", "pou5f1_sox2_pwm",
                "-o", out, "--window", "10"]
    return make


def _vcf_round_trip(w: Path, out: str, err: str) -> None:
    """Every column of every record as in the input, seqfcn's INFO entries appended; the
    undeclared names declared; nothing from htslib on stderr."""
    lines = (w / "e.vcf").read_text().splitlines()
    header = [x for x in lines if x.startswith("##")]
    assert "##INFO=<ID=SEQFCN_STATUS,Number=A,Type=String," in "\n".join(header)
    assert any(x.startswith("##FORMAT=<ID=GT,") for x in header) and any(x.startswith("##INFO=<ID=DP,") for x in header)
    assert lines[len(header)] == VCF_HEAD.splitlines()[1]
    records = [x.split("\t") for x in lines[len(header) + 1:]]
    assert len(records) == 3
    for got, want in zip(records, _vcf_records()):
        assert got[:7] == want[:7] and got[8:] == want[8:]
        kept = [] if want[7] == "." else want[7].split(";")
        assert got[7].split(";")[: len(kept)] == kept
        assert [e.split("=")[0] for e in got[7].split(";")[len(kept):]] == [
            "SEQFCN_EFFECT", "SEQFCN_WINDOW_EFFECT", "SEQFCN_STATUS"]
    assert records[0][7].endswith("SEQFCN_STATUS=ok,ok") and records[1][7].endswith("SEQFCN_STATUS=symbolic")
    assert records[2][7] == "SEQFCN_EFFECT=.;SEQFCN_WINDOW_EFFECT=.;SEQFCN_STATUS=symbolic"
    assert "[E::" not in err and "[W::" not in err
    assert _digest(w / "v.vcf") == hashlib.sha256((VCF_HEAD + "".join(
        "\t".join(r) + "\n" for r in _vcf_records())).encode()).hexdigest()


def _vcf_statuses(*statuses: str) -> Callable[[Path, str, str], None]:
    def check(w: Path, out: str, err: str) -> None:
        rows = [x.split("\t") for x in (w / "e.tsv").read_text().splitlines()]
        assert rows[0][5] == "status" and [r[5] for r in rows[1:]] == list(statuses)
        assert [r[2] for r in rows[1:]] == ["v1", "v1", "v2", "."][: len(statuses)]
        assert "[E::" not in err and "[W::" not in err
    return check


def _no_output(name: str) -> Callable[[Path, str, str], None]:
    def check(w: Path, out: str, err: str) -> None:
        left = [p.name for p in w.iterdir() if p.name == name or p.name.startswith(f".{name}.")]
        assert not left, left
        assert "[E::" not in err and "[W::" not in err
    return check


def _vcf_line(columns: list[str]) -> list[list[str]]:
    """The records of :func:`_vcf_records` with a fourth record (line 6) of these columns."""
    return [*_vcf_records(), columns]


VCF_PROBES: list[Probe] = [
    Probe("#28.3 undeclared INFO DP and FORMAT GT kept in the .vcf output", 0, "", _variants_vcf("e.vcf"),
          _vcf_round_trip),
    Probe("#28.3 <DEL> and * without ##ALT, TSV output", 0, "", _variants_vcf("e.tsv"),
          _vcf_statuses("ok", "ok", "symbolic", "symbolic")),
    Probe("#28.3 plain-gzip (not bgzip) VCF is read", 0, "", _variants_vcf("e.tsv", gz=True),
          _vcf_statuses("ok", "ok", "symbolic", "symbolic")),
    Probe("#28.3 no record's chromosome in the genome", 2,
          "v.vcf: line 3: chromosome 'chrZ' is not in the genome g.fa ('gi|9626243|ref|NC_001416.1|'), nor is any",
          _variants_vcf("e.vcf", records=[["chrZ", *r[1:]] for r in _vcf_records()]), _no_output("e.vcf")),
    Probe("#28.3 non-integer POS names the VCF line", 2, "v.vcf: line 6: POS 'x12' is not a whole number",
          _variants_vcf("e.vcf", records=_vcf_line([_lambda()[0], "x12", ".", "A", "C", ".", ".", ".", "GT", "0", "0"])),
          _no_output("e.vcf")),
    Probe("#28.3 record with too few columns names the VCF line", 2,
          "v.vcf: line 6: 5 tab-separated columns, but the #CHROM line has 11",
          _variants_vcf("e.tsv", records=_vcf_line([_lambda()[0], "400", ".", "A", "C"])), _no_output("e.tsv")),
]

# --------------------------------------------------------------------------- resume and model configs (#28: 4, 5, 7)
_RUN_CFG = {"model": {"channels": 4, "n_layers": 1}, "data": {"window": 64, "train_windows": 64, "val_windows": 8},
            "train": {"steps": 3, "batch_size": 4, "progress": False, "tensorboard": False, "plot": False}}
_MOTIF_CFG = {"data": {"window": 200, "train_windows": 32, "val_windows": 4},
              "train": {"steps": 2, "batch_size": 4, "progress": False, "tensorboard": False, "plot": False}}
_LAMBDA_CHROM = "gi|9626243|ref|NC_001416.1|"


def _run_on_ex1(w: Path) -> None:
    """A finished 3-step ``--task correct --evidence none`` run of ex1.fa in ``w/run`` (cfg.json beside it)."""
    from seqfcn.training.tasks import train_task

    shutil.copy(EX1_FA, w / "ex1.fa")
    (w / "cfg.json").write_text(json.dumps(_RUN_CFG))
    train_task("correct", w / "ex1.fa", w / "run", config=_RUN_CFG, device="cpu")
    _DIGESTS["run/last/trainer_state.json"] = _digest(w / "run" / "last" / "trainer_state.json")


def _resume_other_genome(*extra: str) -> Callable[[Path], list[str]]:
    def make(w: Path) -> list[str]:
        _run_on_ex1(w)
        return ["train", "--task", "correct", "--evidence", "none", "--genome", "g.fa", "--config", "cfg.json",
                "--out", "run", "--device", "cpu", "--resume", *extra]
    return make


def _run_untouched(w: Path, out: str, err: str) -> None:
    assert _digest(w / "run" / "last" / "trainer_state.json") == _DIGESTS["run/last/trainer_state.json"]


def _forced_history(w: Path, out: str, err: str) -> None:
    run = json.loads((w / "run" / "model" / "config.json").read_text())["metadata"]["run"]
    start, resume = run["history"]
    assert start["event"] == "start" and start["identity"]["genome"]["name"] == "ex1.fa"
    assert resume["event"] == "resume" and resume["forced"] and resume["step"] == 3
    assert resume["changes"] == [c for c in resume["changes"] if c.startswith("was trained")]
    assert "not g.fa" in resume["changes"][0] and run["identity"]["genome"]["name"] == "g.fa"


def _motif_resumed_as_profile(w: Path) -> list[str]:
    from seqfcn.training.tasks import train_task

    (w / "sites.bed").write_text(f"{_LAMBDA_CHROM}\t100\t130\n{_LAMBDA_CHROM}\t5000\t5030\n")
    (w / "cfg.json").write_text(json.dumps(_MOTIF_CFG))
    train_task("motif", w / "g.fa", w / "run", config=_MOTIF_CFG, labels=w / "sites.bed", device="cpu")
    _DIGESTS["run/last/trainer_state.json"] = _digest(w / "run" / "last" / "trainer_state.json")
    return ["train", "--task", "profile", "--genome", "g.fa", "--labels", "sites.bed", "--config", "cfg.json",
            "--out", "run", "--device", "cpu", "--resume"]


def _huge_motif_config(w: Path) -> list[str]:
    (w / "sites.bed").write_text(f"{_LAMBDA_CHROM}\t100\t130\n")
    (w / "big.json").write_text('{"model": {"n_motifs": 1e9}}')
    return ["train", "--task", "motif", "--genome", "g.fa", "--labels", "sites.bed", "--config", "big.json",
            "--out", "run", "--device", "cpu"]


def _no_run_dir(w: Path, out: str, err: str) -> None:
    assert not (w / "run").exists()


def _deep_model_dir(w: Path) -> list[str]:
    from seqfcn.nn.checkpoint import save_model
    from seqfcn.nn.models import create_model

    save_model(create_model("dilated_fcn", channels=4, n_layers=2), w / "m")
    config = json.loads((w / "m" / "config.json").read_text())
    config["architecture"]["n_layers"] = 20000
    (w / "m" / "config.json").write_text(json.dumps(config))
    return ["info", "m"]


def _kmer_config_key(w: Path) -> list[str]:
    (w / "k.json").write_text(json.dumps({"train": {"steps": 2, "warmup_steps": 5}}))
    return ["train", "--task", "correct", "--genome", "g.fa", "--config", "k.json", "--out", "run", "--device", "cpu"]


def _fresh_run_over_unfinished(w: Path) -> list[str]:
    (w / "run" / "last").mkdir(parents=True)
    (w / "run" / "last" / "trainer_state.json").write_text(json.dumps({"step": 40}))
    (w / "c.json").write_text(json.dumps(_RUN_CFG))
    return ["train", "--task", "correct", "--evidence", "none", "--genome", "g.fa", "--config", "c.json",
            "--out", "run", "--device", "cpu"]


def _checkpoint_kept(w: Path, out: str, err: str) -> None:
    assert json.loads((w / "run" / "last" / "trainer_state.json").read_text()) == {"step": 40}
    assert not (w / "run" / "model").exists()


TRAIN_PROBES: list[Probe] = [
    Probe("#28 a fresh run never replaces an unfinished run's checkpoint", 2,
          "run: holds the checkpoint of an unfinished run (step 40); --resume continues it",
          _fresh_run_over_unfinished, _checkpoint_kept),
    Probe("#28 a k-mer corrector config key it would ignore", 2,
          "--config train.warmup_steps is not read by the k-mer corrector", _kmer_config_key, _no_run_dir),
    Probe("#28.4 resume with another genome", 2, "run: was trained on genome ex1.fa (fingerprint ",
          _resume_other_genome(), _run_untouched),
    Probe("#28.4 resume a motif run as a profile task", 2, "run: was trained for task motif, not profile",
          _motif_resumed_as_profile, _run_untouched),
    Probe("#28.5 n_motifs 1e9 in a training config", 2,
          'big.json: "model": model option n_motifs = 1e+09 exceeds the limit of', _huge_motif_config,
          _no_run_dir),
    Probe("#28.5 n_layers 20000 in a model dir whose weights do not match", 2,
          "config.json: model option n_layers = 20000 exceeds the limit of", _deep_model_dir),
    Probe("#28.4 --resume --force with another genome (the warning goes to the log)", 0, "",
          _resume_other_genome("--force"), _forced_history),
]

# --------------------------------------------------------------------------- fail before work, one rule (#28: 5, 6)
_PWM = "pou5f1_sox2_pwm"
_LAMBDA = "gi|9626243|ref|NC_001416.1|"  # 48,502 bp
_VCF = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def _nothing_left(*absent: str, fai: bool = False) -> Callable[[Path, str, str], None]:
    """Inputs unchanged, no hidden temporary, none of ``absent``; ``fai``: no g.fa.fai either
    (the run stopped before reading the genome)."""
    def check(w: Path, out: str, err: str) -> None:
        for name in ("g.fa", "m.meme", "r.fq"):
            _unchanged(name)(w, out, err)
        hidden = [p.name for p in w.iterdir() if p.name.startswith(".")]
        there = [n for n in absent + (("g.fa.fai",) if fai else ()) if (w / n).exists()]
        assert not hidden and not there, (hidden, there)
    return check


def _outdir(argv: list[str]) -> Callable[[Path], list[str]]:
    """``argv`` after making ``outd/`` (a directory named as an output file) and ``v.vcf``."""
    def make(w: Path) -> list[str]:
        (w / "outd").mkdir()
        (w / "v.vcf").write_text(_VCF)
        return argv
    return make


def _bed(text: str, command: str) -> Callable[[Path], list[str]]:
    """``seqfcn COMMAND`` on g.fa with ``--regions`` a BED file holding ``text``."""
    def make(w: Path) -> list[str]:
        (w / "reg.bed").write_text(text)
        model = ["--model", _PWM]
        return {"scan": ["scan", "g.fa", "--motifs", "m.meme", "-o", "o.bed"],
                "scan --model": ["scan", "g.fa", *model, "-o", "o.bed"],
                "predict": ["predict", "g.fa", *model, "-o", "o.bedGraph"],
                "attribute": ["attribute", "g.fa", *model, "-o", "o.bedGraph"],
                "discover": ["discover", "g.fa", *model, "--motifs", "m.meme", "-o", "o.meme"],
                }[command] + ["--regions", "reg.bed", "-q"]
    return make


def _fasta_text(name: str, text: str, argv: list[str]) -> Callable[[Path], list[str]]:
    def make(w: Path) -> list[str]:
        (w / name).write_text(text)
        return argv
    return make


def _lambda_with_empty(where: str) -> str:
    lines = LAMBDA_FA.read_text().splitlines()
    if where == "last":  # 56 lines of lambda, then a header alone: line 57 of 57
        return "\n".join(lines[:56]) + "\n>last\n"
    return ">first\nACGTACGTAA\n>mid\n" + "\n".join(lines) + "\n"


def _mates(w: Path) -> list[str]:
    recs = _ex1_records(4)
    (w / "r1.fq").write_text(_fastq([(n.removesuffix("/2") + "/1", s, q) for n, s, q in recs[:2]]))
    (w / "r2.fq").write_text(_fastq([(n.removesuffix("/1") + "/2", s, q) for n, s, q in recs[2:]]))
    return ["correct", "r1.fq", "r2.fq", "--model", str(EX1_MODEL), "-o", "o1.fq", "o2.fq", "--no-progress"]


def _bad_crc(w: Path) -> list[str]:
    data = bytearray(gzip.compress(_fastq(_ex1_records(20)).encode()))
    data[-8] ^= 0xFF  # the CRC-32 in the trailer
    (w / "crc.fq.gz").write_bytes(bytes(data))
    return _correct("crc.fq.gz")


def _damaged_bam(w: Path) -> list[str]:
    from conftest import EX1_BAM

    eof = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
    (w / "t.bam").write_bytes(EX1_BAM.read_bytes()[:30000] + eof)  # a block cut short, then an EOF marker
    return _correct("t.bam")


def _stale_fai_quiet(w: Path) -> list[str]:
    _fai(length=30_000)(w)
    return ["scan", "g.fa", "--motifs", "m.meme", "-o", "hits.bed", "-q"]


def _silent(w: Path, out: str, err: str) -> None:
    assert err == "" and (w / "hits.bed").exists(), err


_REGION_CASES = [  # (case, BED text, phrase): one rule in every subcommand that takes --regions
    ("past the chromosome end", f"{_LAMBDA}\t100\t300\n{_LAMBDA}\t48000\t49000\n",
     f"reg.bed: line 2: interval {_LAMBDA}:48000-49000 runs past the chromosome's end ({_LAMBDA} has 48,502 bp"),
    ("unknown chromosome", f"{_LAMBDA}\t100\t300\nchrZ\t5\t50\n", "reg.bed: line 2: interval chrZ:5-50: "
     "chromosome 'chrZ' is not in g.fa"),
    ("no intervals", "# nothing here\n", "reg.bed: no intervals"),
    ("empty interval", f"{_LAMBDA}\t100\t100\n", "reg.bed: line 1: interval " + _LAMBDA + ":100-100 is empty"),
]

FAIL_PROBES: list[Probe] = [
    Probe("#28.5 predict -o DIR", 2, "outd: -o/--output is a directory",
          _outdir(["predict", "g.fa", "--model", _PWM, "-o", "outd"]), _nothing_left(fai=True)),
    Probe("#28.5 variants -o DIR", 2, "outd: -o/--output is a directory",
          _outdir(["variants", "v.vcf", "--genome", "g.fa", "--model", _PWM, "-o", "outd"]), _nothing_left(fai=True)),
    Probe("#28.5 correct -o DIR leaves no .part", 2, "outd: -o/--output is a directory",
          _outdir(_correct("r.fq", "outd")), _nothing_left()),
    Probe("#28.5 merge -o DIR leaves no .part", 2, "outd: -o/--output is a directory",
          _outdir(["merge", "r.fq", "r.fq", "--order", "concat", "-o", "outd"]), _nothing_left()),
    Probe("#28.5 discover --logos FILE writes no .meme", 2, "logo.png: --logos is a file, not a directory",
          lambda w: (w / "logo.png").write_text("x") and
          ["discover", "g.fa", "--model", _PWM, "--motifs", "m.meme", "-o", "d.meme", "--logos", "logo.png"],
          _nothing_left("d.meme", fai=True)),
    Probe("#28.5 correct --self-train --save-model a/../r.fq, before training", 2,
          "a/../r.fq: --save-model is the input r.fq (reads); seqfcn never writes over an input",
          lambda w: ["correct", "r.fq", "--self-train", "--save-model", "a/../r.fq", "-o", "o.fq", "--no-progress"],
          _nothing_left("o.fq", "a")),
    Probe("#28.5 correct --self-train-dir names the reads (a file), before training", 2,
          "r.fq: --self-train-dir is a file, not a directory",
          lambda w: ["correct", "r.fq", "--self-train", "--self-train-dir", "r.fq", "-o", "o.fq", "--no-progress"],
          _nothing_left("o.fq")),
    Probe("#28.5 correct --self-train-dir a symlink to the reads, before training", 2,
          "--self-train-dir is a file, not a directory",
          lambda w: (w / "lnk").symlink_to(w / "r.fq") or
          ["correct", "r.fq", "--self-train", "--self-train-dir", "lnk", "-o", "o.fq", "--no-progress"],
          _nothing_left("o.fq")),
    Probe("#28.5 train --out ./g.fa, before training", 2, "--out is the input g.fa (--genome)",
          lambda w: ["train", "--task", "correct", "--genome", "g.fa", "--out", "./g.fa"], _nothing_left(fai=True)),
    Probe("#28.5 train --out below a file", 2, "r.fq/run: --out lies below the file",
          lambda w: ["train", "--task", "correct", "--genome", "g.fa", "--out", "r.fq/run"], _nothing_left(fai=True)),
    *[Probe(f"#28.5 {cmd} -o in a missing directory, genome not indexed", 2, "the output's directory does not exist "
            "(nodir)", _outdir(argv), _nothing_left(fai=True)) for cmd, argv in (
        ("predict", ["predict", "g.fa", "--model", _PWM, "-o", "nodir/p.bedGraph"]),
        ("attribute", ["attribute", "g.fa", "--model", _PWM, "--regions", "m.meme", "-o", "nodir/a.bedGraph"]),
        ("variants", ["variants", "v.vcf", "--genome", "g.fa", "--model", _PWM, "-o", "nodir/e.tsv"]))],
    *[Probe(f"#28.6 {cmd} --regions: {case}", 2, phrase, _bed(text, cmd), _nothing_left("o.bed", "o.bedGraph",
                                                                                           "o.meme"))
      for case, text, phrase in _REGION_CASES
      for cmd in ("scan", "scan --model", "predict", "attribute", "discover")],
    Probe("#28 discover: a digit in a FASTA names file and record", 2, "dig.fa: record 's1': position 7: invalid "
          "character '1'", _fasta_text("dig.fa", ">s1\nACGTACG1ACGT\n", ["discover", "dig.fa", "--model", _PWM,
                                                                         "--motifs", "m.meme", "-o", "d.meme"]),
          _nothing_left("d.meme")),
    Probe("#28 FASTA whose last record is empty", 2, "e.fa: record 'last' at line 57 has no sequence",
          _fasta_text("e.fa", _lambda_with_empty("last"), ["scan", "e.fa", "--motifs", "m.meme", "-o", "h.bed"]),
          _nothing_left("h.bed", "e.fa.fai")),
    Probe("#28 FASTA with an empty record inside", 2, "e.fa: record 'mid' at line 3 has no sequence",
          _fasta_text("e.fa", _lambda_with_empty("mid"), ["scan", "e.fa", "--motifs", "m.meme", "-o", "h.bed"]),
          _nothing_left("h.bed", "e.fa.fai")),
    Probe("#28 attribute - (stdin) needs a FASTA file", 2, "-: a genome must be a FASTA file",
          lambda w: (w / "reg.bed").write_text(f"{_LAMBDA}\t1\t9\n") and
          ["attribute", "-", "--model", _PWM, "--regions", "reg.bed", "-o", "a.bedGraph"],
          _nothing_left("a.bedGraph")),
    Probe("#28 R2 out of order is mate 2", 2, "read pair 1: mate 2 is", _mates, _nothing_left("o1.fq", "o2.fq")),
    Probe("#28 bad CRC at the end of a small gzip", 2, "crc.fq.gz: corrupt gzip data at the end of the file",
          _bad_crc, _nothing_left("out.fq")),
    Probe("#28 damaged BAM block: no htslib lines", 2, "t.bam: record #470", _damaged_bam, _nothing_left("out.fq")),
    Probe("#28 -q and a stale .fai: nothing on stderr", 0, "", _stale_fai_quiet, _silent),
]

ALL_PROBES = PROBES + SHARD_PROBES + VCF_PROBES + TRAIN_PROBES + FAIL_PROBES


def run_probe(probe: Probe, w: Path, cli: Callable) -> tuple[int, str, str]:
    make_work(w)
    argv = probe.make(w)
    for name in ("g.fa", "m.meme", "r.fq"):
        _DIGESTS[name] = _digest(w / name)
    cwd = os.getcwd()
    os.chdir(w)
    try:
        return cli(argv)
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("probe", ALL_PROBES, ids=[p.case for p in ALL_PROBES])
def test_probe(probe: Probe, tmp_path: Path, cli) -> None:
    code, out, err = run_probe(probe, tmp_path, cli)
    observed = f"exit {code}: {err.strip()[-300:]}"
    assert code == probe.rc, f"{probe.case}: expected {probe.expected}, observed {observed}"
    assert probe.needle in err, f"{probe.case}: expected {probe.expected}, observed {observed}"
    if code == 2:  # one message line (progress bars aside), no traceback
        lines = [x for x in err.replace("\r", "\n").splitlines() if x.strip() and "%|" not in x]  # bars aside
        assert len(lines) == 1 and "Traceback" not in err, err
    if probe.check is not None:
        probe.check(tmp_path, out, err)


# --------------------------------------------------------------------------- no command writes over its inputs
def _base_argv(command: str) -> list[str]:
    """A run of ``command`` whose inputs are the work files (outputs filled in per case)."""
    return {
        "evaluate correction": ["evaluate", "correction", "--original", "r.fq", "--corrected", "r2.fq", "--truth",
                                "r3.fq"],
        "evaluate mask": ["evaluate", "mask", "--genome", "g.fa", "--model", "model"],
        "scan": ["scan", "g.fa", "--motifs", "m.meme"],
        "correct": ["correct", "r.fq", "--model", "model", "--no-progress"],
        "overlap": ["overlap", "r.fq", "--no-progress"],
        "merge": ["merge", "r.fq", "r2.fq"],
        "train": ["train", "--task", "correct", "--genome", "g.fa"],
        "info": ["info", "g.fa"],
        "count": ["count", "r.fq", "r2.fq"],
        "predict": ["predict", "g.fa", "--model", "model"],
        "attribute": ["attribute", "g.fa", "--model", "model", "--regions", "m.meme"],
        "variants": ["variants", "m.meme", "--genome", "g.fa", "--model", "model"],
        "discover": ["discover", "g.fa", "--model", "model", "--motifs", "m.meme", "-o", "d.meme"],
    }[command]


def _declared() -> dict[str, object]:
    from seqfcn.cli import build_parser

    def leaves(parser, prefix: str) -> dict[str, object]:  # nested subcommands by their full name
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub is None:
            return {prefix: parser.get_default("io")}
        return {k: v for name, p in sub.choices.items() for k, v in leaves(p, f"{prefix} {name}".strip()).items()}

    return leaves(build_parser(), "")


def _option(parser_io, dest: str) -> str:
    for d, label in parser_io.outputs + parser_io.directories:
        if d == dest:
            return label.split("/")[-1]
    raise KeyError(dest)


def _clobber_cases() -> list[tuple[str, str, str, str]]:
    """(command, output option, input it points at, spelling) for every declared output of every command."""
    cases = []
    inputs = {"evaluate correction": "r2.fq", "scan": "g.fa", "correct": "r.fq", "merge": "r2.fq", "train": "g.fa",
              "count": "r2.fq", "overlap": "r.fq"}
    for command, io in _declared().items():
        assert io is not None, f"seqfcn {command} declares no inputs/outputs for the no-overwrite check"
        for dest, _ in io.outputs + io.directories:
            for spelling in ("plain", "dotdot", "symlink", "hardlink"):
                cases.append((command, dest, inputs.get(command, "g.fa"), spelling))
    return cases


def _spell(w: Path, target: str, spelling: str, is_dir: bool) -> str:
    if spelling == "plain":
        return target
    if spelling == "dotdot":
        (w / "sub").mkdir(exist_ok=True)
        return f"sub/../{target}"
    link = w / f"link_{spelling}"
    if spelling == "symlink":
        link.symlink_to(w / target)
    else:
        os.link(w / target, link)
    return link.name


@pytest.mark.parametrize("command, dest, target, spelling", _clobber_cases())
def test_no_output_option_writes_over_an_input(command, dest, target, spelling, tmp_path, cli):
    w = make_work(tmp_path)
    shutil.copy(w / "r.fq", w / "r2.fq")
    shutil.copy(w / "r.fq", w / "r3.fq")
    shutil.copytree(EX1_MODEL, w / "model")
    io = _declared()[command]
    is_dir = dest in [d for d, _ in io.directories]
    before = {p.name: _digest(p) for p in w.iterdir() if p.is_file()}
    if is_dir:
        # an output directory: the input lies where the command writes in it
        from seqfcn.cli.correct import model_files as _model_files
        from seqfcn.cli.train import train_outputs as _train_outputs

        inner = (_train_outputs() if command == "train" else _model_files())[-1 if command == "train" else 1]
        place = w / "outdir" / inner if command != "train" else w / "outdir" / "model"
        place.parent.mkdir(parents=True, exist_ok=True)
        if command == "train":
            place.mkdir()
            shutil.copy(w / target, place / target)
            argv = _base_argv(command)
            argv[argv.index(target)] = f"outdir/model/{target}"
        else:
            shutil.copy(w / "model" / "model.safetensors", place)
            argv = _base_argv(command)
            argv[argv.index("model")] = "outdir"
        argv += [_option(io, dest), "outdir" if spelling != "dotdot" else "sub/../outdir"]
        (w / "sub").mkdir(exist_ok=True)
        if spelling in ("symlink", "hardlink"):
            (w / "alias").symlink_to(w / "outdir")
            argv[-1] = "alias"
    else:
        argv = _base_argv(command) + [_option(io, dest), _spell(w, target, spelling, False)]
    if command == "correct" and dest == "save_model":
        argv += ["--self-train"]
    cwd = os.getcwd()
    os.chdir(w)
    try:
        code, out, err = cli(argv)
    finally:
        os.chdir(cwd)
    assert code == 2 and ("write over" in err or "writes over" in err), (argv, err)
    assert len(err.strip().splitlines()) == 1
    after = {p.name: _digest(p) for p in w.iterdir() if p.is_file() and p.name in before}
    assert after == {k: v for k, v in before.items()}


def test_redirected_stdout_onto_an_input_is_refused(tmp_path: Path) -> None:
    """``seqfcn scan g.fa ... >> g.fa``: standard output is the genome itself."""
    w = make_work(tmp_path)
    before = _digest(w / "g.fa")
    with open(w / "g.fa", "ab") as stdout:
        proc = subprocess.run([sys.executable, "-m", "seqfcn", "scan", "g.fa", "--motifs", "m.meme"],
                              cwd=w, stdout=stdout, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 2 and "standard output" in proc.stderr
    assert _digest(w / "g.fa") == before


# --------------------------------------------------------------------------- training: seeds and kills
TINY = {"model": {"channels": 8, "n_layers": 2}, "data": {"window": 64, "train_windows": 2000, "val_windows": 32},
        "train": {"batch_size": 8, "eval_every": 50, "progress": False, "tensorboard": False, "plot": False}}


def _weights(directory: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(directory / "model" / "model.safetensors"))


def test_same_seed_same_weights(tmp_path: Path) -> None:
    """#9: two runs in one process (global RNG state differs between them) give identical weights."""
    import torch

    from seqfcn.training.tasks import train_task

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for name in ("a", "b"):
            torch.rand(17)  # whatever ran before must not matter
            train_task("correct", EX1_FA, tmp_path / name, config={**TINY, "train": {**TINY["train"], "steps": 12}},
                       device="cpu", seed=5)
        a, b = _weights(tmp_path / "a"), _weights(tmp_path / "b")
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
        train_task("correct", EX1_FA, tmp_path / "c", config={**TINY, "train": {**TINY["train"], "steps": 12}},
                   device="cpu", seed=6)
        c = _weights(tmp_path / "c")
        assert any(not np.array_equal(a[k], c[k]) for k in a)
    finally:
        torch.set_num_threads(threads)


def test_default_config_checkpoints() -> None:
    """#8: the default training config checkpoints by steps and by wall time."""
    from seqfcn.training.trainer import TrainConfig

    cfg = TrainConfig()
    assert cfg.checkpoint_every > 0 and 0 < cfg.checkpoint_seconds <= 600


def _train_cmd(out: Path, config: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "seqfcn", *_train_argv(out, config, *extra)]


def _train_argv(out: Path, config: Path, *extra: str) -> list[str]:
    return ["train", "--task", "correct", "--evidence", "none", "--genome", str(EX1_FA), "--config", str(config),
            "--out", str(out), "--device", "cpu", "--threads", "1", *extra]


def _kill_and_resume(argv: Callable[..., list[str]], tmp_path: Path, at_least: int, cli, caplog) -> int:
    """The uninterrupted run ``seqfcn argv(out)`` and the ``--resume`` run in this process (the in-process
    ``cli``; one torch thread, as ``--threads 1``), the run that gets SIGKILLed as ``python -m seqfcn``:
    the resumed run says which step it continues from and ends with the uninterrupted run's weights.
    Returns that step."""
    assert cli(argv(tmp_path / "straight", "-q"))[0] == 0
    out = tmp_path / "killed"
    step = _kill_after_checkpoint([sys.executable, "-m", "seqfcn", *argv(out, "-q")], out, at_least)
    caplog.clear()
    with caplog.at_level("INFO", logger="seqfcn"):
        assert cli(argv(out, "--resume"))[0] == 0
    assert f"at step {step}" in caplog.text
    a, b = _weights(tmp_path / "straight"), _weights(out)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    return step


def test_sigkilled_training_resumes_from_its_last_checkpoint(tmp_path: Path, cli, caplog) -> None:
    """#8: SIGKILL mid-run, then ``--resume``: continues from the last checkpoint (it says which step)
    and ends with the weights of an uninterrupted run."""
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({**TINY, "train": {**TINY["train"], "steps": 400, "checkpoint_every": 20}}))
    step = _kill_and_resume(lambda out, *extra: _train_argv(out, config, *extra), tmp_path, 40, cli, caplog)
    assert 0 < step < 400


def _kill_after_checkpoint(cmd: list[str], out: Path, at_least: int) -> int:
    """Start ``cmd``, SIGKILL it once ``out/last/`` holds a checkpoint of step >= ``at_least``; returns its step."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = out / "last" / "trainer_state.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if json.loads(state.read_text())["step"] >= at_least:
                break
        except (ValueError, OSError):
            pass
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "model").exists()
    return json.loads(state.read_text())["step"]


def test_sigkilled_kmer_corrector_training_resumes(tmp_path: Path, cli, caplog) -> None:
    """#28.7: ``train --task correct`` (k-mer evidence, the default) checkpoints every
    ``checkpoint_every`` steps; SIGKILL, then ``--resume`` ends with the weights of an uninterrupted run."""
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({"model": {"channels": 8, "n_layers": 2},
                                  "train": {"steps": 200, "batch_size": 8, "checkpoint_every": 10}}))

    def argv(out: Path, *extra: str) -> list[str]:
        return ["train", "--task", "correct", "--genome", str(EX1_FA), "--config", str(config), "--coverages", "5",
                "--kmer", "11", "--out", str(out), "--device", "cpu", "--threads", "1", *extra]

    step = _kill_and_resume(argv, tmp_path, 10, cli, caplog)
    assert 0 < step < 200
    history = json.loads((tmp_path / "killed" / "model" / "config.json").read_text())["metadata"]["run"]["history"]
    assert [h["event"] for h in history] == ["start", "resume"] and history[1]["step"] == step


@pytest.mark.parametrize("task", ["motif", "profile"])
def test_sigkilled_labelled_training_resumes(task: str, tmp_path: Path, cli, caplog) -> None:
    """#28.7: the motif and profile tasks checkpoint and resume exactly, like ``correct --evidence none``."""
    (tmp_path / "sites.bed").write_text("seq1\t100\t130\nseq1\t900\t930\nseq2\t400\t430\n")
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({"model": {"channels": 4, "n_layers": 1} if task == "profile" else
                                  {"n_motifs": 2, "motif_width": 5, "channels": 4, "n_layers": 1},
                                  "data": {"window": 100, "train_windows": 4000, "val_windows": 8},
                                  "train": {**TINY["train"], "steps": 200, "checkpoint_every": 10}}))

    def argv(out: Path, *extra: str) -> list[str]:
        return ["train", "--task", task, "--genome", str(EX1_FA), "--labels", str(tmp_path / "sites.bed"),
                "--config", str(config), "--out", str(out), "--device", "cpu", "--threads", "1", *extra]

    _kill_and_resume(argv, tmp_path, 10, cli, caplog)


_SELF_TRAIN = """import sys, torch
from seqfcn.correction.model_files import save_corrector
from seqfcn.correction.selftrain import self_train, self_train_kmer
from seqfcn.training.runs import RunOptions

def run(mode, reads, out, resume):
    run = RunOptions(out, resume=resume == "resume", checkpoint_every=10)
    if mode == "kmer":
        model = self_train_kmer(reads, steps=150, genome_size=3000, max_reads=200, device="cpu", progress=False,
                                run=run)
    else:
        model = self_train(reads, steps=150, batch_size=8, model_config={"channels": 8, "n_layers": 2},
                           max_reads=200, device="cpu", progress=False, run=run)
    save_corrector(model, out + "/model")

if __name__ == "__main__":
    torch.set_num_threads(1)
    run(*sys.argv[1:])
"""


@pytest.mark.parametrize("mode", ["kmer", "memorise"])
def test_sigkilled_self_training_resumes(mode: str, tmp_path: Path, one_thread) -> None:
    """#28.7: self-training (both modes of ``correct --self-train``) checkpoints to ``run.out_dir/last/``
    (the CLI's ``--self-train-dir``) and resumes to the weights of an uninterrupted run. The
    uninterrupted and the resumed run in this process (one torch thread), the killed one as a script."""
    script = tmp_path / "self_train.py"
    script.write_text(_SELF_TRAIN)
    here: dict[str, object] = {"__name__": "self_train"}
    exec(compile(_SELF_TRAIN, str(script), "exec"), here)

    here["run"](mode, str(EX1_FASTQ), str(tmp_path / "straight"), "new")
    out = tmp_path / "killed"
    step = _kill_after_checkpoint([sys.executable, str(script), mode, str(EX1_FASTQ), str(out), "new"], out, 10)
    assert 0 < step < 150
    here["run"](mode, str(EX1_FASTQ), str(out), "resume")
    a, b = _weights(tmp_path / "straight"), _weights(out)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_self_train_dir_resumes_only_its_own_run(tmp_path: Path, cli) -> None:
    """#28.7: ``correct --self-train --self-train-dir D`` keeps its checkpoint; ``--resume`` continues
    it (same corrected reads) and refuses a run of other settings, before any work."""
    reads = tmp_path / "r.fq"
    reads.write_text(_fastq(_ex1_records(60)))
    base = ["correct", str(reads), "--self-train", "--self-train-mode", "memorise", "--self-train-steps", "6",
            "--self-train-dir", str(tmp_path / "st"), "--device", "cpu", "--no-progress"]
    assert cli([*base, "-o", str(tmp_path / "a.fq")])[0] == 0
    state = json.loads((tmp_path / "st" / "last" / "trainer_state.json").read_text())
    assert state["step"] == 6 and state["run"]["identity"]["reads"]["name"] == "r.fq"
    assert cli([*base, "-o", str(tmp_path / "b.fq"), "--resume"])[0] == 0
    assert (tmp_path / "a.fq").read_text() == (tmp_path / "b.fq").read_text()
    code, _, err = cli([*base[:6], "7", *base[7:], "-o", str(tmp_path / "c.fq"), "--resume"])
    assert code == 2 and err.strip().endswith("st: was trained with steps 6, not 7; --resume continues only "
                                              "the run it started")
    assert not (tmp_path / "c.fq").exists()
    code, _, err = cli([*base[:7], *base[9:], "-o", str(tmp_path / "d.fq"), "--resume"])
    assert code == 2 and "--resume needs --self-train-dir" in err


def test_resume_without_checkpoint_says_so(tmp_path: Path) -> None:
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({**TINY, "train": {**TINY["train"], "steps": 2}}))
    proc = subprocess.run(_train_cmd(tmp_path / "new", config, "--resume"), capture_output=True, text=True)
    assert proc.returncode == 0 and "no checkpoint" in proc.stderr and "starting at step 0" in proc.stderr


# --------------------------------------------------------------------------- the table
def main() -> None:  # pragma: no cover - a report, not a test
    import tempfile

    from seqfcn.cli import main as seqfcn_main

    class _Capture:
        def __call__(self, argv):
            import contextlib
            import io

            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                try:
                    code = seqfcn_main([str(a) for a in argv])
                except SystemExit as exc:
                    code = int(exc.code or 0)
            return code, "", err.getvalue()

    print("| case | expected | observed |\n|---|---|---|")
    for probe in ALL_PROBES:
        with tempfile.TemporaryDirectory() as d:
            code, _, err = run_probe(probe, Path(d), _Capture())
            line = err.strip().splitlines()[-1][:120] if err.strip() else ""
            print(f"| {probe.case} | {probe.expected} | exit {code}: {line} |")


if __name__ == "__main__":  # pragma: no cover
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
