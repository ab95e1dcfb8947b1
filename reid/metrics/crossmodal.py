"""Cross-modality evaluation protocols (seeds.md 5.f), following the released evaluation code.

* ``sysu-all`` / ``sysu-indoor``: query = all infrared images (cams 3, 6); gallery = ONE random
  visible image per (identity, camera) from cams 1, 2, 4, 5 (indoor: 1, 2), redrawn for each
  of the trials (trial t uses seed t). For a cam-3 query every cam-2 gallery image is
  discarded (the released ``eval_sysu`` drops them whatever the identity; cams 2 and 3 share a
  room). CMC over the identity ranking (duplicates of an identity count once); mAP / mINP over
  the kept gallery.
* ``llcm``: like SYSU (single shot per (id, cam), trials) with the same-identity-same-camera
  removal; either direction (the caller passes query / gallery accordingly).
* ``regdb``: the whole other-modality test set as gallery, no removal, one pass per split
  (average splits with :func:`aggregate`).

Distances are ``-cosine`` of L2-normalised features. Camera ids are the 0-based ``camid`` of
:class:`reid.data.datasets.Sample` (SYSU cam3 -> 2). Feature extraction and the datasets'
directions live in :mod:`reid.evaluation.crossmodal`; this module is numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from core.errors import UserError

PROTOCOLS = ("sysu-all", "sysu-indoor", "llcm", "regdb")
SYSU_GALLERY_CAMS = {"sysu-all": (0, 1, 3, 4), "sysu-indoor": (0, 1)}
_SYSU_RULE = (2, 1)  # (query camid, gallery camid): cam3 queries never see cam2 images
METRIC_KEYS = ("rank1", "rank5", "rank10", "rank20", "mAP", "mINP")


def single_shot_gallery(
    g_pids: np.ndarray, g_cams: np.ndarray, cams: Sequence[int] | None, seed: int
) -> np.ndarray:
    """Indices (sorted) of one random gallery item per (pid, camera), cameras limited to
    ``cams`` (None = all); deterministic in ``seed``."""
    g_pids, g_cams = np.asarray(g_pids), np.asarray(g_cams)
    allowed = np.ones(len(g_pids), bool) if cams is None else np.isin(g_cams, cams)
    idx = np.flatnonzero(allowed)
    rng = np.random.default_rng(seed)
    # Random key per item; the minimum of each (pid, cam) group is its draw.
    keys = rng.random(len(idx))
    order = np.lexsort((keys, g_cams[idx], g_pids[idx]))
    sorted_idx = idx[order]
    first = np.ones(len(sorted_idx), bool)
    first[1:] = (np.diff(g_pids[sorted_idx]) != 0) | (np.diff(g_cams[sorted_idx]) != 0)
    return np.sort(sorted_idx[first])


def rank_crossmodal(
    distmat: np.ndarray,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_cams: np.ndarray,
    g_cams: np.ndarray,
    removal: str,
    *,
    dedup_cmc: bool,
    max_rank: int = 20,
) -> dict[str, float]:
    """CMC (ranks 1, 5, 10, 20), mAP and mINP of one query/gallery draw.

    Args:
        distmat: (Q, G), smaller = closer.
        removal: "none", "sysu" (cam3 query drops every cam2 gallery item) or "same_cam"
            (same identity AND same camera dropped).
        dedup_cmc: CMC over the identity ranking (first occurrence of each gallery id).

    Returns:
        Fractions in [0, 1]; queries without a kept true match are skipped
        (``num_valid_queries``).
    """
    if removal not in ("none", "sysu", "same_cam"):
        raise ValueError(f"removal must be none, sysu or same_cam, got {removal!r}")
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_cams, g_cams = np.asarray(q_cams), np.asarray(g_cams)
    order = np.argsort(np.asarray(distmat, np.float64), axis=1, kind="stable")
    cmc = np.zeros(max_rank)
    ap, inp, n_valid = 0.0, 0.0, 0
    for i in range(len(q_pids)):
        ranked_pids, ranked_cams = g_pids[order[i]], g_cams[order[i]]
        if removal == "sysu":
            keep = ~((q_cams[i] == _SYSU_RULE[0]) & (ranked_cams == _SYSU_RULE[1]))
        elif removal == "same_cam":
            keep = ~((ranked_pids == q_pids[i]) & (ranked_cams == q_cams[i]))
        else:
            keep = np.ones(len(ranked_pids), bool)
        kept = ranked_pids[keep]
        hits = kept == q_pids[i]
        if not hits.any():
            continue
        n_valid += 1
        ids = kept[np.sort(np.unique(kept, return_index=True)[1])] if dedup_cmc else kept
        first = int(np.argmax(ids == q_pids[i]))
        cmc[first:] += 1
        pos = np.flatnonzero(hits) + 1  # 1-based ranks of the true matches
        ap += float(np.mean(np.arange(1, len(pos) + 1) / pos))
        inp += len(pos) / pos[-1]
    n = max(n_valid, 1)
    ranks = {f"rank{r}": float(cmc[min(r, max_rank) - 1] / n) for r in (1, 5, 10, 20)}
    return {**ranks, "mAP": ap / n, "mINP": inp / n, "num_valid_queries": float(n_valid)}


def cosine_distance(qf: np.ndarray, gf: np.ndarray) -> np.ndarray:
    """(Q, D), (G, D) features -> (Q, G) ``-cosine`` similarities (L2-normalised inside)."""
    qn = qf / np.maximum(np.linalg.norm(qf, axis=1, keepdims=True), 1e-12)
    gn = gf / np.maximum(np.linalg.norm(gf, axis=1, keepdims=True), 1e-12)
    return -(qn @ gn.T)


def aggregate(results: Sequence[dict[str, float]]) -> dict[str, Any]:
    """Mean and (population) std over trials / splits: ``<key>`` = mean, ``<key>_std``,
    ``trials`` = the per-trial dicts."""
    out: dict[str, Any] = {}
    for key in METRIC_KEYS:
        vals = np.array([r[key] for r in results], np.float64)
        out[key], out[f"{key}_std"] = float(vals.mean()), float(vals.std())
    out["num_trials"] = len(results)
    out["trials"] = list(results)
    return out


def evaluate_crossmodal(
    query_features: np.ndarray,
    gallery_features: np.ndarray,
    q_pids: np.ndarray,
    q_cams: np.ndarray,
    g_pids: np.ndarray,
    g_cams: np.ndarray,
    protocol: str,
    *,
    trials: int = 10,
    max_rank: int = 20,
) -> dict[str, Any]:
    """Run ``protocol`` (one of :data:`PROTOCOLS`) on (Q, D) / (G, D) features.

    For the single-shot protocols ``gallery_*`` is the full gallery set and trial t draws its
    gallery with seed t; "regdb" evaluates once. Returns :func:`aggregate` of the trials plus
    ``protocol``.
    """
    if protocol not in PROTOCOLS:
        raise UserError(
            f"unknown cross-modality protocol {protocol!r}; choose one of: {', '.join(PROTOCOLS)}"
        )
    g_pids, g_cams = np.asarray(g_pids), np.asarray(g_cams)
    dist = cosine_distance(
        np.asarray(query_features, np.float64), np.asarray(gallery_features, np.float64)
    )
    if protocol == "regdb":
        draws, removal, dedup = [np.arange(len(g_pids))], "none", False
    else:
        cams = SYSU_GALLERY_CAMS.get(protocol)
        draws = [single_shot_gallery(g_pids, g_cams, cams, t) for t in range(trials)]
        removal, dedup = ("same_cam" if protocol == "llcm" else "sysu"), True
    results = [
        rank_crossmodal(
            dist[:, g],
            q_pids,
            g_pids[g],
            q_cams,
            g_cams[g],
            removal,
            dedup_cmc=dedup,
            max_rank=max_rank,
        )
        for g in draws
    ]
    return {**aggregate(results), "protocol": protocol}
