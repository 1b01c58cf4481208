"""Correct a read file: stream reads through a corrector and write exactly one read per read in.

:func:`correct_reads` streams reads (FASTQ/FASTA, plain or gzip, or SAM/BAM/CRAM;
``-`` is stdin) in bounded chunks through a read corrector (:mod:`.engine`) and
writes every read, in the same order, with the same name, comment, flags, mate
fields and tags (:mod:`.tags` for what changes in SAM/BAM records). Records
without a stored sequence (``*``, e.g. secondary alignments) pass through
unchanged. Reverse-strand records are corrected in stored (reference)
orientation; with strand averaging this equals correcting the read in sequencing
orientation. FASTQ input written as BAM becomes unmapped records with the FASTQ
comment in ``CO:Z``.

Two kinds of model: plain ones (5 input channels: one-hot + quality) that hold the
genome in their weights, and k-mer evidence models (:mod:`.evidence`) whose
evidence comes from the reads' own spectrum, counted in a first pass over the
input, or from a reference stored with the model. Evidence models run ``rounds``
passes, each on the previous pass's output. With a reads spectrum a compiled
spectrum walk (:func:`seqfcn.correction.spectrum.walk`: a Lighter-like walk out of
the solid k-mers with a quality-weighted lookahead over dense errors) goes first;
the network then runs only on the reads it leaves with a base that no solid k-mer
supports, its edits must make the k-mers solid (``solid``), and the walk goes once
more over those reads (:mod:`.chunks`). One FASTQ file to FASTQ takes the block path
(:mod:`.blocks`: the walk over whole blocks in C, Python objects only for the reads it
leaves weak), byte for byte the same output.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

from seqfcn.correction import defaults
from seqfcn.correction.evidence import as_paths, check_spectrum, count_reads
from seqfcn.correction.model_files import corrector_evidence, load_corrector
from seqfcn.correction.spectrum import compiled, solid_threshold
from seqfcn.errors import SeqfcnError
from seqfcn.runtime.options import resolve_options
from seqfcn.io.reads import Read, read_reads
from seqfcn.io.read_writers import format_from_name, open_read_writer

if TYPE_CHECKING:  # torch is imported once the spectrum is counted (correct_reads), not with this module
    from torch import nn

    from seqfcn.correction.edits import CorrectionStats
    from seqfcn.correction.engine import CorrectionEngine
    from seqfcn.correction.kmers import KmerTable

log = logging.getLogger("seqfcn.correction")

_CHUNK_READS = 8192  # reads held in memory at once (plus their batches)
_CHUNK_BASES = 1 << 23


@dataclass
class CorrectionOptions:
    """How :func:`correct_reads` corrects and writes.

    Attributes:
        min_confidence: change a base only when the posterior of the new call exceeds this.
        batch_size: ``"auto"`` or the most reads per batch (halved on out-of-memory).
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``.
        recalibrate: ``changed``, ``all`` or ``none`` (:mod:`seqfcn.correction.edits`).
        both_strands: average the posteriors of each read and its reverse complement.
        max_quality: cap of recalibrated qualities.
        rounds: passes of the model over each read (default
            :func:`seqfcn.correction.defaults.default_rounds`); 0 with solid checks: the
            spectrum walk and the indel pass alone (the network never runs).
        solid: reads-spectrum models: the solid k-mer count of
            :class:`~seqfcn.correction.engine.CorrectionEngine` (``"auto"``: the spectrum's
            valley, :func:`seqfcn.correction.spectrum.solid_threshold`; None: no checks).
        output_format: ``fastq``, ``fasta``, ``bam`` or ``sam`` (overrides the extension).
        reference: FASTA for CRAM input (and to update ``NM`` of records without ``MD``).
        phred: FASTQ quality offset of the input, 33 or 64 (default: detected); FASTQ
            output is written in the same encoding.
        shard: 0-based ``(index, count)``: correct and write only reads ``k`` with
            ``k % count == index`` (:func:`seqfcn.runtime.shard.shard_reads`; the k-mer spectrum is
            still counted over all reads, so the merged shards equal the unsharded output).
            Each shard file gets a manifest beside it (:func:`seqfcn.runtime.shard.write_read_manifest`:
            input fingerprints, ``i/n``, run fingerprint, read counts) that ``seqfcn merge`` checks.
        stats_path: write the summary as JSON here (else it is only logged).
        progress: a progress bar (reads) on stderr.
        pg: an @PG line for SAM/BAM output.
        spectrum: reads-spectrum models: use this spectrum (``seqfcn count``) instead of
            counting the input; its ``k`` and the files it was counted from must match (for
            stdin, which cannot be fingerprinted up front, the number of reads: checked once
            they are read, before anything is published).
        interleaved: the one input holds mate pairs (1, 2, 1, 2, ...): checked as it streams.
        indels: with solid checks, the longest insertion or deletion the indel pass fixes
            (:mod:`seqfcn.correction.indels`); 0: substitutions only. Reads with a CIGAR
            (aligned SAM/BAM) never change length.
        memory: reads-spectrum models counting the reads: bytes the counting pass may hold
            (:mod:`seqfcn.correction.spectrum_passes`: passes over the input, the same
            spectrum); None: one pass, no cap.
    """

    min_confidence: float = defaults.MIN_CONFIDENCE
    batch_size: int | str = "auto"
    device: str = "auto"
    recalibrate: str = defaults.RECALIBRATE
    both_strands: bool = True
    max_quality: int = defaults.MAX_QUALITY
    rounds: int | None = None
    solid: int | str | None = defaults.SOLID
    output_format: str | None = None
    reference: str | os.PathLike | None = None
    phred: int | None = None
    shard: tuple[int, int] | None = None
    stats_path: str | os.PathLike | None = None
    progress: bool = True
    pg: dict | None = None
    spectrum: str | os.PathLike | None = None
    interleaved: bool = False
    indels: int = defaults.INDEL_LENGTH
    memory: int | None = None


def correct_reads(
    reads_path: str | os.PathLike | Sequence[str | os.PathLike],
    model_path_or_model: str | os.PathLike | nn.Module,
    output_path: str | os.PathLike | Sequence[str | os.PathLike],
    options: CorrectionOptions | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Correct every read of ``reads_path`` and write them to ``output_path``.

    Args:
        reads_path: FASTQ/FASTA (optionally gzip) or SAM/BAM/CRAM; ``-`` for stdin; or
            two files of mates (R1, R2), corrected with one spectrum and written in step
            to two outputs with the same names, order and count.
        model_path_or_model: a model directory (or the directory ``seqfcn train --out``
            wrote), a model file, or a model.
        output_path: ``.fastq``/``.fq`` (optionally ``.gz``), ``.fa``, ``.bam`` or ``.sam``;
            ``-`` for stdout (format of the input unless ``output_format``); two paths
            for two inputs.
        options: :class:`CorrectionOptions`; ``overrides`` replace single fields
            (``correct_reads(r, m, o, min_confidence=0.5)``).

    Returns:
        The summary: ``reads``, ``bases_examined``, ``bases_changed``,
        ``bases_substituted``, ``bases_deleted``, ``n_replaced``, ``reads_corrected``,
        ``reads_passed_through``, ``batches``, ``oom_retries``, ``seconds``, ...

    Raises:
        SeqfcnError: unreadable or malformed input (naming the file and read), a
            model that is not a read corrector, bad options. No output file is
            left behind on an error.
    """
    opts = _options(options, overrides)
    inputs, outputs = _files(reads_path, "input"), _files(output_path, "output")
    _check_files(inputs, outputs, opts)
    evidence = corrector_evidence(model_path_or_model)
    rounds = defaults.default_rounds(None if evidence is None else evidence.edits) if opts.rounds is None \
        else int(opts.rounds)
    if rounds < 0:
        raise SeqfcnError(f"rounds must be >= 0, not {rounds}")
    if rounds == 0 and not (_wants_solid(opts.solid, evidence) and compiled()):
        raise SeqfcnError("--rounds 0 (no network) needs solid k-mer checks: a reads-spectrum model and --solid")
    table = None
    if evidence is not None and evidence.table is None:
        table = _reads_spectrum(inputs, evidence.k, opts)  # before the model: torch is not loaded yet
    elif opts.spectrum is not None:
        raise SeqfcnError("--spectrum is for models whose evidence is the reads' k-mer spectrum",
                          path=str(model_path_or_model) if isinstance(model_path_or_model, (str, os.PathLike))
                          else "model")
    from seqfcn.correction.engine import CorrectionEngine

    loaded = load_corrector(model_path_or_model)
    evidence = loaded.evidence if table is None else loaded.evidence.with_table(table)
    corrector = CorrectionEngine(loaded.model, device=opts.device, min_confidence=opts.min_confidence,
                                 batch_size=opts.batch_size, both_strands=opts.both_strands,
                                 max_quality=opts.max_quality, evidence=evidence,
                                 solid=_solid(opts.solid, evidence), windows=opts.recalibrate != "all",
                                 indels=opts.indels)
    t0 = time.monotonic()
    run = _run_fingerprint(loaded, opts, rounds) if opts.shard is not None else ""
    stats = _stream(inputs, outputs, corrector, opts, rounds, run)
    if opts.shard is None:
        from seqfcn.runtime.shard import remove_manifest

        for out in outputs:  # an unsharded file replaced a shard: its old manifest no longer applies
            remove_manifest(out)
    stats.batches = corrector.batches
    stats.oom_retries = corrector.oom_retries
    stats.final_batch_limit = corrector.max_reads
    stats.extra.update(
        seconds=round(time.monotonic() - t0, 3), model=loaded.label, device=str(corrector.device),
        min_confidence=opts.min_confidence, recalibrate=opts.recalibrate, both_strands=corrector.both_strands,
        rounds=rounds, solid=corrector.solid, edits_vetoed=corrector.vetoed, spectrum_edits=corrector.spectrum_edits,
        indel_edits=corrector.indel_edits,
        bases_through_network=corrector.bases_run,
        input=inputs[0] if len(inputs) == 1 else inputs, output=outputs[0] if len(outputs) == 1 else outputs,
        shard=None if opts.shard is None else f"{opts.shard[0] + 1}/{opts.shard[1]}",
    )
    result = stats.as_dict()
    log.info("corrected %d reads: %d bases examined, %d changed (%d substituted, %d deleted, %d inserted) in %.1f s",
             stats.reads, stats.bases_examined, stats.bases_changed, stats.bases_substituted,
             stats.bases_deleted, stats.bases_inserted, result["seconds"])
    if opts.stats_path is not None:
        from seqfcn.io.atomic import write_json

        write_json(result, opts.stats_path)
    return result


