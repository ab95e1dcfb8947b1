"""ST-ReIDNet's reconstruction loss (seeds.md 6.d): L1 with extra weight inside the skeleton
mask."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def masked_l1(
    output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None, alpha: float
) -> torch.Tensor:
    """``[L1(y, t) + alpha * L1(y * M, t * M)] / (1 + alpha)`` (mean absolute errors); plain
    L1 when ``mask`` is None. output/target (N,C,H,W), mask (N,1,H,W) in {0, 1}."""
    l1 = F.l1_loss(output, target)
    if mask is None:
        return l1
    return (l1 + alpha * F.l1_loss(output * mask, target * mask)) / (1 + alpha)
