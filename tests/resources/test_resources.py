"""Shipped models and motif databases: resolved by name, listed by `seqfcn models`, inside the wheel."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import EX1_FASTQ, LAMBDA_FA
from seqfcn.resources import MODELS, MOTIFS, model_path, motifs_path, shipped_table

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_shipped_model_loads_by_name(name):
    from seqfcn.nn.checkpoint import load_model, model_summary

    model, info = load_model(name)
    assert Path(info["config_path"]).parent == MODELS[name].path
    assert model_summary(name)["parameters"] > 0


def test_names_resolve_and_paths_win(tmp_path):
    assert model_path("kmer_illumina") == MODELS["kmer_illumina"].path
    assert motifs_path("jaspar2024") == MOTIFS["jaspar2024"].path
    local = tmp_path / "kmer_illumina"
    local.mkdir()
    os.chdir(tmp_path)
    try:
        assert model_path("kmer_illumina") == Path("kmer_illumina")  # a path that exists wins over a name
    finally:
        os.chdir(REPO)


def test_motifs_by_name_equal_the_file():
    from seqfcn.io.motifs import read_motifs

    by_name, by_path = read_motifs("jaspar2024"), read_motifs(MOTIFS["jaspar2024"].path)
    assert len(by_name) == 879
    assert [m.name for m in by_name] == [m.name for m in by_path]


def test_unknown_name_is_one_line_error_listing_the_names(cli, tmp_path):
    code, _, err = cli(["correct", EX1_FASTQ, "--model", "kmer_ilumina", "-o", tmp_path / "o.fq"])
    assert code == 2
    assert err.count("\n") == 1 and "kmer_ilumina" in err and "kmer_illumina" in err and "seqfcn models" in err
    assert not (tmp_path / "o.fq").exists()


def test_models_command_lists_every_shipped_resource(cli):
    code, out, _ = cli(["models"])
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == [*MODELS, *MOTIFS]
    code, out, _ = cli(["models", "--json"])
    assert json.loads(out) == shipped_table()
    assert all(Path(r["path"]).exists() for r in shipped_table())


def test_info_by_name(cli):
    code, out, _ = cli(["info", "kmer_illumina"])
    assert code == 0 and "read_corrector" in out and str(MODELS["kmer_illumina"].path) in out


@pytest.mark.slow
def test_wheel_ships_models_and_motifs_and_runs_by_name(tmp_path, cli):
    """Build the wheel, install it (no dependencies: they are this environment's) into a folder
    outside the checkout and run a scan and a correction from it by name (the scan equals the
    checkout's, run in this process)."""
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(wheels), str(REPO)], check=True, capture_output=True)
    wheel = next(wheels.glob("seqfcn-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for s in (*MODELS.values(), *MOTIFS.values()):
        rel = s.path.relative_to(REPO).as_posix()
        assert any(n.startswith(rel) for n in names), rel
    assert "seqfcn/resources/motifs/JASPAR_LICENSE.txt" in names
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}

    def seqfcn(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "seqfcn", *args], cwd=work, env=env, capture_output=True,
                              text=True, check=True)

    where = subprocess.run([sys.executable, "-c", "import seqfcn; print(seqfcn.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(site)
    seqfcn("scan", str(LAMBDA_FA), "--motifs", "jaspar2024", "-o", "hits.bed", "-q")
    assert cli(["scan", LAMBDA_FA, "--motifs", MOTIFS["jaspar2024"].path, "-o", work / "checkout.bed", "-q"])[0] == 0
    hits = (work / "hits.bed").read_text()
    assert hits.count("\n") > 1000 and hits == (work / "checkout.bed").read_text()
    seqfcn("correct", str(EX1_FASTQ), "--model", "kmer_illumina", "-o", "fixed.fq", "-q", "--threads", "1")
    assert (work / "fixed.fq").read_text().count("\n") == EX1_FASTQ.read_text().count("\n")


def test_several_genomes_only_for_reads_evidence(cli, tmp_path):
    """Several --genome files are for a reads-spectrum corrector: one-line errors otherwise, before any work."""
    for extra in (["--task", "motif"], ["--task", "correct", "--evidence", "reference"]):
        code, _, err = cli(["train", *extra, "--genome", LAMBDA_FA, LAMBDA_FA, "--out", tmp_path / "o"])
        assert code == 2 and err.count("\n") == 1 and "genome" in err
        assert not (tmp_path / "o").exists()
