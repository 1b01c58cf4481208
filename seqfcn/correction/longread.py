"""Long reads corrected from their own overlaps: pileup features → a per-base FCN → edits.

For every read (in file order; one ``shard`` ``(i, n)`` takes reads ``k % n == i``):

1. its overlaps with the other reads, mapped here (:class:`~seqfcn.correction.overlaps.OverlapFinder`,
   reads mapped on ``threads`` threads) or read from ``seqfcn overlap`` PAF files (``overlaps``,
   checked to belong to these reads);
2. the pileup features of :mod:`seqfcn.correction.pileup`;
3. the model's posterior over the ``bases+gap+insert`` classes, tiled exactly
   (:func:`seqfcn.runtime.tiling.predict_tiled`);
4. where at least ``min_depth`` other reads cover a position and the top class has probability
   ``min_confidence`` or more, its edit: another base, delete the base, or insert a base after it.
   Positions without that support keep their base and quality; supported ones take the
   posterior's quality (Phred of the probability the written base is right, 1..:data:`MAX_QUALITY`).

Every read comes out, in order, name and comment kept. The summary counts reads corrected
(every position supported), partly corrected and untouched (none), and the edits.
"""
from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from seqfcn.correction import defaults
from seqfcn.correction.labels import BASES_GAP_INSERT
from seqfcn.correction.longread_inputs import ReadCatalogue, ReadStore, long_read_catalogue
from seqfcn.correction.overlaps import Overlap, OverlapFinder, iter_overlaps, paf_groups, read_overlap_manifest
from seqfcn.correction.pileup import FEATURES, depth_of, pileup_counts, pileup_features
from seqfcn.errors import ModelFileError, SeqfcnError
from seqfcn.sequence.encode import as_byte_array, to_codes

MAX_QUALITY = 50
"""The highest Phred quality a corrected base gets."""
PILEUP_KEY = "pileup"
"""The model-file metadata entry that marks a pileup (long-read) corrector."""
_LETTERS = np.frombuffer(b"ACGT", np.uint8)


@dataclass(frozen=True)
class LongReadOptions:
    """How :func:`correct_long_reads` runs.

    Attributes:
        overlaps: PAF files of ``seqfcn overlap`` (one for all reads, or a complete set of
            shards, or the shard matching ``shard``); empty: overlaps are mapped here.
        threads: mapping threads (and PyTorch's).
        min_depth: other reads that must cover a position before it is edited.
        min_confidence: posterior probability an edit needs.
        rounds: passes (each maps the previous pass's reads again); None: the model's own
            recommendation (``rounds`` in its metadata, else 1), or 1 with ``overlaps`` or
            ``shard`` (where more are refused: run overlap and correct again on the output).
        window: tile length of the model run over one read (exact at any value).
        device: where the model runs.
        shard: 0-based ``(i, n)``: correct reads ``k % n == i`` only (and write a shard manifest).
        output_format: ``fastq`` or ``fasta`` (default: from the output name).
        stats_path: also write the summary as JSON here.
        progress: a progress bar on stderr.
    """

    overlaps: tuple[str, ...] = ()
    threads: int = 1
    min_depth: int = defaults.LONG_READ_MIN_DEPTH
    min_confidence: float = defaults.LONG_READ_MIN_CONFIDENCE
    rounds: int | None = None
    window: int = 65_536
    device: str = "cpu"
    shard: tuple[int, int] | None = None
    output_format: str | None = None
    stats_path: str | None = None
    progress: bool = False


def is_pileup_model(model: str | os.PathLike) -> bool:
    """Whether the model file (or shipped name) is a pileup corrector (read without torch)."""
    from seqfcn.nn.checkpoint import model_info

    return PILEUP_KEY in (model_info(model).get("metadata") or {})


