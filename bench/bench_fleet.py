"""Many videos: the local pool of ``mplt track`` (:mod:`mplt.fleet`) against one process.

Run from the repository root::

    python bench/bench_fleet.py [--videos 4] [--frames 12] [--out bench/results/fleet.md]

Data: synthetic 512 x 256 panoramas (:func:`mplt.synthetic.write_sequence`, 4 people walking
round a camera 2 m high), tracked with the HOG detector on perspective views (a few hundred ms
of CPU work per frame, like a real detector on a small machine). Each configuration tracks the
same videos into a fresh parent folder; wall time from the call to the last index row.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from mplt.api import resolve_track_config
from mplt.fleet import Settings, track_many
from mplt.synthetic import write_sequence

ROOT = Path(__file__).resolve().parents[1]
FLAGS = [
    "detector.backend=hog",
    "detector.panorama_mode=views",
    "embedder.kind=none",
    "camera.height_m=2",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "fleet.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        videos = []
        for i in range(args.videos):
            folder = Path(tmp) / f"seq{i}"
            write_sequence(
                folder, width=512, num_frames=args.frames, num_people=4, seed=i, detections=False
            )
            videos.append(str(folder / "video.mp4"))
        lines = [
            "# Many videos: local pool against one process",
            "",
            f"Written by `python bench/bench_fleet.py --videos {args.videos} --frames "
            f"{args.frames}` on {platform.machine()}, {os.cpu_count()} CPU cores, no GPU. "
            f"{args.videos} synthetic 512 x 256 panoramas of {args.frames} frames, HOG on "
            "perspective views (see the script). Wall time of `track_many`.",
            "",
            "| backend | workers | wall s | videos / min | speed-up |",
            "|---|---:|---:|---:|---:|",
        ]
        base = None
        for backend, workers in (("pool", 1), ("pool", 2), ("ray", 2)):
            settings = Settings(resolve_track_config(None, [*FLAGS, f"fleet.workers={workers}"]))
            started = time.perf_counter()
            track_many(
                videos, settings, Path(tmp) / f"{backend}{workers}", backend=backend, progress=False
            )
            wall = time.perf_counter() - started
            base = base or wall
            lines.append(
                f"| {backend} | {workers} | {wall:.1f} | {60 * args.videos / wall:.1f} "
                f"| {base / wall:.2f} |"
            )
            print(lines[-1], flush=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
