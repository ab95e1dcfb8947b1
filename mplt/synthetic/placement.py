"""Real perspective footage placed on the sphere: panoramic test material with real people.

A :class:`Placement` puts a perspective clip into an equirectangular panorama whose centre is
the clip camera's centre, so the geometry is exact: every panorama pixel's ray is projected
into the clip (``camera.ray_to_pixel``) and sampled, boxes are carried over by their outlines
(:func:`mplt.geometry.view_boxes_to_camera` with the lines a person fills, so a near person's
box does not grow by its view box's empty corners; seam-unwrapped, ``x2 > W`` across the
seam), and
ground positions by the rigid motion between the clip's world frame and the panorama's ground
frame. Two kinds of clip:

* **calibrated** (a :class:`~mplt.geometry.Pinhole` with a world frame, e.g. PETS 2009): the
  panorama sits at the camera centre, level (world z up), turned about z so that the clip's
  optical axis looks at ``azimuth_deg``; its camera height is the calibration's. Ground truth
  positions in the world frame become positions in the panorama's ground frame.
* **uncalibrated** (a :class:`~mplt.geometry.PerspectiveView` with an assumed field of view
  and tilt, e.g. the TUD clips): the clip's apparent size on the sphere follows from the field
  of view given to it (a narrow field makes its people small and far); no ground positions.

Frames are RGB uint8; panorama pixels the clip does not cover get ``background``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mplt.geometry import Equirectangular, PerspectiveView, Pinhole, view_boxes_to_camera
from mplt.geometry.camera import points, ray_to_azel, rotation_matrix, rows


class _LevelledPinhole:
    """A calibrated pinhole seen from a panorama's ground frame (rays rotated about z).

    ``pixel_to_ray`` / ``ray_to_pixel`` take and give rays in the panorama's ground frame;
    ``rotation`` is ``R_world_from_ground`` (a turn about the vertical).
    """

    def __init__(self, camera: Pinhole, rotation: np.ndarray) -> None:
        self.camera, self.rotation = camera, rotation
        self.width, self.height = camera.width, camera.height
        self.x_period: float | None = None
        self.camera_height = camera.camera_height

    def pixel_to_ray(self, uv: np.ndarray) -> np.ndarray:
        return rows(self.rotation.T, self.camera.pixel_to_ray(uv)).T

    def ray_to_pixel(self, rays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.camera.ray_to_pixel(rows(self.rotation, points(rays, 3, "rays")).T)

    def center(self) -> np.ndarray:
        return np.array([0.0, 0.0, self.camera.center()[2]])


@dataclass
class Placement:
    """A perspective clip on the sphere (see the module docstring).

    Attributes:
        pano: the panorama camera (its ``camera_height`` is the clip camera's, when known).
        clip: the clip's camera with rays in the panorama's ground frame.
        world_origin_xy: (2,) metres, the clip's world point below the panorama centre (the
            ground-frame origin), for calibrated clips; None otherwise.
        world_from_ground: (3, 3) rotation taking ground-frame vectors to the clip's world
            frame (a turn about z), for calibrated clips; None otherwise.
    """

    pano: Equirectangular
    clip: PerspectiveView | _LevelledPinhole
    world_origin_xy: np.ndarray | None = None
    world_from_ground: np.ndarray | None = None

    def __post_init__(self) -> None:
        self._maps: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def clip_size(self) -> tuple[int, int]:
        return self.clip.width, self.clip.height

    def maps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``cv2.remap`` maps (H, W) float32 from panorama pixels into the clip, and the (H, W, 1)
        float32 coverage of the clip (1 inside, 0 outside, soft at its border)."""
        if self._maps is None:
            w, h = self.pano.width, self.pano.height
            u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
            uv, valid = self.clip.ray_to_pixel(
                self.pano.pixel_to_ray(np.column_stack([u.ravel(), v.ravel()]))
            )
            uv = uv - 0.5  # continuous coordinates -> remap indices (pixel centres at integers)
            cw, ch = self.clip_size
            # Distortion models fold far outside the image: keep only samples near the clip.
            near = (
                valid
                & (uv[:, 0] > -2)
                & (uv[:, 0] < cw + 1)
                & (uv[:, 1] > -2)
                & (uv[:, 1] < ch + 1)
            )
            uv[~near] = -10.0
            map_x = uv[:, 0].astype(np.float32).reshape(h, w)
            map_y = uv[:, 1].astype(np.float32).reshape(h, w)
            ones = np.ones((ch, cw), np.float32)
            alpha = cv2.remap(ones, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            self._maps = (map_x, map_y, alpha[..., None])
        return self._maps

    def frame(self, clip_frame: np.ndarray, background: np.ndarray | None = None) -> np.ndarray:
        """The (H, W, 3) uint8 panorama of one (h, w, 3) uint8 clip frame."""
        map_x, map_y, alpha = self.maps()
        pano = cv2.remap(clip_frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        if background is None:
            return pano
        # remap with a zero border already weighs the clip by its coverage
        mixed = pano.astype(np.float32) + background.astype(np.float32) * (1.0 - alpha)
        return np.clip(np.round(mixed), 0, 255).astype(np.uint8)

    def boxes(self, clip_boxes: np.ndarray) -> np.ndarray:
        """(N, 4) xyxy clip pixels -> (N, 4) panorama pixels (seam-unwrapped); the part of a
        box outside the clip is cut off first (it is not seen in the panorama either)."""
        b = np.asarray(clip_boxes, np.float64).reshape(-1, 4).copy()
        cw, ch = self.clip_size
        b[:, [0, 2]] = b[:, [0, 2]].clip(0, cw)
        b[:, [1, 3]] = b[:, [1, 3]].clip(0, ch)
        return view_boxes_to_camera(self.clip, self.pano, b, shape="person")

    def ground(self, world_xy: np.ndarray) -> np.ndarray:
        """(N, 2) metres in the clip's world frame -> (N, 2) metres in the panorama's ground
        frame; NaN rows when the clip is uncalibrated."""
        xy = np.asarray(world_xy, np.float64).reshape(-1, 2)
        if self.world_from_ground is None or self.world_origin_xy is None:
            return np.full_like(xy, np.nan)
        d = xy - self.world_origin_xy
        return d @ self.world_from_ground[:2, :2]  # rows: R^T d, i.e. world -> ground

    def optical_axis_azel(self) -> np.ndarray:
        """(2,) azimuth and elevation (degrees, ground frame) of the clip's image centre."""
        cw, ch = self.clip_size
        return ray_to_azel(self.clip.pixel_to_ray(np.array([[cw / 2, ch / 2]])))[0]


def place_calibrated(
    camera: Pinhole, width: int, height: int | None = None, *, azimuth_deg: float = 180.0
) -> Placement:
    """A calibrated clip on a level panorama at its camera centre, its optical axis at
    ``azimuth_deg`` (180: the seam runs through the middle of the clip)."""
    if camera.t is None:
        raise ValueError("a calibrated placement needs the camera's translation t")
    centre = camera.center()
    axis = camera.rotation.T @ np.array([0.0, 0.0, 1.0])  # optical axis in the world frame
    world_az = float(np.degrees(np.arctan2(-axis[1], axis[0])))
    # R_world_from_ground = Rz(-yaw) maps ground azimuth a to world azimuth a + yaw.
    turn = rotation_matrix(-(world_az - azimuth_deg), 0.0, 0.0)
    pano = Equirectangular(width, height or width // 2, camera_height=float(centre[2]))
    return Placement(pano, _LevelledPinhole(camera, turn), centre[:2].copy(), turn)


def place_uncalibrated(
    clip_width: int,
    clip_height: int,
    width: int,
    height: int | None = None,
    *,
    hfov_deg: float,
    pitch_deg: float = 0.0,
    azimuth_deg: float = 180.0,
) -> Placement:
    """An uncalibrated clip given a horizontal field of view ``hfov_deg`` (square pixels,
    centred principal point, no distortion), tilted ``pitch_deg`` down, looking at
    ``azimuth_deg``; the panorama's camera height is unknown."""
    # PerspectiveView's yaw grows to the left, azimuth to the right.
    view = PerspectiveView(-azimuth_deg, pitch_deg, hfov_deg, clip_width, clip_height)
    return Placement(Equirectangular(width, height or width // 2), view)
