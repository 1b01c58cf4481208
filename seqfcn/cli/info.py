"""``seqfcn info`` (summarise a genome or a model) and ``seqfcn models`` (what ships with seqfcn)."""
from __future__ import annotations

import argparse
from collections.abc import Sequence

from seqfcn.cli.args import declare_io


def add_info(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add ``info`` to ``sub``."""
    p = sub.add_parser(
        "info",
        parents=[common],
        help="summarise a genome FASTA (chromosomes, composition, encoding) or a model directory",
        description="Summarise a FASTA genome or a seqfcn model directory.",
    )
    p.add_argument("path", help="FASTA (plain or bgzip), a model directory, the directory `seqfcn train` wrote or "
                   "a shipped model's name")
    p.add_argument("--json", action="store_true",
                   help="print as JSON: a model's whole summary, or one object per genome record")
    p.set_defaults(func=run_info)
    declare_io(p, inputs=["path"])


def run_info(args: argparse.Namespace) -> int:
    """``seqfcn info``: a model's summary, or a genome's per-record composition, on stdout."""
    from pathlib import Path

    from seqfcn.resources import MODELS, model_path

    path = model_path(args.path) if args.path in MODELS else Path(args.path)
    if path.is_dir() or path.suffix in (".json", ".safetensors"):
        from seqfcn.nn.checkpoint import describe_model, model_summary

        if args.json:
            import json

            print(json.dumps(model_summary(path), indent=2, sort_keys=True, default=str))
        else:
            print(describe_model(path))
        return 0
    from seqfcn.io.fasta import SUMMARY_COLUMNS, genome_composition

    rows = genome_composition(path)
    if args.json:
        import json
        import math

        print(json.dumps([{k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()}
                          for r in rows], indent=2))
    else:
        print(_text_table(rows, SUMMARY_COLUMNS, {"gc": "{:.4f}"}))
    return 0


def _text_table(rows: Sequence[dict], columns: Sequence[str], formats: dict[str, str]) -> str:
    """Rows as a right-aligned plain-text table with a header line (``formats``: per-column
    ``str.format`` patterns)."""
    cells = [list(columns)] + [[formats.get(c, "{}").format(r[c]) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join("  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells)


def add_models(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add ``models`` to ``sub``."""
    p = sub.add_parser("models", parents=[common], help="list the models and motif databases shipped with seqfcn",
                       description="List the shipped models (--model NAME) and motif databases (--motifs NAME): "
                       "name, what each is for, licence and where it is installed.")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=run_models)
    declare_io(p)  # reads and writes no files


def run_models(args: argparse.Namespace) -> int:
    """``seqfcn models``: the shipped models and motif databases."""
    import json

    from seqfcn.resources import shipped_table

    rows = shipped_table()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        print(f"{r['name']:<{width}}  {r['kind']:<6}  {r['purpose']}  [{r['licence']}]")
    return 0