class PileupCorrector:
    """A loaded pileup corrector: :meth:`posterior` maps features to class probabilities."""

    def __init__(self, model: Any, device: str = "cpu", label: str = "model") -> None:
        from seqfcn.nn.checkpoint import load_model

        if isinstance(model, (str, os.PathLike)):
            model, info = load_model(model, device=device)
        else:
            info = {"metadata": getattr(model, "pileup_metadata", {PILEUP_KEY: {"features": list(FEATURES)}})}
        spec = (info.get("metadata") or {}).get(PILEUP_KEY) or {}
        if list(spec.get("features", ())) != list(FEATURES):
            raise ModelFileError(f"not a pileup corrector of this seqfcn (features {spec.get('features')})",
                                 path=label)
        if int(model.config.get("n_outputs", 0)) != BASES_GAP_INSERT.n_classes:
            raise ModelFileError(f"a pileup corrector has {BASES_GAP_INSERT.n_classes} outputs "
                                 f"({', '.join(BASES_GAP_INSERT.classes)})", path=label)
        self.model, self.info, self.device, self.spec = model.eval(), info, device, spec

    def posterior(self, features: np.ndarray, window: int = 65_536) -> np.ndarray:
        """``(9, L)`` float32 class probabilities of ``(len(FEATURES), L)`` features."""
        import torch

        from seqfcn.runtime.inference import model_margin
        from seqfcn.runtime.tiling import predict_tiled

        with torch.inference_mode():
            logits = predict_tiled(self.model, features, None, window, model_margin(self.model), batch_size=1,
                                   device=self.device)
            return torch.softmax(logits.float(), dim=0).numpy()


@dataclass
class Edited:
    """One read after :func:`apply_posterior`: its bases, qualities and what changed."""

    sequence: str
    qualities: np.ndarray
    supported: int
    substituted: int
    deleted: int
    inserted: int


def _phred(p: np.ndarray) -> np.ndarray:
    from seqfcn.correction.engine import posterior_quality

    return np.maximum(posterior_quality(p, MAX_QUALITY), 1)  # Q0 is not written


def apply_posterior(sequence: str, qualities: np.ndarray | None, probs: np.ndarray, depth: np.ndarray,
                    min_depth: int, min_confidence: float) -> Edited:
    """Apply the top class of ``probs`` ``(9, L)`` where ``depth`` ``(L,)`` >= ``min_depth`` and it is
    sure enough; other positions keep their character and quality (Q2 when the read has none)."""
    raw = as_byte_array(sequence)
    codes = to_codes(raw).astype(np.int64)
    top, p = probs.argmax(axis=0), probs.max(axis=0)
    supported = depth >= min_depth
    act = supported & (p >= min_confidence)
    sub = act & (top < 4) & (top != codes)
    delete = act & (top == 4)
    ins = act & (top >= 5)
    first = raw.copy()
    first[sub] = _LETTERS[top[sub]]
    second = np.zeros_like(raw)
    second[ins] = _LETTERS[top[ins] - 5]
    q_first = np.full(raw.size, 2, np.uint8) if qualities is None else qualities.astype(np.uint8).copy()
    written = to_codes(first).astype(np.int64)
    right = np.take_along_axis(probs, np.minimum(written, 3)[None, :], axis=0)[0] + probs[5:].sum(axis=0)
    q_first[supported] = _phred(right)[supported]
    q_second = _phred(p)
    keep = np.stack([~delete, ins], axis=1)
    seq = np.stack([first, second], axis=1)[keep]
    qual = np.stack([q_first, q_second], axis=1)[keep]
    return Edited(seq.tobytes().decode("ascii"), qual, int(supported.sum()), int(sub.sum()), int(delete.sum()),
                  int(ins.sum()))


# --------------------------------------------------------------------------- overlap sources


