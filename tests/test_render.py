"""Annotators: seam-split boxes, stable colours, trails across the seam, zero tracks."""

from __future__ import annotations

import numpy as np
import pytest

from mplt.render import (
    ANNOTATORS,
    PALETTE,
    BoxAnnotator,
    FrameInfoAnnotator,
    LabelAnnotator,
    TrailAnnotator,
    compose,
    default_renderer,
    id_color,
)
from mplt.types import Tracks, TrackState

H, W = 100, 200


def tracks(ids, boxes, frame_index=0, states=None) -> Tracks:
    n = len(ids)
    return Tracks(
        ids=ids,
        boxes=np.asarray(boxes, float).reshape(n, 4),
        scores=np.ones(n),
        ground_xy=np.full((n, 2), np.nan),
        ground_velocity=np.full((n, 2), np.nan),
        states=[TrackState.CONFIRMED] * n if states is None else states,
        detection_indices=np.arange(n),
        frame_index=frame_index,
    )


def black() -> np.ndarray:
    return np.zeros((H, W, 3), np.uint8)


def test_seam_crossing_box_is_drawn_at_both_edges():
    frame = black()
    crossing = tracks([1], [[180.0, 20.0, 230.0, 80.0]])  # x2 > W: 20 px each side
    out = BoxAnnotator(thickness=1).annotate(frame, crossing)
    color = list(id_color(1))
    assert out[20, W - 1].tolist() == color and out[20, 0].tolist() == color  # top edge
    assert out[79, W - 1].tolist() == color and out[79, 0].tolist() == color  # bottom edge
    assert out[50, 180].tolist() == color and out[50, 29].tolist() == color  # real sides
    # the sides on the seam are open, and nothing is drawn between the two parts
    assert out[50, W - 1].tolist() == [0, 0, 0] and out[50, 0].tolist() == [0, 0, 0]
    assert not out[:, 31:179].any()
    assert not frame.any(), "annotate must draw on a copy"


def test_without_wrapping_the_box_is_clipped_not_split():
    out = BoxAnnotator(wrap=False, thickness=1).annotate(
        black(), tracks([1], [[180.0, 20.0, 230.0, 80.0]])
    )
    assert out[20, W - 1].any()
    assert not out[:, :170].any()


def test_same_id_same_colour_in_separate_renderers():
    boxes = [[40.0, 30.0, 60.0, 90.0]]
    a = BoxAnnotator().annotate(black(), tracks([7], boxes))
    b = BoxAnnotator().annotate(black(), tracks([7], boxes, frame_index=50))
    assert np.array_equal(a, b)
    assert a[30, 50].tolist() == list(id_color(7))
    assert len(set(PALETTE)) == len(PALETTE)
    assert id_color(3) != id_color(4)


def test_labels_use_the_id_colour_and_stay_inside_the_image():
    out = LabelAnnotator().annotate(black(), tracks([5], [[190.0, 2.0, 230.0, 60.0]]))
    assert (out.reshape(-1, 3) == id_color(5)).all(axis=1).sum() > 20
    assert out[:, W - 1].any()  # clamped against the right edge, not lost outside


def test_trail_across_the_seam_is_not_drawn_across_the_image():
    trails = TrailAnnotator(thickness=1)
    trails.annotate(black(), tracks([2], [[185.0, 30.0, 199.0, 80.0]], frame_index=0))  # feet 192
    out = trails.annotate(black(), tracks([2], [[1.0, 30.0, 15.0, 80.0]], frame_index=1))  # 8
    # the step leaves at the right edge and enters at the left one (anti-aliased line)
    assert out[78:83, W - 3 :].any() and out[78:83, :3].any()
    np.testing.assert_allclose(out[78:83].max(axis=(0, 1)), id_color(2), atol=30)
    assert not out[:, 20:180].any()


def test_trail_follows_a_track_and_forgets_it():
    trails = TrailAnnotator(length=3, thickness=1)
    for k in range(5):
        out = trails.annotate(black(), tracks([1], [[20.0 + 10 * k, 10.0, 30.0 + 10 * k, 50.0]], k))
    # feet at x = 25..65; length 3 keeps frames 2..4, i.e. x = 45..65
    assert out[50, 45:66].any(axis=1).all()
    assert not out[:, :40].any()
    out = trails.annotate(black(), tracks([9], [[100.0, 10.0, 110.0, 50.0]], 5))
    assert not out.any()  # track 1 is gone, track 9 has a single point


def test_zero_tracks_leave_the_frame_unchanged():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    empty = Tracks.empty(3)
    renderer = compose(BoxAnnotator(), LabelAnnotator(), TrailAnnotator())
    for annotator in (BoxAnnotator(), LabelAnnotator(), TrailAnnotator(), renderer):
        out = annotator.annotate(frame, empty)
        assert out is not frame and np.array_equal(out, frame)


def test_lost_tracks_get_thinner_boxes():
    boxes = [[40.0, 30.0, 80.0, 90.0]]
    bold = BoxAnnotator(thickness=4).annotate(black(), tracks([1], boxes))
    thin = BoxAnnotator(thickness=4).annotate(black(), tracks([1], boxes, states=[TrackState.LOST]))
    assert bold.any(axis=2).sum() > thin.any(axis=2).sum() > 0


def test_frame_info_and_default_renderer():
    out = FrameInfoAnnotator(fps=25).annotate(black(), Tracks.empty(24))
    assert out[:30, :100].any() and not out[60:].any()
    renderer = default_renderer(wrap=True, fps=25)
    one = tracks([1], [[180.0, 20.0, 230.0, 80.0]], frame_index=0)
    out = renderer.annotate(black(), one)
    assert out[20, 0].tolist() == list(id_color(1))
    renderer.reset()


def test_registry_names():
    assert ANNOTATORS.names() == ["boxes", "frame_info", "labels", "trails"]
    assert ANNOTATORS.get("boxes") is BoxAnnotator


def test_trail_length_is_validated():
    with pytest.raises(ValueError):
        TrailAnnotator(length=1)
