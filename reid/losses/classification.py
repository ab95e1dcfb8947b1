"""Identity classification loss."""

from __future__ import annotations

import torch
from torch import nn


class CrossEntropyLabelSmooth(nn.Module):
    """Label-smoothed cross-entropy: q = (1 - eps) onehot + eps / K, L = mean_i -sum q log p.

    Args:
        eps: smoothing epsilon (0 gives the plain cross-entropy).
    """

    def __init__(self, eps: float = 0.1) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """logits (N, K) float, targets (N,) int64 in [0, K) -> scalar."""
        log_p = torch.log_softmax(logits.float(), dim=1)
        nll = -log_p.gather(1, targets[:, None]).squeeze(1)
        return ((1 - self.eps) * nll - self.eps * log_p.mean(dim=1)).mean()
