"""Annotators that draw tracks on RGB frames, composable into a renderer.

An annotator's :meth:`~Annotator.annotate` returns an annotated *copy* of an (H, W, 3) uint8
RGB frame; :meth:`~Annotator.draw` draws in place (used by :func:`compose`, which copies the
frame once for the whole chain). OpenCV draws on RGB arrays directly: colours here are RGB.

On a panorama (``wrap=True``) boxes that cross the seam are cut with
:func:`mplt.geometry.split_at_seam` and drawn as two open-sided parts at the left and right
edges; trails take the short way round. Colours are chosen by track id from a fixed palette,
so an id has the same colour in every run and every renderer.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from mplt.geometry import box_center_distance, split_at_seam, wrap_boxes
from mplt.registry import Registry
from mplt.types import Tracks, TrackState

#: Distinct RGB colours, indexed by track id.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (67, 99, 216),
    (245, 130, 49),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (188, 246, 12),
    (250, 190, 190),
    (0, 128, 128),
    (230, 190, 255),
    (154, 99, 36),
    (255, 250, 200),
    (128, 0, 0),
    (170, 255, 195),
    (128, 128, 0),
    (255, 215, 180),
    (0, 0, 128),
    (255, 255, 255),
)
LABEL_DARK = (16, 16, 16)
FONT = cv2.FONT_HERSHEY_SIMPLEX

ANNOTATORS: Registry[type[Annotator]] = Registry("annotator")


def id_color(track_id: int) -> tuple[int, int, int]:
    """The RGB colour of a track id (stable: depends on the id only)."""
    return PALETTE[int(track_id) % len(PALETTE)]


def _font_scale(height: int) -> float:
    """Text size that stays readable from a 480-row clip up to an 8K panorama."""
    return max(0.4, height / 1600.0)


def _text_color(fill: tuple[int, ...]) -> tuple[int, int, int]:
    """Dark text on light fills, white text on dark ones (Rec. 601 luma)."""
    luma = 0.299 * fill[0] + 0.587 * fill[1] + 0.114 * fill[2]
    return LABEL_DARK if luma > 140 else (255, 255, 255)


def _put_label(canvas: np.ndarray, text: str, x: int, y_bottom: int, fill: tuple[int, ...]) -> None:
    """Draw ``text`` on a ``fill``-coloured, dark-outlined tag (legible on any background).

    The tag's bottom-left corner is placed at (x, y_bottom), moved inside the image if needed.
    """
    h, w = canvas.shape[:2]
    scale = _font_scale(h)
    thickness = max(1, round(scale * 2))
    (tw, th), base = cv2.getTextSize(text, FONT, scale, thickness)
    pad = max(2, th // 4)
    box_w, box_h = tw + 2 * pad, th + base + 2 * pad
    x = int(np.clip(x, 0, max(0, w - box_w)))
    top = int(np.clip(y_bottom - box_h, 0, max(0, h - box_h)))
    corner = (x + box_w - 1, top + box_h - 1)
    cv2.rectangle(canvas, (x, top), corner, fill, cv2.FILLED)
    cv2.rectangle(canvas, (x, top), corner, LABEL_DARK, 1)
    cv2.putText(
        canvas,
        text,
        (x + pad, top + pad + th),
        FONT,
        scale,
        _text_color(fill),
        thickness,
        cv2.LINE_AA,
    )


class Annotator:
    """Base class: subclasses implement :meth:`draw`."""

    def annotate(self, frame: np.ndarray, tracks: Tracks) -> np.ndarray:
        """An annotated copy of ``frame`` ((H, W, 3) uint8 RGB); ``frame`` is left untouched."""
        canvas = np.array(frame, dtype=np.uint8, copy=True, order="C")
        self.draw(canvas, tracks)
        return canvas

    def draw(self, canvas: np.ndarray, tracks: Tracks) -> None:
        """Draw ``tracks`` onto ``canvas`` in place."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget any state kept between frames (start of a new video)."""


class Compose(Annotator):
    """Several annotators applied in order on one copy of the frame."""

    def __init__(self, annotators: list[Annotator]) -> None:
        self.annotators = list(annotators)

    def draw(self, canvas: np.ndarray, tracks: Tracks) -> None:
        for annotator in self.annotators:
            annotator.draw(canvas, tracks)

    def reset(self) -> None:
        for annotator in self.annotators:
            annotator.reset()


def compose(*annotators: Annotator) -> Compose:
    """One annotator that runs ``annotators`` in order (later ones draw on top)."""
    return Compose(list(annotators))


