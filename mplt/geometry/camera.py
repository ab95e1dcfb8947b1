"""Camera models: pixel <-> ray <-> ground.

Conventions (binding for all of mplt; this is the one place they are written down in code):

* Pixel coordinates are 0-based and continuous: column ``u`` covers ``[u, u + 1)``, so the
  centre of pixel ``(u, v)`` is ``(u + 0.5, v + 0.5)``. Every ``uv`` argument below is such a
  continuous coordinate ``(x, y)``.
* Equirectangular frame ``W x H`` covering 360 x 180 degrees, usually ``W = 2H``; a full
  sphere stored at 16:9 (e.g. 3840 x 2160) has non-square angular pixels, and every step
  uses the two scales ``W / 360`` and ``H / 180`` px per degree. Continuous column ``x`` ->
  azimuth ``az = x / W * 360 - 180`` degrees (pixel column ``u`` -> ``(u + 0.5) / W * 360 -
  180``); continuous row ``y`` -> elevation ``el = 90 - y / H * 180`` degrees. The image centre
  ``(W/2, H/2)`` looks forward (az 0, el 0); azimuth grows to the RIGHT; the seam is at
  azimuth +-180 deg (``x = 0 = W``). A box crossing the seam is stored unwrapped: ``x1`` in
  ``[0, W)`` and ``x2`` may exceed ``W`` (see :mod:`mplt.geometry.boxes`).
* Ground frame: right-handed, metres, z up, origin on the ground below the camera (for a
  calibrated pinhole camera: its world frame, ground plane ``z = 0``). ``x`` = the
  panorama's forward direction (azimuth 0), ``y`` = left, ``z`` = up.
* Camera-frame ray for azimuth ``a`` and elevation ``e`` (before the camera rotation):
  ``d = (cos e cos a, -cos e sin a, sin e)`` -- azimuth grows clockwise seen from above, hence
  the minus sign on ``y``. World ray = ``R @ d`` with
  ``R = R_ground_from_camera = Rz(yaw) @ Ry(pitch) @ Rx(roll)`` (degrees, right-handed
  rotations: positive yaw turns forward to the left (+y), positive pitch tilts forward DOWN,
  positive roll is about +x).
* Calibrated pinhole camera: OpenCV convention ``x_cam = R @ X_world + t`` (camera axes x
  right, y down, z forward), ``K`` 3x3 with OpenCV pixel coordinates (pixel centres at
  integers, i.e. ``x_opencv = x - 0.5``), distortion ``(k1, k2, p1, p2[, k3])``.
* Rays are directions from the camera centre, in the ground frame, shape ``(N, 3)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from core.errors import UserError
from mplt.geometry.boxes import BoxSpace, as_boxes
from mplt.geometry.calibration import (
    as_matrix,
    check_dist,
    check_K,
    check_R,
    check_size,
    load_mapping,
    pinhole_kwargs,
)

#: How far inside a box edge a probe point lies, px: surely in the box's own view cell.
_INSIDE_PX = 0.5

# OpenCV camera axes (x right, y down, z forward) written in the frame of a level camera that
# looks along +x of the ground frame: the columns are the ground-frame images of the cv axes.
CV_TO_RIG = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


def points(values: object, dim: int, name: str = "uv") -> np.ndarray:
    """``values`` as a float64 ``(N, dim)`` array (N may be 0) or raise ValueError."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        arr = arr.reshape(0, dim)
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"{name} must have shape (N, {dim}), got {arr.shape}")
    return arr


def rotations(yaw_deg: object, pitch_deg: object, roll_deg: object) -> np.ndarray:
    """Vectorised :func:`rotation_matrix`: broadcastable angle arrays -> ``(..., 3, 3)``."""
    y, p, r = np.broadcast_arrays(
        *(np.radians(np.asarray(a, float)) for a in (yaw_deg, pitch_deg, roll_deg))
    )
    cy, sy, cp, sp, cr, sr = np.cos(y), np.sin(y), np.cos(p), np.sin(p), np.cos(r), np.sin(r)
    # Rz(yaw) @ Ry(pitch) @ Rx(roll), multiplied out.
    return np.stack(
        [
            np.stack([cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr], -1),
            np.stack([sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr], -1),
            np.stack([-sp, cp * sr, cp * cr], -1),
        ],
        -2,
    )


