"""How well a read corrector worked: edit distances, base-level TP/FP/FN, gain and error rates.

Two sources of truth:

* **simulated truth** (:func:`evaluate_with_truth`): the error-free version of each
  read, matched by read name — a FASTA/FASTQ of true reads, or the SAM/BAM that
  ``art_illumina -sam -ef`` writes (``*_errFree.sam``; reverse-strand records are
  reverse-complemented back to read orientation).
* **a reference** (:func:`evaluate_with_reference`): original and corrected reads
  are aligned (``bwa mem`` for short reads, ``minimap2`` for long reads) and the
  edit distance per aligned base is compared; for reads whose correction kept
  their length, the reference base under each base of the original alignment
  serves as the truth for TP/FP/FN as well.

Counting convention (that of Lighter's evaluation of simulated reads, Song et
al. 2014, which follows Yang et al. 2013), per base of a read whose original,
corrected and true versions have equal length, ignoring positions where the
truth is not A/C/G/T:

* TP: wrong before, equal to the truth after (error fixed);
* FP: right before, wrong after (error introduced);
* FN: wrong before, still wrong after — including "wrong fixes", changed to a
  different wrong base (also reported on their own as ``wrong_fix``);
* gain = (TP − FP) / (TP + FN); sensitivity = TP / (TP + FN);
  precision = TP / (TP + FP + wrong_fix) (every edit at an error or a correct base).

With this convention errors after = FP + FN and gain = 1 − errors after / errors before.

Against simulated truth every read is also scored by **edit distance**
(:func:`edit_metrics`; substitutions, insertions and deletions alike, computed with
`edlib <https://pypi.org/project/edlib/>`_; case is ignored, any other character, ``N``
included, is a base like any other): per read the distance of the original and of the
corrected read to the true read, summed into ``edits_before`` and ``edits_after`` (the
residual edits), ``edit_reduction`` = 1 − after / before, and the reads made better
(fewer edits), worse (more), unchanged (as many) and exact (none) before and after.
Reads may differ in length (indels); the base-level TP/FP/FN above count only the reads
whose three versions have equal length (``base_level_reads``).
"""
from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from seqfcn.sequence.encode import as_byte_array, reverse_complement
from seqfcn.io.atomic import write_json
from seqfcn.errors import InputFormatError, SeqfcnError

log = logging.getLogger("seqfcn")

_UPPER = np.arange(256, dtype=np.uint8)
_UPPER[ord("a"):ord("z") + 1] -= 32
_IS_ACGT = np.zeros(256, bool)
_IS_ACGT[[ord(c) for c in "ACGT"]] = True

TABLE_ROWS = (
    ("reads", "reads compared"),
    ("bases", "bases compared"),
    ("errors_before", "errors before"),
    ("errors_after", "errors after"),
    ("error_rate_before", "error rate before"),
    ("error_rate_after", "error rate after"),
    ("TP", "TP (errors fixed)"),
    ("FP", "FP (errors introduced)"),
    ("FN", "FN (errors missed)"),
    ("wrong_fix", "  of FN: changed to another wrong base"),
    ("sensitivity", "sensitivity TP/(TP+FN)"),
    ("precision", "precision"),
    ("gain", "gain (TP-FP)/(TP+FN)"),
    ("reads_with_errors_before", "reads with errors before"),
    ("reads_with_errors_after", "reads with errors after"),
)


_EDIT_ROWS = (
    ("edits_before", "edits before (edit distance to truth)"),
    ("edits_after", "edits after (residual)"),
    ("edit_reduction", "edit reduction 1-after/before"),
    ("reads_improved", "reads made better (fewer edits)"),
    ("reads_worsened", "reads made worse (more edits)"),
    ("reads_unchanged", "reads with as many edits"),
    ("reads_exact_before", "reads exact before"),
    ("reads_exact_after", "reads exact after"),
    ("base_level_reads", "reads used for TP/FP/FN (same length)"),
)


def _ratio(a: float, b: float) -> float | None:
    return None if b == 0 else float(a) / float(b)


def _edlib() -> Any:
    """The edlib module, or a one-line error saying how to install it."""
    try:
        import edlib
    except ImportError:
        raise SeqfcnError("scoring by edit distance needs edlib, which is not installed: pip install edlib") from None
    return edlib


