"""Deep-supervision loss of U²-Net: a weighted sum of BCE over the fused and six side outputs."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

OUTPUT_NAMES = ("fused", "side1", "side2", "side3", "side4", "side5", "side6")


class DeepSupervisionLoss(nn.Module):
    """``sum_i w_i * BCEWithLogits(output_i, target)``; all weights 1 in the paper."""

    def __init__(self, weights: Sequence[float] = (1.0,) * 7) -> None:
        super().__init__()
        if len(weights) != len(OUTPUT_NAMES):
            raise ValueError(f"need {len(OUTPUT_NAMES)} loss weights ({', '.join(OUTPUT_NAMES)}), got {len(weights)}")
        self.weights = tuple(float(w) for w in weights)

    def terms(self, logits: Sequence[torch.Tensor], target: torch.Tensor) -> dict[str, torch.Tensor]:
        return {
            name: F.binary_cross_entropy_with_logits(output.float(), target)
            for name, output in zip(OUTPUT_NAMES, logits, strict=True)
        }

    def forward(self, logits: Sequence[torch.Tensor], target: torch.Tensor | Sequence[torch.Tensor]
                ) -> torch.Tensor:
        """``target``: one mask for every output, or one per output (a teacher's fused and side maps)."""
        targets = [target] * len(logits) if isinstance(target, torch.Tensor) else list(target)
        terms = [F.binary_cross_entropy_with_logits(output.float(), goal.float())
                 for output, goal in zip(logits, targets, strict=True)]
        return sum(w * t for w, t in zip(self.weights, terms, strict=True))  # type: ignore[return-value]
