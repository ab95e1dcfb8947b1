"""The one camera factory, camera kinds, the image camera, edges and box-centre directions."""

from __future__ import annotations

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose

from core.errors import UserError
from mplt.config import CameraConfig
from mplt.geometry import (
    CAMERAS,
    Camera,
    Equirectangular,
    ImageCamera,
    MultiView,
    NominalPinhole,
    Pinhole,
    box_centre_azel,
    build_camera,
    estimates_height,
    ground_to_pixel,
    pixel_to_ground,
)

K = [[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]]


def calib_file(tmp_path, width: int = 640, height: int = 480) -> str:
    """A level camera 1.5 m above the world origin (t in OpenCV camera axes: y down)."""
    path = tmp_path / "cam.json"
    path.write_text(json.dumps({"width": width, "height": height, "K": K, "t": [0, 1.5, 0]}))
    return str(path)


def test_auto_picks_the_model_from_the_frame_and_the_calibration(tmp_path) -> None:
    pano = build_camera(CameraConfig(height_m=2.0, yaw_deg=10.0), (200, 100))
    assert isinstance(pano, Equirectangular) and pano.kind == "equirect" and pano.has_ground
    assert pano.camera_height == 2.0 and pano.yaw_deg == 10.0 and pano.x_period == 200.0
    image = build_camera(CameraConfig(), (320, 240))
    assert isinstance(image, ImageCamera) and image.kind == "image" and not image.has_ground
    calibrated = build_camera(CameraConfig(calib=calib_file(tmp_path)), (640, 480))
    assert type(calibrated) is Pinhole and calibrated.kind == "pinhole" and calibrated.has_ground
    assert calibrated.camera_height == pytest.approx(1.5)
    mosaic = build_camera(CameraConfig(model="multiview"), (2400, 1024))
    assert isinstance(mosaic, MultiView) and mosaic.kind == "multiview"
    assert CAMERAS.names() == ["auto", "equirect", "image", "multiview", "nominal", "pinhole"]


def test_auto_says_how_to_ask_for_a_full_sphere_stored_at_16_9(capsys) -> None:
    wide = build_camera(CameraConfig(), (3840, 2160))
    assert wide.kind == "image"
    assert "pass --set camera.model=equirect" in capsys.readouterr().err
    build_camera(CameraConfig(), (640, 480))  # an ordinary 4:3 video: nothing to say
    assert capsys.readouterr().err == ""
    build_camera(CameraConfig(height_m=2.0), (640, 480))
    assert "the camera height is not used" in capsys.readouterr().err
    sphere = build_camera(CameraConfig(model="equirect", height_m=2.0), (3840, 2160))
    assert sphere.kind == "equirect" and capsys.readouterr().err == ""


def test_factory_errors_say_what_to_do(tmp_path) -> None:
    with pytest.raises(
        UserError, match="choose one of: auto, equirect, image, multiview, nominal, pinhole"
    ):
        build_camera(CameraConfig(model="fisheye"), (200, 100))
    with pytest.raises(UserError, match="needs a calibration file; pass --calib"):
        build_camera(CameraConfig(model="pinhole"), (640, 480))
    with pytest.raises(UserError, match="is for 640x480 frames but the video is 320x240"):
        build_camera(CameraConfig(calib=calib_file(tmp_path)), (320, 240))
    with pytest.raises(UserError, match="mosaic is for 2400x1024 frames"):
        build_camera(CameraConfig(model="multiview"), (200, 100))
    with pytest.raises(UserError, match="equirectangular needs 2:1"):
        build_camera(CameraConfig(model="equirect"), (320, 240))


def test_the_image_camera_is_a_nominal_level_pinhole() -> None:
    camera = ImageCamera(320, 240)
    assert isinstance(camera, Camera) and camera.camera_height is None
    focal = 320 / (2 * np.tan(np.radians(30.0)))  # 60 degrees across the width
    assert_allclose(camera.K, [[focal, 0, 160], [0, focal, 120], [0, 0, 1]])
    assert camera.x_period is None and camera.box_space.period is None
    assert_allclose(camera.pixel_to_ray([[160.5, 120.5]]), [[1.0, 0.0, 0.0]], atol=1e-12)
    assert repr(camera).startswith("ImageCamera(320x240")


