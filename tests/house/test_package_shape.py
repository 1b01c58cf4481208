"""The package's shape, checked: imports point one way, jobs never import each other, no file
is over 800 lines, and the package root holds only the entry points.

The layers, lowest first (``docs/architecture.md``): ``errors``, ``resources`` ← ``sequence`` ←
``io`` ← ``nn`` ← ``runtime`` ← ``training`` ← the jobs (``motifs`` | ``interpret`` |
``correction``) ← ``cli``. Every import in every module is read from its syntax tree, those
inside functions included (a lazy import climbs as much as an eager one).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "seqfcn"
LAYERS = {"errors": 0, "resources": 0, "sequence": 1, "io": 2, "nn": 3, "runtime": 4, "training": 5,
          "motifs": 6, "interpret": 6, "correction": 6, "cli": 7}
JOBS = {"motifs", "interpret", "correction"}
ROOT_FILES = {"__init__.py", "__main__.py", "errors.py"}
MAX_LINES = 800


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _part(path: Path) -> str:
    """The layer a file belongs to: its folder under seqfcn/, or its own name at the root."""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, top-level part)`` of every ``seqfcn.X`` import in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.startswith("seqfcn"):
            parts = node.module.split(".")
            if len(parts) > 1:
                found.append((node.lineno, parts[1]))
            else:  # from seqfcn import X: X is a part, or a root name (__version__)
                found += [(node.lineno, a.name) for a in node.names if a.name in LAYERS]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name.split(".")[1]) for a in node.names
                      if a.name.startswith("seqfcn.") and len(a.name.split(".")) > 1]
    return found


def test_package_root_holds_only_the_entry_points() -> None:
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ROOT_FILES)
    assert loose == [], f"modules at the package root: {loose}"
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"} == set(LAYERS) - {"errors"}


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_climbs_and_jobs_never_import_each_other(path: Path) -> None:
    part = _part(path)
    if part not in LAYERS:  # __init__ (lazy public names) and __main__ sit above everything
        return
    for line, other in _imports(path):
        assert other in LAYERS, f"{path.name}:{line} imports seqfcn.{other}, which is in no layer"
        assert LAYERS[other] <= LAYERS[part], f"{path.name}:{line}: {part} imports {other}, a layer above it"
        assert not (part in JOBS and other in JOBS and other != part), f"{path.name}:{line}: job {part} imports job {other}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_file_is_over_800_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES


WIDE_ALLOWED = {"MotifScanner.__init__", "DilatedFCN.__init__", "UNet1d.__init__", "FCN1d.__init__"}
"""Model constructors whose keywords are the architecture config saved with the model (timm's way)."""


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    a = node.args
    named = a.posonlyargs + a.args
    return (len(named) + len(a.kwonlyargs) + bool(a.vararg) + bool(a.kwarg)
            - (1 if named and named[0].arg in ("self", "cls") else 0))


def test_at_most_five_functions_take_more_than_8_parameters() -> None:
    """Settings travel as options objects; the few exceptions are named (and said why) above."""
    wide = []
    for path in _modules():
        tree = ast.parse(path.read_text())
        for parent in ast.walk(tree):
            for node in ast.iter_child_nodes(parent):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _parameters(node) > 8:
                    owner = f"{parent.name}." if isinstance(parent, ast.ClassDef) else ""
                    wide.append(f"{owner}{node.name}")
    assert len(wide) <= 5 and set(wide) <= WIDE_ALLOWED, sorted(wide)


def test_the_check_sees_a_climb(tmp_path: Path) -> None:
    """The import reader finds lazy imports inside functions (so the layer test can fail)."""
    probe = tmp_path / "m.py"
    probe.write_text("def f():\n    from seqfcn.cli.main import main\n    import seqfcn.training.trainer\n")
    assert _imports(probe) == [(2, "cli"), (3, "training")]
