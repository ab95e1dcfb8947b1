"""FMCL's momentum-contrast pieces (seeds.md 3.h): the EMA update of the momentum encoder,
MoCo-style logits against a memory of EMA keys, softmax neighbour targets and the soft
cross-entropy between the online and EMA classifiers."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, alpha: float) -> None:
    """``ema_p <- alpha ema_p + (1 - alpha) p`` for every parameter (buffers untouched)."""
    for e, p in zip(ema.parameters(), model.parameters(), strict=True):
        e.mul_(alpha).add_(p.detach(), alpha=1.0 - alpha)


def momentum_logits(
    q: torch.Tensor, k: torch.Tensor, memory: torch.Tensor, temperature: float
) -> torch.Tensor:
    """``[q.k | q Q^T] / T``: q, k (B, D) unit features, memory Q (N, D) -> (B, 1 + N)."""
    l_pos = (q * k).sum(1, keepdim=True)
    return torch.cat([l_pos, q @ memory.t()], dim=1) / temperature


def momentum_neighbour_targets(logits: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """Soft targets (B, C): the k columns ranked 2..k+1 by logit (the top match skipped) get
    the softmax of their logits, then the own column ``labels`` gets 1."""
    logits = logits.detach().float()
    targets = torch.zeros_like(logits)
    k = min(k, logits.shape[1] - 1)
    if k > 0:
        vals, cols = logits.topk(k + 1, dim=1)
        targets.scatter_(1, cols[:, 1:], F.softmax(vals[:, 1:], dim=1))
    targets.scatter_(1, labels[:, None], 1.0)
    return targets


def soft_entropy(logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """Batch mean of ``-sum_c softmax(teacher)_c log softmax(logits)_c`` (teacher detached)."""
    p = F.softmax(teacher_logits.detach().float(), dim=1)
    return -(p * F.log_softmax(logits.float(), dim=1)).sum(1).mean()
