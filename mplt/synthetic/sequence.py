"""Ground-truth rows and complete synthetic sequences on disk (``mplt synth``).

:func:`write_sequence` writes one folder::

    video.mp4   H.264 equirectangular video (optional)
    gt.txt      MOTChallenge ground truth: frame,id,left,top,width,height,1,x,y,0
    det.txt     detections derived from it (optional): frame,-1,left,top,width,height,score,-1,-1,-1
    meta.json   every parameter (seed, camera height, noise model, ...) and a few statistics

Frames and pixels are 1-based in the files; boxes that cross the seam are unwrapped
(``left + width`` may exceed the frame width); ``x, y`` is the body centre on the ground in
metres. The same arguments always give identical files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from core.files import write_atomic
from mplt.geometry import Equirectangular
from mplt.io.files import ensure_writable_dir
from mplt.synthetic.detections import DetectionNoise, synthesize_detections
from mplt.synthetic.render import person_boxes, render
from mplt.synthetic.scenarios import DEFAULT_PEOPLE, make_scene
from mplt.synthetic.scene import Scene
from mplt.version import __version__

GT_FORMAT = "%d,%d,%.3f,%.3f,%.3f,%.3f,%d,%.4f,%.4f,%d"
DET_FORMAT = "%d,%d,%.2f,%.2f,%.2f,%.2f,%.3f,%d,%d,%d"


def ground_truth_rows(camera: Equirectangular, scene: Scene) -> np.ndarray:
    """MOTChallenge ground truth (R, 10): frame, id, left, top, w, h, 1, x, y, 0 (1-based).

    Rows are sorted by frame, then id (= person index + 1); only present people have rows.
    """
    frames, people = np.nonzero(np.isfinite(scene.positions).all(axis=2))
    xy = scene.positions[frames, people]
    boxes = person_boxes(camera, xy, scene.heights[people], scene.radii[people])
    n = len(frames)
    return np.column_stack(
        [
            frames + 1,
            people + 1,
            boxes[:, :2] + 1.0,
            boxes[:, 2:] - boxes[:, :2],
            np.ones(n),
            xy,
            np.zeros(n),
        ]
    ).reshape(-1, 10)


def _seam_crossings(boxes: np.ndarray, frames: np.ndarray, people: np.ndarray, width: int) -> int:
    """How often a person's box centre passes between the panorama's right and left edges."""
    centre = np.mod((boxes[:, 0] + boxes[:, 2]) / 2, width)
    order = np.lexsort((frames, people))
    same = (people[order][1:] == people[order][:-1]) & (np.diff(frames[order]) == 1)
    jump = np.abs(np.diff(centre[order])) > width / 2
    return int((same & jump).sum())


def write_sequence(
    out_dir: str | Path,
    *,
    scenario: str = "mixed",
    width: int = 1920,
    camera_height: float = 2.0,
    num_frames: int = 200,
    fps: float = 10.0,
    num_people: int | None = None,
    seed: int = 0,
    video: bool = True,
    detections: bool = True,
    recall: float = 0.9,
    min_visible: float = 0.25,
    full_visible: float = 0.75,
    jitter: float = 0.04,
    false_positives: float = 0.2,
    score_std: float = 0.08,
    visible_boxes: bool = True,
    miss_run_frames: float = 1.0,
    jitter_x: float | None = None,
    min_radius_m: float = 1.5,
    max_radius_m: float = 12.0,
    stop_probability: float = 0.25,
    similar_group_clothes: float = 0.5,
    crf: int = 18,
) -> dict[str, Any]:
    """Write a synthetic 360° sequence with exact ground truth to ``out_dir``.

    Args:
        out_dir: folder to write (created if needed; files in it are replaced).
        scenario: see :func:`mplt.synthetic.make_scene`.
        width: panorama width in pixels (height = width / 2; even).
        camera_height: camera height above the ground, metres.
        num_frames, fps, num_people, seed: the scene (``num_people`` None = the scenario's
            default).
        video: write ``video.mp4``.
        detections: write ``det.txt``.
        recall, min_visible, full_visible, jitter, false_positives, score_std, visible_boxes,
        miss_run_frames, jitter_x:
            the detection noise model, see :class:`mplt.synthetic.detections.DetectionNoise`.
        min_radius_m, max_radius_m, stop_probability, similar_group_clothes: scene options of
            :func:`mplt.synthetic.make_scene`.
        crf: H.264 quality of the video (0 lossless .. 51 worst).

    Returns:
        The content of ``meta.json``: the parameters, the files written and statistics
        (rows, people, seam crossings, mean visible fraction).

    Raises:
        ValueError: invalid scene or noise parameters. UserError: an odd width or an unwritable
        folder.
    """
    out = ensure_writable_dir(out_dir)
    camera = Equirectangular(width, width // 2, camera_height=camera_height)
    noise = DetectionNoise(
        recall=recall,
        min_visible=min_visible,
        full_visible=full_visible,
        jitter=jitter,
        false_positives=false_positives,
        score_std=score_std,
        visible_boxes=visible_boxes,
        miss_run_frames=miss_run_frames,
        jitter_x=jitter_x,
    )
    scene = make_scene(
        scenario,
        num_people,
        num_frames,
        fps,
        seed,
        min_radius_m=min_radius_m,
        max_radius_m=max_radius_m,
        stop_probability=stop_probability,
        similar_group_clothes=similar_group_clothes,
    )
    frames, boxes, fraction, seen_boxes, people = [], [], [], [], []
    writer = None
    if video:
        from mplt.io.video import VideoWriter  # deferred: needs imageio-ffmpeg

        writer = VideoWriter(out / "video.mp4", fps, (camera.width, camera.height), crf=crf)
    try:
        for t in range(num_frames):
            shot = render(camera, scene, t, image=writer is not None)
            if writer is not None and shot.frame is not None:
                writer.write(shot.frame)
            frames.append(np.full(len(shot.people), t))
            people.append(shot.people)
            boxes.append(shot.boxes)
            fraction.append(shot.visible_fraction)
            seen_boxes.append(shot.visible_boxes)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    if writer is not None:
        writer.close()
    frame_of = np.concatenate(frames).astype(np.int64)
    person_of = np.concatenate(people)
    box_all = np.concatenate(boxes).reshape(-1, 4)
    fraction_all = np.concatenate(fraction)

    gt = ground_truth_rows(camera, scene)
    write_atomic(out / "gt.txt", _format(gt, GT_FORMAT))
    files = (["video.mp4"] if video else []) + ["gt.txt"]
    det_rows = 0
    if detections:
        det = synthesize_detections(
            frame_of,
            box_all,
            fraction_all,
            np.concatenate(seen_boxes).reshape(-1, 4),
            num_frames=num_frames,
            image_width=camera.width,
            noise=noise,
            rng=np.random.default_rng([seed, 7919]),  # independent of the scene's stream
            period=camera.width,
            people=person_of,
        )
        write_atomic(out / "det.txt", _format(det, DET_FORMAT))
        files.append("det.txt")
        det_rows = len(det)
    meta = {
        "mplt_version": __version__,
        "generator": "mplt.synthetic.write_sequence",
        "scenario": scenario,
        "seed": seed,
        "num_frames": num_frames,
        "fps": fps,
        "num_people": scene.num_people,
        "default_num_people": DEFAULT_PEOPLE[scenario],
        "camera": {
            "model": "equirect",
            "width": camera.width,
            "height": camera.height,
            "camera_height_m": camera_height,
            "yaw_deg": 0.0,
            "pitch_deg": 0.0,
            "roll_deg": 0.0,
        },
        "scene": {
            "min_radius_m": min_radius_m,
            "max_radius_m": max_radius_m,
            "stop_probability": stop_probability,
            "similar_group_clothes": similar_group_clothes,
        },
        "detection_noise": noise.as_dict() if detections else None,
        "video": {"codec": "h264", "crf": crf} if video else None,
        "files": files + ["meta.json"],
        "stats": {
            "gt_rows": len(gt),
            "det_rows": det_rows,
            "max_people_in_frame": int(np.bincount(frame_of, minlength=1).max())
            if len(frame_of)
            else 0,
            "seam_crossings": _seam_crossings(box_all, frame_of, person_of, camera.width),
            "mean_visible_fraction": round(float(fraction_all.mean()), 4)
            if len(fraction_all)
            else None,
            "occluded_rows": int((fraction_all < 0.5).sum()),
        },
    }
    write_atomic(out / "meta.json", json.dumps(meta, indent=2) + "\n")
    return meta


def _format(rows: np.ndarray, fmt: str) -> str:
    return "".join(fmt % tuple(row) + "\n" for row in rows)
