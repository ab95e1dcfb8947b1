"""Geometry of the bird's-eye map: camera pose, metres <-> pixels, and the map's range.

Map orientation: the ground frame's +x (the panorama's forward direction, its centre column)
points up and +y (left) points left, so the map reads like the view of someone standing at
the camera looking forward: a person at azimuth +90 degrees (right in the panorama) is to the
right of the camera. For a calibrated pinhole camera the map is in the calibration's world
frame, centred on the camera's ground position.

Range: fixed, or automatic (:class:`AutoRange`): the smallest "nice" radius (4, 5, 6, 8, 10,
12, 15, 20, ... metres) that holds every confirmed position seen so far with 10 % to spare.
The needed radius only grows; the drawn radius eases towards it, so the map never jumps.
Before the first position it shows MPLT's +-10 m.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mplt.geometry import Camera

DEFAULT_RANGE_M = 10.0  #: MPLT's plots: +-10 m with rings every 2 m
MIN_AUTO_RANGE_M = 4.0
_MANTISSAS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)
_EASE_S = 0.4  # time constant of the range animation, seconds


def nice_ceil(value: float) -> float:
    """The smallest m * 10^k >= ``value``, m in 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8."""
    if not value > 0:
        raise ValueError(f"value must be > 0, got {value}")
    exponent = math.floor(math.log10(value))
    # 10^(exponent + 1) > value closes the list, so a candidate is always found.
    candidates = [round(m * 10.0**exponent, 9) for m in _MANTISSAS] + [10.0 ** (exponent + 1)]
    return next(c for c in candidates if c >= value - 1e-9)


def ring_step(range_m: float) -> float:
    """Spacing of the range rings: the smallest 1/2/5 * 10^k giving at most 6 rings."""
    exponent = math.floor(math.log10(range_m / 6.0))
    # 10^(exponent + 1) > range_m / 6 closes the list, so a step is always found.
    steps = [m * 10.0**exponent for m in (1.0, 2.0, 5.0)] + [10.0 ** (exponent + 1)]
    return next(step for step in steps if range_m / step <= 6.0 + 1e-9)


@dataclass(frozen=True)
class MapPose:
    """Where the camera is and looks, in the ground (or world) frame, for the map.

    Attributes:
        camera_xy: camera position on the ground, metres; the map's centre.
        forward_deg: direction of the image centre on the ground, degrees counter-clockwise
            from +x (towards +y, left); None = unknown (no forward marker).
        fov_deg: (left edge, right edge) directions of a perspective camera's horizontal field
            of view, degrees as ``forward_deg``; None for a panorama (sees all round).
        seam: the image is a 360-degree panorama with its seam behind the camera.
    """

    camera_xy: tuple[float, float] = (0.0, 0.0)
    forward_deg: float | None = 0.0
    fov_deg: tuple[float, float] | None = None
    seam: bool = False

    @classmethod
    def from_camera(cls, camera: Camera) -> MapPose:
        """The pose of an :mod:`mplt.geometry` camera.

        A camera without ground positions (an uncalibrated video) gets the default pose: such
        runs have no map.
        """
        if not camera.has_ground:
            return cls()
        centre = np.asarray(camera.center(), np.float64)[:2]
        xy = (float(centre[0]), float(centre[1])) if np.isfinite(centre).all() else (0.0, 0.0)
        seam = camera.x_period is not None
        if camera.kind == "multiview":
            return cls(xy, 0.0, None, False)  # its front view looks along +x by definition
        w, h = float(camera.width), float(camera.height)
        rays = camera.pixel_to_ray(np.array([[w / 2, h / 2], [0.0, h / 2], [w, h / 2]]))
        flat = np.hypot(rays[:, 0], rays[:, 1]) > 1e-6
        angles = np.degrees(np.arctan2(rays[:, 1], rays[:, 0]))
        forward = float(angles[0]) if flat[0] else None
        fov = None if seam or not flat[1:].all() else (float(angles[1]), float(angles[2]))
        return cls(xy, forward, fov, seam)


class AutoRange:
    """The map radius over time (see the module doc); ``fixed_m`` pins it.

    Args:
        fixed_m: a fixed radius in metres, or None for automatic.
        fps: frame rate, for the easing animation.
    """

    def __init__(self, fixed_m: float | None = None, fps: float = 30.0) -> None:
        if fixed_m is not None and not fixed_m > 0:
            raise ValueError(f"map range must be > 0 metres, got {fixed_m}")
        self.fixed_m = fixed_m
        self._keep = math.exp(-1.0 / (_EASE_S * max(fps, 1e-3)))
        self.reset()

    def reset(self) -> None:
        self.target: float | None = None
        self.current = self.fixed_m or DEFAULT_RANGE_M

    def update(self, distances: np.ndarray) -> float:
        """Take one frame's distances (metres, NaN ignored); returns the radius to draw."""
        if self.fixed_m is not None:
            return self.current
        d = np.asarray(distances, np.float64)
        d = d[np.isfinite(d)]
        if len(d):
            need = nice_ceil(max(MIN_AUTO_RANGE_M, 1.1 * float(d.max())))
            self.target = need if self.target is None else max(self.target, need)
        if self.target is not None:
            self.current = self.target + (self.current - self.target) * self._keep
            if abs(self.current - self.target) < 1e-3 * self.target:
                self.current = self.target
        return self.current


@dataclass(frozen=True)
class MapProjection:
    """Ground metres -> map pixels (continuous, 0-based) on one panel.

    Attributes:
        center_px: pixel of the camera (x right, y down).
        px_per_m: scale.
        origin_xy: ground position of the camera, metres.
    """

    center_px: tuple[float, float]
    px_per_m: float
    origin_xy: tuple[float, float] = (0.0, 0.0)

    def to_pixels(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) ground metres -> (N, 2) pixels: +x up, +y to the left."""
        d = np.asarray(xy, np.float64).reshape(-1, 2) - np.asarray(self.origin_xy)
        cx, cy = self.center_px
        return np.column_stack([cx - d[:, 1] * self.px_per_m, cy - d[:, 0] * self.px_per_m])

    def direction(self, angle_deg: float) -> np.ndarray:
        """Pixel-space unit vector of a ground direction (degrees counter-clockwise from +x)."""
        a = math.radians(angle_deg)
        return np.array([-math.sin(a), -math.cos(a)])
