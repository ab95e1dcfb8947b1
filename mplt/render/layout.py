"""Panel layouts of the rendered video and the composer that draws one output frame.

Layouts (``layout=``), for an output ``width`` (every size is rounded down to even numbers,
as H.264 in yuv420p needs):

* ``side``: the annotated panorama and, to its right, the square map as tall as the panorama
  panel; the two share the width (2:1 video at width 1920 -> 1280 x 640 + 640 x 640).
* ``below``: the panorama at full width; under it the square map (``map_size_px``, at most the
  width) in the middle, a table of the people in view on its left and the clock, counts and a
  legend on its right (1920 -> 1920 x 960 over 600 | 720 | 600 x 720).
* ``map``: the map alone, ``width`` x ``width``, with frame, time and count written on it.
* ``pano``: the annotated panorama alone, ``width`` wide.

Runs without ground positions (a camera whose ``has_ground`` is False: an uncalibrated
perspective video) have nothing to put on a map: ``side`` and ``below`` fall back to ``pano``,
and ``map`` is refused with an :class:`~core.errors.UserError`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from core.errors import UserError
from core.types import Tracks
from mplt.geometry import Camera
from mplt.render.annotators import (
    BoxAnnotator,
    Compose,
    FrameInfoAnnotator,
    HeadingAnnotator,
    LabelAnnotator,
    TrailAnnotator,
    compose,
)
from mplt.render.birdseye import BirdsEyeMap
from mplt.render.mapgeom import MapPose
from mplt.render.panels import InfoPanel, PeoplePanel

LAYOUTS = ("side", "below", "map", "pano")
MIN_WIDTH = 160
_MIN_TEXT_PANEL = 200  # below: narrower side panels are left out


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


@dataclass(frozen=True)
class Rect:
    """A panel's place in the output frame, pixels."""

    x: int
    y: int
    w: int
    h: int

    @property
    def size(self) -> tuple[int, int]:
        return self.w, self.h

    def region(self, image: np.ndarray) -> np.ndarray:
        """The view of ``image`` this panel covers."""
        return image[self.y : self.y + self.h, self.x : self.x + self.w]


@dataclass(frozen=True)
class LayoutPlan:
    """Output size and panel rectangles; ``name`` is the layout actually used."""

    name: str
    size: tuple[int, int]
    pano: Rect | None = None
    map: Rect | None = None
    people: Rect | None = None
    info: Rect | None = None


def plan_layout(
    layout: str,
    frame_size: tuple[int, int],
    *,
    width: int = 1920,
    map_size_px: int = 720,
    has_ground: bool = True,
) -> LayoutPlan:
    """Where each panel goes (see the module doc).

    Args:
        layout: ``side``, ``below``, ``map`` or ``pano``.
        frame_size: (W, H) of the input frames, pixels.
        width: output width, pixels (rounded down to even).
        map_size_px: side of the square map in the ``below`` layout.
        has_ground: the run has ground positions (False: image-space tracking).

    Raises:
        UserError: unknown layout, a width below 160 px, or ``map`` without ground positions.
    """
    if layout not in LAYOUTS:
        raise UserError(f"unknown render layout {layout!r}; choose one of: {', '.join(LAYOUTS)}")
    if width < MIN_WIDTH or map_size_px < 64:
        raise UserError(
            f"render width {width} / map size {map_size_px} px is too small; use a width of at "
            f"least {MIN_WIDTH} px and render.map_size_px of at least 64"
        )
    fw, fh = frame_size
    aspect = fh / fw
    total = _even(width)
    if not has_ground:
        if layout == "map":
            raise UserError(
                "render layout 'map' needs ground positions, which this image-space run does not "
                "have; use layout side, below or pano, or track with --calib FILE"
            )
        layout = "pano"
    if layout == "pano":
        return LayoutPlan(
            "pano", (total, _even(total * aspect)), pano=Rect(0, 0, total, _even(total * aspect))
        )
    if layout == "map":
        return LayoutPlan("map", (total, total), map=Rect(0, 0, total, total))
    if layout == "side":
        side = _even(total / (1.0 / aspect + 1.0))
        return LayoutPlan(
            "side",
            (total, side),
            pano=Rect(0, 0, total - side, side),
            map=Rect(total - side, 0, side, side),
        )
    pano_h = _even(total * aspect)
    side = _even(min(map_size_px, total))
    left = _even((total - side) / 2)
    right = total - side - left
    text = left >= _MIN_TEXT_PANEL
    return LayoutPlan(
        "below",
        (total, pano_h + side),
        pano=Rect(0, 0, total, pano_h),
        map=Rect(left, pano_h, side, side),
        people=Rect(0, pano_h, left, side) if text else None,
        info=Rect(left + side, pano_h, right, side) if text else None,
    )


def scale_tracks(tracks: Tracks, sx: float, sy: float) -> Tracks:
    """``tracks`` with boxes scaled from frame pixels to a panel's pixels."""
    return dataclasses.replace(tracks, boxes=tracks.boxes * np.array([sx, sy, sx, sy]))


