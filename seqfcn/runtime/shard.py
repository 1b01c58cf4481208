"""Split one job into ``n`` independent shards whose merged outputs equal the unsharded run:
the machinery every job's shards share.

* :func:`shard_reads`: reads are split **round-robin** (read ``k``, 0-based in file order,
  belongs to shard ``k % n``): no counting pass (stdin works), streamed, every shard the same
  mix of read lengths; :func:`seqfcn.runtime.merge.interleave` restores the order (plain
  ``cat`` does **not**). FASTQ has no header, so each read shard gets a manifest beside it
  (``NAME.seqfcn-shard.json``, :func:`write_read_manifest`, written atomically after the shard):
  the input's content fingerprints, ``i/n``, the run fingerprint, the mate, the reads of the
  whole input and of the shard, and the shard file's own fingerprint (:func:`read_manifest`).
* :func:`run_fingerprint`: a run's options and the *content* of every file argument
  (:func:`seqfcn.io.fingerprint.file_fingerprint`), never a name or time stamp, so shards of
  different runs are never merged.
* :func:`check_shard_set`: one ``n``, one run, every index ``1..n`` exactly once, files in
  any order — checked before a merge writes anything.
* :data:`TRACK_KEYS`: the ``seqfcn_shard=i/n seqfcn_run=ID ...`` keys of a shard's track line.

Each job keeps its own shard files: genome scans in :mod:`seqfcn.motifs.shards` (contiguous
blocks of tiles, q-values recomputed at the merge), predictions in
:mod:`seqfcn.interpret.shards`, reads in :mod:`seqfcn.correction.shards`, k-mer spectra in
:mod:`seqfcn.correction.count_shards`; ``seqfcn merge`` (:mod:`seqfcn.cli.merge`) picks the
right one. On the command line shards are 1-based ``i/n`` (``2/8``); in Python they are
0-based ``(index, count)`` tuples, as :func:`seqfcn.runtime.tiling.parse_shard` returns.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence, TypeVar


from seqfcn.errors import InputFormatError, SeqfcnError
from seqfcn.runtime.tiling import parse_shard

if TYPE_CHECKING:
    pass

T = TypeVar("T")

__all__ = [
    "parse_shard",
    "check_shard",
    "shard_reads",
    "run_fingerprint",
    "check_shard_set",
    "ReadShardManifest",
    "manifest_path",
    "write_read_manifest",
    "read_manifest",
    "remove_manifest",
    "strip_shard_argument",
    "TRACK_KEYS",
]

TRACK_KEYS = re.compile(r"\bseqfcn_(shard|tested|q_tests|run|hits)=(\S+)")


def check_shard(shard: tuple[int, int]) -> tuple[int, int]:
    """Validate a 0-based ``(index, count)`` shard; returns it as ints."""
    try:
        index, count = (int(x) for x in shard)
    except (TypeError, ValueError):
        raise SeqfcnError(f"a shard is (index, count), got {shard!r}") from None
    if count < 1 or not 0 <= index < count:
        raise SeqfcnError(f"shard index {index} is out of range for {count} shards (0-based)")
    return index, count


def shard_reads(reads: Iterable[T], index: int, count: int) -> Iterator[T]:
    """Reads of shard ``index`` (0-based) of ``count``: every item whose ordinal ``k`` has ``k % count == index``.

    The ``count`` shards are disjoint, cover every read once and keep file order;
    their sizes differ by at most one (the first ``total % count`` shards have one
    more). Works on any iterator (a stream from stdin included); every shard still
    reads the whole input but only processes its share. :func:`seqfcn.runtime.merge.interleave`
    undoes the split.
    """
    index, count = check_shard((index, count))
    return islice(reads, index, None, count)


# --------------------------------------------------------------------------- scan shard files


def run_fingerprint(**settings: object) -> str:
    """A short fingerprint of everything that decides a sharded run's output (12 hex digits).

    Shards are merged only when their fingerprints agree, so shards of different runs
    (another genome, motif set, model, threshold or tile size) are refused. File and
    directory arguments are recorded by *content*
    (:func:`seqfcn.io.fingerprint.file_fingerprint`; a directory by the names and
    fingerprints of its files), so a copy under another name still merges and another
    file with the same name and size never does.
    """
    import hashlib
    import json

    from seqfcn.io.fingerprint import file_fingerprint

    def norm(value: object) -> object:
        if isinstance(value, (str, os.PathLike)) and os.path.isfile(value):
            return ["file", file_fingerprint(value)]
        if isinstance(value, (str, os.PathLike)) and os.path.isdir(value):
            return ["dir", sorted((name, file_fingerprint(os.path.join(value, name)))
                                  for name in os.listdir(value) if os.path.isfile(os.path.join(value, name)))]
        if isinstance(value, (list, tuple)):
            return [norm(v) for v in value]
        return value if value is None or isinstance(value, (int, float, str, bool)) else repr(value)

    text = json.dumps({k: norm(v) for k, v in sorted(settings.items())}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def check_shard_set(shards: Sequence[tuple[str, int, int, str]], what: str = "run") -> list[str]:
    """Prove that ``(label, index, count, run)`` shards (0-based index) form one complete set.

    Returns:
        The labels sorted by shard index (the order the merge joins them in).

    Raises:
        SeqfcnError: naming the shard file: another ``n``, another run (``what`` says
            which kind), an index given twice, or (naming the indices) shards missing.
    """
    label0, _, count, run = shards[0]
    seen: dict[int, str] = {}
    for label, index, n, other in shards:
        if n != count:
            raise SeqfcnError(f"shard {index + 1}/{n} does not belong with {count} shards (as {label0})", path=label)
        if other != run:
            raise SeqfcnError(f"comes from a different {what} (seqfcn_run={other}, not {run} as {label0}: "
                              "another input, model or option)", path=label)
        if index in seen:
            raise SeqfcnError(f"shard {index + 1}/{count} given twice (also {seen[index]})", path=label)
        seen[index] = label
    missing = sorted(set(range(count)) - set(seen))
    if missing:
        raise SeqfcnError(f"shard(s) {', '.join(f'{i + 1}/{count}' for i in missing)} missing from the merge "
                          f"(given: {', '.join(seen[i] for i in sorted(seen))})")
    return [seen[i] for i in range(count)]


# --------------------------------------------------------------------------- read shard manifests
MANIFEST_SUFFIX = ".seqfcn-shard.json"


@dataclass(frozen=True)
class ReadShardManifest:
    """What a read shard's manifest records (0-based ``index``; ``mate`` 0-based among ``inputs``).

    Attributes:
        inputs: one content fingerprint per input file (R1, R2); for stdin a hash of the
            records read (:class:`seqfcn.io.fingerprint.RecordHasher`).
        run: :func:`run_fingerprint` of the model and options.
        total: read groups (reads, or pairs) of the whole input; ``reads``: of this shard.
        output: the fingerprint of the shard file the manifest describes.
    """

    index: int
    count: int
    run: str
    inputs: tuple[str, ...]
    mate: int
    total: int
    reads: int
    output: str = ""

    def key(self) -> tuple:
        """What every shard of one set shares."""
        return self.inputs, self.mate, self.total


def manifest_path(output: str | os.PathLike) -> str:
    """The manifest beside a read shard: ``c.1.fq`` -> ``c.1.fq.seqfcn-shard.json``."""
    return os.fspath(output) + MANIFEST_SUFFIX


def write_read_manifest(output: str | os.PathLike, manifest: ReadShardManifest) -> None:
    """Write ``manifest`` beside the finished shard ``output`` (atomic; its ``output`` field
    is filled with the shard file's fingerprint). Nothing for stdout."""
    import json

    from seqfcn.io.atomic import atomic_write
    from seqfcn.io.fingerprint import file_fingerprint

    if os.fspath(output) == "-":
        return
    data: dict[str, Any] = {
        "seqfcn_shard": f"{manifest.index + 1}/{manifest.count}", "run": manifest.run,
        "inputs": list(manifest.inputs), "mate": manifest.mate + 1, "reads_total": manifest.total,
        "reads": manifest.reads,
        "output": {"name": os.path.basename(output), "fingerprint": file_fingerprint(output)},
    }
    atomic_write(manifest_path(output), json.dumps(data, indent=1) + "\n")


def remove_manifest(output: str | os.PathLike) -> None:
    """Remove a stale manifest beside ``output`` (an unsharded run replaced the shard)."""
    if os.fspath(output) != "-":
        try:
            os.unlink(manifest_path(output))
        except FileNotFoundError:
            pass


def read_manifest(path: str | os.PathLike) -> ReadShardManifest:
    """The manifest of read shard ``path``, checked against the file it describes.

    Raises:
        SeqfcnError: no manifest (not a ``seqfcn correct --shard`` output), a malformed
            one, or one that describes another file (naming both).
    """
    import json

    from seqfcn.io.fingerprint import file_fingerprint

    label, side = str(path), manifest_path(path)
    if not os.path.isfile(side):
        raise SeqfcnError(f"no shard manifest {os.path.basename(side)} beside it: not an output of seqfcn correct "
                          "--shard (plain chunks merge with --order concat)", path=label)
    try:
        with open(side, encoding="utf-8") as fh:
            data = json.load(fh)
        index, count = parse_shard(data["seqfcn_shard"])
        manifest = ReadShardManifest(index, count, str(data["run"]), tuple(map(str, data["inputs"])),
                                     int(data["mate"]) - 1, int(data["reads_total"]), int(data["reads"]),
                                     str(data["output"]["fingerprint"]))
    except (OSError, ValueError, KeyError, TypeError, SeqfcnError) as exc:
        raise InputFormatError(f"not a seqfcn shard manifest ({exc})", path=side) from None
    if manifest.output != file_fingerprint(path):
        raise SeqfcnError(f"does not match its manifest {os.path.basename(side)} (the shard file was changed, "
                          "or renamed over another shard)", path=label)
    return manifest


# --------------------------------------------------------------------------- predict shard tracks


def strip_shard_argument(command_line: str) -> str:
    """A command line without its ``--shard X`` / ``--shard=X`` option (for merged @PG ``CL`` fields)."""
    return re.sub(r"\s--shard(?:=|\s+)\S+", "", command_line)
