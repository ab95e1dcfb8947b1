"""The bird's-eye map: projection (+x up, +y left), range rings and auto range, camera pose."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.types import Tracks
from mplt.geometry import Equirectangular, ImageCamera, MultiView, Pinhole
from mplt.render import (
    BirdsEyeMap,
    FrameComposer,
    MapPose,
    MapProjection,
    id_color,
    nice_ceil,
    ring_step,
)
from mplt.render.birdseye import ACCENT
from mplt.render.mapgeom import DEFAULT_RANGE_M, AutoRange
from tests.render.conftest import make_tracks


def test_nice_numbers_and_ring_steps():
    assert [nice_ceil(v) for v in (0.9, 4.0, 4.1, 9.2, 11.0, 13.0, 33.0, 90.0)] == [
        1.0,
        4.0,
        5.0,
        10.0,
        12.0,
        15.0,
        40.0,
        100.0,
    ]
    assert ring_step(10.0) == 2.0  # MPLT's plot: +-10 m, rings every 2 m
    assert [ring_step(r) for r in (4.0, 6.0, 15.0, 20.0, 40.0, 100.0)] == [
        1.0,
        1.0,
        5.0,
        5.0,
        10.0,
        20.0,
    ]
    with pytest.raises(ValueError):
        nice_ceil(0.0)


def test_projection_puts_forward_up_and_left_to_the_left():
    proj = MapProjection((100.0, 100.0), 10.0, origin_xy=(1.0, 2.0))
    px = proj.to_pixels(np.array([[1.0, 2.0], [4.0, 2.0], [1.0, 5.0], [1.0, -1.0], [-2.0, 2.0]]))
    np.testing.assert_allclose(px, [[100, 100], [100, 70], [70, 100], [130, 100], [100, 130]])
    np.testing.assert_allclose(proj.direction(0.0), [0, -1], atol=1e-12)  # forward: up
    np.testing.assert_allclose(proj.direction(90.0), [-1, 0], atol=1e-12)  # +y: left


metres = st.floats(-50.0, 50.0, allow_nan=False)


@given(x=metres, y=metres, ox=metres, oy=metres, ppm=st.floats(0.5, 50.0))
def test_projection_is_a_scaled_turn_with_left_on_the_left(x, y, ox, oy, ppm):
    proj = MapProjection((320.0, 240.0), ppm, origin_xy=(ox, oy))
    px = proj.to_pixels(np.array([[x, y]]))[0]
    d = np.array([x - ox, y - oy])
    # distances scale by ppm, and the map is not mirrored: +x up, +y (left) to the left
    assert np.hypot(*(px - (320.0, 240.0))) == pytest.approx(ppm * np.hypot(*d), abs=1e-6)
    assert px[0] - 320.0 == pytest.approx(-ppm * d[1], abs=1e-6)
    assert px[1] - 240.0 == pytest.approx(-ppm * d[0], abs=1e-6)
    # a direction angle (counter-clockwise from +x) points where a point that way lands
    if np.hypot(*d) > 1e-3:
        u = proj.direction(np.degrees(np.arctan2(d[1], d[0])))
        np.testing.assert_allclose(u * ppm * np.hypot(*d), px - (320.0, 240.0), atol=1e-6)


def test_a_person_lands_on_the_right_pixel_of_the_map_panel():
    # side layout at width 960 for a 128x64 panorama: panorama 640x320, map 320x320 at x = 640
    composer = FrameComposer(Equirectangular(128, 64), layout="side", width=960, map_range_m=10.0)
    assert composer.plan.map.x == 640 and composer.size == (960, 320)
    ppm = BirdsEyeMap.radius_px((320, 320)) / 10.0  # the outer circle is 10 m
    assert 10.0 < ppm < 16.0
    # Person 1 ahead and to the right (azimuth +45 deg), person 2 to the left (azimuth -90 deg).
    tracks = make_tracks(0, [1, 2], [[70, 20, 74, 40], [30, 20, 34, 40]], [[5.0, -5.0], [0.0, 6.0]])
    out = composer.compose(np.zeros((64, 128, 3), np.uint8), tracks)
    # x = 5 m ahead: 5 * ppm up from the centre (160, 160); y = -5 m: 5 * ppm to the right
    row, col = int(160 - 5 * ppm), int(640 + 160 + 5 * ppm)
    assert out[row, col].tolist() == list(id_color(1))
    # y = +6 m: 6 * ppm to the left of the centre
    assert out[160, int(640 + 160 - 6 * ppm)].tolist() == list(id_color(2))
    # and nothing of theirs on the mirrored side
    assert out[row, int(640 + 160 - 5 * ppm)].tolist() != list(id_color(1))
    assert out[160, int(640 + 160 + 6 * ppm)].tolist() != list(id_color(2))


def test_people_beyond_a_fixed_range_sit_on_the_rim():
    bev = BirdsEyeMap(range_m=10.0)
    canvas = np.zeros((200, 200, 3), np.uint8)
    bev.draw(canvas, make_tracks(0, [3], [[0, 0, 1, 1]], [[50.0, 0.0]]))  # 50 m ahead
    radius = bev.radius_px((200, 200))
    mask = np.abs(canvas.astype(int) - id_color(3)).sum(axis=2) < 30
    rows = np.nonzero(mask[:, 95:106])[0]  # the arrow, straight up from the camera...
    assert len(rows)
    assert 100 - radius - 3 < rows.min() and rows.max() < 100 - radius + 16  # ...on the rim
    assert not mask[:, :90].any() and not mask[100 - int(radius) + 20 :].any()


def test_forward_mark_and_seam_tick_point_the_right_way():
    canvas = np.zeros((300, 300, 3), np.uint8)
    BirdsEyeMap(pose=MapPose(seam=True)).draw(canvas, Tracks.empty(0))
    accent = np.abs(canvas.astype(int) - ACCENT).sum(axis=2) < 20
    rows = np.nonzero(accent[:, 140:160])[0]
    assert rows.min() < 40 and rows.max() > 260  # "front" at the top, the seam at the bottom
    turned = np.zeros_like(canvas)
    BirdsEyeMap(pose=MapPose(forward_deg=90.0)).draw(turned, Tracks.empty(0))
    accent = np.abs(turned.astype(int) - ACCENT).sum(axis=2) < 20
    assert accent[:, :60].sum() > 20 and accent[:, 240:].sum() == 0  # facing +y: left


def test_auto_range_grows_to_a_nice_number_smoothly_and_never_shrinks():
    auto = AutoRange(fps=10.0)
    assert auto.current == DEFAULT_RANGE_M
    radii = [auto.update(np.array([3.0, np.nan]))]  # needs 3.3 m -> 4 m (the minimum)
    radii += [auto.update(np.array([])) for _ in range(30)]
    assert auto.target == 4.0 and radii[-1] == pytest.approx(4.0)
    assert np.all(np.diff(radii) <= 0) and np.abs(np.diff(radii)).max() < 1.5  # eased
    radii = [auto.update(np.array([13.0]))] + [auto.update(np.array([1.0])) for _ in range(40)]
    assert auto.target == 15.0 and radii[-1] == pytest.approx(15.0)
    assert np.all(np.diff(radii) >= 0)  # the person came close again: no shrinking
    fixed = AutoRange(6.0)
    assert fixed.update(np.array([100.0])) == 6.0
    with pytest.raises(ValueError):
        AutoRange(-1.0)


def test_map_trails_follow_and_forget_tracks():
    bev = BirdsEyeMap(trail_length=5, range_m=10.0)
    canvas = np.zeros((200, 200, 3), np.uint8)
    for k in range(8):
        bev.draw(canvas, make_tracks(k, [4], [[0, 0, 1, 1]], [[2.0 + 0.5 * k, 0.0]]))
    assert [len(t) for t in bev._trails.values()] == [5]
    bev.draw(canvas, Tracks.empty(8))
    assert not bev._trails
    # zero tracks: only the background, drawn without error
    empty = np.zeros_like(canvas)
    BirdsEyeMap(range_m=10.0).draw(empty, Tracks.empty(0))
    assert np.array_equal(canvas, empty)


def test_pose_of_an_equirectangular_camera_follows_its_yaw():
    pose = MapPose.from_camera(Equirectangular(200, 100, camera_height=1.5, yaw_deg=30.0))
    assert pose.camera_xy == (0.0, 0.0) and pose.seam and pose.fov_deg is None
    assert pose.forward_deg == pytest.approx(30.0, abs=0.2)
    assert MapPose.from_camera(MultiView.mplt_mosaic()) == MapPose(forward_deg=0.0)
    assert MapPose.from_camera(ImageCamera(200, 100)) == MapPose()


def test_pose_of_a_pinhole_camera_is_its_world_position_and_view():
    # Camera at world (2, 3, 1.5) looking horizontally along world +y, 90 deg field of view.
    R = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])
    centre = np.array([2.0, 3.0, 1.5])
    K = np.array([[100.0, 0, 100], [0, 100.0, 50], [0, 0, 1]])
    camera = Pinhole(200, 100, K, R=R, t=-R @ centre)
    pose = MapPose.from_camera(camera)
    assert pose.camera_xy == pytest.approx((2.0, 3.0))
    assert pose.forward_deg == pytest.approx(90.0, abs=0.5)
    assert pose.fov_deg == pytest.approx((135.0, 45.0), abs=0.5)  # left edge, right edge
    assert not pose.seam
    proj = BirdsEyeMap(pose=pose, range_m=10.0).projection((200, 200))
    np.testing.assert_allclose(proj.to_pixels(np.array([[2.0, 3.0]])), [[100.0, 100.0]])
