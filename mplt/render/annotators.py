"""Annotators that draw tracks on an RGB image, composable into a renderer.

An annotator's :meth:`~Annotator.annotate` returns an annotated *copy* of an (H, W, 3) uint8
RGB image; :meth:`~Annotator.draw` draws in place (used by :func:`compose`, which copies the
frame once for the whole chain). Boxes are in the image's own pixels (0-based, continuous,
seam-unwrapped); the video renderer scales tracks to its panorama panel before drawing.

Stateful annotators (trails) update their state in :meth:`~Annotator.observe`, which
:meth:`~Annotator.draw` calls first; calling ``observe`` alone for frames that are not drawn
gives the same state as drawing them (used to render a single snapshot frame).

On a panorama (``wrap=True``: columns wrap, seam at x = 0 = W) boxes that cross the seam are
cut by :func:`mplt.geometry.split_at_seam` and drawn as two parts at the left and right edges,
open on the seam side; trails take the short way round.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from core.types import Tracks, TrackState
from mplt.geometry import box_center_distance, split_at_seam, wrap_boxes
from mplt.render.style import (
    INK,
    WHITE,
    LabelPlacer,
    dashed_segments,
    id_color,
    put_tag,
    put_text,
    shade_rect,
    tag_size,
    text_size,
)


def font_scale(height: int) -> float:
    """Text size that stays readable from a 480-row clip up to an 8K panorama."""
    return max(0.42, height / 1150.0)


def line_width(height: int) -> int:
    """Box line width for an image ``height`` rows tall."""
    return max(1, round(height / 330.0))


def format_time(seconds: float) -> str:
    """``m:ss.ss`` (or ``h:mm:ss.ss``) of a time in seconds."""
    minutes, sec = divmod(max(0.0, seconds), 60.0)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{sec:05.2f}" if hours else f"{minutes}:{sec:05.2f}"


def frame_caption(tracks: Tracks, fps: float | None) -> str:
    """``frame 37   0:01.44   5 people``: 1-based frame, time (when ``fps`` is known) and the
    number of confirmed tracks."""
    parts = [f"frame {tracks.frame_index + 1}"]
    if fps:
        parts.append(format_time(tracks.frame_index / fps))
    people = int(np.count_nonzero(tracks.states == TrackState.CONFIRMED))
    parts.append(f"{people} {'person' if people == 1 else 'people'}")
    return "   ".join(parts)


class Annotator:
    """Base class: subclasses implement :meth:`draw` (and :meth:`observe` if stateful)."""

    def annotate(self, frame: np.ndarray, tracks: Tracks) -> np.ndarray:
        """An annotated copy of ``frame`` ((H, W, 3) uint8 RGB); ``frame`` is left untouched."""
        canvas = np.array(frame, dtype=np.uint8, copy=True, order="C")
        self.draw(canvas, tracks)
        return canvas

    def draw(self, canvas: np.ndarray, tracks: Tracks) -> None:
        """Draw ``tracks`` onto ``canvas`` ((H, W, 3) uint8 RGB) in place."""
        raise NotImplementedError

    def observe(self, tracks: Tracks, size: tuple[int, int]) -> None:
        """Update the state kept between frames as :meth:`draw` would on a (W, H) canvas."""

    def reset(self) -> None:
        """Forget any state kept between frames (start of a new video)."""


class Compose(Annotator):
    """Several annotators applied in order on one copy of the frame."""

    def __init__(self, annotators: list[Annotator]) -> None:
        self.annotators = list(annotators)

    def draw(self, canvas: np.ndarray, tracks: Tracks) -> None:
        for annotator in self.annotators:
            annotator.draw(canvas, tracks)

    def observe(self, tracks: Tracks, size: tuple[int, int]) -> None:
        for annotator in self.annotators:
            annotator.observe(tracks, size)

    def reset(self) -> None:
        for annotator in self.annotators:
            annotator.reset()


def compose(*annotators: Annotator) -> Compose:
    """One annotator that runs ``annotators`` in order (later ones draw on top)."""
    return Compose(list(annotators))


def _box_edges(parts: np.ndarray, owner: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """Per part, its owner row and the (K, 2, 2) pixel segments to draw.

    A part's side lying on the seam is not an edge of the person and is left open.
    """
    split = np.bincount(owner)[owner] > 1
    out = []
    for (x1, y1, x2, y2), row, is_split in zip(parts, owner, split, strict=True):
        left, right = round(x1), round(x2) - 1
        top, bottom = round(y1), round(y2) - 1
        segments = [[(left, top), (right, top)], [(left, bottom), (right, bottom)]]
        if not (is_split and x1 == 0.0):
            segments.append([(left, top), (left, bottom)])
        if not (is_split and x1 > 0.0):
            segments.append([(right, top), (right, bottom)])
        out.append((int(row), np.array(segments, np.float64)))
    return out


class BoxAnnotator(Annotator):
    """Box outlines in the track's colour over a thin dark edge; seam-crossing boxes as two parts.

    Confirmed tracks get a solid line; tentative and lost ones (drawn only when the run wrote
    them) a thinner dashed line.

    Args:
        wrap: the image is a 360-degree panorama whose columns wrap (seam at x = 0 = W).
        thickness: line width in pixels for confirmed tracks; None = from the image height.
    """

    def __init__(self, *, wrap: bool = True, thickness: int | None = None) -> None:
        self.wrap = wrap
        self.thickness = thickness

    def draw(self, canvas: np.ndarray, tracks: Tracks) -> None:
        if len(tracks) == 0:
            return
        base = self.thickness or line_width(canvas.shape[0])
        parts, owner = split_at_seam(tracks.boxes, float(canvas.shape[1]) if self.wrap else None)
        for row, segments in _box_edges(parts, owner):
            color = id_color(tracks.ids[row])
            if int(tracks.states[row]) == TrackState.CONFIRMED:
                pieces, t = segments, base
            else:
                t = max(1, base // 2)
                dash = 3.0 * t + 3.0
                # Thick lines get round caps that eat into the gaps: widen the gaps to match.
                pieces = np.concatenate(
                    [dashed_segments(p, q, dash, dash + t + 2) for p, q in segments]
                )
            pieces = np.round(pieces).astype(np.int32)
            for width, col in ((t + 2, INK), (t, color)):
                cv2.polylines(canvas, list(pieces), False, col, width)


class LabelAnnotator(Annotator):
    """A tag in the id's colour above each confirmed box: id, distance and (optional) confidence.

    For a box split by the seam the tag sits on its wider part.

    Args:
        wrap: the image is a panorama.
        origin_xy: ground position (metres) distances are measured from; None = no distance.
        show_confidence: append the detection confidence.
    """

    def __init__(
        self,
        *,
        wrap: bool = True,
        origin_xy: tuple[float, float] | None = (0.0, 0.0),
        show_confidence: bool = False,
    ) -> None:
        self.wrap = wrap
        self.origin_xy = origin_xy
        self.show_confidence = show_confidence

    def label(self, tracks: Tracks, row: int) -> str:
        """The text of one track's tag."""
        text = str(int(tracks.ids[row]))
        if self.origin_xy is not None:
            dist = float(np.hypot(*(tracks.ground_xy[row] - np.asarray(self.origin_xy))))
            if np.isfinite(dist):
                text += f"  {dist:.1f} m"
        if self.show_confidence:
            text += f"  {float(tracks.scores[row]):.2f}"
        return text

    def draw(self, canvas: np.ndarray, tracks: Tracks) -> None:
        if len(tracks) == 0:
            return
        height, width = canvas.shape[:2]
        scale = font_scale(height)
        parts, owner = split_at_seam(tracks.boxes, float(width) if self.wrap else None)
        widths = parts[:, 2] - parts[:, 0]
        # The widest part of each owner: sort by (owner, -width), keep each owner's first.
        order = np.lexsort((-widths, owner))
        first = order[np.r_[True, owner[order][1:] != owner[order][:-1]]]
        # Nearest (tallest) people choose their place first; the others move out of the way:
        # stacked above, then inside the top of the box, then below it.
        first = first[np.argsort(-(parts[first, 3] - parts[first, 1]), kind="stable")]
        placer = LabelPlacer((width, height))
        for part in first:
            row = int(owner[part])
            if tracks.ids[row] < 1:
                continue
            text = self.label(tracks, row)
            w, h = tag_size(text, scale)
            x1, y1, _, y2 = parts[part]
            candidates = [(x1, y1 - k * (h + 1) - h - 1) for k in range(3)]
            candidates += [(x1, y1 + 1), (x1, y2 + 1)]
            x0, y0 = placer.place((w, h), candidates)
            put_tag(canvas, text, x0, y0, id_color(tracks.ids[row]), scale)


