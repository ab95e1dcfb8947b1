"""Speed of ``DeepSortTracker.update`` and of its Kalman step, on one CPU core.

Run from the repository root::

    python bench/bench_tracker.py [--frames 1000] [--people 30] [--repeats 3]

Scenes: people walking round a 360° camera (``mplt/synthetic/scripted.py``), ground mode with
512-d embeddings and ``nn_budget`` 100, then image mode on the same boxes with the panorama's
seam-aware box space (``mplt.geometry.BoxSpace``; ground mode gets a flat one, as a tracker
without a camera would). Detections are built
before timing; only ``update()`` is timed. The Kalman section compares the batched numpy filter
the tracker uses with one ``filterpy.kalman.KalmanFilter`` object per track, for 30 tracks:
predict, gating against 30 detections, and update.
"""

from __future__ import annotations

import argparse
import os
import time

# One core, as the target says; must be set before numpy loads BLAS.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np

from mplt.geometry import BoxSpace
from mplt.synthetic.scripted import (
    WIDTH,
    Person,
    as_image_detections,
    circle,
    id_switches,
    make_scene,
    run_tracker,
)
from trackers import DeepSortTracker
from trackers.kalman import GroundModel


def _pacing(centre: np.ndarray, direction: np.ndarray, half_length: float, speed: float):
    """A person walking back and forth along a segment (so always in view)."""
    period = 4.0 * half_length / speed

    def position(t: float) -> np.ndarray:
        phase = (t / period) % 1.0
        along = half_length * (4.0 * abs(phase - 0.5) - 1.0)  # triangle wave in [-L, L]
        return centre + along * direction

    return Person(position=position)


def _people(n: int, rng: np.random.Generator) -> list:
    """Two thirds walk circles round the camera (2-20 m, either way); the others pace back
    and forth along 24 m lines through the scene, crossing everybody's paths."""
    people = []
    for i in range(n):
        if i % 3:
            speed = rng.uniform(0.6, 1.6) * rng.choice([-1.0, 1.0])
            people.append(circle(rng.uniform(2, 20), speed, rng.uniform(0, 360)))
        else:
            heading = rng.uniform(0, 2 * np.pi)
            direction = np.array([np.cos(heading), np.sin(heading)])
            centre = np.array([-direction[1], direction[0]]) * rng.uniform(-8, 8)
            people.append(_pacing(centre, direction, 12.0, rng.uniform(0.8, 1.6)))
    return people


def _time_updates(make_tracker, frames: list, repeats: int, warmup: int = 20) -> str:
    """Run the frames through fresh trackers ``repeats`` times; best and median ms/frame.

    The best run is the least disturbed by other processes; the median shows the spread.
    """
    runs = []
    for _ in range(repeats):
        tracker = make_tracker()
        for dets in frames[:warmup]:
            tracker.update(dets)
        live = 0
        start = time.perf_counter()
        for dets in frames[warmup:]:
            live += len(tracker.update(dets))
        runs.append((time.perf_counter() - start) / (len(frames) - warmup) * 1e3)
    live_per_frame = live / (len(frames) - warmup)
    return (
        f"best {min(runs):.3f} ms/frame, median {np.median(runs):.3f} "
        f"({live_per_frame:.1f} live tracks/frame)"
    )


def _bench_kalman(n: int, repeats: int) -> dict[str, float]:
    """Microseconds per frame for n tracks, batched numpy vs one filterpy object per track:
    predict + update alone, and with the (n x n) Mahalanobis gating matrix."""
    rng = np.random.default_rng(0)
    model = GroundModel(accel_std=5.0, init_speed_std=1.5)
    dt = 1.0 / 30.0
    z = rng.uniform(-10, 10, (n, 2))
    R = np.broadcast_to(np.diag([0.04, 0.01]), (n, 2, 2)).copy()
    x0, P0 = model.initiate(z, R)
    Q = model.process_noise(x0, dt)
    H = model.measurement_matrix()

    def batched(gating: bool) -> None:
        x, P = x0, P0
        for _ in range(repeats):
            x, P = model.predict(x, P, dt)
            if gating:
                model.gating_distance(x, P, z, R)
            x, P = model.update(x, P, z, R)

    def objects(gating: bool) -> None:
        filters = [model.make_filterpy(x0[i], P0[i], dt) for i in range(n)]
        for _ in range(repeats):
            for kf in filters:
                kf.predict(Q=Q)
            if gating:  # what a per-object tracker does: one innovation covariance per pair
                for kf in filters:
                    HPH, hx = H @ kf.P @ H.T, (H @ kf.x).ravel()
                    for j in range(n):
                        y = z[j] - hx
                        y @ np.linalg.solve(HPH + R[j], y)
            for i, kf in enumerate(filters):
                kf.update(z[i], R=R[i])

    out = {}
    for name, fn in (("batched", batched), ("filterpy objects", objects)):
        for gating in (False, True):
            start = time.perf_counter()
            fn(gating)
            label = f"{name}, predict+update" + (" + gating" if gating else "")
            out[label] = (time.perf_counter() - start) / repeats * 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--people", type=int, default=30)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    scene = make_scene(_people(args.people, rng), args.frames, embedding_dim=args.dim, seed=1)
    image_scene = as_image_detections(scene)

    flat, panorama = BoxSpace(), BoxSpace(WIDTH)
    emb = f"{args.dim}-d embeddings, nn_budget 100"

    def ground() -> DeepSortTracker:
        return DeepSortTracker(box_space=flat, mode="ground")

    timing = _time_updates(ground, scene.frames, args.repeats)
    print(f"ground mode, {args.people} people, {emb}: {timing}")
    no_emb = [d.replace(embeddings=None) for d in scene.frames]
    timing = _time_updates(ground, no_emb, args.repeats)
    print(f"ground mode, no embeddings: {timing}")
    timing = _time_updates(
        lambda: DeepSortTracker(box_space=panorama, mode="image"), image_scene.frames, args.repeats
    )
    print(f"image mode (panorama box space), {emb}: {timing}")

    grid, _ = run_tracker(ground(), scene)
    print(f"(ground mode with embeddings: {id_switches(grid)} identity errors in the scene)")

    print(f"Kalman, {args.people} tracks, {args.people} detections, us/frame:")
    for label, us in _bench_kalman(args.people, repeats=300).items():
        print(f"  {label}: {us:.0f}")


if __name__ == "__main__":
    main()