class _PafSource:
    """Overlaps of each read from ``seqfcn overlap`` files, checked against the reads."""

    def __init__(self, paths: tuple[str, ...], catalogue: ReadCatalogue, shard: tuple[int, int] | None) -> None:
        from seqfcn.io.fingerprint import file_fingerprint

        reads_fp = file_fingerprint(catalogue.path)
        manifests = [read_overlap_manifest(p) for p in paths]
        for path, m in zip(paths, manifests):
            if m.reads != reads_fp or m.reads_total != len(catalogue.names):
                raise SeqfcnError(f"overlaps of other reads (manifest: {m.reads_total} reads, fingerprint {m.reads}; "
                                  f"{catalogue.path}: {len(catalogue.names)} reads, {reads_fp})", path=path)
        self.by_shard = self._assign(paths, [m.shard for m in manifests], shard)
        self.catalogue = catalogue
        self.store = ReadStore(catalogue)
        self._groups = {key: (paf_groups(path), path) for key, path in self.by_shard.items()}
        self._next: dict[Any, tuple[str, int, list[Overlap]] | None] = {}

    @staticmethod
    def _assign(paths: tuple[str, ...], shards: list, want: tuple[int, int] | None) -> dict:
        if len(paths) == 1 and shards[0] is None:
            return {None: paths[0]}
        if want is not None and want in shards:
            return {want: paths[shards.index(want)]}
        counts = {s[1] for s in shards if s is not None}
        if None in shards or len(counts) != 1 or sorted(s[0] for s in shards) != list(range(counts.pop())):
            named = ", ".join("all" if s is None else f"{s[0] + 1}/{s[1]}" for s in shards)
            raise SeqfcnError(f"--overlaps must be one unsharded file or every shard 1/n..n/n of one run once "
                              f"(given: {named})" + ("" if want is None else
                                                     f", or shard {want[0] + 1}/{want[1]} itself"))
        return {s: p for s, p in zip(shards, paths)}

    def lookup(self, k: int, name: str, length: int) -> list[Overlap]:
        """The overlaps of read ``k`` (every read must be asked for in file order)."""
        key = None if None in self.by_shard else next(s for s in self.by_shard if k % s[1] == s[0])
        groups, path = self._groups[key]
        if key not in self._next:
            self._next[key] = next(groups, None)
        head = self._next[key]
        while head is not None:
            qname, qlen, group = head
            at = self.catalogue.index.get(qname)
            if at is None or qlen != self.catalogue.lengths[at]:
                raise SeqfcnError(f"overlaps name read {qname} of length {qlen}, which is not in the reads "
                                  f"{self.catalogue.path}", path=path)
            if at > k:
                return []
            self._next[key] = head = next(groups, None)
            if at == k:
                return group
        return []


def _overlap_stream(reads: Iterable[tuple[int, Any]], source: "_PafSource | OverlapFinder",
                    threads: int) -> Iterator[tuple[Any, list[Overlap], Any]]:
    """``(read, overlaps, target_bases)`` for each ``(k, read)`` of ``reads``, in order."""
    if isinstance(source, _PafSource):
        for k, read in reads:
            yield read, source.lookup(k, read.name, len(read.sequence)), source.store.target_bases
        return
    waiting: deque = deque()  # reads handed to the mapping threads, in order

    def pending() -> Iterator[tuple[str, str]]:
        for _, read in reads:
            waiting.append(read)
            yield read.name, read.sequence

    for _, _, overlaps in iter_overlaps(source, pending(), threads):
        yield waiting.popleft(), overlaps, source.target_bases