class TrailAnnotator(Annotator):
    """Recent positions of each box's bottom centre (the feet), as a tapering polyline.

    Stateful (see the module doc): one :meth:`draw` or :meth:`observe` per frame, in order.
    A trail disappears with its track. On a panorama a step across the seam is drawn the short
    way round (leaving one edge, entering at the other), never across the image.

    Args:
        length: number of most recent frames a trail covers.
        wrap: the image is a panorama.
        thickness: line width in pixels of the newest part; None = from the image height.
    """

    def __init__(
        self, *, length: int = 30, wrap: bool = True, thickness: int | None = None
    ) -> None:
        if length < 2:
            raise ValueError(f"length must be >= 2, got {length}")
        self.length = length
        self.wrap = wrap
        self.thickness = thickness
        self._trails: dict[int, deque[tuple[int, float, float]]] = {}

    def reset(self) -> None:
        self._trails.clear()

    def observe(self, tracks: Tracks, size: tuple[int, int]) -> None:
        period = float(size[0]) if self.wrap else None
        feet = np.column_stack(
            [0.5 * (tracks.boxes[:, 0] + tracks.boxes[:, 2]), tracks.boxes[:, 3]]
        )
        feet[:, 0] = wrap_boxes(np.column_stack([feet, feet]), period)[:, 0]
        live = {int(i) for i in tracks.ids if i >= 1}
        for gone in set(self._trails) - live:
            del self._trails[gone]
        oldest = tracks.frame_index - self.length + 1
        for track_id, (x, y) in zip(tracks.ids.tolist(), feet.tolist(), strict=True):
            if track_id < 1:
                continue  # tentative tracks share id -1: no identity to follow yet
            trail = self._trails.setdefault(track_id, deque())
            trail.append((tracks.frame_index, x, y))
            while trail[0][0] < oldest:
                trail.popleft()

    def draw(self, canvas: np.ndarray, tracks: Tracks) -> None:
        height, width = canvas.shape[:2]
        self.observe(tracks, (width, height))
        period = float(width) if self.wrap else None
        base = self.thickness or line_width(height)
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
            # Older steps are thinner: the trail tapers off towards its tail.
            widths = 1 + np.round(np.linspace(0.0, 1.0, len(a)) * (base - 1)).astype(int)
            for (xa, ya), (xb, yb), crosses, t in zip(
                a.tolist(),
                b.tolist(),
                (short < direct - 1e-6).tolist(),
                widths.tolist(),
                strict=True,
            ):
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
                        (round(p[0] - 0.5), round(p[1] - 0.5)),
                        (round(q[0] - 0.5), round(q[1] - 0.5)),
                        color,
                        int(t),
                        cv2.LINE_AA,
                    )


