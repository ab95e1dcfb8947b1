"""Synthetic 360° scenes with exact ground truth: people walking around an equirectangular camera.

People are upright cylinders (legs, torso, head in distinct colours) on the ground plane z = 0.
Frames are ray-traced per pixel inside each person's box, far to near, so occlusion order and
the projection are exact; boxes are the exact projections of the cylinders' silhouettes.
Used by tests and benchmarks; everything is seeded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mplt.geometry import Equirectangular, ray_to_azel

# Body parts as fractions of the height, from the feet up: legs, torso, head.
_PART_TOPS = np.array([0.47, 0.82, 1.0])


@dataclass(frozen=True)
class Scene:
    """A scene's ground truth.

    Attributes:
        positions: (T, P, 2) float64 ground positions in metres; NaN where a person is absent.
        heights: (P,) float64 body heights in metres.
        radii: (P,) float64 body radii in metres (half the shoulder width).
        colours: (P, 3, 3) uint8 RGB colours of legs, torso and head.
        fps: frames per second.
    """

    positions: np.ndarray
    heights: np.ndarray
    radii: np.ndarray
    colours: np.ndarray
    fps: float

    @property
    def num_frames(self) -> int:
        return self.positions.shape[0]


def orbiting_scene(
    num_frames: int = 60,
    num_people: int = 4,
    *,
    fps: float = 10.0,
    seed: int = 0,
    radius_range_m: tuple[float, float] = (3.0, 9.0),
) -> Scene:
    """People walking on circles and lines around the camera; several cross the seam (az 180°).

    Half of them orbit the camera at constant radius (crossing the seam behind it), the others
    walk straight lines that pass behind the camera.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(num_frames) / fps
    positions = np.empty((num_frames, num_people, 2))
    for p in range(num_people):
        radius = rng.uniform(*radius_range_m)
        speed = rng.uniform(0.8, 1.5)  # m/s, a walking pace
        if p % 2 == 0:
            # Start behind the camera (x < 0), so the orbit crosses azimuth 180° early on.
            phase = np.pi + rng.uniform(-0.6, -0.2)
            direction = 1 if rng.random() < 0.5 else -1
            angle = phase + direction * speed * t / radius
            positions[:, p] = radius * np.stack([np.cos(angle), np.sin(angle)], 1)
        else:
            start = np.array([-radius, rng.uniform(-4.0, -2.0)])
            heading = np.array([rng.uniform(-0.2, 0.2), 1.0])
            heading /= np.linalg.norm(heading)
            positions[:, p] = start + speed * t[:, None] * heading
    colours = rng.integers(30, 230, size=(num_people, 3, 3)).astype(np.uint8)
    return Scene(
        positions=positions,
        heights=rng.uniform(1.55, 1.90, num_people),
        radii=rng.uniform(0.20, 0.26, num_people),
        colours=colours,
        fps=fps,
    )


def person_boxes(
    camera: Equirectangular, xy: np.ndarray, heights: np.ndarray, radii: np.ndarray
) -> np.ndarray:
    """Exact boxes (N, 4) xyxy (seam-unwrapped) of upright cylinders standing at ``xy`` (N, 2).

    Needs a known camera height. The box spans the cylinder's silhouette: the tangent rays'
    azimuths horizontally, the head-top rim and the foot rim vertically.
    """
    n = len(xy)
    if n == 0:
        return np.zeros((0, 4))
    h_cam = camera.center()[2]
    dist = np.linalg.norm(xy, axis=1)
    az_centre = ray_to_azel(np.column_stack([xy, np.zeros(n)]))[:, 0]
    half_width_deg = np.degrees(np.arcsin(np.clip(radii / dist, 0, 1)))
    # Vertical extent: the top is the near (head above camera) or far rim, likewise the feet.
    near, far = dist - radii, dist + radii
    el_top = np.degrees(np.maximum(np.arctan2(heights - h_cam, near), np.arctan2(heights - h_cam, far)))
    el_bottom = np.degrees(np.minimum(np.arctan2(-h_cam, near), np.arctan2(-h_cam, far)))
    width, height = camera.width, camera.height
    # Pixel coordinates for an unrotated camera (the synthetic scenes use yaw = pitch = 0).
    x_centre = np.mod((az_centre + 180.0) / 360.0 * width, width)
    half_w = half_width_deg / 360.0 * width
    y1 = (90.0 - el_top) / 180.0 * height
    y2 = (90.0 - el_bottom) / 180.0 * height
    x1 = np.mod(x_centre - half_w, width)
    return np.stack([x1, y1, x1 + 2 * half_w, y2], 1)


