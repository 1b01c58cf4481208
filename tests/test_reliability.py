"""The reliability probe: bad input, bad options, clobbering outputs, kills — as one table.

Each :class:`Probe` row is a case, the expected outcome (exit code and a phrase of the
one-line message) and, where it matters, a check of the files afterwards. The numbered
defects of the reliability issue each have a row (``#N`` in the case name) that failed
before the fix. ``python tests/test_reliability.py`` prints the table with what is
observed now (case, expected, observed).
"""
from __future__ import annotations

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
SHARD_PROBES: list[Probe] = []

# --------------------------------------------------------------------------- VCF round trip and variants (#28: 3)
VCF_PROBES: list[Probe] = []

# --------------------------------------------------------------------------- resume and model configs (#28: 4, 5, 7)
TRAIN_PROBES: list[Probe] = []

# --------------------------------------------------------------------------- fail before work, one rule (#28: 5, 6)
FAIL_PROBES: list[Probe] = []

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
        lines = [x for x in err.replace("\r", "\n").splitlines() if x.strip() and not x.startswith("scan:")]
        assert len(lines) == 1 and "Traceback" not in err, err
    if probe.check is not None:
        probe.check(tmp_path, out, err)


# --------------------------------------------------------------------------- no command writes over its inputs
def _base_argv(command: str) -> list[str]:
    """A run of ``command`` whose inputs are the work files (outputs filled in per case)."""
    return {
        "evaluate": ["evaluate", "correction", "--original", "r.fq", "--corrected", "r2.fq", "--truth", "r3.fq"],
        "scan": ["scan", "g.fa", "--motifs", "m.meme"],
        "correct": ["correct", "r.fq", "--model", "model", "--no-progress"],
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

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return {name: p.get_default("io") for name, p in sub.choices.items()}


def _option(parser_io, dest: str) -> str:
    for d, label in parser_io.outputs + parser_io.directories:
        if d == dest:
            return label.split("/")[-1]
    raise KeyError(dest)


def _clobber_cases() -> list[tuple[str, str, str, str]]:
    """(command, output option, input it points at, spelling) for every declared output of every command."""
    cases = []
    inputs = {"evaluate": "r2.fq", "scan": "g.fa", "correct": "r.fq", "merge": "r2.fq", "train": "g.fa",
              "count": "r2.fq"}
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
        from seqfcn.cli import _model_files, _train_outputs

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

    from seqfcn.tasks import train_task

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
    from seqfcn.train import TrainConfig

    cfg = TrainConfig()
    assert cfg.checkpoint_every > 0 and 0 < cfg.checkpoint_seconds <= 600


def _train_cmd(out: Path, config: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "seqfcn", "train", "--task", "correct", "--evidence", "none", "--genome",
            str(EX1_FA), "--config", str(config), "--out", str(out), "--device", "cpu", "--threads", "1", *extra]


def test_sigkilled_training_resumes_from_its_last_checkpoint(tmp_path: Path) -> None:
    """#8: SIGKILL mid-run, then ``--resume``: continues from the last checkpoint (it says which step)
    and ends with the weights of an uninterrupted run."""
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({**TINY, "train": {**TINY["train"], "steps": 400, "checkpoint_every": 20}}))
    subprocess.run(_train_cmd(tmp_path / "straight", config, "-q"), check=True, capture_output=True)
    out = tmp_path / "killed"
    proc = subprocess.Popen(_train_cmd(out, config, "-q"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = out / "last" / "trainer_state.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if state.exists():
            try:
                if json.loads(state.read_text())["step"] >= 40:
                    break
            except (ValueError, OSError):
                pass
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "model").exists()
    step = json.loads(state.read_text())["step"]
    assert 0 < step < 400
    resumed = subprocess.run(_train_cmd(out, config, "--resume"), capture_output=True, text=True, check=True)
    assert f"at step {step}" in resumed.stderr
    a, b = _weights(tmp_path / "straight"), _weights(out)
    assert all(np.array_equal(a[k], b[k]) for k in a)


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
    sys.path.insert(0, str(Path(__file__).parent))
    main()