class FrameInfoAnnotator(Annotator):
    """Frame number (1-based, as in the output files), time and people count, top-left.

    Args:
        fps: frame rate used to show the time; None shows no time.
    """

    def __init__(self, *, fps: float | None = None) -> None:
        self.fps = fps

    def draw(self, canvas: np.ndarray, tracks: Tracks) -> None:
        text = frame_caption(tracks, self.fps)
        scale = font_scale(canvas.shape[0])
        tw, th, base = text_size(text, scale)
        margin = max(6, canvas.shape[0] // 60)
        pad = max(4, th // 2)
        shade_rect(canvas, margin, margin, margin + tw + 2 * pad, margin + th + base + 2 * pad)
        put_text(canvas, text, (margin + pad, margin + pad + th), scale, WHITE, outline=None)


class HeadingAnnotator(Annotator):
    """Where the panorama looks: "front" at the centre column, "left"/"right" at -90/+90 degrees
    of azimuth and "back" at the seam (both edges), with ticks along the bottom edge.

    Meant for equirectangular panoramas only (azimuth is linear in the column).
    """

    NAMES = (("back", -180.0), ("left", -90.0), ("front", 0.0), ("right", 90.0), ("back", 180.0))

    def draw(self, canvas: np.ndarray, tracks: Tracks) -> None:
        height, width = canvas.shape[:2]
        scale = 0.8 * font_scale(height)
        tick = max(4, height // 60)
        for name, az in self.NAMES:
            x = (az + 180.0) / 360.0 * width
            tw = text_size(name, scale)[0]
            col = int(np.clip(round(x - 0.5), 0, width - 1))
            cv2.line(canvas, (col, height - 1), (col, height - 1 - tick), INK, 3)
            cv2.line(canvas, (col, height - 1), (col, height - 1 - tick), WHITE, 1)
            tx = int(np.clip(round(x - tw / 2), 3, width - tw - 3))
            put_text(canvas, name, (tx, height - tick - 6), scale, (225, 225, 225))


def default_renderer(*, wrap: bool = True, fps: float | None = None) -> Compose:
    """Trails, boxes, id labels and frame info drawn on the frame itself (no map panel)."""
    return compose(
        TrailAnnotator(wrap=wrap),
        BoxAnnotator(wrap=wrap),
        LabelAnnotator(wrap=wrap, origin_xy=None),
        FrameInfoAnnotator(fps=fps),
    )