class FrameComposer:
    """Draws one output frame (all panels of a layout) from an input frame and its tracks.

    The same object serves ``mplt track --render`` (through :class:`~mplt.render.VideoRenderer`)
    and ``mplt render``, so both draw identical frames. Stateful (trails, map range, counts):
    call :meth:`compose` or :meth:`observe` once per frame, in order.

    Args:
        camera: the camera of the input frames (their size, whether columns wrap at a seam,
            whether there are ground positions to map).
        pose: the camera on the map; default :meth:`MapPose.from_camera`.
        fps: frame rate (time display, map animation).
        layout, width, map_size_px: see :func:`plan_layout`.
        map_range_m: fixed map radius in metres; None = automatic.
        trail_length: frames of trail behind each person (panorama and map).
        show_confidence: write the detection confidence in the box labels.
    """

    def __init__(
        self,
        camera: Camera,
        *,
        pose: MapPose | None = None,
        fps: float = 30.0,
        layout: str = "side",
        width: int = 1920,
        map_size_px: int = 720,
        map_range_m: float | None = None,
        trail_length: int = 30,
        show_confidence: bool = False,
    ) -> None:
        if map_range_m is not None and not map_range_m > 0:
            raise UserError(
                f"render.map_range_m must be a positive number of metres or null (automatic), "
                f"got {map_range_m}; set e.g. render.map_range_m=15"
            )
        if trail_length < 2:
            raise UserError(
                f"render.trail_length must be at least 2 frames, got {trail_length}; set e.g. 30"
            )
        self.frame_size = (int(camera.width), int(camera.height))
        has_ground = camera.has_ground
        self.plan = plan_layout(
            layout, self.frame_size, width=width, map_size_px=map_size_px, has_ground=has_ground
        )
        pose = pose if pose is not None else MapPose.from_camera(camera)
        wrap = camera.x_period is not None
        self.pano: Compose | None = None
        if self.plan.pano is not None:
            annotators = [
                TrailAnnotator(length=trail_length, wrap=wrap),
                BoxAnnotator(wrap=wrap),
                LabelAnnotator(
                    wrap=wrap,
                    origin_xy=pose.camera_xy if has_ground else None,
                    show_confidence=show_confidence,
                ),
                FrameInfoAnnotator(fps=fps),
            ]
            if camera.kind == "equirect":  # its columns are azimuths
                annotators.insert(0, HeadingAnnotator())
            self.pano = compose(*annotators)
        self.map = None
        if self.plan.map is not None:
            self.map = BirdsEyeMap(
                pose=pose,
                range_m=map_range_m,
                trail_length=trail_length,
                fps=fps,
                show_time=self.plan.pano is None,
            )
        self.people = PeoplePanel(pose=pose) if self.plan.people is not None else None
        self.info = InfoPanel(fps=fps) if self.plan.info is not None else None

    @property
    def size(self) -> tuple[int, int]:
        """(W, H) of the output frames, pixels (both even)."""
        return self.plan.size

    def _pano_tracks(self, tracks: Tracks, rect: Rect) -> Tracks:
        return scale_tracks(tracks, rect.w / self.frame_size[0], rect.h / self.frame_size[1])

    def observe(self, tracks: Tracks) -> None:
        """Advance the state (trails, map range, counts) by a frame that is not drawn."""
        if self.pano is not None and self.plan.pano is not None:
            self.pano.observe(self._pano_tracks(tracks, self.plan.pano), self.plan.pano.size)
        if self.map is not None:
            self.map.observe(tracks)
        if self.info is not None:
            self.info.observe(tracks)

    def compose(self, frame: np.ndarray, tracks: Tracks) -> np.ndarray:
        """The output frame ((H, W, 3) uint8 RGB, :attr:`size`) for one input frame.

        Args:
            frame: (H, W, 3) uint8 RGB input frame of ``frame_size``.
            tracks: the frame's tracks, boxes in input-frame pixels.
        """
        fw, fh = self.frame_size
        if frame.shape != (fh, fw, 3) or frame.dtype != np.uint8:
            raise ValueError(
                f"frame must be uint8 ({fh}, {fw}, 3), got {frame.dtype} {frame.shape}"
            )
        w, h = self.size
        out = np.zeros((h, w, 3), np.uint8)
        if self.pano is not None and self.plan.pano is not None:
            rect = self.plan.pano
            if rect.size == self.frame_size:
                panel = frame.copy()
            else:
                panel = cv2.resize(frame, rect.size, interpolation=cv2.INTER_AREA)
            self.pano.draw(panel, self._pano_tracks(tracks, rect))
            rect.region(out)[:] = panel
        for rect, annotator in (
            (self.plan.map, self.map),
            (self.plan.people, self.people),
            (self.plan.info, self.info),
        ):
            if rect is not None and annotator is not None:
                panel = np.empty((rect.h, rect.w, 3), np.uint8)
                annotator.draw(panel, tracks)
                rect.region(out)[:] = panel
        return out

    def reset(self) -> None:
        """Forget all state (start of another video)."""
        for part in (self.pano, self.map, self.info):
            if part is not None:
                part.reset()
