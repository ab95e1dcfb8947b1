"""Fit the synthetic detection model (:class:`mplt.synthetic.DetectionNoise`) to real
detectors on real footage, so that the synthetic suite is as unkind as a real detector.

Run from the repository root::

    python bench/fit_detection_noise.py [--out bench/results/detection_noise.md]

Data (``bench/realdata.py``, ``../shared/data``): PETS 2009 S2L1 with the Faster R-CNN
detections that come with it and with the offline YOLOv8s; TUD-Stadtmitte and TUD-Campus with
the YOLOv8s. Detections at the trackers' threshold (``compare_trackers.MIN_SCORE``), matched to
the ground truth one to one per frame at IoU >= 0.5 (Hungarian). Measured, per detector:

* recall against the visible fraction (:func:`occlusion_visibility` of the ground-truth boxes),
  fitted by ``recall``, ``min_visible`` and ``full_visible`` (least squares over the binned
  curve, a grid);
* the mean length of a person's runs of misses (``miss_run_frames``);
* box-edge jitter: the robust standard deviation (1.4826 MAD) of the matched edges' offsets,
  y edges over the box height (``jitter``) and x edges over its width (``jitter_x``);
* false positives per frame (unmatched detections) and the matched scores' spread
  (``score_std``).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
import realdata as rd
from compare_trackers import MIN_SCORE
from scipy.optimize import linear_sum_assignment

from mplt.geometry.boxes import box_iou
from mplt.synthetic import DetectionNoise, occlusion_visibility

ROOT = Path(__file__).resolve().parents[1]
BINS = np.linspace(0.0, 1.0, 11)


def _xyxy(rows: np.ndarray) -> np.ndarray:
    x1, y1 = rows[:, 2] - 1.0, rows[:, 3] - 1.0
    return np.column_stack([x1, y1, x1 + rows[:, 4], y1 + rows[:, 5]])


def measure(gt: np.ndarray, det: np.ndarray) -> dict:
    """Statistics of detections ``det`` (MOT det rows) against ground truth ``gt`` (MOT rows,
    flag 0 = ignore)."""
    gt = gt[gt[:, 6] != 0]
    det = det[det[:, 6] >= MIN_SCORE]
    frames = np.unique(gt[:, 0]).astype(int)
    visible, hit, offsets, scores = [], [], [], []
    false_pos = 0
    seen: dict[int, list[tuple[int, bool]]] = {}
    for f in frames:
        g, d = gt[gt[:, 0] == f], det[det[:, 0] == f]
        gb, db = _xyxy(g), _xyxy(d)
        fraction, _ = occlusion_visibility(gb)
        matched = np.zeros(len(g), bool)
        used = np.zeros(len(d), bool)
        if len(d):
            iou = box_iou(gb, db)
            rows, cols = linear_sum_assignment(-iou)
            ok = iou[rows, cols] >= 0.5
            rows, cols = rows[ok], cols[ok]
            matched[rows], used[cols] = True, True
            size = np.tile(gb[rows, 2:] - gb[rows, :2], 2)
            offsets.append((db[cols] - gb[rows]) / size)
            scores.append(d[cols, 6])
        false_pos += int((~used).sum())
        visible.append(fraction)
        hit.append(matched)
        for person, m in zip(g[:, 1].astype(int), matched, strict=True):
            seen.setdefault(person, []).append((int(f), bool(m)))
    visible, hit = np.concatenate(visible), np.concatenate(hit)
    runs = []
    for frames_hits in seen.values():
        run = 0
        last = None
        for f, m in sorted(frames_hits):
            if last is not None and f != last + 1 and run:
                runs.append(run)
                run = 0
            if m and run:
                runs.append(run)
                run = 0
            elif not m:
                run += 1
            last = f
        if run:
            runs.append(run)
    off = np.concatenate(offsets)
    mad = np.median(np.abs(off - np.median(off, axis=0)), axis=0)
    which = np.digitize(visible, BINS[1:-1])
    curve = np.array([hit[which == k].mean() if (which == k).any() else np.nan for k in range(10)])
    counts = np.bincount(which, minlength=10)
    return {
        "boxes": len(gt),
        "frames": len(frames),
        "recall": float(hit.mean()),
        "curve": curve,
        "counts": counts,
        "miss_run_frames": float(np.mean(runs)) if runs else 1.0,
        "jitter_edges": 1.4826 * mad,
        "jitter_x": float(np.mean(1.4826 * mad[[0, 2]])),
        "jitter": float(np.mean(1.4826 * mad[[1, 3]])),
        "false_positives": false_pos / len(frames),
        "score_std": float(np.std(np.concatenate(scores))),
    }


def fit_visibility(curve: np.ndarray, counts: np.ndarray) -> tuple[float, float, float]:
    """recall, min_visible, full_visible whose recall-against-visibility ramp is nearest to the
    binned ``curve`` (weighted by ``counts``)."""
    centres = 0.5 * (BINS[:-1] + BINS[1:])
    ok = np.isfinite(curve) & (counts > 0)
    best, best_err = (0.9, 0.25, 0.75), np.inf
    for full in np.round(np.arange(0.1, 1.001, 0.05), 2):
        for low in np.round(np.arange(0.0, full - 0.049, 0.05), 2):
            noise = DetectionNoise(recall=1.0, min_visible=low, full_visible=full)
            ramp = noise.visibility_weight(centres[ok])
            w = counts[ok]
            # the best recall for this ramp in closed form (weighted least squares)
            recall = float(
                np.clip((w * ramp * curve[ok]).sum() / max((w * ramp**2).sum(), 1e-9), 0, 1)
            )
            err = float((w * (recall * ramp - curve[ok]) ** 2).sum())
            if err < best_err:
                best, best_err = (recall, float(low), float(full)), err
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "detection_noise.md"
    )
    args = parser.parse_args()
    clips = rd.clips()
    runs = []
    pets = clips.get("PETS09-S2L1")
    if pets is not None:
        runs += [("Faster R-CNN", pets, "frcnn"), ("YOLOv8s", pets, "yolov8s")]
    for name in ("TUD-Stadtmitte", "TUD-Campus"):
        if name in clips:
            runs.append(("YOLOv8s", clips[name], "yolov8s"))
    if not runs:
        print("error: no real clips in ../shared/data; nothing to fit", file=sys.stderr)
        return 2
    default = DetectionNoise()
    lines = [
        "# The synthetic detection model fitted to real detectors",
        "",
        "Written by `python bench/fit_detection_noise.py` (see its docstring for the method). "
        f"Detections >= {MIN_SCORE} (what the trackers get), IoU 0.5. "
        "The `DetectionNoise` defaults (wave 1, chosen on no data) are in the last row.",
        "",
        "| detector | clip | GT boxes | recall | fitted recall | min_visible | full_visible "
        "| miss_run_frames | jitter | jitter_x | jitter x1 y1 x2 y2 | false_positives / frame "
        "| score_std |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    curves = []
    for detector, clip, key in runs:
        stats = measure(rd.gt_rows(clip), rd.clip_detections(clip, key))
        recall, low, full = fit_visibility(stats["curve"], stats["counts"])
        edges = " ".join(f"{v:.3f}" for v in stats["jitter_edges"])
        lines.append(
            f"| {detector} | {clip.name} | {stats['boxes']} | {stats['recall']:.3f} | {recall:.2f} "
            f"| {low:.2f} | {full:.2f} | {stats['miss_run_frames']:.1f} | {stats['jitter']:.3f} "
            f"| {stats['jitter_x']:.3f} | {edges} | {stats['false_positives']:.2f} "
            f"| {stats['score_std']:.3f} |"
        )
        curves.append((detector, clip.name, stats["curve"], stats["counts"]))
        print(lines[-1], flush=True)
    lines.append(
        f"| defaults | - | - | - | {default.recall:.2f} | {default.min_visible:.2f} "
        f"| {default.full_visible:.2f} | {default.miss_run_frames:.1f} | {default.jitter:.3f} "
        "| - | - "
        f"| {default.false_positives:.2f} | {default.score_std:.3f} |"
    )
    lines += [
        "",
        "Recall against the visible fraction (bins of 0.1; boxes per bin in brackets):",
        "",
        "| detector | clip | "
        + " | ".join(f"{a:.1f}-{b:.1f}" for a, b in itertools.pairwise(BINS))
        + " |",
        "|---|---|" + "---:|" * 10,
    ]
    for detector, name, curve, counts in curves:
        cells = [f"{c:.2f} ({n})" if n else "-" for c, n in zip(curve, counts, strict=True)]
        lines.append(f"| {detector} | {name} | " + " | ".join(cells) + " |")
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