def edit_distance(a: str | bytes | np.ndarray, b: str | bytes | np.ndarray) -> int:
    """Levenshtein distance of two sequences (substitutions, insertions and deletions cost 1;
    case is ignored), computed with edlib."""
    x = _UPPER[as_byte_array(a)].tobytes()
    y = _UPPER[as_byte_array(b)].tobytes()
    if x == y:
        return 0
    if not x or not y:
        return max(len(x), len(y))
    return int(_edlib().align(x.decode("latin-1"), y.decode("latin-1"), mode="NW", task="distance")["editDistance"])


def edit_metrics(
    original: Sequence[str | bytes | np.ndarray],
    corrected: Sequence[str | bytes | np.ndarray],
    truth: Sequence[str | bytes | np.ndarray],
) -> dict[str, Any]:
    """Edit-distance metrics of reads against their true sequences (lengths may differ).

    Args:
        original, corrected, truth: one sequence per read, read ``i`` of each describing
            the same molecule.

    Returns:
        dict with ``edits_before`` and ``edits_after`` (sums over the reads of the edit
        distance of the original and the corrected read to the true read),
        ``edit_reduction`` (1 − after / before; None when nothing was wrong), and the reads
        ``reads_improved`` (fewer edits after), ``reads_worsened`` (more),
        ``reads_unchanged`` (as many), ``reads_exact_before`` and ``reads_exact_after``
        (no edit).
    """
    if not (len(original) == len(corrected) == len(truth)):
        raise SeqfcnError(
            f"got {len(original)} original, {len(corrected)} corrected and {len(truth)} true reads"
        )
    before = np.array([edit_distance(o, t) for o, t in zip(original, truth)], dtype=np.int64)
    after = np.array([edit_distance(c, t) for c, t in zip(corrected, truth)], dtype=np.int64)
    edits_before, edits_after = int(before.sum()), int(after.sum())
    return {
        "edits_before": edits_before,
        "edits_after": edits_after,
        "edit_reduction": None if edits_before == 0 else 1.0 - edits_after / edits_before,
        "reads_improved": int(np.count_nonzero(after < before)),
        "reads_worsened": int(np.count_nonzero(after > before)),
        "reads_unchanged": int(np.count_nonzero(after == before)),
        "reads_exact_before": int(np.count_nonzero(before == 0)),
        "reads_exact_after": int(np.count_nonzero(after == 0)),
    }