def _reads_spectrum(inputs: list[str], k: int, opts: CorrectionOptions) -> KmerTable:
    """The reads' spectrum a reads-spectrum model needs, compacted (counts exact up to an
    explicit ``solid``): ``opts.spectrum`` (a file from ``seqfcn count``), checked against the
    reads, or counted from them."""
    cap = int(opts.solid) if str(opts.solid).isdigit() else 0
    if opts.spectrum is None:
        return count_reads(inputs, k, reference=opts.reference, phred=opts.phred, compact=cap, memory=opts.memory)
    from seqfcn.correction.spectrum_files import SpectrumReader, load_compact

    if opts.memory is not None:
        log.warning("--memory caps the counting pass; with --spectrum there is none, so it is not used")
    with SpectrumReader(opts.spectrum) as reader:  # checked before the k-mers are read
        check_spectrum(reader.header(), k, inputs, str(opts.spectrum))
        return load_compact(opts.spectrum, reader, min_cap=cap)


def _options(options: CorrectionOptions | None, overrides: dict[str, Any]) -> CorrectionOptions:
    """``options`` (default: the defaults) with ``overrides`` applied and checked."""
    opts = dataclasses.replace(resolve_options(CorrectionOptions, options, overrides, "correct_reads"))
    if opts.recalibrate not in defaults.RECALIBRATE_MODES:
        raise SeqfcnError(f"recalibrate must be one of {defaults.RECALIBRATE_MODES}, not {opts.recalibrate!r}")
    return opts


