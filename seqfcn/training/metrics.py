"""Per-base evaluation metrics (numpy; tensors are accepted and moved to the CPU).

* :func:`per_base_accuracy` — fraction of positions whose call equals the truth.
* :func:`error_rate_reduction` — for read correction: ``1 - errors_after / errors_before``.
* :func:`average_precision` — area under the precision-recall curve (AUPRC), step-wise
  (``sum_n (R_n - R_{n-1}) P_n`` over distinct score thresholds, ties grouped).
* :func:`auroc` — area under the ROC curve (ties count one half).
* :func:`pearson` — Pearson correlation of two profiles.

Empty or degenerate inputs (no positives, no errors to reduce) give ``nan``.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def _np(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu()
        if a.dtype.is_floating_point and a.element_size() < 4:  # bf16 / fp16 have no numpy dtype
            a = a.float()
        a = a.numpy()
    return np.asarray(a)


def per_base_accuracy(predicted: Any, truth: Any, ignore_index: int = -100) -> float:
    """Fraction of positions where ``predicted == truth``, skipping ``truth == ignore_index``.

    Args:
        predicted: integer calls, any shape, e.g. ``(batch, length)``.
        truth: integer labels of the same shape.
    """
    predicted, truth = _np(predicted), _np(truth)
    if predicted.shape != truth.shape:
        raise ValueError(f"shapes differ: {predicted.shape} vs {truth.shape}")
    valid = truth != ignore_index
    n = int(valid.sum())
    if n == 0:
        return float("nan")
    return float((predicted[valid] == truth[valid]).sum() / n)


def error_rate_reduction(observed: Any, predicted: Any, truth: Any, ignore_index: int = -100) -> float:
    """``1 - errors(predicted) / errors(observed)`` over positions with ``truth != ignore_index``.

    Args:
        observed: the input calls before correction, e.g. ``(batch, length)`` integers
            (an uncallable base such as N can be any value outside ``[0, 4)``).
        predicted: the corrected calls, same shape.
        truth: the true bases, same shape.

    1.0 means every error was fixed, 0.0 no change, negative means the model added
    errors. ``nan`` when the input had no errors.
    """
    observed, predicted, truth = _np(observed), _np(predicted), _np(truth)
    if not (observed.shape == predicted.shape == truth.shape):
        raise ValueError(f"shapes differ: {observed.shape}, {predicted.shape}, {truth.shape}")
    valid = truth != ignore_index
    before = int((observed[valid] != truth[valid]).sum())
    after = int((predicted[valid] != truth[valid]).sum())
    if before == 0:
        return float("nan")
    return 1.0 - after / before


def _ranked_counts(scores: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative true/false positives at each distinct score threshold, highest score first."""
    scores = _np(scores).astype(np.float64).ravel()
    labels = _np(labels).ravel().astype(bool)
    if scores.shape != labels.shape:
        raise ValueError(f"scores and labels differ in size: {scores.size} vs {labels.size}")
    order = np.argsort(-scores, kind="stable")
    scores, labels = scores[order], labels[order]
    # last index of each run of equal scores: thresholds sit between distinct values
    ends = np.flatnonzero(np.diff(scores) != 0)
    ends = np.append(ends, scores.size - 1) if scores.size else ends
    tp = np.cumsum(labels)[ends]
    fp = (ends + 1) - tp
    return tp.astype(np.float64), fp.astype(np.float64)


def average_precision(scores: Any, labels: Any) -> float:
    """Area under the precision-recall curve (average precision) for binary ``labels``.

    ``AP = sum_n (R_n - R_{n-1}) * P_n`` over the distinct thresholds ``n`` in
    decreasing score order; positions with equal scores enter together.

    Args:
        scores: any shape, higher means more likely positive.
        labels: same number of elements, truthy for positives.
    """
    tp, fp = _ranked_counts(scores, labels)
    if tp.size == 0 or tp[-1] == 0:
        return float("nan")
    precision = tp / (tp + fp)
    recall = tp / tp[-1]
    recall_prev = np.concatenate([[0.0], recall[:-1]])
    return float(np.sum((recall - recall_prev) * precision))


def auroc(scores: Any, labels: Any) -> float:
    """Area under the ROC curve (trapezoids between distinct thresholds, so ties count 1/2).

    ``nan`` when all labels are positive or all negative.
    """
    tp, fp = _ranked_counts(scores, labels)
    if tp.size == 0 or tp[-1] == 0 or fp[-1] == 0:
        return float("nan")
    tpr = np.concatenate([[0.0], tp / tp[-1]])
    fpr = np.concatenate([[0.0], fp / fp[-1]])
    return float(np.sum((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1]) / 2.0))


