"""Speed and memory of `mplt track` (a benchmark script, not a test).

Three measurements:

1. ``stages``: per-stage ms/frame (decode, detect, localize, embed, track, write) and end-to-end
   frames/s on a 3840x1920 panorama made of real footage (TUD-Stadtmitte placed three times
   on the sphere, about 20 people), detector included.
2. ``bookkeeping``: localization + tracking (incl. the appearance gallery) for 30 people with
   512-d embeddings on one CPU core; target < 2 ms/frame.
3. ``memory``: peak RSS of a run on a 1-minute and a 10-minute video (given detections, so the
   test is about the pipeline, not the detector); the two should match.

Usage: ``python bench/bench_pipeline.py [stages|bookkeeping|memory|all] [--frames N] [--device D]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from bench_detect import TUD, place, tud_views, view_maps_on_panorama

import mplt
from core.config import updated
from core.types import Detections
from mplt.config import TrackConfig
from mplt.geometry import Equirectangular
from mplt.synthetic import ground_truth_rows, orbiting_scene

REPO = Path(__file__).resolve().parents[1]


def _write_tud_panorama_video(path: Path, camera: Equirectangular, num_frames: int) -> None:
    import imageio.v3 as iio

    first = iio.imread(TUD, index=0)
    placements = [
        view_maps_on_panorama(camera, view) for view in tud_views(first.shape[1], first.shape[0])
    ]
    writer = imageio_ffmpeg.write_frames(
        str(path),
        (camera.width, camera.height),
        fps=25,
        codec="libx264",
        quality=8,
        macro_block_size=1,
    )
    writer.send(None)
    for t, frame in enumerate(iio.imiter(TUD)):
        if t == num_frames:
            break
        pano = np.full((camera.height, camera.width, 3), 100, np.uint8)
        for maps, inside in placements:
            place(pano, frame, maps, inside)
        writer.send(pano)
    writer.close()


def bench_stages(frames: int, device: str) -> dict:
    camera = Equirectangular(3840, 1920, camera_height=2.0)
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "pano4k.mp4"
        _write_tud_panorama_video(video, camera, frames)
        summary = mplt.track(
            video, out=Path(tmp) / "run", camera_height=2.0, overrides=[f"detector.device={device}"]
        ).summary
    return {
        "frame": "3840x1920",
        "frames": summary["frames_processed"],
        "detector": summary["detector"],
        "ms_per_frame": summary["timing"]["ms_per_frame"],
        "fps_end_to_end": summary["timing"]["fps"],
        "detections_per_frame": round(
            summary["counts"]["detections"] / max(summary["frames_processed"], 1), 1
        ),
    }


def bench_bookkeeping(frames: int = 300, people: int = 30, dim: int = 512) -> dict:
    """Localize + track with given boxes and embeddings: the per-frame CPU cost besides models.

    The frames go through :meth:`mplt.PanoramaTracker.update`, as in ``mplt track``; the
    embeddings come with the detections, so no embedder runs (``embedder.kind: none``).
    """
    camera = Equirectangular(3840, 1920, camera_height=2.0)
    scene = orbiting_scene(frames, people, fps=30.0, seed=1, radius_range_m=(2.5, 14.0))
    rows = ground_truth_rows(camera, scene)
    rng = np.random.default_rng(0)
    identity = rng.normal(size=(people, dim))
    cfg = updated(TrackConfig(), {"embedder.kind": "none"})
    tracker = mplt.PanoramaTracker(camera, cfg, fps=30.0)
    frame = np.zeros((camera.height, camera.width, 3), np.uint8)  # read by no stage here
    per_frame = []
    for t in range(frames):
        r = rows[rows[:, 0] == t + 1]
        boxes = np.column_stack(
            [r[:, 2] - 1, r[:, 3] - 1, r[:, 2] - 1 + r[:, 4], r[:, 3] - 1 + r[:, 5]]
        )
        emb = identity[r[:, 1].astype(int) - 1] + 0.3 * rng.normal(size=(len(r), dim))
        emb = (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float32)
        dets = Detections.from_boxes(boxes, np.ones(len(r)), t).replace(embeddings=emb)
        start = time.perf_counter()
        tracker.update(frame, dets)
        per_frame.append(time.perf_counter() - start)
    warm = np.array(per_frame[10:]) * 1000
    seconds = tracker.timer.seconds
    return {
        "people": people,
        "embedding_dim": dim,
        "localize_ms": round(1000 * seconds["localize"] / frames, 3),
        "track_ms": round(1000 * seconds["track"] / frames, 3),
        "total_ms_median": round(float(np.median(warm)), 3),
        "total_ms_p95": round(float(np.percentile(warm, 95)), 3),
    }


def _long_video(path: Path, seconds: int, fps: int) -> None:
    """A cheap-to-make test-pattern video of the given length (1024x512)."""
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    subprocess.run(
        [
            ffmpeg,
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size=1024x512:rate={fps}",
            "-t",
            str(seconds),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-y",
            str(path),
        ],
        check=True,
    )


def bench_memory(fps: int = 10) -> dict:
    camera = Equirectangular(1024, 512, camera_height=2.0)
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in (1, 10):
            frames = minutes * 60 * fps
            video = Path(tmp) / f"{minutes}min.mp4"
            _long_video(video, minutes * 60, fps)
            scene = orbiting_scene(frames, 12, fps=fps, seed=2)
            rows = ground_truth_rows(camera, scene)
            rows[:, 1] = -1
            det = Path(tmp) / f"{minutes}min.txt"
            np.savetxt(det, rows, fmt="%.3f", delimiter=",")
            out = Path(tmp) / f"run{minutes}"
            # A fresh process per run so the peak RSS belongs to that run alone.
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "cli",
                    "track",
                    str(video),
                    "--detections",
                    str(det),
                    "--camera-height",
                    "2",
                    "--out",
                    str(out),
                    "--quiet",
                ],
                check=True,
                cwd=REPO,
                env={**os.environ, "PYTHONPATH": str(REPO)},
            )
            summary = json.loads((out / "summary.json").read_text())
            result[f"{minutes}min"] = {
                "frames": summary["frames_processed"],
                "peak_memory_mb": summary["peak_memory_mb"],
                "fps": summary["timing"]["fps"],
            }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "what", nargs="?", default="all", choices=["stages", "bookkeeping", "memory", "all"]
    )
    parser.add_argument("--frames", type=int, default=10, help="frames for the 4K stage benchmark")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    report = {}
    if args.what in ("bookkeeping", "all"):
        report["bookkeeping"] = bench_bookkeeping()
    if args.what in ("stages", "all"):
        report["stages"] = bench_stages(args.frames, args.device)
    if args.what in ("memory", "all"):
        report["memory"] = bench_memory()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