def _run_fingerprint(loaded: Any, opts: CorrectionOptions, rounds: int) -> str:
    """What decides a sharded correction's output besides the reads: the model's weights and
    the options (:func:`seqfcn.runtime.shard.run_fingerprint`; not the device, batch size or paths)."""
    import hashlib

    from seqfcn.runtime.shard import run_fingerprint

    digest = hashlib.sha256()
    for name, tensor in loaded.model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().float().numpy().tobytes())
    return run_fingerprint(
        model=digest.hexdigest()[:16], evidence=None if loaded.evidence is None else loaded.evidence.to_dict(),
        min_confidence=opts.min_confidence, recalibrate=opts.recalibrate, both_strands=opts.both_strands,
        max_quality=opts.max_quality, rounds=rounds, solid=opts.solid, output_format=opts.output_format,
        reference=opts.reference, phred=opts.phred, interleaved=opts.interleaved,
        indels=opts.indels)


def _wants_solid(solid: int | str | None, evidence: Any) -> bool:
    """Whether solid k-mer checks are asked for and apply: a reads-spectrum model and ``solid`` set."""
    return evidence is not None and evidence.source == "reads" and solid is not None


def _solid(solid: int | str | None, evidence: Any) -> int | None:
    """The solid k-mer count to use (None: no checks, and always for non-reads evidence)."""
    if not _wants_solid(solid, evidence):
        return None
    if not compiled():
        log.warning("the compiled k-mer kernels are not built: no solid k-mer checks (the model alone decides)")
        return None

    if solid == "auto":
        solid = solid_threshold(evidence.table)
        log.info("k-mers counted %d times or more are solid", solid)
    return int(solid)


