"""The correction engine: batched, padding-exact inference of a read corrector, with
out-of-memory backoff, strand averaging and per-base decisions.

Decisions, per base, from the posterior ``p`` (softmax of the logits, averaged over
both strands by default: the read and its reverse complement are both run and the
second posterior is mapped back with the label scheme's mirror, so a read and its
reverse complement get the same correction):

* **substitution**: the most likely base ``b`` differs from the observed base and
  ``p(b) > min_confidence`` → the base becomes ``b`` (an ``N`` can become a base);
* **deletion of an inserted base** (schemes with a ``gap`` class):
  ``p(gap) > min_confidence`` → the base is removed; never for records with a
  CIGAR (aligned SAM/BAM records: their length must match the CIGAR);
* **insertion of a missing base** (``bases+gap+insert``): ``p(insert b after this
  base) > min_confidence`` → ``b`` is added after the base, with the posterior's
  quality; not for records with a CIGAR either. These models run on the read's
  strand only (their classes have no mirror image).

With ``min_confidence >= 1`` nothing can change (a probability never exceeds 1).
An emitted base with posterior ``p`` gets the quality of :func:`posterior_quality`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seqfcn.correction import defaults
from seqfcn.correction.evidence import KmerEvidence
from seqfcn.correction.inputs import length_mask, model_inputs, pad_batch, pad_rows
from seqfcn.correction.labels import LabelScheme, scheme_of
from seqfcn.correction.model_files import check_corrector
from seqfcn.sequence.encode import reverse_complement_codes
from seqfcn.errors import SeqfcnError
from seqfcn.runtime.options import resolve_options
from seqfcn.correction.spectrum import support, walk
from seqfcn.correction.kmers import mirror_order

log = logging.getLogger("seqfcn.correction")

_CPU_TOKENS = 1 << 15  # bases per batch with batch_size="auto" on CPU (cache-sized: fastest measured)
_GPU_TOKENS = 1 << 22


def _is_oom(exc: BaseException) -> bool:
    """True for a CUDA (or other device) out-of-memory error."""
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


_LENGTH_MIXING = (nn.ConvTranspose1d, nn.MaxPool1d, nn.AvgPool1d, nn.GroupNorm, nn.InstanceNorm1d, nn.Upsample)


def _maskable(model: nn.Module) -> bool:
    """True when zeroing every Conv1d input at padded positions makes a padded batch exact:
    stride-1 convolutions and per-position operations only."""
    for m in model.modules():
        if isinstance(m, _LENGTH_MIXING):
            return False
        if isinstance(m, nn.Conv1d) and m.stride[0] != 1:
            return False
        if isinstance(m, nn.BatchNorm1d) and m.training:
            return False
    return int(getattr(model, "rf_period", 1)) == 1


def _masked_forward(model: nn.Module, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """``model(x)`` with every ``Conv1d`` input zeroed where ``mask`` is 0 (None: ``model(x)``).

    ``x``: ``(batch, C, L)``; ``mask``: ``(batch, 1, L)`` 1 at real bases, 0 at padding.
    A convolution pads its input with zeros, so a read padded on the right with masked
    positions gets exactly the output it gets alone. Inputs that a layer padded itself
    (``F.pad`` before a ``padding=0`` conv) are longer than the mask by the same amount
    on both sides; the mask is widened to match.
    """

    if mask is None:
        return model(x)

    def hook(module: nn.Module, args: tuple) -> tuple:
        inp = args[0]
        extra = inp.shape[-1] - mask.shape[-1]
        m = mask if extra == 0 else F.pad(mask, (extra // 2, extra - extra // 2), value=1.0)
        return (inp * m.to(inp.dtype),) + tuple(args[1:])

    handles = [m.register_forward_pre_hook(hook) for m in model.modules() if isinstance(m, nn.Conv1d)]
    try:
        return model(x)
    finally:
        for h in handles:
            h.remove()




def posterior_quality(p: torch.Tensor | np.ndarray, max_quality: int = defaults.MAX_QUALITY) -> np.ndarray:
    """Phred quality of a base with posterior ``p``:
    ``min(max_quality, round(-10 log10(max(1 - p, 10**(-max_quality/10)))))``, as uint8."""
    p = np.asarray(p.detach().cpu() if isinstance(p, torch.Tensor) else p, dtype=np.float64)
    err = np.maximum(1.0 - p, 10.0 ** (-max_quality / 10.0))
    return np.clip(np.rint(-10.0 * np.log10(err)), 0, max_quality).astype(np.uint8)


@dataclass
class Decision:
    """Per read: ``base`` (L,) uint8 best base 0-3, ``substitute`` / ``delete`` (L,) bool,
    ``quality`` (L,) uint8 posterior quality of the emitted base; ``insert`` (L,) int8
    base code 0-3 to add after the base (-1: none) and ``insert_quality`` its quality
    (9-class models only)."""

    base: np.ndarray
    substitute: np.ndarray
    delete: np.ndarray
    quality: np.ndarray
    insert: np.ndarray | None = None
    insert_quality: np.ndarray | None = None


def _strand_average(probs: torch.Tensor, rc_probs: torch.Tensor, mirror: Sequence[int]) -> torch.Tensor:
    """Mean of ``probs`` ``(batch, K, L)`` and the reverse-complement run's posterior mapped
    back (positions flipped, classes permuted by the scheme's ``mirror``)."""
    return 0.5 * (probs + rc_probs.flip(-1)[:, list(mirror)])


@dataclass
class _Prepared:
    """A batch with its padded codes ``(n, L)``, lengths ``(n,)``, model input ``x`` ``(n, C, L)``
    and (solid checks) the spectrum support ``before`` ``(n, L)`` of its bases."""

    batch: list
    codes: np.ndarray
    lengths: np.ndarray
    x: np.ndarray
    before: np.ndarray | None


def walk_decision(codes: np.ndarray, walked: np.ndarray, phred: np.ndarray) -> Decision:
    """The :class:`Decision` of a spectrum walk that turned a read's ``(L,)`` codes into
    ``walked``: its substitutions, each keeping the quality ``phred`` of the base it replaces."""
    return Decision(walked, walked != codes, np.zeros(codes.shape[0], bool), np.array(phred, np.uint8))


def _phred_rows(items: Sequence["ReadItem"]) -> tuple[np.ndarray, np.ndarray]:
    """``(n, L)`` uint8 Phred scores of ``items``, right-padded with 0 (0 for a read without
    qualities: it costs nothing in the walk), and their ``(n,)`` lengths."""
    return pad_rows([np.zeros(it.codes.shape[0], np.uint8) if it.qualities is None
                     else np.asarray(it.qualities, np.uint8) for it in items], 0, np.uint8)


@dataclass
class ReadItem:
    """A read in flight: its position in the chunk and its encoding."""

    index: int
    codes: np.ndarray
    qualities: np.ndarray | None
    may_delete: bool
    support: np.ndarray | None = None
    """``(L,)`` spectrum support of ``codes`` when already known (:meth:`CorrectionEngine.weak_reads`)."""


@dataclass(frozen=True)
class EngineOptions:
    """How a :class:`CorrectionEngine` runs and decides (its docstring says what each field does)."""

    device: str | torch.device = "auto"
    min_confidence: float = defaults.MIN_CONFIDENCE
    batch_size: int | str = "auto"
    both_strands: bool = True
    max_quality: int = defaults.MAX_QUALITY
    solid: int | None = None
    windows: bool = True
    indels: int = defaults.INDEL_LENGTH


class CorrectionEngine:
    """Batched, padding-exact inference of a read-correction model with OOM backoff.

    Args:
        model: a model ``(batch, 5 + evidence channels, L) -> (batch, K, L)``, its K
            classes those of its label scheme (:func:`seqfcn.correction.labels.scheme_of`).
        options: :class:`EngineOptions`; ``overrides`` replace single fields
            (``CorrectionEngine(model, device="cpu", min_confidence=0.5)``).
        evidence: the model's k-mer evidence (:class:`seqfcn.correction.evidence.KmerEvidence`,
            with its table), for models that take evidence channels.

    Options:
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ... (see :func:`seqfcn.training.trainer.resolve_device`).
        min_confidence: a base changes only when its posterior exceeds this.
        batch_size: ``"auto"`` (a budget of bases per batch: 2**15 on CPU, 2**22 on
            GPU) or the most reads per batch.
        both_strands: average the posteriors of the read and its reverse complement
            (not for schemes with insertion classes, which have no mirror image).
        max_quality: cap of recalibrated qualities.
        solid: with a reads-spectrum ``evidence``, the count from which a k-mer is solid
            (:func:`seqfcn.correction.spectrum.solid_threshold`). Then the model runs
            only on reads with a base that no solid k-mer set supports (the smallest
            count of its covering k-mers is below ``solid``), and a substitution is
            made only where the read's base was unsupported and every k-mer covering
            the new base, with the read's other edits applied, is solid (an N call counts
            as unsupported). Reads with several errors within k bases are first walked by
            :meth:`spectrum_fix` (the pipeline runs it before the network), so an edit no
            solid k-mer set confirms is not made: at read ends of MiSeq reads the network's
            edits that only made some covering k-mer solid tripled the false corrections.
            None: no such checks (the model alone decides).
        windows: with ``solid`` (substitution schemes, maskable models), run the network
            only on windows of each read around its unsupported bases, as wide as the
            receptive field needs for those bases' posteriors to equal the whole read's
            (elsewhere no edit could pass the checks). Posteriors outside the windows are
            not computed, so ``recalibrate="all"`` needs ``windows=False``.
        indels: with ``solid``, the longest insertion or deletion the indel pass
            (:mod:`seqfcn.correction.indels`, run by :func:`seqfcn.correction.chunks.correct_weak`
            on the reads still weak after the walk and the network) tries; 0: none.
    """

    def __init__(self, model: nn.Module, options: EngineOptions | None = None, *,
                 evidence: KmerEvidence | None = None, **overrides: Any) -> None:
        from seqfcn.runtime.device import resolve_device

        o = resolve_options(EngineOptions, options, overrides, "CorrectionEngine")
        device, min_confidence, batch_size, solid = o.device, o.min_confidence, o.batch_size, o.solid

        if not 0.0 <= float(min_confidence):
            raise SeqfcnError(f"--min-confidence must be >= 0, not {min_confidence}")
        self.device = device if isinstance(device, torch.device) else resolve_device(str(device))
        self.model = model.to(self.device).eval()
        self.evidence = evidence
        self.scheme: LabelScheme = scheme_of(model)
        check_corrector(model, self.scheme, evidence, getattr(model, "config", {}).get("name", "model"))
        self.maskable = _maskable(self.model)
        self.min_confidence = float(min_confidence)
        self.both_strands = o.both_strands and self.scheme.mirror is not None
        self.max_quality = int(o.max_quality)
        if batch_size == "auto":
            self.max_reads: int | None = None
            self.max_tokens = _GPU_TOKENS if self.device.type == "cuda" else _CPU_TOKENS
        else:
            try:
                size = int(batch_size)
            except (TypeError, ValueError):
                raise SeqfcnError(f"--batch-size must be 'auto' or a positive integer, not {batch_size!r}") from None
            if size < 1:
                raise SeqfcnError(f"--batch-size must be 'auto' or a positive integer, not {batch_size!r}")
            self.max_reads, self.max_tokens = size, None
        self.oom_retries = 0
        self.batches = 0
        if solid is not None and (evidence is None or evidence.table is None or evidence.source != "reads"):
            raise SeqfcnError("solid k-mer checks need a model whose evidence is the reads' spectrum")
        self.solid = None if solid is None else int(solid)
        if int(o.indels) < 0:
            raise SeqfcnError(f"--indels must be >= 0, not {o.indels}")
        self.indels = int(o.indels) if self.min_confidence < 1 else 0  # min_confidence 1: nothing changes
        self.indel_edits = 0
        self.vetoed = 0
        self.spectrum_edits = 0
        # with solid checks an edit is only ever accepted at a base no solid k-mer supports, so
        # the network need only see those bases and their receptive field (exact: padding is masked)
        self.windows = bool(o.windows) and self.solid is not None and self.scheme.gap is None and self.maskable \
            and hasattr(self.model, "receptive_margins")
        self.bases_run = 0

    # ---------------------------------------------------------------- k-mer support
    def needs_model(self, codes: Sequence[np.ndarray]) -> np.ndarray:
        """``(n,)`` bool: reads with an unsupported base (all True without ``solid``)."""
        return self.weak_reads(codes)[0]

    def weak_reads(self, codes: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray | None]]:
        """:meth:`needs_model` and each read's ``(L_i,)`` spectrum support (None without ``solid``),
        to hand to the model's batches in :class:`ReadItem` instead of looking it up again."""
        if self.solid is None or not len(codes):
            return np.ones(len(codes), bool), [None] * len(codes)
        padded, _, lengths = pad_batch(codes)
        sup = support(padded, self.evidence.table)
        called_n = (padded >= 4) & (np.arange(padded.shape[1])[None, :] < lengths[:, None])
        weak = ((sup >= 0) & (sup < self.solid)).any(1) | (called_n.any(1) & (lengths >= self.evidence.k))
        return weak, [sup[i, :n] for i, n in enumerate(lengths.tolist())]

    def spectrum_fix(self, items: Sequence[ReadItem]) -> tuple[dict[int, Decision], np.ndarray, np.ndarray]:
        """The spectrum walk (:func:`seqfcn.correction.spectrum.walk`) over ``items``; a changed
        base keeps its quality. Returns the decisions of the reads it changed (by
        ``item.index``) and ``(n,)`` bool: the items with a base no solid k-mer set supports
        before the walk and after it (one lookup pass: no :meth:`weak_reads` is needed)."""
        if self.solid is None:
            raise SeqfcnError("the spectrum walk needs solid k-mer checks")
        if not items:
            return {}, np.zeros(0, bool), np.zeros(0, bool)
        codes, lengths = pad_rows([it.codes for it in items], 4, np.uint8)
        phred, _ = _phred_rows(items)
        new, before, after = self.spectrum_walk(codes, lengths, phred)
        result = {}
        for row in np.nonzero((new != codes).any(1))[0].tolist():
            n = int(lengths[row])
            result[items[row].index] = walk_decision(codes[row, :n], new[row, :n], phred[row, :n])
        return result, before, after

    def spectrum_walk(self, codes: np.ndarray, lengths: np.ndarray, phred: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`spectrum_fix` on padded arrays: ``(n, w)`` uint8 codes (padding 4), ``(n,)``
        lengths, ``(n, w)`` uint8 Phred scores (0 for reads without). Returns the walked
        ``(n, w)`` codes and the ``(n,)`` weak-before and weak-after flags."""
        # min_confidence >= 1: nothing may change, but which reads are weak is still wanted
        new, before, after = walk(codes, lengths, self.evidence.table, self.solid, qualities=phred,
                                  max_edits=0 if self.min_confidence >= 1 else 64)
        self.spectrum_edits += int(np.count_nonzero(new != codes))
        return new, before, after

    def _veto(self, codes: np.ndarray, base: torch.Tensor, substitute: torch.Tensor,
              before: np.ndarray, batch: Sequence[ReadItem]) -> torch.Tensor:
        """``substitute`` less the edits the spectrum does not support (see ``solid``);
        ``before``: :func:`~seqfcn.correction.spectrum.support` of ``codes``. As in the walk,
        a base of quality ``WALK_MAX_QUALITY`` or more changes only where k k-mers cover it
        (not within k - 1 bases of a read's end, where a repeat copy explains it as well)."""
        table = self.evidence.table
        sub = substitute.cpu().numpy()
        if not sub.any():
            return substitute
        proposed = np.where(sub, base.cpu().numpy(), codes)
        after = support(proposed, table)
        keep = sub & (before < self.solid) & (after >= self.solid)  # before -1: an N call
        keep &= ~(self._trusted(batch, codes.shape[1]) & (before > 2))
        keep = self._necessary(codes, np.where(keep, proposed, codes), keep)
        self.vetoed += int(sub.sum() - keep.sum())
        return torch.from_numpy(keep).to(substitute.device)

    def _trusted(self, batch: Sequence[ReadItem], width: int) -> np.ndarray:
        """``(n, width)`` bool: bases of quality ``WALK_MAX_QUALITY`` or more within k - 1 of a read's end."""
        k = self.evidence.k
        phred, lengths = _phred_rows(batch)
        phred = np.pad(phred, ((0, 0), (0, width - phred.shape[1])))
        i = np.arange(width)[None, :]
        return (phred >= defaults.WALK_MAX_QUALITY) & ((i < k - 1) | (i > lengths[:, None] - k))

    def _necessary(self, codes: np.ndarray, edited: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """Drop edits the read does not need: in reads with several, an edit whose original
        base is supported once the read's other edits are made (a second copy of a repeat
        reached by changing a true base besides the error)."""
        rows = np.nonzero(keep.sum(1) >= 2)[0]
        if rows.size == 0:
            return keep
        r, i = np.nonzero(keep[rows])
        r = rows[r]
        trial = edited[r].copy()
        trial[np.arange(r.size), i] = codes[r, i]
        sup = support(trial, self.evidence.table)[np.arange(r.size), i]
        keep = keep.copy()
        keep[r[sup >= self.solid], i[sup >= self.solid]] = False
        return keep

    # ---------------------------------------------------------------- batching
    def _limit(self, width: int) -> int:
        """Most reads of length ``width`` in one batch under the current limits."""
        limits = [self.max_reads] if self.max_reads is not None else []
        if self.max_tokens is not None:
            limits.append(max(1, self.max_tokens // max(width, 1)))
        return max(1, min(limits))

    def _plan(self, items: Sequence[ReadItem]) -> Iterator[list[ReadItem]]:
        """Batches of items sorted by length (longest first); exact-length groups when the
        model cannot be padded exactly."""
        order = sorted(items, key=lambda it: -it.codes.shape[0])
        i = 0
        while i < len(order):
            width = order[i].codes.shape[0]
            n = self._limit(width)
            batch = order[i : i + n]
            if not self.maskable:
                batch = [it for it in batch if it.codes.shape[0] == width]
            i += len(batch)
            yield batch

    def forward(self, x: torch.Tensor, mask: torch.Tensor, codes: np.ndarray | None = None) -> torch.Tensor:
        """Posterior ``(batch, K, L)`` of a padded batch ``x`` ``(batch, C, L)`` with ``mask`` ``(batch, 1, L)``;
        ``codes`` ``(batch, L)`` (padding N) are needed for the reverse-complement evidence."""
        with torch.inference_mode():
            if not bool((mask == 0).any()):  # no padding (reads of one length): nothing to mask
                mask = None
            probs = _masked_forward(self.model, x, mask).float().softmax(1)
            if self.both_strands:
                mirror = None if self.evidence is None else mirror_order(self.evidence.edits)
                if self.evidence is None or mirror is not None:
                    # canonical k-mers: the reverse complement's evidence is a mirror image
                    order = [3, 2, 1, 0, 4] + ([] if mirror is None else [5 + c for c in mirror])
                    x_rc = x.flip(-1)[:, order]
                else:
                    ev = torch.from_numpy(self.evidence.features(reverse_complement_codes(codes))).to(x.device)
                    x_rc = torch.cat([x[:, :5].flip(-1)[:, [3, 2, 1, 0, 4]],
                                      ev if mask is None else ev * mask.flip(-1)], dim=1)
                rc = _masked_forward(self.model, x_rc, None if mask is None else mask.flip(-1)).float().softmax(1)
                probs = _strand_average(probs, rc, self.scheme.mirror)
        return probs

    def _prepare(self, batch: list[ReadItem]) -> "_Prepared":
        codes, qual, lengths = pad_batch([it.codes for it in batch], [it.qualities for it in batch])
        x = model_inputs(codes, qual, lengths, self.evidence)
        before = None
        if self.solid is not None and all(it.support is not None for it in batch):
            before = np.full(codes.shape, -1, np.int64)  # -1 past a read's end, as support() gives for N
            for row, it in enumerate(batch):
                before[row, : it.support.shape[0]] = it.support
        elif self.solid is not None:
            before = support(codes, self.evidence.table)
        return _Prepared(batch, codes, lengths, x, before)

    def _whole(self, p: "_Prepared") -> torch.Tensor:
        """Posterior ``(n, K, L)`` of whole reads."""
        self.bases_run += int(p.lengths.sum())
        mask = length_mask(p.lengths, p.codes.shape[1])
        return self.forward(torch.from_numpy(p.x).to(self.device), torch.from_numpy(mask).to(self.device), p.codes)

    def _windowed(self, preps: Sequence["_Prepared"]) -> list[torch.Tensor]:
        """Posteriors ``(n, K, L)`` of prepared batches where the network sees only the windows
        around their unsupported bases (see ``windows``); elsewhere the posterior says the
        observed base (an N: nothing). The windows of all batches are run together, grouped
        by length (a multiple of 16) in batches of a few fixed sizes, so the convolution
        kernels are not rebuilt for every new shape."""
        left, right = (int(m) for m in self.model.receptive_margins)
        if self.both_strands:  # the reverse-complement run sees the margins swapped
            left = right = max(left, right)
        probs, spans = [], []
        for b, p in enumerate(preps):
            n, width = p.codes.shape
            full = np.zeros((n, self.scheme.n_classes, width), np.float32)
            rows, cols = np.nonzero(p.codes < 4)
            full[rows, p.codes[rows, cols].astype(np.intp), cols] = 1.0
            probs.append(full)
            weak = (p.before < self.solid) & (np.arange(width)[None, :] < p.lengths[:, None])
            spans += [(b, r, s, e) for r, s, e in _windows(weak, p.lengths, left, right)]
        budget = self.max_tokens or self.max_reads * max(p.codes.shape[1] for p in preps)
        bucket = lambda w: -(-w // 16) * 16  # noqa: E731
        spans.sort(key=lambda t: t[3] - t[2])
        i = 0
        while i < len(spans):
            width = bucket(spans[i][3] - spans[i][2])
            rows = max(1, budget // width)
            group = [t for t in spans[i : i + rows] if bucket(t[3] - t[2]) == width]
            i += len(group)
            size = rows if len(group) == rows else min(rows, 1 << (len(group) - 1).bit_length())
            x = np.zeros((size, preps[0].x.shape[1], width), np.float32)
            lengths = np.zeros(size, np.int64)
            for j, (b, r, s, e) in enumerate(group):
                x[j, :, : e - s] = preps[b].x[r, :, s:e]
                lengths[j] = e - s
            self.bases_run += int(lengths.sum())
            mask = torch.from_numpy(length_mask(lengths, width)).to(self.device)
            out = self.forward(torch.from_numpy(x).to(self.device), mask).cpu().numpy()
            for j, (b, r, s, e) in enumerate(group):
                probs[b][r, :, s:e] = out[j, :, : e - s]
        return [torch.from_numpy(pr).to(self.device) for pr in probs]

    def _decide(self, batch: list[ReadItem]) -> list[Decision]:
        p = self._prepare(batch)
        return self._conclude(p, self._whole(p))

    def _conclude(self, p: "_Prepared", probs: torch.Tensor) -> list[Decision]:
        """Decisions from the posterior ``(n, K, L)`` of a prepared batch."""
        batch, codes, before = p.batch, p.codes, p.before
        obs = torch.from_numpy(codes).to(self.device).long()
        base_p, base = probs[:, :4].max(1)
        observed_p = probs[:, :4].gather(1, obs.clamp(max=3)[:, None])[:, 0]
        observed_p = torch.where(obs < 4, observed_p, torch.zeros_like(observed_p))
        thr = self.min_confidence
        substitute = (base != obs) & (base_p > thr)
        if self.solid is not None:
            substitute = self._veto(codes, base, substitute, before, batch)
        emitted_p = torch.where(substitute, base_p, observed_p)
        insert = ins_q = None
        gap, first_insert = self.scheme.gap, self.scheme.insert_base
        if gap is not None:
            allow = torch.tensor([it.may_delete for it in batch], device=self.device)[:, None]
            delete = (probs[:, gap] > thr) & allow
            substitute &= ~delete
            if first_insert is not None:
                # "insert b after this base" also says the base itself is right
                ins_p, ins_b = probs[:, first_insert : first_insert + 4].max(1)
                do_ins = (ins_p > thr) & allow & ~delete
                substitute &= ~do_ins
                insert = torch.where(do_ins, ins_b, torch.full_like(ins_b, -1)).to(torch.int8).cpu().numpy()
                ins_q = posterior_quality(ins_p, self.max_quality)
        else:
            delete = torch.zeros_like(substitute)
        base_np, sub_np, del_np = base.byte().cpu().numpy(), substitute.cpu().numpy(), delete.cpu().numpy()
        qual_np = posterior_quality(emitted_p, self.max_quality)
        out = []
        for i, it in enumerate(batch):
            n = it.codes.shape[0]
            out.append(Decision(base_np[i, :n], sub_np[i, :n], del_np[i, :n], qual_np[i, :n],
                                 None if insert is None else insert[i, :n], None if ins_q is None else ins_q[i, :n]))
        return out

    def decide(self, items: Sequence[ReadItem]) -> dict[int, Decision]:
        """Decisions for every item, by ``item.index``; halves the batch on out-of-memory."""
        result: dict[int, Decision] = {}
        pending = list(self._plan(items))
        if self.windows and pending:
            try:
                preps = [self._prepare(batch) for batch in pending]
                for p, probs in zip(preps, self._windowed(preps)):
                    self.batches += 1
                    for it, d in zip(p.batch, self._conclude(p, probs)):
                        result[it.index] = d
                return result
            except Exception as exc:  # noqa: BLE001 - only out-of-memory is handled
                if not _is_oom(exc):
                    raise
                log.warning("out of memory running the network on windows; running it on whole reads")
                self.windows = False
                self.oom_retries += 1
                result = {}
        while pending:
            batch = pending.pop(0)
            try:
                decisions = self._decide(batch)
            except Exception as exc:  # noqa: BLE001 - only out-of-memory is handled
                if not _is_oom(exc):
                    raise
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                if len(batch) == 1:
                    raise SeqfcnError(
                        f"out of memory on {self.device} for a single read of {batch[0].codes.shape[0]} bases; "
                        "try --device cpu"
                    ) from None
                half = max(1, len(batch) // 2)
                self.max_reads = half if self.max_reads is None else min(self.max_reads, half)
                if self.max_tokens is not None:
                    self.max_tokens = max(1, self.max_tokens // 2)
                self.oom_retries += 1
                log.warning("out of memory with %d reads per batch; retrying with %d", len(batch), half)
                pending = [b[i : i + half] for b in [batch, *pending] for i in range(0, len(b), half)]
                continue
            self.batches += 1
            for it, d in zip(batch, decisions):
                result[it.index] = d
        return result


def _windows(weak: np.ndarray, lengths: np.ndarray, left: int, right: int) -> list[tuple[int, int, int]]:
    """``(row, start, end)`` spans of the inputs that the outputs at ``weak`` ``(n, L)`` positions
    see (``left`` bases before, ``right`` after), merged where they meet, within each read's length."""
    n, width = weak.shape
    if not weak.any():
        return []
    # input j is needed when a weak p has p - left <= j <= p + right, i.e. some weak position in
    # [j - right, j + left]: S(j + left + 1) - S(j - right) > 0 with S(t) = weak positions before t
    cum = np.concatenate([np.zeros((n, 1), np.int64), np.cumsum(weak, axis=1)], axis=1)
    j = np.arange(width)
    need = (cum[:, np.minimum(j + left + 1, width)] - cum[:, np.maximum(j - right, 0)] > 0) & \
        (j[None, :] < np.asarray(lengths)[:, None])
    edges = np.diff(np.pad(need.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    r0, s0 = np.nonzero(edges == 1)
    _, e0 = np.nonzero(edges == -1)
    return list(zip(r0.tolist(), s0.tolist(), e0.tolist()))
