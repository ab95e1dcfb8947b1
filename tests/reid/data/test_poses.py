"""ST-ReIDNet's pose inputs: heatmaps, skeleton masks, keypoint sources, pose batches."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import reid
from core.config import updated
from core.errors import UserError
from reid.data import read_dataset
from reid.data.poses import (
    PoseDataset,
    keypoint_cache_path,
    load_keypoints,
    pose_heatmaps,
    skeleton_mask,
)
from tests.reid.helpers import ST_H as H
from tests.reid.helpers import ST_W as W
from tests.reid.helpers import st_config

NAN = float("nan")


def test_heatmap_peaks_at_keypoint_and_missing_ones_are_zero():
    kpts = np.full((17, 2), NAN, np.float32)
    kpts[3] = (10, 20)  # x, y
    kpts[4] = (0, 0)  # the "undetected" marker
    kpts[5] = (40, 10)  # right of a 32 px wide image
    maps = pose_heatmaps(kpts, H, W, sigma=5.0)
    assert maps.shape == (17, H, W) and maps.dtype == np.float32
    assert np.unravel_index(maps[3].argmax(), (H, W)) == (20, 10) and maps[3, 20, 10] == 1.0
    assert math.isclose(maps[3, 25, 10], math.exp(-0.5), rel_tol=1e-5)  # one sigma below
    others = np.delete(np.arange(17), 3)
    assert not maps[others].any()


def test_skeleton_mask_covers_limbs_only():
    kpts = np.full((17, 2), NAN, np.float32)
    kpts[11], kpts[13] = (10, 20), (10, 50)  # left hip -> left knee (a leg)
    mask = skeleton_mask(kpts, H, W)
    assert mask.shape == (H, W) and set(np.unique(mask)) == {0.0, 1.0}
    assert mask[35, 10] == 1  # on the line between the joints
    assert mask[35, 25] == 0 and mask[5, 10] == 0  # beside it / above the hip
    assert not skeleton_mask(np.full((17, 2), NAN, np.float32), H, W).any()


def test_joint_flip_of_image_heatmaps_and_mask(dance_dir):
    cfg = st_config()
    cfg = updated(cfg, {"pose.aug": "none", "data.erase_prob": 0.0})
    samples = read_dataset("dancereid", dance_dir).train[:1]
    kpts = load_keypoints(samples)
    items = []
    for flip in (0.0, 1.0):
        cfg = updated(cfg, {"data.hflip_prob": flip})
        items.append(PoseDataset(samples, kpts, cfg.data, cfg.pose)[0])
    plain, flipped = items
    assert plain.heatmaps.shape == (17, H, W) and plain.masks.shape == (1, H, W)
    assert plain.heatmaps.amax() == 1 and plain.masks.any()
    torch.testing.assert_close(flipped.targets, plain.targets.flip(-1))
    torch.testing.assert_close(flipped.heatmaps, plain.heatmaps.flip(-1))
    torch.testing.assert_close(flipped.masks, plain.masks.flip(-1))
    assert plain.targets.min() >= -1 and plain.targets.max() <= 1
    assert not plain.heatmaps[0].any()  # keypoint 0 is (0, 0) in make_dancereid: missing


def test_missing_keypoints_is_a_clear_error_and_the_cache_is_used(market_dir, tmp_path):
    with pytest.raises(UserError, match=r"pose.keypoint_model"):
        reid.train(
            "st-reidnet", st_config(), market_dir, "market1501", tmp_path / "r", device="cpu"
        )
    train = read_dataset("market1501", market_dir).train
    with pytest.raises(UserError, match="does not exist"):
        load_keypoints(train, str(tmp_path / "none" / "pose.pt"), cache_dir=str(tmp_path))
    # A cache written by an earlier detection run is used without any model.
    kpts = np.random.default_rng(0).uniform(0, 16, (len(train), 17, 2)).astype(np.float32)
    with pytest.raises(UserError):
        load_keypoints(train, cache_dir=str(tmp_path))
    cache = keypoint_cache_path(train, str(tmp_path))
    np.save(cache, kpts)
    np.testing.assert_array_equal(load_keypoints(train, cache_dir=str(tmp_path)), kpts)


@pytest.mark.slow
def test_pose_model_runs_once_and_fills_the_cache(market_dir, tmp_path):
    """The ultralytics path end to end with a randomly initialised pose net (built from its
    YAML, no download): it detects nobody, so every keypoint is missing (NaN)."""
    pytest.importorskip("ultralytics")
    train = read_dataset("market1501", market_dir).train
    kpts = load_keypoints(train, "yolo11n-pose.yaml", cache_dir=str(tmp_path))
    assert kpts.shape == (len(train), 17, 2) and kpts.dtype == np.float32
    assert len(list(tmp_path.glob("keypoints_*.npy"))) == 1
    np.testing.assert_array_equal(load_keypoints(train, cache_dir=str(tmp_path)), kpts)
