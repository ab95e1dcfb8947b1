"""Where the feet are: the detector's box bottom against the bottom of the foreground.

Run from the repository root (the lab's recorded detections, ``bench/tracker_lab.py``)::

    python bench/foot_rows.py

For PETS perspective with the Faster R-CNN and with the YOLOv8s boxes: a background image is
the median of every 4th frame of the run (static camera; no labels); a detection's foot row is
the lowest row, between 30 % of the box above its bottom and 15 % below, where at least 15 %
of the box's middle half of columns differ from the background by more than 25 grey levels.
Prints, for detections matched to the ground truth (IoU >= 0.5), the box bottom's and the
foreground foot row's offset from the ground-truth box bottom (in ground-truth box heights)
and the localizer's ground error and signed range error with either row.
"""

from __future__ import annotations

import pickle
import sys

import compare_trackers as ct
import cv2
import numpy as np
import tracker_lab as lab

from core.config import apply_override, config_from_dict, config_to_dict, kwargs_of, updated
from mplt.config import TrackConfig
from mplt.eval.matching import match_pairs, similarity
from mplt.eval.sequences import read_table
from mplt.geometry import build_camera
from mplt.localize import Localizer

LABELS = ("PETS perspective, YOLOv8s/PETS09-S2L1", "PETS perspective/PETS09-S2L1")


def grey_frames(video) -> np.ndarray:
    """(T, H, W) uint8 frames of ``video``."""
    cap = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    return np.stack(frames)


def foot_rows(foreground: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(N,) the foreground's lowest row near each box's bottom (NaN where none)."""
    out = np.full(len(boxes), np.nan)
    for k, (x1, y1, x2, y2) in enumerate(boxes):
        h, w = y2 - y1, x2 - x1
        c0, c1 = int(max(0, x1 + 0.25 * w)), int(min(foreground.shape[1], x2 - 0.25 * w))
        r0, r1 = int(max(0, y2 - 0.3 * h)), int(min(foreground.shape[0], y2 + 0.15 * h))
        if c1 <= c0 or r1 <= r0:
            continue
        rows = np.flatnonzero(foreground[r0:r1, c0:c1].mean(axis=1) >= 0.15)
        if len(rows):
            out[k] = r0 + rows[-1] + 1
    return out


def main() -> int:
    for label in LABELS:
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
        centre = camera.center()[:2]
        video = grey_frames(seq.video)
        background = np.median(video[::4], axis=0).astype(np.int16)
        gt = read_table(seq.gt)
        stats: dict[str, list] = {"box": [], "foreground": []}
        for dets in data["detections"]:
            t = dets.frame_index
            g = np.flatnonzero((gt.frames == t) & gt.evaluated)
            if not len(g) or not len(dets) or t >= len(video):
                continue
            rows, cols = match_pairs(similarity(gt.boxes[g], dets.boxes, None), 0.5)
            foreground = np.abs(video[t].astype(np.int16) - background) > 25
            boxes = dets.boxes[cols]
            feet = foot_rows(foreground, boxes)
            ok = np.isfinite(feet)
            refined = boxes.copy()
            refined[ok, 3] = feet[ok]
            truth = gt.boxes[g[rows]]
            truth_xy = gt.ground_xy[g[rows]]
            height = truth[:, 3] - truth[:, 1]
            for name, b in (("box", boxes), ("foreground", refined)):
                err = localizer.localize(b[ok]).ground_xy - truth_xy[ok]
                ray = truth_xy[ok] - centre
                ray /= np.linalg.norm(ray, axis=1, keepdims=True)
                known = np.isfinite(err).all(axis=1)
                offset = (b[ok, 3] - truth[ok, 3]) / height[ok]
                stats[name] += zip(
                    offset[known],
                    np.linalg.norm(err[known], axis=1),
                    (err * ray).sum(axis=1)[known],
                    strict=True,
                )
        for name, values in stats.items():
            offset, err, radial = np.array(values).T
            print(
                f"{label} {name:10s} n {len(err)} bottom offset median {np.median(offset):+.3f} "
                f"IQR {np.percentile(offset, 25):+.3f}..{np.percentile(offset, 75):+.3f} | "
                f"ground error median {np.median(err):.3f} m, range error median "
                f"{np.median(radial):+.3f} IQR {np.percentile(radial, 25):+.3f}.."
                f"{np.percentile(radial, 75):+.3f} m"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
