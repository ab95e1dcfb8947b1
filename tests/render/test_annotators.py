"""Annotators: seam-split boxes, stable colours, labels, trails across the seam, zero tracks."""

from __future__ import annotations

import numpy as np
import pytest

from core.types import Tracks, TrackState
from mplt.render import (
    PALETTE,
    BoxAnnotator,
    FrameInfoAnnotator,
    HeadingAnnotator,
    LabelAnnotator,
    TrailAnnotator,
    compose,
    default_renderer,
    id_color,
)
from mplt.render.style import LabelPlacer, tag_size
from tests.render.conftest import make_tracks

H, W = 100, 200


def black() -> np.ndarray:
    return np.zeros((H, W, 3), np.uint8)


def is_color(pixel: np.ndarray, color) -> bool:
    return pixel.tolist() == list(color)


def test_seam_crossing_box_is_drawn_at_both_edges():
    frame = black()
    crossing = make_tracks(0, [1], [[180.0, 20.0, 230.0, 80.0]])  # x2 > W: 20 + 30 px
    out = BoxAnnotator(thickness=1).annotate(frame, crossing)
    color = id_color(1)
    assert is_color(out[20, W - 1], color) and is_color(out[20, 0], color)  # top edge
    assert is_color(out[79, W - 1], color) and is_color(out[79, 0], color)  # bottom edge
    assert is_color(out[50, 180], color) and is_color(out[50, 29], color)  # the real sides
    # the sides on the seam are open, and nothing is drawn between the two parts
    assert not out[40:60, W - 1].any() and not out[40:60, 0].any()
    assert not out[:, 32:178].any()
    assert not frame.any(), "annotate must draw on a copy"


def test_without_wrapping_the_box_is_not_split():
    out = BoxAnnotator(wrap=False, thickness=1).annotate(
        black(), make_tracks(0, [1], [[180.0, 20.0, 230.0, 80.0]])
    )
    assert out[20, W - 1].any()
    assert not out[:, :170].any()


def test_boxes_have_a_dark_edge_for_bright_backgrounds():
    white = np.full((H, W, 3), 255, np.uint8)
    out = BoxAnnotator(thickness=2).annotate(white, make_tracks(0, [3], [[40.0, 30.0, 80.0, 90.0]]))
    column = out[50, 36:45]  # across the left side: dark edge, colour, dark edge
    assert any(is_color(p, id_color(3)) for p in column)
    assert (column.max(axis=1) < 40).sum() >= 2


def test_same_id_same_colour_everywhere_and_distinct_neighbours():
    boxes = [[40.0, 30.0, 60.0, 90.0]]
    a = BoxAnnotator().annotate(black(), make_tracks(0, [7], boxes))
    b = BoxAnnotator().annotate(black(), make_tracks(50, [7], boxes))
    assert np.array_equal(a, b)
    assert is_color(a[30, 50], id_color(7))
    assert id_color(7) == id_color(7 + len(PALETTE)) == PALETTE[6]
    assert len(set(PALETTE)) == len(PALETTE)
    assert all(id_color(i) != id_color(i + 1) for i in range(1, 60))
    assert id_color(-1) == id_color(0) != id_color(1)  # tentative: grey


def test_tentative_and_lost_tracks_are_dashed_and_thinner():
    boxes = [[40.0, 30.0, 120.0, 90.0]]
    bold = BoxAnnotator(thickness=4).annotate(black(), make_tracks(0, [1], boxes))
    for state in (TrackState.LOST, TrackState.TENTATIVE):
        thin = BoxAnnotator(thickness=4).annotate(
            black(), make_tracks(0, [1], boxes, states=[state])
        )
        assert bold.any(axis=2).sum() > thin.any(axis=2).sum() > 0
        top = thin[30, 40:120].any(axis=1)
        assert 0.2 < top.mean() < 0.8  # dashes and gaps along the top edge


def test_labels_show_id_and_distance_in_the_id_colour_inside_the_image():
    one = make_tracks(0, [5], [[185.0, 2.0, 199.0, 60.0]], ground_xy=[[3.0, 4.0]])
    annotator = LabelAnnotator(origin_xy=(0.0, 0.0))
    assert annotator.label(one, 0) == "5  5.0 m"
    assert LabelAnnotator(origin_xy=None, show_confidence=True).label(one, 0) == "5  0.90"
    out = annotator.annotate(black(), one)
    assert (out.reshape(-1, 3) == id_color(5)).all(axis=1).sum() > 20
    assert out[:, W - 1].any()  # clamped against the right edge, not lost outside


