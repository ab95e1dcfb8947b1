"""Tracker tuning on real detections: localize and embed once, replay the tracker many times.

Run from the repository root::

    python bench/tracker_lab.py [--set key=value ...] [--localize key=value ...] [--finish]

``mplt track --detections`` is run once per sequence of :func:`compare_trackers.real_suite`
with a recording tracker, which keeps the detections the tracker is given (boxes, scores,
colour features), the camera height and the tracker mode in use in ``bench/.cache/lab``.
Each later call replays only the localizer and the tracker with the given settings (and
with ``--finish`` the offline finishing) and prints HOTA / IDF1 / ID switches / median
ground error per sequence: seconds instead of minutes per setting, the same scores as
``mplt track`` with the same settings (a camera height and tilt estimated from the people,
and the mode ``auto`` chose, are those of the recording). ``--pillar``: the sequences of
:func:`compare_trackers.pillar_suite` instead (long occlusions behind a painted pillar).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import pickle
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import compare_trackers as ct
import numpy as np

import mplt
import trackers.deepsort
from core.config import apply_override, config_from_dict, config_to_dict, kwargs_of, updated
from core.types import TrackState
from mplt.config import TrackConfig
from mplt.eval import run_eval
from mplt.finish import FINISH_FIELDS, Finisher, FinishSettings
from mplt.geometry import Camera, build_camera
from mplt.io.mot import MotWriter
from mplt.localize import Localizer
from trackers import TRACKERS

LAB = ct.rd.CACHE / "lab"


def record(seq: ct.Sequence) -> Path:
    """The detections the tracker gets in ``mplt track`` on ``seq``, pickled once, and again
    when the detections or the video it was recorded from changed (a stamp beside it: the
    detections' digest and the video's size; the footage's mtimes change with every copy)."""
    path = LAB / f"{seq.slug}.pkl"
    stamp_file = path.with_suffix(".inputs.json")
    stamp = {
        "det_sha1": hashlib.sha1(seq.det.read_bytes()).hexdigest(),
        "video_bytes": seq.video.stat().st_size,
    }
    if path.is_file() and stamp_file.is_file() and json.loads(stamp_file.read_text()) == stamp:
        return path
    seen = []
    original = trackers.deepsort.DeepSortTracker.update

    def recording(self, detections):
        seen.append(detections)
        return original(self, detections)

    trackers.deepsort.DeepSortTracker.update = recording
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result = mplt.track(
                seq.video,
                detections=seq.det,
                out=Path(tmp) / "run",
                max_frames=seq.frames,
                # foot rows are recorded whatever the default; the replay's feet.source decides
                overrides=(*seq.overrides, "feet.source=foreground"),
            )
            camera, mode = result.summary["camera"], result.summary["tracker"]["mode"]
    finally:
        trackers.deepsort.DeepSortTracker.update = original
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps({"detections": seen, "camera": camera, "mode": mode}))
    stamp_file.write_text(json.dumps(stamp))
    return path


def sequence_config(seq: ct.Sequence, *assignments: str) -> TrackConfig:
    """The default config with ``seq``'s overrides and then ``assignments`` (key=value)."""
    cfg_dict = config_to_dict(TrackConfig())
    for assignment in seq.overrides + assignments:
        apply_override(cfg_dict, assignment)
    return config_from_dict(TrackConfig, cfg_dict)


def recorded_camera(seq: ct.Sequence, data: dict, cfg: TrackConfig) -> Camera:
    """The camera of ``cfg`` with the height (and tilt, model) the recording ``data`` used."""
    recorded = data["camera"]
    changes = {"height_m": recorded["height_m"]}
    if recorded.get("pitch_deg") is not None:  # the tilt in use (recorded since it is written)
        changes |= {"pitch_deg": recorded["pitch_deg"], "roll_deg": recorded["roll_deg"]}
    if recorded["model"] == "nominal":  # placed from its people
        changes["model"] = "nominal"
    return build_camera(updated(cfg.camera, changes), (seq.width, seq.height))


def recorded_tracker(seq: ct.Sequence, data: dict, cfg: TrackConfig, camera: Camera):
    """A new tracker of ``cfg`` for ``seq`` and its mode (``auto``: the one the recording
    ``data`` used, what mplt.pipeline chose)."""
    mode = cfg.tracker.mode
    if mode == "auto":
        if "mode" not in data:
            raise SystemExit(
                f"{record(seq)} predates the recorded tracker mode: delete it to record again"
            )
        mode = data["mode"]
    tracker = TRACKERS.get(cfg.tracker.name)(
        **kwargs_of(cfg.tracker, exclude=("name", "mode", *FINISH_FIELDS)),
        mode=mode,
        fps=seq.fps,
        box_space=camera.box_space,
    )
    return tracker, mode


