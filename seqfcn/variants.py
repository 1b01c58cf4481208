"""Variant effects of a model (``seqfcn variants``).

Each ALT allele of a VCF record (multi-allelic records are split, one row per ALT) is
scored on its own: the reference window is the genome around the variant, the alternative
window the same with REF replaced by ALT (SNVs, MNVs, insertions and deletions alike);
both are run through the model with both strands averaged
(:class:`seqfcn.predict.StrandMerged`, ``merge="mean"``, the model's activation).
The REF allele is checked against the genome first: a mismatch is reported as such
(status ``ref_mismatch``), never scored.

Coordinates: the variant starts at VCF ``POS`` (1-based); in both windows it starts at the
same offset, so bases to its left keep their index and bases to its right shift by
``len(ALT) - len(REF)``. Two effects (alt − ref), of one output channel:

* ``effect``: the output at the variant's first base (``POS``).
* ``window_effect``: the sum of the output over the variant's bases and ``window // 2``
  bases on each side: ``[POS - h, POS + len(REF) + h)`` in the reference window,
  ``[POS - h, POS + len(ALT) + h)`` in the alternative one (the same flanking bases).

Windows reach ``window // 2`` + the model's receptive margin past the variant on each side
(clipped at the chromosome ends), so every output summed sees all the context it depends on.

Statuses: ``ok``; ``ref_mismatch`` (REF differs from the genome, which is named in the
log); ``unknown_chrom``; ``symbolic`` (``<DEL>``, ``*``, breakends: not scored).
"""
from __future__ import annotations

import logging
import os
import re
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from seqfcn.errors import InputFormatError, SeqfcnError

log = logging.getLogger("seqfcn")

EFFECT_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "status", "ref_score", "alt_score", "effect",
                  "ref_window", "alt_window", "window_effect"]
_PLAIN_ALLELE = re.compile(r"^[ACGTNacgtn]+$")


def read_variants(path: str | os.PathLike) -> Iterator[tuple[Any, int, str, str, str]]:
    """``(record, alt index, chrom, ref, alt)`` for every ALT of every record of a VCF/BCF
    (pysam), in file order. The file is opened (and checked) at the call.

    Raises:
        InputFormatError: an unreadable file or record (named by its number).
    """
    import pysam

    label = str(path)
    try:
        vcf = pysam.VariantFile(label)
    except OSError as exc:
        raise InputFormatError(f"cannot read: {exc.strerror or exc}", path=label) from None
    except ValueError:
        raise InputFormatError("not a VCF/BCF file", path=label) from None
    return _alleles(vcf, label)


def _alleles(vcf: Any, label: str) -> Iterator[tuple[Any, int, str, str, str]]:
    with vcf:
        records = iter(vcf)
        n = 0
        while True:
            try:
                rec = next(records)
            except StopIteration:
                return
            except (OSError, ValueError) as exc:
                raise InputFormatError(f"record #{n + 1}: {exc}", path=label) from None
            n += 1
            for k, alt in enumerate(rec.alts or ()):
                yield rec, k, rec.chrom, rec.ref, alt


def _windows(genome: Any, chrom: str, pos0: int, ref: str, alt: str, flank: int) -> tuple[np.ndarray, np.ndarray, int]:
    """One-hot reference and alternative windows ``(4, L_ref)``, ``(4, L_alt)`` and the
    variant's offset in both."""
    from seqfcn.encode import one_hot

    size = genome.chrom_sizes[chrom]
    lo, hi = max(0, pos0 - flank), min(size, pos0 + len(ref) + flank)
    left, right = genome.fetch(chrom, lo, pos0), genome.fetch(chrom, pos0 + len(ref), hi)
    return one_hot(left + ref + right), one_hot(left + alt + right), pos0 - lo


