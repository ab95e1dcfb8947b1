"""Colours, text and line primitives shared by every panel of the rendered video.

All colours are RGB (OpenCV draws on RGB arrays as it would on BGR ones: only the meaning of
the channels changes). Text uses OpenCV's built-in Hershey fonts, anti-aliased, so rendering
needs no font files.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

Color = tuple[int, int, int]

#: Distinct, bright RGB colours, one per track id (id 1 gets the first). All are light enough
#: to read on the dark map, and every label gets a dark outline for bright video backgrounds.
PALETTE: tuple[Color, ...] = (
    (255, 99, 88),
    (72, 209, 112),
    (255, 196, 38),
    (84, 160, 255),
    (255, 138, 48),
    (196, 118, 255),
    (48, 221, 221),
    (255, 105, 197),
    (176, 232, 64),
    (255, 176, 160),
    (32, 186, 160),
    (206, 178, 255),
    (222, 164, 96),
    (130, 208, 255),
    (255, 232, 120),
    (150, 255, 190),
    (235, 96, 140),
    (168, 196, 92),
    (128, 140, 255),
    (240, 240, 240),
)
#: Tentative tracks (id -1, not confirmed yet) are grey.
TENTATIVE_COLOR: Color = (170, 170, 170)
INK: Color = (12, 14, 18)  #: outlines and text on light fills
WHITE: Color = (255, 255, 255)
FONT = cv2.FONT_HERSHEY_DUPLEX
_SHIFT = 4  # sub-pixel bits for anti-aliased circles and polylines
_ONE = 1 << _SHIFT


def id_color(track_id: int) -> Color:
    """The RGB colour of a track id: depends on the id only, so it is stable across frames,
    runs and panels. Ids < 1 (tentative tracks) are grey."""
    track_id = int(track_id)
    if track_id < 1:
        return TENTATIVE_COLOR
    return PALETTE[(track_id - 1) % len(PALETTE)]


def mix(a: Sequence[int], b: Sequence[int], t: float) -> Color:
    """``a`` blended towards ``b`` by ``t`` in [0, 1] (fading trails on a known background)."""
    return tuple(round(float(x) + (float(y) - float(x)) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def luma(color: Sequence[int]) -> float:
    """Rec. 601 luma of an RGB colour, 0..255."""
    return 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]


def text_on(fill: Sequence[int]) -> Color:
    """Dark text on light fills, white text on dark ones."""
    return INK if luma(fill) > 120 else WHITE


def text_size(text: str, scale: float, thickness: int = 1) -> tuple[int, int, int]:
    """(width, cap height, descent) in pixels of ``text`` at ``scale``."""
    (w, h), base = cv2.getTextSize(text, FONT, scale, thickness)
    return w, h, base


def put_text(
    canvas: np.ndarray,
    text: str,
    org: tuple[int, int],
    scale: float,
    color: Sequence[int],
    *,
    thickness: int = 1,
    outline: Sequence[int] | None = INK,
) -> None:
    """Anti-aliased text with its baseline-left at ``org``, outlined for any background."""
    if outline is not None:
        cv2.putText(canvas, text, org, FONT, scale, tuple(outline), thickness + 2, cv2.LINE_AA)
    cv2.putText(canvas, text, org, FONT, scale, tuple(color), thickness, cv2.LINE_AA)


def tag_size(text: str, scale: float, thickness: int = 1) -> tuple[int, int]:
    """(width, height) in pixels of the tag :func:`put_tag` draws for ``text``."""
    tw, th, base = text_size(text, scale, thickness)
    pad = max(2, round(th * 0.35))
    return tw + 2 * pad, th + base + pad


def put_tag(
    canvas: np.ndarray,
    text: str,
    x0: int,
    y0: int,
    fill: Sequence[int],
    scale: float,
    *,
    thickness: int = 1,
) -> None:
    """A ``fill``-coloured, ink-outlined tag holding ``text``, top-left corner at (x0, y0)."""
    th = text_size(text, scale, thickness)[1]
    pad = max(2, round(th * 0.35))
    w, h = tag_size(text, scale, thickness)
    cv2.rectangle(canvas, (x0, y0), (x0 + w - 1, y0 + h - 1), tuple(fill), cv2.FILLED)
    cv2.rectangle(canvas, (x0, y0), (x0 + w - 1, y0 + h - 1), INK, 1)
    cv2.putText(
        canvas,
        text,
        (x0 + pad, y0 + pad // 2 + th),
        FONT,
        scale,
        text_on(fill),
        thickness,
        cv2.LINE_AA,
    )


class LabelPlacer:
    """Greedy placement of labels that should not cover each other (or reserved spots).

    Args:
        bounds: (W, H) of the canvas; candidates are moved inside it.
    """

    def __init__(self, bounds: tuple[int, int]) -> None:
        self.bounds = bounds
        self._taken = np.zeros((0, 4))

    def reserve(self, rect: Sequence[float]) -> None:
        """Mark (x0, y0, x1, y1) as occupied."""
        self._taken = np.vstack([self._taken, np.asarray(rect, np.float64)[None]])

    def place(
        self, size: tuple[int, int], candidates: Sequence[tuple[float, float]]
    ) -> tuple[int, int]:
        """The top-left corner, among ``candidates``, of a ``size`` label: the first that
        overlaps nothing placed so far, else the least overlapping one; it is then reserved."""
        w, h = size
        xy = np.asarray(candidates, np.float64).reshape(-1, 2)
        xy[:, 0] = np.clip(xy[:, 0], 0, max(0, self.bounds[0] - w))
        xy[:, 1] = np.clip(xy[:, 1], 0, max(0, self.bounds[1] - h))
        rects = np.column_stack([xy, xy + [w, h]])
        t = self._taken
        ix = np.minimum(rects[:, None, 2], t[None, :, 2]) - np.maximum(
            rects[:, None, 0], t[None, :, 0]
        )
        iy = np.minimum(rects[:, None, 3], t[None, :, 3]) - np.maximum(
            rects[:, None, 1], t[None, :, 1]
        )
        overlap = (np.clip(ix, 0, None) * np.clip(iy, 0, None)).sum(axis=1)
        best = int(np.argmax(overlap == 0)) if (overlap == 0).any() else int(np.argmin(overlap))
        self.reserve(rects[best])
        return int(xy[best, 0]), int(xy[best, 1])


def shade_rect(canvas: np.ndarray, x0: int, y0: int, x1: int, y1: int, alpha: float = 0.55) -> None:
    """Darken a rectangle (inclusive corners, clipped to the canvas) for a text backdrop."""
    h, w = canvas.shape[:2]
    x0, x1 = max(0, x0), min(w, x1 + 1)
    y0, y1 = max(0, y0), min(h, y1 + 1)
    if x0 < x1 and y0 < y1:
        region = canvas[y0:y1, x0:x1]
        region[:] = (region.astype(np.float32) * (1.0 - alpha)).astype(np.uint8)


def fixed(points: np.ndarray) -> np.ndarray:
    """Continuous pixel coordinates -> OpenCV's fixed-point integers for ``shift=_SHIFT``.

    Pixel centres are at integer coordinates in OpenCV's drawing, hence the -0.5.
    """
    return np.round((np.asarray(points, np.float64) - 0.5) * _ONE).astype(np.int32)


def circle(
    canvas: np.ndarray,
    center: Sequence[float],
    radius: float,
    color: Sequence[int],
    thickness: int = -1,
) -> None:
    """Anti-aliased circle at a sub-pixel ``center`` (continuous pixels); -1 fills it."""
    c = fixed(np.asarray(center, np.float64)[None])[0]
    cv2.circle(
        canvas,
        (int(c[0]), int(c[1])),
        round(float(radius) * _ONE),
        tuple(color),
        thickness,
        cv2.LINE_AA,
        _SHIFT,
    )


def polyline(
    canvas: np.ndarray,
    points: np.ndarray,
    color: Sequence[int],
    thickness: int,
    closed: bool = False,
) -> None:
    """Anti-aliased polyline through (K, 2) continuous pixel coordinates."""
    if len(points) >= 2:
        cv2.polylines(canvas, [fixed(points)], closed, tuple(color), thickness, cv2.LINE_AA, _SHIFT)


def line(
    canvas: np.ndarray, p: Sequence[float], q: Sequence[float], color: Sequence[int], thickness: int
) -> None:
    """Anti-aliased segment between continuous pixel coordinates."""
    polyline(canvas, np.array([p, q], np.float64), color, thickness)


def fill_polygon(canvas: np.ndarray, points: np.ndarray, color: Sequence[int]) -> None:
    """Anti-aliased filled polygon through (K, 2) continuous pixel coordinates."""
    cv2.fillPoly(canvas, [fixed(points)], tuple(color), cv2.LINE_AA, _SHIFT)


def dashed_segments(p: np.ndarray, q: np.ndarray, dash: float, gap: float) -> np.ndarray:
    """The dashes of segment p -> q as an (K, 2, 2) array of endpoints (pixels)."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    length = float(np.hypot(*(q - p)))
    if length <= dash:
        return np.array([[p, q]])
    starts = np.arange(0.0, length, dash + gap)
    ends = np.minimum(starts + dash, length)
    direction = (q - p) / length
    return np.stack([p + starts[:, None] * direction, p + ends[:, None] * direction], axis=1)


def arrow_head(tip: np.ndarray, direction: np.ndarray, size: float) -> np.ndarray:
    """(3, 2) triangle with its tip at ``tip`` pointing along ``direction`` (unit)."""
    normal = np.array([-direction[1], direction[0]])
    base = tip - direction * size
    return np.array([tip, base + normal * size * 0.55, base - normal * size * 0.55])
