"""Camera models: known values, round trips (hypothesis), calibration files, N = 0."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from core.errors import UserError
from mplt.geometry import (
    Camera,
    Equirectangular,
    MultiView,
    Pinhole,
    View,
    ground_to_pixel,
    pixel_to_ground,
    ray_to_azel,
    ray_to_ground,
    rotation_matrix,
)
from tests.strategies import (
    GEOMETRY,
    equirect_cameras,
    floats,
    pinhole_cameras,
    pinhole_pose,
    pixels,
    rays,
)

K_SIMPLE = [[500.0, 0.0, 319.5], [0.0, 500.0, 239.5], [0.0, 0.0, 1.0]]


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def circular_diff(a: np.ndarray, b: np.ndarray, period: float) -> np.ndarray:
    return np.abs(np.mod(a - b + period / 2, period) - period / 2)


# --- rotations -------------------------------------------------------------------------------


def test_rotation_matrix_is_rz_ry_rx_with_the_documented_signs() -> None:
    y, p, r = np.radians([30.0, 20.0, 10.0])
    rz = np.array([[np.cos(y), -np.sin(y), 0], [np.sin(y), np.cos(y), 0], [0, 0, 1]])
    ry = np.array([[np.cos(p), 0, np.sin(p)], [0, 1, 0], [-np.sin(p), 0, np.cos(p)]])
    rx = np.array([[1, 0, 0], [0, np.cos(r), -np.sin(r)], [0, np.sin(r), np.cos(r)]])
    R = rotation_matrix(30, 20, 10)
    assert_allclose(R, rz @ ry @ rx, atol=1e-15)
    assert_allclose(R @ R.T, np.eye(3), atol=1e-15)
    assert np.linalg.det(R) == pytest.approx(1.0)
    assert_allclose(rotation_matrix(90, 0, 0) @ [1, 0, 0], [0, 1, 0], atol=1e-15)  # yaw: left
    assert_allclose(rotation_matrix(0, 90, 0) @ [1, 0, 0], [0, 0, -1], atol=1e-15)  # pitch: down


# --- equirectangular -------------------------------------------------------------------------


def test_equirect_known_directions() -> None:
    cam = Equirectangular(2048, 1024)
    uv = [[1024, 512], [1536, 512], [512, 512], [0, 512], [1024, 0], [1024, 1024]]
    expected = [[1, 0, 0], [0, -1, 0], [0, 1, 0], [-1, 0, 0], [0, 0, 1], [0, 0, -1]]
    assert_allclose(cam.pixel_to_ray(uv), expected, atol=1e-12)
    # pixel index u covers [u, u+1): its centre u + 0.5 has azimuth (u + 0.5) / W * 360 - 180
    assert_allclose(
        cam.pixel_to_azel([[0.5, 0.5]]), [[0.5 / 2048 * 360 - 180, 90 - 0.5 / 1024 * 180]]
    )
    assert_allclose(cam.azel_to_pixel([[90.0, 0.0], [-180.0, 45.0]]), [[1536, 512], [0, 256]])


def test_equirect_ray_to_pixel_wraps_u_into_the_image() -> None:
    cam = Equirectangular(2048, 1024, yaw_deg=30)
    uv, valid = cam.ray_to_pixel(cam.pixel_to_ray([[2047.9, 300], [3000.0, 300], [-5.0, 700]]))
    assert valid.all()
    assert ((uv[:, 0] >= 0) & (uv[:, 0] < 2048)).all()
    assert_allclose(uv, [[2047.9, 300], [952.0, 300], [2043.0, 700]], atol=1e-9)


def test_equirect_needs_2_to_1_and_a_positive_height() -> None:
    with pytest.raises(UserError, match=r"1920x1200.*2:1"):
        Equirectangular(1920, 1200)
    with pytest.raises(UserError, match="height"):
        Equirectangular(2048, 1024, camera_height=-1.0)


@GEOMETRY
@given(st.data(), equirect_cameras())
def test_equirect_pixel_ray_pixel(data: st.DataObject, cam: Equirectangular) -> None:
    uv = data.draw(pixels(cam.width, cam.height, border=0.5))
    r = cam.pixel_to_ray(uv)
    assert r.shape == (len(uv), 3)
    assert_allclose(np.linalg.norm(r, axis=1), 1.0, atol=1e-12)
    back, valid = cam.ray_to_pixel(r)
    assert valid.all()
    assert (circular_diff(back[:, 0], uv[:, 0], cam.width) < 1e-6).all()
    assert_allclose(back[:, 1], uv[:, 1], atol=1e-6)


@GEOMETRY
@given(equirect_cameras(), rays())
def test_equirect_ray_pixel_ray(cam: Equirectangular, r: np.ndarray) -> None:
    uv, valid = cam.ray_to_pixel(r)
    assert valid.all() and ((uv[:, 0] >= 0) & (uv[:, 0] < cam.width)).all()
    assert_allclose(cam.pixel_to_ray(uv), unit(r), atol=1e-9)


@GEOMETRY
@given(equirect_cameras(height_known=True), st.data())
def test_equirect_ground_round_trip(cam: Equirectangular, data: st.DataObject) -> None:
    xy = np.array(data.draw(st.lists(st.tuples(floats(-30, 30), floats(-30, 30)), max_size=6)))
    xyz = np.column_stack([xy.reshape(-1, 2), np.zeros(len(xy))])
    xyz = xyz[np.hypot(xyz[:, 0], xyz[:, 1]) > 0.1]
    uv, valid = ground_to_pixel(cam, xyz)
    assert valid.all()
    back, ok = pixel_to_ground(cam, uv)
    assert ok.all()
    assert_allclose(back, xyz[:, :2], atol=1e-6)


# --- pinhole ---------------------------------------------------------------------------------


def test_pinhole_principal_point_looks_along_the_optical_axis() -> None:
    R, t = pinhole_pose(30.0, 10.0, 0.0, [1.0, 2.0, 3.0])
    cam = Pinhole(640, 480, K_SIMPLE, None, R, t)
    # OpenCV's cx = 319.5 is the centre of pixel 319, i.e. continuous x = 320
    assert_allclose(
        cam.pixel_to_ray([[320.0, 240.0]])[0], rotation_matrix(30, 10, 0)[:, 0], atol=1e-12
    )
    assert cam.camera_height == pytest.approx(3.0)
    assert_allclose(cam.center(), [1, 2, 3], atol=1e-12)
    _, valid = cam.ray_to_pixel(-rotation_matrix(30, 10, 0)[:, :1].T)
    assert not valid[0]  # behind the camera


def test_pinhole_without_pose_is_level_forward_with_unknown_height() -> None:
    cam = Pinhole(640, 480, K_SIMPLE)
    assert cam.camera_height is None and np.isnan(cam.center()[2])
    assert_allclose(
        cam.pixel_to_ray([[320, 240], [320, 0]]),
        [[1, 0, 0], unit(np.array([500, 0, 240.0]))],
        atol=1e-12,
    )
    assert cam.pixel_to_ray(np.zeros((0, 2))).shape == (0, 3)
    with pytest.raises(UserError, match="camera height"):
        pixel_to_ground(cam, [[320, 400]])


@GEOMETRY
@given(st.data(), st.booleans().flatmap(lambda d: pinhole_cameras(distorted=d)))
def test_pinhole_pixel_ray_pixel(data: st.DataObject, cam: Pinhole) -> None:
    uv = data.draw(pixels(cam.width, cam.height))
    r = cam.pixel_to_ray(uv)
    assert_allclose(np.linalg.norm(r, axis=1), 1.0, atol=1e-12)
    back, valid = cam.ray_to_pixel(r)
    assert valid.all()
    assert_allclose(back, uv, atol=1e-6)


@GEOMETRY
@given(st.data(), pinhole_cameras())
def test_pinhole_ray_pixel_ray_inside_the_image(data: st.DataObject, cam: Pinhole) -> None:
    # rays inside the field of view (where the distortion model is valid), of any length
    uv = data.draw(pixels(cam.width, cam.height))
    r = cam.pixel_to_ray(uv) * data.draw(floats(0.5, 5.0))
    back_uv, valid = cam.ray_to_pixel(r)
    assert valid.all()
    assert_allclose(cam.pixel_to_ray(back_uv), unit(r), atol=1e-9)


@GEOMETRY
@given(st.data(), pinhole_cameras())
def test_pinhole_ground_projection_returns_the_pixel(data: st.DataObject, cam: Pinhole) -> None:
    uv = data.draw(pixels(cam.width, cam.height))
    xy, hit = pixel_to_ground(cam, uv)
    back, valid = ground_to_pixel(cam, np.column_stack([xy[hit], np.zeros(hit.sum())]))
    assert valid.all()
    assert_allclose(back, uv[hit], atol=1e-5)


def test_pinhole_from_yaml_json_and_opencv_files(tmp_path) -> None:
    R, t = pinhole_pose(0.0, 20.0, 0.0, [0.0, 0.0, 2.5])
    rvec = np.array([0.0, 0.0, 0.0])
    yaml_file = tmp_path / "cam.yaml"
    yaml_file.write_text(
        f"width: 640\nheight: 480\nK: {K_SIMPLE}\ndist: [0.1, -0.01, 0, 0]\n"
        f"R: {R.tolist()}\nt: {t.tolist()}\n"
    )
    cam = Pinhole.from_file(yaml_file)
    assert cam.camera_height == pytest.approx(2.5)
    assert_allclose(cam.dist, [0.1, -0.01, 0, 0, 0])
    json_file = tmp_path / "cam.json"
    json_file.write_text(
        json.dumps(
            {"width": 640, "height": 480, "K": K_SIMPLE, "rvec": rvec.tolist(), "tvec": [0, 0, 1]}
        )
    )
    assert_allclose(Pinhole.from_file(json_file).rotation, np.eye(3))
    opencv = tmp_path / "calib.yml"
    opencv.write_text(
        "%YAML:1.0\n---\nimage_width: 640\nimage_height: 480\n"
        "camera_matrix: !!opencv-matrix\n   rows: 3\n   cols: 3\n   dt: d\n"
        "   data: [ 500., 0., 319.5, 0., 500., 239.5, 0., 0., 1. ]\n"
        "distortion_coefficients: !!opencv-matrix\n   rows: 1\n   cols: 5\n"
        "   dt: d\n   data: [ -0.2, 0.05, 0., 0., 0. ]\n"
    )
    cam = Pinhole.from_file(opencv)
    assert_allclose(cam.K, K_SIMPLE)
    assert cam.dist[0] == -0.2 and cam.camera_height is None


GOOD = "width: 640\nheight: 480\nK: [[500, 0, 320], [0, 500, 240], [0, 0, 1]]\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("height: 480\nK: [[500, 0, 320], [0, 500, 240], [0, 0, 1]]", "missing key 'width'"),
        ("width: 640\nheight: 480\nK: [[0, 0, 320], [0, 500, 240], [0, 0, 1]]", "invalid 'K'"),
        ("width: 640\nheight: 480\nK: [[500, 0, 320], [0, 500, 240]]", "invalid 'K'"),
        (GOOD + "R: [[1, 0, 0], [0, 1, 0], [0, 0, 2]]", "invalid 'R'.*rotation"),
        (GOOD + "R: [[1, 0, 0], [0, 1, 0]]", "invalid 'R'"),
        (
            GOOD + "R: [[1, 0, 0], [0, 1, 0], [0, 0, 1]]\nrvec: [0, 0, 0]",
            "both 'R' and 'rvec'; keep one",
        ),
        (GOOD + "dist: [0.1, 0.2, 0.3]", "invalid 'dist'"),
        (GOOD + "t: [1, 2]", "invalid 't'"),
        ("width: -640\nheight: 480\nK: [[500, 0, 320], [0, 500, 240], [0, 0, 1]]", "image size"),
        ("width: [640\n", "cannot parse"),
        ("- just\n- a list\n", "expected a mapping"),
    ],
)
def test_pinhole_file_errors_name_the_problem(tmp_path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        Pinhole.from_file(path)


def test_pinhole_missing_file_is_an_mplt_error(tmp_path) -> None:
    with pytest.raises(UserError, match="cannot read camera file"):
        Pinhole.from_file(tmp_path / "nope.yaml")


# --- multi-view mosaic -----------------------------------------------------------------------


def test_mplt_mosaic_view_centres_and_empty_cells() -> None:
    cam = MultiView.mplt_mosaic(camera_height=1.6)
    assert (cam.width, cam.height, cam.x_period) == (2400, 1024, None)
    centres = [[400, 256], [1200, 256], [2000, 256], [1200, 768], [400, 768], [2000, 900]]
    r = cam.pixel_to_ray(centres)
    assert_allclose(r[:4], [[0, 1, 0], [1, 0, 0], [0, -1, 0], [-1, 0, 0]], atol=1e-12)
    assert np.isnan(r[4:]).all()
    assert cam.view_index(centres).tolist() == [0, 1, 2, 3, -1, -1]
    # cells are half-open, but the mosaic's own right border still belongs to the right view
    assert cam.view_index([[800, 100], [2400, 100], [400, 512], [1200, 512]]).tolist() == [
        1,
        2,
        0,
        3,
    ]
    # f = 500: 100 px right of the front centre is atan(100/500) to the right
    assert_allclose(
        ray_to_azel(cam.pixel_to_ray([[1300, 256]])), [[np.degrees(np.arctan(0.2)), 0]], atol=1e-12
    )
    # a ray between two views (77 deg field of view each) is seen by none
    uv, valid = cam.ray_to_pixel([[1.0, -1.0, 0.0], [1.0, -0.2, 0.0]])
    assert valid.tolist() == [False, True] and np.isnan(uv[0]).all()


@GEOMETRY
@given(st.data())
def test_mosaic_pixel_ray_pixel(data: st.DataObject) -> None:
    cam = MultiView.mplt_mosaic()
    uv = data.draw(pixels(2400, 512))  # the top row is fully covered by views
    back, valid = cam.ray_to_pixel(cam.pixel_to_ray(uv))
    assert valid.all()
    assert_allclose(back, uv, atol=1e-6)


@pytest.mark.parametrize("rot90", [0, 1, 2, 3])
@pytest.mark.parametrize("mirror", [False, True])
def test_view_rotation_matches_numpy_rot90_and_fliplr(rot90: int, mirror: bool) -> None:
    upright = np.arange(6 * 10).reshape(6, 10)  # h=6, w=10
    cell = np.rot90(np.fliplr(upright) if mirror else upright, -rot90)
    view = View("v", 0, 0, cell.shape[1], cell.shape[0], 0, 0, 5, 5, 5, 3, rot90, mirror)
    assert view.upright_size == (10, 6)
    assert np.array_equal(
        np.fliplr(np.rot90(cell, rot90)) if mirror else np.rot90(cell, rot90), upright
    )
    i, j = np.mgrid[0:6, 0:10]
    xc, yc = view.upright_to_cell(j.ravel() + 0.5, i.ravel() + 0.5)
    assert np.array_equal(cell[np.floor(yc).astype(int), np.floor(xc).astype(int)], upright.ravel())
    x, y = view.cell_to_upright(xc, yc)
    assert_allclose(np.column_stack([x, y]), np.column_stack([j.ravel(), i.ravel()]) + 0.5)


def test_rotated_back_view_round_trip() -> None:
    views = [
        View("front", 0, 0, 800, 512, 0, 0, 500, 500, 400, 256),
        View("back", 800, 0, 512, 800, 180, 0, 500, 500, 400, 256, rot90=1, mirror=True),
    ]
    cam = MultiView(1312, 800, views)
    uv = np.array([[1000.0, 100.0], [1300.0, 700.0], [300.0, 300.0]])
    back, valid = cam.ray_to_pixel(cam.pixel_to_ray(uv))
    assert valid.all()
    assert_allclose(back, uv, atol=1e-9)
    # the centre of the rotated cell is still the back view's optical axis
    assert_allclose(cam.pixel_to_ray([[800 + 256, 400]]), [[-1, 0, 0]], atol=1e-12)


def test_mosaic_rejects_views_outside_the_frame() -> None:
    with pytest.raises(UserError, match="outside"):
        MultiView(800, 512, [View("v", 100, 0, 800, 512, 0, 0, 500, 500, 400, 256)])


# --- free functions --------------------------------------------------------------------------


def test_ray_to_ground_and_azel_known_values() -> None:
    xy, valid = ray_to_ground(
        np.array([1.0, 2.0, 2.0]), [[1, 0, -1], [0, 1, -2], [1, 0, 0.5], [1, 0, 0]]
    )
    assert valid.tolist() == [True, True, False, False]
    assert_allclose(xy[:2], [[3, 2], [1, 3]])
    assert np.isnan(xy[2:]).all()
    assert_allclose(
        ray_to_azel([[1, 0, 0], [0, -1, 0], [0, 1, 1], [-1, 0, -1]]),
        [[0, 0], [90, 0], [-90, 45], [-180, -45]],
        atol=1e-12,
    )


def test_every_camera_satisfies_the_protocol_and_takes_zero_points() -> None:
    cams = [
        Equirectangular(64, 32, 2.0),
        Pinhole(64, 48, K_SIMPLE, R=np.eye(3), t=[0, 0, 1]),
        MultiView.mplt_mosaic(2.0),
    ]
    for cam in cams:
        assert isinstance(cam, Camera)
        assert cam.pixel_to_ray(np.zeros((0, 2))).shape == (0, 3)
        uv, valid = cam.ray_to_pixel(np.zeros((0, 3)))
        assert uv.shape == (0, 2) and valid.shape == (0,)
        xy, ok = pixel_to_ground(cam, np.zeros((0, 2)))
        assert xy.shape == (0, 2) and ok.shape == (0,)
        uv, ok = ground_to_pixel(cam, np.zeros((0, 3)))
        assert uv.shape == (0, 2) and ok.shape == (0,)
    assert ray_to_azel(np.zeros((0, 3))).shape == (0, 2)
    assert cams[0].pixel_to_azel(np.zeros((0, 2))).shape == (0, 2)
    assert cams[0].azel_to_pixel(np.zeros((0, 2))).shape == (0, 2)
    assert cams[2].view_index(np.zeros((0, 2))).shape == (0,)
    assert ray_to_ground(np.zeros(3), np.zeros((0, 3)))[0].shape == (0, 2)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        cams[0].pixel_to_ray(np.zeros((3, 3)))