def rotation_matrix(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """``R_ground_from_camera = Rz(yaw) @ Ry(pitch) @ Rx(roll)`` (degrees) -> ``(3, 3)``."""
    return rotations(yaw_deg, pitch_deg, roll_deg)


def rows(m: np.ndarray, rays: np.ndarray) -> np.ndarray:
    """``(3, N)`` rows x, y, z of ``m @ ray`` for each ``(N, 3)`` ray.

    ``np.dot`` with the rays transposed takes the BLAS path; ``rays @ m.T`` is ~20x slower
    for large N in numpy 2, which matters for remap tables of 10^5..10^6 rays.
    """
    return np.dot(m, rays.T)


def _unit_rows(v: np.ndarray) -> np.ndarray:
    """``(3, N)`` rows -> ``(N, 3)`` unit rays (NaN for zero vectors)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (v / np.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])).T


def ray_to_azel(rays: np.ndarray) -> np.ndarray:
    """Rays ``(N, 3)`` (need not be unit) -> ``(N, 2)`` azimuth in [-180, 180), elevation, degrees.

    The angles are those of the frame the rays are given in (the ground frame for the rays
    the cameras return).
    """
    x, y, z = points(rays, 3, "rays").T
    az = np.degrees(np.arctan2(-y, x)) + 0.0  # + 0.0: no negative zero
    az[az >= 180.0] -= 360.0
    return np.stack([az, np.degrees(np.arctan2(z, np.sqrt(x * x + y * y)))], 1)


@runtime_checkable
class Camera(Protocol):
    """What every camera model offers; see the module docstring for the frames.

    ``kind`` names the model as ``summary.json`` records it (``equirect``, ``pinhole``,
    ``multiview``, ``image``); ``has_ground`` is False for a camera whose rays are nominal (an
    uncalibrated image), which gives neither ground positions nor directions.
    """

    kind: str
    has_ground: bool
    width: int  #: image width, px
    height: int  #: image height, px
    box_space: BoxSpace  #: the box arithmetic of this camera's image (seam-aware on a panorama)
    x_period: float | None  #: W for a full panorama (columns wrap), None otherwise
    camera_height: float | None  #: metres above the ground plane; None = unknown

    def pixel_to_ray(self, uv: np.ndarray) -> np.ndarray:
        """uv ``(N, 2)`` continuous pixels -> ``(N, 3)`` unit rays in the ground frame."""
        ...

    def ray_to_pixel(self, rays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ground-frame rays ``(N, 3)`` -> uv ``(N, 2)``, valid ``(N,)`` bool."""
        ...

    def center(self) -> np.ndarray:
        """``(3,)`` camera centre in the ground frame; z is NaN when the height is unknown."""
        ...

    def cut_off(self, boxes: np.ndarray, margin_px: float) -> tuple[np.ndarray, np.ndarray]:
        """Whether an image edge cuts each box's top / bottom off: ``(N,)`` bool each.

        Args:
            boxes: ``(N, 4)`` xyxy pixels.
            margin_px: a box edge this close to an image edge (or beyond it) is cut off.
        """
        ...


class CameraBase:
    """What the camera models share: the box space, its period, and the image's edges.

    Subclasses set ``kind`` (and ``has_ground`` when False), ``width``, ``height`` and
    ``box_space`` (a :class:`BoxSpace` with the panorama width, or a flat one).
    """

    kind: ClassVar[str]
    has_ground: ClassVar[bool] = True
    width: int
    height: int
    box_space: BoxSpace

    @property
    def x_period(self) -> float | None:
        """W for a full panorama (columns wrap), None otherwise."""
        return self.box_space.period

    def cut_off(self, boxes: np.ndarray, margin_px: float) -> tuple[np.ndarray, np.ndarray]:
        """See :meth:`Camera.cut_off`; here the edges of the whole image (none at the seam)."""
        touch = self.box_space.touches_edge(boxes, margin_px)
        return touch[:, 1], touch[:, 3]


#: Width / height of the frames accepted as a full 360 x 180 sphere: from 16:9 to 2:1.
EQUIRECT_ASPECT = (1.75, 2.0)


def _check_height(camera_height: float | None) -> float | None:
    if camera_height is None:
        return None
    h = float(camera_height)
    if not np.isfinite(h) or h <= 0:
        raise UserError(
            f"camera height is {camera_height}; give the height of the camera "
            "above the ground in metres (> 0), or leave it unset if unknown"
        )
    return h


class Equirectangular(CameraBase):
    """Full 360 x 180 degree equirectangular panorama, camera at the origin.

    ``W = 2H`` (square angular pixels), or a full sphere squeezed into 16:9 (``W / H`` from
    :data:`EQUIRECT_ASPECT`), whose horizontal and vertical angular scales differ.

    Attributes:
        rotation: ``(3, 3)`` ``R_ground_from_camera`` built from yaw/pitch/roll (degrees).
    """

    kind = "equirect"

    def __init__(
        self,
        width: int,
        height: int,
        camera_height: float | None = None,
        yaw_deg: float = 0.0,
        pitch_deg: float = 0.0,
        roll_deg: float = 0.0,
    ) -> None:
        lo, hi = EQUIRECT_ASPECT
        if height <= 0 or not lo <= width / height <= hi:
            raise UserError(
                f"frame is {width}x{height}, equirectangular needs 2:1 (width = 2 x height, "
                "or a full 360x180 sphere squeezed into 16:9); use a full panorama or a "
                "pinhole camera file"
            )
        self.width, self.height = int(width), int(height)
        self.box_space = BoxSpace(float(width), (width, height))
        self.camera_height = _check_height(camera_height)
        self.yaw_deg, self.pitch_deg, self.roll_deg = (
            float(yaw_deg),
            float(pitch_deg),
            float(roll_deg),
        )
        self.rotation = rotation_matrix(yaw_deg, pitch_deg, roll_deg)

    def __repr__(self) -> str:
        return (
            f"Equirectangular({self.width}x{self.height}, camera_height="
            f"{self.camera_height}, ypr=({self.yaw_deg}, {self.pitch_deg}, "
            f"{self.roll_deg}))"
        )

    def pixel_to_azel(self, uv: np.ndarray) -> np.ndarray:
        """uv ``(N, 2)`` -> ``(N, 2)`` azimuth in [-180, 180), elevation, degrees, CAMERA frame."""
        uv = points(uv, 2)
        az = np.mod(uv[:, 0] / self.width * 360.0, 360.0) - 180.0
        return np.stack([az, 90.0 - uv[:, 1] / self.height * 180.0], 1)

    def azel_to_pixel(self, azel: np.ndarray) -> np.ndarray:
        """Camera-frame azimuth/elevation ``(N, 2)`` degrees -> uv ``(N, 2)``, u in [0, W)."""
        azel = points(azel, 2, "azel")
        u = np.mod((azel[:, 0] + 180.0) / 360.0 * self.width, self.width)
        u[u >= self.width] = 0.0  # mod of a tiny negative number can round up to W
        return np.stack([u, (90.0 - azel[:, 1]) / 180.0 * self.height], 1)

    def pixel_to_ray(self, uv: np.ndarray) -> np.ndarray:
        uv = points(uv, 2)
        a = uv[:, 0] * (2 * np.pi / self.width)  # az + pi: cos and sin change sign
        e = (0.5 - uv[:, 1] / self.height) * np.pi
        ce = np.cos(e)
        d = np.stack([-ce * np.cos(a), ce * np.sin(a), np.sin(e)])  # (3, N) camera frame
        return np.dot(self.rotation, d).T

    def ray_to_pixel(self, rays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y, z = rows(self.rotation.T, points(rays, 3, "rays"))
        horiz = np.sqrt(x * x + y * y)
        u = (np.arctan2(-y, x) + np.pi) * (self.width / (2 * np.pi))
        u[u >= self.width] = 0.0  # arctan2 = +pi is the seam, x = 0
        v = (0.5 * np.pi - np.arctan2(z, horiz)) * (self.height / np.pi)
        valid = np.isfinite(u) & np.isfinite(v) & ((horiz > 0) | (z != 0))
        return np.stack([u, v]).T, valid  # an (N, 2) view of (2, N): columns stay contiguous

    def center(self) -> np.ndarray:
        return np.array([0.0, 0.0, np.nan if self.camera_height is None else self.camera_height])


def distort(x: np.ndarray, y: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV radial-tangential model on normalised coordinates; ``d = (k1, k2, p1, p2, k3)``."""
    k1, k2, p1, p2, k3 = d
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    return (
        x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x),
        y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y,
    )


def undistort(xd: np.ndarray, yd: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Invert :func:`distort`: OpenCV's fixed-point iteration (at most 20 steps), then Newton.

    The fixed-point iteration converges slowly near the image corners of strongly distorted
    lenses; when it has not settled after 20 steps, two Newton steps finish the job.
    """
    if not np.any(d):
        return xd, yd
    k1, k2, p1, p2, k3 = d
    x, y = xd.copy(), yd.copy()
    for _ in range(20):
        r2 = x * x + y * y
        radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        x_new = (xd - 2 * p1 * x * y - p2 * (r2 + 2 * x * x)) / radial
        y_new = (yd - p1 * (r2 + 2 * y * y) - 2 * p2 * x * y) / radial
        step = np.abs(x_new - x) + np.abs(y_new - y)
        x, y = x_new, y_new
        if not step.size or step.max() < 1e-14:  # NaN steps never settle: they fall through
            return x, y
    for _ in range(2):
        r2 = x * x + y * y
        radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        g = 2.0 * (k1 + r2 * (2 * k2 + 3 * k3 * r2))  # 2 * d(radial)/d(r2)
        ex, ey = distort(x, y, d)
        ex, ey = ex - xd, ey - yd
        a = radial + x * x * g + 2 * p1 * y + 6 * p2 * x
        b = x * y * g + 2 * p1 * x + 2 * p2 * y  # the Jacobian is symmetric
        e = radial + y * y * g + 6 * p1 * y + 2 * p2 * x
        det = a * e - b * b
        x, y = x - (e * ex - b * ey) / det, y - (a * ey - b * ex) / det
    return x, y


class Pinhole(CameraBase):
    """Calibrated pinhole camera with OpenCV distortion; the ground frame is its world frame.

    Args:
        width, height: image size, px.
        K: ``(3, 3)`` intrinsics (OpenCV pixel convention, see the module docstring).
        dist: ``(k1, k2, p1, p2[, k3])`` or None for no distortion.
        R: ``(3, 3)`` world-to-camera rotation. None: a level camera looking along world +x.
        t: ``(3,)`` translation, ``x_cam = R @ X + t``. None: the centre is above the world
            origin at an unknown height (ground positions then come from the height prior).
    """

    kind = "pinhole"

    def __init__(
        self,
        width: int,
        height: int,
        K: object,
        dist: object = None,
        R: object = None,
        t: object = None,
    ) -> None:
        self.width, self.height = check_size(width, height)
        self.K = check_K(K)
        self.dist = check_dist(dist)
        self.rotation = CV_TO_RIG.T if R is None else check_R(R)
        self.t = None if t is None else as_matrix(t, (3,), "t", "3 numbers (metres)")
        self.K_inv = np.linalg.inv(self.K)
        self.box_space = BoxSpace(size=(self.width, self.height))

    @classmethod
    def from_file(cls, path: str | Path) -> Pinhole:
        """Load a calibration from YAML or JSON.

        Keys: ``width``, ``height`` (px), ``K`` (3x3), optional ``dist`` (4 or 5 numbers),
        ``R`` (3x3) or ``rvec`` (Rodrigues, 3), ``t`` or ``tvec`` (3, metres). OpenCV's
        FileStorage YAML (``%YAML:1.0``, ``!!opencv-matrix``, ``camera_matrix``,
        ``distortion_coefficients``, ``image_width``, ``image_height``) is read as well.

        Raises:
            UserError: unreadable file, or a missing or invalid key (named in the message).
        """
        data = load_mapping(Path(path))
        try:
            return cls(**pinhole_kwargs(data))
        except UserError as exc:
            raise UserError(f"{path}: {exc}") from None

    def __repr__(self) -> str:
        name = type(self).__name__  # also an ImageCamera's
        return f"{name}({self.width}x{self.height}, camera_height={self.camera_height})"

    @property
    def camera_height(self) -> float | None:
        """z of the camera centre in the world frame, metres; None when t is unknown."""
        return None if self.t is None else float(self.center()[2])

    def center(self) -> np.ndarray:
        if self.t is None:
            return np.array([0.0, 0.0, np.nan])
        return -self.rotation.T @ self.t

    def pixel_to_ray(self, uv: np.ndarray) -> np.ndarray:
        uv = points(uv, 2)
        h = rows(self.K_inv, np.column_stack([uv - 0.5, np.ones(len(uv))]))
        x, y = undistort(h[0] / h[2], h[1] / h[2], self.dist)
        return _unit_rows(rows(self.rotation.T, np.column_stack([x, y, np.ones_like(x)])))

    def ray_to_pixel(self, rays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points behind the camera are still projected (mirrored) but flagged invalid."""
        cx, cy, cz = rows(self.rotation, points(rays, 3, "rays"))
        with np.errstate(divide="ignore", invalid="ignore"):
            x, y = distort(cx / cz, cy / cz, self.dist)
        (k00, k01, k02), (_, k11, k12) = self.K[:2]
        u, v = k00 * x + k01 * y + k02 + 0.5, k11 * y + k12 + 0.5
        return np.stack([u, v]).T, np.isfinite(u) & np.isfinite(v) & (cz > 0)


def nominal_intrinsics(width: int, height: int) -> np.ndarray:
    """``(3, 3)`` K of a nominal lens for a ``width x height`` image: 60 deg horizontal field of
    view, principal point at the centre (OpenCV pixel convention)."""
    focal = width / (2.0 * np.tan(np.radians(30.0)))
    return np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]])


class ImageCamera(Pinhole):
    """An uncalibrated perspective image: a level pinhole with :func:`nominal_intrinsics`.

    Its rays are good enough to rectify person crops but are not real directions, so it gives
    no ground positions and no azimuths (``has_ground`` is False): tracking stays in the image.
    """

    kind = "image"
    has_ground = False

    def __init__(self, width: int, height: int) -> None:
        super().__init__(width, height, nominal_intrinsics(width, height))


class NominalPinhole(Pinhole):
    """An uncalibrated perspective camera placed from what is known of it: the
    :func:`nominal_intrinsics` lens, ``camera_height`` metres above the ground, pitched down by
    ``pitch_deg`` and rolled by ``roll_deg`` (the conventions of :func:`rotation_matrix`; yaw
    0: the ground frame's +x is the view's forward direction). What ``camera.height_m: auto``
    makes of an ordinary video (:class:`mplt.selfcal.PerspectivePoseEstimator`), or
    ``camera.model: nominal`` with a height and pitch given. Distances along the view scale
    with the true focal length over the nominal one.
    """

    kind = "nominal"

    def __init__(
        self,
        width: int,
        height: int,
        camera_height: float,
        pitch_deg: float = 0.0,
        roll_deg: float = 0.0,
    ) -> None:
        checked = _check_height(camera_height)
        if checked is None:
            raise UserError("a nominal camera needs its height; give camera.height_m in metres")
        self.pitch_deg, self.roll_deg = float(pitch_deg), float(roll_deg)
        R = (rotation_matrix(0.0, pitch_deg, roll_deg) @ CV_TO_RIG).T  # world -> OpenCV
        t = -R @ np.array([0.0, 0.0, checked])
        super().__init__(width, height, nominal_intrinsics(width, height), None, R, t)

    def __repr__(self) -> str:
        return (
            f"NominalPinhole({self.width}x{self.height}, camera_height={self.camera_height:.3f}, "
            f"pitch={self.pitch_deg}, roll={self.roll_deg})"
        )


@dataclass(frozen=True)
class View:
    """One perspective view stored in a cell of a :class:`MultiView` mosaic.

    The upright view image is ``np.rot90(cell, rot90)``, then ``np.fliplr`` when ``mirror``
    (MPLT stores its back view rotated). The intrinsics are those of the upright image in
    continuous pixels (``cx = w / 2`` is the centre); the view looks along ``yaw_deg``,
    ``pitch_deg`` of the ground frame (conventions of :func:`rotation_matrix`, no roll).
    """

    name: str
    x0: int  #: left of the cell in the mosaic, px
    y0: int  #: top of the cell in the mosaic, px
    w: int  #: cell width in the mosaic, px
    h: int  #: cell height in the mosaic, px
    yaw_deg: float
    pitch_deg: float
    fx: float
    fy: float
    cx: float
    cy: float
    rot90: int = 0
    mirror: bool = False

    @property
    def upright_size(self) -> tuple[int, int]:
        """(width, height) of the upright view image, px."""
        return (self.h, self.w) if self.rot90 % 2 else (self.w, self.h)

    def cell_to_upright(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cell-local continuous coordinates -> upright view coordinates."""
        w, h = self.w, self.h
        for _ in range(self.rot90 % 4):  # one np.rot90 (counter-clockwise) step
            x, y, w, h = y, w - x, h, w
        return (w - x if self.mirror else x), y

    def upright_to_cell(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of :meth:`cell_to_upright`."""
        w, h = self.upright_size
        if self.mirror:
            x = w - x
        for _ in range(self.rot90 % 4):
            x, y, w, h = h - y, x, h, w
        return x, y


class MultiView(CameraBase):
    """A mosaic of perspective views around one centre (MPLT's input format, seeds.md 1.b).

    Pixels outside every view map to NaN rays; rays seen by no view project to NaN pixels
    with ``valid = False``; a ray seen by several views goes to the one it is most central in.
    """

    kind = "multiview"

    def __init__(
        self, width: int, height: int, views: Sequence[View], camera_height: float | None = None
    ) -> None:
        if not views:
            raise UserError("a multi-view camera needs at least one view; list the views")
        for v in views:
            if v.x0 < 0 or v.y0 < 0 or v.x0 + v.w > width or v.y0 + v.h > height:
                raise UserError(
                    f"view {v.name!r} ({v.w}x{v.h} at {v.x0},{v.y0}) lies outside "
                    f"the {width}x{height} mosaic; fix its cell"
                )
        self.width, self.height = int(width), int(height)
        self.views = list(views)
        self.box_space = BoxSpace()
        self.camera_height = _check_height(camera_height)
        # ground_from_view rotations (OpenCV view axes), one per view
        self._rot = [rotation_matrix(v.yaw_deg, v.pitch_deg, 0.0) @ CV_TO_RIG for v in views]

    @classmethod
    def mplt_mosaic(cls, camera_height: float | None = None) -> MultiView:
        """MPLT's 2x3 mosaic, 2400x1024: top row left | front | right, bottom-middle back.

        Views are 800x512, f = 500 px, principal point at the centre, level; yaw +90 (left),
        0 (front), -90 (right), 180 (back). The bottom-left and bottom-right cells are empty.
        """
        w, h, f = 800, 512, 500.0
        cells = [
            ("left", 0, 0, 90.0),
            ("front", 1, 0, 0.0),
            ("right", 2, 0, -90.0),
            ("back", 1, 1, 180.0),
        ]
        views = [
            View(n, c * w, r * h, w, h, yaw, 0.0, f, f, w / 2, h / 2) for n, c, r, yaw in cells
        ]
        return cls(3 * w, 2 * h, views, camera_height)

    def __repr__(self) -> str:
        return (
            f"MultiView({self.width}x{self.height}, views={[v.name for v in self.views]}, "
            f"camera_height={self.camera_height})"
        )

    def view_index(self, uv: np.ndarray) -> np.ndarray:
        """uv ``(N, 2)`` -> ``(N,)`` int64 index into ``views`` of the cell it lies in, or -1.

        Cells are half-open (``[x0, x0 + w)``); a point on a right or bottom border that no
        other cell claims (e.g. the mosaic's own border) belongs to the cell it borders.
        """
        x, y = points(uv, 2).T
        index = np.full(len(x), -1, np.int64)
        for closed in (False, True):
            for i, v in enumerate(self.views):
                if closed:
                    inside = (x <= v.x0 + v.w) & (y <= v.y0 + v.h)
                else:
                    inside = (x < v.x0 + v.w) & (y < v.y0 + v.h)
                index[inside & (x >= v.x0) & (y >= v.y0) & (index < 0)] = i
        return index

    def cut_off(self, boxes: np.ndarray, margin_px: float) -> tuple[np.ndarray, np.ndarray]:
        """See :meth:`Camera.cut_off`; each view's cell has edges inside the mosaic too.

        A box's top (bottom) is cut off there when a point just inside it and one ``margin_px``
        beyond it, on the box's centre column, lie in different cells (or outside every cell).
        """
        top, bottom = super().cut_off(boxes, margin_px)
        b = as_boxes(boxes)
        xc = 0.5 * (b[:, 0] + b[:, 2])
        ys = [b[:, 1] + _INSIDE_PX, b[:, 1] - margin_px, b[:, 3] - _INSIDE_PX, b[:, 3] + margin_px]
        idx = self.view_index(np.column_stack([np.tile(xc, 4), np.concatenate(ys)]))
        idx = idx.reshape(4, -1)
        return top | (idx[0] != idx[1]), bottom | (idx[2] != idx[3])

    def pixel_to_ray(self, uv: np.ndarray) -> np.ndarray:
        uv = points(uv, 2)
        index = self.view_index(uv)
        rays = np.full((len(uv), 3), np.nan)
        for i, v in enumerate(self.views):
            sel = index == i
            x, y = v.cell_to_upright(uv[sel, 0] - v.x0, uv[sel, 1] - v.y0)
            d = np.column_stack([(x - v.cx) / v.fx, (y - v.cy) / v.fy, np.ones_like(x)])
            rays[sel] = _unit_rows(rows(self._rot[i], d))
        return rays

    def ray_to_pixel(self, rays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rays = _unit_rows(points(rays, 3, "rays").T)
        uv = np.full((len(rays), 2), np.nan)
        best = np.full(len(rays), -np.inf)  # cosine to the optical axis of the chosen view
        for i, v in enumerate(self.views):
            c = rows(self._rot[i].T, rays).T
            with np.errstate(divide="ignore", invalid="ignore"):
                x, y = v.cx + v.fx * c[:, 0] / c[:, 2], v.cy + v.fy * c[:, 1] / c[:, 2]
            wu, hu = v.upright_size
            # A hair of tolerance keeps rays through the cell's own border in; the result is
            # then clipped inside the half-open cell so that pixel_to_ray finds this view.
            tol = 1e-6
            take = (c[:, 2] > best) & (x >= -tol) & (x <= wu + tol) & (y >= -tol) & (y <= hu + tol)
            xc, yc = v.upright_to_cell(x[take], y[take])
            uv[take] = np.column_stack(
                [np.clip(xc, 0, v.w * (1 - 1e-12)) + v.x0, np.clip(yc, 0, v.h * (1 - 1e-12)) + v.y0]
            )
            best[take] = c[take, 2]
        return uv, np.isfinite(best)

    def center(self) -> np.ndarray:
        return np.array([0.0, 0.0, np.nan if self.camera_height is None else self.camera_height])


def ray_to_ground(
    origin: np.ndarray, rays: np.ndarray, z: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Intersect rays from ``origin`` ``(3,)`` with the plane ``z``.

    Returns:
        xy ``(N, 2)`` metres (NaN where invalid) and valid ``(N,)``: the ray hits the plane in
        front of the origin.
    """
    o = np.asarray(origin, np.float64).reshape(3)
    r = points(rays, 3, "rays")
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (z - o[2]) / r[:, 2]
        valid = np.isfinite(s) & (s > 0)
        xy = np.where(valid[:, None], o[:2] + s[:, None] * r[:, :2], np.nan)
    return xy, valid & np.isfinite(xy).all(1)


def _require_height(camera: Camera) -> np.ndarray:
    if camera.camera_height is None:
        raise UserError(
            "the camera height is unknown; set the camera height above the ground "
            "(metres) in the camera config to get ground positions"
        )
    return camera.center()


def pixel_to_ground(
    camera: Camera, uv: np.ndarray, z: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Pixels ``(N, 2)`` -> ground-frame ``xy (N, 2)`` on the plane ``z``, valid ``(N,)``.

    Raises:
        UserError: the camera height is unknown.
    """
    origin = _require_height(camera)
    return ray_to_ground(origin, camera.pixel_to_ray(uv), z)


def ground_to_pixel(camera: Camera, xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ground-frame points ``(N, 3)`` metres -> uv ``(N, 2)``, valid ``(N,)``.

    Raises:
        UserError: the camera height is unknown.
    """
    origin = _require_height(camera)
    rays = points(xyz, 3, "xyz") - origin
    uv, valid = camera.ray_to_pixel(rays)
    return uv, valid & (np.abs(rays).sum(1) > 0)


def box_centre_azel(camera: Camera, boxes: np.ndarray) -> np.ndarray:
    """Ground-frame azimuth in [-180, 180) and elevation, degrees, of each box's centre.

    Args:
        camera: the camera of the boxes.
        boxes: ``(N, 4)`` xyxy pixels (seam-unwrapped on a panorama: the centre is wrapped).

    Returns:
        ``(N, 2)`` float64; NaN for a camera without real directions (``has_ground`` False).
    """
    b = as_boxes(boxes)
    if not camera.has_ground:
        return np.full((len(b), 2), np.nan)
    centres = np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], 1)
    centres[:, 0] = camera.box_space.wrap_x(centres[:, 0])
    return ray_to_azel(camera.pixel_to_ray(centres))
