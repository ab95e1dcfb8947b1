"""ECN's exemplar memory and invariance losses (Zhong et al., CVPR 2019; seeds.md 3.c).

The memory K (N_t, D) holds one L2-normalised feature per target training image. For a target
feature f (N, D) the logits over the memory are ``f @ K.T / beta`` and

* exemplar / camera invariance: cross-entropy with the image's own slot as the label;
* neighbourhood invariance: soft-target cross-entropy, weight 1 on the own slot and 1/k on each
  of the k slots with the highest (current) logits (the own slot keeps 1 when among them).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class ExemplarMemory:
    """Non-parametric memory of N target features of dimension D (zeros at start, no SGD).

    Args:
        num_slots: N, the number of target training images.
        dim: D, the feature length.
        device: where the memory lives.
    """

    def __init__(self, num_slots: int, dim: int, device: torch.device | str = "cpu") -> None:
        if num_slots < 1 or dim < 1:
            raise ValueError(f"exemplar memory needs >= 1 slot and dim, got {num_slots}x{dim}")
        self.features = torch.zeros(num_slots, dim, device=device)

    def logits(self, features: torch.Tensor, beta: float) -> torch.Tensor:
        """Features (B, D) -> similarity logits (B, N) ``features @ K.T / beta`` (K not traced)."""
        return features.float() @ self.features.t() / beta

    @torch.no_grad()
    def update(self, features: torch.Tensor, indices: torch.Tensor, alpha: float) -> None:
        """``K[i] <- alpha K[i] + (1 - alpha) f``, then ``K[i] <- K[i] / ||K[i]||`` per sample.

        Args:
            features: (B, D) the batch's target features (ECN: after its dropout).
            indices: (B,) int64 memory slots; a repeated slot is updated sequentially in batch
                order, as the original's per-sample loop does.
            alpha: momentum (ECN: 0.01 x the 0-based epoch; 0 overwrites the slot).
        """
        f = features.detach().float()
        if indices.unique().numel() == indices.numel():
            mixed = alpha * self.features[indices] + (1.0 - alpha) * f
            self.features[indices] = F.normalize(mixed, dim=1)
            return
        for i, x in zip(indices.tolist(), f, strict=True):
            self.features[i] = F.normalize(alpha * self.features[i] + (1.0 - alpha) * x, dim=0)


def neighbourhood_targets(logits: torch.Tensor, indices: torch.Tensor, k: int) -> torch.Tensor:
    """Soft targets (B, N): 1/k on each row's k highest logits, then 1 on the own slot."""
    logits = logits.detach()
    targets = torch.zeros_like(logits, dtype=torch.float32)
    k = min(k, logits.shape[1])
    if k > 0:
        top = logits.topk(k, dim=1).indices
        targets.scatter_(1, top, 1.0 / k)
    targets.scatter_(1, indices[:, None], 1.0)
    return targets


def invariance_loss(logits: torch.Tensor, indices: torch.Tensor, knn: int = 0) -> torch.Tensor:
    """Batch mean of ``-sum_j w_ij log p(j | x_i)`` with p = softmax(logits).

    Args:
        logits: (B, N) memory logits (already divided by the temperature).
        indices: (B,) int64 own slots.
        knn: 0 = exemplar (+ camera) invariance only (one-hot w); k > 0 adds neighbourhood
            invariance with :func:`neighbourhood_targets`.
    """
    if knn <= 0:
        return F.cross_entropy(logits.float(), indices)
    log_p = F.log_softmax(logits.float(), dim=1)
    return -(neighbourhood_targets(logits, indices, knn) * log_p).sum(1).mean()
