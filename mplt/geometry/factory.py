"""The one camera factory: the ``camera`` config section and a frame size -> a camera model.

``mplt track`` builds its camera here from the video's frame size, and ``mplt render``
rebuilds a run's camera here from ``summary.json`` (the kind actually used, the height) and
``config.yaml`` (pose, calibration file). :data:`CAMERAS` maps ``camera.model`` to a builder;
``auto`` is one of them: ``pinhole`` when a calibration file is given, else ``equirect`` for
a 2:1 frame, else ``image``. The camera records its kind (``camera.kind``), so nothing needs
the model name beside it.
"""

from __future__ import annotations

from collections.abc import Callable

from core.errors import UserError
from core.registry import Registry
from mplt.config import CameraConfig
from mplt.geometry.camera import Camera, Equirectangular, ImageCamera, MultiView, Pinhole

#: ``camera.model`` -> builder ``(cfg, (width, height)) -> Camera`` for frames of that size.
CAMERAS: Registry[Callable[[CameraConfig, tuple[int, int]], Camera]] = Registry("camera.model")


def build_camera(cfg: CameraConfig, frame_size: tuple[int, int]) -> Camera:
    """The camera model the ``camera`` section asks for, for frames of ``frame_size``.

    Args:
        cfg: the ``camera`` config section.
        frame_size: (width, height) of the frames, px.

    Raises:
        UserError: unknown model, a frame size the model cannot have, or a missing or
            unreadable calibration file (with what to do).
    """
    return CAMERAS.get(cfg.model)(cfg, frame_size)


@CAMERAS.register("auto")
def _auto(cfg: CameraConfig, frame_size: tuple[int, int]) -> Camera:
    width, height = frame_size
    if cfg.calib:
        model = "pinhole"
    elif width == 2 * height:
        model = "equirect"
    else:
        model = "image"
    return CAMERAS.get(model)(cfg, frame_size)


@CAMERAS.register("equirect")
def _equirect(cfg: CameraConfig, frame_size: tuple[int, int]) -> Camera:
    return Equirectangular(
        *frame_size,
        camera_height=cfg.height_m,
        yaw_deg=cfg.yaw_deg,
        pitch_deg=cfg.pitch_deg,
        roll_deg=cfg.roll_deg,
    )


def _check_size(camera: Camera, frame_size: tuple[int, int], what: str, fix: str) -> Camera:
    width, height = frame_size
    if (camera.width, camera.height) != (width, height):
        raise UserError(
            f"{what} is for {camera.width}x{camera.height} frames but the video is "
            f"{width}x{height}; {fix}"
        )
    return camera


@CAMERAS.register("pinhole")
def _pinhole(cfg: CameraConfig, frame_size: tuple[int, int]) -> Camera:
    if not cfg.calib:
        raise UserError(
            "camera.model=pinhole needs a calibration file; pass --calib FILE "
            "(YAML/JSON with K, dist, R or rvec, t)"
        )
    return _check_size(
        Pinhole.from_file(cfg.calib),
        frame_size,
        f"calibration {cfg.calib}",
        "calibrate this video's resolution",
    )


@CAMERAS.register("multiview")
def _multiview(cfg: CameraConfig, frame_size: tuple[int, int]) -> Camera:
    return _check_size(
        MultiView.mplt_mosaic(camera_height=cfg.height_m),
        frame_size,
        "the multiview mosaic",
        "resize the video or use another camera.model",
    )


@CAMERAS.register("image")
def _image(cfg: CameraConfig, frame_size: tuple[int, int]) -> Camera:
    return ImageCamera(*frame_size)
