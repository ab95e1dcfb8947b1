"""Named scenario generators: routes that create the situations trackers find hard.

Every scenario writes routes (:class:`mplt.synthetic.motion.Plans`) and lets
:func:`mplt.synthetic.motion.simulate` walk them, so all of them share the same realistic
motion (smooth turns, gradual stops, no overlapping bodies). Ground-frame angles here are
``phi = atan2(y, x)``; the panorama's seam (azimuth 180°) is the direction ``phi = pi``, the
ground half-plane ``x < 0`` right behind the camera.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mplt.synthetic.motion import Plans, simulate
from mplt.synthetic.scene import Scene, sample_looks

#: Scenario name -> default number of people.
DEFAULT_PEOPLE = {"mixed": 8, "crossing": 6, "groups": 7, "seam": 5, "crowd": 20}
SCENARIOS = tuple(DEFAULT_PEOPLE)


@dataclass
class _Ctx:
    rng: np.random.Generator
    plans: Plans
    num_frames: int
    fps: float
    r_min: float
    r_max: float
    stop_probability: float

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.fps

    def speed(self) -> float:
        return float(np.clip(self.rng.normal(1.3, 0.2), 0.8, 1.8))

    def annulus_point(self, r_lo: float | None = None, r_hi: float | None = None) -> np.ndarray:
        r_lo = self.r_min if r_lo is None else r_lo
        r_hi = self.r_max if r_hi is None else r_hi
        r = np.sqrt(self.rng.uniform(r_lo**2, r_hi**2))  # uniform over the area
        return _polar(r, self.rng.uniform(-np.pi, np.pi))


def _polar(r: float, phi: float) -> np.ndarray:
    return np.array([r * np.cos(phi), r * np.sin(phi)])


def _clear_path(points: np.ndarray, clearance: float) -> np.ndarray:
    """Insert detour waypoints where a straight leg would pass closer than ``clearance`` to the
    camera (the origin)."""
    out = [points[0]]
    for a, b in itertools.pairwise(points):
        d = b - a
        t = np.clip(-(a @ d) / max(d @ d, 1e-12), 0.0, 1.0)
        closest = a + t * d
        r = np.hypot(*closest)
        if r < clearance and 0.0 < t < 1.0:
            direction = closest / r if r > 1e-6 else np.array([-d[1], d[0]]) / np.hypot(*d)
            out.append(direction * (clearance + 0.5))
        out.append(b)
    return np.array(out)


def _wander(ctx: _Ctx, start: np.ndarray, length_m: float) -> tuple[np.ndarray, np.ndarray]:
    """A random route from ``start`` at least ``length_m`` long; pauses at some waypoints."""
    points = [np.asarray(start, float)]
    total = 0.0
    while total < length_m:
        for _ in range(20):
            nxt = ctx.annulus_point()
            leg = np.hypot(*(nxt - points[-1]))
            if 2.5 <= leg <= 9.0:
                break
        points.append(nxt)
        total += leg
    route = _clear_path(np.array(points), ctx.r_min)
    stops = ctx.rng.random(len(route)) < ctx.stop_probability
    pauses = np.where(stops, ctx.rng.uniform(1.0, 4.0, len(route)), 0.0)
    pauses[0] = 0.0
    return route, pauses


def _continue(ctx: _Ctx, route: np.ndarray, speed: float) -> tuple[np.ndarray, np.ndarray]:
    """``route`` (no pauses) followed by wandering for the rest of the sequence."""
    more, pauses = _wander(ctx, route[-1], speed * ctx.duration_s * 1.3 + 5.0)
    full = _clear_path(np.concatenate([route, more[1:]]), ctx.r_min)
    return full, np.concatenate([np.zeros(len(full) - len(pauses) + 1), pauses[1:]])


def _walker(ctx: _Ctx, group: int = -1, start: np.ndarray | None = None) -> int:
    speed = ctx.speed()
    origin = ctx.annulus_point() if start is None else start
    route, pauses = _wander(ctx, origin, speed * ctx.duration_s * 1.3 + 5.0)
    return ctx.plans.add(route, speed=speed, pauses=pauses, group=group)


def _entering(ctx: _Ctx) -> int:
    """Walks in from the edge of the area some time into the sequence."""
    speed = ctx.speed()
    origin = _polar(ctx.r_max, ctx.rng.uniform(-np.pi, np.pi))
    route, pauses = _wander(ctx, origin, speed * ctx.duration_s + 5.0)
    start = int(ctx.rng.uniform(0.1, 0.6) * ctx.num_frames)
    return ctx.plans.add(route, speed=speed, pauses=pauses, start=start)


def _leaving(ctx: _Ctx) -> int:
    """Wanders for a while, then walks out beyond the edge of the area and is gone."""
    speed = ctx.speed()
    route, pauses = _wander(
        ctx, ctx.annulus_point(), speed * ctx.duration_s * ctx.rng.uniform(0.3, 0.6)
    )
    exit_point = _polar(
        ctx.r_max + 1.0, np.arctan2(route[-1, 1], route[-1, 0]) + ctx.rng.uniform(-0.5, 0.5)
    )
    route = _clear_path(np.vstack([route, exit_point]), ctx.r_min)
    pauses = np.concatenate([pauses, np.zeros(len(route) - len(pauses))])
    return ctx.plans.add(route, speed=speed, pauses=pauses, leaves=True)


def _straight_through(
    ctx: _Ctx, point: np.ndarray, direction: np.ndarray, t_pass_s: float, speed: float
) -> tuple[np.ndarray, int]:
    """A straight leg that passes ``point`` at time ``t_pass_s``; starts later (entering from
    the edge of the area) when it would otherwise start outside the area."""
    reach = np.sqrt(max(ctx.r_max**2 - (point @ point - (point @ direction) ** 2), 1.0))
    before = min(speed * t_pass_s, max(reach + point @ direction, 1.0))
    start = round((t_pass_s - before / speed) * ctx.fps)
    after = ctx.rng.uniform(3.0, 6.0)
    return np.array([point - before * direction, point, point + after * direction]), max(start, 0)


def _tangential_pair(ctx: _Ctx, phi: float, t_cross_s: float) -> None:
    """Two people walking opposite ways across the same line of sight, one behind the other:
    the nearer one occludes the farther one as their azimuths cross."""
    r1 = ctx.rng.uniform(max(ctx.r_min + 1.0, 2.5), min(5.0, ctx.r_max - 2.0))
    r2 = min(r1 + ctx.rng.uniform(1.5, 5.0), ctx.r_max - 0.5)
    side = np.array([-np.sin(phi), np.cos(phi)]) * (1 if ctx.rng.random() < 0.5 else -1)
    for radius, sign in ((r1, 1.0), (r2, -1.0)):
        speed = ctx.speed()
        leg, start = _straight_through(ctx, _polar(radius, phi), sign * side, t_cross_s, speed)
        route, pauses = _continue(ctx, leg, speed)
        ctx.plans.add(route, speed=speed, pauses=pauses, start=start)


def _x_pair(ctx: _Ctx, t_cross_s: float) -> None:
    """Two people whose paths cross on the ground at nearly the same time."""
    q = ctx.annulus_point(max(ctx.r_min + 1.5, 3.0), min(7.0, ctx.r_max - 1.0))
    theta = ctx.rng.uniform(-np.pi, np.pi)
    thetas = (theta, theta + ctx.rng.choice([-1, 1]) * np.radians(ctx.rng.uniform(70, 140)))
    for k, th in enumerate(thetas):
        speed = ctx.speed()
        direction = np.array([np.cos(th), np.sin(th)])
        shift = np.array([-direction[1], direction[0]]) * ctx.rng.uniform(-0.5, 0.5) * k
        t = t_cross_s + ctx.rng.uniform(-0.6, 0.6) * k
        leg, start = _straight_through(ctx, q + shift, direction, t, speed)
        route, pauses = _continue(ctx, _clear_path(leg, ctx.r_min), speed)
        ctx.plans.add(route, speed=speed, pauses=pauses, start=start)


def _group(ctx: _Ctx, size: int) -> None:
    """``size`` people walking side by side (and stopping together)."""
    group = max(ctx.plans.groups, default=-1) + 1
    leader = _walker(ctx, group=group)
    gap = ctx.rng.uniform(0.6, 0.8)
    lateral = (gap, -gap, 2 * gap)
    for k in range(size - 1):
        ctx.plans.add_follower(leader, (ctx.rng.uniform(-0.15, 0.15), lateral[k]))


def _seam_line(ctx: _Ctx, group_size: int = 1) -> None:
    """Walks straight across the seam behind the camera (x = -d), then wanders."""
    d = ctx.rng.uniform(max(ctx.r_min + 0.5, 2.0), min(8.0, ctx.r_max - 1.0))
    a = ctx.rng.uniform(4.0, 7.0) * (1 if ctx.rng.random() < 0.5 else -1)
    speed = ctx.speed()
    route, pauses = _continue(ctx, np.array([[-d, a], [-d, -a]]), speed)
    if group_size == 1:
        ctx.plans.add(route, speed=speed, pauses=pauses)
        return
    group = max(ctx.plans.groups, default=-1) + 1
    leader = ctx.plans.add(route, speed=speed, pauses=pauses, group=group)
    ctx.plans.add_follower(leader, (0.0, 0.7))


def _seam_arc(ctx: _Ctx) -> None:
    """Walks round the camera on an arc across the seam, then back, then wanders."""
    r = ctx.rng.uniform(max(ctx.r_min + 1.0, 3.0), min(8.0, ctx.r_max - 1.0))
    half = np.radians(ctx.rng.uniform(40.0, 80.0))
    phis = np.pi + np.linspace(-half, half, 9) * (1 if ctx.rng.random() < 0.5 else -1)
    arc = np.stack([r * np.cos(phis), r * np.sin(phis)], 1)
    speed = ctx.speed()
    route, pauses = _continue(ctx, np.concatenate([arc, arc[-2::-2]]), speed)
    ctx.plans.add(route, speed=speed, pauses=pauses)


def _seam_loiter(ctx: _Ctx) -> None:
    """Dawdles back and forth across the seam with short stops, then wanders."""
    d = ctx.rng.uniform(max(ctx.r_min + 1.0, 2.5), min(6.0, ctx.r_max - 1.0))
    k = ctx.rng.integers(3, 6)
    ys = ctx.rng.uniform(0.8, 2.0, k) * np.where(np.arange(k) % 2 == 0, 1, -1)
    xs = -d + ctx.rng.uniform(-0.5, 0.5, k)
    speed = ctx.speed() * 0.8
    route, pauses = _continue(ctx, np.stack([xs, ys], 1), speed)
    pauses[1:k] = ctx.rng.uniform(0.5, 2.0, k - 1)
    ctx.plans.add(route, speed=speed, pauses=pauses)


# Each scenario is a list of (people, builder(ctx, part index, total people)) parts, added in
# turn while people remain; when a part does not fit any more, the next one that fits is used.
_Part = tuple[int, Callable[[_Ctx, int, int], None]]


def _fill(ctx: _Ctx, parts: list[_Part], n: int) -> None:
    k = 0
    while len(ctx.plans) < n:
        left = n - len(ctx.plans)
        fitting = [part for part in parts[k % len(parts) :] + parts if part[0] <= left]
        if fitting:
            fitting[0][1](ctx, k, n)
        else:
            _walker(ctx)
        k += 1


def _crossing_time(ctx: _Ctx, k: int, n: int) -> float:
    """Crossing times of successive pairs spread over the sequence."""
    slot = (k + 1) / (max(n // 2, 1) + 1)
    return ctx.duration_s * float(np.clip(slot + ctx.rng.uniform(-0.08, 0.08), 0.15, 0.85))


_PARTS: dict[str, list[_Part]] = {
    "mixed": [
        (
            2,
            lambda c, k, m: _tangential_pair(
                c, c.rng.uniform(-np.pi, np.pi), c.duration_s * c.rng.uniform(0.3, 0.7)
            ),
        ),
        (1, lambda c, k, m: _seam_line(c)),
        (2, lambda c, k, m: _group(c, 2)),
        (1, lambda c, k, m: _entering(c)),
        (1, lambda c, k, m: _leaving(c)),
        (1, lambda c, k, m: _walker(c)),
        (2, lambda c, k, m: _x_pair(c, c.duration_s * c.rng.uniform(0.3, 0.7))),
        (1, lambda c, k, m: _seam_arc(c)),
    ],
    "crossing": [
        (
            2,
            lambda c, k, m: _tangential_pair(
                c, c.rng.uniform(-np.pi, np.pi), _crossing_time(c, k, m)
            ),
        ),
        (2, lambda c, k, m: _x_pair(c, _crossing_time(c, k, m))),
    ],
    "groups": [
        (3, lambda c, k, m: _group(c, 3)),
        (2, lambda c, k, m: _group(c, 2)),
    ],
    "seam": [
        (1, lambda c, k, m: _seam_line(c)),
        (1, lambda c, k, m: _seam_arc(c)),
        (1, lambda c, k, m: _seam_loiter(c)),
        (2, lambda c, k, m: _seam_line(c, group_size=2)),
    ],
    "crowd": [
        (1, lambda c, k, m: _walker(c)),
        (3, lambda c, k, m: _group(c, 3)),
        (1, lambda c, k, m: _walker(c)),
        (1, lambda c, k, m: _entering(c)),
        (2, lambda c, k, m: _group(c, 2)),
        (1, lambda c, k, m: _leaving(c)),
        (
            2,
            lambda c, k, m: _tangential_pair(
                c, c.rng.uniform(-np.pi, np.pi), c.duration_s * c.rng.uniform(0.2, 0.8)
            ),
        ),
    ],
}


def make_scene(
    scenario: str = "mixed",
    num_people: int | None = None,
    num_frames: int = 200,
    fps: float = 10.0,
    seed: int = 0,
    *,
    min_radius_m: float = 1.5,
    max_radius_m: float = 12.0,
    stop_probability: float = 0.25,
    similar_group_clothes: float = 0.5,
) -> Scene:
    """A seeded scene of people walking around the camera.

    Scenarios (:data:`SCENARIOS`, default people in :data:`DEFAULT_PEOPLE`):

    * ``"mixed"``: a bit of everything: two people passing behind each other, a seam crossing,
      a pair walking side by side, someone entering late, someone leaving, paths crossing.
    * ``"crossing"``: pairs walking opposite ways along the same line of sight at different
      distances (the near one occludes the far one) and pairs whose paths cross on the ground.
    * ``"groups"``: groups of two and three walking side by side and stopping together, often in
      near-identical dark clothes.
    * ``"seam"``: everyone crosses azimuth 180° behind the camera: straight, on arcs, dawdling
      back and forth, and a pair side by side.
    * ``"crowd"``: many people (groups, wanderers, entering, leaving) in a smaller area.

    Args:
        scenario: one of :data:`SCENARIOS`.
        num_people: people in the scene (0 allowed); None = the scenario's default.
        num_frames: frames.
        fps: frames per second.
        seed: random seed; the same arguments give the same scene.
        min_radius_m: routes keep at least this far from the camera (people may be pushed a
            little closer when avoiding each other, never nearer than ~0.8 m + body radius).
        max_radius_m: edge of the walking area; people enter and leave there.
        stop_probability: chance of stopping for 1-4 s at each waypoint of a wandering route.
        similar_group_clothes: chance that a group dresses alike (see
            :func:`mplt.synthetic.scene.sample_looks`).

    Raises:
        ValueError: unknown scenario or out-of-range arguments.
    """
    if scenario not in DEFAULT_PEOPLE:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    n = DEFAULT_PEOPLE[scenario] if num_people is None else int(num_people)
    if n < 0 or num_frames < 1 or fps <= 0:
        raise ValueError(
            f"need num_people >= 0, num_frames >= 1 and fps > 0, got {n}, {num_frames}, {fps}"
        )
    if not 0.5 <= min_radius_m < max_radius_m - 3.0:
        raise ValueError(
            f"need 0.5 <= min_radius_m < max_radius_m - 3, got {min_radius_m}, {max_radius_m}"
        )
    if scenario == "crowd":
        max_radius_m = min(max_radius_m, 10.0)
    rng = np.random.default_rng([seed, SCENARIOS.index(scenario)])
    ctx = _Ctx(rng, Plans(), num_frames, float(fps), min_radius_m, max_radius_m, stop_probability)
    _fill(ctx, _PARTS[scenario], n)
    groups = np.array(ctx.plans.groups, np.int64).reshape(-1)
    heights, radii, colours = sample_looks(rng, groups, similar_group_clothes)
    positions, headings = simulate(ctx.plans, num_frames, fps, radii)
    return Scene(
        positions=positions,
        heights=heights,
        radii=radii,
        colours=colours,
        fps=float(fps),
        headings=headings,
        groups=groups,
        scenario=scenario,
    )