def pearson(x: Any, y: Any) -> float:
    """Pearson correlation of the flattened ``x`` and ``y``; ``nan`` if either is constant."""
    x = _np(x).astype(np.float64).ravel()
    y = _np(y).astype(np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in size: {x.size} vs {y.size}")
    xc, yc = x - x.mean(), y - y.mean()
    denom = np.sqrt((xc * xc).sum() * (yc * yc).sum())
    if denom == 0 or not np.isfinite(denom):
        return float("nan")
    return float((xc * yc).sum() / denom)


def macro_average_precision(probs: Any, truth: Any, ignore_index: int = -100) -> float:
    """Mean one-vs-rest AUPRC over the classes present in ``truth``.

    Args:
        probs: ``(N, K)`` class probabilities (or scores) per position.
        truth: ``(N,)`` integer labels; ``ignore_index`` rows are skipped.
    """
    probs, truth = _np(probs), _np(truth).ravel()
    keep = truth != ignore_index
    probs, truth = probs[keep], truth[keep]
    aps = [average_precision(probs[:, k], truth == k) for k in range(probs.shape[1]) if (truth == k).any()]
    return float(np.mean(aps)) if aps else float("nan")


class PerBaseEvaluation:
    """Accumulates a model's validation loss and metric inputs over batches.

    Call :meth:`add` per batch, then :meth:`result`. For several processes, sum
    :attr:`counts` and concatenate :meth:`arrays` over them and pass both to
    :meth:`result` (what :class:`seqfcn.training.trainer.Trainer` does under DDP).

    Metrics by target kind (``loss`` is the training loss name):

    * integer labels ``(batch, length)``: ``val_accuracy``; ``val_auprc`` (binary: class 1;
      more classes: macro one-vs-rest) and ``val_auroc`` (binary); when K == 4 and the
      first 4 input channels are one-hot bases, ``val_error_rate_reduction`` of the
      calls against the input bases (an all-zero N column counts as an input error);
    * float targets ``(batch, K, length)``, ``bce``/``dice``/``bce_dice``: ``val_accuracy``
      at threshold 0.5, ``val_auprc`` and ``val_auroc`` pooled over all elements;
    * ``mse``: ``val_pearson`` pooled over all elements.

    Positions with ``ignore_index`` labels or zero ``weight`` do not count.
    """

    def __init__(self, loss: str = "cross_entropy", ignore_index: int = -100) -> None:
        self.loss, self.ignore = loss, ignore_index
        # loss*n, n, correct, total, errors_before, errors_after, has_error_rate
        self.counts = np.zeros(7)
        self._scores: list[np.ndarray] = []
        self._labels: list[np.ndarray] = []

    def add(self, x: Any, out: Any, y: Any, weight: Any = None, loss: float = float("nan")) -> None:
        """One batch: inputs ``(batch, C, length)``, outputs ``(batch, K, length)``, targets, batch-mean loss."""
        import torch

        out = out.detach().float()
        n = x.shape[0]
        self.counts[0] += loss * n
        self.counts[1] += n
        if not y.dtype.is_floating_point:
            valid = y != self.ignore
            if weight is not None:
                valid &= (weight if weight.dim() == 2 else weight[:, None].expand_as(y)) > 0
            pred = out.argmax(dim=1)
            self.counts[2] += int((pred == y)[valid].sum())
            self.counts[3] += int(valid.sum())
            if out.shape[1] == 4 and x.shape[1] >= 4:
                bases = x[:, :4].float()
                observed = torch.where(bases.sum(dim=1) > 0, bases.argmax(dim=1), -1)
                self.counts[4] += int((observed != y)[valid].sum())
                self.counts[5] += int((pred != y)[valid].sum())
                self.counts[6] = 1
            self._scores.append(torch.softmax(out, dim=1).permute(0, 2, 1)[valid].cpu().numpy())
            self._labels.append(y[valid].cpu().numpy())
            return
        mask = torch.ones_like(y, dtype=torch.bool)
        if weight is not None:
            w = weight.to(y.device)
            w = w[:, None, None] if w.dim() == 1 else w[:, None, :] if w.dim() == 2 else w
            mask = (w > 0).expand_as(y)
        if self.loss == "mse":
            self._scores.append(out[mask].cpu().numpy())
            self._labels.append(y[mask].float().cpu().numpy())
            return
        probs = torch.sigmoid(out)
        self.counts[2] += int(((probs > 0.5) == (y > 0.5))[mask].sum())
        self.counts[3] += int(mask.sum())
        self._scores.append(probs[mask].cpu().numpy())
        self._labels.append((y[mask] > 0.5).cpu().numpy())

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Pooled scores (``(N, K)`` class probabilities or ``(N,)``) and labels ``(N,)``."""
        if not self._scores:
            return np.zeros(0, np.float32), np.zeros(0)
        return np.concatenate(self._scores), np.concatenate(self._labels)

    def result(self, counts: np.ndarray | None = None, scores: np.ndarray | None = None,
               labels: np.ndarray | None = None) -> dict[str, float]:
        """The metrics dict (see the class docstring); arguments default to this accumulator's own."""
        c = self.counts if counts is None else np.asarray(counts)
        if scores is None or labels is None:
            scores, labels = self.arrays()
        res = {"val_loss": float(c[0] / max(c[1], 1))}
        if self.loss == "mse":
            res["val_pearson"] = pearson(scores, labels) if len(scores) else float("nan")
            return res
        res["val_accuracy"] = float(c[2] / c[3]) if c[3] else float("nan")
        if c[6]:
            res["val_error_rate_reduction"] = float(1.0 - c[5] / c[4]) if c[4] else float("nan")
        if scores.ndim == 2:
            if scores.shape[1] == 2:
                res["val_auprc"] = average_precision(scores[:, 1], labels == 1)
                res["val_auroc"] = auroc(scores[:, 1], labels == 1)
            else:
                res["val_auprc"] = macro_average_precision(scores, labels, self.ignore)
        elif len(scores):
            res["val_auprc"] = average_precision(scores, labels)
            res["val_auroc"] = auroc(scores, labels)
        return res
