"""Perspective views into any camera: sampling maps for ``cv2.remap`` and box transfer.

Only the maps are computed here (numpy); the caller applies them, e.g.
``cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=border)`` with
``border = cv2.BORDER_WRAP`` for a panorama (``camera.x_period`` set) and
``cv2.BORDER_CONSTANT`` otherwise. Map values follow ``cv2.remap``: source pixel *indices*
(pixel centres at integers), i.e. our continuous coordinate minus 0.5. Samples no view of
the camera sees (behind a pinhole camera, outside every view of a mosaic) get -1.
Frames and pixel conventions: :mod:`mplt.geometry.camera`.
"""

from __future__ import annotations

import warnings

import numpy as np

from mplt.geometry.boxes import as_boxes, wrap_boxes
from mplt.geometry.camera import CV_TO_RIG, Camera, points, rotations, rows


def _yaw_pitch(forward: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Yaw/pitch (degrees, conventions of ``rotation_matrix``) of ground-frame directions."""
    yaw = np.degrees(np.arctan2(forward[..., 1], forward[..., 0]))
    horiz = np.sqrt(forward[..., 0] ** 2 + forward[..., 1] ** 2)
    pitch = -np.degrees(np.arctan2(forward[..., 2], horiz))
    return yaw, pitch


def _upright_rotations(forward: np.ndarray) -> np.ndarray:
    """``(N, 3, 3)`` ground_from_view rotations (OpenCV view axes) looking along ``forward``.

    No roll: the view's x axis stays horizontal, so its up axis is world z projected
    orthogonal to the view direction. Built from yaw/pitch rather than cross products so that
    a direction at the zenith or nadir still gives a rotation (not NaN).
    """
    yaw, pitch = _yaw_pitch(forward)
    return rotations(yaw, pitch, 0.0) @ CV_TO_RIG


class PerspectiveView:
    """A virtual pinhole camera at the camera centre, square pixels, no distortion.

    Args:
        yaw_deg, pitch_deg: viewing direction in the GROUND frame (positive yaw = left,
            positive pitch = down, as in :func:`mplt.geometry.rotation_matrix`); no roll.
        hfov_deg: horizontal field of view, degrees in (0, 180).
        width, height: view image size, px; the principal point is the centre.
    """

    def __init__(
        self, yaw_deg: float, pitch_deg: float, hfov_deg: float, width: int, height: int
    ) -> None:
        if not 0 < hfov_deg < 180 or width <= 0 or height <= 0:
            raise ValueError(
                f"need 0 < hfov_deg < 180 and a positive size, got {hfov_deg}, {width}x{height}"
            )
        self.yaw_deg, self.pitch_deg, self.hfov_deg = (
            float(yaw_deg),
            float(pitch_deg),
            float(hfov_deg),
        )
        self.width, self.height = int(width), int(height)
        self.f = 0.5 * width / np.tan(np.radians(hfov_deg) / 2)
        self.cx, self.cy = width / 2, height / 2
        self.rotation = rotations(yaw_deg, pitch_deg, 0.0) @ CV_TO_RIG  # ground_from_view
        self.x_period: float | None = None
        self.camera_height: float | None = None

    def __repr__(self) -> str:
        return (
            f"PerspectiveView(yaw={self.yaw_deg}, pitch={self.pitch_deg}, "
            f"hfov={self.hfov_deg}, {self.width}x{self.height})"
        )

    def pixel_to_ray(self, uv: np.ndarray) -> np.ndarray:
        """uv ``(N, 2)`` continuous view pixels -> ``(N, 3)`` unit rays, ground frame."""
        uv = points(uv, 2)
        d = np.column_stack([(uv - [self.cx, self.cy]) / self.f, np.ones(len(uv))])
        return rows(self.rotation, d / np.linalg.norm(d, axis=1, keepdims=True)).T

    def ray_to_pixel(self, rays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ground-frame rays ``(N, 3)`` -> uv ``(N, 2)``, valid ``(N,)`` (in front of the view)."""
        x, y, z = rows(self.rotation.T, points(rays, 3, "rays"))
        with np.errstate(divide="ignore", invalid="ignore"):
            u, v = self.cx + self.f * x / z, self.cy + self.f * y / z
        return np.stack([u, v]).T, (z > 0) & np.isfinite(u) & np.isfinite(v)

    def center(self) -> np.ndarray:
        """The view has no pose of its own: ``(0, 0, NaN)``."""
        return np.array([0.0, 0.0, np.nan])


def _pixel_grid(width: int, height: int) -> np.ndarray:
    """``(height * width, 2)`` continuous pixel centres, row-major."""
    u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    return np.column_stack([u.ravel(), v.ravel()])


def _rays_to_maps(
    camera: Camera, rays: np.ndarray, shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    uv, valid = camera.ray_to_pixel(rays)
    # continuous coordinates -> cv2.remap pixel indices; unseen samples -> -1
    map_x = np.where(valid, uv[:, 0] - 0.5, -1.0).astype(np.float32).reshape(shape)
    map_y = np.where(valid, uv[:, 1] - 0.5, -1.0).astype(np.float32).reshape(shape)
    if camera.x_period is not None:
        period = np.float32(camera.x_period)
        map_x = np.mod(map_x, period)
        map_x[map_x >= period] -= period  # float32 rounding of a tiny negative value
        # rows stay inside the image so that BORDER_WRAP cannot wrap them vertically
        np.clip(map_y, 0, camera.height - 1, out=map_y)
    return map_x, map_y


def view_maps(camera: Camera, view: PerspectiveView) -> tuple[np.ndarray, np.ndarray]:
    """Source pixel of ``camera``'s image for every pixel of ``view``.

    Returns:
        map_x, map_y: ``(view.height, view.width)`` float32, ``cv2.remap`` convention (see the
        module docstring); ``map_x`` in ``[0, W)`` for a panorama.
    """
    rays = view.pixel_to_ray(_pixel_grid(view.width, view.height))
    return _rays_to_maps(camera, rays, (view.height, view.width))


def _outline(boxes: np.ndarray, per_edge: int = 8) -> np.ndarray:
    """``(N, 4 * per_edge, 2)`` points along each box's outline, corners included."""
    t = np.linspace(0.0, 1.0, per_edge)
    x1, y1, x2, y2 = (boxes[:, i, None] for i in range(4))
    xs, ys = x1 + t * (x2 - x1), y1 + t * (y2 - y1)
    one = np.ones_like(t)
    x = np.concatenate([xs, xs, x1 * one, x2 * one], 1)
    y = np.concatenate([y1 * one, y2 * one, ys, ys], 1)
    return np.stack([x, y], -1)


#: Crop maps are projected exactly on a grid of every _NODE_STEP-th pixel and interpolated
#: bilinearly in between (15x fewer rays); a crop whose estimated interpolation error exceeds
#: _MAX_INTERP_ERROR_PX (near a pole, a wide field of view) is projected at every pixel. The
#: limit is below the 1/32 px to which cv2.remap rounds its sampling positions.
_NODE_STEP = 4
_MAX_INTERP_ERROR_PX = 0.02


def _crop_views(
    camera: Camera, boxes: np.ndarray, h: int, margin: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(N, 3, 3)`` upright rotations and ``(N,)`` focal lengths of the crops of ``boxes``."""
    n = len(boxes)
    centres = np.column_stack(
        [0.5 * (boxes[:, 0] + boxes[:, 2]), 0.5 * (boxes[:, 1] + boxes[:, 3])]
    )
    rot = _upright_rotations(camera.pixel_to_ray(centres))  # (N, 3, 3)
    outline = _outline(boxes)
    rays = camera.pixel_to_ray(outline.reshape(-1, 2)).reshape(n, -1, 3)
    c = np.einsum("nsk,nkj->nsj", rays, rot)  # outline in each crop's view frame
    with np.errstate(divide="ignore", invalid="ignore"):
        half = np.where(c[..., 2] > 1e-6, np.abs(np.arctan2(c[..., 1], c[..., 2])), 0.0)
    half = np.nan_to_num(np.nanmax(half, axis=1))
    # Cap below 90 deg (a box spanning the whole view); floor for degenerate boxes.
    half = np.clip(half * (1.0 + margin), 1e-4, np.radians(85.0))
    return rot, 0.5 * h / np.tan(half)


def _crop_rays(rot: np.ndarray, f: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``(N * len(v) * len(u), 3)`` ground rays of crop pixels at offsets ``u`` (columns) and
    ``v`` (rows) from each crop's centre, row-major per crop."""
    n = len(rot)
    gx = np.broadcast_to(u[None, :], (len(v), len(u))).ravel() / f[:, None]
    gy = np.broadcast_to(v[:, None], (len(v), len(u))).ravel() / f[:, None]
    # ray = R_n @ (gx, gy, 1), row by row: elementwise products beat a batched matmul here
    rays = np.empty((3, n, gx.shape[1]))
    for k in range(3):
        rays[k] = rot[:, k, 0, None] * gx + rot[:, k, 1, None] * gy + rot[:, k, 2, None]
    return rays.reshape(3, -1).T


def _interpolation(size: int, step: int) -> np.ndarray:
    """``(size, nodes)`` bilinear weights of pixels 0..size-1 on nodes at every ``step``-th."""
    nodes = -(-(size - 1) // step) + 1
    j = np.arange(size)
    k, t = j // step, (j % step) / step
    weights = np.zeros((size, nodes))
    weights[j, k] = 1.0 - t
    weights[j[t > 0], k[t > 0] + 1] = t[t > 0]
    return weights


def rectified_crop_maps(
    camera: Camera, boxes: np.ndarray, out_hw: tuple[int, int] = (128, 64), margin: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """Maps for upright perspective crops of people, one per box (for re-ID).

    Each crop is a virtual pinhole at the camera centre looking along the ray of the box
    centre, with the world z axis up (no roll), square pixels, and a vertical field of view
    of the box's angular extent times ``1 + margin``; the horizontal field follows from the
    aspect of ``out_hw``. Pixels are projected exactly on a coarse grid and interpolated
    between (within ``_MAX_INTERP_ERROR_PX`` of the exact projection).

    Args:
        camera: the camera the boxes come from.
        boxes: ``(N, 4)`` xyxy pixels (seam-unwrapped on a panorama).
        out_hw: crop (height, width), px.
        margin: relative enlargement of the vertical angular extent.

    Returns:
        map_x, map_y: ``(N, h, w)`` float32 in ``cv2.remap`` convention; ``map_x`` in
        ``[0, W)`` for a panorama. N = 0 gives ``(0, h, w)``.
    """
    boxes = as_boxes(boxes)
    h, w = int(out_hw[0]), int(out_hw[1])
    n = len(boxes)
    if n == 0:
        return np.zeros((0, h, w), np.float32), np.zeros((0, h, w), np.float32)
    rot, f = _crop_views(camera, boxes, h, margin)
    s = _NODE_STEP
    wy, wx = _interpolation(h, s), _interpolation(w, s)
    nu, nv = wx.shape[1], wy.shape[1]
    uv, valid = camera.ray_to_pixel(
        _crop_rays(rot, f, np.arange(nu) * s + 0.5 - 0.5 * w, np.arange(nv) * s + 0.5 - 0.5 * h)
    )
    nodes = uv.T.reshape(2, n, nv, nu).copy()
    period = camera.x_period
    if period is not None:
        # unwrap the columns around each crop's first node so that the seam interpolates
        first = nodes[0, :, :1, :1]
        nodes[0] = first + np.mod(nodes[0] - first + 0.5 * period, period) - 0.5 * period
    # Bilinear interpolation is off by about 1/8 of the second differences along each axis.
    second = [np.abs(np.diff(nodes, 2, axis=a)).max(axis=(0, 2, 3)) for a in (2, 3)]
    error = (second[0] + second[1]) / 8.0 if min(nu, nv) > 2 else np.full(n, np.inf)
    coarse = valid.reshape(n, nv, nu).all(axis=(1, 2)) & (error <= _MAX_INTERP_ERROR_PX)
    # continuous coordinates -> cv2.remap pixel indices
    map_x, map_y = (wy @ nodes @ wx.T - 0.5).astype(np.float32)
    if not coarse.all():
        u = np.arange(w) + 0.5 - 0.5 * w
        v = np.arange(h) + 0.5 - 0.5 * h
        rays = _crop_rays(rot[~coarse], f[~coarse], u, v)
        map_x[~coarse], map_y[~coarse] = _rays_to_maps(camera, rays, (-1, h, w))
    if period is not None:
        p = np.float32(period)
        np.mod(map_x, p, out=map_x)  # the exact crops are wrapped already: mod leaves them
        map_x[map_x >= p] -= p  # float32 rounding of a tiny negative value
        np.clip(map_y, 0, camera.height - 1, out=map_y)
    return map_x, map_y


def _person_lines(boxes: np.ndarray, per_line: int = 8) -> np.ndarray:
    """``(N, 4 * per_line, 2)`` points on a person's shape inside each box: the vertical centre
    line and horizontal lines across it at 20, 50 and 80 % of its height."""
    t = np.linspace(0.0, 1.0, per_line)
    x1, y1, x2, y2 = (boxes[:, i, None] for i in range(4))
    xc, one = 0.5 * (x1 + x2), np.ones_like(t)
    xs, ys = [xc * one], [y1 + t * (y2 - y1)]
    for f in (0.2, 0.5, 0.8):
        xs.append(x1 + t * (x2 - x1))
        ys.append((y1 + f * (y2 - y1)) * one)
    return np.stack([np.concatenate(xs, 1), np.concatenate(ys, 1)], -1)


def view_boxes_to_camera(
    view: PerspectiveView, camera: Camera, boxes: np.ndarray, *, shape: str = "box"
) -> np.ndarray:
    """Boxes found in ``view`` -> bounding boxes in ``camera`` pixels.

    With ``shape="box"`` the outline of each box (8 points per edge) is mapped to the camera:
    the camera box holds everything the view box held. With ``shape="person"`` only the lines
    a person fills are (the vertical centre line and three horizontal lines across it): near
    a panorama's pole a view box's empty corners spread over many columns, and a detector's
    box of a person there should not. On a panorama the
    columns are unwrapped around the box centre, so a box across the seam comes out with
    ``x1`` in ``[0, W)`` and ``x2 > W``; a box that contains a pole of the panorama spans the
    full width and reaches the top (zenith) or bottom (nadir) edge. Other cameras clip to the
    image; a box none of whose outline the camera sees gives a NaN row.

    Args:
        view: the view the boxes were found in.
        camera: the target camera.
        boxes: ``(N, 4)`` xyxy view pixels.
        shape: ``box`` | ``person`` (see above).

    Returns:
        ``(N, 4)`` float64 xyxy camera pixels.
    """
    if shape not in ("box", "person"):
        raise ValueError(f"shape must be 'box' or 'person', got {shape!r}")
    boxes = as_boxes(boxes)
    n = len(boxes)
    if n == 0:
        return np.zeros((0, 4))
    outline = _outline(boxes) if shape == "box" else _person_lines(boxes)
    uv, valid = camera.ray_to_pixel(view.pixel_to_ray(outline.reshape(-1, 2)))
    uv, valid = uv.reshape(n, -1, 2), valid.reshape(n, -1)
    x, y = np.where(valid, uv[..., 0], np.nan), np.where(valid, uv[..., 1], np.nan)
    period = camera.x_period
    if period is not None:
        centres = np.column_stack(
            [0.5 * (boxes[:, 0] + boxes[:, 2]), 0.5 * (boxes[:, 1] + boxes[:, 3])]
        )
        xc = camera.ray_to_pixel(view.pixel_to_ray(centres))[0][:, :1]
        x = xc + np.mod(x - xc + 0.5 * period, period) - 0.5 * period
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN
        out = np.column_stack([np.nanmin(x, 1), np.nanmin(y, 1), np.nanmax(x, 1), np.nanmax(y, 1)])
    if period is None:
        return np.clip(out, 0, [camera.width, camera.height] * 2)
    out = wrap_boxes(out, period)
    poles = camera.pixel_to_ray(np.array([[0.5 * period, 0.0], [0.5 * period, camera.height]]))
    pole_uv, pole_seen = view.ray_to_pixel(poles)
    for k, (puv, seen) in enumerate(zip(pole_uv, pole_seen, strict=True)):
        inside = (
            seen
            & (boxes[:, 0] <= puv[0])
            & (puv[0] <= boxes[:, 2])
            & (boxes[:, 1] <= puv[1])
            & (puv[1] <= boxes[:, 3])
        )
        out[inside, 0], out[inside, 2] = 0.0, period
        out[inside, 1 + 2 * k] = 0.0 if k == 0 else camera.height
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, camera.height)
    return out
