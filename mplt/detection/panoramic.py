"""Person detection on equirectangular panoramas with a detector made for ordinary images.

A 360° frame is too wide for one network input (a 3840-pixel panorama shrunk to 640 pixels
leaves a person 10 m away a dozen pixels tall), the size of people changes with their
distance, and people walk across its seam. The wrapper cuts each frame into detector-sized
patches, detects all patches of all frames of a batch in as few forward passes as possible
(patches of one shape per call), maps the boxes back to the panorama and merges them.

Modes:

* ``tiles`` (scale-aware): the rows where people can stand are cut into strips by
  :mod:`mplt.detection.plan` -- from the camera height, each strip resampled so that its
  people reach the network at about ``target_px`` tall (far people near the horizon are
  zoomed up, nearer ones shrunk); without a height, a small set of bands until
  :meth:`PanoramicDetector.set_camera` is given a camera with one. Every strip is padded circularly
  at the seam, so a person cut by it appears whole, and cut into ``imgsz`` tiles overlapping
  by ``tile_overlap`` (and by more than its tallest person between rows). With
  ``global_pass`` the whole padded panorama, shrunk to ``imgsz`` on its long side, is added
  for near, big people; with ``near_views`` perspective views looking down cover the people
  next to the camera, whose feet are far below the horizon and who are strongly distorted
  in the panorama.
* ``views``: ``n_views`` perspective views around the horizon (``view_hfov_deg`` wide,
  centred at ``view_elevation_deg``), ``imgsz`` square, resampled with ``cv2.remap``.
* ``whole``: the padded panorama shrunk to ``imgsz``, one pass.

With ``resample_on_device`` (a base detector that takes tensors, e.g. YOLO on CUDA) the
frame is uploaded once and every patch is cut and resampled on the detector's device --
strips and the global pass by ``torch.nn.functional.interpolate``, views by ``grid_sample``
on grids made once per camera (:mod:`mplt.io.resample`) -- and handed to the network there.

Merging: a box touching a patch edge where the picture continues (a tile border inside the
panorama, a view's side, a strip's limit) shows a person cut in two; it is dropped -- the
person is whole in the neighbouring tile or strip. A strip keeps only the people it is for
(feet in its feet rows, not much smaller than its people: a head or an arm of a nearer person
is not a person); the global pass and the views keep the people nearer than every strip or
too big for the strip their feet are in, and the global pass (the lowest resolution) only
adds people no strip or view found.
Boxes are wrapped with :func:`mplt.geometry.wrap_boxes` and merged by seam-aware NMS
(period ``W``), so a person across the seam comes out as ONE box with ``x1`` in ``[0, W)``
and ``x2 > W``.

Measured on PETS 2009 placed on a 3840 x 1920 panorama through the seam (people 16 x 40 px,
12-38 m from a camera 7.07 m up; offline YOLOv8s, 10 frames; ``bench/far_field.py`` has the
full benchmark): recall / precision at confidence 0.3 were 0.21 / 0.60 at native size,
0.82 / 0.78 zoomed 1.5x, 0.89 / 0.76 at 2x, 0.91 / 0.59 at 3x and 0.89 / 0.39 at 4x -- people
need to reach the network about 60-120 px tall; beyond that precision falls (blurred
textures turn into people) while recall no longer rises. Strips of the equirectangular image
rather than rectified perspective patches: near the horizon, where far people are, the
panorama is nearly undistorted, and a strip is one resampling per band instead of one per
patch. On the same benchmark (people >= 14 px wide, confidence 0.3): the strips with
``target_px`` 96 give 0.90 / 0.90 with 73 inputs per frame, ``target_px`` 64 0.88 / 0.73 with
43, native tiles 0.20 / 0.47 with 15, the 8 perspective views of ``views`` (people ~25 px
tall at the network) 0.00. Near people, who are distorted in the panorama, come from the
perspective views looking down.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from core.errors import UserError
from mplt.detection.base import (
    DetectionResult,
    Detector,
    box_margins_of,
    check_image,
    empty_result,
)
from mplt.detection.plan import Strip, plan_for_height, plan_unknown_height
from mplt.geometry import (
    Camera,
    PerspectiveView,
    box_iou,
    boxes_touch_edge,
    nms,
    view_boxes_to_camera,
    view_maps,
    wrap_boxes,
)

if TYPE_CHECKING:
    import torch

PANORAMA_MODES = ("tiles", "views", "whole")


def tile_starts(length: int, size: int, overlap: float) -> np.ndarray:
    """Start offsets of tiles of ``size`` covering ``[0, length)``, overlapping by at least
    ``overlap * size``, evenly spread (the last tile ends at ``length``).

    Returns:
        ``(n,)`` int64; ``[0]`` when one tile covers everything.
    """
    if length <= size:
        return np.zeros(1, np.int64)
    stride = max(1, round(size * (1.0 - overlap)))
    n = int(np.ceil((length - size) / stride)) + 1
    return np.round(np.linspace(0, length - size, n)).astype(np.int64)


@dataclass(frozen=True)
class _Patch:
    """One network input of every frame and how its boxes go back to the panorama.

    ``kind`` "strip" (a tile of a resampled strip), "global" (the shrunk panorama) or "view".
    For strips and the global pass, panorama x = patch x / ``scale[0]`` + ``origin[0]`` (and
    likewise y); ``cut`` says which patch edges (left, top, right, bottom) cut people.
    """

    kind: str
    size: tuple[int, int]  # (w, h) patch px
    scale: tuple[float, float] = (1.0, 1.0)  # patch px per panorama px
    origin: tuple[float, float] = (0.0, 0.0)  # panorama px of the patch's (0, 0)
    cut: tuple[bool, bool, bool, bool] = (True, True, True, True)
    strip: int = -1  # index into the plan's strips
    window: tuple[int, int, int, int] = (0, 0, 0, 0)  # (x0, y0, x1, y1) in the resampled strip
    view: int = -1


class PanoramicDetector:
    """Seam-aware, scale-aware detection on equirectangular frames through a base detector.

    Args:
        base: detector for ordinary images (its own size filter should be off).
        camera: the panorama (``camera.x_period`` = ``W``); frames must be ``W x H``.
        mode: ``tiles`` | ``views`` | ``whole`` (see the module docstring).
        imgsz: patch size, px (the base detector's input size).
        tile_overlap: fraction of a tile shared with its left/right neighbour, in [0, 1).
        seam_pad_px: columns of circular padding on each side of the global pass (tiles,
            whole), in [0, W); strips pad by the width of their nearest person.
        global_pass: tiles mode also detects the whole shrunk panorama (near, big people).
        batch_size: patches per call of ``base.detect``.
        nms_iou_threshold: IoU above which two boxes are the same person.
        min_box_height_px: boxes lower than this (panorama pixels) are dropped.
        target_px: tiles mode: the height (network pixels) a person of 1.70 m should have.
        zoom_step: tiles mode: the ratio of zooms one strip spans (> 1).
        max_range_m: tiles mode: the farthest people searched for, metres.
        near_views: tiles mode: number of perspective views looking down at the people next
            to the camera (0: none).
        n_views, view_hfov_deg, view_elevation_deg: views mode layout (degrees; elevation
            positive up).
        edge_margin_px: a box within this distance of a patch edge (patch pixels) touches it.
        resample_on_device: cut the patches on ``base.device`` and detect them there
            (``base.detect_tensors``); the boxes only come back.

    Attributes:
        name: the base detector's name.
        strips: the scale plan (tiles mode), far to near.
        patches_per_frame: detector inputs per frame.
        camera_height: the height the plan was made for, metres (None: unknown).
    """

    def __init__(
        self,
        base: Detector,
        camera: Camera,
        *,
        mode: str = "tiles",
        imgsz: int = 640,
        tile_overlap: float = 0.25,
        seam_pad_px: int = 128,
        global_pass: bool = True,
        batch_size: int = 16,
        nms_iou_threshold: float = 0.5,
        min_box_height_px: float = 8.0,
        target_px: float = 96.0,
        zoom_step: float = 1.5,
        max_range_m: float = 40.0,
        near_views: int = 6,
        n_views: int = 8,
        view_hfov_deg: float = 90.0,
        view_elevation_deg: float = -15.0,
        edge_margin_px: float = 3.0,
        resample_on_device: bool = False,
    ) -> None:
        if camera.x_period is None:
            raise ValueError("PanoramicDetector needs a panorama camera (x_period set)")
        width = int(camera.width)
        if mode not in PANORAMA_MODES:
            raise UserError(
                f"unknown detector.panorama_mode {mode!r}; choose one of: "
                f"{', '.join(PANORAMA_MODES)}"
            )
        if not 0.0 <= tile_overlap < 1.0:
            raise UserError(f"detector.tile_overlap is {tile_overlap}; use a fraction in [0, 1)")
        if not 0 <= seam_pad_px < width:
            raise UserError(
                f"detector.seam_pad_px is {seam_pad_px}; use 0 to {width - 1} "
                "(about the width of a near person, e.g. 128)"
            )
        if imgsz < 32 or batch_size < 1:
            raise UserError(
                f"detector.imgsz is {imgsz} and detector.batch_size {batch_size}; "
                "use imgsz >= 32 and batch_size >= 1"
            )
        if not (target_px > 0 and zoom_step > 1 and max_range_m > 0 and near_views >= 0):
            raise UserError(
                f"detector.target_px {target_px}, zoom_step {zoom_step}, max_range_m "
                f"{max_range_m}, near_views {near_views}: use target_px > 0, zoom_step > 1, "
                "max_range_m > 0 and near_views >= 0"
            )
        if n_views < 1:
            raise ValueError(f"n_views must be >= 1, got {n_views}")
        if resample_on_device and not hasattr(base, "detect_tensors"):
            raise UserError(
                f"detector.resample_on_device needs a detector that takes tensors (yolo), "
                f"not {base.name}; set detector.resample_on_device=false"
            )
        self.on_device = bool(resample_on_device)
        self.base, self.camera, self.mode = base, camera, mode
        self.name = base.name
        self.box_margins = box_margins_of(base)
        self.width, self.height = width, int(camera.height)
        self.imgsz, self.tile_overlap = int(imgsz), float(tile_overlap)
        self.pad = int(seam_pad_px) if mode != "views" else 0
        self.global_pass = bool(global_pass)
        self.batch_size = int(batch_size)
        self.nms_iou_threshold = float(nms_iou_threshold)
        self.min_box_height_px = float(min_box_height_px)
        self.edge_margin_px = float(edge_margin_px)
        self.target_px, self.zoom_step = float(target_px), float(zoom_step)
        self.max_range_m, self.n_near_views = float(max_range_m), int(near_views)
        self.n_views, self.view_hfov_deg = int(n_views), float(view_hfov_deg)
        self.view_elevation_deg = float(view_elevation_deg)
        self.set_camera(camera)

    # -- the plan ---------------------------------------------------------------------------

    @property
    def global_zoom(self) -> float:
        """Network px per panorama px of the global pass."""
        return min(1.0, self.imgsz / (self.width + 2 * self.pad))

    def set_camera(self, camera: Camera) -> None:
        """Make the patches for ``camera`` (its height and tilt decide the plan); ``mplt
        track`` calls it again once the height is estimated from the people."""
        if (camera.width, camera.height) != (self.width, self.height):
            raise ValueError(f"the camera must stay {self.width}x{self.height}")
        self.camera = camera
        camera_height = camera.camera_height
        self.camera_height = camera_height
        self.strips: list[Strip] = []
        self.views: list[PerspectiveView] = []
        self._maps: list[tuple[np.ndarray, np.ndarray]] = []
        self._patches: list[_Patch] = []
        if self.mode == "tiles":
            if camera_height is None:
                self.strips = plan_unknown_height(
                    self.camera,
                    target_px=self.target_px,
                    min_zoom=self.global_zoom if self.global_pass else 0.0,
                )
            else:
                self.strips = plan_for_height(
                    self.camera,
                    camera_height,
                    target_px=self.target_px,
                    zoom_step=self.zoom_step,
                    max_range_m=self.max_range_m,
                    min_zoom=self.global_zoom if self.global_pass else 0.0,
                )
            for k, strip in enumerate(self.strips):
                self._patches += self._strip_tiles(k, strip)
            if self.n_near_views:
                self.views = self._near_views()
        # NMS ranks: strips by zoom (most magnified first, ranks 1..), views (strip -1) rank 0
        order = np.argsort([s.zoom for s in self.strips], kind="stable")
        self._magnification_rank = {int(k): float(i + 1) for i, k in enumerate(order)}
        self._magnification_rank[-1] = 0.0
        if self.mode == "whole" or (self.mode == "tiles" and self.global_pass):
            padded_w = self.width + 2 * self.pad
            f = self.global_zoom
            gw, gh = max(1, round(padded_w * f)), max(1, round(self.height * f))
            # the sides continue round the panorama; top and bottom are the poles
            self._patches.append(
                _Patch(
                    "global",
                    (gw, gh),
                    (gw / padded_w, gh / self.height),
                    (-self.pad, 0.0),
                    (True, False, True, False),
                )
            )
        if self.mode == "views":
            yaws = np.arange(self.n_views) * 360.0 / self.n_views
            self.views = [
                PerspectiveView(
                    yaw, -self.view_elevation_deg, self.view_hfov_deg, self.imgsz, self.imgsz
                )
                for yaw in yaws
            ]
        self._maps = [view_maps(self.camera, view) for view in self.views]
        if self.on_device:
            from mplt.io.resample import remap_grid

            size = (self.width, self.height)
            device = self.base.device  # type: ignore[attr-defined]
            self._grids = [remap_grid(*m, size, wrap=True, device=device) for m in self._maps]
        for i, view in enumerate(self.views):
            self._patches.append(
                _Patch("view", (view.width, view.height), cut=(True, True, True, True), view=i)
            )
        self.patches_per_frame = len(self._patches)

    def _strip_pad(self, strip: Strip) -> int:
        """Circular padding of a strip: a little more than its nearest person is wide."""
        near = strip.ranges_m[0] if np.isfinite(strip.ranges_m[0]) else 2.0
        px_per_rad = self.width / (2 * np.pi)
        return int(min(self.width - 1, np.ceil(0.8 / near * px_per_rad) + 8))

    def _strip_size(self, strip: Strip) -> tuple[int, int, int]:
        """(padded width, height) of the resampled strip, network px, and its padding (px)."""
        pad = self._strip_pad(strip)
        w = max(1, round((self.width + 2 * pad) * strip.zoom_x))
        h = max(1, round((strip.bottom - strip.top) * strip.zoom))
        return w, h, pad

    def _strip_tiles(self, k: int, strip: Strip) -> list[_Patch]:
        sw, sh, pad = self._strip_size(strip)
        t = self.imgsz
        # rows of tiles overlap by more than the strip's tallest person
        tallest = self.target_px * self.zoom_step**0.5 * 1.3
        xs = tile_starts(sw, t, self.tile_overlap)
        ys = tile_starts(sh, t, max(self.tile_overlap, min(0.9, tallest / t)))
        tw, th = min(t, sw), min(t, sh)
        patches = []
        for y0 in ys:
            for x0 in xs:
                top_cut = y0 > 0 or strip.top > 0
                bottom_cut = y0 + th < sh or strip.bottom < self.height
                patches.append(
                    _Patch(
                        "strip",
                        (tw, th),
                        (strip.zoom_x, strip.zoom),
                        (-pad + x0 / strip.zoom_x, strip.top + y0 / strip.zoom),
                        (True, top_cut, True, bottom_cut),
                        strip=k,
                        window=(int(x0), int(y0), int(x0 + tw), int(y0 + th)),
                    )
                )
        return patches

    def _near_views(self) -> list[PerspectiveView]:
        """Views looking down at the people next to the camera, all round: from below the
        nearest strip's feet (or -45 degrees without a height) to above their heads."""
        h = self.camera_height
        if h is None:
            top_deg = 25.0
        else:
            near = min((s.ranges_m[0] for s in self.strips), default=h / np.tan(np.radians(60)))
            top_deg = float(np.degrees(np.arctan2(2.0 - h, max(near, 0.3)))) + 5.0
        top_deg = float(np.clip(top_deg, -40.0, 30.0))
        pitch = 0.5 * (90.0 - top_deg)  # centred between the nadir and the top, looking down
        fov = float(np.clip(90.0 + top_deg + 10.0, 60.0, 120.0))
        yaws = np.arange(self.n_near_views) * 360.0 / self.n_near_views
        return [PerspectiveView(yaw, pitch, fov, self.imgsz, self.imgsz) for yaw in yaws]

    # -- detection --------------------------------------------------------------------------

    def _frame_patches(self, frame: np.ndarray) -> list[np.ndarray]:
        """The detector inputs of one frame, in the order of ``self._patches``."""
        resampled: dict[int, np.ndarray] = {}
        padded = None
        out = []
        for patch in self._patches:
            if patch.kind == "strip":
                if patch.strip not in resampled:
                    resampled[patch.strip] = self._resample(frame, self.strips[patch.strip])
                x0, y0, x1, y1 = patch.window
                out.append(resampled[patch.strip][y0:y1, x0:x1])
            elif patch.kind == "global":
                if padded is None:
                    padded = _pad(frame, self.pad)
                out.append(cv2.resize(padded, patch.size, interpolation=cv2.INTER_AREA))
            else:
                mx, my = self._maps[patch.view]
                out.append(cv2.remap(frame, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP))
        return out

    def _resample(self, frame: np.ndarray, strip: Strip) -> np.ndarray:
        sw, sh, pad = self._strip_size(strip)
        band = _pad(frame[strip.top : strip.bottom], pad)
        shrink = strip.zoom < 1.0
        return cv2.resize(
            band, (sw, sh), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        )

    def _device_patches(self, frame: torch.Tensor) -> list[torch.Tensor]:
        """:meth:`_frame_patches` on the device: ``(1, 3, H, W)`` float 0..255 in, one
        ``(1, 3, h, w)`` float in [0, 1] per patch out."""
        import torch.nn.functional as F

        from mplt.io.resample import remap

        resampled = {}
        padded = None
        out = []
        for patch in self._patches:
            if patch.kind == "strip":
                if patch.strip not in resampled:
                    strip = self.strips[patch.strip]
                    sw, sh, pad = self._strip_size(strip)
                    band = _pad_tensor(frame[..., strip.top : strip.bottom, :], pad)
                    resampled[patch.strip] = _resize(band, (sh, sw), strip.zoom < 1.0)
                x0, y0, x1, y1 = patch.window
                out.append(resampled[patch.strip][..., y0:y1, x0:x1])
            elif patch.kind == "global":
                if padded is None:
                    padded = _pad_tensor(frame, self.pad)
                out.append(F.interpolate(padded, patch.size[::-1], mode="area"))
            else:
                view = self.views[patch.view]
                out.append(remap(frame, self._grids[patch.view], wrap=True, rows=view.height))
        return [p / 255.0 for p in out]

    def _to_panorama(self, patch: _Patch, boxes: np.ndarray) -> np.ndarray:
        """Boxes in patch pixels -> panorama pixels (not yet wrapped)."""
        if patch.kind == "view":
            return view_boxes_to_camera(self.views[patch.view], self.camera, boxes, shape="person")
        sx, sy = patch.scale
        ox, oy = patch.origin
        return boxes / [sx, sy, sx, sy] + [ox, oy, ox, oy]

    def _keep(self, patch: _Patch, boxes: np.ndarray) -> np.ndarray:
        """(N,) bool: the patch's boxes (panorama px) that are its people."""
        height = boxes[:, 3] - boxes[:, 1]
        keep = height >= self.min_box_height_px
        feet = boxes[:, 3]
        if patch.kind == "strip":
            s = self.strips[patch.strip]
            return keep & _claims(s, feet, height)
        if self.mode != "tiles" or not self.strips:
            return keep
        # the people no strip is meant for: nearer than every strip, or too big for them
        claimed = np.zeros(len(boxes), bool)
        for s in self.strips:
            claimed |= _claims(s, feet, height)
        return keep & ~claimed

    def _merge(self, results: Sequence[DetectionResult]) -> DetectionResult:
        """One frame's per-patch results -> its people, seam-aware and de-duplicated.

        Of the boxes of one person from several strips, the one from the strip that shows it
        most magnified wins (then the score); views come after the strips. The global pass sees
        everyone at its lowest resolution: its boxes only add the people no strip or view found
        (a near person is boxed more tightly in a view looking at it).
        """
        period = float(self.width)
        boxes, scores, ranks, is_global = [], [], [], []
        for patch, (b, s) in zip(self._patches, results, strict=True):
            w, h = patch.size
            cut = (boxes_touch_edge(b, w, h, self.edge_margin_px) & patch.cut).any(axis=1)
            b = self._to_panorama(patch, b)
            keep = ~cut & self._keep(patch, b)
            n = int(keep.sum())
            boxes.append(b[keep])
            scores.append(s[keep])
            ranks.append(np.full(n, self._magnification_rank.get(patch.strip, 0.0)))
            is_global.append(np.full(n, patch.kind == "global"))
        if sum(len(s) for s in scores) == 0:
            return empty_result()
        b = wrap_boxes(np.concatenate(boxes), period)
        s = np.concatenate(scores).astype(np.float32)
        glob = np.concatenate(is_global)
        # a rank in [k, k + 1): the strip's magnification rank k, then the score
        rank = np.concatenate(ranks) + s
        primary = np.flatnonzero(~glob)
        kept = primary[nms(b[primary], rank[primary], self.nms_iou_threshold, period)]
        extra = np.flatnonzero(glob)
        extra = extra[nms(b[extra], s[extra], self.nms_iou_threshold, period)]
        if len(kept) and len(extra):
            seen = box_iou(b[extra], b[kept], period).max(axis=1)
            extra = extra[seen <= self.nms_iou_threshold]
        out = np.concatenate([kept, extra])
        out = out[np.argsort(-s[out], kind="stable")]
        return b[out], s[out]

    def detect(self, images: Sequence[np.ndarray]) -> list[DetectionResult]:
        """People in each panorama frame.

        Args:
            images: RGB uint8 frames, each ``(H, W, 3)`` of the camera's size.

        Returns:
            Per frame: boxes ``(N, 4)`` float64 xyxy panorama pixels, seam-unwrapped (``x1``
            in ``[0, W)``, ``x2`` may exceed ``W``), scores ``(N,)`` float32, by score.
        """
        patches: list[Any] = []
        for frame in images:
            if check_image(frame).shape[:2] != (self.height, self.width):
                raise ValueError(
                    f"frame is {frame.shape[1]}x{frame.shape[0]} but the camera is "
                    f"{self.width}x{self.height}"
                )
            if self.on_device:
                from mplt.io.resample import frame_tensor

                tensor = frame_tensor(frame, self.base.device)  # type: ignore[attr-defined]
                patches.extend(self._device_patches(tensor))
            else:
                patches.extend(self._frame_patches(frame))
        results = self._detect_by_shape(patches)
        p = self.patches_per_frame
        return [self._merge(results[i * p : (i + 1) * p]) for i in range(len(images))]

    def _detect_by_shape(self, patches: list[np.ndarray]) -> list[DetectionResult]:
        """Base detections of every patch, in order; patches of one shape go through the
        network together (a mixed batch would be padded to the largest)."""
        groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for i, patch in enumerate(patches):
            groups[tuple(patch.shape)].append(i)
        results: list[DetectionResult | None] = [None] * len(patches)
        for indices in groups.values():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start : start + self.batch_size]
                if self.on_device:
                    import torch

                    found = self.base.detect_tensors(  # type: ignore[attr-defined]
                        torch.cat([patches[i] for i in chunk])
                    )
                else:
                    found = self.base.detect([patches[i] for i in chunk])
                for i, result in zip(chunk, found, strict=True):
                    results[i] = result
        return results  # type: ignore[return-value]