def _background(width: int, height: int) -> np.ndarray:
    """A neutral sky-to-ground gradient with a faint grid on the ground, RGB uint8."""
    v = (np.arange(height) + 0.5) / height
    sky = np.array([150.0, 170.0, 190.0])
    ground = np.array([95.0, 90.0, 80.0])
    rows = np.where(v[:, None] < 0.5, sky * (0.8 + 0.4 * v[:, None]), ground * (1.3 - 0.5 * v[:, None]))
    frame = np.broadcast_to(rows[:, None, :], (height, width, 3)).copy()
    frame[height // 2 :: 8, :] *= 0.9
    frame[height // 2 :, ::16] *= 0.9
    return frame.clip(0, 255).astype(np.uint8)


def render_frame(camera: Equirectangular, scene: Scene, frame_index: int) -> np.ndarray:
    """The equirectangular RGB frame (H, W, 3) uint8 of one scene frame, occlusion-correct."""
    frame = _background(camera.width, camera.height)
    xy = scene.positions[frame_index]
    present = np.flatnonzero(np.isfinite(xy).all(1))
    boxes = person_boxes(camera, xy[present], scene.heights[present], scene.radii[present])
    centre = camera.center()
    order = np.argsort(-np.linalg.norm(xy[present], axis=1))  # far to near: near ones paint over
    for k in order:
        p = present[k]
        x1, y1, x2, y2 = boxes[k]
        cols = np.arange(np.floor(x1), np.ceil(x2)).astype(int)
        rows = np.arange(max(int(np.floor(y1)), 0), min(int(np.ceil(y2)), camera.height))
        if len(rows) == 0 or len(cols) == 0:
            continue
        uu, vv = np.meshgrid(cols + 0.5, rows + 0.5)
        rays = camera.pixel_to_ray(np.column_stack([uu.ravel() % camera.width, vv.ravel()]))
        # Ray / vertical cylinder intersection in the horizontal plane (nearest hit).
        d = rays[:, :2]
        o = centre[:2] - xy[p]
        a = (d * d).sum(1)
        b = 2 * (o * d).sum(1)
        c = (o * o).sum() - scene.radii[p] ** 2
        disc = b * b - 4 * a * c
        with np.errstate(invalid="ignore", divide="ignore"):
            s = (-b - np.sqrt(disc)) / (2 * a)
        z = centre[2] + s * rays[:, 2]
        hit = (disc > 0) & (s > 0) & (z >= 0) & (z <= scene.heights[p])
        part = np.searchsorted(_PART_TOPS, z[hit] / scene.heights[p], side="right").clip(0, 2)
        # Lambert-like shading across the body so it does not look flat.
        hit_xy = centre[:2] + s[hit, None] * d[hit] - xy[p]
        normal = hit_xy / scene.radii[p]
        shade = 0.65 + 0.35 * np.abs((normal * -d[hit] / np.linalg.norm(d[hit], axis=1, keepdims=True)).sum(1))
        colour = (scene.colours[p][part] * shade[:, None]).clip(0, 255).astype(np.uint8)
        hit_rows = (vv.ravel()[hit] - 0.5).astype(int)
        hit_cols = (uu.ravel()[hit] - 0.5).astype(int) % camera.width
        frame[hit_rows, hit_cols] = colour
    return frame


def ground_truth_rows(camera: Equirectangular, scene: Scene) -> np.ndarray:
    """MOTChallenge ground truth (R, 10): frame, id, left, top, w, h, 1, x, y, 0 (1-based)."""
    rows = []
    for t in range(scene.num_frames):
        xy = scene.positions[t]
        present = np.flatnonzero(np.isfinite(xy).all(1))
        boxes = person_boxes(camera, xy[present], scene.heights[present], scene.radii[present])
        for k, p in enumerate(present):
            x1, y1, x2, y2 = boxes[k]
            rows.append([t + 1, p + 1, x1 + 1, y1 + 1, x2 - x1, y2 - y1, 1, *xy[p], 0])
    return np.array(rows, dtype=np.float64).reshape(-1, 10)
