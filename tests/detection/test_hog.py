"""The HOG fallback detector and the suppression helpers it uses."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import UserError
from mplt.detection import hog
from mplt.detection.base import suppress
from mplt.geometry import box_iou, covered_fraction

from .test_weights import tud_frame, tud_ground_truth

needs_hog = pytest.mark.skipif(
    not hog.hog_available(),
    reason="this OpenCV has no HOGDescriptor (OpenCV 5: pip install opencv-contrib-python)",
)


def test_missing_hog_is_a_user_error(monkeypatch) -> None:
    monkeypatch.setattr(hog, "hog_available", lambda: False)
    with pytest.raises(UserError, match="opencv-contrib-python"):
        hog.HogDetector()


@needs_hog
def test_hog_finds_the_people_of_a_real_frame() -> None:
    frame, gt = tud_frame(), tud_ground_truth()
    det = hog.HogDetector(min_box_height_px=8)
    ((boxes, scores),) = det.detect([frame])
    assert det.name == "hog"
    assert boxes.dtype == np.float64 and scores.dtype == np.float32
    assert np.all((scores >= 0.3) & (scores < 1)) and np.all(np.diff(scores) <= 0)
    found = (box_iou(gt, boxes) >= 0.5).any(axis=1)
    assert found.sum() >= 4  # HOG is the weak fallback; YOLO finds six of the seven


@needs_hog
def test_hog_on_rgb_equals_hog_on_bgr() -> None:
    frame = tud_frame()
    det = hog.HogDetector()
    (a, _), (b, _) = det.detect([frame, np.ascontiguousarray(frame[..., ::-1])])
    np.testing.assert_allclose(a, b)


@needs_hog
def test_hog_without_people() -> None:
    det = hog.HogDetector()
    blank = np.full((300, 200, 3), 127, np.uint8)
    tiny = np.zeros((50, 40, 3), np.uint8)  # smaller than the 64x128 window
    for boxes, scores in det.detect([blank, tiny]):
        assert boxes.shape == (0, 4) and scores.shape == (0,)
        assert boxes.dtype == np.float64 and scores.dtype == np.float32
    assert det.detect([]) == []


def test_covered_fraction_is_seam_aware() -> None:
    a = np.array([[990.0, 0, 1010, 10], [0, 0, 10, 10]])
    b = np.array([[1000.0, 0, 1020, 10]])  # 1000..1020 on a 1000-wide panorama = 0..20
    np.testing.assert_allclose(covered_fraction(a, b), [[0.5], [0.0]])
    np.testing.assert_allclose(covered_fraction(a, b, period=1000.0), [[0.5], [1.0]])
    assert covered_fraction(np.zeros((0, 4)), b).shape == (0, 1)


def test_suppress_drops_overlaps_and_parts_of_better_boxes() -> None:
    boxes = np.array(
        [
            [0.0, 0, 50, 100],  # a person
            [2.0, 2, 50, 100],  # the same person again (IoU 0.92)
            [5.0, 50, 45, 100],  # their legs, inside the first box
            [100.0, 0, 150, 100],  # someone else
        ]
    )
    scores = np.array([0.9, 0.8, 0.95, 0.7])
    # the legs score higher than the person: only a better box may absorb a worse one
    np.testing.assert_array_equal(suppress(boxes, scores, 0.5, 0.7), [2, 0, 3])
    scores[2] = 0.5
    np.testing.assert_array_equal(suppress(boxes, scores, 0.5, 0.7), [0, 3])
    assert suppress(np.zeros((0, 4)), np.zeros(0), 0.5, 0.7).shape == (0,)
