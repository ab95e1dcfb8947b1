"""Walking people: route following with smooth turns, stops, groups and collision avoidance.

Every person follows a route of waypoints on the ground (metres), optionally pausing at some of
them. The walker steers its heading towards the next waypoint with a first-order response and a
turn-rate limit (smooth turns, slower in sharp ones), accelerates and brakes at a bounded rate
(stops are gradual), and people never overlap: bodies closer than their radii plus a margin are
pushed apart, and nobody walks through the camera's tripod. Group members walk beside their
leader at a fixed offset in the leader's frame. All of it is integrated with a fixed sub-step,
vectorised over people; the scenario generators in :mod:`mplt.synthetic.scenarios` only write
routes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: A waypoint counts as reached within this distance, metres.
ARRIVE_M = 0.3
#: Time constant of the heading response, seconds, and the largest turn rate, rad/s.
TURN_TAU_S = 0.7
MAX_TURN_RATE = np.radians(100.0)
#: Largest acceleration or braking, m/s^2.
MAX_ACCEL = 1.2
#: Time constant with which a group member closes on its place beside the leader, seconds.
FOLLOW_TAU_S = 0.8
#: Gap kept between two bodies, and between a body and the camera's tripod, metres.
BODY_GAP_M = 0.12
CAMERA_CLEARANCE_M = 0.8
#: People start stepping aside this far (metres, between body surfaces) from someone, at up to
#: this speed, m/s.
COMFORT_GAP_M = 0.6
AVOID_SPEED = 0.6
#: Integration sub-step, seconds.
SUB_STEP_S = 0.02


@dataclass
class Plans:
    """Everyone's routes, as lists while a scenario adds people (see :meth:`add`)."""

    routes: list[np.ndarray] = field(default_factory=list)
    pauses: list[np.ndarray] = field(default_factory=list)
    speeds: list[float] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    leaves: list[bool] = field(default_factory=list)
    leaders: list[int] = field(default_factory=list)
    offsets: list[np.ndarray] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.routes)

    def add(
        self,
        route: np.ndarray,
        *,
        speed: float,
        pauses: np.ndarray | None = None,
        start: int = 0,
        leaves: bool = False,
        group: int = -1,
    ) -> int:
        """Add a walker with its own route (K, 2) metres; returns its index.

        Args:
            route: waypoints; the walker starts at the first one.
            speed: preferred walking speed, m/s.
            pauses: (K,) seconds to stand still on reaching each waypoint (default none).
            start: frame at which the walker appears at ``route[0]``.
            leaves: disappear on reaching the last waypoint (else stand there).
            group: group id for bookkeeping, -1 alone.
        """
        route = np.asarray(route, float).reshape(-1, 2)
        self.routes.append(route)
        self.pauses.append(np.zeros(len(route)) if pauses is None else np.asarray(pauses, float))
        self.speeds.append(float(speed))
        self.starts.append(int(start))
        self.leaves.append(bool(leaves))
        self.leaders.append(-1)
        self.offsets.append(np.zeros(2))
        self.groups.append(group)
        return len(self.routes) - 1

    def add_follower(self, leader: int, offset: tuple[float, float]) -> int:
        """A group member walking at ``offset`` (forward, left) metres from ``leader``."""
        lead_route = self.routes[leader]
        heading = _first_heading(lead_route)
        rot = np.array([[np.cos(heading), -np.sin(heading)], [np.sin(heading), np.cos(heading)]])
        self.routes.append(lead_route[:1] + rot @ np.asarray(offset, float))
        self.pauses.append(np.zeros(1))
        self.speeds.append(self.speeds[leader])
        self.starts.append(self.starts[leader])
        self.leaves.append(self.leaves[leader])
        self.leaders.append(leader)
        self.offsets.append(np.asarray(offset, float))
        self.groups.append(self.groups[leader])
        return len(self.routes) - 1


def _first_heading(route: np.ndarray) -> float:
    if len(route) < 2:
        return 0.0
    d = route[1] - route[0]
    return float(np.arctan2(d[1], d[0]))


def _wrap(angle: np.ndarray) -> np.ndarray:
    return (angle + np.pi) % (2 * np.pi) - np.pi


