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