def _thickness(base: int, state: int) -> int:
    """Confirmed tracks get the full line width, tentative and lost ones a thinner line."""
    return base if state == TrackState.CONFIRMED else max(1, base // 2)


@ANNOTATORS.register("boxes")
class BoxAnnotator(Annotator):
    """Box outlines in the track's colour; seam-crossing boxes are drawn as two open parts.

    Args:
        wrap: the frame is a 360-degree panorama whose columns wrap (seam at x = 0 = W).
        thickness: line width in pixels for confirmed tracks (others get half).
    """

    def __init__(self, *, wrap: bool = True, thickness: int = 2) -> None:
        self.wrap = wrap
        self.thickness = thickness

    def draw(self, canvas: np.ndarray, tracks: Tracks) -> None:
        if len(tracks) == 0:
            return
        width = canvas.shape[1]
        parts, owner = split_at_seam(tracks.boxes, float(width) if self.wrap else None)
        split = np.bincount(owner, minlength=len(tracks))[owner] > 1
        for (x1, y1, x2, y2), row, is_split in zip(parts, owner, split):
            color = id_color(tracks.ids[row])
            t = _thickness(self.thickness, int(tracks.states[row]))
            left, right = int(round(x1)), int(round(x2)) - 1
            top, bottom = int(round(y1)), int(round(y2)) - 1
            cv2.line(canvas, (left, top), (right, top), color, t)
            cv2.line(canvas, (left, bottom), (right, bottom), color, t)
            # A part's side on the seam is not an edge of the person: leave it open.
            if not (is_split and x1 == 0.0):
                cv2.line(canvas, (left, top), (left, bottom), color, t)
            if not (is_split and x1 > 0.0):
                cv2.line(canvas, (right, top), (right, bottom), color, t)


@ANNOTATORS.register("labels")
class LabelAnnotator(Annotator):
    """The track id above each box's top-left corner, on a tag in the id's colour.

    Args:
        wrap: the frame is a panorama (box x1 is wrapped into the image).
    """

    def __init__(self, *, wrap: bool = True) -> None:
        self.wrap = wrap

    def draw(self, canvas: np.ndarray, tracks: Tracks) -> None:
        if len(tracks) == 0:
            return
        boxes = wrap_boxes(tracks.boxes, float(canvas.shape[1]) if self.wrap else None)
        for (x1, y1, _, _), track_id in zip(boxes, tracks.ids):
            _put_label(
                canvas, str(int(track_id)), int(round(x1)), int(round(y1)), id_color(track_id)
            )


@ANNOTATORS.register("trails")
class TrailAnnotator(Annotator):
    """Recent positions of each box's bottom centre (the feet), as a polyline.

    Stateful: call :meth:`annotate`/:meth:`draw` once per frame in order, and :meth:`reset`
    between videos. A trail disappears with its track. On a panorama a step across the seam is
    drawn the short way round (leaving one edge, entering at the other), never across the image.

    Args:
        length: number of most recent frames a trail covers.
        wrap: the frame is a panorama.
        thickness: line width in pixels.
    """

    def __init__(self, *, length: int = 30, wrap: bool = True, thickness: int = 2) -> None:
        if length < 2:
            raise ValueError(f"length must be >= 2, got {length}")
        self.length = length
        self.wrap = wrap
        self.thickness = thickness
        self._trails: dict[int, deque[tuple[int, float, float]]] = {}

    def reset(self) -> None:
        self._trails.clear()

    def _update(self, tracks: Tracks, period: float | None) -> None:
        feet = np.column_stack(
            [0.5 * (tracks.boxes[:, 0] + tracks.boxes[:, 2]), tracks.boxes[:, 3]]
        )
        feet[:, 0] = wrap_boxes(np.column_stack([feet, feet]), period)[:, 0]
        live = {int(i) for i in tracks.ids}
        for gone in set(self._trails) - live:
            del self._trails[gone]
        oldest = tracks.frame_index - self.length + 1
        for track_id, (x, y) in zip(tracks.ids.tolist(), feet.tolist()):
            trail = self._trails.setdefault(track_id, deque())
            trail.append((tracks.frame_index, x, y))
            while trail[0][0] < oldest:
                trail.popleft()

    def draw(self, canvas: np.ndarray, tracks: Tracks) -> None:
        width = canvas.shape[1]
        period = float(width) if self.wrap else None
        self._update(tracks, period)
        for track_id, trail in self._trails.items():
            if len(trail) < 2:
                continue
            pts = np.array([(x, y) for _, x, y in trail])
            a, b = pts[:-1], pts[1:]
            direct = np.hypot(*(b - a).T)
            # Points as zero-size boxes: geometry decides which way round is shorter.
            short = np.diagonal(
                box_center_distance(np.column_stack([a, a]), np.column_stack([b, b]), period)
            )
            color = id_color(track_id)
            for (xa, ya), (xb, yb), crosses in zip(a, b, short < direct - 1e-6):
                if crosses:
                    # Unwrap b next to a, draw the step there and once more shifted by one
                    # period, so each edge of the image shows its half of the step.
                    shift = -width if xb > xa else width
                    segments = [((xa, ya), (xb + shift, yb)), ((xa - shift, ya), (xb, yb))]
                else:
                    segments = [((xa, ya), (xb, yb))]
                for p, q in segments:
                    cv2.line(
                        canvas,
                        (int(round(p[0])), int(round(p[1]))),
                        (int(round(q[0])), int(round(q[1]))),
                        color,
                        self.thickness,
                        cv2.LINE_AA,
                    )


@ANNOTATORS.register("frame_info")
class FrameInfoAnnotator(Annotator):
    """Frame number (1-based, as in the output files), time and track count, top-left.

    Args:
        fps: frame rate used to show the time; None shows no time.
    """

    def __init__(self, *, fps: float | None = None) -> None:
        self.fps = fps

    def draw(self, canvas: np.ndarray, tracks: Tracks) -> None:
        text = f"frame {tracks.frame_index + 1}"
        if self.fps:
            text += f"  {tracks.frame_index / self.fps:.2f} s"
        text += f"  {len(tracks)} tracks"
        margin = max(4, canvas.shape[0] // 120)
        scale = _font_scale(canvas.shape[0])
        th = cv2.getTextSize(text, FONT, scale, 1)[0][1]
        _put_label(canvas, text, margin, margin + 2 * th, LABEL_DARK)


def default_renderer(*, wrap: bool = True, fps: float | None = None) -> Compose:
    """Boxes, trails, id labels and frame info: what ``mplt track --render`` draws."""
    return compose(
        TrailAnnotator(wrap=wrap),
        BoxAnnotator(wrap=wrap),
        LabelAnnotator(wrap=wrap),
        FrameInfoAnnotator(fps=fps),
    )