def test_labels_of_neighbours_do_not_overlap():
    group = make_tracks(0, [1, 2], [[50.0, 40.0, 70.0, 90.0], [60.0, 41.0, 80.0, 90.0]])
    out = LabelAnnotator(origin_xy=None).annotate(black(), group)
    mask1 = (out == id_color(1)).all(axis=2)
    mask2 = (out == id_color(2)).all(axis=2)
    rows1, rows2 = np.flatnonzero(mask1.any(axis=1)), np.flatnonzero(mask2.any(axis=1))
    assert len(rows1) and len(rows2)
    assert rows1.max() < rows2.min() or rows2.max() < rows1.min()  # stacked, not covering


def test_label_placer_prefers_the_first_free_spot():
    placer = LabelPlacer((100, 100))
    placer.reserve([0, 0, 20, 20])
    assert placer.place((10, 10), [(5, 5), (30, 5), (60, 5)]) == (30, 5)
    assert placer.place((10, 10), [(30, 5), (15, 15)]) == (15, 15)  # both taken: least overlap
    assert placer.place((10, 10), [(-50, 200)]) == (0, 90)  # moved inside the canvas
    assert tag_size("12", 0.5)[0] > tag_size("1", 0.5)[0]


def test_trail_across_the_seam_is_not_drawn_across_the_image():
    trails = TrailAnnotator(thickness=1)
    trails.annotate(black(), make_tracks(0, [2], [[185.0, 30.0, 199.0, 80.0]]))  # feet x 192
    out = trails.annotate(black(), make_tracks(1, [2], [[1.0, 30.0, 15.0, 80.0]]))  # feet x 8
    # the step leaves at the right edge and enters at the left one (anti-aliased line)
    assert out[78:83, W - 3 :].any() and out[78:83, :3].any()
    np.testing.assert_allclose(out[78:83].max(axis=(0, 1)), id_color(2), atol=30)
    assert not out[:, 20:180].any()


def test_trail_follows_a_track_and_forgets_it():
    trails = TrailAnnotator(length=3, thickness=1)
    for k in range(5):
        out = trails.annotate(
            black(), make_tracks(k, [1], [[20.0 + 10 * k, 10.0, 30.0 + 10 * k, 50.0]])
        )
    # feet at x = 25..65; length 3 keeps frames 2..4, i.e. x = 45..65
    assert out[49, 46:64].any(axis=1).all()
    assert not out[:, :40].any()
    out = trails.annotate(black(), make_tracks(5, [9], [[100.0, 10.0, 110.0, 50.0]]))
    assert not out.any()  # track 1 is gone, track 9 has a single point


def test_observe_gives_the_same_state_as_drawing():
    frames = [make_tracks(k, [1], [[20.0 + 10 * k, 10.0, 30.0 + 10 * k, 50.0]]) for k in range(4)]
    drawn, observed = TrailAnnotator(), TrailAnnotator()
    for t in frames[:-1]:
        drawn.annotate(black(), t)
        observed.observe(t, (W, H))
    assert np.array_equal(
        drawn.annotate(black(), frames[-1]), observed.annotate(black(), frames[-1])
    )


@pytest.mark.parametrize("annotator", [BoxAnnotator, LabelAnnotator, TrailAnnotator])
def test_zero_tracks_leave_the_frame_unchanged(annotator):
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    out = annotator().annotate(frame, Tracks.empty(3))
    assert out is not frame and np.array_equal(out, frame)


def test_frame_info_headings_and_default_renderer():
    out = FrameInfoAnnotator(fps=25).annotate(black(), Tracks.empty(24))
    assert out[:25, :120].any() and not out[60:].any()
    out = HeadingAnnotator().annotate(black(), Tracks.empty(0))
    assert out[H - 3 :, W // 2 - 1 : W // 2 + 1].any()  # the "front" tick at the centre column
    renderer = default_renderer(wrap=True, fps=25)
    out = renderer.annotate(black(), make_tracks(0, [1], [[180.0, 60.0, 230.0, 90.0]]))
    assert is_color(out[60, 0], id_color(1))
    renderer.reset()


def test_compose_runs_in_order_on_one_copy():
    frame = black()
    chain = compose(BoxAnnotator(thickness=1), LabelAnnotator(origin_xy=None))
    out = chain.annotate(frame, make_tracks(0, [1], [[40.0, 50.0, 80.0, 90.0]]))
    assert out[50, 60].any() and out[40:49].any() and not frame.any()


def test_trail_length_is_validated():
    with pytest.raises(ValueError):
        TrailAnnotator(length=1)