def network_threads(threads: int) -> int:
    """PyTorch threads of the long-read network for ``--threads threads``: a third of them (at
    least one). The network runs while the mapping threads map the next chunk of reads; with
    PyTorch on every core too, its threads waited on the mapping's and one round over 658 r9
    reads (200 kb x 30x) took 87 s on 2 cores against 65 s with one PyTorch thread. One thread
    runs the network at about 50 ms a read and the mapping takes about 110 ms of CPU a read, so a
    third keeps the two in step. The same for ``--overlaps`` runs, so both paths give the same reads."""
    return max(1, int(threads) // 3)


def correct_long_reads(reads: str | os.PathLike, model: Any, output: str | os.PathLike,
                       options: LongReadOptions | None = None) -> dict[str, Any]:
    """Correct the long reads of ``reads`` (FASTQ/FASTA) with a pileup corrector (path, shipped
    name or :class:`PileupCorrector`); write them to ``output`` (``-`` stdout).

    Returns the summary: reads, bases, reads corrected / partly corrected / untouched (first
    round), bases substituted / deleted / inserted (all rounds), and ``per_round``."""
    import shutil
    import tempfile

    import torch

    opts = options or LongReadOptions()
    catalogue = long_read_catalogue(reads)
    corrector = model if isinstance(model, PileupCorrector) else PileupCorrector(model, opts.device, str(model))
    split = bool(opts.overlaps) or opts.shard is not None  # one pass per overlap file / shard job
    rounds = opts.rounds or (1 if split else int(corrector.spec.get("rounds", 1)))
    if rounds > 1 and split:
        raise SeqfcnError("--rounds above 1 re-maps every corrected read: run it without --overlaps and --shard "
                          "(or run overlap and correct again on the corrected reads)")
    source = (_PafSource(tuple(opts.overlaps), catalogue, opts.shard) if opts.overlaps
              else OverlapFinder(catalogue.path, opts.threads))
    torch.set_num_threads(network_threads(opts.threads))
    work = tempfile.mkdtemp(prefix="seqfcn-long-") if rounds > 1 else None
    try:
        per_round = []
        for r in range(rounds):
            last = r == rounds - 1
            target = output if last else os.path.join(work, f"round{r + 1}.fq")
            per_round.append(_one_round(catalogue, source, corrector, target, opts, f"round {r + 1}/{rounds}",
                                        opts.output_format if last else "fastq"))
            if not last:
                catalogue = long_read_catalogue(target)
                source = OverlapFinder(target, opts.threads)
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
    stats = {**per_round[0], **{k: sum(p[k] for p in per_round) for k in ("substituted", "deleted", "inserted")},
             "rounds": rounds, "per_round": per_round}
    if opts.shard is not None:
        _write_manifest(reads, model, output, opts, catalogue, stats["reads"])
    if opts.stats_path is not None:
        from seqfcn.io.atomic import write_json

        write_json(stats, opts.stats_path)
    return stats


def _one_round(catalogue: ReadCatalogue, source: "_PafSource | OverlapFinder", corrector: PileupCorrector,
               output: str | os.PathLike, opts: LongReadOptions, label: str, fmt: str | None) -> dict[str, int]:
    """One pass over the reads of ``catalogue`` (one shard's), written to ``output``."""
    from tqdm import tqdm

    from seqfcn.io.read_writers import FastqWriter
    from seqfcn.io.reads import read_reads

    stream = enumerate(read_reads(catalogue.path))
    n = len(catalogue.names)
    if opts.shard is not None:
        from seqfcn.runtime.shard import shard_reads

        stream = shard_reads(stream, *opts.shard)
        n = len(range(opts.shard[0], n, opts.shard[1]))
    stats = dict.fromkeys(("reads", "corrected", "partly_corrected", "untouched", "bases", "substituted",
                           "deleted", "inserted"), 0)
    with FastqWriter(output, fmt=fmt) as writer, \
            tqdm(total=n, unit="read", disable=not opts.progress, desc=f"correct ({label})") as bar:
        for read, overlaps, target_bases in _overlap_stream(stream, source, opts.threads):
            edited = _correct_one(read, overlaps, target_bases, corrector, opts)
            _count(stats, edited, len(read.sequence))
            writer.write(replace(read, sequence=edited.sequence, qualities=edited.qualities))
            bar.update(1)
    return stats


def _correct_one(read, overlaps: list[Overlap], target_bases, corrector: PileupCorrector,
                 opts: LongReadOptions) -> Edited:
    length = len(read.sequence)
    counts = pileup_counts(length, overlaps, target_bases)
    depth = depth_of(counts)
    if length == 0 or not (depth >= opts.min_depth).any():
        quals = read.qualities if read.qualities is not None else np.full(length, 2, np.uint8)
        return Edited(read.sequence, quals, 0, 0, 0, 0)
    features = pileup_features(to_codes(read.sequence), counts)
    probs = corrector.posterior(features, opts.window)
    return apply_posterior(read.sequence, read.qualities, probs, depth, opts.min_depth, opts.min_confidence)


def _count(stats: dict[str, int], edited: Edited, length: int) -> None:
    stats["reads"] += 1
    stats["bases"] += length
    key = "untouched" if edited.supported == 0 else "corrected" if edited.supported == length else "partly_corrected"
    stats[key] += 1
    for k in ("substituted", "deleted", "inserted"):
        stats[k] += getattr(edited, k)


def _write_manifest(reads, model, output, opts: LongReadOptions, catalogue: ReadCatalogue, n: int) -> None:
    from seqfcn.io.fingerprint import file_fingerprint
    from seqfcn.runtime.shard import ReadShardManifest, run_fingerprint, write_read_manifest

    if str(output) == "-":
        return
    from seqfcn.resources import model_path

    named = model_path(model) if isinstance(model, (str, os.PathLike)) else repr(type(model))
    run = run_fingerprint(model=named, min_depth=opts.min_depth, min_confidence=opts.min_confidence,
                          kind="long-read")
    write_read_manifest(output, ReadShardManifest(opts.shard[0], opts.shard[1], run, (file_fingerprint(reads),), 0,
                                                  len(catalogue.names), n))


def model_metadata(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The metadata a pileup corrector is saved with."""
    return {"task": "correct", "label_scheme": BASES_GAP_INSERT.to_dict(),
            PILEUP_KEY: {"features": list(FEATURES), **(extra or {})}}
