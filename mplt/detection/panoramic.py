"""Person detection on equirectangular panoramas with a detector made for ordinary images.

A 360° frame is too wide for one network input (a 3840-pixel panorama shrunk to 640 pixels
leaves a person 10 m away a dozen pixels tall) and people walk across its seam. The wrapper
cuts each frame into detector-sized patches, detects all patches of all frames of a batch in
as few forward passes as possible, maps the boxes back to the panorama and merges them.

Modes:

* ``tiles``: the frame is padded circularly (the last ``seam_pad_px`` columns before it, the
  first ones after it) so a person cut by the seam appears whole, then cut at NATIVE
  resolution into ``imgsz`` squares overlapping by ``tile_overlap`` side by side (and by at
  least half a tile between rows, people being taller than wide), within the elevation
  band where small (far) people can be: rows entirely above ``max_elevation_deg`` or below
  ``min_elevation_deg`` are skipped. With ``global_pass`` the whole padded panorama, shrunk
  to ``imgsz`` on its long side, is added for near people: too big for a tile, or reaching
  out of the band (feet near the nadir).
* ``views``: ``n_views`` perspective views around the horizon (``view_hfov_deg`` wide,
  centred at ``view_elevation_deg``), ``imgsz`` square, resampled with ``cv2.remap``.
* ``whole``: the padded panorama shrunk to ``imgsz``, one pass.

Merging: a box touching a patch edge where the picture continues (a tile border inside the
panorama, a view's side, the band's upper limit) shows a person cut in two, or a detector
reacting to a featureless patch; it is dropped -- the person is whole in the neighbouring
tile (tiles overlap by more than a person is wide), the neighbouring view, or, for a person
too big for the overlap, in the global pass (keep ``global_pass`` on). Boxes are wrapped
with :func:`mplt.geometry.wrap_boxes` and merged by seam-aware NMS (period ``W``), so a
person across the seam comes out as ONE box with ``x1`` in ``[0, W)`` and ``x2 > W``.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from core.errors import UserError
from mplt.detection.base import (
    DetectionResult,
    Detector,
    check_image,
    empty_result,
)
from mplt.geometry import (
    Camera,
    PerspectiveView,
    boxes_touch_edge,
    nms,
    view_boxes_to_camera,
    view_maps,
    wrap_boxes,
)

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


def band_rows(
    camera: Camera, min_elevation_deg: float, max_elevation_deg: float
) -> tuple[int, int]:
    """Rows ``[top, bottom)`` holding every pixel whose GROUND-frame elevation lies in
    ``[min_elevation_deg, max_elevation_deg]`` (whatever the camera's tilt).

    Returns:
        ``0 <= top < bottom <= H``; the whole image when no row qualifies.
    """
    cols = np.linspace(0.5, camera.width - 0.5, 64)
    rows = np.arange(camera.height) + 0.5
    uv = np.stack(np.meshgrid(cols, rows), axis=-1).reshape(-1, 2)
    el = np.degrees(np.arcsin(np.clip(camera.pixel_to_ray(uv)[:, 2], -1.0, 1.0)))
    inside = ((el >= min_elevation_deg) & (el <= max_elevation_deg)).reshape(len(rows), len(cols))
    hit = np.flatnonzero(inside.any(1))
    if len(hit) == 0:
        return 0, camera.height
    return int(hit[0]), int(hit[-1]) + 1


class PanoramicDetector:
    """Seam-aware detection on equirectangular frames through a base detector.

    Args:
        base: detector for ordinary images (its own size filter should be off).
        camera: the panorama (``camera.x_period`` = ``W``); frames must be ``W x H``.
        mode: ``tiles`` | ``views`` | ``whole`` (see the module docstring).
        imgsz: patch size, px (the base detector's input size).
        tile_overlap: fraction of a tile shared with its left/right neighbour, in [0, 1);
            rows of tiles overlap by at least half a tile.
        seam_pad_px: columns of circular padding on each side (tiles, whole), in [0, W).
        global_pass: tiles mode also detects the whole shrunk panorama; its boxes count only
            for people taller than the rows of tiles overlap (smaller ones are whole in a
            tile and seen there at full resolution).
        batch_size: patches per call of ``base.detect``.
        nms_iou_threshold: IoU above which two boxes are the same person.
        min_box_height_px: boxes lower than this (panorama pixels) are dropped.
        min_elevation_deg, max_elevation_deg: tiles cover the rows with ground-frame
            elevations in this band (degrees), where far, small people are; nearer ones are
            left to the global pass.
        n_views, view_hfov_deg, view_elevation_deg: views mode layout (degrees; elevation
            positive up).
        edge_margin_px: a box within this distance of a patch edge (patch pixels) touches it.

    Attributes:
        name: the base detector's name.
        patches_per_frame: detector inputs per frame.
        tiles: ``(T, 4)`` int64 native tiles (x0, y0, x1, y1) in the PADDED frame, whose column
            ``seam_pad_px`` is panorama column 0 (tiles mode).
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
        min_elevation_deg: float = -60.0,
        max_elevation_deg: float = 30.0,
        n_views: int = 8,
        view_hfov_deg: float = 90.0,
        view_elevation_deg: float = -15.0,
        edge_margin_px: float = 3.0,
    ) -> None:
        if camera.x_period is None:
            raise ValueError("PanoramicDetector needs a panorama camera (x_period set)")
        width, height = int(camera.width), int(camera.height)
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
        if n_views < 1:
            raise ValueError(f"n_views must be >= 1, got {n_views}")
        self.base, self.camera, self.mode = base, camera, mode
        self.name = base.name
        self.width, self.height = width, height
        self.pad = int(seam_pad_px) if mode != "views" else 0
        self.batch_size = int(batch_size)
        self.nms_iou_threshold = float(nms_iou_threshold)
        self.min_box_height_px = float(min_box_height_px)
        self.edge_margin_px = float(edge_margin_px)
        self.tiles = np.zeros((0, 4), np.int64)
        self.views: list[PerspectiveView] = []
        self._maps: list[tuple[np.ndarray, np.ndarray]] = []
        self._global: tuple[int, int] | None = None  # (w, h) of the shrunk panorama
        self.band = (0, height)  # rows covered by the tiles
        # Per patch: size (w, h) in patch px, scale (sx, sy) patch px per panorama px,
        # origin (ox, oy) in panorama px, and which edges (left, top, right, bottom) cut people.
        # min_h: boxes from that patch lower than this (panorama px) are left to the tiles.
        size, scale, origin, cut, min_h = [], [], [], [], []
        padded_w = width + 2 * self.pad
        row_overlap = 0.0
        if mode == "tiles":
            top, bottom = band_rows(camera, min_elevation_deg, max_elevation_deg)
            self.band = (top, bottom)
            t = int(imgsz)
            # People are ~2.5x taller than wide: rows overlap by at least half a tile so that
            # anyone up to half a tile tall is whole in some row.
            ys = top + tile_starts(bottom - top, t, max(tile_overlap, 0.5))
            xs = tile_starts(padded_w, t, tile_overlap)
            tw, th = min(t, padded_w), min(t, bottom - top)
            self.tiles = np.array([(x, y, x + tw, y + th) for y in ys for x in xs], np.int64)
            for x0, y0, _, y1 in self.tiles:
                size.append((tw, th))
                scale.append((1.0, 1.0))
                origin.append((x0 - self.pad, y0))
                cut.append((True, y0 > 0, True, y1 < height))
                min_h.append(0.0)
            # anyone up to this tall is whole in some row, seen at full resolution
            row_overlap = th - int(np.diff(ys).max()) if len(ys) > 1 else th
        if mode == "whole" or (mode == "tiles" and global_pass):
            f = min(1.0, imgsz / padded_w)
            gw, gh = max(1, round(padded_w * f)), max(1, round(height * f))
            self._global = (gw, gh)
            size.append((gw, gh))
            scale.append((gw / padded_w, gh / height))
            origin.append((-self.pad, 0))
            # the sides continue round the panorama; top and bottom are the poles
            cut.append((True, False, True, False))
            # the shrunk panorama is for people too tall for the tiles or reaching out of
            # their band: shrunk several times, it also merges neighbours into one box,
            # which must not compete with the tiles
            min_h.append(row_overlap)
        self._global_patch = len(size) - 1 if self._global is not None else -1
        if mode == "views":
            yaws = np.arange(n_views) * 360.0 / n_views
            self.views = [
                PerspectiveView(yaw, -view_elevation_deg, view_hfov_deg, imgsz, imgsz)
                for yaw in yaws
            ]
            self._maps = [view_maps(camera, view) for view in self.views]
            for _ in self.views:
                size.append((imgsz, imgsz))
                scale.append((1.0, 1.0))
                origin.append((0.0, 0.0))
                cut.append((True, False, True, False))
                min_h.append(0.0)
        self._size = np.array(size, np.float64)
        self._scale = np.array(scale, np.float64)
        self._origin = np.array(origin, np.float64)
        self._cut = np.array(cut, bool)
        self._min_h = np.maximum(np.array(min_h, np.float64), self.min_box_height_px)
        self.patches_per_frame = len(size)

    def _patches(self, frame: np.ndarray) -> list[np.ndarray]:
        """The detector inputs of one frame, in the order of the patch tables."""
        if self.mode == "views":
            return [
                cv2.remap(frame, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
                for mx, my in self._maps
            ]
        padded = frame
        if self.pad:
            padded = np.concatenate([frame[:, -self.pad :], frame, frame[:, : self.pad]], axis=1)
        patches = [padded[y0:y1, x0:x1] for x0, y0, x1, y1 in self.tiles]
        if self._global is not None:
            patches.append(cv2.resize(padded, self._global, interpolation=cv2.INTER_AREA))
        return patches

    def _to_panorama(self, patch: int, boxes: np.ndarray) -> np.ndarray:
        """Boxes in patch pixels -> panorama pixels (not yet wrapped)."""
        if self.mode == "views":
            return view_boxes_to_camera(self.views[patch], self.camera, boxes)
        sx, sy = self._scale[patch]
        ox, oy = self._origin[patch]
        return boxes / [sx, sy, sx, sy] + [ox, oy, ox, oy]

    def _merge(self, results: Sequence[DetectionResult]) -> DetectionResult:
        """One frame's per-patch results -> its people, seam-aware and de-duplicated."""
        boxes, scores = [], []
        for patch, (b, s) in enumerate(results):
            w, h = self._size[patch]
            cut = (boxes_touch_edge(b, w, h, self.edge_margin_px) & self._cut[patch]).any(axis=1)
            b = self._to_panorama(patch, b)
            keep = ~cut & (b[:, 3] - b[:, 1] >= self._min_h[patch])
            if patch == self._global_patch:
                # a person reaching out of the tiles' band is seen whole only here
                out_of_band = (b[:, 1] < self.band[0]) | (b[:, 3] > self.band[1])
                keep |= ~cut & out_of_band & (b[:, 3] - b[:, 1] >= self.min_box_height_px)
            boxes.append(b[keep])
            scores.append(s[keep])
        if sum(len(s) for s in scores) == 0:
            return empty_result()
        period = float(self.width)
        boxes_all = wrap_boxes(np.concatenate(boxes), period)
        scores_all = np.concatenate(scores).astype(np.float32)
        keep = nms(boxes_all, scores_all, self.nms_iou_threshold, period)
        return boxes_all[keep], scores_all[keep]

    def detect(self, images: Sequence[np.ndarray]) -> list[DetectionResult]:
        """People in each panorama frame.

        Args:
            images: RGB uint8 frames, each ``(H, W, 3)`` of the camera's size.

        Returns:
            Per frame: boxes ``(N, 4)`` float64 xyxy panorama pixels, seam-unwrapped (``x1``
            in ``[0, W)``, ``x2`` may exceed ``W``), scores ``(N,)`` float32, by score.
        """
        patches: list[np.ndarray] = []
        for frame in images:
            if check_image(frame).shape[:2] != (self.height, self.width):
                raise ValueError(
                    f"frame is {frame.shape[1]}x{frame.shape[0]} but the camera is "
                    f"{self.width}x{self.height}"
                )
            patches.extend(self._patches(frame))
        results: list[DetectionResult] = []
        for start in range(0, len(patches), self.batch_size):
            results.extend(self.base.detect(patches[start : start + self.batch_size]))
        p = self.patches_per_frame
        return [self._merge(results[i * p : (i + 1) * p]) for i in range(len(images))]
