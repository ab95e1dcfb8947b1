"""Box arithmetic that knows about the panorama seam -- the ONE place that does.

Boxes are ``(N, 4)`` float ``xyxy`` in continuous pixels (see :mod:`mplt.geometry.camera`).
With ``period`` (the panorama width ``W``) columns wrap: a box crossing the seam is stored
unwrapped with ``x1`` in ``[0, W)`` and ``x2 = x1 + width`` possibly ``> W``; a box is
treated as the same box after a shift of ``x`` by any multiple of ``W``. With
``period=None`` everything is ordinary image-plane geometry.

:class:`BoxSpace` bundles the operations for one image (every camera has one, as
``camera.box_space``); it is what the tracker is given, so that ``trackers/`` needs no box
maths of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def as_boxes(boxes: object, name: str = "boxes") -> np.ndarray:
    """``boxes`` as a float64 ``(N, 4)`` array (N may be 0) or raise ValueError."""
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        arr = arr.reshape(0, 4)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{name} must have shape (N, 4), got {arr.shape}")
    return arr


def _check_period(period: float | None) -> float | None:
    if period is not None and not period > 0:
        raise ValueError(f"period must be > 0 or None, got {period}")
    return None if period is None else float(period)


def _wrap_x(x: np.ndarray, period: float) -> np.ndarray:
    """``x`` (any shape, pixels) taken modulo ``period`` into ``[0, period)``; a new array."""
    out = np.mod(x, period)
    # The mod of a tiny negative number rounds up to the period itself.
    return np.where(out >= period, out - period, out)


def _wrap(b: np.ndarray, period: float) -> np.ndarray:
    """Copy of ``(N, 4)`` boxes shifted so that ``x1`` lies in ``[0, period)``."""
    x1 = _wrap_x(b[:, 0], period)
    out = b.copy()
    out[:, 0] = x1
    out[:, 2] += x1 - b[:, 0]
    return out


def wrap_boxes(boxes: np.ndarray, period: float | None) -> np.ndarray:
    """Shift each box by a multiple of ``period`` so that ``x1`` lies in ``[0, period)``.

    Args:
        boxes: ``(N, 4)`` xyxy pixels.
        period: panorama width ``W`` in pixels, or None (boxes returned unchanged, as a copy).

    Returns:
        ``(N, 4)`` float64; ``x2`` is shifted alike and may exceed ``period``.
    """
    boxes = as_boxes(boxes)
    period = _check_period(period)
    return boxes.copy() if period is None else _wrap(boxes, period)


def _wrap_capped(b: np.ndarray, period: float) -> np.ndarray:
    """:func:`_wrap` with widths capped at the period (a box cannot cover more than 360 deg)."""
    out = _wrap(b, period)
    np.minimum(out[:, 2], out[:, 0] + period, out=out[:, 2])
    return out


def _overlap(lo_a: np.ndarray, hi_a: np.ndarray, lo_b: np.ndarray, hi_b: np.ndarray) -> np.ndarray:
    """Broadcast length of ``[lo_a, hi_a] & [lo_b, hi_b]``, 0 when disjoint."""
    out = np.minimum(hi_a, hi_b)
    out -= np.maximum(lo_a, lo_b)
    return np.maximum(out, 0.0, out=out)


def box_iou(a: np.ndarray, b: np.ndarray, period: float | None = None) -> np.ndarray:
    """Intersection over union of every pair, seam-aware when ``period`` is given.

    On a panorama the horizontal overlap is measured on the circle: it is the sum of the
    overlaps of ``a`` with ``b`` shifted by ``-W, 0, +W`` (for the usual boxes only one shift
    overlaps and this is the max over the shifts; for two boxes wider than ``W/2`` whose ends
    both overlap it counts both pieces). Widths are capped at ``W``.

    Args:
        a: ``(N, 4)`` xyxy pixels.
        b: ``(M, 4)`` xyxy pixels.
        period: panorama width ``W`` or None.

    Returns:
        ``(N, M)`` float64 IoU in [0, 1]; 0 where the union is empty.
    """
    a, b = as_boxes(a, "a"), as_boxes(b, "b")
    period = _check_period(period)
    ha, hb = np.maximum(a[:, 3] - a[:, 1], 0.0), np.maximum(b[:, 3] - b[:, 1], 0.0)
    wa, wb = np.maximum(a[:, 2] - a[:, 0], 0.0), np.maximum(b[:, 2] - b[:, 0], 0.0)
    oy = _overlap(a[:, 1:2], a[:, 3:4], b[:, 1], b[:, 3])
    if period is None:
        ox = _overlap(a[:, 0:1], a[:, 2:3], b[:, 0], b[:, 2])
    else:
        # Unroll the circle at each a's left edge: a = [0, wa], b starts at d in [0, W);
        # b overlaps a's start (shift 0) and, wrapping, a's end (shift -W).
        wa, wb = np.minimum(wa, period), np.minimum(wb, period)
        d = b[:, 0] - a[:, 0:1]
        d -= period * np.floor(d / period)  # np.mod is several times slower
        ox = np.minimum(wa[:, None] - d, wb)
        np.maximum(ox, 0.0, out=ox)
        d += wb
        d -= period
        np.minimum(d, wa[:, None], out=d)
        ox += np.maximum(d, 0.0, out=d)
    inter = np.multiply(ox, oy, out=ox)
    union = (wa * ha)[:, None] + wb * hb
    union -= inter
    # An empty union means two empty boxes: IoU 0 (inter is 0 there too).
    return np.divide(inter, np.maximum(union, np.finfo(float).tiny, out=union), out=inter)


def covered_fraction(a: np.ndarray, b: np.ndarray, period: float | None = None) -> np.ndarray:
    """Fraction of each box of ``a`` that lies inside each box of ``b``.

    Derived from the (seam-aware) :func:`box_iou`: with areas ``A``, ``B`` and
    ``iou = I / (A + B - I)`` the intersection is ``I = iou (A + B) / (1 + iou)``.

    Args:
        a: ``(N, 4)`` xyxy pixels.
        b: ``(M, 4)`` xyxy pixels.
        period: panorama width or None.

    Returns:
        ``(N, M)`` float64 in [0, 1]; 0 for empty boxes of ``a``.
    """
    iou = box_iou(a, b, period)
    area_a = np.maximum(a[:, 2] - a[:, 0], 0) * np.maximum(a[:, 3] - a[:, 1], 0)
    area_b = np.maximum(b[:, 2] - b[:, 0], 0) * np.maximum(b[:, 3] - b[:, 1], 0)
    inter = iou * (area_a[:, None] + area_b[None, :]) / (1.0 + iou)
    return np.divide(inter, area_a[:, None], out=np.zeros_like(inter), where=area_a[:, None] > 0)


def box_center_distance(a: np.ndarray, b: np.ndarray, period: float | None = None) -> np.ndarray:
    """Euclidean distance between box centres, the shortest way round on a panorama.

    Args:
        a: ``(N, 4)`` xyxy pixels.
        b: ``(M, 4)`` xyxy pixels.
        period: panorama width ``W`` or None.

    Returns:
        ``(N, M)`` float64 pixels.
    """
    a, b = as_boxes(a, "a"), as_boxes(b, "b")
    period = _check_period(period)
    dx = 0.5 * (b[:, 0] + b[:, 2])[None, :] - 0.5 * (a[:, 0] + a[:, 2])[:, None]
    dy = 0.5 * (b[:, 1] + b[:, 3])[None, :] - 0.5 * (a[:, 1] + a[:, 3])[:, None]
    if period is not None:
        dx = np.mod(dx + 0.5 * period, period) - 0.5 * period
    return np.hypot(dx, dy)


def nms(
    boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, period: float | None = None
) -> np.ndarray:
    """Greedy non-maximum suppression, seam-aware when ``period`` is given.

    Boxes are visited by score, highest first (ties: lower index first); a box is dropped
    when its IoU with an already kept box exceeds ``iou_threshold``.

    Args:
        boxes: ``(N, 4)`` xyxy pixels.
        scores: ``(N,)`` confidences.
        iou_threshold: IoU above which the lower-scored box is suppressed.
        period: panorama width ``W`` or None.

    Returns:
        ``(K,)`` int64 indices of the kept boxes, by descending score.
    """
    boxes = as_boxes(boxes)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(scores) != len(boxes):
        raise ValueError(f"scores has {len(scores)} entries for {len(boxes)} boxes")
    order = np.argsort(-scores, kind="stable")
    # One IoU matrix up front: N is at most a few hundred detections per frame.
    overlaps = box_iou(boxes[order], boxes[order], period) > iou_threshold
    alive = np.ones(len(order), bool)
    for i in range(len(order)):
        if alive[i]:
            alive[i + 1 :] &= ~overlaps[i, i + 1 :]
    return order[alive].astype(np.int64)


def split_at_seam(boxes: np.ndarray, period: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Cut boxes that cross the seam into the pieces visible in the image, for drawing.

    A box ``[x1, x2)`` with ``x2 > W`` becomes ``[x1, W)`` and ``[0, x2 - W)``; other boxes
    are returned whole (wrapped into ``[0, W)``). Widths are capped at ``W``.

    Args:
        boxes: ``(N, 4)`` xyxy pixels.
        period: panorama width ``W`` or None (no box is split).

    Returns:
        parts ``(P, 4)`` float64 and owner ``(P,)`` int64, the row of ``boxes`` each part
        belongs to; parts are ordered by owner.
    """
    b = as_boxes(boxes)
    period = _check_period(period)
    if period is None:
        return b.copy(), np.arange(len(b), dtype=np.int64)
    b = _wrap_capped(b, period)
    crosses = b[:, 2] > period
    left = b.copy()
    left[:, 2] = np.minimum(left[:, 2], period)
    right = b[crosses].copy()
    right[:, 0], right[:, 2] = 0.0, right[:, 2] - period
    owner = np.concatenate([np.arange(len(b)), np.flatnonzero(crosses)]).astype(np.int64)
    order = np.argsort(owner, kind="stable")
    return np.concatenate([left, right])[order], owner[order]


