"""Sketch-based image retrieval metrics (seeds.md §4.f, §2.f) and a retrieval figure.

Zero-shot SBIR: every unseen-class sketch queries the whole unseen-class photo gallery;
relevant = same class. mAP@all averages the per-query average precision over the full ranking;
precision@k is the fraction of relevant photos among the k nearest. Instance-level SBIR (QMUL
shoes/chairs): query i's only match is gallery item i; acc@k = fraction of queries whose match
ranks within the top k.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


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


def save_retrieval_png(
    path: str | Path,
    distmat: np.ndarray,
    q_paths: list[str],
    q_labels: np.ndarray,
    g_paths: list[str],
    g_labels: np.ndarray,
    *,
    num_queries: int = 4,
    topk: int = 5,
    tile: int = 96,
) -> Path:
    """One row per query: the sketch, then its ``topk`` nearest photos framed green (same class)
    or red. Queries are the first ``num_queries`` rows of ``distmat`` (Q, G)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    nq = min(num_queries, distmat.shape[0])
    kk = min(topk, distmat.shape[1])
    fig, axes = plt.subplots(
        max(nq, 1), kk + 1, figsize=(1.3 * (kk + 1), 1.3 * max(nq, 1)), squeeze=False
    )
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    order = np.argsort(distmat, axis=1, kind="stable")[:nq, :kk]
    for r in range(nq):
        axes[r, 0].imshow(Image.open(q_paths[r]).convert("RGB").resize((tile, tile)))
        axes[r, 0].set_title("sketch", fontsize=7)
        for c, g in enumerate(order[r]):
            ax = axes[r, c + 1]
            ax.imshow(Image.open(g_paths[g]).convert("RGB").resize((tile, tile)))
            colour = "green" if g_labels[g] == q_labels[r] else "red"
            for spine in ax.spines.values():
                spine.set_edgecolor(colour)
                spine.set_linewidth(3)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