def _files(paths: str | os.PathLike | Sequence[str | os.PathLike], what: str) -> list[str]:
    files = as_paths(paths)
    if not 1 <= len(files) <= 2:
        raise SeqfcnError(f"give one {what} file, or two for paired reads (R1 and R2), not {len(files)}")
    return files


def _check_files(inputs: list[str], outputs: list[str], opts: CorrectionOptions) -> None:
    if len(outputs) != len(inputs):
        raise SeqfcnError(f"{len(inputs)} input file(s) need {len(inputs)} output file(s), not {len(outputs)}")
    if len(inputs) == 2 and opts.interleaved:
        raise SeqfcnError("--interleaved is for one file holding both mates, not two files")
    if len(inputs) == 2 and "-" in inputs + outputs:
        raise SeqfcnError("paired files cannot be read from stdin or written to stdout")
    if len(inputs) == 2 and os.path.abspath(inputs[0]) == os.path.abspath(inputs[1]):
        raise SeqfcnError("R1 and R2 are the same file", path=inputs[1])
    for out in outputs:
        if out != "-" and any(i != "-" and os.path.abspath(out) == os.path.abspath(i) for i in inputs):
            raise SeqfcnError("the output would overwrite the input", path=out)
    if len(outputs) == 2 and os.path.abspath(outputs[0]) == os.path.abspath(outputs[1]):
        raise SeqfcnError("the two outputs are the same file", path=outputs[0])


