"""PKU-Sketch evaluation (seeds.md 2.f, 5.f): sketch queries -> photo gallery over the 10 random
150 / 50 identity splits of :mod:`reid.data.pku_sketch`, mean and std over splits.

Per split, query = the sketches of the 50 test identities, gallery = all their photos (two per
identity); no camera removal (query and gallery are different modalities). Ranking by
``-cosine`` of L2-normalised features; CMC counts gallery images (the first true photo's
rank), mAP over both true photos. The reverse direction (photo -> sketch, IHDA's second table)
is reported under ``"photo_to_sketch"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reid.data.datasets import Sample
from reid.data.pku_sketch import (
    PHOTO,
    PKU_NUM_SPLITS,
    SKETCH,
    read_pku_images,
    read_style_groups,
    split_identities,
)
from core.errors import UserError
from reid.metrics.crossmodal import _cosine_distance, aggregate, rank_crossmodal

_SPLIT_NAME = "pku-sketch"


def evaluate_sketch_splits(
    features: np.ndarray,
    pids: np.ndarray,
    modality: np.ndarray,
    test_ids: Sequence[np.ndarray],
) -> dict[str, Any]:
    """Sketch -> photo retrieval on each split's test identities.

    Args:
        features: (N, D) features of every image (photos and sketches of all identities).
        pids: (N,) identity ids.
        modality: (N,) 0 = photo, 1 = sketch.
        test_ids: one id array per split (its test identities).

    Returns:
        ``rank1/5/10/20``, ``mAP``, ``mINP`` = means over splits (fractions), ``<key>_std``,
        ``num_trials``, ``trials`` (per split), and ``photo_to_sketch`` (the same for the
        reverse direction).
    """
    feats = np.asarray(features, np.float64)
    pids, modality = np.asarray(pids), np.asarray(modality)
    if not (len(feats) == len(pids) == len(modality)):
        raise ValueError(
            f"features, pids and modality differ in length: {len(feats)}, {len(pids)}, "
            f"{len(modality)}"
        )
    if not len(test_ids):
        raise UserError("PKU-Sketch evaluation needs at least one split")
    dist = _cosine_distance(feats, feats) if len(feats) else np.zeros((0, 0))
    cams = np.where(modality == SKETCH, 1, 0)  # no removal: cams only tell the modalities apart
    out: dict[str, list[dict[str, float]]] = {"sketch_to_photo": [], "photo_to_sketch": []}
    for ids in test_ids:
        in_test = np.isin(pids, ids)
        sk, ph = (
            np.flatnonzero(in_test & (modality == SKETCH)),
            np.flatnonzero(in_test & (modality == PHOTO)),
        )
        if not len(sk) or not len(ph):
            raise UserError(
                f"a PKU-Sketch split has {len(sk)} test sketches and {len(ph)} test photos; "
                "pass features of every image"
            )
        for key, q, g in (("sketch_to_photo", sk, ph), ("photo_to_sketch", ph, sk)):
            out[key].append(
                rank_crossmodal(
                    dist[np.ix_(q, g)],
                    pids[q],
                    pids[g],
                    cams[q],
                    cams[g],
                    "none",
                    dedup_cmc=False,
                )
            )
    return {
        **aggregate(out["sketch_to_photo"]),
        "photo_to_sketch": aggregate(out["photo_to_sketch"]),
    }


def pku_test_ids(
    style_groups: Sequence[Sequence[int]],
    splits: Sequence[int] = tuple(range(1, PKU_NUM_SPLITS + 1)),
    seed: int = 0,
) -> list[np.ndarray]:
    """Test identities of each split number in ``splits`` (see ``split_identities``)."""
    return [split_identities(style_groups, k, seed=seed)[1] for k in splits]


def _splits_of(dataset: str) -> list[int]:
    if dataset == _SPLIT_NAME:
        return list(range(1, PKU_NUM_SPLITS + 1))
    suffix = dataset.removeprefix(f"{_SPLIT_NAME}-")
    if dataset.startswith(f"{_SPLIT_NAME}-") and suffix.isdigit() and int(suffix) >= 1:
        return [int(suffix)]
    raise UserError(f"{dataset!r} is not a PKU-Sketch dataset; use pku-sketch or pku-sketch-<k>")


def _features(impl, samples: Sequence[Sample], device) -> np.ndarray:
    """Features of PKU-Sketch samples; models with a sketch branch embed sketches with it."""
    from reid.engine.evaluator import extract_features

    return extract_features(impl.model, samples, impl.cfg.data, device)


def evaluate_checkpoint(
    checkpoint: str | Path,
    data_dir: str | Path,
    dataset: str = _SPLIT_NAME,
    *,
    seed: int = 0,
    device: str = "auto",
) -> dict[str, Any]:
    """Evaluate a checkpoint on PKU-Sketch read from ``data_dir``.

    ``dataset`` "pku-sketch-k" evaluates split k's test identities (the model trained on that
    split's train ids); "pku-sketch" evaluates all 10 splits' test sets with this one model,
    which is only unbiased for a model that saw no PKU-Sketch identity (e.g. trained on
    another dataset). For the per-split protocol use :func:`evaluate_split_checkpoints`.
    """
    from reid.engine.device import resolve_device
    from reid.methods.load import load_method

    splits = _splits_of(dataset)
    dev = resolve_device(device)
    impl, ckpt = load_method(checkpoint, dev)
    photos, sketches = read_pku_images(Path(data_dir))
    samples = photos + sketches
    feats = _features(impl, samples, dev)
    result = evaluate_sketch_splits(
        feats,
        np.array([s.pid for s in samples]),
        np.array([s.extra["modality"] for s in samples]),
        pku_test_ids(read_style_groups(Path(data_dir)), splits, seed),
    )
    return {
        **result,
        "dataset": dataset,
        "splits": splits,
        "protocol": "pku-sketch",
        "checkpoint": str(checkpoint),
        "epoch": int(ckpt["epoch"]),
    }


def evaluate_split_checkpoints(
    checkpoints: Sequence[str | Path], data_dir: str | Path, *, device: str = "auto"
) -> dict[str, Any]:
    """The full protocol: checkpoint k-1 (trained on ``pku-sketch-k``) evaluated on split k;
    mean and std over splits for both directions."""
    per_split = [
        evaluate_checkpoint(ck, data_dir, f"{_SPLIT_NAME}-{k}", device=device)
        for k, ck in enumerate(checkpoints, 1)
    ]
    s2p = aggregate([r["trials"][0] for r in per_split])
    p2s = aggregate([r["photo_to_sketch"]["trials"][0] for r in per_split])
    return {**s2p, "photo_to_sketch": p2s, "protocol": "pku-sketch"}
