"""Tracker-only speed, mplt against ByteTrack, on the real suite's detections, one thread.

Run from the repository root (BoxMOT's venv as for ``bench/compare_trackers.py``)::

    python bench/tracker_speed.py [--repeats 5] [--out bench/results/tracker_speed.md]

``bench/compare_trackers.py`` reports a tracker-only fps too, but it times mplt inside the
whole pipeline (decoding, localization and appearance run between the updates and share the
caches) and each tracker once, so its column swings by 2x between runs on a shared 2-core
machine. Here only ``update()`` is timed, back to back and ``--repeats`` times each, best
run kept: mplt's ``DeepSortTracker`` on the detections ``mplt track`` gives it (recorded by
``bench/tracker_lab.py``: boxes, scores, ground positions from the localizer, colour
features; all computed before the clock starts) and BoxMOT's ByteTrack on the same
sequence's detection file through ``bench/boxmot_runner.py``. Both with one BLAS / torch
thread.
"""

from __future__ import annotations

import os

# one core, as the target says; set before numpy loads BLAS
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import pickle  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import compare_trackers as ct  # noqa: E402
import numpy as np  # noqa: E402
import tracker_lab as lab  # noqa: E402

from core.config import kwargs_of  # noqa: E402
from mplt.localize import Localizer  # noqa: E402


def mplt_seconds(seq: ct.Sequence, repeats: int) -> tuple[float, int]:
    """Best total seconds in ``update()`` over ``repeats`` fresh trackers, and the frames."""
    data = pickle.loads(lab.record(seq).read_bytes())
    cfg = lab.sequence_config(seq)
    camera = lab.recorded_camera(seq, data, cfg)
    frames = data["detections"]
    if camera.has_ground:  # positions as the pipeline gives them, before the clock starts
        localizer = Localizer(camera, **kwargs_of(cfg.localize))
        placed = []
        for dets in frames:
            if len(dets):
                loc = localizer.localize(dets.boxes, dets.foot_rows)
                dets = dets.replace(ground_xy=loc.ground_xy, ground_cov=loc.ground_cov)
            placed.append(dets)
        frames = placed
    best = np.inf
    for _ in range(repeats):
        tracker, _ = lab.recorded_tracker(seq, data, cfg, camera)
        spent = 0.0
        for dets in frames:
            start = time.perf_counter()
            tracker.update(dets)
            spent += time.perf_counter() - start
        best = min(best, spent)
    return best, len(frames)


def bytetrack_seconds(seq: ct.Sequence, repeats: int) -> tuple[float, int]:
    """Best seconds in ByteTrack's ``update()`` over ``repeats`` runs, and the frames."""
    bytetrack = next(t for t in ct.TRACKERS if t.name == "bytetrack")
    with tempfile.TemporaryDirectory() as tmp:
        runs = [ct.run_boxmot(bytetrack, seq, Path(tmp) / "t.txt") for _ in range(repeats)]
    return min(s for s, _ in runs), runs[0][1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, help="also write the table here (markdown)")
    args = parser.parse_args()
    start = time.perf_counter()
    lines = [
        "| sequence | mode | frames | detections / frame | mplt ms / frame "
        "| ByteTrack ms / frame | mplt / ByteTrack |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    ratios = []
    for seq in ct.real_suite():
        if seq.boxes_only_repeat:
            continue
        mine, n = mplt_seconds(seq, args.repeats)
        theirs, m = bytetrack_seconds(seq, args.repeats)
        data = pickle.loads(lab.record(seq).read_bytes())
        per_frame = np.mean([len(d) for d in data["detections"]])
        ratios.append((mine / n) / (theirs / m))
        lines.append(
            f"| {seq.label} | {data['mode']} | {n} | {per_frame:.1f} | {1e3 * mine / n:.2f} "
            f"| {1e3 * theirs / m:.2f} | {ratios[-1]:.2f} |"
        )
        print(lines[-1], flush=True)
    summary = (
        f"mplt's time per frame is {min(ratios):.2f}-{max(ratios):.2f} x ByteTrack's "
        f"(geometric mean {np.exp(np.mean(np.log(ratios))):.2f})."
    )
    print(summary)
    if args.out:
        header = (
            "# Tracker-only speed: mplt against ByteTrack\n\n"
            f"Written by `python bench/tracker_speed.py --repeats {args.repeats}` "
            f"({time.perf_counter() - start:.0f} s on this machine: {os.cpu_count()} CPU "
            f"cores, no GPU; BoxMOT {ct.boxmot_version()}). Only `update()` is timed, one "
            "thread, the best of the repeats; mplt gets the detections `mplt track` gives its "
            "tracker (positions and colour features computed beforehand), ByteTrack the "
            "sequence's detection file. 'detections / frame': what mplt's tracker is given.\n\n"
        )
        args.out.write_text(header + "\n".join(lines) + f"\n\n{summary}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