def replay(
    seq: ct.Sequence,
    sets: list[str],
    localize: list[str],
    out: Path,
    finish: bool,
    features: Callable[[int, np.ndarray], np.ndarray] | None = None,
    observed: list[tuple[int, int, int, float]] | None = None,
    reverse: bool = False,
) -> Path:
    """Track the recorded detections of ``seq`` with ``sets`` (tracker.key=value) into the MOT
    file ``out``; returns it, or with ``finish`` the finished file written beside it.

    ``features(frame_index, colour)`` replaces each frame's ``(N, D)`` colour features (for
    ``bench/appearance_lab.py``); ``observed`` collects each confirmed track's detected rows
    as ``(track id, 0-based frame, detection index, score)``. ``reverse`` replays the video's
    detections last frame first (frame ``k`` becomes ``n - 1 - k``; score it against
    :func:`reversed_gt`)."""
    data = pickle.loads(record(seq).read_bytes())
    cfg = sequence_config(seq, *sets, *localize)
    camera = recorded_camera(seq, data, cfg)
    tracker, mode = recorded_tracker(seq, data, cfg, camera)
    localizer = Localizer(camera, **kwargs_of(cfg.localize)) if camera.has_ground else None
    finisher = Finisher(camera.box_space, seq.fps, FinishSettings.of(cfg.tracker))
    recorded_dets = data["detections"]
    if reverse:
        last = len(recorded_dets) - 1
        recorded_dets = [d.replace(frame_index=last - d.frame_index) for d in recorded_dets[::-1]]
    with MotWriter(out) as writer:
        for dets in recorded_dets:
            if localizer is not None and len(dets):
                feet = dets.foot_rows if cfg.feet.source == "foreground" else None
                loc = localizer.localize(dets.boxes, feet)
                dets = dets.replace(ground_xy=loc.ground_xy, ground_cov=loc.ground_cov)
            if features is not None and dets.embeddings is not None:
                dets = dets.replace(embeddings=features(dets.frame_index, dets.embeddings))
            tracks = tracker.update(dets)
            if mode == "image" and localizer is not None and len(tracks):
                det = tracks.detection_indices
                xy = np.full((len(tracks), 2), np.nan)
                xy[det >= 0] = dets.ground_xy[det[det >= 0]]
                tracks = dataclasses.replace(tracks, ground_xy=xy)
            confirmed = tracks.select(tracks.states == TrackState.CONFIRMED)
            writer.write(dets.frame_index, confirmed)
            if observed is not None:
                hit = confirmed.detection_indices >= 0
                observed += [
                    (int(t), dets.frame_index, int(d), float(c))
                    for t, d, c in zip(
                        confirmed.ids[hit],
                        confirmed.detection_indices[hit],
                        confirmed.scores[hit],
                        strict=True,
                    )
                ]
            finisher.add(tracks, dets, tracker.take_early_frames())
    if not finish:
        return out
    return finisher.write(out.parent, camera)[0]


def reversed_mot(src: Path, frames: int, out: Path) -> np.ndarray:
    """Write the MOT rows of ``src`` (ground truth or detections) to ``out`` with their frames
    numbered last first (frame ``f`` becomes ``frames + 1 - f``), sorted by the new frame;
    returns the order of ``src``'s rows in ``out`` (to reorder anything aligned with them)."""
    lines = [line for line in src.read_text().splitlines() if line.strip()]
    new = np.array([frames + 1 - int(float(line.split(",", 1)[0])) for line in lines], np.int64)
    order = np.argsort(new, kind="stable")
    out.write_text("".join(f"{new[i]},{lines[i].split(',', 1)[1]}\n" for i in order))
    return order


def reversed_gt(seq: ct.Sequence, out: Path, gt: Path | None = None) -> Path:
    """``seq``'s ground truth (or ``gt``) with its frames numbered last first, the truth of a
    :func:`replay` with ``reverse``: the same people and boxes met in the opposite order,
    another test of association on the same real detections."""
    reversed_mot(gt or seq.gt, seq.frames, out)
    return out


