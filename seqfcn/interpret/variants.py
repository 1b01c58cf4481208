"""Variant effects of a model (``seqfcn variants``).

Each ALT allele of a VCF record (multi-allelic records are split, one row per ALT) is
scored on its own: the reference window is the genome around the variant, the alternative
window the same with REF replaced by ALT (SNVs, MNVs, insertions and deletions alike);
both are run through the model with both strands averaged
(:class:`seqfcn.interpret.predict.StrandMerged`, ``merge="mean"``, the model's activation).
The REF allele is checked against the genome first: a mismatch is reported as such
(status ``ref_mismatch``), never scored.

Coordinates: the variant starts at VCF ``POS`` (1-based); in both windows it starts at the
same offset, so bases to its left keep their index and bases to its right shift by
``len(ALT) - len(REF)``. Two effects (alt − ref), of one output channel:

* ``effect``: the output at the variant's first base (``POS``).
* ``window_effect``: the sum of the output over the variant's bases and ``window // 2``
  bases on each side: ``[POS - h, POS + len(REF) + h)`` in the reference window,
  ``[POS - h, POS + len(ALT) + h)`` in the alternative one (the same flanking bases).

With a masked-base trunk (``seqfcn train --task mask``) the output is ln p of the base there,
that base masked (:class:`~seqfcn.runtime.masked_scores.MaskedBaseScore`): ``effect`` of an SNV is
the log-likelihood ratio ln p(ALT) - ln p(REF) at the variant (the same masked context for both),
and ``window_effect`` the ratio of the pseudo-log-likelihoods of the two windows (indels too; an
insertion's window has more bases, so more terms, each below zero).

Windows reach ``window // 2`` + the model's receptive margin past the variant on each side
(clipped at the chromosome ends), so every output summed sees all the context it depends on.

Statuses: ``ok``; ``ref_mismatch`` (REF differs from the genome, which is named in the
log with the VCF line); ``unknown_chrom``; ``symbolic`` (``<DEL>``, ``*``, breakends: not
scored); each not-``ok`` kind is counted in the log. A VCF none of whose records is on a
chromosome of the genome is refused before the model is loaded.

The VCF is read by :class:`seqfcn.io.vcf.VcfInput` (errors name the file and line); a VCF
output is the input's records as they are, with seqfcn's INFO fields appended.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from seqfcn.errors import RegionError, SeqfcnError
from seqfcn.io.vcf import VcfInput, VcfRecord, is_symbolic
from seqfcn.runtime.options import resolve_options

log = logging.getLogger("seqfcn")

EFFECT_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "status", "ref_score", "alt_score", "effect",
                  "ref_window", "alt_window", "window_effect"]


def _windows(genome: Any, chrom: str, pos0: int, ref: str, alt: str, flank: int) -> tuple[np.ndarray, np.ndarray, int]:
    """One-hot reference and alternative windows ``(4, L_ref)``, ``(4, L_alt)`` and the
    variant's offset in both."""
    from seqfcn.sequence.encode import one_hot

    size = genome.chrom_sizes[chrom]
    lo, hi = max(0, pos0 - flank), min(size, pos0 + len(ref) + flank)
    left, right = genome.fetch(chrom, lo, pos0), genome.fetch(chrom, pos0 + len(ref), hi)
    return one_hot(left + ref + right), one_hot(left + alt + right), pos0 - lo


@dataclass
class VariantOptions:
    """How :func:`score_variants` scores (``seqfcn variants``; module docstring).

    Attributes:
        channel: which model output channel (default 0).
        window: bases around the variant in ``window_effect`` (default 100: 50 on each side; >= 0).
        activation: applied to the output (default ``"auto"``: what the model was trained
            with, :func:`seqfcn.runtime.inference.output_activation`).
        batch_size: variants per model call (default 64).
        device: where the model runs (default ``"cpu"``).
        progress: a tqdm bar over the records on stderr (default False).
    """

    channel: int = 0
    window: int = 100
    activation: str = "auto"
    batch_size: int = 64
    device: str = "cpu"
    progress: bool = False