def _claims(strip: Strip, feet: np.ndarray, height: np.ndarray) -> np.ndarray:
    """(N,) bool: boxes with their bottom at ``feet`` (N,) rows and ``height`` (N,) px are the
    people ``strip`` is for."""
    in_rows = (feet >= strip.feet_top) & (feet <= strip.feet_bottom)
    return in_rows & (height >= strip.min_box_px) & (height <= strip.max_box_px)


def _pad_tensor(frame: torch.Tensor, pad: int) -> torch.Tensor:
    """:func:`_pad` of a ``(..., H, W)`` tensor."""
    import torch

    if not pad:
        return frame
    return torch.cat([frame[..., -pad:], frame, frame[..., :pad]], dim=-1)


def _resize(image: torch.Tensor, size: tuple[int, int], shrink: bool) -> torch.Tensor:
    """``cv2.resize`` of :meth:`PanoramicDetector._resample` on a tensor: area averaging to
    shrink, bilinear to zoom; ``size`` (h, w)."""
    import torch.nn.functional as F

    if shrink:
        return F.interpolate(image, size, mode="area")
    return F.interpolate(image, size, mode="bilinear", align_corners=False)


def _pad(frame: np.ndarray, pad: int) -> np.ndarray:
    """``frame`` with its last ``pad`` columns before it and its first ``pad`` after it."""
    if not pad:
        return frame
    return np.concatenate([frame[:, -pad:], frame, frame[:, :pad]], axis=1)
