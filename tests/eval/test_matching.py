"""Similarities and per-frame matching: seam-aware IoU, Hungarian pairs, ground errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mplt.eval.matching import ground_errors, match_pairs, mot_boxes, similarity

W = 1000.0


def test_mot_boxes_convert_one_based_ltwh_to_zero_based_xyxy() -> None:
    rows = np.array([[1, 1, 1, 1, 10, 20], [1, 2, 995.5, 11, 30, 40]], float)
    np.testing.assert_allclose(mot_boxes(rows), [[0, 0, 10, 20], [994.5, 10, 1024.5, 50]])
    assert mot_boxes(np.zeros((0, 10))).shape == (0, 4)


def test_box_across_the_seam_matches_only_with_a_width() -> None:
    gt = np.array([[980.0, 0, 1030, 100]])  # stored unwrapped: 30 px beyond the right edge
    shifted = gt - [W, 0, W, 0]  # the same box written with x1 < 0
    wrapped_piece = np.array([[0.0, 0, 30, 100]])  # only the part left of the seam
    assert similarity(gt, shifted, W)[0, 0] == pytest.approx(1.0)
    assert similarity(shifted, gt, W)[0, 0] == pytest.approx(1.0)
    assert similarity(gt, wrapped_piece, W)[0, 0] == pytest.approx(30 / 50)
    assert similarity(gt, shifted, None)[0, 0] == 0.0
    assert similarity(gt, wrapped_piece, None)[0, 0] == 0.0


@given(st.floats(0, 2 * W), st.floats(1, 200), st.integers(-2, 2))
def test_shifting_by_whole_periods_keeps_iou_one(x1: float, w: float, k: int) -> None:
    box = np.array([[x1, 10.0, x1 + w, 90.0]])
    assert similarity(box, box + [k * W, 0, k * W, 0], W)[0, 0] == pytest.approx(1.0)


def test_similarity_shapes_with_zero_people() -> None:
    boxes = np.array([[0.0, 0, 10, 10]] * 3)
    assert similarity(np.zeros((0, 4)), boxes, W).shape == (0, 3)
    assert similarity(boxes, np.zeros((0, 4)), None).shape == (3, 0)


def test_match_pairs_maximises_summed_iou_above_threshold() -> None:
    sim = np.array([[0.9, 0.6], [0.7, 0.0], [0.3, 0.4]])
    rows, cols = match_pairs(sim, 0.5)
    # 0.6 + 0.7 beats 0.9 alone; row 2 has nothing >= 0.5.
    assert sorted(zip(rows.tolist(), cols.tolist(), strict=True)) == [(0, 1), (1, 0)]
    rows, cols = match_pairs(sim, 0.8)
    assert list(zip(rows.tolist(), cols.tolist(), strict=True)) == [(0, 0)]


def test_match_pairs_accepts_iou_equal_to_threshold_and_empty_input() -> None:
    rows, cols = match_pairs(np.array([[0.5]]), 0.5)
    assert (rows.tolist(), cols.tolist()) == ([0], [0])
    for shape in ((0, 0), (0, 3), (2, 0)):
        rows, cols = match_pairs(np.zeros(shape), 0.5)
        assert rows.shape == cols.shape == (0,) and rows.dtype == np.int64


def test_ground_errors_skip_pairs_with_an_unknown_side() -> None:
    gt = np.array([[1.0, 2.0], [np.nan, np.nan], [0.0, 0.0], [5.0, 5.0]])
    pred = np.array([[4.0, 6.0], [1.0, 1.0], [np.nan, 0.0], [5.0, 5.0]])
    np.testing.assert_allclose(ground_errors(gt, pred), [5.0, 0.0])
    assert ground_errors(np.zeros((0, 2)), np.zeros((0, 2))).shape == (0,)
