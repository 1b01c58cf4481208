"""k-mer evidence for read correctors: what a model needs to compute its evidence channels.

A k-mer-evidence corrector is a :class:`seqfcn.nn.models.ReadCorrector` whose input
is the read (one-hot + quality, 5 channels) followed by the per-base evidence
channels of :func:`seqfcn.correction.kmers.evidence` (12 for substitutions, 27 with indels).
Its weights learn how evidence, quality and neighbourhood decide a base, not a
genome, so one model serves any sample:

* ``source="reads"``: the evidence table is the k-mer spectrum of the reads being
  corrected (counted by :func:`count_reads` in a first pass over the input;
  reference-free, like Lighter or Musket, but the decision is learnt);
* ``source="reference"``: the table is a genome's k-mers, stored in the model
  directory (``kmers.npz``); reads are corrected towards that genome, so true
  variants of the sample against it can be "corrected" away — use it for reads of
  the same strain, or when the reads are too few for their own spectrum.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from seqfcn.correction import defaults
from seqfcn.sequence.encode import to_codes
from seqfcn.errors import SeqfcnError
from seqfcn.correction.kmers import KmerTable, evidence, n_channels

log = logging.getLogger("seqfcn.correction")

SOURCES = ("reads", "reference")


@dataclass
class KmerEvidence:
    """What a model needs to compute its evidence channels.

    Attributes:
        k: k-mer length (odd, 3..31).
        edits: ``"sub"`` or ``"indel"``.
        source: ``"reads"`` (table from the reads at correction time) or ``"reference"``.
        table: the table (always set for ``reference``; set per run for ``reads``).
    """

    k: int
    edits: str = "sub"
    source: str = "reads"
    table: KmerTable | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise SeqfcnError(f"k-mer source must be 'reads' or 'reference', not {self.source!r}")
        n_channels(self.edits)
        if not 3 <= int(self.k) <= 31 or int(self.k) % 2 == 0:
            raise SeqfcnError(f"k must be odd and in 3..31, not {self.k}")
        self.k = int(self.k)

    @property
    def channels(self) -> int:
        """Number of evidence channels."""
        return n_channels(self.edits)

    def to_dict(self) -> dict[str, Any]:
        return {"k": self.k, "edits": self.edits, "source": self.source}

    def features(self, codes: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """Evidence ``(batch, channels, L)`` of padded codes ``(batch, L)``."""
        if self.table is None:
            raise SeqfcnError("this model corrects with the reads' own k-mer spectrum; count the reads first")
        return evidence(codes, self.table, edits=self.edits, lengths=lengths)

    def with_table(self, table: KmerTable) -> "KmerEvidence":
        """A copy with ``table``."""
        return KmerEvidence(self.k, self.edits, self.source, table)


def as_paths(reads: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str]:
    """One path or several, as a list of strings."""
    return [str(reads)] if isinstance(reads, (str, os.PathLike)) else [str(p) for p in reads]


def describe_inputs(reads: str | os.PathLike | Sequence[str | os.PathLike]) -> list[dict]:
    """``[{"name": base name, "bytes": size, "fingerprint": content}]`` of read files (what a
    spectrum records; :func:`seqfcn.io.fingerprint.file_fingerprint`)."""
    from seqfcn.io.fingerprint import file_fingerprint

    return [{"name": os.path.basename(p), "bytes": os.path.getsize(p), "fingerprint": file_fingerprint(p)}
            for p in as_paths(reads) if p != "-"]


def count_reads(reads: str | os.PathLike | Sequence[str | os.PathLike], k: int, *,
                reference: str | os.PathLike | None = None, phred: int | None = None,
                shard: tuple[int, int] | None = None, compact: int | None = None,
                memory: int | None = None) -> KmerTable:
    """The k-mer spectrum of one or more read files (the first pass of ``seqfcn correct``;
    ``seqfcn count``): Bloom-filtered compact counting (:mod:`seqfcn.correction.spectrum`),
    one spectrum over all files (R1 and R2 of a pair), the files recorded in ``table.inputs``.
    ``shard``: 0-based ``(index, count)``, only that count shard's share of the k-mers
    (:mod:`seqfcn.correction.count_shards`; the table records it in ``table.shard``).
    ``compact``: return a compacted table (:meth:`KmerTable.compact`, counts exact up to at
    least ``compact``): what correction needs, about 4.4 bytes a k-mer instead of 16; it
    cannot be saved. ``memory``: with ``compact``, count in passes that stay under that many
    bytes (:mod:`seqfcn.correction.spectrum_passes`; the same table)."""
    from seqfcn.correction.count_shards import select_shard, shard_record
    from seqfcn.correction.spectrum import compiled, count_fastq_files, count_spectrum
    from seqfcn.correction.spectrum_passes import count_compact

    record = None if shard is None else shard_record(shard)
    parts = None if record is None else record["parts"]
    paths, feeds, bases = _feeds(reads, reference, phred)
    if memory is not None and (compact is None or record is not None):
        raise SeqfcnError("a memory cap is for the spectrum correction counts (seqfcn correct --memory)")
    if compact is not None and record is None and compiled():  # a shard is selected from the full table first
        table = _first(feeds, lambda feed: count_compact(feed, k, expected_bases=bases, min_cap=compact,
                                                         memory=memory))
    else:
        fastq = len(feeds) == 2
        table = count_fastq_files(paths, k, partitions=parts) if fastq else None
        if table is None:
            table = count_spectrum(_codes(paths, reference, phred), k, expected_bases=bases, partitions=parts)
        if record is not None:  # the compiled counter counted only the shard's partitions; numpy counts all
            table = select_shard(table, record, exact=compiled())
        if compact is not None:
            table.compact(min_cap=compact)
    table.inputs = describe_inputs(paths)
    log.info("counted %d distinct %d-mers of %s (typical count %.0f)", len(table), k, ", ".join(paths), table.scale)
    return table


def _codes(paths: list[str], reference: str | os.PathLike | None, phred: int | None) -> Iterator[np.ndarray]:
    """Every read's codes (the strict reader: any format, errors named)."""
    from seqfcn.io.reads import read_reads

    return (to_codes(r.sequence) for p in paths for r in read_reads(p, reference=reference, phred=phred)
            if r.sequence)


