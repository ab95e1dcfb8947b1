"""Where the feet are: the detector's box bottom against :class:`mplt.feet.FootFinder`'s row.

Run from the repository root (the lab's recorded detections, ``bench/tracker_lab.py``)::

    python bench/foot_rows.py

For PETS S2L1 with the Faster R-CNN and the YOLOv8s boxes, perspective and placed on the
2048x1024 panorama, the frames are streamed through a ``FootFinder`` with the default
``feet`` settings (no labels; the background is learnt from the frames seen so far). Writes
``bench/results/foot_rows.md``:
for detections matched to the ground truth (IoU >= 0.5), the box bottom's and the foot row's
offset from the ground-truth box bottom (in ground-truth box heights), the share of boxes given
a foot row, and the localizer's median ground error of the single detections with either row.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import compare_trackers as ct
import cv2
import numpy as np
import tracker_lab as lab

from core.config import apply_override, config_from_dict, config_to_dict, kwargs_of, updated
from mplt.config import TrackConfig
from mplt.eval.matching import match_pairs, similarity
from mplt.eval.sequences import read_table
from mplt.feet import FootFinder
from mplt.geometry import build_camera
from mplt.localize import Localizer

OUT = Path(__file__).resolve().parent / "results" / "foot_rows.md"
LABELS = (
    "PETS perspective, YOLOv8s/PETS09-S2L1",
    "PETS perspective/PETS09-S2L1",
    "PETS 360, height given/PETS09-S2L1",
)


def measure(label: str) -> list[str]:
    seq = next(s for s in ct.real_suite() if s.label == label)
    data = pickle.loads(lab.record(seq).read_bytes())
    cfg_dict = config_to_dict(TrackConfig())
    for assignment in seq.overrides:
        apply_override(cfg_dict, assignment)
    cfg = config_from_dict(TrackConfig, cfg_dict)
    camera = build_camera(
        updated(cfg.camera, {"height_m": data["camera"]["height_m"]}), (seq.width, seq.height)
    )
    localizer = Localizer(camera, **kwargs_of(cfg.localize))
    finder = FootFinder(camera, **kwargs_of(cfg.feet, exclude=("source",)))
    detections = {d.frame_index: d for d in data["detections"]}
    gt = read_table(seq.gt)
    width = seq.width if seq.panorama else None
    stats: dict[str, list] = {"box bottom": [], "foot row": []}
    found = total = 0
    cap = cv2.VideoCapture(str(seq.video))
    t = -1
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        t += 1
        dets = detections.get(t)
        if dets is None:
            continue
        feet = finder.update(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), dets.boxes)
        g = np.flatnonzero((gt.frames == t) & gt.evaluated)
        if not len(g) or not len(dets):
            continue
        rows, cols = match_pairs(similarity(gt.boxes[g], dets.boxes, width), 0.5)
        truth, truth_xy = gt.boxes[g[rows]], gt.ground_xy[g[rows]]
        height = truth[:, 3] - truth[:, 1]
        boxes, seen = dets.boxes[cols], feet[cols]
        found += int(np.isfinite(seen).sum())
        total += len(cols)
        for name, foot in (("box bottom", None), ("foot row", seen)):
            err = np.linalg.norm(localizer.localize(boxes, foot).ground_xy - truth_xy, axis=1)
            bottom = boxes[:, 3] if foot is None else np.where(np.isfinite(foot), foot, boxes[:, 3])
            keep = np.isfinite(err)
            stats[name] += zip(((bottom - truth[:, 3]) / height)[keep], err[keep], strict=True)
    lines = [f"{label}: {found}/{total} matched boxes given a foot row", ""]
    lines += ["| bottom from | offset from the truth, median | IQR | ground error, median |"]
    lines += ["|---|---:|---:|---:|"]
    for name, values in stats.items():
        offset, err = np.array(values).T
        iqr = np.percentile(offset, 75) - np.percentile(offset, 25)
        lines.append(f"| {name} | {np.median(offset):+.3f} | {iqr:.3f} | {np.median(err):.3f} m |")
    print("\n".join(lines), flush=True)
    return [*lines, ""]


def main() -> int:
    lines = [
        "# Foot rows: box bottoms against the foreground's (`python bench/foot_rows.py`)",
        "",
        "PETS09-S2L1 (first 400 frames) with the real detections the lab records "
        "(`bench/tracker_lab.py`), the default `feet` settings, streamed; detections matched "
        "to the ground truth at IoU 0.5. Offsets in ground-truth box heights (+ is lower).",
        "",
    ]
    for label in LABELS:
        lines += measure(label)
    OUT.write_text("\n".join(lines))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
