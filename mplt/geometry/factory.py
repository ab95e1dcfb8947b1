"""The one camera factory: the ``camera`` config section and a frame size -> a camera model.

``mplt track`` builds its camera here from the video's frame size, and ``mplt render``
rebuilds a run's camera here from ``summary.json`` (the kind actually used, the height and
tilt) and ``config.yaml`` (calibration file). :data:`CAMERAS` maps ``camera.model`` to a
builder; ``auto`` is one of them: ``pinhole`` when a calibration file is given, else
``equirect`` for a 2:1 frame, else ``image`` (a full sphere stored at 16:9 cannot be told from
an ordinary video by its size: ``camera.model=equirect`` says so; a frame of a full sphere's
shape (16:9 to 2:1) or a camera height given for a frame taken as ``image`` gets a notice
saying how). ``nominal`` is an uncalibrated perspective camera placed at a height and pitch:
what ``mplt track`` makes of an ``image`` camera whose height and pitch it estimated from the
people. The camera records its kind (``camera.kind``), so nothing needs the model name beside
it.
"""

from __future__ import annotations

from collections.abc import Callable

from core.errors import UserError
from core.notify import notice
from core.registry import Registry
from mplt.config import CameraConfig
from mplt.geometry.camera import (
    EQUIRECT_ASPECT,
    Camera,
    Equirectangular,
    ImageCamera,
    MultiView,
    NominalPinhole,
    Pinhole,
)

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


def camera_height_of(cfg: CameraConfig) -> float | None:
    """The height ``camera.height_m`` gives, metres: None for ``auto`` (estimated later from
    the people) and for unknown.

    Raises:
        UserError: a string other than ``auto``.
    """
    value = cfg.height_m
    if isinstance(value, str):
        if value != "auto":
            raise UserError(
                f"camera.height_m is {value!r}; give metres above the ground (e.g. 1.6), auto "
                "(estimated from the people) or null (unknown)"
            )
        return None
    return value


def estimates_height(cfg: CameraConfig, camera: Camera) -> bool:
    """Whether the camera's height is to be estimated from the people: ``height_m: auto`` for
    an equirectangular panorama that has no height yet, and for an uncalibrated perspective
    video (``image``: its height and pitch, :class:`mplt.selfcal.PerspectivePoseEstimator`);
    calibrated cameras know theirs."""
    auto = cfg.height_m == "auto"
    return auto and camera.kind in ("equirect", "image") and camera.camera_height is None


@CAMERAS.register("auto")
def _auto(cfg: CameraConfig, frame_size: tuple[int, int]) -> Camera:
    width, height = frame_size
    if cfg.calib:
        model = "pinhole"
    elif width == 2 * height:
        model = "equirect"
    else:
        model = "image"
        lo, hi = EQUIRECT_ASPECT
        height_given = isinstance(cfg.height_m, (int, float))
        if height_given or lo <= width / max(height, 1) <= hi:
            # A full sphere stored at 16:9 looks like an ordinary video; only the user knows.
            notice(
                f"the {width}x{height} frame is tracked as an ordinary perspective video in "
                "image space"
                + (", so the camera height is not used" if height_given else "")
                + "; for a full 360x180 sphere stored at this size pass "
                "--set camera.model=equirect, for a calibrated camera --calib FILE"
            )
    return CAMERAS.get(model)(cfg, frame_size)


@CAMERAS.register("equirect")
def _equirect(cfg: CameraConfig, frame_size: tuple[int, int]) -> Camera:
    return Equirectangular(
        *frame_size,
        camera_height=camera_height_of(cfg),
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
        MultiView.mplt_mosaic(camera_height=camera_height_of(cfg)),
        frame_size,
        "the multiview mosaic",
        "resize the video or use another camera.model",
    )


@CAMERAS.register("nominal")
def _nominal(cfg: CameraConfig, frame_size: tuple[int, int]) -> Camera:
    height = camera_height_of(cfg)
    if height is None:
        raise UserError(
            "camera.model=nominal needs camera.height_m in metres (and camera.pitch_deg); "
            "for an estimate from the people leave camera.model at auto"
        )
    return NominalPinhole(*frame_size, height, cfg.pitch_deg, cfg.roll_deg)


@CAMERAS.register("image")
def _image(cfg: CameraConfig, frame_size: tuple[int, int]) -> Camera:
    return ImageCamera(*frame_size)
