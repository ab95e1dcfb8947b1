"""Perspective views, remap tables and box transfer between views and cameras."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from mplt.geometry import (
    Equirectangular,
    MultiView,
    PerspectiveView,
    Pinhole,
    ray_to_azel,
    rectified_crop_maps,
    view_boxes_to_camera,
    view_maps,
)
from tests.strategies import GEOMETRY, floats, pinhole_pose, pixels

PANO = Equirectangular(2048, 1024, camera_height=2.0)


def sample(map_x: np.ndarray, map_y: np.ndarray, i: int, j: int) -> np.ndarray:
    """Continuous source coordinate the map gives for view pixel (row i, column j)."""
    return np.array([map_x[i, j], map_y[i, j]], float) + 0.5


def test_perspective_view_directions() -> None:
    view = PerspectiveView(90.0, 0.0, 90.0, 200, 100)
    assert view.f == pytest.approx(100.0)
    assert_allclose(
        view.pixel_to_ray([[100, 50], [200, 50], [100, 0]]),
        [[0, 1, 0], [np.sqrt(0.5), np.sqrt(0.5), 0], [0, np.sqrt(0.8), np.sqrt(0.2)]],
        atol=1e-12,
    )  # yaw +90 looks left; the right edge is 45 deg to the right
    _, valid = view.ray_to_pixel([[0, -1, 0]])
    assert not valid[0]
    assert view.pixel_to_ray(np.zeros((0, 2))).shape == (0, 3)
    with pytest.raises(ValueError, match="hfov"):
        PerspectiveView(0, 0, 180, 10, 10)


@GEOMETRY
@given(floats(-180, 180), floats(-89, 89), floats(10, 150), st.data())
def test_perspective_view_round_trip(yaw: float, pitch: float, hfov: float, data) -> None:
    view = PerspectiveView(yaw, pitch, hfov, 64, 48)
    uv = data.draw(pixels(64, 48))
    back, valid = view.ray_to_pixel(view.pixel_to_ray(uv))
    assert valid.all()
    assert_allclose(back, uv, atol=1e-8)


def test_view_maps_look_where_the_view_looks() -> None:
    view = PerspectiveView(180.0, 0.0, 60.0, 65, 33)  # centred on the seam, behind
    map_x, map_y = view_maps(PANO, view)
    assert map_x.shape == (33, 65) and map_x.dtype == np.float32
    assert ((map_x >= 0) & (map_x < 2048)).all()
    x, y = sample(map_x, map_y, 16, 32)  # az 180 is x = 0 = W: pixel index -0.5 = W - 0.5
    assert min(x, 2048 - x) < 1e-3 and y == pytest.approx(512, abs=1e-3)
    assert map_x[16, 0] > 1800 and map_x[16, -1] < 250  # the seam runs through the middle


def test_view_maps_into_a_pinhole_flag_unseen_samples() -> None:
    R, t = pinhole_pose(0.0, 0.0, 0.0, [0, 0, 1.5])
    cam = Pinhole(640, 480, [[400, 0, 319.5], [0, 400, 239.5], [0, 0, 1]], None, R, t)
    map_x, map_y = view_maps(cam, PerspectiveView(0.0, 0.0, 30.0, 21, 11))
    assert_allclose(sample(map_x, map_y, 5, 10), [320, 240], atol=1e-3)
    map_x, _ = view_maps(cam, PerspectiveView(180.0, 0.0, 30.0, 21, 11))  # behind the camera
    assert (map_x == -1).all()


def test_rectified_crop_centre_is_the_box_centre() -> None:
    b = np.array([[1000.0, 400, 1040, 560], [300, 500, 330, 620]])
    map_x, map_y = rectified_crop_maps(PANO, b, out_hw=(129, 65))
    assert map_x.shape == (2, 129, 65) and map_y.dtype == np.float32
    for k in range(2):
        assert_allclose(
            sample(map_x[k], map_y[k], 64, 32),
            [(b[k, 0] + b[k, 2]) / 2, (b[k, 1] + b[k, 3]) / 2],
            atol=1e-2,
        )
        # the crop covers the box: its rows reach beyond the box's top and bottom
        column = map_y[k][:, 32] + 0.5
        assert column[0] < b[k, 1] < b[k, 3] < column[-1]
        assert column[0] > b[k, 1] - 0.2 * (b[k, 3] - b[k, 1])  # but only by the margin


def test_rectified_crops_are_upright() -> None:
    # a tilted camera: image columns are not vertical, but each crop column is
    cam = Equirectangular(2048, 1024, yaw_deg=20, pitch_deg=15, roll_deg=-10)
    map_x, map_y = rectified_crop_maps(cam, np.array([[700.0, 380, 760, 640]]), out_hw=(31, 15))
    uv = np.column_stack([map_x[0, :, 7].ravel(), map_y[0, :, 7].ravel()]) + 0.5
    az = ray_to_azel(cam.pixel_to_ray(uv))[:, 0]
    assert np.ptp(az) < 1e-3  # the centre column is one vertical line of the world


def test_rectified_crop_across_the_seam_wraps_map_x() -> None:
    b = np.array([[2020.0, 450, 2080, 600]])
    map_x, map_y = rectified_crop_maps(PANO, b, out_hw=(129, 65))
    assert ((map_x >= 0) & (map_x < 2048)).all()
    assert (map_x < 100).any() and (map_x > 1950).any()
    assert_allclose(sample(map_x[0], map_y[0], 64, 32), [2050 - 2048, 525], atol=1e-2)


def test_rectified_crop_at_the_zenith_and_edge_cases() -> None:
    b = np.array([[1000.0, 0, 1048, 6], [10, 1018, 60, 1024], [5, 5, 5, 5]])
    map_x, map_y = rectified_crop_maps(PANO, b)
    assert np.isfinite(map_x).all() and np.isfinite(map_y).all()
    assert ((map_y >= 0) & (map_y <= 1023)).all()
    empty = rectified_crop_maps(PANO, np.zeros((0, 4)), out_hw=(128, 64))
    assert empty[0].shape == (0, 128, 64) and empty[1].shape == (0, 128, 64)


def test_rectified_crop_in_a_mosaic() -> None:
    cam = MultiView.mplt_mosaic()
    map_x, map_y = rectified_crop_maps(cam, np.array([[1180.0, 200, 1220, 300]]), out_hw=(101, 51))
    assert_allclose(sample(map_x[0], map_y[0], 50, 25), [1200, 250], atol=1e-2)


@pytest.mark.parametrize(
    "camera",
    [
        PANO,
        Equirectangular(2048, 1024, yaw_deg=20, pitch_deg=15, roll_deg=-10),
        Pinhole(640, 480, [[400, 0, 319.5], [0, 400, 239.5], [0, 0, 1]], [-0.3, 0.1, 0, 0]),
        MultiView.mplt_mosaic(),
    ],
    ids=["equirect", "tilted", "distorted-pinhole", "mosaic"],
)
def test_interpolated_crop_maps_match_the_per_pixel_projection(camera, monkeypatch) -> None:
    rng = np.random.default_rng(4)
    w, h = camera.width, camera.height
    x, y = rng.uniform(0, w, 40), rng.uniform(0, 0.9 * h, 40)
    height = rng.uniform(6, 0.4 * h, 40)
    b = np.column_stack([x, y, x + rng.uniform(0.2, 0.6, 40) * height, y + height])
    if camera.x_period is None:
        b = np.clip(b, 0, [w, h, w, h])
    else:  # also across the seam and at the nadir, where the interpolation is refused
        b = np.vstack([b, [[w - 30, 0.45 * h, w + 30, 0.6 * h], [100, 0.8 * h, 300, h]]])
    fast = rectified_crop_maps(camera, b, out_hw=(128, 64))
    monkeypatch.setattr("mplt.geometry.crops._MAX_INTERP_ERROR_PX", -1.0)  # every pixel exact
    exact = rectified_crop_maps(camera, b, out_hw=(128, 64))
    dx = np.abs(fast[0] - exact[0])
    if camera.x_period is not None:
        dx = np.minimum(dx, camera.x_period - dx)
    # within cv2.remap's resolution of sampling positions (1/32 px)
    assert dx.max() < 1 / 32 and np.abs(fast[1] - exact[1]).max() < 1 / 32
    assert ((fast[0] >= 0) == (exact[0] >= 0)).all()  # the same samples seen


def test_view_boxes_to_camera_across_the_seam() -> None:
    view = PerspectiveView(180.0, 0.0, 90.0, 640, 480)  # looks at the seam
    b = np.array([[300.0, 200, 340, 300], [500, 100, 600, 400]])
    out = view_boxes_to_camera(view, PANO, b)
    assert 0 <= out[0, 0] < 2048 < out[0, 2]
    # f = 320 px; a level view's columns are meridians: +-atan(20 / 320) of azimuth
    assert out[0, 2] - out[0, 0] == pytest.approx(2 * np.degrees(np.arctan(20 / 320)) / 360 * 2048)
    assert 0 <= out[1, 0] < out[1, 2] < 2048  # right of the seam: wrapped to the image start
    assert 0 < out[0, 1] < 512 < out[0, 3] < 1024
    assert view_boxes_to_camera(view, PANO, np.zeros((0, 4))).shape == (0, 4)


def test_view_box_round_trip_through_a_rectified_view() -> None:
    # a camera box seen by a view centred on it comes back as (about) the same box
    b = np.array([1500.0, 420, 1540, 600])
    centre_ray = PANO.pixel_to_ray([[(b[0] + b[2]) / 2, (b[1] + b[3]) / 2]])[0]
    az, el = ray_to_azel(centre_ray[None])[0]
    view = PerspectiveView(-az, -el, 60.0, 640, 640)
    corners = np.array([[b[0], b[1]], [b[2], b[3]]])
    (x1, y1), (x2, y2) = view.ray_to_pixel(PANO.pixel_to_ray(corners))[0]
    out = view_boxes_to_camera(view, PANO, np.array([[x1, y1, x2, y2]]))
    assert_allclose(out[0], b, atol=2.0)


def test_view_box_around_the_nadir_spans_the_panorama() -> None:
    view = PerspectiveView(0.0, 90.0, 90.0, 200, 200)  # looking straight down
    out = view_boxes_to_camera(view, PANO, np.array([[80.0, 80, 120, 120]]))
    assert_allclose(out[0, [0, 2, 3]], [0, 2048, 1024])
    assert 900 < out[0, 1] < 1024


def test_view_boxes_to_a_pinhole_clip_and_nan() -> None:
    R, t = pinhole_pose(0.0, 0.0, 0.0, [0, 0, 1.5])
    cam = Pinhole(640, 480, [[400, 0, 319.5], [0, 400, 239.5], [0, 0, 1]], None, R, t)
    front = PerspectiveView(0.0, 0.0, 120.0, 100, 100)
    out = view_boxes_to_camera(front, cam, np.array([[40.0, 40, 60, 60], [0, 0, 100, 100]]))
    assert_allclose(out[0, [0, 2]].mean(), 320, atol=1e-6)
    assert_allclose(out[1], [0, 0, 640, 480])
    back = PerspectiveView(180.0, 0.0, 60.0, 100, 100)
    assert np.isnan(view_boxes_to_camera(back, cam, np.array([[40.0, 40, 60, 60]]))).all()
