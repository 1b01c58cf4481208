"""Predict shards: ``seqfcn predict --shard i/n`` bedGraphs and their exact merge (``seqfcn merge``).

A shard's bedGraph starts with a track line ``name=seqfcn_predict ... seqfcn_shard=i/n
seqfcn_run=ID`` (:func:`predict_track_line`); :func:`merge_predict_shards` proves the set
(:func:`seqfcn.runtime.shard.check_shard_set`) and joins the shards in index order without
that line: exactly the unsharded bedGraph. Imports neither PyTorch nor pandas.
"""
from __future__ import annotations

import os
from typing import Sequence
from seqfcn.errors import InputFormatError, SeqfcnError
from seqfcn.runtime.merge import read_bed_lines
from seqfcn.runtime.shard import TRACK_KEYS, check_shard, check_shard_set, parse_shard


def predict_track_line(shard: tuple[int, int], run: str) -> str:
    """The bedGraph track line of a predict shard (the unsharded bedGraph has none)."""
    index, count = check_shard(shard)
    return (f'track type=bedGraph name=seqfcn_predict description="seqfcn predict shard {index + 1} of {count}" '
            f"seqfcn_shard={index + 1}/{count} seqfcn_run={run}")


def predict_shard_info(path: str | os.PathLike) -> tuple[int, int, str] | None:
    """``(index, count, run)`` of a predict bedGraph shard (plain or gzip), None for another file."""
    import gzip

    label = str(path)
    try:
        opener = gzip.open(label, "rt", encoding="utf-8") if label.endswith(".gz") else open(label, encoding="utf-8")
        with opener as fh:
            first = fh.readline()
    except (OSError, UnicodeDecodeError, EOFError):
        return None
    if not first.startswith("track") or "name=seqfcn_predict" not in first:
        return None
    keys = dict(TRACK_KEYS.findall(first))
    if "shard" not in keys or "run" not in keys:
        raise InputFormatError("line 1: a seqfcn predict track line without seqfcn_shard= and seqfcn_run=", path=label)
    index, count = parse_shard(keys["shard"])
    return index, count, keys["run"]


def merge_predict_shards(paths: Sequence[str | os.PathLike], output: str | os.PathLike) -> int:
    """Join the bedGraph shards of ``seqfcn predict --shard`` (any order) into the unsharded bedGraph.

    Shards hold contiguous blocks of tiles, so their data lines in shard order are the
    unsharded file; the shard track line is dropped (the unsharded bedGraph has none).
    Returns the number of lines written.

    Raises:
        SeqfcnError: a file that is not a predict shard, another ``n`` or run, a shard
            given twice or missing (naming it), before anything is written.
    """
    from seqfcn.io.atomic import atomic_text

    shards = []
    for p in map(str, paths):
        info = predict_shard_info(p)
        if info is None:
            raise SeqfcnError("not a seqfcn predict shard (no seqfcn_shard= track line); write it with "
                              "seqfcn predict --shard", path=p)
        shards.append((p, *info))
    order = check_shard_set(shards, "predict run")
    written = 0
    with atomic_text(output) as handle:
        for label in order:
            lines = read_bed_lines(label)
            handle.writelines(line + "\n" for line in lines[1:])
            written += len(lines) - 1
    return written
