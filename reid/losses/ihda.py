"""IHDA's losses (seeds.md 2.c; paper forms): attribute BCE, entropy and consistency, the
3-domain loss behind the GRL, and the sketch-anchor heterogeneous triplet."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def attribute_bce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """L_att^s: mean binary CE of sigmoid(logits) (N, A) against 0/1 targets (N, A)."""
    if logits.numel() == 0:
        return logits.sum() * 0.0
    return F.binary_cross_entropy_with_logits(logits.float(), targets.float())


def attribute_entropy(logits: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Entropy minimisation on unlabelled attributes: mean over images of -sum_i phi_i log phi_i,
    phi = sigmoid(logits) (N, A)."""
    phi = torch.sigmoid(logits.float())
    return -(phi * torch.log(phi + eps)).sum(1).mean()


def attribute_consistency(logits_photo: torch.Tensor, logits_sketch: torch.Tensor) -> torch.Tensor:
    """L_con: mean over pairs of ||phi(photo) - phi(sketch)||^2 (rows are same-identity pairs)."""
    d = torch.sigmoid(logits_photo.float()) - torch.sigmoid(logits_sketch.float())
    return (d * d).sum(1).mean()


def domain_loss(logits: torch.Tensor, domains: torch.Tensor) -> torch.Tensor:
    """L_d = CE(logits (N, 3), domains (N,)) on raw logits, minimised by C_d (the GRL makes the
    encoders maximise it). The released code's -CE(softmax(logits)) is the fixed bug."""
    return F.cross_entropy(logits.float(), domains)


def hetero_triplet(
    sketch: torch.Tensor, photo: torch.Tensor, pids: torch.Tensor, margin: float = 0.3
) -> torch.Tensor:
    """Sketch-anchor triplet [||a - p||^2 - ||a - n||^2 + margin]_+ with the paired photo as p
    and the closest other-identity photo of the batch as n; sketch, photo (N, D), pids (N,)."""
    d2 = torch.cdist(sketch.float(), photo.float()).pow(2)
    same = pids[:, None] == pids[None, :]
    d_ap = d2.diagonal()
    d_an = d2.masked_fill(same, float("inf")).amin(1)
    valid = torch.isfinite(d_an)
    if not valid.any():
        return sketch.sum() * 0.0
    return F.relu(d_ap[valid] - d_an[valid] + margin).mean()
