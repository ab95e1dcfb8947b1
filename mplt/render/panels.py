"""Text panels beside the map in the ``below`` layout: who is where, and the run's clock."""

from __future__ import annotations

import math

import numpy as np

from core.types import Tracks, TrackState
from mplt.render.annotators import Annotator, font_scale, format_time
from mplt.render.birdseye import BACKGROUND, CAMERA, MUTED, RING
from mplt.render.mapgeom import MapPose
from mplt.render.style import (
    INK,
    arrow_head,
    circle,
    fill_polygon,
    id_color,
    put_tag,
    put_text,
    tag_size,
    text_size,
)

TEXT = (212, 217, 228)


def bearing_deg(ground_xy: np.ndarray, pose: MapPose) -> np.ndarray:
    """(N,) azimuth of ground positions seen from the camera, degrees in [-180, 180), relative
    to the image centre and growing to the right as in the panorama; NaN where unknown."""
    d = np.asarray(ground_xy, np.float64).reshape(-1, 2) - np.asarray(pose.camera_xy)
    az = -np.degrees(np.arctan2(d[:, 1], d[:, 0])) + (pose.forward_deg or 0.0)
    return (az + 180.0) % 360.0 - 180.0


class PeoplePanel(Annotator):
    """A table of the people in view, by id: distance, azimuth and speed.

    Args:
        pose: the camera's pose on the map (distances and azimuths are measured from it).
    """

    def __init__(self, *, pose: MapPose | None = None) -> None:
        self.pose = pose or MapPose()

    def draw(self, canvas: np.ndarray, tracks: Tracks) -> None:
        h, w = canvas.shape[:2]
        canvas[:] = BACKGROUND
        scale = font_scale(max(h, 480))
        _, th, _ = text_size("A", scale)
        margin = max(10, int(0.05 * w))
        row_h = round(2.1 * th)
        cols = [
            margin,
            margin + int(0.30 * (w - 2 * margin)),
            margin + int(0.55 * (w - 2 * margin)),
            margin + int(0.80 * (w - 2 * margin)),
        ]
        y = margin + th
        put_text(canvas, "people in view", (margin, y), 1.1 * scale, TEXT, outline=None)
        y += row_h
        for x, name in zip(cols, ("id", "dist.", "azim.", "speed"), strict=True):
            put_text(canvas, name, (x, y), 0.85 * scale, MUTED, outline=None)
        y += int(0.4 * row_h)
        canvas[y : y + 1, margin : w - margin] = RING
        order = np.argsort(tracks.ids, kind="stable")
        keep = tracks.select(order[tracks.states[order] == TrackState.CONFIRMED])
        dist = np.hypot(*(keep.ground_xy - np.asarray(self.pose.camera_xy)).T)
        azim = bearing_deg(keep.ground_xy, self.pose)
        speed = np.hypot(*keep.ground_velocity.T)
        rows = max(0, (h - y - margin) // row_h)
        for i in range(min(len(keep), rows)):
            y += row_h
            if i == rows - 1 and len(keep) > rows:
                put_text(canvas, f"+{len(keep) - i} more", (cols[0], y), scale, MUTED, outline=None)
                break
            tag = str(int(keep.ids[i]))
            put_tag(
                canvas,
                tag,
                cols[0],
                y + th // 3 - tag_size(tag, scale)[1],
                id_color(keep.ids[i]),
                scale,
            )
            cells = (f"{dist[i]:.1f} m", f"{azim[i]:+.0f} deg", f"{speed[i]:.1f} m/s")
            for x, value, ok in zip(cols[1:], cells, (dist[i], azim[i], speed[i]), strict=True):
                put_text(
                    canvas, value if math.isfinite(ok) else "-", (x, y), scale, TEXT, outline=None
                )


class InfoPanel(Annotator):
    """The clock (time, frame), how many people are in view and have been seen, and a legend.

    Stateful: counts the distinct confirmed ids seen (one :meth:`draw`/:meth:`observe` per frame).

    Args:
        fps: frame rate, for the time.
    """

    def __init__(self, *, fps: float | None = None) -> None:
        self.fps = fps
        self._seen: set[int] = set()

    def reset(self) -> None:
        self._seen.clear()

    def observe(self, tracks: Tracks, size: tuple[int, int] | None = None) -> None:
        self._seen.update(tracks.ids[tracks.states == TrackState.CONFIRMED].tolist())

    def draw(self, canvas: np.ndarray, tracks: Tracks) -> None:
        self.observe(tracks)
        h, w = canvas.shape[:2]
        canvas[:] = BACKGROUND
        scale = font_scale(max(h, 480))
        _, th, _ = text_size("A", scale)
        margin = max(10, int(0.05 * w))
        y = margin + int(2.4 * th)
        clock = format_time(tracks.frame_index / self.fps) if self.fps else "-"
        put_text(canvas, clock, (margin, y), 1.9 * scale, TEXT, thickness=2, outline=None)
        y += int(2.0 * th)
        put_text(canvas, f"frame {tracks.frame_index + 1}", (margin, y), scale, MUTED, outline=None)
        now = int(np.count_nonzero(tracks.states == TrackState.CONFIRMED))
        for text in (f"{now} in view", f"{len(self._seen)} seen so far"):
            y += int(2.1 * th)
            put_text(canvas, text, (margin, y), scale, TEXT, outline=None)
        y += int(1.6 * th)
        dot = max(4.0, th * 0.45)
        legend = (
            ("person (id colour)", "dot"),
            ("not seen, predicted", "ring"),
            ("camera, arrow to the front", "camera"),
        )
        for text, kind in legend:
            y += int(2.0 * th)
            if y > h - margin:
                break
            centre = (margin + dot + 1.0, y - th / 2.0)
            if kind == "dot":
                circle(canvas, centre, dot + 2.0, INK)
                circle(canvas, centre, dot, id_color(1))
            elif kind == "ring":
                circle(canvas, centre, dot, id_color(2), 2)
            else:
                up = np.array([0.0, -1.0])
                fill_polygon(
                    canvas, arrow_head(np.add(centre, up * dot * 2.3), up, dot * 1.6), CAMERA
                )
                circle(canvas, centre, dot + 1.5, INK)
                circle(canvas, centre, dot, CAMERA)
            put_text(canvas, text, (int(margin + 3 * dot + 6), y), 0.9 * scale, MUTED, outline=None)