def correction_metrics(
    original: Sequence[str | bytes | np.ndarray],
    corrected: Sequence[str | bytes | np.ndarray],
    truth: Sequence[str | bytes | np.ndarray],
    names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Base-level correction metrics of reads against their true sequences.

    Args:
        original, corrected, truth: one sequence per read (text, bytes or ASCII
            arrays), read ``i`` of each describing the same molecule; case is ignored.
        names: read names, used in error messages.

    Returns:
        dict with ``reads``, ``bases`` (positions whose truth is A/C/G/T),
        ``errors_before``, ``errors_after``, ``error_rate_before``, ``error_rate_after``,
        ``TP``, ``FP``, ``FN``, ``wrong_fix``, ``sensitivity``, ``precision``, ``gain``,
        ``reads_with_errors_before``, ``reads_with_errors_after`` (see the module
        docstring for the convention). Rates are None when undefined.

    Raises:
        SeqfcnError: the three versions of a read differ in length (naming the read).
    """
    if not (len(original) == len(corrected) == len(truth)):
        raise SeqfcnError(
            f"got {len(original)} original, {len(corrected)} corrected and {len(truth)} true reads"
        )
    parts: list[list[np.ndarray]] = [[], [], []]
    for i, seqs in enumerate(zip(original, corrected, truth)):
        arrays = [as_byte_array(s) for s in seqs]
        if len({a.shape[0] for a in arrays}) > 1:
            name = names[i] if names is not None else f"#{i}"
            raise SeqfcnError(
                f"lengths differ (original {arrays[0].shape[0]}, corrected {arrays[1].shape[0]}, "
                f"truth {arrays[2].shape[0]}); base-level metrics need substitution-only reads "
                "(simulate without indels, e.g. art_illumina -ir 0 -dr 0, or use --reference)",
                record=name,
            )
        for p, a in zip(parts, arrays):
            p.append(a)
    n_reads = len(parts[0])
    lengths = np.array([a.shape[0] for a in parts[0]], dtype=np.int64)
    orig, corr, true = (
        _UPPER[np.concatenate(p)] if p else np.zeros(0, np.uint8) for p in parts
    )
    valid = _IS_ACGT[true]
    before = (orig != true) & valid
    after = (corr != true) & valid
    changed = orig != corr
    tp = int(np.count_nonzero(before & ~after))
    fp = int(np.count_nonzero(~before & after))
    fn = int(np.count_nonzero(before & after))
    wrong_fix = int(np.count_nonzero(before & after & changed))
    bases = int(np.count_nonzero(valid))
    read_of = np.repeat(np.arange(n_reads), lengths)
    reads_before = int(np.unique(read_of[before]).shape[0])
    reads_after = int(np.unique(read_of[after]).shape[0])
    return {
        "reads": n_reads,
        "bases": bases,
        "errors_before": tp + fn,
        "errors_after": fp + fn,
        "error_rate_before": _ratio(tp + fn, bases),
        "error_rate_after": _ratio(fp + fn, bases),
        "TP": tp,
        "FP": fp,
        "FN": fn,
        "wrong_fix": wrong_fix,
        "sensitivity": _ratio(tp, tp + fn),
        "precision": _ratio(tp, tp + fp + wrong_fix),
        "gain": _ratio(tp - fp, tp + fn),
        "reads_with_errors_before": reads_before,
        "reads_with_errors_after": reads_after,
    }


# ----------------------------------------------------------------------------- reading reads
def _mate_suffix(segment: Any) -> str:
    if segment is not None and segment.is_paired:
        return "/1" if segment.is_read1 else "/2"
    return ""


def _load_reads(path: str | Path, *, oriented: bool = False) -> dict[str, str]:
    """Read name → sequence, in file order. With ``oriented``, SAM/BAM records on
    the reverse strand are reverse-complemented back to the sequenced strand and
    paired records get ``/1`` or ``/2`` appended to their name.
    Raises SeqfcnError on a duplicate name.
    """
    from seqfcn.io.reads import read_reads

    out: dict[str, str] = {}
    for read in read_reads(path):
        seq = read.sequence
        name = read.name
        segment = getattr(read, "segment", None)
        if oriented and segment is not None:
            if segment.is_secondary or segment.is_supplementary:
                continue
            if segment.is_reverse:
                seq = reverse_complement(seq)
            name += _mate_suffix(segment)
        if name in out:
            raise InputFormatError("read name appears twice", path=path, record=name)
        out[name] = seq
    return out


def _lookup(table: dict[str, str], name: str, path: str | Path, what: str) -> str:
    if name in table:
        return table[name]
    for suffix in ("/1", "/2"):  # FASTQ names often carry the mate, SAM names never
        if name.endswith(suffix) and name[:-2] in table:
            return table[name[:-2]]
    raise SeqfcnError(f"read is missing from the {what} reads", path=path, record=name)


def evaluate_with_truth(
    original: str | Path, corrected: str | Path, truth: str | Path
) -> dict[str, Any]:
    """:func:`edit_metrics` and :func:`correction_metrics` for reads in files, the truth matched by read name.

    Every read of ``original`` is scored by edit distance; the base-level TP/FP/FN count
    the reads whose original, corrected and true versions have equal length
    (``base_level_reads``; ``reads`` counts all).

    Args:
        original: FASTQ/FASTA/BAM of the reads before correction.
        corrected: the corrected reads (any order; names as in ``original``).
        truth: true reads — FASTA/FASTQ in read orientation, or SAM/BAM such as
            ``art_illumina -ef``'s ``*_errFree.sam`` (reverse-strand records are flipped back).

    Raises:
        SeqfcnError: a read of ``original`` missing from ``corrected`` or ``truth``, a
            corrected read not among the originals, or a name given twice, naming the read.
    """
    orig = _load_reads(original)
    corr = _load_reads(corrected)
    true = _load_reads(truth, oriented=True)
    names = list(orig)
    extra = [n for n in corr if n not in orig]
    if extra:
        raise SeqfcnError("corrected read is not among the original reads", path=corrected, record=extra[0])
    before = [orig[n] for n in names]
    after = [_lookup(corr, n, corrected, "corrected") for n in names]
    true_seqs = [_lookup(true, n, truth, "true") for n in names]
    same = [i for i, seqs in enumerate(zip(before, after, true_seqs)) if len({len(s) for s in seqs}) == 1]
    base = correction_metrics([before[i] for i in same], [after[i] for i in same], [true_seqs[i] for i in same],
                              names=[names[i] for i in same])
    return {"reads": len(names), **{k: v for k, v in base.items() if k != "reads"},
            **edit_metrics(before, after, true_seqs), "base_level_reads": len(same), "mode": "truth"}


# ----------------------------------------------------------------------------- alignment
ALIGNERS = ("auto", "bwa", "minimap2")


def _need(tool: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        raise SeqfcnError(f"{tool} is not installed (not found on PATH); install it or choose another --aligner")
    return exe


def _run(cmd: list[str], stdout: Any) -> None:
    log.debug("running %s", " ".join(cmd))
    proc = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, text=False)
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise SeqfcnError(f"{Path(cmd[0]).name} failed (exit {proc.returncode}): {msg[-1] if msg else ''}")


def _mean_length(path: str | Path, limit: int = 1000) -> float:
    from seqfcn.io.reads import read_reads

    total = n = 0
    for read in read_reads(path):
        total += len(read.sequence)
        n += 1
        if n >= limit:
            break
    return total / n if n else 0.0


def align_reads(
    reads: str | Path,
    reference: str | Path,
    out_sam: str | Path,
    *,
    aligner: str = "auto",
    threads: int = 1,
    index_dir: str | Path | None = None,
) -> str:
    """Align reads to ``reference`` with ``bwa mem`` or ``minimap2``; write SAM to ``out_sam``.

    ``aligner="auto"`` picks bwa for reads shorter than 320 bp on average (minimap2
    ``-x sr`` when bwa is missing) and minimap2 ``-x map-ont`` otherwise. bwa runs
    ``bwa aln`` + ``samse`` for reads under 70 bp on average (``bwa mem`` needs a
    19-base exact seed, so it leaves many short reads with an error unmapped) and
    ``bwa mem`` for longer ones. bwa's index
    is built in ``index_dir`` (a temporary folder) so nothing is written beside the
    reference. Returns the aligner used.
    """
    if aligner not in ALIGNERS:
        raise SeqfcnError(f"unknown aligner {aligner!r}; expected one of {ALIGNERS}")
    mean_length = _mean_length(reads)
    long_reads = mean_length >= 320  # longer than any Illumina read
    if aligner == "auto":
        aligner = "minimap2" if long_reads or shutil.which("bwa") is None else "bwa"
    with open(out_sam, "wb") as fh:
        if aligner == "bwa":
            bwa = _need("bwa")
            if index_dir is None:
                raise ValueError("bwa needs an index_dir")
            prefix = Path(index_dir) / "ref"
            if not Path(f"{prefix}.bwt").exists():
                _run([bwa, "index", "-p", str(prefix), str(reference)], subprocess.DEVNULL)
            if mean_length < 70:  # bwa mem needs a 19-mer seed; bwa aln suits short reads
                sai = Path(index_dir) / (Path(reads).name + ".sai")
                with open(sai, "wb") as sai_fh:
                    _run([bwa, "aln", "-t", str(threads), str(prefix), str(reads)], sai_fh)
                _run([bwa, "samse", str(prefix), str(sai), str(reads)], fh)
            else:
                _run([bwa, "mem", "-t", str(threads), str(prefix), str(reads)], fh)
        else:
            mm2 = _need("minimap2")
            preset = "map-ont" if long_reads else "sr"
            _run([mm2, "-a", "--eqx", "-x", preset, "-t", str(threads), str(reference), str(reads)], fh)
    return aligner


def _alignment_table(sam: str | Path, reference: str | Path) -> dict[str, dict[str, Any]]:
    """Primary alignments by read name (with /1, /2 for mates): edits, aligned
    length, and, in read orientation, the read and the reference base under
    each read base (``-`` inserted, ``.`` clipped)."""
    from seqfcn.io.reads import read_reads

    table: dict[str, dict[str, Any]] = {}
    for read in read_reads(sam, reference=reference):
        seg = read.segment
        if seg.is_secondary or seg.is_supplementary:
            continue
        name = read.name
        if seg.is_unmapped:
            table[name] = {"mapped": False}
            continue
        cig = seg.get_cigar_stats()[0]  # M I D N S H P = X
        aligned = int(cig[0] + cig[1] + cig[7] + cig[8])
        edits = int(seg.get_tag("NM")) if seg.has_tag("NM") else int(cig[1] + cig[2] + cig[8])
        seq, ref = read.sequence, read.ref_bases
        if seg.is_reverse:
            seq = reverse_complement(seq)
            ref = reverse_complement(ref)
        table[name] = {"mapped": True, "edits": edits, "aligned": aligned, "seq": seq, "ref": ref}
    return table


def alignment_metrics(original: dict[str, dict[str, Any]], corrected: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Compare two alignment tables (from the same reads before and after correction).

    Error rate = edits (NM: mismatches + inserted + deleted bases) / aligned read
    bases, over reads aligned in both. Base-level TP/FP/FN use, for reads mapped in
    both whose length did not change, the reference base under each base of the
    *original* alignment as the truth (inserted and clipped bases are skipped).
    """
    both = [n for n, a in original.items() if a["mapped"] and corrected.get(n, {}).get("mapped")]
    edits_before = sum(original[n]["edits"] for n in both)
    edits_after = sum(corrected[n]["edits"] for n in both)
    aligned_before = sum(original[n]["aligned"] for n in both)
    aligned_after = sum(corrected[n]["aligned"] for n in both)
    improved = sum(corrected[n]["edits"] < original[n]["edits"] for n in both)
    worsened = sum(corrected[n]["edits"] > original[n]["edits"] for n in both)
    same_length = [n for n in both if len(corrected[n]["seq"]) == len(original[n]["seq"])]
    truth = [original[n]["ref"] for n in same_length]
    base = correction_metrics(
        [original[n]["seq"] for n in same_length],
        [corrected[n]["seq"] for n in same_length],
        truth,
        names=same_length,
    )
    rate_before = _ratio(edits_before, aligned_before)
    rate_after = _ratio(edits_after, aligned_after)
    return {
        "mode": "reference",
        "reads": len(original),
        "reads_mapped_before": sum(a["mapped"] for a in original.values()),
        "reads_mapped_after": sum(a["mapped"] for a in corrected.values()),
        "reads_aligned_both": len(both),
        "edits_before": edits_before,
        "edits_after": edits_after,
        "aligned_bases_before": aligned_before,
        "aligned_bases_after": aligned_after,
        "alignment_error_rate_before": rate_before,
        "alignment_error_rate_after": rate_after,
        "error_rate_reduction": None if not rate_before or rate_after is None else 1 - rate_after / rate_before,
        "reads_improved": improved,
        "reads_worsened": worsened,
        "base_level_reads": len(same_length),
        **{k: v for k, v in base.items() if k != "reads"},
    }


def _write_indexed(
    path: str | Path, out: Path, index: dict[str, int] | None, what: str
) -> tuple[list[str], int]:
    """Copy reads to FASTA ``out`` named by their number, in read orientation.

    With ``index`` None the reads are numbered in file order (and their names
    returned); otherwise each takes the number of its name in ``index`` (a name
    not there is an error). Aligners such as bwa mem cut ``/1``/``/2`` from names;
    numbers keep every read distinct. Returns ``(names, count)``.
    """
    from seqfcn.io.read_writers import FastqWriter
    from seqfcn.io.reads import Read, read_reads

    names: list[str] = []
    seen: set[int] = set()
    with FastqWriter(out, fmt="fasta") as writer:
        for read in read_reads(path, primary_only=True):
            seq = reverse_complement(read.sequence) if read.is_reverse else read.sequence
            if index is None:
                number = len(names)
                names.append(read.name)
            else:
                number = index.get(read.name)
                if number is None and read.name[-2:] in ("/1", "/2"):
                    number = index.get(read.name[:-2])
                if number is None:
                    raise SeqfcnError(f"{what} read is not among the original reads", path=path, record=read.name)
                if number in seen:
                    raise InputFormatError("read name appears twice", path=path, record=read.name)
            seen.add(number)
            writer.write(Read(name=str(number), sequence=seq))
    return names, len(seen)


def evaluate_with_reference(
    original: str | Path,
    corrected: str | Path,
    reference: str | Path,
    *,
    aligner: str = "auto",
    threads: int = 1,
) -> dict[str, Any]:
    """Align original and corrected reads to ``reference`` and compare (see :func:`alignment_metrics`).

    Corrected reads are matched to the originals by name (a trailing ``/1``/``/2`` may differ).

    Raises:
        SeqfcnError: the aligner is missing or fails; a corrected read is not among
            the originals, or an original read is missing from the corrected reads.
    """
    if not Path(reference).exists():
        raise SeqfcnError("reference not found", path=reference)
    with tempfile.TemporaryDirectory(prefix="seqfcn-eval-") as tmp:
        tmpdir = Path(tmp)
        names, _ = _write_indexed(original, tmpdir / "orig.fa", None, "original")
        index: dict[str, int] = {}
        for i, name in enumerate(names):
            if name in index:
                raise InputFormatError("read name appears twice", path=original, record=name)
            index[name] = i
        _, n_corrected = _write_indexed(corrected, tmpdir / "corr.fa", index, "corrected")
        if n_corrected < len(names):
            present = set(_alignment_names(tmpdir / "corr.fa"))
            missing = next(n for i, n in enumerate(names) if str(i) not in present)
            raise SeqfcnError("read is missing from the corrected reads", path=corrected, record=missing)
        used = align_reads(tmpdir / "orig.fa", reference, tmpdir / "orig.sam", aligner=aligner,
                           threads=threads, index_dir=tmpdir)
        align_reads(tmpdir / "corr.fa", reference, tmpdir / "corr.sam", aligner=used, threads=threads,
                    index_dir=tmpdir)
        before = _alignment_table(tmpdir / "orig.sam", reference)
        after = _alignment_table(tmpdir / "corr.sam", reference)
    metrics = alignment_metrics(before, after)
    metrics["aligner"] = used
    return metrics


def _alignment_names(path: Path) -> list[str]:
    from seqfcn.io.reads import read_reads

    return [read.name for read in read_reads(path)]


# ----------------------------------------------------------------------------- output
_REFERENCE_ROWS = (
    ("reads_aligned_both", "reads aligned before and after"),
    ("alignment_error_rate_before", "alignment error rate before"),
    ("alignment_error_rate_after", "alignment error rate after"),
    ("error_rate_reduction", "error rate reduction"),
    ("reads_improved", "reads with fewer edits"),
    ("reads_worsened", "reads with more edits"),
    ("base_level_reads", "reads used for TP/FP/FN"),
)


def format_metrics(metrics: dict[str, Any]) -> str:
    """A two-column, human-readable table of :func:`correction_metrics` / :func:`alignment_metrics` output."""
    rows: Iterable[tuple[str, str]] = (*TABLE_ROWS[:1], *_EDIT_ROWS, *TABLE_ROWS[1:])
    if metrics.get("mode") == "reference":
        rows = (*_REFERENCE_ROWS, *TABLE_ROWS[1:])
    lines = []
    for key, label in rows:
        if key not in metrics:
            continue
        value = metrics[key]
        if value is None:
            text = "n/a"
        elif isinstance(value, float):
            text = f"{value:.6f}" if "rate" in key else f"{value:.4f}"
        else:
            text = f"{value:,}"
        lines.append(f"{label:<40}{text:>16}")
    return "\n".join(lines)


def evaluate_correction(
    original: str | Path,
    corrected: str | Path,
    *,
    truth: str | Path | None = None,
    reference: str | Path | None = None,
    aligner: str = "auto",
    threads: int = 1,
    json_path: str | Path | None = None,
) -> dict[str, Any]:
    """Evaluate a correction against simulated ``truth`` or a ``reference`` (exactly one);
    optionally write the metrics as JSON to ``json_path``. Returns the metrics dict."""
    if (truth is None) == (reference is None):
        raise SeqfcnError("give exactly one of a truth file or a reference")
    if truth is not None:
        metrics = evaluate_with_truth(original, corrected, truth)
    else:
        metrics = evaluate_with_reference(original, corrected, reference, aligner=aligner, threads=threads)
    metrics["original"] = str(original)
    metrics["corrected"] = str(corrected)
    if json_path is not None:
        write_json(metrics, json_path)
    return metrics
