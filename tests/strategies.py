"""Hypothesis strategies shared by the tests: cameras, pixels, rays and boxes."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from mplt.geometry import Equirectangular, Pinhole, rotation_matrix
from mplt.geometry.camera import CV_TO_RIG

#: Settings for the geometry properties: enough examples to find corner cases, no deadline
#: (the first call of a numpy function can be slow on a loaded machine).
GEOMETRY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@st.composite
def equirect_cameras(
    draw: st.DrawFn, tilted: bool = True, height_known: bool | None = None
) -> Equirectangular:
    """Panoramas of several sizes, any yaw, pitch/roll up to 30 deg when ``tilted``."""
    h = draw(st.sampled_from([16, 256, 960, 1920]))
    if height_known is None:
        cam_h = draw(st.none() | floats(0.5, 4.0))
    else:
        cam_h = draw(floats(0.5, 4.0)) if height_known else None
    pitch, roll = (draw(floats(-30, 30)), draw(floats(-30, 30))) if tilted else (0.0, 0.0)
    return Equirectangular(2 * h, h, cam_h, draw(floats(-180, 180)), pitch, roll)


def pinhole_pose(
    yaw: float, pitch: float, roll: float, centre: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """World-to-camera (R, t) of a camera at ``centre`` looking along yaw/pitch/roll."""
    R = (rotation_matrix(yaw, pitch, roll) @ CV_TO_RIG).T
    return R, -R @ np.asarray(centre, float)


@st.composite
def pinhole_cameras(draw: st.DrawFn, distorted: bool = True) -> Pinhole:
    """Calibrated cameras with moderate lenses whose distortion is invertible in the image.

    The normalised half diagonal stays in [0.3, 0.7] and the radial terms small enough that
    the distortion is monotonic over the whole image.
    """
    w, h = draw(st.integers(160, 1920)), draw(st.integers(120, 1080))
    half_diag = 0.5 * np.hypot(w, h)
    fx = half_diag / draw(floats(0.3, 0.7))
    fy = fx * draw(floats(0.95, 1.05))
    cx, cy = w / 2 + draw(floats(-0.05, 0.05)) * w, h / 2 + draw(floats(-0.05, 0.05)) * h
    K = [[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]]
    dist = None
    if distorted:
        dist = [
            draw(floats(-0.15, 0.1)),
            draw(floats(-0.03, 0.03)),
            draw(floats(-1e-3, 1e-3)),
            draw(floats(-1e-3, 1e-3)),
            draw(floats(-5e-3, 5e-3)),
        ]
    centre = [draw(floats(-5, 5)), draw(floats(-5, 5)), draw(floats(1.0, 4.0))]
    R, t = pinhole_pose(draw(floats(-180, 180)), draw(floats(0, 40)), draw(floats(-10, 10)), centre)
    return Pinhole(w, h, K, dist, R, t)


@st.composite
def pixels(
    draw: st.DrawFn, width: int, height: int, max_size: int = 8, border: float = 0.0
) -> np.ndarray:
    """``(N, 2)`` continuous pixels inside the image (``border`` px away from its edges)."""
    xs = st.tuples(floats(border, width - border), floats(border, height - border))
    return np.array(draw(st.lists(xs, max_size=max_size)), float).reshape(-1, 2)


@st.composite
def rays(draw: st.DrawFn, max_size: int = 8) -> np.ndarray:
    """``(N, 3)`` directions of norm 0.1 .. 10, not necessarily unit."""
    vec = st.tuples(floats(-1, 1), floats(-1, 1), floats(-1, 1)).filter(
        lambda v: np.linalg.norm(v) > 0.1
    )
    scale = floats(1.0, 10.0)
    items = draw(st.lists(st.tuples(vec, scale), max_size=max_size))
    return np.array([np.multiply(v, s) for v, s in items], float).reshape(-1, 3)


@st.composite
def boxes(
    draw: st.DrawFn, width: int, height: int, max_size: int = 8, max_width_frac: float = 0.75
) -> np.ndarray:
    """``(N, 4)`` boxes on a quarter-pixel grid, ``x1`` in [0, W), possibly past the seam.

    Quarter pixels are exact in float64, so shifting by ``W`` and wrapping back is exact.
    """

    def one(x1: int, w: int, y1: int, h: int) -> tuple[float, ...]:
        return x1 / 4, y1 / 4, (x1 + w) / 4, min(y1 + h, 4 * height) / 4

    box = st.builds(
        one,
        st.integers(0, 4 * width - 1),
        st.integers(4, int(4 * width * max_width_frac)),
        st.integers(0, 4 * height - 8),
        st.integers(4, 4 * height),
    )
    return np.array(draw(st.lists(box, max_size=max_size)), float).reshape(-1, 4)
