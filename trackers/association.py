"""Association primitives: pure functions over cost matrices.

Every matrix is oriented (tracks x detections): row ``t`` is a track, column ``d`` a
detection. A cost of ``inf`` (or NaN) means "may not match".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

_EMPTY_INDEX = np.zeros(0, np.int64)


def linear_assignment(
    cost: np.ndarray, max_cost: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimum-cost one-to-one matching that never pairs a row and column above ``max_cost``.

    Entries above ``max_cost``, NaN or infinite (either sign) are forbidden: they are clipped
    to just above ``max_cost`` before the Hungarian solve and dropped afterwards, so the solver
    minimises ``sum(min(cost, max_cost+))`` rather than being forced into bad pairs. The result is
    also maximal: no unmatched row and unmatched column have a cost <= ``max_cost``.

    Args:
        cost: (T, D) costs, tracks x detections.
        max_cost: largest cost a match may have.

    Returns:
        ``matches`` (K, 2) int64 ``(row, col)`` pairs sorted by row, ``unmatched_rows`` (U,)
        int64 and ``unmatched_cols`` (V,) int64, both sorted.
    """
    cost = np.asarray(cost, dtype=np.float64)
    if cost.ndim != 2:
        raise ValueError(f"cost must be a (T, D) matrix, got shape {cost.shape}")
    if not np.isfinite(max_cost):
        raise ValueError(f"max_cost must be finite, got {max_cost}")
    n_rows, n_cols = cost.shape
    if n_rows == 0 or n_cols == 0:
        return (
            np.zeros((0, 2), np.int64),
            np.arange(n_rows, dtype=np.int64),
            np.arange(n_cols, dtype=np.int64),
        )
    # The margin keeps "clipped" strictly above every allowed cost, whatever its magnitude.
    ceiling = max_cost + max(1e-5, 1e-9 * abs(max_cost))
    allowed = np.isfinite(cost) & (cost <= max_cost)
    clipped = np.where(allowed, cost, ceiling)
    rows, cols = linear_sum_assignment(clipped)
    keep = allowed[rows, cols]
    rows, cols = rows[keep].astype(np.int64), cols[keep].astype(np.int64)
    matches = np.stack([rows, cols], axis=1)
    row_free = np.ones(n_rows, bool)
    row_free[rows] = False
    col_free = np.ones(n_cols, bool)
    col_free[cols] = False
    return matches, np.flatnonzero(row_free), np.flatnonzero(col_free)


def apply_gate(cost: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """A copy of ``cost`` (T, D) with ``inf`` wherever ``allowed`` (T, D) bool is False."""
    return np.where(allowed, cost, np.inf)


def nn_cosine_distance(
    galleries: Sequence[np.ndarray],
    features: np.ndarray,
    candidates: np.ndarray | None = None,
) -> np.ndarray:
    """Nearest-neighbour cosine distance of detections to each track's feature gallery.

    ``distance[t, d] = min_g (1 - gallery_t[g] . features[d])`` for L2-normalised features,
    in [0, 2]. One matrix product per track covers all its candidate detections; pairs that are
    not candidates are never computed (motion gating usually leaves one or two per track,
    which keeps the cost to reading each gallery once).

    Args:
        galleries: T arrays (G_t, F) of L2-normalised features; G_t may be 0.
        features: (D, F) L2-normalised detection features.
        candidates: optional (T, D) bool; only True pairs are computed.

    Returns:
        (T, D) float64 distances; ``inf`` for pairs not computed and for empty galleries.
    """
    features = np.asarray(features)
    n_det = len(features)
    out = np.full((len(galleries), n_det), np.inf)
    if n_det == 0:
        return out
    for t, gallery in enumerate(galleries):
        if len(gallery) == 0:
            continue
        if gallery.shape[1] != features.shape[1]:
            raise ValueError(
                f"feature size changed: track gallery has {gallery.shape[1]}, "
                f"detections have {features.shape[1]}"
            )
        if candidates is None:
            out[t] = 1.0 - (gallery @ features.T).max(axis=0)
            continue
        cols = np.flatnonzero(candidates[t])
        if len(cols):
            out[t, cols] = 1.0 - (gallery @ features[cols].T).max(axis=0)
    return out
