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
:class:`reid.data.datasets.Sample` (SYSU cam3 -> 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reid.data.crossmodal import INFRARED, VISIBLE, modality_of
from reid.data.datasets import Sample, read_dataset
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


def _cosine_distance(qf: np.ndarray, gf: np.ndarray) -> np.ndarray:
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
    dist = _cosine_distance(
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


@torch.no_grad()
def extract_modal_features(
    model: torch.nn.Module, samples: Sequence[Sample], data_cfg, device: torch.device
) -> np.ndarray:
    """(N, D) float32 features (not normalised), each image through its modality's stem."""
    from reid.engine.evaluator import extract_features

    for sample in samples:
        modality_of(sample)  # every sample must say its modality
    return extract_features(model, samples, data_cfg, device, normalize=False)


def _ids(samples: Sequence[Sample]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([s.pid for s in samples]), np.array([s.camid for s in samples])


def evaluate_model_crossmodal(
    model: torch.nn.Module,
    query: Sequence[Sample],
    gallery: Sequence[Sample],
    dataset: str,
    data_cfg,
    device: torch.device,
    *,
    mode: str = "all",
    trials: int = 10,
) -> dict[str, Any]:
    """Evaluate a modality-aware encoder (``model(x, modality)``) on a cross-modality split.

    ``dataset`` "sysu-mm01": ``mode`` "all" | "indoor" (infrared -> visible). "regdb*" and
    "llcm": both directions, returned under ``"infrared_to_visible"`` / ``"visible_to_infrared"``
    (RegDB: thermal -> visible / visible -> thermal), top-level metrics = infrared -> visible.
    """
    samples = list(query) + list(gallery)
    feats = extract_modal_features(model, samples, data_cfg, device)
    pids, cams = _ids(samples)
    mods = np.array([modality_of(s) for s in samples])
    ir, vis = mods == INFRARED, mods == VISIBLE
    if dataset == "sysu-mm01":
        if mode not in ("all", "indoor"):
            raise UserError(f"SYSU-MM01 mode must be all or indoor, got {mode!r}")
        return evaluate_crossmodal(
            feats[ir],
            feats[vis],
            pids[ir],
            cams[ir],
            pids[vis],
            cams[vis],
            f"sysu-{mode}",
            trials=trials,
        )
    if dataset.startswith("regdb"):
        protocol = "regdb"
    elif dataset == "llcm":
        protocol = "llcm"
    else:
        raise UserError(
            f"{dataset!r} is not a cross-modality dataset; use sysu-mm01, regdb or llcm"
        )
    out = {}
    for key, q, g in (("infrared_to_visible", ir, vis), ("visible_to_infrared", vis, ir)):
        out[key] = evaluate_crossmodal(
            feats[q], feats[g], pids[q], cams[q], pids[g], cams[g], protocol, trials=trials
        )
    return {**{k: v for k, v in out["infrared_to_visible"].items() if k != "trials"}, **out}


def evaluate_checkpoint(
    checkpoint: str | Path,
    data_dir: str | Path,
    dataset: str,
    *,
    mode: str = "all",
    trials: int = 10,
    device: str = "auto",
) -> dict[str, Any]:
    """Load a DNS checkpoint and run :func:`evaluate_model_crossmodal` on ``dataset`` read from
    ``data_dir`` (see ``reid.data.crossmodal`` for the layouts)."""
    from reid.engine.device import resolve_device
    from reid.methods.load import load_method

    dev = resolve_device(device)
    impl, ckpt = load_method(checkpoint, dev)
    splits = read_dataset(dataset, data_dir)
    result = evaluate_model_crossmodal(
        impl.model,
        splits.query,
        splits.gallery,
        dataset,
        impl.cfg.data,
        dev,
        mode=mode,
        trials=trials,
    )
    return {
        **result,
        "dataset": dataset,
        "mode": mode,
        "num_query": len(splits.query),
        "num_gallery": len(splits.gallery),
        "checkpoint": str(checkpoint),
        "epoch": int(ckpt["epoch"]),
    }


def evaluate_regdb_splits(
    checkpoints: Sequence[str | Path], data_dir: str | Path, *, device: str = "auto"
) -> dict[str, Any]:
    """RegDB over its splits: checkpoint k-1 (trained on split k) evaluated on split k; mean and
    std over splits for both directions."""
    per_split = [
        evaluate_checkpoint(ck, data_dir, f"regdb-{k}", device=device)
        for k, ck in enumerate(checkpoints, 1)
    ]
    out: dict[str, Any] = {}
    for key in ("infrared_to_visible", "visible_to_infrared"):
        out[key] = aggregate([r[key] for r in per_split])
    return {**{k: v for k, v in out["infrared_to_visible"].items() if k != "trials"}, **out}
