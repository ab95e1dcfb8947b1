"""Ultralytics YOLO person detector (any Ultralytics detection weights file)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import UserError
from mplt.detection.base import DetectionResult, check_image, filter_height
from mplt.detection.engine import compiled_weights
from mplt.detection.weights import is_offline_model

if TYPE_CHECKING:
    import torch

_TASKS_WITH_BOXES = ("detect", "segment", "pose")
#: Ultralytics' letterbox: sizes a multiple of the network stride, padded with grey 114.
_STRIDE = 32
_LETTERBOX_GREY = 114 / 255


def available_devices() -> list[str]:
    """Torch devices usable here, e.g. ``["cpu", "cuda:0"]``."""
    import torch

    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def resolve_device(device: str) -> str:
    """A torch device string for ``device`` (``auto`` = the first GPU if any, else CPU).

    Raises:
        UserError: the device is unknown or not present on this machine.
    """
    available = available_devices()
    wanted = str(device).strip().lower()
    if wanted == "auto":
        return "cuda:0" if "cuda:0" in available else "cpu"
    if wanted == "cuda" or re.fullmatch(r"\d+", wanted):
        wanted = f"cuda:{0 if wanted == 'cuda' else wanted}"
    if wanted in available:
        return wanted
    raise UserError(
        f"detector device {device!r} is not available on this machine; use one of: "
        f"auto, {', '.join(available)} (--set detector.device=...)"
    )


def person_classes(
    names: Mapping[int, str] | Sequence[str], offline_model: bool, weights: str = "the weights"
) -> list[int]:
    """Class indices that are people.

    ``person`` where the model has it (COCO models: class 0). A model without it counts
    only when it is the known offline person model, whose classes ("Normal", "Fall") are all
    people.

    Args:
        names: the model's class names, index -> name.
        offline_model: whether the weights are the offline person model.
        weights: how to name the weights in the error.

    Raises:
        UserError: no class is a person.
    """
    table = dict(names) if isinstance(names, Mapping) else dict(enumerate(names))
    people = sorted(i for i, name in table.items() if str(name).strip().lower() == "person")
    if people:
        return people
    if offline_model:
        return sorted(table)
    listed = ", ".join(str(table[i]) for i in sorted(table)) or "(none)"
    raise UserError(
        f"detector weights {weights} have no 'person' class (classes: {listed}); "
        "use a COCO-trained YOLO model such as yolo11n.pt or a person detector"
    )


def precision_args(half: bool) -> dict[str, Any]:
    """fp16/fp32 as ``predict`` keywords: ``quantize`` on Ultralytics >= 8.4 (which deprecates
    ``half``), ``half`` before."""
    from ultralytics.cfg import DEFAULT_CFG_DICT

    if "quantize" in DEFAULT_CFG_DICT:
        return {"quantize": 16 if half else None}
    return {"half": half}


def load_model(path: str) -> Any:
    """An ``ultralytics.YOLO`` model from a weights file (a seam for tests)."""
    from ultralytics import YOLO

    return YOLO(path)


#: The offline model's boxes reach this far (fractions of the box height) above the head and
#: below the feet of MOTChallenge's hand-drawn boxes (median of matched boxes, IoU >= 0.5,
#: confidence >= 0.3): TUD-Stadtmitte 0.040 / 0.043, TUD-Campus 0.063 / 0.036 (640 x 480
#: clips), PETS 2009 placed on a 3840 panorama 0.052 / 0.031. PETS's ground truth is
#: consistent with its calibrated 7.07 m camera height (estimated 6.96-7.10 m from it), the
#: raw boxes give 6.58 m, the boxes less these margins 7.12 m.
OFFLINE_BOX_MARGINS = (0.05, 0.035)


class YoloDetector:
    """People from an Ultralytics YOLO model, batched.

    Args:
        weights: local weights file (see :func:`mplt.detection.weights.resolve_weights`).
        description: how the weights appear in :attr:`name`; default ``weights``.
        confidence_threshold: minimum score in [0, 1].
        nms_iou_threshold: IoU of the model's own NMS.
        imgsz: network input size, px (long side; images are letterboxed to it).
        batch_size: images per forward pass.
        device: ``auto`` | ``cpu`` | ``cuda`` | ``cuda:N`` | ``mps``.
        half: fp16 inference; None = on for CUDA. fp16 runs only on CUDA and is off elsewhere.
        min_box_height_px: boxes lower than this (image pixels) are dropped.
        engine: ``pytorch`` (the weights as they are) or a compiled engine of
            :mod:`mplt.detection.engine` (torchscript, onnx, tensorrt), exported once for
            these settings and cached next to the weights.

    Attributes:
        name: ``"yolo:<description>"``.
        classes: the model's class indices counted as people.
    """

    def __init__(
        self,
        weights: str,
        *,
        description: str | None = None,
        confidence_threshold: float = 0.3,
        nms_iou_threshold: float = 0.5,
        imgsz: int = 640,
        batch_size: int = 16,
        device: str = "auto",
        half: bool | None = None,
        min_box_height_px: float = 0.0,
        engine: str = "pytorch",
    ) -> None:
        if batch_size < 1 or imgsz < 32:
            raise ValueError(f"need batch_size >= 1 and imgsz >= 32, got {batch_size}, {imgsz}")
        self.device = resolve_device(device)
        on_cuda = self.device.startswith("cuda")
        self.half = on_cuda if half is None else bool(half) and on_cuda
        self.engine = engine
        self.name = f"yolo:{description or weights}"
        if engine != "pytorch":
            self.name += f" ({engine})"
        model_file = compiled_weights(
            weights, engine, imgsz=imgsz, batch=batch_size, half=self.half, device=self.device
        )
        try:
            self.model = load_model(str(model_file))
        except Exception as exc:  # corrupt or foreign file: tell the user which one
            raise UserError(
                f"could not load detector weights {weights} ({type(exc).__name__}: "
                f"{exc}); pass an Ultralytics YOLO .pt file"
            ) from exc
        task = getattr(self.model, "task", "detect")
        if task not in _TASKS_WITH_BOXES:
            raise UserError(
                f"detector weights {weights} are a {task!r} model without boxes; "
                "pass an Ultralytics detection model"
            )
        offline = is_offline_model(weights)
        self.classes = person_classes(self.model.names, offline, weights)
        # The offline model answers a featureless image (sky, a blank wall, a letterbox
        # border) with a "Fall" box covering all of it; no person fills a whole image.
        self._drop_full_image = offline
        self.box_margins = OFFLINE_BOX_MARGINS if offline else (0.0, 0.0)
        self.confidence_threshold = float(confidence_threshold)
        self.nms_iou_threshold = float(nms_iou_threshold)
        self.imgsz = int(imgsz)
        self.batch_size = int(batch_size)
        self.min_box_height_px = float(min_box_height_px)
        self._precision = precision_args(self.half)

    def detect(self, images: Sequence[np.ndarray]) -> list[DetectionResult]:
        """People in each RGB image; one ``model.predict`` call per ``batch_size`` images.

        Returns:
            Per image: boxes ``(N, 4)`` float64 xyxy pixels, scores ``(N,)`` float32.
        """
        out: list[DetectionResult] = []
        for start in range(0, len(images), self.batch_size):
            # Ultralytics treats numpy images as BGR (OpenCV order).
            bgr = [
                np.ascontiguousarray(check_image(im)[..., ::-1])
                for im in images[start : start + self.batch_size]
            ]
            results = self.model.predict(bgr, imgsz=self.imgsz, **self._predict_args())
            for image, result in zip(bgr, results, strict=True):
                boxes = result.boxes.xyxy.cpu().numpy().astype(np.float64).reshape(-1, 4)
                scores = result.boxes.conf.cpu().numpy().astype(np.float32).reshape(-1)
                out.append(self._finish(boxes, scores, image.shape[1], image.shape[0]))
        return out

    def _predict_args(self) -> dict[str, Any]:
        return {
            "conf": self.confidence_threshold,
            "iou": self.nms_iou_threshold,
            "classes": self.classes,
            "device": self.device,
            "verbose": False,
            **self._precision,
            # several person classes (Normal/Fall) must not both keep the same person
            "agnostic_nms": len(self.classes) > 1,
        }

    def _finish(self, boxes: np.ndarray, scores: np.ndarray, w: int, h: int) -> DetectionResult:
        if self._drop_full_image:
            size = boxes[:, 2:] - boxes[:, :2]
            partial = (size < [0.95 * w, 0.95 * h]).any(axis=1)
            boxes, scores = boxes[partial], scores[partial]
        return filter_height(boxes, scores, self.min_box_height_px)

    def detect_tensors(self, images: torch.Tensor) -> list[DetectionResult]:
        """People in a batch of images already on a torch device, which stay there.

        Letterboxed there as Ultralytics letterboxes numpy images (scaled so that the long
        side is ``imgsz``, padded with grey to a multiple of the stride, or to the square
        ``imgsz`` of a compiled engine, centred), one
        ``model.predict`` call per ``batch_size`` images.

        Args:
            images: ``(N, 3, h, w)`` float RGB in [0, 1], one size.

        Returns:
            Per image: boxes ``(N, 4)`` float64 xyxy pixels of ``(h, w)``, scores ``(N,)``.
        """
        import torch.nn.functional as F

        h, w = images.shape[-2:]
        r = self.imgsz / max(h, w)
        nh, nw = round(h * r), round(w * r)
        if (nh, nw) != (h, w):
            images = F.interpolate(images, (nh, nw), mode="bilinear", align_corners=False)
        if self.engine == "pytorch":
            dh, dw = (-nh) % _STRIDE, (-nw) % _STRIDE
        else:  # a compiled engine takes its fixed square input only
            dh, dw = self.imgsz - nh, self.imgsz - nw
        top, left = dh // 2, dw // 2
        images = F.pad(images, (left, dw - left, top, dh - top), value=_LETTERBOX_GREY)
        out: list[DetectionResult] = []
        for start in range(0, len(images), self.batch_size):
            chunk = images[start : start + self.batch_size].contiguous()
            for result in self.model.predict(chunk, **self._predict_args()):
                boxes = result.boxes.xyxy.cpu().numpy().astype(np.float64).reshape(-1, 4)
                boxes = (boxes - [left, top, left, top]) / r
                boxes = np.clip(boxes, 0.0, [w, h, w, h])
                scores = result.boxes.conf.cpu().numpy().astype(np.float32).reshape(-1)
                out.append(self._finish(boxes, scores, w, h))
        return out
