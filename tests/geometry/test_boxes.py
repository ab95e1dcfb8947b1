"""Seam-aware box arithmetic: known values, brute-force references, seam invariance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from mplt.geometry import (
    BoxSpace,
    Equirectangular,
    ImageCamera,
    box_center_distance,
    box_iou,
    boxes_touch_edge,
    nms,
    split_at_seam,
    wrap_boxes,
)
from tests.strategies import GEOMETRY, boxes

W, H = 64, 32  # small panorama so that brute-force rasters stay cheap


def raster(b: np.ndarray, period: int | None) -> np.ndarray:
    """``(N, H, W)`` occupancy of integer boxes on a (wrapping when period) pixel grid."""
    width = period or 4 * W
    cols, rows = np.arange(width), np.arange(H)
    out = np.zeros((len(b), H, width), bool)
    for i, (x1, y1, x2, y2) in enumerate(b.astype(int)):
        if period is None:
            xs = (cols >= x1) & (cols < x2)
        else:  # cells [x1, x2) taken mod the period, at most one full turn
            xs = np.mod(cols - x1, period) < min(x2 - x1, period)
        out[i] = ((rows >= y1) & (rows < y2))[:, None] & xs[None, :]
    return out


def reference_iou(a: np.ndarray, b: np.ndarray, period: int | None) -> np.ndarray:
    ra, rb = raster(a, period), raster(b, period)
    inter = (ra[:, None] & rb[None]).sum((2, 3))
    union = (ra[:, None] | rb[None]).sum((2, 3))
    return np.divide(inter, union, out=np.zeros(inter.shape), where=union > 0)


def reference_nms(b: np.ndarray, scores: np.ndarray, thr: float, period: int | None) -> list:
    keep: list[int] = []
    for i in sorted(range(len(b)), key=lambda k: (-scores[k], k)):
        if all(box_iou(b[i : i + 1], b[j : j + 1], period)[0, 0] <= thr for j in keep):
            keep.append(i)
    return keep


integer_boxes = (
    boxes(W, H, max_size=6, max_width_frac=0.9)
    .map(np.floor)
    .filter(lambda b: (b[:, 2] > b[:, 0]).all() and (b[:, 3] > b[:, 1]).all())
)


# --- IoU -------------------------------------------------------------------------------------


def test_iou_known_values() -> None:
    a = np.array([[0, 0, 10, 10], [20, 0, 30, 10]], float)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [100, 100, 110, 110]], float)
    assert_allclose(box_iou(a, b), [[1, 1 / 3, 0], [0, 0, 0]])
    assert box_iou(np.zeros((0, 4)), b).shape == (0, 3)
    assert box_iou(a, np.zeros((0, 4)), period=64).shape == (2, 0)
    assert box_iou(np.zeros((1, 4)), np.zeros((1, 4)))[0, 0] == 0.0  # empty union


def test_iou_of_a_box_across_the_seam() -> None:
    seam = np.array([[2000.0, 10, 2100, 110]])  # crosses x = W = 2048
    copy = seam - [2048, 0, 2048, 0]  # the same box written as [-48, 52)
    assert box_iou(seam, copy, period=2048)[0, 0] == pytest.approx(1.0)
    assert box_iou(seam, copy)[0, 0] == 0.0  # without the period they are disjoint
    start = np.array([[0.0, 10, 52, 110]])  # the part right of the seam
    assert box_iou(seam, start, period=2048)[0, 0] == pytest.approx(0.52)


def test_iou_counts_both_ends_of_boxes_wider_than_half_the_panorama() -> None:
    a = np.array([[0.0, 0, 0.8 * W, 10]])
    b = np.array([[0.6 * W, 0, 1.4 * W, 10]])  # overlaps a's end and, wrapped, its start
    inter = (0.2 + 0.4) * W * 10
    assert box_iou(a, b, W)[0, 0] == pytest.approx(inter / (2 * 0.8 * W * 10 - inter))


@GEOMETRY
@given(integer_boxes, integer_boxes, st.sampled_from([None, W]))
def test_iou_matches_a_brute_force_raster(a: np.ndarray, b: np.ndarray, period) -> None:
    assert_allclose(box_iou(a, b, period), reference_iou(a, b, period), atol=1e-12)


@GEOMETRY
@given(boxes(W, H), boxes(W, H), st.sampled_from([None, W]))
def test_iou_is_symmetric_in_unit_range_and_one_on_itself(a, b, period) -> None:
    iou = box_iou(a, b, period)
    assert iou.shape == (len(a), len(b))
    assert ((iou >= 0) & (iou <= 1 + 1e-12)).all()
    assert_allclose(iou, box_iou(b, a, period).T, atol=1e-12)
    assert_allclose(np.diag(box_iou(a, a, period)), 1.0)


@GEOMETRY
@given(boxes(W, H), boxes(W, H), st.data())
def test_shifting_by_the_period_changes_nothing(a, b, data) -> None:
    turns = data.draw(st.lists(st.sampled_from([-2, -1, 1, 2]), min_size=len(a), max_size=len(a)))
    a2 = a + np.array(turns, float)[:, None] * [W, 0, W, 0]
    assert_allclose(box_iou(a2, b, W), box_iou(a, b, W), atol=1e-12)
    assert_allclose(box_center_distance(a2, b, W), box_center_distance(a, b, W), atol=1e-9)
    scores = np.linspace(1, 0.1, len(a))
    assert nms(a2, scores, 0.3, W).tolist() == nms(a, scores, 0.3, W).tolist()
    assert_allclose(wrap_boxes(a2, W), wrap_boxes(a, W))


# --- BoxSpace: what the tracker is given -----------------------------------------------------


def test_flat_box_space_iou_known_values() -> None:
    a = np.array([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 0.0, 10.0]])
    b = np.array([[5.0, 0.0, 15.0, 10.0], [0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]])
    iou = BoxSpace().iou(a, b)
    np.testing.assert_allclose(iou[0], [50 / 150, 1.0, 0.0])
    np.testing.assert_allclose(iou[1], [0.0, 0.0, 0.0])  # zero-area box
    assert BoxSpace().iou(np.zeros((0, 4)), b).shape == (0, 3)
    assert BoxSpace().iou(a, np.zeros((0, 4))).shape == (2, 0)


def test_wrap_helpers() -> None:
    P = 10.0
    space = BoxSpace(P)
    np.testing.assert_allclose(space.wrap_x(np.array([-1e-17, -0.5, 10.0, 23.5])), [0, 9.5, 0, 3.5])
    d = space.x_difference(np.array([5.0, -5.0, 6.0, -6.0, 0.0, 19.0]))
    np.testing.assert_allclose(d, [5.0, 5.0, -4.0, 4.0, 0.0, -1.0])
    assert np.all((d > -P / 2) & (d <= P / 2))


def test_box_space_is_the_module_functions_with_its_period() -> None:
    a = np.array([[60.0, 0, 70, 10], [-3.0, 2, 5, 9]])
    b = np.array([[0.0, 0, 8, 10]])
    for period in (None, 64.0):
        space = BoxSpace(period)
        assert_allclose(space.iou(a, b), box_iou(a, b, period))
        assert_allclose(space.wrap(a), wrap_boxes(a, period))
    flat = BoxSpace()
    x = np.array([-5.0, 70.0])
    assert flat.wrap_x(x) is x and flat.x_difference(x) is x  # a flat image wraps nothing
    with pytest.raises(ValueError, match="period"):
        BoxSpace(0.0)


# --- centre distance, NMS --------------------------------------------------------------------


def test_center_distance_goes_the_short_way_round() -> None:
    a = np.array([[0.0, 0, 10, 10]])  # centre (5, 5)
    b = np.array([[2038.0, 0, 2048, 10], [100, 30, 110, 50]])  # centres (2043, 5), (105, 40)
    assert_allclose(box_center_distance(a, b, period=2048), [[10.0, np.hypot(100, 35)]])
    assert_allclose(box_center_distance(a, b), [[2038.0, np.hypot(100, 35)]])
    assert box_center_distance(np.zeros((0, 4)), b).shape == (0, 2)


def test_nms_known_case_and_seam() -> None:
    b = np.array(
        [[0, 0, 10, 10], [1, 0, 11, 10], [20, 0, 30, 10], [2040, 0, 2050, 10], [-6, 0, 4, 10]],
        float,
    )
    scores = np.array([0.9, 0.8, 0.7, 0.95, 0.6])
    assert nms(b, scores, 0.5).tolist() == [3, 0, 2, 4]
    # on the panorama [-6, 4) is [2042, 2052): the same person as box 3
    assert nms(b, scores, 0.5, period=2048).tolist() == [3, 0, 2]
    empty = nms(np.zeros((0, 4)), np.zeros(0), 0.5, period=2048)
    assert empty.dtype == np.int64 and empty.shape == (0,)
    with pytest.raises(ValueError, match="scores"):
        nms(b, scores[:2], 0.5)


@GEOMETRY
@given(boxes(W, H), st.sampled_from([0.0, 0.3, 0.7]), st.sampled_from([None, W]), st.data())
def test_nms_matches_the_greedy_definition(b, thr, period, data) -> None:
    scores = np.array(
        data.draw(st.lists(st.sampled_from([0.2, 0.5, 0.9]), min_size=len(b), max_size=len(b))),
        float,
    )
    keep = nms(b, scores, thr, period)
    assert keep.dtype == np.int64
    assert keep.tolist() == reference_nms(b, scores, thr, period)


# --- wrap, split, edges ----------------------------------------------------------------------


def test_wrap_boxes() -> None:
    b = np.array([[-10.0, 0, 20, 5], [2050, 0, 2060, 5], [100, 0, 2200, 5]])
    assert_allclose(wrap_boxes(b, 2048), [[2038, 0, 2068, 5], [2, 0, 12, 5], [100, 0, 2200, 5]])
    assert_allclose(wrap_boxes(b, None), b)
    assert wrap_boxes(np.zeros((0, 4)), 2048).shape == (0, 4)


def test_split_at_seam() -> None:
    b = np.array([[2000.0, 10, 2100, 110], [100, 0, 200, 50], [-30, 5, 10, 6]])
    parts, owner = split_at_seam(b, 2048)
    assert owner.dtype == np.int64 and owner.tolist() == [0, 0, 1, 2, 2]
    assert_allclose(
        parts,
        [
            [2000, 10, 2048, 110],
            [0, 10, 52, 110],
            [100, 0, 200, 50],
            [2018, 5, 2048, 6],
            [0, 5, 10, 6],
        ],
    )
    widths = np.bincount(owner, parts[:, 2] - parts[:, 0])
    assert_allclose(widths, b[:, 2] - b[:, 0])
    parts, owner = split_at_seam(b, None)
    assert_allclose(parts, b) and owner.tolist() == [0, 1, 2]
    parts, owner = split_at_seam(np.zeros((0, 4)), 2048)
    assert parts.shape == (0, 4) and owner.shape == (0,)


@GEOMETRY
@given(boxes(W, H))
def test_split_parts_lie_in_the_image_and_keep_the_width(b: np.ndarray) -> None:
    parts, owner = split_at_seam(b, W)
    assert ((parts[:, 0] >= 0) & (parts[:, 2] <= W) & (parts[:, 2] > parts[:, 0])).all()
    assert_allclose(
        np.bincount(owner, parts[:, 2] - parts[:, 0], minlength=len(b)), b[:, 2] - b[:, 0]
    )


def test_boxes_touch_edge() -> None:
    b = np.array([[0.5, 10, 50, 100], [10, 1, 639, 479], [10, 10, 20, 20]])
    touch = boxes_touch_edge(b, 640, 480, 2.0)
    assert touch.tolist() == [[True, False, False, False], [False, True, True, True], [False] * 4]
    assert not boxes_touch_edge(b, 640, 480, 2.0, period=640)[:, [0, 2]].any()
    assert boxes_touch_edge(np.zeros((0, 4)), 640, 480, 2.0).shape == (0, 4)


def test_a_box_space_knows_its_edges_where_its_size_is_given() -> None:
    """The same answers as boxes_touch_edge; a panorama's sides are no edges; without a
    size (a mosaic of views) no box touches any; every camera gives its size."""
    b = np.array([[0.5, 10, 50, 100], [10, 1, 639, 479], [10, 10, 20, 20]])
    flat = BoxSpace(size=(640, 480))
    np.testing.assert_array_equal(flat.touches_edge(b, 2.0), boxes_touch_edge(b, 640, 480, 2.0))
    assert not BoxSpace(640.0, (640, 480)).touches_edge(b, 2.0)[:, [0, 2]].any()
    assert not BoxSpace().touches_edge(b, 2.0).any()
    assert BoxSpace().touches_edge(np.zeros((0, 4)), 2.0).shape == (0, 4)
    assert Equirectangular(2048, 1024).box_space.size == (2048.0, 1024.0)
    assert ImageCamera(640, 480).box_space.size == (640.0, 480.0)
    with pytest.raises(ValueError, match="size"):
        BoxSpace(size=(0, 480))
