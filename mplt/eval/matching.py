"""Similarities and per-frame matching for evaluation, seam-aware on panoramas.

All box geometry goes through :func:`mplt.geometry.box_iou`: with ``width`` (the panorama
width ``W`` in pixels) a box and the same box shifted by any multiple of ``W`` are the same
box, so a prediction stored unwrapped across the seam (``x2 > W``) or with ``x1 < 0`` matches
ground truth stored on the other side. Without a width it is the ordinary image-plane IoU.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from mplt.geometry import box_iou

#: Slack below a threshold that still counts as reaching it (TrackEval uses the same).
_EPS = np.finfo(float).eps


def mot_boxes(rows: np.ndarray) -> np.ndarray:
    """MOT ``left, top, width, height`` (1-based) columns -> 0-based continuous ``xyxy``.

    Args:
        rows: ``(R, >=6)`` MOT rows in file conventions (columns 2..5 are the box).

    Returns:
        ``(R, 4)`` float64 ``x1, y1, x2, y2`` pixels; ``x2`` may exceed the frame width for a
        box that crosses the seam, as the file stores it.
    """
    x1y1 = rows[:, 2:4] - 1.0
    return np.concatenate([x1y1, x1y1 + rows[:, 4:6]], axis=1)


def similarity(gt_boxes: np.ndarray, pred_boxes: np.ndarray, width: float | None) -> np.ndarray:
    """IoU of every ground-truth box with every predicted box.

    Args:
        gt_boxes: ``(G, 4)`` xyxy pixels.
        pred_boxes: ``(P, 4)`` xyxy pixels.
        width: panorama width ``W`` in pixels (columns wrap), or None for a plain image.

    Returns:
        ``(G, P)`` float64 IoU in [0, 1], the ``similarity_scores`` TrackEval's metrics expect.
    """
    return box_iou(gt_boxes, pred_boxes, period=width)


def match_pairs(sim: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one matching that maximises the summed IoU over pairs with IoU >= threshold.

    This is the per-frame Hungarian matching used for the ground-position error and for
    dropping predictions that match MOTChallenge distractors (TrackEval's preprocessing
    does the same); it ignores track IDs.

    Args:
        sim: ``(G, P)`` IoU matrix.
        threshold: smallest IoU of a match.

    Returns:
        ``(K,)`` int64 ground-truth rows and ``(K,)`` int64 prediction columns of the matches.
    """
    if sim.size == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty
    scores = np.where(sim >= threshold - _EPS, sim, 0.0)
    rows, cols = linear_sum_assignment(scores, maximize=True)
    keep = scores[rows, cols] > _EPS
    return rows[keep].astype(np.int64), cols[keep].astype(np.int64)


def ground_errors(gt_xy: np.ndarray, pred_xy: np.ndarray) -> np.ndarray:
    """Euclidean ground-plane distance of matched pairs whose positions are both known.

    Args:
        gt_xy: ``(K, 2)`` metres, NaN rows where the ground truth has no position.
        pred_xy: ``(K, 2)`` metres, NaN rows where the prediction has no position.

    Returns:
        ``(K',)`` float64 metres, K' <= K (pairs with an unknown side are left out).
    """
    known = np.isfinite(gt_xy).all(axis=1) & np.isfinite(pred_xy).all(axis=1)
    return np.hypot(*(gt_xy[known] - pred_xy[known]).T)
