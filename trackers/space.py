"""What the tracker needs to know of the image its boxes live in, as one object.

The tracker does no box or seam arithmetic of its own: the caller gives it a box space, which
knows whether the image's columns wrap (a 360-degree panorama) and how IoU, positions and
differences behave there. ``mplt.geometry.BoxSpace`` is the implementation (every mplt camera
has one, ``camera.box_space``); ``mplt.geometry.BoxSpace()`` is that of a flat image.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class BoxSpace(Protocol):
    """Box arithmetic of one image; boxes are ``xyxy`` pixels, as in :mod:`core.types`."""

    def iou(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``(A, B)`` IoU in [0, 1] of boxes ``a`` ``(A, 4)`` and ``b`` ``(B, 4)``."""
        ...

    def covered(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``(A, B)`` fraction in [0, 1] of each box of ``a`` that lies inside each box of
        ``b`` (0 for an empty box of ``a``)."""
        ...

    def wrap(self, boxes: np.ndarray) -> np.ndarray:
        """``(N, 4)`` boxes moved to their canonical place (``x1`` in ``[0, W)`` on a panorama),
        as a new array."""
        ...

    def wrap_x(self, x: np.ndarray) -> np.ndarray:
        """Column positions (any shape, pixels) in their canonical range."""
        ...

    def x_difference(self, dx: np.ndarray) -> np.ndarray:
        """Column differences (any shape, pixels) the short way round on a panorama."""
        ...

    def touches_edge(self, boxes: np.ndarray, margin_px: float) -> np.ndarray:
        """``(N, 4)`` bool: the image edges (left, top, right, bottom) each box of ``boxes``
        ``(N, 4)`` touches; all False where the image has none (a panorama's sides) or they
        are unknown."""
        ...