def _stream(inputs: list[str], outputs: list[str], corrector: CorrectionEngine, opts: CorrectionOptions,
            rounds: int, run: str = "") -> CorrectionStats:
    """Read, correct and write every read, mates in step (atomically: no output is left on an error).
    A shard (``opts.shard``) also gets its manifests, proving which input, shard and ``run`` it is."""
    from seqfcn.correction.chunks import correct_chunk
    from seqfcn.correction.edits import CorrectionStats

    from seqfcn.io.pairs import interleaved, paired

    streams = [read_reads(p, reference=opts.reference, phred=opts.phred) for p in inputs]
    if _blocks_apply(inputs, outputs, corrector, opts, streams):
        stats = _stream_blocks(inputs[0], outputs[0], corrector, opts, rounds, streams[0].phred)
        if stats is not None:
            return stats
    stats = CorrectionStats()
    sources: list[Iterable[Read]] = list(streams)
    stdin = _StdinCheck(corrector, opts) if inputs == ["-"] and opts.spectrum is not None else None
    if stdin is not None:
        sources = [stdin.count(streams[0])]
    if opts.interleaved:
        sources = [interleaved(sources[0], inputs[0])]
    groups: Iterable[tuple[Read, ...]] = paired(sources, inputs)
    tally = _Tally(inputs) if opts.shard is not None else None
    if tally is not None:
        from seqfcn.runtime.shard import shard_reads

        groups = shard_reads(tally.count(groups), *opts.shard)
    total = getattr(corrector.evidence.table, "reads", None) if corrector.evidence is not None else None
    if total is not None and opts.shard is not None:
        total = len(range(opts.shard[0], total // len(inputs), opts.shard[1])) * len(inputs)
    bar = _progress(opts, total)
    writers: list[Any] = []
    written = 0  # read groups (reads, pairs)
    try:
        for chunk in chunks(groups):
            if not writers:
                for out, label, first, stream in zip(outputs, inputs, chunk[0], streams):
                    writers.append(_open_writer(out, opts, label, first, stream.phred))
            reads = [read for group in chunk for read in group]  # every mate corrected in one set of batches
            correct_chunk(reads, corrector, stats, opts.recalibrate, rounds)
            for group in chunk:
                for writer, read in zip(writers, group):
                    writer.write(read)
            written += len(chunk)
            bar.update(len(reads))
        if not writers:
            for out, label, stream in zip(outputs, inputs, streams):
                writers.append(_open_writer(out, opts, label, None, stream.phred))
        if stdin is not None:
            stdin.check()  # before anything is published
        while writers:  # a writer that fails to finish leaves the others unpublished
            writers[0].close()
            writers.pop(0)
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    finally:
        bar.close()
    if tally is not None and opts.shard is not None:
        tally.write_manifests(outputs, opts.shard, run, written)
    return stats


class _StdinCheck:
    """A spectrum file cannot be fingerprinted against stdin before the reads are read, so
    they are counted as they pass and must number what the spectrum was counted from
    (``seqfcn count`` records it); otherwise the run fails and publishes nothing."""

    def __init__(self, corrector: CorrectionEngine, opts: CorrectionOptions) -> None:
        self.expected = getattr(corrector.evidence.table, "reads", None) if corrector.evidence is not None else None
        self.label = str(opts.spectrum)
        self.seen = 0

    def count(self, reads: Iterable[Read]) -> Iterator[Read]:
        for read in reads:
            self.seen += 1
            yield read

    def check(self) -> None:
        if self.expected is not None and self.seen != int(self.expected):
            raise SeqfcnError(f"was counted from {int(self.expected):,} reads, stdin held {self.seen:,}: other reads; "
                              "count these reads with `seqfcn count` (nothing was written)", path=self.label)


class _Tally:
    """Counts the read groups of a sharded run's whole input (and hashes them when it is
    stdin), then writes each shard output's manifest (:func:`seqfcn.runtime.shard.write_read_manifest`)."""

    def __init__(self, inputs: list[str]) -> None:
        from seqfcn.io.fingerprint import RecordHasher, file_fingerprint

        self.total = 0
        self.hasher = RecordHasher() if "-" in inputs else None
        self.fingerprints = [None if p == "-" else file_fingerprint(p) for p in inputs]

    def count(self, groups: Iterable[tuple[Read, ...]]) -> Iterator[tuple[Read, ...]]:
        """``groups`` as they are, counted (and hashed) as they pass."""
        for group in groups:
            self.total += 1
            if self.hasher is not None:
                for read in group:
                    self.hasher.update(read.name, read.comment, read.sequence,
                                       None if read.qualities is None else read.qualities.tobytes())
            yield group

    def write_manifests(self, outputs: list[str], shard: tuple[int, int], run: str, reads: int) -> None:
        """One manifest per output; on failure the shard outputs are removed too."""
        from seqfcn.runtime.shard import ReadShardManifest, write_read_manifest

        inputs = tuple(f if f is not None else f"stdin:{self.hasher.hexdigest()}"  # type: ignore[union-attr]
                       for f in self.fingerprints)
        try:
            for mate, out in enumerate(outputs):
                write_read_manifest(out, ReadShardManifest(shard[0], shard[1], run, inputs, mate, self.total, reads))
        except BaseException:
            from seqfcn.runtime.shard import remove_manifest

            for out in outputs:
                if out != "-":
                    remove_manifest(out)
                    if os.path.exists(out):
                        os.unlink(out)
            raise


_COUNTERS = ("oom_retries", "batches", "vetoed", "spectrum_edits", "bases_run")
"""The :class:`CorrectionEngine` counts a run reports (restored when the block path gives up)."""


def _blocks_apply(inputs: list[str], outputs: list[str], corrector: CorrectionEngine, opts: CorrectionOptions,
                  streams: list[Any]) -> bool:
    """Whether :mod:`.blocks` may correct this run: one FASTQ file (not stdin) to FASTQ,
    solid checks, no shard or interleaved pairs."""
    if len(inputs) != 1 or inputs[0] == "-" or opts.shard is not None or opts.interleaved:
        return False
    if corrector.solid is None or streams[0].fmt != "fastq":
        return False
    return _output_format(outputs[0], opts, "fastq") == "fastq"


def _progress(opts: CorrectionOptions, total: int | None) -> Any:
    """The progress bar of a run (reads, on stderr; disabled without ``opts.progress``)."""
    from tqdm.auto import tqdm

    return tqdm(disable=not opts.progress, unit=" reads", file=sys.stderr, desc="correct", dynamic_ncols=True,
                unit_scale=True, total=total)


def _stream_blocks(path: str, output: str, corrector: CorrectionEngine, opts: CorrectionOptions, rounds: int,
                   phred: int | None) -> CorrectionStats | None:
    """:func:`seqfcn.correction.blocks.correct_file` into ``output``; None (nothing written, the
    corrector's counts as they were) when the file holds a record it leaves to the strict path."""
    from seqfcn.correction.blocks import NotCanonical, correct_file
    from seqfcn.correction.edits import CorrectionStats

    saved = {name: getattr(corrector, name) for name in _COUNTERS}
    stats = CorrectionStats()
    phred = phred or 33
    writer = open_read_writer(output, _UNALIGNED_HEADER, "fastq", pg=opts.pg, phred=phred)
    bar = _progress(opts, getattr(corrector.evidence.table, "reads", None))
    try:
        correct_file(path, writer, corrector, stats, opts.recalibrate, rounds, phred, bar.update)
        writer.close()
    except NotCanonical as why:
        writer.abort()
        log.info("%s: %s; reading it record by record", path, why)
        for name, value in saved.items():
            setattr(corrector, name, value)
        return None
    except BaseException:
        writer.abort()
        raise
    finally:
        bar.close()
    return stats


def chunks(groups: Iterable[tuple[Read, ...]]) -> Iterator[list[tuple[Read, ...]]]:
    """Lists of read groups (a read and its mates) bounded in reads and bases."""
    chunk: list[tuple[Read, ...]] = []
    reads = bases = 0
    for group in groups:
        chunk.append(group)
        reads += len(group)
        bases += len(group[0].sequence) * len(group)  # mates are about as long
        if reads >= _CHUNK_READS or bases >= _CHUNK_BASES:
            yield chunk
            chunk, reads, bases = [], 0, 0
    if chunk:
        yield chunk


def _open_writer(output: str, opts: CorrectionOptions, reads_label: str, first: Read | None, phred: int | None):
    """A writer for ``output``. SAM/BAM output copies the input's header (taken from the first
    record, so stdin works); without an extension or ``output_format`` the input's kind is kept."""
    phred = phred or 33
    if first is None and reads_label != "-":  # empty input file: its own format decides
        return open_read_writer(output, reads_label, opts.output_format, pg=opts.pg, phred=phred)
    if first is not None and first.segment is not None:
        like: Any = first.segment.header.to_dict()
        kind = "bam"
    else:
        like = _UNALIGNED_HEADER
        kind = "fasta" if first is not None and first.qualities is None else "fastq"
    return open_read_writer(output, like, _output_format(output, opts, kind), pg=opts.pg, phred=phred)


_UNALIGNED_HEADER = {"HD": {"VN": "1.6", "SO": "unknown"}}
"""The SAM header of reads from FASTQ/FASTA."""


def _output_format(output: str, opts: CorrectionOptions, kind: str) -> str:
    """What ``output`` is written as: ``opts.output_format``, else the format its name says,
    else (stdout, no extension, or a CRAM name) the input's ``kind``."""
    if opts.output_format:
        return opts.output_format.lower()
    named = None if output == "-" else format_from_name(output)
    return named if named not in (None, "cram") else kind


def program_record(argv: Sequence[str]) -> dict[str, str]:
    """The ``@PG`` header record of a correction run started as ``seqfcn ARGV...`` (``argv``
    without the program name; a ``--shard`` option left out, so shards merge to the
    unsharded header): ``ID``, ``PN``, ``VN`` and the command line ``CL``."""
    from seqfcn import __version__
    from seqfcn.runtime.shard import strip_shard_argument

    command = strip_shard_argument(" ".join(["seqfcn", *argv]))
    return {"ID": "seqfcn", "PN": "seqfcn", "VN": __version__, "CL": command}