def scored_gt(seq: ct.Sequence, people: bool) -> Path:
    """``seq``'s ground truth; with ``people``, of people rather than visits where someone
    leaves and comes back (:func:`realdata.person_gt`)."""
    person = ct.people_sequence(seq) if people else None
    return seq.gt if person is None else person.gt


def scored_replay(
    seq: ct.Sequence,
    sets: list[str],
    localize: list[str],
    tmp: Path,
    finish: bool,
    *,
    reverse: bool = False,
    people: bool = False,
) -> tuple[Path, Path]:
    """:func:`replay` into the folder ``tmp``; returns the ground truth and the predictions
    as they are scored (:func:`scored_gt`, reversed with ``reverse``; without the boxes on a
    pillar, :func:`compare_trackers.scored_predictions`)."""
    pred = replay(seq, sets, localize, tmp / f"{seq.name}.txt", finish, reverse=reverse)
    gt = scored_gt(seq, people)
    gt = reversed_gt(seq, tmp / "gt.txt", gt) if reverse else gt
    return gt, ct.scored_predictions(seq, pred, tmp / "scored.txt")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", action="append", default=[], help="tracker.key=value")
    parser.add_argument("--localize", action="append", default=[], help="localize.key=value")
    parser.add_argument("--only", nargs="*", help="sequence labels")
    parser.add_argument("--brief", action="store_true", help="one line: HOTA/IDF1/IDSW each")
    parser.add_argument("--finish", action="store_true", help="score tracks_final.txt")
    parser.add_argument("--frcnn", action="store_true", help="only the Faster R-CNN sequences")
    parser.add_argument(
        "--reverse", action="store_true", help="also replay every sequence last frame first"
    )
    parser.add_argument(
        "--pillar",
        action="store_true",
        help="the pillar suite (compare_trackers.pillar_suite: long occlusions) instead",
    )
    parser.add_argument(
        "--people",
        action="store_true",
        help="score against ground truth of people: who comes back keeps the ID (PETS)",
    )
    args = parser.parse_args()
    sets = [s if s.split("=")[0].count(".") else f"tracker.{s}" for s in args.set]
    loc = [s if s.split("=")[0].count(".") else f"localize.{s}" for s in args.localize]
    rows = []
    runs = [
        (seq, backwards)
        for backwards in ((False, True) if args.reverse else (False,))
        for seq in (ct.pillar_suite if args.pillar else ct.real_suite)(skip_yolo=args.frcnn)
        if not args.only or seq.label in args.only
    ]
    for seq, backwards in runs:
        with tempfile.TemporaryDirectory() as tmp:
            gt, pred = scored_replay(
                seq, sets, loc, Path(tmp), args.finish, reverse=backwards, people=args.people
            )
            r = run_eval(gt, pred, width=seq.width if seq.panorama else None).to_dict()
        c = r["combined"]
        ge = (c.get("ground_error") or {}).get("median_m") if seq.ground_comparable else None
        rows.append((c["HOTA"], c["IDF1"], c["IDSW"]))
        if args.brief:
            continue
        label = f"{seq.label}{', reversed' if backwards else ''}"
        print(
            f"{label:28s} HOTA {100 * c['HOTA']:5.1f} IDF1 {100 * c['IDF1']:5.1f} "
            f"IDSW {c['IDSW']:4d} MOTA {100 * c['MOTA']:5.1f} DetA {100 * c['DetA']:4.1f} "
            f"AssA {100 * c['AssA']:4.1f} ids {c['pred_ids']} "
            f"ground {'-' if ge is None else f'{ge:.3f}'}",
            flush=True,
        )
    mean = np.mean(rows, axis=0)
    if args.brief:
        cells = [f"{100 * h:.1f}/{100 * i:.1f}/{n}" for h, i, n in rows]
        if args.reverse:  # forward and reversed means apart: one line each
            half = len(rows) // 2
            for name, part in (("forward", rows[:half]), ("reversed", rows[half:])):
                m = np.mean(part, axis=0)
                print(f"{name} mean {100 * m[0]:.1f}/{100 * m[1]:.1f}/{m[2]:.1f}")
        print(" ".join(cells), f"| mean {100 * mean[0]:.1f}/{100 * mean[1]:.1f}/{mean[2]:.1f}")
        return 0
    print(f"{'mean':28s} HOTA {100 * mean[0]:5.1f} IDF1 {100 * mean[1]:5.1f} IDSW {mean[2]:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
