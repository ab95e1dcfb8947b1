"""DNS losses (seeds.md 5.c): pair-wise Circle loss, multi-kernel MMD domain alignment and the
domain distillation term with EMA cross-modal classifiers.

Batches are laid out ``[visible half; infrared half]`` (B = 2 * P * K); every function that
needs the modality halves takes them explicitly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def circle_loss(
    features: torch.Tensor, pids: torch.Tensor, margin: float = 0.45, gamma: float = 64.0
) -> torch.Tensor:
    """Pair-wise Circle loss (Sun et al. 2020) on cosine similarities, self-pairs excluded.

    For anchor i: ``alpha_p = [1 + m - s_p]_+``, ``alpha_n = [s_n + m]_+`` (no gradient),
    ``L_i = softplus(lse_p(-gamma alpha_p (s_p - (1 - m))) + lse_n(gamma alpha_n (s_n - m)))``;
    anchors without a positive or a negative contribute nothing.

    Args:
        features: (B, D) embeddings (normalised inside).
        pids: (B,) identity labels.

    Returns:
        Mean of ``L_i`` over the anchors that have both (0 when none has).
    """
    x = F.normalize(features.float(), dim=1)
    sim = x @ x.t()
    same = pids[:, None] == pids[None, :]
    eye = torch.eye(len(pids), dtype=torch.bool, device=x.device)
    pos, neg = same & ~eye, ~same
    alpha_p = (1 + margin - sim.detach()).clamp_min(0)
    alpha_n = (sim.detach() + margin).clamp_min(0)
    logit_p = (-gamma * alpha_p * (sim - (1 - margin))).masked_fill(~pos, float("-inf"))
    logit_n = (gamma * alpha_n * (sim - margin)).masked_fill(~neg, float("-inf"))
    valid = pos.any(1) & neg.any(1)
    if not valid.any():
        return sim.sum() * 0.0
    lse = torch.logsumexp(logit_p[valid], 1) + torch.logsumexp(logit_n[valid], 1)
    return F.softplus(lse).mean()


def mmd_rbf(
    x: torch.Tensor, y: torch.Tensor, kernel_num: int = 5, kernel_mul: float = 2.0
) -> torch.Tensor:
    """Squared MMD between samples ``x`` (N, D) and ``y`` (M, D) with a sum of RBF kernels.

    Inputs are L2-normalised. Bandwidths ``sigma_i = sigma0 * kernel_mul**i /
    kernel_mul**(kernel_num // 2)`` (i = 0..kernel_num-1; with the defaults sigma0 * 2^i / 4),
    sigma0 = the mean pairwise squared distance of the pooled set (self-pairs excluded, no
    gradient); kernel ``k(a, b) = sum_i exp(-|a - b|^2 / sigma_i)``.

    Returns:
        ``mean K_xx + mean K_yy - mean K_xy - mean K_yx`` (scalar).
    """
    z = F.normalize(torch.cat([x, y]).float(), dim=1)
    n, total = len(x), len(z)
    d2 = torch.cdist(z, z).pow(2)
    sigma0 = d2.detach().sum() / max(total * total - total, 1)
    sigma0 = sigma0.clamp_min(1e-12) / kernel_mul ** (kernel_num // 2)
    k = sum(torch.exp(-d2 / (sigma0 * kernel_mul**i)) for i in range(kernel_num))
    return k[:n, :n].mean() + k[n:, n:].mean() - k[:n, n:].mean() - k[n:, :n].mean()


def domain_alignment_loss(
    z: torch.Tensor, z_hat: torch.Tensor, inter_weight: float = 0.45, intra_weight: float = 0.05
) -> torch.Tensor:
    """``L_da = w_inter (MMD(Z^v, Z^r) + MMD(Zh^v, Zh^r)) + w_intra (MMD(Z^v, Zh^v) +
    MMD(Z^r, Zh^r))`` on pre-BN Z and CSS-shifted Zh, both (B, D) = [visible; infrared]."""
    h = len(z) // 2
    zv, zr, hv, hr = z[:h], z[h:], z_hat[:h], z_hat[h:]
    inter = mmd_rbf(zv, zr) + mmd_rbf(hv, hr)
    intra = mmd_rbf(zv, hv) + mmd_rbf(zr, hr)
    return inter_weight * inter + intra_weight * intra


@torch.no_grad()
def ema_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """``A <- (1 - tau) A + tau W`` for every parameter pair (the EMA classifiers)."""
    for a, w in zip(target.parameters(), source.parameters(), strict=True):
        a.mul_(1 - tau).add_(w.detach(), alpha=tau)


def domain_distillation_term(
    feature: torch.Tensor,
    pids: torch.Tensor,
    cls_v: nn.Module,
    cls_r: nn.Module,
    ema_v: nn.Module,
    ema_r: nn.Module,
    ce_weight: float = 0.25,
) -> torch.Tensor:
    """One DD term for ``feature`` (B, D) = [visible; infrared] with labels ``pids`` (B,).

    ``p_W = softmax([W^v F^v; W^r F^r])``, ``p_A = softmax([A^r F^v; A^v F^r])`` (the *other*
    modality's EMA classifier, no gradient); returns ``KL(p_W || p_A)`` (batch mean) +
    ``ce_weight * (CE(W^v F^v, y^v) + CE(W^r F^r, y^r))``.
    """
    h = len(feature) // 2
    fv, fr = feature[:h].float(), feature[h:].float()
    logits_w = torch.cat([cls_v(fv), cls_r(fr)])
    with torch.no_grad():
        logits_a = torch.cat([ema_r(fv), ema_v(fr)])
    log_pw = F.log_softmax(logits_w, 1)
    log_pa = F.log_softmax(logits_a, 1)
    kl = F.kl_div(log_pa, log_pw, reduction="batchmean", log_target=True)
    ce = F.cross_entropy(logits_w[:h], pids[:h]) + F.cross_entropy(logits_w[h:], pids[h:])
    return kl + ce_weight * ce