def _feeds(reads: str | os.PathLike | Sequence[str | os.PathLike], reference: str | os.PathLike | None,
           phred: int | None) -> tuple[list[str], list[Callable[[Any], bool]], int]:
    """``(paths, feeds, expected bases)`` of read files for a counter: the fast 4-line FASTQ
    parser first when every path is a file, then the strict reader. Refuses stdin and missing files."""
    from seqfcn.correction.spectrum import add_fastq_files, add_reads, expected_bases

    paths = as_paths(reads)
    if "-" in paths:
        raise SeqfcnError("this model counts the reads' k-mers in a first pass; give a file, not stdin "
                          "(or a spectrum from `seqfcn count` with --spectrum)")
    for p in paths:
        if not os.path.exists(p):
            raise SeqfcnError("no such file", path=p)
    feeds: list[Callable[[Any], bool]] = [lambda counter: add_reads(counter, _codes(paths, reference, phred))]
    if all(os.path.isfile(p) for p in paths):
        feeds.insert(0, lambda counter: add_fastq_files(counter, paths))
    return paths, feeds, sum(expected_bases(p) for p in paths)


def _first(feeds: list[Callable[[Any], bool]], count: Callable[[Callable[[Any], bool]], Any]) -> Any:
    """``count(feed)`` for the first feed that takes the input (not None)."""
    for feed in feeds:
        out = count(feed)
        if out is not None:
            return out
    raise SeqfcnError("no reader takes these reads")  # the strict reader raises first


