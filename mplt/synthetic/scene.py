"""The synthetic scene: who is where in every frame, and what they look like.

A :class:`Scene` is exact ground truth: ground positions (metres, ground frame of
:mod:`mplt.geometry.camera`: x forward = azimuth 0, y left, z up, origin below the camera) of
every person in every frame, plus the body shape and clothing colours the renderer draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Body parts drawn by the renderer, rows of :attr:`Scene.colours`.
LEGS, TORSO, SKIN, HAIR = range(4)

#: Mean body radius of the people, metres: their ground truth is the cylinder's centre, this
#: far behind the foot point a box bottom shows (``localize.foot_offset_m`` for that truth).
BODY_RADIUS_M = 0.22

# Realistic palettes (RGB) the clothing and skin colours are drawn from, jittered per person.
_SKIN = np.array(
    [[255, 219, 172], [241, 194, 125], [224, 172, 105], [198, 134, 66], [141, 85, 36], [94, 60, 40]]
)
_HAIR = np.array(
    [[30, 25, 20], [60, 40, 25], [110, 75, 40], [200, 170, 100], [150, 150, 150], [140, 60, 30]]
)
_TROUSERS = np.array(
    [
        [50, 70, 110],
        [30, 30, 35],
        [100, 100, 105],
        [170, 150, 110],
        [35, 40, 70],
        [215, 215, 210],
        [80, 60, 45],
    ]
)
# Dark, muted clothes that many people in a group may share (hard for colour appearance).
_DARK = np.array([[35, 35, 40], [45, 50, 65], [60, 55, 50]])


@dataclass(frozen=True)
class Scene:
    """A scene's ground truth.

    Attributes:
        positions: (T, P, 2) float64 ground positions of the body centres in metres; NaN
            where a person is absent (not yet entered, or left).
        heights: (P,) float64 body heights in metres.
        radii: (P,) float64 body radii in metres (half the shoulder width).
        colours: (P, 4, 3) uint8 RGB colours of legs, torso, skin and hair
            (rows :data:`LEGS`, :data:`TORSO`, :data:`SKIN`, :data:`HAIR`).
        fps: frames per second.
        headings: (T, P) float64 walking direction in radians in the ground frame
            (``atan2(dy, dx)``, 0 = +x); the renderer draws the hair on the back of the head.
            None: everyone faces the camera.
        groups: (P,) int64 group of each person (people walking together share one), -1 alone.
        scenario: name of the generator that made the scene.
    """

    positions: np.ndarray
    heights: np.ndarray
    radii: np.ndarray
    colours: np.ndarray
    fps: float
    headings: np.ndarray | None = None
    groups: np.ndarray | None = None
    scenario: str = "orbiting"

    @property
    def num_frames(self) -> int:
        return self.positions.shape[0]

    @property
    def num_people(self) -> int:
        return self.positions.shape[1]


def _jitter(rng: np.random.Generator, base: np.ndarray, amount: float) -> np.ndarray:
    return np.clip(base + rng.normal(0.0, amount, base.shape), 0, 255)


def sample_looks(
    rng: np.random.Generator, groups: np.ndarray, similar_group_clothes: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Heights, radii and colours for P people.

    Args:
        rng: random generator.
        groups: (P,) int group per person, -1 alone.
        similar_group_clothes: probability that a group's members all wear near-identical dark
            clothes (friends in similar outfits: colour statistics cannot tell them apart).

    Returns:
        heights (P,) metres, radii (P,) metres, colours (P, 4, 3) uint8.
    """
    n = len(groups)
    heights = np.clip(rng.normal(1.72, 0.09, n), 1.50, 1.98)
    # Taller people are a little broader.
    radii = np.clip(BODY_RADIUS_M + 0.12 * (heights - 1.72) + rng.normal(0.0, 0.012, n), 0.18, 0.27)
    colours = np.empty((n, 4, 3))
    colours[:, SKIN] = _jitter(rng, _SKIN[rng.integers(len(_SKIN), size=n)], 6.0)
    colours[:, HAIR] = _jitter(rng, _HAIR[rng.integers(len(_HAIR), size=n)], 8.0)
    colours[:, LEGS] = _jitter(rng, _TROUSERS[rng.integers(len(_TROUSERS), size=n)], 10.0)
    hue = rng.uniform(0.0, 6.0, n)
    sat = rng.uniform(0.1, 0.9, n)
    val = rng.uniform(60.0, 240.0, n)
    colours[:, TORSO] = _hsv_to_rgb(hue, sat, val)
    for g in np.unique(groups[groups >= 0]):
        members = np.flatnonzero(groups == g)
        if rng.random() < similar_group_clothes:
            top, bottom = _DARK[rng.integers(len(_DARK), size=2)]
            colours[members, TORSO] = _jitter(rng, np.tile(top, (len(members), 1)), 5.0)
            colours[members, LEGS] = _jitter(rng, np.tile(bottom, (len(members), 1)), 5.0)
    return heights, radii, colours.round().astype(np.uint8)


def _hsv_to_rgb(hue: np.ndarray, sat: np.ndarray, val: np.ndarray) -> np.ndarray:
    """Hue in [0, 6), saturation in [0, 1], value in [0, 255] -> (N, 3) RGB floats."""
    c = val * sat
    x = c * (1 - np.abs(np.mod(hue, 2.0) - 1))
    zero = np.zeros_like(c)
    sector = np.floor(hue).astype(int) % 6
    table = np.stack(
        [
            np.stack([c, x, zero], 1),
            np.stack([x, c, zero], 1),
            np.stack([zero, c, x], 1),
            np.stack([zero, x, c], 1),
            np.stack([x, zero, c], 1),
            np.stack([c, zero, x], 1),
        ]
    )
    return table[sector, np.arange(len(c))] + (val - c)[:, None]


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
    walk straight lines that pass behind the camera. Everyone is present in every frame. For
    realistic motion (turns, stops, groups, occlusions) use :func:`mplt.synthetic.make_scene`.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(num_frames) / fps
    positions = np.empty((num_frames, num_people, 2))
    headings = np.empty((num_frames, num_people))
    for p in range(num_people):
        radius = rng.uniform(*radius_range_m)
        speed = rng.uniform(0.8, 1.5)  # m/s, a walking pace
        if p % 2 == 0:
            # Start behind the camera (x < 0), so the orbit crosses azimuth 180° early on.
            phase = np.pi + rng.uniform(-0.6, -0.2)
            direction = 1 if rng.random() < 0.5 else -1
            angle = phase + direction * speed * t / radius
            positions[:, p] = radius * np.stack([np.cos(angle), np.sin(angle)], 1)
            headings[:, p] = angle + direction * np.pi / 2
        else:
            start = np.array([-radius, rng.uniform(-4.0, -2.0)])
            heading = np.array([rng.uniform(-0.2, 0.2), 1.0])
            heading /= np.linalg.norm(heading)
            positions[:, p] = start + speed * t[:, None] * heading
            headings[:, p] = np.arctan2(heading[1], heading[0])
    heights, radii, colours = sample_looks(rng, np.full(num_people, -1))
    return Scene(
        positions=positions,
        heights=heights,
        radii=radii,
        colours=colours,
        fps=fps,
        headings=headings,
        groups=np.full(num_people, -1),
        scenario="orbiting",
    )
