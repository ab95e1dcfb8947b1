"""Scripted scenes with known identities for tracker tests and benchmarks (no video).

People move on the ground around a 360° camera (height :data:`CAMERA_HEIGHT`); each frame
becomes a :class:`Detections` with noisy ground positions drawn from a distance-dependent
covariance, boxes from an equirectangular projection (seam-unwrapped, ``x1`` in [0, W)), and
optionally per-identity unit embeddings plus noise. The projection here is a small
self-contained test model, independent of ``mplt.geometry``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from core.types import Detections, Tracks, TrackState

CAMERA_HEIGHT = 2.0  # metres
PERSON_HEIGHT = 1.7  # metres
PERSON_WIDTH = 0.5  # metres
WIDTH = 2048  # panorama width, px (height WIDTH // 2)


@dataclass(frozen=True)
class Person:
    """One identity: ``position(t)`` (2,) metres at time t seconds, seen on ``visible(frame)``."""

    position: Callable[[float], np.ndarray]
    visible: Callable[[int], bool] = lambda frame: True


def straight(start: Sequence[float], velocity: Sequence[float], **kw: object) -> Person:
    """A person walking in a straight line from ``start`` (m) at ``velocity`` (m/s)."""
    s, v = np.asarray(start, float), np.asarray(velocity, float)
    return Person(position=lambda t: s + v * t, **kw)  # type: ignore[arg-type]


def circle(radius: float, speed: float, start_deg: float, **kw: object) -> Person:
    """A person walking round the camera at ``radius`` m, ``speed`` m/s, clockwise seen
    from above (azimuth increasing, i.e. moving right in the panorama)."""
    omega = speed / radius

    def position(t: float) -> np.ndarray:
        az = np.radians(start_deg) + omega * t
        # azimuth grows clockwise seen from above: y = -r sin(az)
        return np.array([radius * np.cos(az), -radius * np.sin(az)])

    return Person(position=position, **kw)  # type: ignore[arg-type]


def hidden_during(frames: range) -> Callable[[int], bool]:
    """A ``visible`` predicate that hides a person for ``frames``."""
    return lambda frame: frame not in frames


def present_during(frames: range) -> Callable[[int], bool]:
    """A ``visible`` predicate that shows a person only for ``frames``."""
    return lambda frame: frame in frames


def ground_cov(xy: np.ndarray) -> np.ndarray:
    """(N, 2, 2) m^2 localisation covariance: std grows with distance, mostly along the ray."""
    r = np.hypot(xy[:, 0], xy[:, 1])
    radial = 0.03 * r + 0.002 * r**2 + 0.02
    tangential = 0.01 * r + 0.02
    safe = r > 1e-9  # right below the camera any direction will do
    u = np.where(safe[:, None], xy / np.where(safe, r, 1.0)[:, None], [1.0, 0.0])
    t = np.stack([-u[:, 1], u[:, 0]], axis=1)
    return (
        radial[:, None, None] ** 2 * u[:, :, None] * u[:, None, :]
        + tangential[:, None, None] ** 2 * t[:, :, None] * t[:, None, :]
    )


def project_boxes(xy: np.ndarray, width: int = WIDTH) -> np.ndarray:
    """(N, 4) seam-unwrapped ``xyxy`` equirect boxes of people standing at ``xy`` (N, 2)."""
    height = width // 2
    r = np.hypot(xy[:, 0], xy[:, 1])
    az = np.degrees(np.arctan2(-xy[:, 1], xy[:, 0]))
    cx = (az + 180.0) / 360.0 * width
    half_w = np.degrees(np.arctan2(PERSON_WIDTH / 2, r)) / 360.0 * width
    el_top = np.degrees(np.arctan2(PERSON_HEIGHT - CAMERA_HEIGHT, r))
    el_foot = np.degrees(np.arctan2(-CAMERA_HEIGHT, r))
    y1 = (90.0 - el_top) / 180.0 * height
    y2 = (90.0 - el_foot) / 180.0 * height
    x1 = np.mod(cx - half_w, width)
    return np.stack([x1, y1, x1 + 2 * half_w, y2], axis=1)


@dataclass
class Scene:
    """Frames of detections and, per frame, the true identity of each detection row.

    ``identities[f][i]`` is the index into the scene's people of detection ``i`` of frame ``f``,
    or -1 for a false positive.
    """

    frames: list[Detections] = field(default_factory=list)
    identities: list[np.ndarray] = field(default_factory=list)
    n_people: int = 0


def make_scene(
    people: Sequence[Person],
    n_frames: int,
    *,
    fps: float = 30.0,
    seed: int = 0,
    embedding_dim: int | None = 64,
    embedding_noise: float = 0.3,
    bad_embedding_rate: float = 0.0,
    bad_embedding_noise: float = 1.5,
    identity_similarity: float = 0.0,
    box_noise_px: float = 1.0,
    false_positives_per_frame: float = 0.0,
    false_positive_score: float = 0.6,
    unknown_ground: Callable[[int, int], bool] | None = None,
) -> Scene:
    """Render ``people`` into ``n_frames`` of detections (rows shuffled every frame).

    Args:
        embedding_dim: size of the unit embeddings, or None for detections without them.
        embedding_noise: std of the isotropic noise added to the identity's unit vector
            (relative to unit norm) before re-normalising.
        identity_similarity: expected cosine similarity of two different identities'
            embeddings (0 = unrelated; near 1 = everybody dressed alike).
        bad_embedding_rate: fraction of detections whose crop is "bad" (occluded, blurred):
            their noise is ``bad_embedding_noise`` instead.
        false_positives_per_frame: Poisson rate of single-frame clutter detections scattered
            within 12 m of the camera, each with its own random embedding.
        unknown_ground: ``(frame, person) -> True`` to blank that detection's ground position.
    """
    rng = np.random.default_rng(seed)
    base = None
    if embedding_dim is not None:
        unit = rng.standard_normal((len(people) + 1, embedding_dim)) / np.sqrt(embedding_dim)
        base = (
            np.sqrt(identity_similarity) * unit[-1] + np.sqrt(1 - identity_similarity) * unit[:-1]
        )
        base /= np.linalg.norm(base, axis=1, keepdims=True)
    scene = Scene(n_people=len(people))
    for f in range(n_frames):
        who = np.array([p for p, person in enumerate(people) if person.visible(f)], np.int64)
        truth = np.array([people[p].position(f / fps) for p in who]).reshape(-1, 2)
        n_fp = rng.poisson(false_positives_per_frame) if false_positives_per_frame else 0
        clutter = rng.uniform(-12, 12, (n_fp, 2))
        truth = np.concatenate([truth, clutter])
        ids = np.concatenate([who, np.full(n_fp, -1, np.int64)])
        cov = ground_cov(truth)
        xy = truth + np.einsum(
            "nij,nj->ni", np.linalg.cholesky(cov), rng.standard_normal(truth.shape)
        )
        boxes = project_boxes(truth) + rng.normal(0, box_noise_px, (len(truth), 4))
        x1 = np.mod(boxes[:, 0], WIDTH)  # noise may push x1 over the seam: keep it in [0, W)
        boxes[:, 2] += x1 - boxes[:, 0]
        boxes[:, 0] = x1
        scores = np.where(ids >= 0, rng.uniform(0.7, 0.95, len(ids)), false_positive_score)
        if unknown_ground is not None:
            blank = np.array([i >= 0 and unknown_ground(f, int(i)) for i in ids], bool)
            xy[blank] = np.nan
            cov[blank] = np.nan
        emb = None
        if base is not None:
            dim = base.shape[1]
            e = np.where(
                (ids >= 0)[:, None],
                base[np.maximum(ids, 0)],
                rng.standard_normal((len(ids), dim)) / np.sqrt(dim),
            )
            bad = rng.random(len(ids)) < bad_embedding_rate
            noise = np.where(bad, bad_embedding_noise, embedding_noise)[:, None]
            e = e + noise / np.sqrt(dim) * rng.standard_normal(e.shape)
            emb = (e / np.linalg.norm(e, axis=1, keepdims=True)).astype(np.float32)
        order = rng.permutation(len(ids))
        scene.frames.append(
            Detections(
                boxes=boxes[order],
                scores=scores[order],
                ground_xy=xy[order],
                ground_cov=cov[order],
                embeddings=None if emb is None else emb[order],
                frame_index=f,
            )
        )
        scene.identities.append(ids[order])
    return scene


def as_image_detections(scene: Scene) -> Scene:
    """The same scene without ground positions (image-mode input)."""
    frames = [
        d.replace(
            ground_xy=np.full((len(d), 2), np.nan), ground_cov=np.full((len(d), 2, 2), np.nan)
        )
        for d in scene.frames
    ]
    return Scene(frames=frames, identities=scene.identities, n_people=scene.n_people)


def run_tracker(tracker: object, scene: Scene) -> tuple[np.ndarray, list[Tracks]]:
    """Feed the scene to ``tracker.update``; returns the ID grid and every frame's output.

    ``grid[f, p]`` is the ID of the confirmed track matched to person ``p`` in frame ``f``;
    0 when person ``p`` was detected but not matched to a confirmed track (tentative tracks
    count as 0), -1 when person ``p`` was not detected in frame ``f``.
    """
    grid = np.full((len(scene.frames), scene.n_people), -1, np.int64)
    outputs = []
    for f, dets in enumerate(scene.frames):
        out = tracker.update(dets)  # type: ignore[attr-defined]
        outputs.append(out)
        seen = scene.identities[f][scene.identities[f] >= 0]
        grid[f, seen] = 0
        hit = (out.detection_indices >= 0) & (out.states == TrackState.CONFIRMED)
        people = scene.identities[f][out.detection_indices[hit]]
        real = people >= 0
        grid[f, people[real]] = out.ids[hit][real]
    return grid, outputs


def id_switches(grid: np.ndarray) -> int:
    """Identity errors in an ID grid: extra IDs per person plus IDs shared between people."""
    errors = 0
    owners: dict[int, int] = {}
    for p in range(grid.shape[1]):
        ids = np.unique(grid[:, p][grid[:, p] > 0])
        errors += max(len(ids) - 1, 0)
        for i in ids.tolist():
            if i in owners:
                errors += 1
            owners[i] = p
    return errors
