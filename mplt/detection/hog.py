"""OpenCV's HOG + linear SVM people detector: the no-weights, no-torch fallback.

It finds upright people taller than its 128-pixel window (use ``upscale`` for smaller ones)
and is far less accurate than YOLO. OpenCV 5 moved ``HOGDescriptor`` out of the main
``opencv-python`` wheel; it is in ``opencv-contrib-python`` (and in OpenCV 4).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from core.errors import UserError
from mplt.detection.base import (
    DetectionResult,
    check_image,
    empty_result,
    filter_height,
    suppress,
)

# Where the person lies inside a detection window (fractions of the window: left, top, right,
# bottom). The default detector was trained on 64x128 windows with a margin around the
# person; measured on TUD-Stadtmitte ground truth, the body spans about the middle 56% of the
# width and 78% of the height.
_BODY_IN_WINDOW = np.array([0.22, 0.10, 0.78, 0.88])


def hog_available() -> bool:
    """Whether this OpenCV build has ``HOGDescriptor``."""
    return hasattr(cv2, "HOGDescriptor")


def _people_hog() -> cv2.HOGDescriptor:
    if not hog_available():
        raise UserError(
            f"OpenCV {cv2.__version__} has no HOG people detector (OpenCV 5 moved it "
            "to the contrib build); run `pip install opencv-contrib-python` or use "
            "the yolo backend"
        )
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor.getDefaultPeopleDetector())
    return hog


class HogDetector:
    """People from OpenCV's default HOG people detector.

    Args:
        confidence_threshold: minimum score; scores are ``tanh`` of the SVM margin, in [0, 1).
        nms_iou_threshold: IoU threshold of the NMS over the raw windows.
        min_box_height_px: boxes lower than this are dropped.
        upscale: images are enlarged by this factor first, to find people smaller than
            128 px (slower by about its square).
        win_stride: window step, px (multiple of 8).
        scale: factor between pyramid levels.

    Attributes:
        name: ``"hog"``.
    """

    name = "hog"

    def __init__(
        self,
        *,
        confidence_threshold: float = 0.3,
        nms_iou_threshold: float = 0.5,
        min_box_height_px: float = 0.0,
        upscale: float = 1.0,
        win_stride: int = 8,
        scale: float = 1.05,
    ) -> None:
        if upscale <= 0 or scale <= 1 or win_stride <= 0 or win_stride % 8:
            raise ValueError("need upscale > 0, scale > 1 and win_stride a positive multiple of 8")
        self._hog = _people_hog()
        self.box_margins = (0.0, 0.0)  # not measured
        self.confidence_threshold = float(confidence_threshold)
        self.nms_iou_threshold = float(nms_iou_threshold)
        self.min_box_height_px = float(min_box_height_px)
        self.upscale = float(upscale)
        self.win_stride = int(win_stride)
        self.scale = float(scale)

    def _detect_one(self, image: np.ndarray) -> DetectionResult:
        # HOG takes the strongest gradient over the channels, so RGB needs no conversion.
        img = check_image(image)
        if self.upscale != 1.0:
            img = cv2.resize(
                img, None, fx=self.upscale, fy=self.upscale, interpolation=cv2.INTER_LINEAR
            )
        if img.shape[0] < 128 or img.shape[1] < 64:
            return empty_result()
        rects, weights = self._hog.detectMultiScale(
            img,
            hitThreshold=0.0,
            winStride=(self.win_stride, self.win_stride),
            padding=(16, 16),
            scale=self.scale,
            groupThreshold=0,
        )
        rects = np.asarray(rects, np.float64).reshape(-1, 4) / self.upscale
        scores = np.tanh(np.clip(np.asarray(weights, np.float64).reshape(-1), 0, None))
        windows = np.column_stack([rects[:, :2], rects[:, :2] + rects[:, 2:]])
        size = np.tile(windows[:, 2:] - windows[:, :2], 2)
        boxes = np.tile(windows[:, :2], 2) + size * _BODY_IN_WINDOW
        good = scores >= self.confidence_threshold
        boxes, scores = boxes[good], scores[good].astype(np.float32)
        keep = suppress(boxes, scores, self.nms_iou_threshold, contained_threshold=0.7)
        return filter_height(boxes[keep], scores[keep], self.min_box_height_px)

    def detect(self, images: Sequence[np.ndarray]) -> list[DetectionResult]:
        """People in each RGB image (one image at a time: HOG has no batching).

        Returns:
            Per image: boxes ``(N, 4)`` float64 xyxy pixels, scores ``(N,)`` float32.
        """
        return [self._detect_one(image) for image in images]
