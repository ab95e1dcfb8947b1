"""The detector interface, its registry and small helpers shared by the backends.

A detector takes a batch of RGB uint8 images and returns, per image, the people it found as
``xyxy`` boxes in continuous 0-based pixels of that image (column ``u`` covers ``[u, u+1)``)
plus a confidence in ``[0, 1]``. Panoramas are handled by
:class:`mplt.detection.panoramic.PanoramicDetector`, which wraps a base detector and returns
seam-unwrapped boxes (``x1`` in ``[0, W)``, ``x2`` may exceed ``W``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from core.registry import Registry
from mplt.geometry import covered_fraction, nms

if TYPE_CHECKING:
    from mplt.config import DetectorConfig

#: One image's result: boxes ``(N, 4)`` float64 xyxy pixels, scores ``(N,)`` float32.
DetectionResult = tuple[np.ndarray, np.ndarray]


@runtime_checkable
class Detector(Protocol):
    """Finds people in images.

    Attributes:
        name: what ran, for the run summary, e.g. ``"yolo:yolo11n.pt"`` or ``"hog"``.
        box_margins: (top, bottom) fractions of a box's height by which this detector's
            boxes reach above a person's head and below their feet, measured against
            hand-drawn ground truth; (0, 0) where not measured. People's heights are read
            from boxes (the camera height from the people, :mod:`mplt.selfcal`), and loose
            boxes make everyone look taller. Optional: read through :func:`box_margins_of`.
    """

    name: str

    def detect(self, images: Sequence[np.ndarray]) -> list[DetectionResult]:
        """People in each image.

        Args:
            images: RGB uint8 arrays, each ``(H, W, 3)``; sizes may differ.

        Returns:
            One ``(boxes, scores)`` per image: boxes ``(N, 4)`` float64 xyxy in continuous
            0-based pixels of that image, scores ``(N,)`` float32 in ``[0, 1]``; N may be 0.
        """
        ...


#: ``detector.backend`` -> builder ``(cfg: DetectorConfig, min_box_height_px: float) -> Detector``
#: of the base (non-panoramic) detector (``auto`` among them). ``build_detector`` adds the
#: panoramic wrapper (which filters box heights itself, hence the separate argument).
DETECTORS: Registry[Callable[[DetectorConfig, float], Detector]] = Registry("detector.backend")


def box_margins_of(detector: object) -> tuple[float, float]:
    """A detector's ``box_margins`` (see :class:`Detector`); (0, 0) for one without them."""
    top, bottom = getattr(detector, "box_margins", (0.0, 0.0))
    return float(top), float(bottom)


def empty_result() -> DetectionResult:
    """No people: ``(0, 4)`` float64 boxes and ``(0,)`` float32 scores."""
    return np.zeros((0, 4), np.float64), np.zeros(0, np.float32)


def check_image(image: np.ndarray) -> np.ndarray:
    """``image`` if it is an ``(H, W, 3)`` uint8 array, else ValueError."""
    if (
        not isinstance(image, np.ndarray)
        or image.ndim != 3
        or image.shape[2] != 3
        or image.dtype != np.uint8
    ):
        got = getattr(image, "shape", type(image).__name__), getattr(image, "dtype", "")
        raise ValueError(f"images must be RGB uint8 arrays of shape (H, W, 3), got {got}")
    return image


def filter_height(boxes: np.ndarray, scores: np.ndarray, min_height_px: float) -> DetectionResult:
    """Drop boxes lower than ``min_height_px`` (too small to be a person worth tracking)."""
    keep = (boxes[:, 3] - boxes[:, 1]) >= min_height_px
    return boxes[keep], scores[keep]


def suppress(
    boxes: np.ndarray,
    scores: np.ndarray,
    iou_threshold: float,
    contained_threshold: float,
    period: float | None = None,
) -> np.ndarray:
    """NMS, then drop boxes lying mostly inside a better-scored kept box.

    Args:
        boxes: ``(N, 4)`` xyxy pixels.
        scores: ``(N,)``.
        iou_threshold: NMS IoU threshold.
        contained_threshold: a box with at least this fraction of its area inside a
            higher-scored kept box is dropped (a detector firing on a body part).
        period: panorama width or None.

    Returns:
        ``(K,)`` int64 indices of the kept boxes, by descending score.
    """
    keep = nms(boxes, scores, iou_threshold, period)
    inside = covered_fraction(boxes[keep], boxes[keep], period) >= contained_threshold
    # only a better-ranked box (earlier in ``keep``) may absorb a later one
    inside &= np.tri(len(keep), k=-1, dtype=bool)
    return keep[~inside.any(axis=1)]
