"""Per-base training losses for sequence-to-sequence models.

Every loss takes ``logits`` of shape ``(batch, K, length)`` and a target that is
either

* integer class labels ``(batch, length)`` (``ignore_index`` marks positions
  that do not count), or
* float targets ``(batch, K, length)`` with values in ``[0, 1]`` (multi-label /
  sparse binary tracks) or real values (profiles, for ``mse``),

plus an optional non-negative ``weight`` broadcastable to the per-element loss:
``(batch, length)`` (per position), ``(batch, K, length)`` or ``(batch,)``
(per sample). Weighted losses are ``sum(w * l) / sum(w)``.

``LOSSES`` maps the names the trainer and CLI use to the functions;
:func:`get_loss` looks one up.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from seqfcn.errors import SeqfcnError

LossFn = Callable[..., torch.Tensor]


def _weight_like(weight: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor | None:
    """Reshape ``weight`` so it broadcasts against ``like`` of shape ``(batch, K, length)``."""
    if weight is None:
        return None
    weight = weight.to(dtype=like.dtype, device=like.device)
    if weight.dim() == 1:  # (batch,)
        weight = weight[:, None, None]
    elif weight.dim() == 2:  # (batch, length)
        weight = weight[:, None, :]
    return weight.expand_as(like)


def _weighted_mean(per_element: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    if weight is None:
        return per_element.mean()
    return (per_element * weight).sum() / weight.sum().clamp_min(torch.finfo(per_element.dtype).tiny)


def cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    ignore_index: int = -100,
) -> torch.Tensor:
    """Mean per-base cross-entropy over the positions whose label is not ``ignore_index``.

    Args:
        logits: ``(batch, K, length)`` unnormalised class scores.
        target: ``(batch, length)`` int64 class labels in ``[0, K)`` or ``ignore_index``.
        weight: optional ``(batch, length)`` or ``(batch,)`` per-position / per-sample weights.

    Returns a scalar; 0 (with a gradient path) when every position is ignored.
    """
    if target.dtype.is_floating_point:
        raise SeqfcnError("loss 'cross_entropy' needs integer class targets of shape (batch, length)")
    per_pos = F.cross_entropy(logits.float(), target, ignore_index=ignore_index, reduction="none")
    valid = (target != ignore_index).to(per_pos.dtype)
    if weight is not None:
        w = weight.to(dtype=per_pos.dtype, device=per_pos.device)
        if w.dim() == 1:
            w = w[:, None]
        valid = valid * w.expand_as(valid)
    return (per_pos * valid).sum() / valid.sum().clamp_min(1e-12)


def bce(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    ignore_index: int = -100,
) -> torch.Tensor:
    """Mean binary cross-entropy with logits.

    Args:
        logits: ``(batch, K, length)``.
        target: ``(batch, K, length)`` floats in ``[0, 1]``; integer ``(batch, length)``
            labels are one-hot encoded first (``ignore_index`` positions get weight 0).
    """
    target, weight = _as_float_target(logits, target, weight, ignore_index)
    per_el = F.binary_cross_entropy_with_logits(logits.float(), target, reduction="none")
    return _weighted_mean(per_el, _weight_like(weight, per_el))


def dice(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    ignore_index: int = -100,
    smooth: float = 1.0,
) -> torch.Tensor:
    """Soft Dice loss, averaged over the K output channels.

    For channel ``c``: ``1 - (2 * sum(p * y) + smooth) / (sum(p) + sum(y) + smooth)``
    with the sums over batch and length (weighted by ``weight``). ``p`` is
    ``sigmoid(logits)`` for float targets and ``softmax(logits, dim=1)`` for integer
    class targets (which are one-hot encoded; ``ignore_index`` positions drop out).
    Because each channel is normalised by its own total, a rare positive class
    counts as much as a common one.
    """
    if target.dtype.is_floating_point:
        probs = torch.sigmoid(logits.float())
    else:
        probs = torch.softmax(logits.float(), dim=1)
    target, weight = _as_float_target(logits, target, weight, ignore_index)
    w = _weight_like(weight, probs)
    if w is not None:
        probs_w, target_w = probs * w, target * w
    else:
        probs_w, target_w = probs, target
    inter = (probs_w * target).sum(dim=(0, 2))
    denom = probs_w.sum(dim=(0, 2)) + target_w.sum(dim=(0, 2))
    return (1.0 - (2.0 * inter + smooth) / (denom + smooth)).mean()


def bce_dice(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    ignore_index: int = -100,
    dice_weight: float = 1.0,
) -> torch.Tensor:
    """``bce + dice_weight * dice`` — BCE gives per-base calibration, Dice handles sparse positives."""
    return bce(logits, target, weight, ignore_index) + dice_weight * dice(logits, target, weight, ignore_index)


def bce_max(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    ignore_index: int = -100,
) -> torch.Tensor:
    """Multiple-instance BCE: per sample and channel, the highest logit over the length
    against the highest target (a sequence is positive when any base is).

    For models whose sequence score is their best base (motif presence): a positive needs
    one confident base anywhere, not every labelled base, and the unlabelled bases of a
    positive are not pushed down. Positions of weight 0 are left out of both maxima; a
    sample's weight is its largest position weight (a ``(batch,)`` weight is per sample).
    """
    target, weight = _as_float_target(logits, target, weight, ignore_index)
    logits = logits.float()
    w = _weight_like(weight, logits)
    if w is not None:
        off = w <= 0
        logits = logits.masked_fill(off, float("-inf"))
        target = target.masked_fill(off, 0.0)
        w = w.amax(dim=-1)  # (batch, K)
    top = logits.amax(dim=-1)
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))  # all left out: weight 0 anyway
    per = F.binary_cross_entropy_with_logits(top, target.amax(dim=-1), reduction="none")
    return _weighted_mean(per, w)


def bce_dice_max(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    ignore_index: int = -100,
) -> torch.Tensor:
    """``bce_dice + bce_max``: the per-base terms place the signal (every base of a labelled
    stretch gets a gradient, which starts a model from random weights), the sequence term
    scores what a motif model is judged on, its best base."""
    return bce_dice(logits, target, weight, ignore_index) + bce_max(logits, target, weight, ignore_index)


def mse(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    ignore_index: int = -100,
) -> torch.Tensor:
    """Mean squared error between outputs ``(batch, K, length)`` and float profile targets of the same shape."""
    if not target.dtype.is_floating_point:
        raise SeqfcnError("loss 'mse' needs float targets of shape (batch, K, length)")
    per_el = (logits.float() - target.float()) ** 2
    return _weighted_mean(per_el, _weight_like(weight, per_el))


def _as_float_target(
    logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None, ignore_index: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Float ``(batch, K, length)`` target (one-hot for class labels) and the matching weight."""
    if target.dtype.is_floating_point:
        if target.shape != logits.shape:
            raise SeqfcnError(
                f"float targets have shape {tuple(target.shape)} but the model outputs {tuple(logits.shape)}"
            )
        return target.float(), weight
    valid = target != ignore_index
    onehot = F.one_hot(torch.where(valid, target, 0), logits.shape[1]).permute(0, 2, 1).float()
    onehot = onehot * valid[:, None, :]
    mask = valid.float()
    if weight is not None:
        w = weight.to(dtype=mask.dtype, device=mask.device)
        mask = mask * (w[:, None] if w.dim() == 1 else w)
    return onehot, mask


LOSSES: dict[str, LossFn] = {
    "cross_entropy": cross_entropy,
    "bce": bce,
    "dice": dice,
    "bce_dice": bce_dice,
    "bce_max": bce_max,
    "bce_dice_max": bce_dice_max,
    "mse": mse,
}


def get_loss(name: str) -> LossFn:
    """The loss function registered as ``name`` (one of ``LOSSES``)."""
    try:
        return LOSSES[name]
    except KeyError:
        raise SeqfcnError(f"unknown loss {name!r}; choose one of {', '.join(sorted(LOSSES))}") from None
