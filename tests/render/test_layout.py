"""Layouts: output sizes (even, as wide as asked), panel places, fallbacks without ground."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import UserError
from core.types import Tracks
from mplt.geometry import Equirectangular, ImageCamera
from mplt.render import LAYOUTS, FrameComposer, plan_layout
from tests.render.conftest import scene_tracks


@pytest.mark.parametrize(
    ("layout", "frame", "width", "size"),
    [
        ("side", (1920, 960), 1920, (1920, 640)),
        ("side", (1280, 720), 1280, (1280, 460)),  # a 16:9 pinhole video
        ("below", (1920, 960), 1920, (1920, 960 + 720)),
        ("map", (1920, 960), 1080, (1080, 1080)),
        ("pano", (1920, 960), 1280, (1280, 640)),
        ("pano", (1920, 960), 1001, (1000, 500)),
        ("side", (3840, 1920), 999, (998, 332)),
    ],
)
def test_layout_sizes_are_even_and_as_wide_as_asked(layout, frame, width, size):
    plan = plan_layout(layout, frame, width=width)
    assert plan.size == size and plan.size[0] % 2 == 0 and plan.size[1] % 2 == 0
    rects = [r for r in (plan.pano, plan.map, plan.people, plan.info) if r is not None]
    # panels tile the frame without overlapping or sticking out
    area = np.zeros(size[::-1], int)
    for r in rects:
        assert r.x >= 0 and r.y >= 0 and r.x + r.w <= size[0] and r.y + r.h <= size[1]
        area[r.y : r.y + r.h, r.x : r.x + r.w] += 1
    assert area.max() == 1


def test_side_map_is_square_and_as_tall_as_the_panorama():
    plan = plan_layout("side", (1920, 960), width=1920)
    assert plan.pano.size == (1280, 640) and plan.map.size == (640, 640)
    assert plan.map.x == plan.pano.w


def test_below_centres_the_map_between_text_panels():
    plan = plan_layout("below", (1920, 960), width=1920, map_size_px=720)
    assert plan.pano.size == (1920, 960)
    assert plan.map.size == (720, 720) and plan.map.x == 600 and plan.map.y == 960
    assert plan.people.size == (600, 720) and plan.info.x == 1320
    narrow = plan_layout("below", (1920, 960), width=800, map_size_px=720)
    assert narrow.people is None and narrow.info is None and narrow.map.size == (720, 720)


def test_without_ground_positions_side_and_below_fall_back_to_the_panorama():
    for layout in ("side", "below", "pano"):
        plan = plan_layout(layout, (1280, 720), width=1280, has_ground=False)
        assert plan.name == "pano" and plan.map is None and plan.size == (1280, 720)
    with pytest.raises(UserError, match=r"needs ground positions.*--calib"):
        plan_layout("map", (1280, 720), has_ground=False)


def test_bad_layout_settings_are_one_line_errors():
    with pytest.raises(UserError, match="unknown render layout 'top'; choose one of: side, below"):
        plan_layout("top", (1920, 960))
    with pytest.raises(UserError, match="too small"):
        plan_layout("side", (1920, 960), width=100)
    assert LAYOUTS == ("side", "below", "map", "pano")
    with pytest.raises(UserError, match="map_range_m must be a positive number"):
        FrameComposer(Equirectangular(128, 64), map_range_m=0.0)
    with pytest.raises(UserError, match="trail_length must be at least 2"):
        FrameComposer(Equirectangular(128, 64), trail_length=1)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_composer_draws_frames_of_the_planned_size(layout):
    composer = FrameComposer(Equirectangular(128, 64), layout=layout, width=640, map_size_px=200)
    frame = np.full((64, 128, 3), 90, np.uint8)
    for k in range(3):
        out = composer.compose(frame, scene_tracks(k))
        assert out.shape == (composer.size[1], composer.size[0], 3) and out.dtype == np.uint8
    assert composer.compose(frame, Tracks.empty(3)).any()
    assert frame.max() == 90 == frame.min()  # the input frame is not drawn on
    with pytest.raises(ValueError, match="frame must be uint8"):
        composer.compose(np.zeros((10, 10, 3), np.uint8), Tracks.empty(4))


def test_image_mode_composer_has_no_map_and_no_distances():
    composer = FrameComposer(ImageCamera(160, 120), layout="side", width=320)
    assert composer.plan.name == "pano" and composer.map is None and composer.size == (320, 240)
    out = composer.compose(np.zeros((120, 160, 3), np.uint8), scene_tracks(2, 160, 120))
    assert out.shape == (240, 320, 3)
