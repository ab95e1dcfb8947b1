"""Sketch-based image retrieval metrics (seeds.md §4.f, §2.f).

Zero-shot SBIR: every unseen-class sketch queries the whole unseen-class photo gallery;
relevant = same class. mAP@all averages the per-query average precision over the full ranking;
precision@k is the fraction of relevant photos among the k nearest. Instance-level SBIR (QMUL
shoes/chairs): query i's only match is gallery item i; acc@k = fraction of queries whose match
ranks within the top k, ranking by ``-cosine`` (:func:`evaluate_pairs`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reid.metrics.crossmodal import cosine_distance


def _ranked_relevance(
    distmat: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray
) -> np.ndarray:
    order = np.argsort(distmat, axis=1, kind="stable")
    return g_labels[order] == q_labels[:, None]


def map_at_all(distmat: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray) -> float:
    """Mean average precision over the full gallery ranking.

    Args:
        distmat: (Q, G) distances (smaller = more similar).
        q_labels: (Q,) class of each query; g_labels: (G,) class of each gallery item.

    Returns:
        mAP in [0, 1]; queries without any relevant gallery item are skipped (0.0 if none left).
    """
    if distmat.shape[0] == 0 or distmat.shape[1] == 0:
        return 0.0
    rel = _ranked_relevance(distmat, np.asarray(q_labels), np.asarray(g_labels))
    n_rel = rel.sum(1)
    valid = n_rel > 0
    if not valid.any():
        return 0.0
    hits = np.cumsum(rel, axis=1)
    ranks = np.arange(1, rel.shape[1] + 1)
    ap = (rel * hits / ranks).sum(1)[valid] / n_rel[valid]
    return float(ap.mean())


def precision_at_k(
    distmat: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, k: int = 100
) -> float:
    """Mean fraction of relevant items among each query's ``min(k, G)`` nearest gallery items."""
    if distmat.shape[0] == 0 or distmat.shape[1] == 0:
        return 0.0
    rel = _ranked_relevance(distmat, np.asarray(q_labels), np.asarray(g_labels))
    kk = min(k, rel.shape[1])
    return float(rel[:, :kk].mean())


def pair_accuracy(distmat: np.ndarray, ks: tuple[int, ...] = (1, 10)) -> dict[str, float]:
    """Instance-level acc@k for paired test sets (QMUL): query i matches gallery i.

    Args:
        distmat: (N, N) sketch-to-photo distances, pairs on the diagonal.

    Returns:
        ``{"acc@1": ..., "acc@10": ...}`` fractions in [0, 1] (0.0 for N = 0).
    """
    n = distmat.shape[0]
    if distmat.shape != (n, n):
        raise ValueError(f"pair accuracy needs a square distance matrix, got {distmat.shape}")
    if n == 0:
        return {f"acc@{k}": 0.0 for k in ks}
    # rank of the true match = number of gallery items strictly closer than it
    rank = (distmat < np.diag(distmat)[:, None]).sum(1)
    return {f"acc@{k}": float((rank < k).mean()) for k in ks}


def sbir_metrics(
    distmat: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, k: int = 100
) -> dict[str, float]:
    """``{"mAP@all": ..., "P@k": ...}`` of a zero-shot SBIR evaluation."""
    return {
        "mAP@all": map_at_all(distmat, q_labels, g_labels),
        f"P@{k}": precision_at_k(distmat, q_labels, g_labels, k),
    }


def evaluate_pairs(
    sketch_feats: np.ndarray, photo_feats: np.ndarray, ks: tuple[int, ...] = (1, 10)
) -> dict[str, Any]:
    """acc@k of paired features: row k of both arrays is pair k.

    Args:
        sketch_feats: (N, D) sketch features; photo_feats: (N, D) photo features.

    Returns:
        ``acc@k`` (fractions) sketch -> photo, ``num_pairs``, and ``photo_to_sketch`` (the same
        keys for the reverse direction).
    """
    s = np.asarray(sketch_feats, np.float64)
    p = np.asarray(photo_feats, np.float64)
    if s.shape[0] != p.shape[0]:
        raise ValueError(f"{s.shape[0]} sketch features but {p.shape[0]} photo features")
    dist = cosine_distance(s, p) if len(s) else np.zeros((0, 0))
    return {
        **pair_accuracy(dist, ks),
        "num_pairs": len(s),
        "photo_to_sketch": pair_accuracy(dist.T, ks),
    }
