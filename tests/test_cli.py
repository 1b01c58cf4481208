"""The command-line frame: version, help, exit codes, python -m seqfcn."""
from __future__ import annotations

import subprocess
import sys

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
