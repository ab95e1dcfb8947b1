"""QMUL-Shoes / QMUL-Chairs protocol (seeds.md 2.f): instance-level sketch -> photo retrieval.

Every test sketch queries all test photos; its paired photo is the one correct match.
Features are L2-normalised and ranked by inner product (cosine); the score is acc@1 / acc@10
(:func:`reid.metrics.sbir.pair_accuracy`), with photo -> sketch under ``"photo_to_sketch"``.
Models with a sketch branch embed sketches with it: ``forward(x, modality)`` models (IHDA,
DNS) get modality 1 for sketches and 0 for photos; zero-shot SBIR nets their sketch encoder.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from reid.data.datasets import Sample, read_dataset
from reid.data.qmul import PHOTO, QMUL_DATASETS, SKETCH
from core.errors import UserError
from reid.metrics.sbir import pair_accuracy


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
    s = s / np.maximum(np.linalg.norm(s, axis=1, keepdims=True), 1e-12)
    p = p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12)
    dist = -(s @ p.T) if len(s) else np.zeros((0, 0))
    return {
        **pair_accuracy(dist, ks),
        "num_pairs": len(s),
        "photo_to_sketch": pair_accuracy(dist.T, ks),
    }


class _Routed(nn.Module):
    """``model(x, modality)`` with a fixed modality, as a plain encoder ``f(x)``."""

    def __init__(self, model: nn.Module, modality: int) -> None:
        super().__init__()
        self.model, self.modality = model, modality

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, torch.full((len(x),), self.modality, device=x.device))


def embed_modality(impl, samples: Sequence[Sample], modality: int, device) -> np.ndarray:
    """(N, D) features of images of one ``modality`` (0 photo, 1 sketch) through the model's
    branch for it; models without branches embed every image alike."""
    from reid.engine.evaluator import extract_features
    from reid.methods.sbir import SbirNet, embed

    model = impl.model
    if isinstance(model, SbirNet):  # its own (un-normalised) preprocessing, as in training
        return embed(model.sketch if modality == SKETCH else model.photo, list(samples),
                     impl.cfg, device)
    if "modality" in inspect.signature(model.forward).parameters:
        model = _Routed(model, modality)
    return extract_features(model, samples, impl.cfg.data, device)


def evaluate_checkpoint(
    checkpoint: str | Path,
    data_dir: str | Path,
    dataset: str = "qmul-shoes",
    *,
    device: str = "auto",
) -> dict[str, Any]:
    """acc@1 / acc@10 of a checkpoint on ``dataset``'s (qmul-shoes | qmul-chairs) test pairs."""
    from reid.engine.device import resolve_device
    from reid.methods.load import load_method

    if dataset not in QMUL_DATASETS:
        raise UserError(f"{dataset!r} is not a QMUL dataset; use {' or '.join(QMUL_DATASETS)}")
    dev = resolve_device(device)
    impl, ckpt = load_method(checkpoint, dev)
    splits = read_dataset(dataset, data_dir)
    result = evaluate_pairs(
        embed_modality(impl, splits.query, SKETCH, dev),
        embed_modality(impl, splits.gallery, PHOTO, dev),
    )
    return {
        **result,
        "dataset": dataset,
        "protocol": "qmul",
        "checkpoint": str(checkpoint),
        "epoch": int(ckpt["epoch"]),
    }