def check_spectrum(table: KmerTable, k: int, reads: str | os.PathLike | Sequence[str | os.PathLike],
                   label: str) -> None:
    """Raise :class:`SeqfcnError` unless ``table`` (loaded from ``label``) has ``k`` and was
    counted from ``reads``: the same content fingerprints, whatever the files' names (R1 R2
    in either order). A spectrum without fingerprints (written by an older seqfcn) is
    refused: recount it. Stdin cannot be checked."""
    if table.k != k:
        raise SeqfcnError(f"the spectrum has k={table.k}, the model needs k={k}", path=label)
    if table.source != "reads":
        raise SeqfcnError("not a reads spectrum (a reference table); count the reads with `seqfcn count`",
                          path=label)
    if table.shard is not None:
        shard = table.shard
        raise SeqfcnError(f"is count shard {shard.get('index', -1) + 1}/{shard.get('count')}, only a share of the "
                          "k-mers: join every shard with `seqfcn merge` first", path=label)
    if "-" in as_paths(reads):
        return
    here = describe_inputs(reads)
    given = ", ".join(f"{p} (fingerprint {i['fingerprint']})" for p, i in zip(as_paths(reads), here))
    if not table.inputs or any("fingerprint" not in i for i in table.inputs):
        raise SeqfcnError(f"records no content fingerprint of the reads it was counted from (an older seqfcn), so it "
                          f"cannot be checked against {given}; recount with `seqfcn count`", path=label)
    if sorted(i["fingerprint"] for i in here) != sorted(str(i["fingerprint"]) for i in table.inputs):
        counted = ", ".join(f"{i.get('name')} (fingerprint {i['fingerprint']})" for i in table.inputs)
        raise SeqfcnError(f"the spectrum was counted from {counted}, not from {given}: other reads "
                          "(whatever their names and sizes); count these reads with `seqfcn count`", path=label)


def load_spectrum(path: str | os.PathLike) -> KmerTable:
    """A spectrum written by ``seqfcn count`` (:meth:`KmerTable.save`); errors name the file."""
    if not os.path.isfile(path):
        raise SeqfcnError("no such spectrum file", path=path)
    try:
        return KmerTable.load(path)
    except SeqfcnError as exc:
        raise SeqfcnError(exc.message, path=path) from None


def count_spectrum(reads: Sequence[str | os.PathLike], output: str | os.PathLike, *, k: int | None = None,
                   model: str | os.PathLike | None = None, reference: str | os.PathLike | None = None,
                   shard: tuple[int, int] | None = None, memory: int | None = None) -> dict:
    """Count the canonical k-mers of read files into the spectrum file ``output`` (``seqfcn count``;
    for ``seqfcn correct --spectrum``). ``k``: odd, 3..31 (default
    ``defaults.K_READS``); ``model``: take ``k`` from this reads-spectrum model instead;
    ``reference``: for CRAM input; ``shard``: 0-based ``(index, count)``, count only that share
    of the k-mers (``seqfcn merge`` joins the shards, :mod:`seqfcn.correction.count_shards`);
    ``memory``: bytes the count may hold (k <= 21: counted in passes, the file written a key
    range at a time, k-mers on disk under ``$TMPDIR``; the same file). Returns the file's meta
    (:meth:`KmerTable.meta`)."""
    k = k or defaults.K_READS
    if k % 2 == 0 or not 3 <= k <= 31:
        raise SeqfcnError(f"-k must be odd and in 3..31 (as a model's k), not {k}")
    if shard is not None:
        from seqfcn.correction.count_shards import shard_record

        shard_record(shard)  # refuse an impossible split before any work
    if model:
        from seqfcn.correction.model_files import load_corrector

        ev = load_corrector(model).evidence
        if ev is None or ev.source != "reads":
            raise SeqfcnError("not a reads-spectrum model (it needs no spectrum)", path=model)
        k = ev.k
    if "-" in [str(r) for r in reads] or str(output) == "-":
        raise SeqfcnError("seqfcn count reads files and writes a file: give paths, not -")
    if memory is None:
        table = count_reads(list(reads), k, reference=reference, shard=shard)
        table.save(output)
        return table.meta()
    return _count_capped(list(reads), output, k, reference=reference, shard=shard, memory=int(memory))


def _count_capped(reads: list[str | os.PathLike], output: str | os.PathLike, k: int, *,
                  reference: str | os.PathLike | None, shard: tuple[int, int] | None, memory: int) -> dict:
    """``seqfcn count --memory``: :func:`seqfcn.correction.spectrum_passes.count_to_file`; the file's meta."""
    from seqfcn.correction.count_shards import shard_record
    from seqfcn.correction.spectrum import compiled, packs
    from seqfcn.correction.spectrum_passes import count_to_file

    if not compiled() or not packs(k):
        raise SeqfcnError(f"--memory needs the compiled k-mer counter and k <= 21 (k is {k})")
    record = None if shard is None else shard_record(shard)
    paths, feeds, bases = _feeds(reads, reference, None)
    meta = {"source": "reads", "inputs": describe_inputs(paths), "shard": record}
    return _first(feeds, lambda feed: count_to_file(feed, k, output, expected_bases=bases, memory=memory,
                                                    meta=meta, partitions=None if record is None else record["parts"]))
