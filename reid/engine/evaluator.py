"""Feature extraction and retrieval evaluation of an encoder on query / gallery samples."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from reid.data.datasets import Sample
from reid.data.loader import build_test_loader
from core.errors import UserError
from reid.metrics.rank import euclidean_distance, market_rank, single_gallery_shot_cmc
from reid.metrics.rerank import k_reciprocal_rerank

PROTOCOLS = ("market", "single_gallery_shot")


def _modalities(model: nn.Module, samples: Sequence[Sample]) -> torch.Tensor | None:
    """(N,) modality of every sample (0 photo/visible, 1 sketch/infrared) when the model has a
    branch per modality (``forward(x, modality)``: DNS, IHDA) and the dataset says which."""
    if "modality" not in inspect.signature(model.forward).parameters:
        return None
    if not samples or not all(s.extra and "modality" in s.extra for s in samples):
        return None
    return torch.tensor([int(s.extra["modality"]) for s in samples])


@torch.no_grad()
def extract_features(
    model: nn.Module,
    samples: Sequence[Sample],
    data_cfg,
    device: torch.device,
    normalize: bool = True,
) -> np.ndarray:
    """(N, D) float32 embeddings of ``samples`` in order (model in eval mode during the pass).

    Models with a branch per modality see each image through its own branch (sketches through
    the sketch encoder, infrared images through the infrared stem).
    """
    was_training = model.training
    model.eval()
    amp = torch.autocast("cuda") if device.type == "cuda" else contextlib.nullcontext()
    modality = _modalities(model, samples)
    chunks, start = [], 0
    try:
        for batch in build_test_loader(samples, data_cfg):
            images = batch.images.to(device, non_blocking=True)
            n = len(images)
            with amp:
                if modality is None:
                    feats = model(images).float()
                else:
                    feats = model(images, modality[start : start + n].to(device)).float()
            start += n
            if normalize:
                feats = nn.functional.normalize(feats, dim=1)
            chunks.append(feats.cpu().numpy())
    finally:
        model.train(was_training)
    return np.concatenate(chunks) if chunks else np.zeros((0, 0), np.float32)


@dataclass(frozen=True)
class EvalResult:
    """Metrics (``mAP``, ``rank1``, ``rank5``, ``rank10``, ``mINP``...) and the (Q, G) distances."""

    metrics: dict[str, float]
    distmat: np.ndarray


def evaluate_model(
    model: nn.Module,
    query: Sequence[Sample],
    gallery: Sequence[Sample],
    data_cfg,
    eval_cfg,
    device: torch.device,
    protocol: str = "market",
    rerank: bool | None = None,
) -> EvalResult:
    """Extract features, rank the gallery for every query and compute the metrics.

    ``protocol`` "market": CMC/mAP/mINP of :func:`market_rank`. "single_gallery_shot": mAP/mINP
    still follow the Market protocol, CMC is :func:`single_gallery_shot_cmc` (DanceReID).
    """
    if protocol not in PROTOCOLS:
        raise UserError(
            f"unknown evaluation protocol {protocol!r}; choose one of: {', '.join(PROTOCOLS)}"
        )
    qf = extract_features(model, query, data_cfg, device, eval_cfg.normalize)
    gf = extract_features(model, gallery, data_cfg, device, eval_cfg.normalize)
    distmat = euclidean_distance(qf, gf)
    if eval_cfg.rerank if rerank is None else rerank:
        distmat = k_reciprocal_rerank(
            distmat,
            euclidean_distance(qf, qf),
            euclidean_distance(gf, gf),
            eval_cfg.rerank_k1,
            eval_cfg.rerank_k2,
            eval_cfg.rerank_lambda,
        )
    ids = [
        np.array([getattr(s, a) for s in part])
        for part in (query, gallery)
        for a in ("pid", "camid")
    ]
    q_pids, q_cams, g_pids, g_cams = ids
    max_rank = max(eval_cfg.max_rank, 10)
    result = market_rank(distmat, q_pids, g_pids, q_cams, g_cams, max_rank)
    cmc = result["cmc"]
    if protocol == "single_gallery_shot":
        cmc = single_gallery_shot_cmc(
            distmat, q_pids, g_pids, q_cams, g_cams, max_rank=max_rank, repeats=eval_cfg.sgs_repeats
        )["cmc"]
    metrics = {
        "mAP": float(result["mAP"]),
        "rank1": float(cmc[0]),
        "rank5": float(cmc[4]),
        "rank10": float(cmc[9]),
        "mINP": float(result["mINP"]),
        "num_valid_queries": float(result["num_valid_queries"]),
    }
    return EvalResult(metrics, distmat)