def boxes_touch_edge(
    boxes: np.ndarray, width: float, height: float, margin_px: float, period: float | None = None
) -> np.ndarray:
    """Which image edges each box touches (is within ``margin_px`` of, or beyond).

    Args:
        boxes: ``(N, 4)`` xyxy pixels.
        width, height: image size, px.
        margin_px: tolerance, px.
        period: panorama width or None; on a panorama left/right never touch.

    Returns:
        ``(N, 4)`` bool: left, top, right, bottom.
    """
    b = as_boxes(boxes)
    touch = np.column_stack(
        [
            b[:, 0] <= margin_px,
            b[:, 1] <= margin_px,
            b[:, 2] >= width - margin_px,
            b[:, 3] >= height - margin_px,
        ]
    )
    if period is not None:
        touch[:, [0, 2]] = False
    return touch


@dataclass(frozen=True)
class BoxSpace:
    """The box arithmetic of one image: seam-aware on a panorama, plain otherwise.

    Args:
        period: the panorama width ``W`` in pixels (columns wrap), or None for a flat image.
        size: ``(width, height)`` of the image in pixels, for :meth:`touches_edge`; None: its
            edges are unknown (a mosaic of views, whose cells have edges inside it).
    """

    period: float | None = None
    size: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "period", _check_period(self.period))
        if self.size is not None:
            w, h = (float(v) for v in self.size)
            if not (w > 0 and h > 0):
                raise ValueError(f"size must be two sizes > 0 or None, got {self.size}")
            object.__setattr__(self, "size", (w, h))

    def touches_edge(self, boxes: np.ndarray, margin_px: float) -> np.ndarray:
        """``(N, 4)`` bool: which image edges (left, top, right, bottom) each box of ``boxes``
        ``(N, 4)`` touches (within ``margin_px``); none on a panorama's left and right, none at
        all when the size is unknown. See :func:`boxes_touch_edge`."""
        if self.size is None:
            return np.zeros((len(as_boxes(boxes)), 4), bool)
        return boxes_touch_edge(boxes, *self.size, margin_px, self.period)

    def iou(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``(N, M)`` IoU of boxes ``a`` ``(N, 4)`` and ``b`` ``(M, 4)``; see :func:`box_iou`."""
        return box_iou(a, b, self.period)

    def covered(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``(N, M)`` fraction of each box of ``a`` inside each box of ``b``; see
        :func:`covered_fraction`."""
        return covered_fraction(a, b, self.period)

    def wrap(self, boxes: np.ndarray) -> np.ndarray:
        """``(N, 4)`` boxes with ``x1`` in ``[0, W)`` (a copy); see :func:`wrap_boxes`."""
        return wrap_boxes(boxes, self.period)

    def wrap_x(self, x: np.ndarray) -> np.ndarray:
        """Column positions ``x`` (any shape, pixels) in ``[0, W)``; unchanged on a flat image."""
        return x if self.period is None else _wrap_x(x, self.period)

    def x_difference(self, dx: np.ndarray) -> np.ndarray:
        """Column differences ``dx`` (any shape, pixels) the short way round, in ``(-W/2, W/2]``;
        unchanged on a flat image."""
        if self.period is None:
            return dx
        return dx - self.period * np.ceil(dx / self.period - 0.5)
