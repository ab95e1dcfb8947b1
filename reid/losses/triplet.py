"""Batch-hard triplet loss (Hermans et al. 2017)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def pairwise_euclidean(x: torch.Tensor) -> torch.Tensor:
    """(N, D) -> (N, N) Euclidean distances, sqrt of a clamp at 1e-12 (finite gradients)."""
    sq = (x * x).sum(1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (x @ x.t())
    return d2.clamp(min=1e-12).sqrt()


class TripletLoss(nn.Module):
    """For each anchor: hardest positive d_ap = max, hardest negative d_an = min over the batch.

    Loss = mean softplus(d_ap - d_an) (``margin`` None, soft margin) or mean relu(d_ap - d_an +
    margin). Anchors without a positive or a negative in the batch are skipped.
    """

    def __init__(self, margin: float | None = None) -> None:
        super().__init__()
        self.margin = margin

    def forward(
        self, features: torch.Tensor, labels: torch.Tensor, anchor_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """features (N, D), labels (N,) -> scalar.

        Args:
            anchor_mask: optional (N,) bool; only these rows act as anchors (ST-ReIDNet excludes
                the sampled negatives), all rows still serve as positives/negatives.
        """
        dist = pairwise_euclidean(features.float())
        same = labels[:, None] == labels[None, :]
        eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
        pos = same & ~eye
        neg = ~same
        d_ap = dist.masked_fill(~pos, float("-inf")).amax(1)
        d_an = dist.masked_fill(~neg, float("inf")).amin(1)
        valid = pos.any(1) & neg.any(1)
        if anchor_mask is not None:
            valid &= anchor_mask
        if not valid.any():
            return features.sum() * 0.0
        diff = d_ap[valid] - d_an[valid]
        loss = F.softplus(diff) if self.margin is None else F.relu(diff + self.margin)
        return loss.mean()