@pytest.mark.parametrize("pitch", [0.0, 12.0, 30.0])
def test_a_nominal_camera_sits_at_its_height_looking_down_by_its_pitch(pitch) -> None:
    """``camera.model: nominal``: the image camera's lens placed at a height and pitch; the
    middle of the image looks ``pitch`` degrees down and ground points project back."""
    camera = build_camera(CameraConfig(model="nominal", height_m=4.0, pitch_deg=pitch), (640, 480))
    assert isinstance(camera, NominalPinhole) and camera.kind == "nominal" and camera.has_ground
    assert camera.camera_height == pytest.approx(4.0)
    assert_allclose(camera.K, ImageCamera(640, 480).K)
    ray = camera.pixel_to_ray([[320.5, 240.5]])[0]
    assert np.degrees(np.arcsin(-ray[2])) == pytest.approx(pitch, abs=1e-9)
    assert ray[1] == pytest.approx(0.0, abs=1e-12) and ray[0] > 0
    uv = np.array([[100.5, 470.5], [320.5, 300.5], [600.5, 400.5]])
    xy, valid = pixel_to_ground(camera, uv)
    assert valid.all() and (xy[:, 0] > 0).all()  # in front of the camera
    back, ok = ground_to_pixel(camera, np.column_stack([xy, np.zeros(3)]))
    assert ok.all()
    assert_allclose(back, uv, atol=1e-6)


def test_a_nominal_camera_needs_a_height_and_only_image_cameras_are_estimated() -> None:
    with pytest.raises(UserError, match=r"camera\.model=nominal needs camera\.height_m"):
        build_camera(CameraConfig(model="nominal"), (640, 480))
    auto = CameraConfig()
    assert estimates_height(auto, build_camera(auto, (640, 480)))  # uncalibrated perspective
    assert estimates_height(auto, build_camera(auto, (2000, 1000)))  # panorama
    given = CameraConfig(model="nominal", height_m=3.0)
    assert not estimates_height(given, build_camera(given, (640, 480)))


def test_box_centre_directions_wrap_at_the_seam_and_need_real_rays() -> None:
    pano = Equirectangular(200, 100)
    boxes = np.array([[95.0, 40, 105, 60], [195.0, 40, 215, 60], [45.0, 10, 55, 30]])
    azel = box_centre_azel(pano, boxes)
    # centres at x = 100 (forward), 205 = 5 beyond the seam, 50 (left half: azimuth -90)
    assert_allclose(azel[:, 0], [0.0, -171.0, -90.0], atol=1e-9)
    assert_allclose(azel[:, 1], [0.0, 0.0, 54.0], atol=1e-9)
    assert box_centre_azel(pano, np.zeros((0, 4))).shape == (0, 2)
    assert np.isnan(box_centre_azel(ImageCamera(320, 240), boxes)).all()


def test_cameras_say_where_their_edges_cut_boxes_off() -> None:
    pano = Equirectangular(200, 100)
    boxes = np.array([[-5.0, 0.5, 10, 50], [190.0, 20, 220, 99.0], [50.0, 20, 60, 40]])
    top, bottom = pano.cut_off(boxes, 2.0)
    assert top.tolist() == [True, False, False]  # the seam cuts nothing off
    assert bottom.tolist() == [False, True, False]
    mosaic = MultiView.mplt_mosaic()
    # front view's cell: x 800..1600, y 0..512; the back view's cell lies below it
    inside = np.array([[1000.0, 100, 1040, 300], [1000.0, 300, 1040, 511.5]])
    top, bottom = mosaic.cut_off(inside, 2.0)
    assert top.tolist() == [False, False] and bottom.tolist() == [False, True]