def score_variants(
    vcf: str | os.PathLike | VcfInput,
    genome_path: str | os.PathLike,
    model: str | os.PathLike,
    options: VariantOptions | None = None,
    **overrides: Any,
) -> list[dict[str, Any]]:
    """Effects of every ALT allele of ``vcf`` (see the module docstring): one dict per
    (record, ALT) in file order with :data:`EFFECT_COLUMNS` (scores None unless ``ok``).

    ``options``: :class:`VariantOptions`; ``overrides`` replace single fields
    (``score_variants(vcf, genome, model, window=20)``).

    Every record is read and checked, and the chromosomes compared with the genome's,
    before the model is loaded.

    Raises:
        InputFormatError: a malformed VCF record (named by its line).
        RegionError: no record's chromosome is in the genome.
    """
    from tqdm import tqdm

    from seqfcn.io.fasta import Genome
    from seqfcn.runtime.inference import load_sequence_model, model_margin

    opts = resolve_options(VariantOptions, options, overrides, "score_variants")
    window, batch_size, device = opts.window, opts.batch_size, opts.device
    if window < 0:
        raise SeqfcnError(f"window must be >= 0, got {window}")
    src = vcf if isinstance(vcf, VcfInput) else VcfInput(vcf)
    with Genome(genome_path) as genome:
        sizes = genome.chrom_sizes
        _check_chromosomes(src, sizes, genome_path)
        net, fn, _, _ = load_sequence_model(model, [opts.channel], activation=opts.activation, device=device)
        half = window // 2
        flank = half + model_margin(net)
        rows: list[dict[str, Any]] = []
        jobs: list[tuple[dict, np.ndarray, np.ndarray, int]] = []
        logged: set[str] = set()  # records whose REF mismatch was logged (the first 10)
        for rec in tqdm(src.records(), desc="variants", unit="record", disable=not opts.progress):
            for alt in rec.alts:
                status, problem = _status(genome, sizes, rec, alt)
                row = {"chrom": rec.chrom, "pos": rec.pos, "id": rec.id, "ref": rec.ref, "alt": alt,
                       "status": status, **{c: None for c in EFFECT_COLUMNS[6:]}}
                rows.append(row)
                if problem and rec.where not in logged and len(logged) < 10:
                    logged.add(rec.where)
                    log.warning("%s: %s: %s; not scored", src.path, rec.where, problem)
                if row["status"] == "ok":
                    jobs.append((row, *_windows(genome, rec.chrom, rec.pos - 1, rec.ref.upper(), alt.upper(), flank)))
                if len(jobs) >= batch_size:
                    _run_jobs(fn, jobs, half, device)
                    jobs = []
        _run_jobs(fn, jobs, half, device)
    for status, why in (("ref_mismatch", "of records whose REF differs from the genome"),
                        ("symbolic", "that are symbolic (<DEL>, *, breakends)"),
                        ("unknown_chrom", "on chromosomes the genome lacks")):
        count = sum(r["status"] == status for r in rows)
        if count:
            log.warning("%s: %d ALT allele(s) %s were not scored (status %s)", src.path, count, why, status)
    return rows


def _check_chromosomes(src: VcfInput, sizes: dict[str, int], genome_path: str | os.PathLike) -> None:
    """Refuse a VCF none of whose records is on a chromosome of the genome."""
    chroms = src.usage().chroms
    if chroms and not any(c in sizes for c in chroms):
        chrom, where = next(iter(chroms.items()))
        names = ", ".join(repr(n) for n in list(sizes)[:3]) + (", ..." if len(sizes) > 3 else "")
        raise RegionError(f"{where}: chromosome {chrom!r} is not in the genome {genome_path} ({names}), nor is any "
                          "other record's chromosome", path=src.path)


def _status(genome: Any, sizes: dict[str, int], rec: VcfRecord, alt: str) -> tuple[str, str | None]:
    """``ok`` or why the allele is not scored, and for ``ref_mismatch`` what the genome has."""
    if rec.chrom not in sizes:
        return "unknown_chrom", None
    if is_symbolic(alt):
        return "symbolic", None
    end = rec.pos - 1 + len(rec.ref)
    if rec.pos < 1 or end > sizes[rec.chrom]:
        return "ref_mismatch", f"REF {rec.ref} at {rec.chrom}:{rec.pos} runs outside the chromosome " \
            f"({sizes[rec.chrom]} bases)"
    seen = genome.fetch(rec.chrom, rec.pos - 1, end)
    if seen.upper() != rec.ref.upper():
        return "ref_mismatch", f"REF {rec.ref} differs from the genome ({seen}) at {rec.chrom}:{rec.pos}"
    return "ok", None


