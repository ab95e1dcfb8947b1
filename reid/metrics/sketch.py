"""PKU-Sketch ranking maths (seeds.md 2.f, 5.f): sketch queries -> photo gallery over the random
150 / 50 identity splits of :mod:`reid.data.pku_sketch`, mean and std over splits.

Per split, query = the sketches of the 50 test identities, gallery = all their photos (two per
identity); no camera removal (query and gallery are different modalities). Ranking by
``-cosine`` of L2-normalised features; CMC counts gallery images (the first true photo's
rank), mAP over both true photos. The reverse direction (photo -> sketch, IHDA's second table)
is reported under ``"photo_to_sketch"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from core.errors import UserError
from reid.metrics.crossmodal import aggregate, cosine_distance, rank_crossmodal

#: Modality codes of the sketch datasets' ``Sample.extra["modality"]`` (PKU-Sketch, QMUL).
PHOTO, SKETCH = 0, 1


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
        raise UserError(
            "PKU-Sketch evaluation needs at least one split; pass the dataset with its split files"
        )
    dist = cosine_distance(feats, feats) if len(feats) else np.zeros((0, 0))
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
