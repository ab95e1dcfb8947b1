"""PKU-Sketch per-split ranking."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import UserError
from reid.data.pku_sketch import (
    PHOTO,
    SKETCH,
)
from reid.evaluation.pku_sketch import splits_of
from reid.metrics.sketch import evaluate_sketch_splits


def _toy(ids, noise=0.0):
    """Photos (2 per id) and one sketch per id; features = one-hot id (+ noise)."""
    pids = np.repeat(ids, 3)
    modality = np.tile([PHOTO, PHOTO, SKETCH], len(ids))
    feats = np.eye(max(ids) + 1)[pids] + noise
    return feats, pids, modality


def test_evaluate_perfect_and_hand_computed_ranking():
    feats, pids, modality = _toy([1, 2, 3, 4])
    result = evaluate_sketch_splits(feats, pids, modality, [np.array([1, 2]), np.array([3, 4])])
    assert result["rank1"] == result["mAP"] == 1.0 and result["num_trials"] == 2
    assert result["rank1_std"] == 0.0 and result["photo_to_sketch"]["rank1"] == 1.0
    # Sketch of id 1 resembles id 2's photos: ranks its true photos 3rd and 4th.
    feats = feats.astype(float)
    feats[2] = feats[3]  # sketch of id 1 := a photo of id 2
    one = evaluate_sketch_splits(feats, pids, modality, [np.array([1, 2])])
    trial = one["trials"][0]
    assert trial["rank1"] == 0.5  # the id-2 sketch still finds its photo first
    assert trial["rank5"] == 1.0
    assert trial["mAP"] == pytest.approx((0.5 * (1 / 3 + 2 / 4) + 1.0) / 2)


def test_evaluate_errors():
    feats, pids, modality = _toy([1, 2])
    with pytest.raises(ValueError, match="differ in length"):
        evaluate_sketch_splits(feats[:-1], pids, modality, [np.array([1])])
    with pytest.raises(UserError, match="at least one split"):
        evaluate_sketch_splits(feats, pids, modality, [])
    with pytest.raises(UserError, match="0 test sketches"):
        evaluate_sketch_splits(feats, pids, modality, [np.array([9])])
    with pytest.raises(UserError, match="not a PKU-Sketch dataset"):
        splits_of("pku-sketch-x")
