"""The bird's-eye map panel: everyone's ground position around the camera, as in MPLT.

A dark disc with range rings (labelled in metres) and compass ticks; the camera at the centre
with the panorama's forward direction marked ("front", an arrowhead on the rim), "left" and
"right", and the seam behind a panorama; a perspective camera's field of view as a lighter
wedge. Each person is a dot in their id's colour with the id beside it and a fading trail;
lost (predicted) tracks are rings, tentative ones small dots, people beyond the range sit on
the rim as arrowheads. Orientation, pose and range: :mod:`mplt.render.mapgeom`.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from core.types import Tracks, TrackState
from mplt.render.annotators import Annotator, font_scale, frame_caption
from mplt.render.mapgeom import AutoRange, MapPose, MapProjection, ring_step
from mplt.render.style import (
    INK,
    LabelPlacer,
    arrow_head,
    circle,
    fill_polygon,
    id_color,
    line,
    mix,
    polyline,
    put_text,
    text_size,
)

BACKGROUND = (15, 18, 25)
DISC = (22, 27, 37)
RING = (58, 67, 86)
GRID = (36, 43, 57)
MUTED = (128, 138, 158)
ACCENT = (120, 200, 255)
CAMERA = (236, 238, 242)
FOV_FILL = (30, 40, 56)

_SMOOTH_HALF_WINDOW = 2  # trail points averaged on each side when drawing


def _tip_px(side: int) -> float:
    """Size of the forward arrowhead on the rim of a ``side``-pixel map."""
    return 6.0 + 0.012 * side


def _smooth(points: np.ndarray, half: int) -> np.ndarray:
    """Centred moving average of (K, 2) points over up to ``2 * half + 1`` of them; the window
    shrinks towards both ends, so the first and last points are kept as they are."""
    k = len(points)
    idx = np.arange(k)
    reach = np.minimum(np.minimum(idx, k - 1 - idx), half)
    csum = np.vstack([np.zeros((1, 2)), np.cumsum(points, axis=0)])
    return (csum[idx + reach + 1] - csum[idx - reach]) / (2 * reach + 1)[:, None]


class BirdsEyeMap(Annotator):
    """Draws the whole map panel (background, rings, camera, people) on its canvas.

    Stateful like the trails (one :meth:`draw` or :meth:`observe` per frame, in order).

    Args:
        pose: where the camera is and looks.
        range_m: fixed map radius in metres; None = automatic.
        trail_length: frames of trail behind each person.
        fps: frame rate (range animation, time display).
        title: heading drawn top-left.
        show_time: also write frame number, time and people count (map-only layout).
    """

    def __init__(
        self,
        *,
        pose: MapPose | None = None,
        range_m: float | None = None,
        trail_length: int = 30,
        fps: float = 30.0,
        title: str = "bird's-eye view",
        show_time: bool = False,
    ) -> None:
        if trail_length < 2:
            raise ValueError(f"trail_length must be >= 2, got {trail_length}")
        self.pose = pose or MapPose()
        self.range = AutoRange(range_m, fps)
        self.trail_length = trail_length
        self.fps = fps
        self.title = title
        self.show_time = show_time
        self._trails: dict[int, deque[tuple[int, float, float]]] = {}
        self._range_m = self.range.current
        self._background: tuple[tuple[Any, ...], np.ndarray] | None = None

    def reset(self) -> None:
        self.range.reset()
        self._range_m = self.range.current
        self._trails.clear()

    def projection(self, size: tuple[int, int]) -> MapProjection:
        """The projection of a (W, H) panel at the current map radius."""
        w, h = size
        return MapProjection(
            (w / 2.0, h / 2.0), self.radius_px(size) / self._range_m, self.pose.camera_xy
        )

    @staticmethod
    def radius_px(size: tuple[int, int]) -> float:
        """Pixels from the centre to the map's outer circle, leaving room around it for the
        direction marks and their labels (``front``, ``right``... whichever way they point)."""
        side = min(size)
        label_w = text_size("front", 0.85 * font_scale(side))[0]
        return side / 2.0 - max(0.07 * side, _tip_px(side) * 1.2 + label_w + 6.0)

    def observe(self, tracks: Tracks, size: tuple[int, int] | None = None) -> None:
        confirmed = tracks.states == TrackState.CONFIRMED
        offsets = tracks.ground_xy[confirmed] - np.asarray(self.pose.camera_xy)
        self._range_m = self.range.update(np.hypot(offsets[:, 0], offsets[:, 1]))
        live = {int(i) for i in tracks.ids if i >= 1}
        for gone in set(self._trails) - live:
            del self._trails[gone]
        oldest = tracks.frame_index - self.trail_length + 1
        for track_id, (x, y) in zip(tracks.ids.tolist(), tracks.ground_xy.tolist(), strict=True):
            if track_id < 1 or not (math.isfinite(x) and math.isfinite(y)):
                continue
            trail = self._trails.setdefault(track_id, deque())
            trail.append((tracks.frame_index, x, y))
            while trail[0][0] < oldest:
                trail.popleft()

    # -- drawing ---------------------------------------------------------------------------

    def draw(self, canvas: np.ndarray, tracks: Tracks) -> None:
        size = (canvas.shape[1], canvas.shape[0])
        self.observe(tracks, size)
        canvas[:] = self._static(size)
        proj = self.projection(size)
        radius = self.radius_px(size)
        side = min(size)
        trails = self._trail_pixels(proj)
        self._draw_camera(canvas, proj, side)
        self._draw_trails(canvas, trails, side)
        self._draw_people(canvas, tracks, proj, radius, side, trails)
        if self.show_time:
            self._draw_time(canvas, tracks, side)

    def _static(self, size: tuple[int, int]) -> np.ndarray:
        """Background, rings, labels and direction marks; cached while the range stays put."""
        key = (size, round(self._range_m, 4), self.pose)
        if self._background is None or self._background[0] != key:
            self._background = (key, self._render_static(size))
        return self._background[1]

    def _render_static(self, size: tuple[int, int]) -> np.ndarray:
        w, h = size
        side = min(size)
        img = np.empty((h, w, 3), np.uint8)
        img[:] = BACKGROUND
        proj = self.projection(size)
        centre = np.array(proj.center_px)
        radius = self.radius_px(size)
        scale = 0.85 * font_scale(side)
        circle(img, centre, radius, DISC)
        if self.pose.fov_deg is not None:
            # The part of the ground a perspective camera sees, from its left to its right edge.
            a, b = self.pose.fov_deg
            sweep = np.linspace(a, b if b < a else b - 360.0, 48)
            arc = np.array([centre + radius * proj.direction(t) for t in sweep])
            fill_polygon(img, np.vstack([centre, arc]), FOV_FILL)
        # A faint cross through the camera along forward/back and left/right.
        forward = self.pose.forward_deg or 0.0
        for angle in (forward, forward + 90.0):
            u = proj.direction(angle)
            line(img, centre - radius * u, centre + radius * u, GRID, 1)
        circle(img, centre, radius, RING, 2)
        # Compass ticks every 30 degrees just outside the rim.
        tick = _tip_px(side) * 0.6
        for angle in np.arange(0.0, 360.0, 30.0):
            u = proj.direction(forward + angle)
            line(img, centre + u * (radius + 2.0), centre + u * (radius + 2.0 + tick), RING, 1)
        step = ring_step(self._range_m)
        rings = np.arange(step, self._range_m + 1e-6, step)
        label_dir = proj.direction(forward - 135.0)  # rings labelled towards the lower right
        for r in rings:
            r_px = r * proj.px_per_m
            circle(img, centre, r_px, RING, 1)
            text = f"{r:g} m"
            th = text_size(text, 0.8 * scale)[1]
            at = centre + label_dir * r_px
            put_text(
                img, text, (int(at[0] + 3), int(at[1] + th + 3)), 0.8 * scale, MUTED, outline=DISC
            )
        self._draw_headings(img, proj, radius, scale)
        put_text(
            img,
            self.title,
            (int(0.03 * side), int(0.03 * side + text_size("A", scale)[1])),
            scale,
            (200, 206, 218),
            outline=None,
        )
        return img

    def _draw_headings(
        self, img: np.ndarray, proj: MapProjection, radius: float, scale: float
    ) -> None:
        """The "front" arrowhead and label, "left"/"right", and the seam tick behind a panorama."""
        forward = self.pose.forward_deg
        if forward is None:
            return
        centre = np.array(proj.center_px)
        tip = _tip_px(min(img.shape[:2]))
        u = proj.direction(forward)
        fill_polygon(img, arrow_head(centre + u * (radius + tip * 0.9), u, tip), ACCENT)
        marks = [
            (forward, "front", ACCENT),
            (forward + 90.0, "left", MUTED),
            (forward - 90.0, "right", MUTED),
        ]
        if self.pose.seam:
            back = proj.direction(forward + 180.0)
            line(img, centre + back * (radius - tip), centre + back * (radius + tip), ACCENT, 2)
            marks.append((forward + 180.0, "seam", ACCENT))
        for angle, text, color in marks:
            d = proj.direction(angle)
            tw, th, _ = text_size(text, scale)
            gap = radius + tip * 1.2
            at = centre + d * gap
            # Place the text beside the point, on the side away from the map.
            x = at[0] - tw / 2 + d[0] * (tw / 2 + 2)
            y = at[1] + th / 2 + d[1] * (th / 2 + 2)
            x = float(np.clip(x, 2, img.shape[1] - tw - 2))
            y = float(np.clip(y, th + 2, img.shape[0] - 3))
            put_text(img, text, (int(x), int(y)), scale, color, outline=BACKGROUND)

    def _draw_camera(self, canvas: np.ndarray, proj: MapProjection, side: int) -> None:
        centre = np.array(proj.center_px)
        r = max(4.0, side / 110.0)
        if self.pose.forward_deg is not None:
            u = proj.direction(self.pose.forward_deg)
            fill_polygon(canvas, arrow_head(centre + u * r * 2.3, u, r * 1.6), CAMERA)
        circle(canvas, centre, r + 1.5, INK)
        circle(canvas, centre, r, CAMERA)

    def _trail_pixels(self, proj: MapProjection) -> dict[int, np.ndarray]:
        """Each trail as (K, 2) map pixels, lightly smoothed: the tracker's positions jitter by
        a few centimetres, which would draw as a scribble. The newest point stays exact, so the
        trail meets the person's dot."""
        out = {}
        for track_id, trail in self._trails.items():
            if len(trail) >= 2:
                xy = np.array([(x, y) for _, x, y in trail])
                out[track_id] = proj.to_pixels(_smooth(xy, _SMOOTH_HALF_WINDOW))
        return out

    def _draw_trails(self, canvas: np.ndarray, trails: dict[int, np.ndarray], side: int) -> None:
        head = max(2, round(side / 220))
        for track_id, pts in trails.items():
            color = id_color(track_id)
            n = len(pts) - 1
            for k in range(n):
                # Older steps are thinner and fade into the map's background.
                age = 1.0 - (k + 1) / n
                width = 1 + round((head - 1) * (1.0 - age))
                polyline(canvas, pts[k : k + 2], mix(color, DISC, 0.75 * age), width)

    def _draw_people(
        self,
        canvas: np.ndarray,
        tracks: Tracks,
        proj: MapProjection,
        radius: float,
        side: int,
        trails: dict[int, np.ndarray],
    ) -> None:
        rows = np.flatnonzero(np.isfinite(tracks.ground_xy).all(axis=1))
        if not len(rows):
            return
        scale = 0.9 * font_scale(side)
        dot = max(4.0, side / 95.0)
        centre = np.array(proj.center_px)
        pts = proj.to_pixels(tracks.ground_xy[rows])
        offset = pts - centre
        dist_px = np.hypot(offset[:, 0], offset[:, 1])
        outside = dist_px > radius - dot
        # People beyond the map sit on its rim, pointing their way.
        pts[outside] = centre + offset[outside] * ((radius - dot) / dist_px[outside])[:, None]
        placer = LabelPlacer((canvas.shape[1], canvas.shape[0]))
        for p in pts:
            placer.reserve([p[0] - dot, p[1] - dot, p[0] + dot, p[1] + dot])
        for trail in trails.values():  # labels keep off the trails too, where they can
            for p in trail[-10:]:
                placer.reserve([p[0] - 2, p[1] - 2, p[0] + 2, p[1] + 2])
        # Confirmed people are drawn last, on top of lost and tentative ones.
        order = np.argsort(tracks.states[rows] == TrackState.CONFIRMED, kind="stable")
        for i in order:
            row, p = int(rows[i]), pts[i]
            track_id, state = int(tracks.ids[row]), int(tracks.states[row])
            color = id_color(track_id)
            if outside[i]:
                u = offset[i] / dist_px[i]
                tri = arrow_head(p + u * dot, u, dot * 2.0)
                fill_polygon(canvas, tri, INK)
                fill_polygon(canvas, arrow_head(p + u * (dot - 1.5), u, dot * 2.0 - 3.0), color)
            elif state == TrackState.CONFIRMED:
                circle(canvas, p, dot + 2.0, INK)
                circle(canvas, p, dot, color)
            elif state == TrackState.LOST:
                circle(canvas, p, dot, INK, 4)
                circle(canvas, p, dot, color, 2)
            else:
                circle(canvas, p, dot * 0.6 + 1.5, INK)
                circle(canvas, p, dot * 0.6, color)
            if track_id < 1:
                continue
            text = str(track_id)
            tw, th, _ = text_size(text, scale)
            gap = dot + 4.0
            x, y = p
            candidates = [
                (x + gap, y - th / 2),
                (x - gap - tw, y - th / 2),
                (x + gap * 0.7, y - gap - th),
                (x - gap * 0.7 - tw, y - gap - th),
                (x + gap * 0.7, y + gap),
                (x - gap * 0.7 - tw, y + gap),
                (x - tw / 2, y - gap - th),
                (x - tw / 2, y + gap),
            ]
            x0, y0 = placer.place((tw, th), candidates)
            put_text(canvas, text, (x0, y0 + th), scale, color)

    def _draw_time(self, canvas: np.ndarray, tracks: Tracks, side: int) -> None:
        scale = 0.85 * font_scale(side)
        text = frame_caption(tracks, self.fps)
        tw, th, _ = text_size(text, scale)
        margin = int(0.03 * side)
        put_text(
            canvas,
            text,
            (canvas.shape[1] - tw - margin, margin + th),
            scale,
            (200, 206, 218),
            outline=None,
        )
