"""Retrieval metrics: CMC, mAP and mINP under the Market protocol; single-gallery-shot CMC.

Conventions: ``distmat`` (Q, G) float, smaller = more similar; pids/camids are (Q,) / (G,) int
arrays. For every query, gallery items with the same pid AND the same camid are removed
(Market-1501 protocol: they are the same view, not a re-identification). Queries left with no
true match are skipped and counted in ``num_valid_queries``. Ties are broken by gallery order.
"""

from __future__ import annotations

import numpy as np

_CHUNK = 256  # queries per block: bounds memory at CHUNK x G


def market_rank(
    distmat: np.ndarray,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_camids: np.ndarray,
    g_camids: np.ndarray,
    max_rank: int = 20,
) -> dict[str, object]:
    """CMC (first true match), mAP (mean average precision over all true matches) and mINP.

    Returns:
        dict with ``cmc`` (max_rank,) float array (cmc[k] = fraction of valid queries whose first
        true match is within the top k+1), ``mAP``, ``mINP`` (floats in [0, 1]) and
        ``num_valid_queries`` (int). All metrics are 0 when no query is valid.
    """
    distmat = np.asarray(distmat, np.float64)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
    cmc_hits = np.zeros(max_rank)
    ap_sum = inp_sum = 0.0
    n_valid = 0
    for start in range(0, len(q_pids), _CHUNK):
        sl = slice(start, start + _CHUNK)
        order = np.argsort(distmat[sl], axis=1, kind="stable")
        match = g_pids[order] == q_pids[sl, None]
        keep = ~(match & (g_camids[order] == q_camids[sl, None]))
        hits = match & keep
        kept_rank = np.cumsum(keep, axis=1)  # 1-based rank among kept items
        n_hits = hits.sum(1)
        valid = n_hits > 0
        if not valid.any():
            continue
        hits, kept_rank, n_hits = hits[valid], kept_rank[valid], n_hits[valid]
        rows = np.arange(len(hits))
        first = kept_rank[rows, np.argmax(hits, axis=1)]
        cmc_hits += (first[:, None] <= np.arange(1, max_rank + 1)).sum(0)
        precision = np.cumsum(hits, axis=1) / np.maximum(
            kept_rank, 1
        )  # 0 only before any kept item
        ap_sum += float(((precision * hits).sum(1) / n_hits).sum())
        last = kept_rank[rows, hits.shape[1] - 1 - np.argmax(hits[:, ::-1], axis=1)]
        inp_sum += float((n_hits / last).sum())
        n_valid += int(valid.sum())
    if n_valid == 0:
        return {"cmc": np.zeros(max_rank), "mAP": 0.0, "mINP": 0.0, "num_valid_queries": 0}
    return {
        "cmc": cmc_hits / n_valid,
        "mAP": ap_sum / n_valid,
        "mINP": inp_sum / n_valid,
        "num_valid_queries": n_valid,
    }


def single_gallery_shot_cmc(
    distmat: np.ndarray,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_camids: np.ndarray,
    g_camids: np.ndarray,
    *,
    max_rank: int = 20,
    repeats: int = 10,
    separate_camera_set: bool = True,
    seed: int = 0,
) -> dict[str, object]:
    """CUHK03-style CMC used for DanceReID (open-reid's "cuhk03" setting, seeds.md 6.g).

    Per query the valid gallery excludes same pid + same camid and, with
    ``separate_camera_set``, every item of the query's camera. Each repetition draws one random
    valid item per gallery identity; the rank of the query's true identity among those draws
    gives the CMC; ``repeats`` draws are averaged.

    Returns:
        dict with ``cmc`` (max_rank,) and ``num_valid_queries``.
    """
    distmat = np.asarray(distmat, np.float64)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
    rng = np.random.default_rng(seed)
    perm = np.argsort(g_pids, kind="stable")
    _, starts, counts = np.unique(g_pids[perm], return_index=True, return_counts=True)
    cmc = np.zeros(max_rank)
    n_valid = 0
    for start in range(0, len(q_pids), _CHUNK):
        sl = slice(start, start + _CHUNK)
        match = g_pids[None, :] == q_pids[sl, None]
        same_cam = g_camids[None, :] == q_camids[sl, None]
        valid_g = ~same_cam if separate_camera_set else ~(match & same_cam)
        has_match = (match & valid_g).any(1)
        if not has_match.any():
            continue
        dist, match, valid_g = distmat[sl][has_match], match[has_match], valid_g[has_match]
        for _ in range(repeats):
            key = np.where(valid_g, rng.random(valid_g.shape), -1.0)[:, perm]
            best = np.repeat(np.maximum.reduceat(key, starts, axis=1), counts, axis=1)
            sampled = np.empty_like(valid_g)
            sampled[:, perm] = (key == best) & (key >= 0)
            d_true = np.where(sampled & match, dist, np.inf).min(1)
            rank = ((dist < d_true[:, None]) & sampled & ~match).sum(1)
            cmc += (rank[:, None] < np.arange(1, max_rank + 1)).sum(0) / repeats
        n_valid += int(has_match.sum())
    return {"cmc": cmc / max(n_valid, 1), "num_valid_queries": n_valid}


def euclidean_distance(q: np.ndarray, g: np.ndarray) -> np.ndarray:
    """(Q, D), (G, D) -> (Q, G) Euclidean distances."""
    q, g = np.asarray(q, np.float64), np.asarray(g, np.float64)
    d2 = (q * q).sum(1)[:, None] + (g * g).sum(1)[None, :] - 2.0 * q @ g.T
    return np.sqrt(np.maximum(d2, 0.0))