def simulate(
    plans: Plans, num_frames: int, fps: float, radii: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Walk everyone through their routes.

    Args:
        plans: the routes.
        num_frames: frames to produce.
        fps: frames per second.
        radii: (P,) body radii in metres (for collision avoidance).

    Returns:
        positions (T, P, 2) metres (NaN where absent) and headings (T, P) radians.
    """
    n = len(plans)
    positions = np.full((num_frames, n, 2), np.nan)
    headings = np.zeros((num_frames, n))
    if n == 0:
        return positions, headings
    k_max = max(len(r) for r in plans.routes)
    route = np.full((n, k_max, 2), np.nan)
    pause = np.zeros((n, k_max))
    length = np.array([len(r) for r in plans.routes])
    for p, (r, w) in enumerate(zip(plans.routes, plans.pauses, strict=True)):
        route[p, : len(r)] = r
        pause[p, : len(w)] = w
    speed_pref = np.array(plans.speeds)
    start = np.array(plans.starts)
    leaves = np.array(plans.leaves)
    leader = np.array(plans.leaders)
    offset = np.stack(plans.offsets)
    follower = leader >= 0
    rows = np.arange(n)

    pos = route[:, 0].copy()
    heading = np.array([_first_heading(r) for r in plans.routes])
    speed = np.where(pause[:, 0] > 0, 0.0, speed_pref)
    target = np.minimum(1, length - 1)  # index of the waypoint walked to
    pause_left = pause[:, 0].copy()
    gone = np.zeros(n, bool)
    vel = np.zeros((n, 2))
    substeps = max(1, int(np.ceil(1.0 / (fps * SUB_STEP_S))))
    dt = 1.0 / (fps * substeps)

    for frame in range(num_frames):
        here = (start <= frame) & ~gone
        positions[frame, here] = pos[here]
        headings[frame] = heading
        for _ in range(substeps):
            here = (start <= frame) & ~gone
            # Leaders: pause, advance to the next waypoint, or walk towards it.
            goal = route[rows, target]
            to_goal = goal - pos
            dist = np.hypot(to_goal[:, 0], to_goal[:, 1])
            at_end = target >= length - 1
            reached = (dist < ARRIVE_M) & here & ~follower & (pause_left <= 0)
            starts_pause = reached & (pause[rows, target] > 0)
            pause_left[starts_pause] = pause[rows, target][starts_pause]
            pause[rows[starts_pause], target[starts_pause]] = 0.0  # each pause is taken once
            advance = reached & ~starts_pause & ~at_end
            target[advance] += 1
            gone |= reached & ~starts_pause & at_end & leaves
            pausing = pause_left > 0
            pause_left[pausing & here] -= dt

            goal = route[rows, target]
            to_goal = goal - pos
            dist = np.hypot(to_goal[:, 0], to_goal[:, 1])
            error = _wrap(np.arctan2(to_goal[:, 1], to_goal[:, 0]) - heading)
            turn = np.clip(error / TURN_TAU_S, -MAX_TURN_RATE, MAX_TURN_RATE) * dt
            moving = here & ~follower & ~pausing & (dist > 1e-6)
            heading[moving] += turn[moving]
            # Slow down in sharp turns, and brake ahead of a stop or the end of the route.
            wanted = speed_pref * np.clip(np.cos(error), 0.3, 1.0)
            stop_ahead = (pause[rows, target] > 0) | at_end
            brake = np.sqrt(2 * MAX_ACCEL * np.maximum(dist - ARRIVE_M / 2, 0.0))
            wanted = np.where(stop_ahead, np.minimum(wanted, brake), wanted)
            wanted[pausing] = 0.0
            speed += np.clip(wanted - speed, -MAX_ACCEL * dt, MAX_ACCEL * dt)
            vel = speed[:, None] * np.stack([np.cos(heading), np.sin(heading)], 1)

            # Group members close in on their place beside the leader.
            if follower.any():
                lead = leader[follower]
                c, s = np.cos(heading[lead]), np.sin(heading[lead])
                off = offset[follower]
                place = pos[lead] + np.stack(
                    [c * off[:, 0] - s * off[:, 1], s * off[:, 0] + c * off[:, 1]], 1
                )
                v = vel[lead] + (place - pos[follower]) / FOLLOW_TAU_S
                norm = np.hypot(v[:, 0], v[:, 1])
                v *= np.minimum(1.0, 2.2 / np.maximum(norm, 1e-9))[:, None]
                vel[follower] = v
                walking = norm > 0.2
                f_rows = np.flatnonzero(follower)
                target_heading = np.arctan2(v[:, 1], v[:, 0])
                step = (
                    np.clip(
                        _wrap(target_heading - heading[f_rows]) / TURN_TAU_S,
                        -MAX_TURN_RATE,
                        MAX_TURN_RATE,
                    )
                    * dt
                )
                heading[f_rows[walking]] += step[walking]
                gone[f_rows] = gone[lead]
            vel += _avoidance(pos, radii, np.array(plans.groups), here)
            pos[here] += vel[here] * dt
            _separate(pos, radii, here)
        heading = _wrap(heading)
    return positions, _wrap(headings)


def _avoidance(
    pos: np.ndarray, radii: np.ndarray, groups: np.ndarray, here: np.ndarray
) -> np.ndarray:
    """(P, 2) sidestep velocity away from anyone closer than a comfortable distance.

    People step aside smoothly before they touch (members of one group excepted: they walk
    close on purpose), so the hard separation in :func:`_separate` rarely has to act.
    """
    out = np.zeros_like(pos)
    idx = np.flatnonzero(here)
    if len(idx) < 2:
        return out
    p, r, g = pos[idx], radii[idx], groups[idx]
    d = p[:, None, :] - p[None, :, :]
    dist = np.maximum(np.hypot(d[..., 0], d[..., 1]), 1e-9)
    comfort = r[:, None] + r[None, :] + COMFORT_GAP_M
    push = np.clip((comfort - dist) / COMFORT_GAP_M, 0.0, 1.0) * AVOID_SPEED
    push[(g[:, None] == g[None, :]) & (g[:, None] >= 0)] = 0.0
    np.fill_diagonal(push, 0.0)
    out[idx] = (push[..., None] * d / dist[..., None]).sum(axis=1)
    return out


def _separate(pos: np.ndarray, radii: np.ndarray, here: np.ndarray) -> None:
    """Push overlapping bodies apart (half each) and off the camera's tripod, in place."""
    idx = np.flatnonzero(here)
    if len(idx) == 0:
        return
    p = pos[idx]
    r = radii[idx]
    if len(idx) > 1:
        d = p[:, None, :] - p[None, :, :]
        dist = np.hypot(d[..., 0], d[..., 1])
        np.fill_diagonal(dist, np.inf)
        overlap = np.maximum(r[:, None] + r[None, :] + BODY_GAP_M - dist, 0.0)
        if overlap.any():
            unit = d / np.maximum(dist, 1e-9)[..., None]
            p = p + 0.5 * (overlap[..., None] * unit).sum(axis=1)
    norm = np.hypot(p[:, 0], p[:, 1])
    clearance = r + CAMERA_CLEARANCE_M
    inside = norm < clearance
    p[inside] *= (clearance[inside] / np.maximum(norm[inside], 1e-9))[:, None]
    pos[idx] = p
