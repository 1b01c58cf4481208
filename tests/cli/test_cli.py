"""The command-line frame: version, help, exit codes, python -m seqfcn."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import seqfcn
from seqfcn.cli import build_parser, main


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"seqfcn {seqfcn.__version__}"
    help_text = build_parser().format_help()
    for command in ("info",):
        assert command in help_text


def test_no_command_is_usage_error(capsys):
    assert main([]) == 2
    assert "usage: seqfcn" in capsys.readouterr().err


def test_python_dash_m():
    proc = subprocess.run([sys.executable, "-m", "seqfcn", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == f"seqfcn {seqfcn.__version__}"


def test_user_error_is_one_line_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.fa"
    bad.write_text("this is not a fasta file\n")
    assert main(["info", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(bad) in err and "Traceback" not in err


def test_import_seqfcn_and_version_load_neither_torch_nor_pandas():
    """The public API is imported lazily: `import seqfcn` and `seqfcn --version` start in well
    under a second because PyTorch, pandas and pysam are loaded only by the commands that use them."""
    code = ("import sys, seqfcn, seqfcn.cli; assert seqfcn.__version__;"
            "print(sorted(m for m in ('torch', 'pandas', 'pysam') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    code = ("import sys, seqfcn; seqfcn.one_hot('ACGT'); a = 'torch' in sys.modules; seqfcn.create_model;"
            "print(a, 'torch' in sys.modules, 'one_hot' in dir(seqfcn))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True", "True"]  # encoding is numpy; models bring PyTorch


def test_pwm_scan_on_cpu_does_not_import_torch(tmp_path):
    """A CPU PWM scan (the compiled kernel) needs neither PyTorch nor pandas, so a pipeline
    step does not pay their import; nor do `merge` of its shards and `info GENOME`. The hits
    are those of the same scan with PyTorch loaded."""
    from seqfcn.motifs.pwm import _ckernel

    if _ckernel is None:
        pytest.skip("compiled PWM kernel not built")
    fa, meme = Path(__file__).resolve().parents[2] / "data" / "lambda" / "lambda_virus.fa", \
        Path(__file__).resolve().parents[2] / "data" / "motifs" / "tangermeme_test.meme"
    code = ("import sys; from seqfcn.cli import main; rc = main(['scan', '-q', '--device', 'cpu', '--motifs', "
            f"{str(meme)!r}, '-o', {str(tmp_path / 'a.bed')!r}, {str(fa)!r}]); "
            "print(rc, 'torch' in sys.modules, 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["0", "False", "False"]
    shards = [str(tmp_path / f"s{i}.bed") for i in (1, 2)]
    for i, shard in enumerate(shards, 1):
        assert main(["scan", "-q", "--device", "cpu", "--motifs", str(meme), "--shard", f"{i}/2", "-o", shard,
                     str(fa)]) == 0
    for argv in (["merge", "-q", *shards, "-o", str(tmp_path / "m.bed")], ["info", str(fa)], ["info", "--json", str(fa)]):
        code = (f"import sys; from seqfcn.cli import main; rc = main({argv!r}); "
                "print(rc, 'torch' in sys.modules, 'pandas' in sys.modules, file=sys.stderr)")
        err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stderr
        assert err.split()[-3:] == ["0", "False", "False"], argv
    assert (tmp_path / "m.bed").read_text() == (tmp_path / "a.bed").read_text()
    import torch  # noqa: F401  (the same scan in a process that has PyTorch loaded)

    assert main(["scan", "-q", "--device", "cpu", "--motifs", str(meme), "-o", str(tmp_path / "b.bed"), str(fa)]) == 0
    a, b = (tmp_path / "a.bed").read_text(), (tmp_path / "b.bed").read_text()
    assert a == b and len(a.splitlines()) > 10


def test_every_public_name_resolves():
    """Each lazily exported name of `seqfcn` imports (e.g. the motif scan moved to seqfcn.motifs)."""
    import seqfcn

    missing = [name for name in seqfcn.__all__ if getattr(seqfcn, name, None) is None]
    assert not missing
    from seqfcn.motifs.scan import scan_pwm

    assert seqfcn.scan_pwm is scan_pwm
