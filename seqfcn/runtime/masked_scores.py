"""Zero-shot base scores of a masked-base trunk (``seqfcn train --task mask``).

A trunk predicts, at a masked position (input all zeros), the probabilities of the four bases
from the context on both sides. :class:`MaskedBaseScore` turns it into a per-base score: the
natural log-probability it gives the base that is there, with that base masked.

Masking one base per forward pass would cost a pass per base. Instead position ``i`` is
scored in the pass that masks ``i`` and every :data:`SCORE_PERIOD`-th base from it
(``i ± m * SCORE_PERIOD``): ``SCORE_PERIOD`` passes score every base, each with 1/7 = 14 %
of the bases around it masked (a trunk trains with 15 %). What is masked around ``i`` is fixed
relative to ``i``, so a base's score does not depend on where a window starts: tiled runs equal
untiled ones. Both strands are run and the probabilities averaged (on the reverse strand the
output channels are complemented: A<->T, C<->G). An N (or any non-ACGT) scores NaN.

Used by ``seqfcn predict`` (the log-probability track), ``seqfcn variants`` (alt minus ref: a
log-likelihood ratio) and ``seqfcn evaluate mask`` (bits per base).
"""
from __future__ import annotations

import math

import torch

from seqfcn.sequence.encode import reverse_complement_onehot

SCORE_PERIOD = 7
"""Every ``SCORE_PERIOD``-th base is masked in a scoring pass (see the module docstring)."""
ACTIVATION = "log_prob"
"""What :func:`seqfcn.runtime.inference.load_sequence_model` reports as the activation of a trunk."""


class MaskedBaseScore(torch.nn.Module):
    """``(batch, 4, W) -> (batch, 1, W)``: ln p(the base at ``i`` | its context, ``i`` masked) of a
    trunk ``(batch, 4, W) -> (batch, 4, W)`` base logits; NaN where the input is not A/C/G/T."""

    def __init__(self, model: torch.nn.Module, period: int = SCORE_PERIOD) -> None:
        super().__init__()
        if period < 1:
            raise ValueError(f"period must be >= 1, got {period}")
        self.model, self.period = model, int(period)

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, 4, W) -> (batch, 4, W)``: the trunk's base probabilities, both strands averaged."""
        forward = torch.softmax(self.model(x).float(), dim=1)
        reverse = torch.softmax(self.model(reverse_complement_onehot(x)).float(), dim=1).flip(-1).flip(1)
        return (forward + reverse) / 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.full((x.shape[0], 1, x.shape[-1]), math.nan, dtype=torch.float32, device=x.device)
        for phase in range(min(self.period, x.shape[-1])):
            masked = x.clone()
            masked[:, :, phase :: self.period] = 0
            probs = self.probabilities(masked)[:, :, phase :: self.period]
            seen = x[:, :, phase :: self.period].float()
            p = (probs * seen).sum(1)
            score = torch.log(p.clamp_min(torch.finfo(torch.float32).tiny))
            out[:, 0, phase :: self.period] = torch.where(seen.sum(1) > 0, score, math.nan)
        return out