def _run_jobs(fn: torch.nn.Module, jobs: list, half: int, device: str) -> None:
    """Fill the scores of ``jobs`` ``(row, ref window, alt window, offset)``, windows of one
    length batched together."""
    groups: dict[int, list[tuple[dict, str, np.ndarray, int, int]]] = {}
    for row, ref_x, alt_x, off in jobs:
        for which, x, n in (("ref", ref_x, len(row["ref"])), ("alt", alt_x, len(row["alt"]))):
            groups.setdefault(x.shape[1], []).append((row, which, x, off, n))
    with torch.no_grad():
        for items in groups.values():
            y = fn(torch.from_numpy(np.stack([x for _, _, x, _, _ in items])).to(device))[:, 0].double().cpu().numpy()
            for (row, which, _, off, n), track in zip(items, y):
                row[f"{which}_score"] = float(track[off])
                row[f"{which}_window"] = float(track[max(0, off - half) : off + n + half].sum())
    for row, *_ in jobs:
        row["effect"] = row["alt_score"] - row["ref_score"]
        row["window_effect"] = row["alt_window"] - row["ref_window"]


def write_effects(rows: Sequence[dict[str, Any]], output: str | os.PathLike,
                  vcf: str | os.PathLike | VcfInput | None = None) -> None:
    """Write effects as TSV (:data:`EFFECT_COLUMNS`, a header line, ``NA`` for no score;
    ``-`` is stdout), or for a ``.vcf``/``.vcf.gz``/``.bcf`` output the input ``vcf``'s
    records as they are (every column and sample value; INFO, FORMAT, FILTER and contig names
    the input header lacks are declared) with INFO ``SEQFCN_EFFECT``,
    ``SEQFCN_WINDOW_EFFECT`` and ``SEQFCN_STATUS`` (one value per ALT, ``.`` for no score)
    added. Atomic."""
    name = str(output).lower()
    if name.endswith((".vcf", ".vcf.gz", ".bcf")):
        _write_vcf(rows, output, vcf)
        return
    from seqfcn.io.atomic import atomic_text

    def cell(v: Any) -> str:
        return "NA" if v is None else f"{v:.6g}" if isinstance(v, float) else str(v)

    with atomic_text(output) as fh:
        fh.write("\t".join(EFFECT_COLUMNS) + "\n")
        for row in rows:
            fh.write("\t".join(cell(row[c]) for c in EFFECT_COLUMNS) + "\n")


_VCF_INFO = [
    '##INFO=<ID=SEQFCN_EFFECT,Number=A,Type=Float,Description="model output at the variant, alt - ref '
    '(seqfcn variants)">',
    '##INFO=<ID=SEQFCN_WINDOW_EFFECT,Number=A,Type=Float,Description="model output summed over the variant and '
    'its window, alt - ref (seqfcn variants)">',
    '##INFO=<ID=SEQFCN_STATUS,Number=A,Type=String,Description="ok, or why not scored: ref_mismatch, '
    'unknown_chrom or symbolic (seqfcn variants)">',
]


def _write_vcf(rows: Sequence[dict[str, Any]], output: str | os.PathLike,
               vcf: str | os.PathLike | VcfInput | None) -> None:
    from seqfcn.io.vcf import write_annotated

    if vcf is None:
        raise SeqfcnError("VCF output needs the input VCF")
    src = vcf if isinstance(vcf, VcfInput) else VcfInput(vcf)
    it = iter(rows)

    def value(v: Any) -> str:
        return "." if v is None else f"{v:.6g}" if isinstance(v, float) else str(v)

    def info(rec: VcfRecord) -> str | None:
        mine = [next(it) for _ in rec.alts]
        if not mine:
            return None
        return ";".join(f"{key}={','.join(value(r[col]) for r in mine)}" for key, col in (
            ("SEQFCN_EFFECT", "effect"), ("SEQFCN_WINDOW_EFFECT", "window_effect"), ("SEQFCN_STATUS", "status")))

    write_annotated(src, output, _VCF_INFO, info)
