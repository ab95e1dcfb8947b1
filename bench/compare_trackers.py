"""mplt's tracker against ByteTrack, BoT-SORT, OC-SORT (BoxMOT) and DeepSORT on identical
detections: a real suite first, the synthetic 360° suite second.

Run from the repository root (BoxMOT lives in its own virtual environment, see
``bench/boxmot_runner.py``; DeepSORT is ``deep-sort-realtime`` of mplt's environment)::

    python -m venv --system-site-packages bench/.venv-boxmot
    bench/.venv-boxmot/bin/pip install boxmot
    python bench/compare_trackers.py [--suites real synthetic] [--work /tmp/mplt-compare] \
        [--out bench/results/compare_trackers.md]
    python bench/compare_trackers.py --suites pillar --out bench/results/pillar.md

Real suite (``bench/realdata.py``; footage from ``../shared/data``, cached in ``bench/.cache``):

* ``PETS perspective``: PETS 2009 S2L1 View 001, first 400 frames, 768 x 576 at 7 fps, with its
  calibration (``--calib``: ground mode); the Faster R-CNN detections that come with it.
* ``PETS perspective, uncalibrated``: the same without its calibration (mplt only, the others'
  boxes are the same): the camera's height and pitch are estimated from the people.
* ``PETS 360``: the same clip placed exactly on a 2048 x 1024 sphere at its camera centre,
  through the seam; the same Faster R-CNN boxes carried there. Camera height given (7.07 m),
  estimated from the people (``auto``) and unknown (``null``). BoxMOT and DeepSORT see the
  same boxes in all three, so they run once (height given).
* ``TUD perspective``: TUD-Stadtmitte and TUD-Campus (640 x 480, 25 fps, uncalibrated: image
  mode), detections of the offline YOLOv8s run once at confidence 0.05 and cached; every
  tracker gets those >= :data:`MIN_SCORE`, so BYTE-style trackers see the weak ones.
* ``TUD 360``: both TUD clips on a 2048 x 1024 sphere through the seam (people walking along
  the street cross it), as a level 360-degree camera would see them: the nominal 60 degree
  lens and the tilt mplt's perspective self-calibration fits to the clip; their YOLOv8s boxes
  carried there; no camera height: mplt estimates it from the people.
* ``PETS perspective, YOLOv8s``: PETS again with the YOLOv8s detections (weak ones included).

Pillar suite (``--suites pillar``, :func:`pillar_suite`): PETS (perspective and 360, height
given) and TUD-Stadtmitte with a pillar painted over the clip, full height
(:func:`realdata.pillar_clip`): long occlusions of real people with real detections, where
association must hold for seconds with nothing seen. Boxes behind it are in no ground truth,
and no tracker's box there is scored (a don't-care region, :func:`scored_predictions`).

Synthetic suite: :func:`mplt.synthetic.write_sequence` panoramas (1920 x 960, 10 fps, camera
2 m high) with detections from the ground truth and the default
:class:`mplt.synthetic.DetectionNoise`, and again with the noise fitted to the Faster R-CNN on
PETS (:data:`FITTED_NOISE`).

Trackers: ``mplt.track(VIDEO, detections=det.txt)`` (what ``mplt track`` runs; ground mode where
the camera allows, all defaults, colour appearance features included) and, where there is a
ground, also in image mode; BoxMOT's ByteTrack, OC-SORT and BoT-SORT without appearance, and
BoT-SORT fed mplt's colour features of the same boxes; DeepSORT (``bench/deepsort_runner.py``)
with the same colour features. Scores: :func:`mplt.eval.run_eval`, IoU 0.5, seam-aware on
panoramas for every tracker alike; ground error: median distance of matched tracks' ground
positions to the ground truth's (mplt only: the others have no ground positions).
Tracker-only fps: mplt's ``track`` stage time from ``summary.json``; the others' time in
``update()`` (one thread).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import deepsort_runner
import numpy as np
import realdata as rd

import mplt
from mplt.config import CameraConfig, EmbedderConfig
from mplt.io.mot import read_mot
from mplt.io.sources import open_source
from mplt.synthetic import BODY_RADIUS_M, write_sequence

ROOT = Path(__file__).resolve().parents[1]

BOXMOT_PYTHON = ROOT / "bench" / ".venv-boxmot" / "bin" / "python"
RUNNER = ROOT / "bench" / "boxmot_runner.py"

#: Lowest detection score any tracker is given on the real suite (BYTE uses the weak ones).
MIN_SCORE = 0.1
SPHERE_WIDTH = 2048

SYNTH_WIDTH, SYNTH_FRAMES, SYNTH_FPS, CAMERA_HEIGHT = 1920, 150, 10.0, 2.0
SYNTH_SEQUENCES = [
    ("mixed", 0),
    ("mixed", 1),
    ("crossing", 0),
    ("crossing", 1),
    ("groups", 0),
    ("seam", 0),
    ("seam", 1),
    ("crowd", 0),
]
#: Printed under the header of the results file.
NOTE = (
    "BoxMOT trackers run with their packaged defaults except: camera-motion compensation off "
    "(static cameras), `frame_rate` = the sequence fps for ByteTrack and BoT-SORT (it scales "
    "their lost-track buffer), and appearance either off or, for '+ app', mplt's "
    "colour-histogram features of the same boxes, from whole crops (mplt's own runs leave the "
    "background out with its foreground mask, a stage of its pipeline; no ReID weights can be "
    "downloaded here). "
    "DeepSORT is `deep-sort-realtime` with its defaults, the same colour features and the "
    "detections >= 0.3. Every tracker gets the same detections. HOTA / IDF1 / MOTA in %. "
    "BoxMOT's packaged score thresholds discard most YOLOv8s boxes on PETS (their scores are "
    "mostly 0.3-0.6), hence its low figures there. Ground error: PETS' ground truth places "
    "people at their foot point, like mplt's default (`localize.foot_offset_m` 0); the "
    "synthetic truth is the centre of each person's cylinder, so that suite runs mplt with "
    f"`localize.foot_offset_m={BODY_RADIUS_M}` (their mean radius). 'mplt, finished': "
    "`tracks_final.txt` of the same run (`mplt.finish`). The "
    "height auto / unknown suites differ for mplt only (the others see the same boxes)."
)


PILLAR_NOTE = (
    "Pillar suites: a full-height pillar painted over the clip (`bench/realdata.py` "
    f"PILLARS, `pillar_clip`); ground-truth boxes at least {rd.HIDDEN:.0%} behind it are left "
    "out, the given detections lose them too and are cut to their visible side where partly "
    "hidden (YOLOv8s runs on the painted video), and every tracker's boxes mostly on the "
    "pillar are not scored (a don't-care region, seam-aware on the sphere)."
)


@dataclass(frozen=True)
class Sequence:
    """One input as every tracker sees it."""

    name: str  #: file stem in the evaluation (unique within its suite)
    suite: str
    video: Path
    det: Path
    gt: Path
    width: int
    height: int
    fps: float
    frames: int
    panorama: bool
    #: ``camera.*`` settings of ``mplt track`` that describe the camera (calibration, height)
    overrides: tuple[str, ...] = ()
    calib: Path | None = None
    camera_height: float | None = None  #: known height (embedder camera), metres
    boxes_only_repeat: bool = False  #: the others' boxes are those of an earlier suite
    #: mplt's positions are in the ground truth's frame (not so for a camera placed from its
    #: people: its ground frame is centred below the camera)
    ground_comparable: bool = True
    #: ``(H, W)`` bool mask (.npy) where a pillar hides everyone: boxes there are not scored
    hidden: Path | None = None

    @property
    def label(self) -> str:
        return f"{self.suite}/{self.name}"

    @property
    def slug(self) -> str:
        return "".join(c if c.isalnum() else "_" for c in self.label.lower())


@dataclass(frozen=True)
class Tracker:
    label: str
    kind: str  # "mplt", "boxmot" or "deepsort"
    args: tuple[str, ...] = ()  # section.key=value overrides (mplt config / BoxMOT runner)
    name: str = ""  # boxmot tracker name
    appearance: bool = False  # boxmot: fed mplt's embeddings
    ground_only: bool = False  # only where the camera gives ground positions

    @property
    def slug(self) -> str:
        return "".join(c if c.isalnum() else "_" for c in self.label.lower())


TRACKERS = [
    Tracker("mplt", "mplt"),
    Tracker("mplt image", "mplt", ("tracker.mode=image",), ground_only=True),
    Tracker("ByteTrack", "boxmot", name="bytetrack"),
    Tracker("OC-SORT", "boxmot", name="ocsort"),
    Tracker("BoT-SORT", "boxmot", name="botsort"),
    Tracker("BoT-SORT + app", "boxmot", name="botsort", appearance=True),
    Tracker("DeepSORT + app", "deepsort", appearance=True),
]


# -- sequences ---------------------------------------------------------------------------


def _thresholded(src: Path, dst: Path) -> Path:
    """``src`` MOT rows with score >= :data:`MIN_SCORE`, written once to ``dst``."""
    if not dst.is_file():
        rows = read_mot(src)
        rd.write_rows(dst, rows[rows[:, 6] >= MIN_SCORE])
    return dst


def _clip_pitch(clip: rd.Clip) -> float:
    """Degrees down of an uncalibrated clip's camera, as :class:`mplt.selfcal.
    PerspectivePoseEstimator` fits it through the nominal lens from the YOLOv8s people."""
    from mplt.io.mot import read_mot_detections
    from mplt.selfcal import PerspectivePoseEstimator

    seq = rd.perspective_sequence(clip)
    est = PerspectivePoseEstimator(seq.width, seq.height)
    for index, dets in read_mot_detections(rd.sequence_detections(seq, "yolov8s")).items():
        est.add(dets.boxes, dets.scores, index)
    found = est.estimate()
    return 0.0 if found is None else round(found.pitch_deg, 1)


def _sequence(seq: rd.Sequence, suite: str, det: Path, **fields: object) -> Sequence:
    """``seq`` of :mod:`realdata` in ``suite``, tracked from ``det``; ``fields``: the rest of
    :class:`Sequence`."""
    return Sequence(
        seq.clip.name,
        suite,
        seq.video,
        det,
        seq.gt,
        seq.width,
        seq.height,
        seq.fps,
        seq.frames,
        seq.panorama,
        **fields,
    )


def _pets_perspective(pets: rd.Clip, detector: str, suite: str, det_name: str) -> Sequence:
    """PETS 2009 as its calibrated camera saw it, with ``detector``'s thresholded boxes."""
    seq = rd.perspective_sequence(pets)
    det = _thresholded(rd.sequence_detections(seq, detector), seq.folder / det_name)
    return _sequence(
        seq,
        suite,
        det,
        overrides=(f"camera.calib={pets.calib}",),
        calib=pets.calib,
        camera_height=seq.camera_height,
    )


def _with_pillar(seq: Sequence, rd_seq: rd.Sequence) -> Sequence:
    """``seq`` with its pillar's mask saved beside it (:meth:`realdata.Sequence.hidden_mask`)."""
    path = rd_seq.folder / "hidden.npy"
    if not path.is_file():
        np.save(path, rd_seq.hidden_mask())
    return dataclasses.replace(seq, hidden=path)


def pillar_suite(skip_yolo: bool = False) -> list[Sequence]:
    """Real sequences with a pillar in front (:func:`realdata.pillar_clip`): PETS with its
    Faster R-CNN detections, perspective and on the sphere, and TUD-Stadtmitte with YOLOv8s
    run on the painted video. Everyone who passes behind it is hidden for seconds."""
    clips = rd.clips()
    out: list[Sequence] = []
    if "PETS09-S2L1" in clips:
        pets = rd.pillar_clip(clips["PETS09-S2L1"])
        persp = rd.perspective_sequence(pets)
        out.append(
            _with_pillar(
                _pets_perspective(pets, "frcnn", "PETS perspective, pillar", "det-frcnn-t.txt"),
                persp,
            )
        )
        sph = rd.sphere_sequence(pets, SPHERE_WIDTH)
        det = _thresholded(rd.sequence_detections(sph, "frcnn"), sph.folder / "det-frcnn-t.txt")
        seq = _sequence(
            sph,
            "PETS 360, pillar, height given",
            det,
            overrides=(f"camera.height_m={sph.camera_height:.4f}",),
            camera_height=sph.camera_height,
        )
        out.append(_with_pillar(seq, sph))
    if "TUD-Stadtmitte" in clips and not skip_yolo:
        tud = rd.perspective_sequence(rd.pillar_clip(clips["TUD-Stadtmitte"]))
        det = _thresholded(rd.sequence_detections(tud, "yolov8s"), tud.folder / "det-yolov8s-t.txt")
        out.append(_with_pillar(_sequence(tud, "TUD-Stadtmitte, pillar, YOLOv8s", det), tud))
    return out


def scored_predictions(seq: Sequence, pred: Path, out: Path) -> Path:
    """``pred`` as scored: without the boxes the pillar hides (written to ``out``), or
    ``pred`` itself where ``seq`` has none."""
    if seq.hidden is None:
        return pred
    rows = read_mot(pred) if pred.stat().st_size else np.zeros((0, 10))
    width = seq.width if seq.panorama else None
    rd.write_rows(out, rd.visible_rows(rows, np.load(seq.hidden), width))
    return out


def real_suite(skip_yolo: bool = False) -> list[Sequence]:
    """The real sequences available on this machine (empty without ``../shared/data``);
    ``skip_yolo``: only those of the given (Faster R-CNN) detections."""
    clips = rd.clips()
    out: list[Sequence] = []
    pets = clips.get("PETS09-S2L1")
    if pets is not None:
        calibrated = _pets_perspective(pets, "frcnn", "PETS perspective", "det-frcnn-t.txt")
        out.append(calibrated)
        out.append(
            dataclasses.replace(
                calibrated,
                suite="PETS perspective, uncalibrated",
                overrides=(),
                calib=None,
                boxes_only_repeat=True,
                ground_comparable=False,
            )
        )
        sph = rd.sphere_sequence(pets, SPHERE_WIDTH)
        det = _thresholded(rd.sequence_detections(sph, "frcnn"), sph.folder / "det-frcnn-t.txt")
        for suite, height in (("given", f"{sph.camera_height:.4f}"), ("auto", "auto")):
            out.append(
                _sequence(
                    sph,
                    f"PETS 360, height {suite}",
                    det,
                    overrides=(f"camera.height_m={height}",),
                    camera_height=sph.camera_height,
                    boxes_only_repeat=height == "auto",
                )
            )
        out.append(
            _sequence(
                sph,
                "PETS 360, height unknown",
                det,
                overrides=("camera.height_m=null",),
                camera_height=sph.camera_height,
                boxes_only_repeat=True,
            )
        )
    for name in ("TUD-Stadtmitte", "TUD-Campus"):
        if name not in clips or skip_yolo:
            continue
        seq = rd.perspective_sequence(clips[name])
        raw = rd.sequence_detections(seq, "yolov8s")
        det = _thresholded(raw, seq.folder / "det-yolov8s-t.txt")
        out.append(_sequence(seq, "TUD perspective, YOLOv8s", det))
    for name in ("TUD-Stadtmitte", "TUD-Campus"):
        if name not in clips or skip_yolo:
            continue
        # On the sphere through the seam (people walking along the street cross it), as a
        # level 360-degree camera at the clip's place would see it: the nominal lens and the
        # tilt that mplt's self-calibration finds for the clip (a wrongly assumed tilt would
        # leave the panorama tilted, which no 360 camera on a tripod is). No camera height.
        sph = rd.sphere_sequence(
            clips[name],
            SPHERE_WIDTH,
            hfov_deg=60.0,
            pitch_deg=_clip_pitch(clips[name]),
            tag="-level",
        )
        det = _thresholded(rd.sequence_detections(sph, "yolov8s"), sph.folder / "det-yolov8s-t.txt")
        out.append(_sequence(sph, "TUD 360, YOLOv8s", det, ground_comparable=False))
    if pets is not None and not skip_yolo:
        out.append(
            _pets_perspective(pets, "yolov8s", "PETS perspective, YOLOv8s", "det-yolo-t.txt")
        )
    return out


#: ``DetectionNoise`` of the Faster R-CNN on PETS (``bench/fit_detection_noise.py``,
#: ``bench/results/detection_noise.md``): misses in runs, sideways jitter, more false positives.
FITTED_NOISE = {
    "recall": 0.79,
    "min_visible": 0.20,
    "full_visible": 0.95,
    "miss_run_frames": 2.8,
    "jitter": 0.069,
    "jitter_x": 0.177,
    "false_positives": 1.35,
    "score_std": 0.06,
}


def synthetic_suite(work: Path, noise: dict | None = None) -> list[Sequence]:
    """The synthetic panoramas, with the default detection model or ``noise`` (keyword
    arguments of :func:`mplt.synthetic.write_sequence`)."""
    out = []
    suite = "synthetic 360" if noise is None else "synthetic 360, noise fitted to Faster R-CNN"
    for scenario, seed in SYNTH_SEQUENCES:
        tag = "" if noise is None else "-fitted"
        folder = work / "synthetic" / "seq" / f"{scenario}-{seed}{tag}"
        if not (folder / "meta.json").exists():
            write_sequence(
                folder,
                scenario=scenario,
                seed=seed,
                width=SYNTH_WIDTH,
                num_frames=SYNTH_FRAMES,
                fps=SYNTH_FPS,
                camera_height=CAMERA_HEIGHT,
                **(noise or {}),
            )
        out.append(
            Sequence(
                folder.name,
                suite,
                folder / "video.mp4",
                folder / "det.txt",
                folder / "gt.txt",
                SYNTH_WIDTH,
                SYNTH_WIDTH // 2,
                SYNTH_FPS,
                SYNTH_FRAMES,
                True,
                overrides=(
                    f"camera.height_m={CAMERA_HEIGHT}",
                    f"localize.foot_offset_m={BODY_RADIUS_M}",
                ),
                camera_height=CAMERA_HEIGHT,
            )
        )
    return out


def embeddings(seq: Sequence) -> Path:
    """mplt's appearance features (default embedder) of every detection row, cached as .npy."""
    path = seq.det.with_suffix(".emb.npy")
    if path.exists():
        return path
    from mplt.appearance import build_embedder
    from mplt.geometry import build_camera
    from mplt.io.mot import read_mot_detections

    with open_source(str(seq.video), max_frames=seq.frames) as source:
        size = (source.info.width, source.info.height)
        calib = str(seq.calib) if seq.calib else None
        camera = build_camera(CameraConfig(height_m=seq.camera_height, calib=calib), size)
        embedder = build_embedder(EmbedderConfig(), camera)
        dets = read_mot_detections(seq.det)
        features = []
        for index, frame in source:
            if index in dets and len(dets[index]):
                features.append(embedder.embed(frame, dets[index].boxes))
    stacked = np.concatenate(features) if features else np.zeros((0, embedder.dim), np.float32)
    np.save(path, stacked.astype(np.float32))
    return path


# -- running trackers ----------------------------------------------------------------------


def run_mplt(tracker: Tracker, seq: Sequence, pred: Path, work: Path) -> tuple[float, int, Path]:
    """Track with ``mplt.track``; returns (seconds in the tracker, frames, run directory)."""
    run = work / "runs" / tracker.slug / seq.slug
    shutil.rmtree(run, ignore_errors=True)
    run.parent.mkdir(parents=True, exist_ok=True)
    result = mplt.track(
        seq.video,
        detections=seq.det,
        out=run,
        max_frames=seq.frames,
        overrides=seq.overrides + tracker.args,
    )
    summary = result.summary
    shutil.copyfile(result.tracks_txt, pred)
    frames = summary["frames_processed"]
    return summary["timing"]["ms_per_frame"]["track"] * frames / 1000.0, frames, run


def run_boxmot(tracker: Tracker, seq: Sequence, pred: Path) -> tuple[float, int]:
    cmd = [
        str(BOXMOT_PYTHON),
        str(RUNNER),
        "--tracker",
        tracker.name,
        "--det",
        str(seq.det),
        "--out",
        str(pred),
        "--width",
        str(seq.width),
        "--height",
        str(seq.height),
        "--fps",
        str(seq.fps),
        "--num-frames",
        str(seq.frames),
        "--video",
        str(seq.video),
    ]
    if tracker.appearance:
        cmd += ["--embeddings", str(embeddings(seq))]
    for override in tracker.args:
        cmd += ["--set", override]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    result = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    report = json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])
    return report["update_seconds"], report["frames"]


def boxmot_version() -> str:
    result = subprocess.run(
        [str(BOXMOT_PYTHON), "-c", "import boxmot; print(boxmot.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


# -- evaluation and report -----------------------------------------------------------------


def evaluate(sequences: list[Sequence], pred_dir: Path, gt_dir: Path) -> dict:
    from mplt.eval import run_eval

    gt_dir.mkdir(parents=True, exist_ok=True)
    for seq in sequences:
        shutil.copyfile(seq.gt, gt_dir / f"{seq.name}.txt")
    if any(seq.hidden is not None for seq in sequences):
        scored = gt_dir.parent / f"{gt_dir.name}_scored" / pred_dir.name
        scored.mkdir(parents=True, exist_ok=True)
        for seq in sequences:
            pred, out = pred_dir / f"{seq.name}.txt", scored / f"{seq.name}.txt"
            if scored_predictions(seq, pred, out) == pred:
                shutil.copyfile(pred, out)
        pred_dir = scored
    width = sequences[0].width if sequences[0].panorama else None
    return run_eval(gt_dir, pred_dir, width=width, iou_threshold=0.5).to_dict()


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _ground(metrics: dict, comparable: bool = True) -> str:
    ge = metrics.get("ground_error") or {}
    return "-" if ge.get("median_m") is None or not comparable else f"{ge['median_m']:.3f}"


def suite_table(rows: list[tuple[str, dict, float]], ground: bool = True) -> list[str]:
    lines = [
        "| tracker | HOTA | IDF1 | ID switches | MOTA | tracks | ground error median, m "
        "| tracker-only fps |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, result, fps in rows:
        c = result["combined"]
        lines.append(
            f"| {label} | {_pct(c['HOTA'])} | {_pct(c['IDF1'])} | {c['IDSW']} "
            f"| {_pct(c['MOTA'])} | {c.get('pred_ids', '-')} | {_ground(c, ground)} | {fps:,.0f} |"
        )
    return lines


def scenario_table(rows: list[tuple[str, dict, float]], sequences: list[Sequence]) -> list[str]:
    names = [s.name for s in sequences]
    lines = ["| tracker | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for label, result, _ in rows:
        cells = []
        for name in names:
            m = result["sequences"][name]
            cells.append(f"{_pct(m['HOTA'])} / {_pct(m['IDF1'])} / {m['IDSW']}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def sequence_notes(sequences: list[Sequence]) -> list[str]:
    lines = [
        "| sequence | frames | size | fps | GT people | GT boxes | detections | det file |",
        "|---|---:|---|---:|---:|---:|---:|---|",
    ]
    for seq in sequences:
        gt = read_mot(seq.gt)
        det = read_mot(seq.det) if seq.det.stat().st_size else np.zeros((0, 10))
        lines.append(
            f"| {seq.name} | {seq.frames} | {seq.width}x{seq.height} | {seq.fps:g} "
            f"| {len(np.unique(gt[:, 1]))} | {len(gt)} | {len(det)} | `{seq.det.name}` |"
        )
    return lines


def people_sequence(seq: Sequence) -> Sequence | None:
    """``seq`` scored against ground truth of people (who leaves the view and comes back keeps
    the ID, :func:`realdata.person_gt`); None where nobody comes back."""
    gt = rd.person_gt(seq.gt, seq.name)
    return None if gt is None else dataclasses.replace(seq, gt=gt)


def people_sequences(sequences: list[Sequence]) -> list[Sequence]:
    """:func:`people_sequence` of each of ``sequences``; empty unless every one has it."""
    people = [people_sequence(s) for s in sequences]
    return [] if any(p is None for p in people) else people


def run_suite(
    suite: str, sequences: list[Sequence], trackers: list[Tracker], work: Path, reuse: bool
) -> tuple[list[tuple[str, dict, float]], list[tuple[str, dict, float]]]:
    """Every tracker on ``sequences``; ``reuse``: keep the other trackers' earlier output.
    Returns the rows of the suite's table and those against ground truth of people (empty
    without it, :func:`people_sequences`)."""
    rows, people_rows = [], []
    people = people_sequences(sequences)
    base = work / "".join(c if c.isalnum() else "_" for c in suite.lower())
    has_ground = sequences[0].panorama or sequences[0].calib is not None
    for tracker in trackers:
        if tracker.ground_only and not has_ground:
            continue
        if tracker.kind != "mplt" and sequences[0].boxes_only_repeat:
            continue
        pred_dir = base / "pred" / tracker.slug
        pred_dir.mkdir(parents=True, exist_ok=True)
        seconds = frames = 0
        finished_dir = base / "pred" / f"{tracker.slug}_finished"
        for seq in sequences:
            pred = pred_dir / f"{seq.name}.txt"
            timing = pred.with_suffix(".timing.json")
            if reuse and tracker.kind != "mplt" and timing.is_file():
                s, f = json.loads(timing.read_text())
                seconds += s
                frames += f
                continue
            if tracker.kind == "mplt":
                s, f, run = run_mplt(tracker, seq, pred, base)
                finished_dir.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(run / "tracks_final.txt", finished_dir / f"{seq.name}.txt")
            elif tracker.kind == "boxmot":
                s, f = run_boxmot(tracker, seq, pred)
            else:
                s, f = deepsort_runner.run(seq.det, embeddings(seq), pred, seq.frames)
            timing.write_text(json.dumps([s, f]))
            seconds += s
            frames += f
        fps = frames / seconds if seconds > 0 else float("inf")
        outputs = [(tracker.label, pred_dir)]
        if tracker.kind == "mplt":
            outputs.append((f"{tracker.label}, finished (`tracks_final.txt`)", finished_dir))
        for label, folder in outputs:
            result = evaluate(sequences, folder, base / "gt")
            rows.append((label, result, fps))
            if people:
                people_rows.append((label, evaluate(people, folder, base / "gt_people"), fps))
            c = result["combined"]
            print(
                f"{suite[:30]:30s} {label[:24]:24s} HOTA {_pct(c['HOTA']):>5} "
                f"IDF1 {_pct(c['IDF1']):>5} IDSW {c['IDSW']:4d} MOTA {_pct(c['MOTA']):>5} "
                f"ground {_ground(c):>6} fps {fps:8.0f}",
                flush=True,
            )
    return rows, people_rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--work", type=Path, default=Path("/tmp/mplt-compare"), help="scratch folder"
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "compare_trackers.md"
    )
    parser.add_argument("--suites", nargs="*", default=["real", "synthetic"])
    parser.add_argument("--trackers", nargs="*", help="labels to run (default: all)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the non-mplt trackers' output of an earlier run in --work (same detections)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="LABEL:KEY=VALUE[,KEY=VALUE]",
        help="also run mplt with these values",
    )
    args = parser.parse_args()
    if not BOXMOT_PYTHON.exists():
        print(
            f"error: {BOXMOT_PYTHON} is missing; create it as the module docstring says",
            file=sys.stderr,
        )
        return 2
    started = time.perf_counter()
    trackers = [t for t in TRACKERS if not args.trackers or t.label in args.trackers]
    for spec in args.variant:
        label, _, values = spec.partition(":")
        sets = tuple(
            f"tracker.{kv}" if "." not in kv.split("=")[0] else kv for kv in values.split(",") if kv
        )
        trackers.append(Tracker(label, "mplt", sets))
    suites: dict[str, list[Sequence]] = {}
    if "real" in args.suites:
        for seq in real_suite():
            suites.setdefault(seq.suite, []).append(seq)
    if "pillar" in args.suites:
        for seq in pillar_suite():
            suites.setdefault(seq.suite, []).append(seq)
    if "synthetic" in args.suites:
        suites["synthetic 360"] = synthetic_suite(args.work)
        suites["synthetic 360, noise fitted to Faster R-CNN"] = synthetic_suite(
            args.work, FITTED_NOISE
        )
    print(f"sequences ready after {time.perf_counter() - started:.0f} s", flush=True)

    report = {
        suite: run_suite(suite, seqs, trackers, args.work, args.reuse)
        for suite, seqs in suites.items()
    }

    command = "python bench/compare_trackers.py" + "".join(
        f" {a!r}" if " " in a else f" {a}" for a in sys.argv[1:]
    )
    header = (
        f"Written by `{command}` ({time.perf_counter() - started:.0f} s on this machine: "
        f"{os.cpu_count()} CPU cores, no GPU). BoxMOT {boxmot_version()} in its own venv; "
        f"mplt {mplt.__version__}. IoU 0.5, `mplt.eval.run_eval` (TrackEval metrics); "
        "panoramas matched seam-aware for every tracker. Tracker-only fps: time inside the "
        "tracker's update (mplt: the `track` stage of `summary.json`, which excludes "
        "localization and appearance features; the others: `update()`, one thread, appearance "
        "features given; one run each, so it swings between runs on a shared machine: "
        "`bench/results/tracker_speed.md` times the trackers back to back, best of 5). "
        "'tracks': distinct IDs output."
    )
    lines = ["# mplt's tracker vs ByteTrack, BoT-SORT, OC-SORT and DeepSORT", "", header, ""]
    lines += [NOTE, ""]
    if "pillar" in args.suites:
        lines += [PILLAR_NOTE, ""]
    for suite, (rows, people_rows) in report.items():
        first = suites[suite][0]
        lines += [f"## {suite}", "", *suite_table(rows, first.ground_comparable), ""]
        if people_rows:
            lines += [
                "The same output against ground truth of people: MOT's gives someone who "
                "leaves the view and comes back a new ID, here they keep theirs "
                "(`bench/realdata.py` SAME_PERSON: two people of PETS come back after 10-13 s).",
                "",
                *suite_table(people_rows, first.ground_comparable),
                "",
            ]
        if first.boxes_only_repeat and first.panorama:
            lines += ["The other trackers see the same boxes as with the height given.", ""]
        elif first.boxes_only_repeat:
            lines += [
                "The other trackers see the same boxes as with the calibration. No calibration "
                "and no camera height given: mplt estimates the camera's height and pitch "
                "through a nominal lens from the people (`camera.height_m: auto`); its ground "
                "frame is centred below the camera, so no ground error against PETS' world "
                "frame.",
                "",
            ]
        if len(suites[suite]) > 1:
            lines += [
                "Per sequence: HOTA / IDF1 / ID switches",
                "",
                *scenario_table(rows, suites[suite]),
                "",
            ]
        lines += ["Sequences:", "", *sequence_notes(suites[suite]), ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out} after {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