def score_variants(
    vcf: str | os.PathLike,
    genome_path: str | os.PathLike,
    model: str | os.PathLike,
    *,
    channel: int = 0,
    window: int = 100,
    activation: str = "auto",
    batch_size: int = 64,
    device: str = "cpu",
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Effects of every ALT allele of ``vcf`` (see the module docstring): one dict per
    (record, ALT) in file order with :data:`EFFECT_COLUMNS` (scores None unless ``ok``)."""
    from tqdm import tqdm

    from seqfcn.io.fasta import Genome
    from seqfcn.predict import load_sequence_model, model_margin

    if window < 0:
        raise SeqfcnError(f"window must be >= 0, got {window}")
    net, fn, _, _ = load_sequence_model(model, [channel], activation=activation, device=device)
    half = window // 2
    flank = half + model_margin(net)
    rows: list[dict[str, Any]] = []
    jobs: list[tuple[dict, np.ndarray, np.ndarray, int]] = []
    mismatches = 0
    with Genome(genome_path) as genome:
        sizes = genome.chrom_sizes
        for rec, _, chrom, ref, alt in tqdm(read_variants(vcf), desc="variants", unit="allele", disable=not progress):
            row = {"chrom": chrom, "pos": rec.pos, "id": rec.id or ".", "ref": ref, "alt": alt, "status": "ok",
                   **{c: None for c in EFFECT_COLUMNS[6:]}}
            rows.append(row)
            if chrom not in sizes:
                row["status"] = "unknown_chrom"
            elif not (_PLAIN_ALLELE.match(ref) and _PLAIN_ALLELE.match(alt)):
                row["status"] = "symbolic"
            elif rec.pos - 1 + len(ref) > sizes[chrom] or \
                    genome.fetch(chrom, rec.pos - 1, rec.pos - 1 + len(ref)).upper() != ref.upper():
                row["status"] = "ref_mismatch"
                mismatches += 1
                if mismatches <= 10:
                    log.warning("%s: %s:%d REF %s differs from the genome (%s); not scored", vcf, chrom, rec.pos,
                                ref, genome.fetch(chrom, rec.pos - 1, min(sizes[chrom], rec.pos - 1 + len(ref))))
            else:
                jobs.append((row, *_windows(genome, chrom, rec.pos - 1, ref.upper(), alt.upper(), flank)))
            if len(jobs) >= batch_size:
                _run_jobs(fn, jobs, half, device)
                jobs = []
        _run_jobs(fn, jobs, half, device)
    if mismatches:
        log.warning("%d ALT allele(s) of records whose REF differs from the genome were not scored", mismatches)
    return rows


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


def write_effects(rows: Sequence[dict[str, Any]], output: str | os.PathLike, vcf: str | os.PathLike | None = None,
                  ) -> None:
    """Write effects as TSV (:data:`EFFECT_COLUMNS`, a header line, ``NA`` for no score;
    ``-`` is stdout), or for a ``.vcf``/``.vcf.gz``/``.bcf`` output the input ``vcf``'s
    records with INFO ``SEQFCN_EFFECT``, ``SEQFCN_WINDOW_EFFECT`` and ``SEQFCN_STATUS``
    (one value per ALT). Atomic."""
    name = str(output).lower()
    if name.endswith((".vcf", ".vcf.gz", ".bcf")):
        _write_vcf(rows, output, vcf)
        return
    from seqfcn.atomic import atomic_text

    def cell(v: Any) -> str:
        return "NA" if v is None else f"{v:.6g}" if isinstance(v, float) else str(v)

    with atomic_text(output) as fh:
        fh.write("\t".join(EFFECT_COLUMNS) + "\n")
        for row in rows:
            fh.write("\t".join(cell(row[c]) for c in EFFECT_COLUMNS) + "\n")


def _write_vcf(rows: Sequence[dict[str, Any]], output: str | os.PathLike, vcf: str | os.PathLike | None) -> None:
    import pysam

    from seqfcn.atomic import atomic_path

    if vcf is None:
        raise SeqfcnError("VCF output needs the input VCF")
    mode = "wb" if str(output).lower().endswith(".bcf") else "wz" if str(output).lower().endswith(".gz") else "w"
    it = iter(rows)
    with pysam.VariantFile(str(vcf)) as src:
        header = src.header.copy()
        for key, kind, text in (("SEQFCN_EFFECT", "Float", "model output at the variant, alt - ref (seqfcn variants)"),
                                ("SEQFCN_WINDOW_EFFECT", "Float", "model output summed over the variant and its "
                                 "window, alt - ref (seqfcn variants)"),
                                ("SEQFCN_STATUS", "String", "ok, ref_mismatch, unknown_chrom or symbolic")):
            header.info.add(key, "A", kind, text)
        suffix = ".bcf" if mode == "wb" else ".vcf.gz" if mode == "wz" else ".vcf"
        with atomic_path(output, suffix=".tmp" + suffix) as tmp:
            with pysam.VariantFile(tmp, mode, header=header) as dst:
                for rec in src:
                    mine = [next(it) for _ in rec.alts or ()]
                    out = rec.copy()
                    out.translate(header)
                    if mine:
                        out.info["SEQFCN_EFFECT"] = tuple(r["effect"] for r in mine)
                        out.info["SEQFCN_WINDOW_EFFECT"] = tuple(r["window_effect"] for r in mine)
                        out.info["SEQFCN_STATUS"] = tuple(r["status"] for r in mine)
                    dst.write(out)
