"""k-reciprocal re-ranking (Zhong et al., CVPR 2017)."""

from __future__ import annotations

import numpy as np


def _k_reciprocal(initial_rank: np.ndarray, i: int, k: int) -> np.ndarray:
    """Items j in i's top-k+1 whose own top-k+1 contains i."""
    forward = initial_rank[i, : k + 1]
    backward = initial_rank[forward, : k + 1]
    return forward[(backward == i).any(1)]


def k_reciprocal_rerank(
    q_g: np.ndarray,
    q_q: np.ndarray,
    g_g: np.ndarray,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
) -> np.ndarray:
    """Re-ranked (Q, G) distance: (1 - lambda) * Jaccard of k-reciprocal sets + lambda * original.

    Args:
        q_g, q_q, g_g: (Q, G), (Q, Q), (G, G) distances (e.g. Euclidean), smaller = closer.
        k1: neighbourhood of the k-reciprocal sets; k2: local query expansion size.
        lambda_value: weight of the original distance.

    Memory is O((Q + G)^2) float32.
    """
    n_q = q_g.shape[0]
    dist = np.block([[q_q, q_g], [q_g.T, g_g]]).astype(np.float32) ** 2
    dist = dist / np.maximum(
        dist.max(axis=1, keepdims=True), 1e-12
    )  # row i: from item i, in [0, 1]
    n = dist.shape[0]
    initial_rank = np.argsort(dist, axis=1, kind="stable")[:, : k1 + 1]
    weights = np.zeros((n, n), np.float32)
    half = round(k1 / 2)
    for i in range(n):
        expanded = reciprocal = _k_reciprocal(initial_rank, i, k1)
        # Add a neighbour's own (k1/2)-reciprocal set when it mostly overlaps ours: recovers
        # true matches that are hard for the plain k-reciprocal test.
        for j in reciprocal:
            candidates = _k_reciprocal(initial_rank, j, half)
            if len(np.intersect1d(candidates, reciprocal)) > 2 / 3 * len(candidates):
                expanded = np.union1d(expanded, candidates)
        expanded = np.unique(expanded)
        w = np.exp(-dist[i, expanded])
        weights[i, expanded] = w / w.sum()
    if k2 > 1:
        weights = weights[initial_rank[:, :k2]].mean(axis=1)
    jaccard = np.empty((n_q, n - n_q), np.float32)
    g_weights = weights[n_q:]
    for i in range(n_q):
        nz = np.flatnonzero(weights[i])
        overlap = np.minimum(weights[i, nz][None, :], g_weights[:, nz]).sum(1)
        jaccard[i] = 1.0 - overlap / (2.0 - overlap)
    return (1 - lambda_value) * jaccard + lambda_value * dist[:n_q, n_q:]
