"""mplt's tracker against BoxMOT's on identical detections: synthetic 360° and real clips.

Run from the repository root (BoxMOT lives in its own virtual environment, see
``bench/boxmot_runner.py``)::

    python -m venv --system-site-packages bench/.venv-boxmot
    bench/.venv-boxmot/bin/pip install boxmot
    python bench/compare_trackers.py [--work /tmp/mplt-compare] \
        [--out bench/results/compare_trackers.md]

Suites:

* ``synthetic 360``: :func:`mplt.synthetic.write_sequence` panoramas (1920 x 960, 10 fps, camera
  2 m high), several scenarios and seeds, seam crossings included; detections from the ground
  truth with the default :class:`mplt.synthetic.DetectionNoise` (recall 0.9 falling with
  occlusion, visible-part boxes, 4 % edge jitter, 0.2 false positives per frame).
* ``real 360``: the bundled ``videos/sample.mp4`` (TUD-Stadtmitte placed on the sphere across the
  seam, 25 fps, camera height unknown) with ``videos/sample_gt.txt``; detections as below.
* ``perspective``: TUD-Campus and TUD-Stadtmitte (640 x 480, 25 fps) from shared/data, ground truth
  from py-motmetrics' data, detections from it with the same noise model (visibility estimated
  from overlapping boxes).

Trackers: ``mplt.track(VIDEO, detections=det.txt)`` (what ``mplt track`` runs) in ground mode
(``camera_height``, panoramas only) and image mode (``tracker.mode=image``), all defaults
otherwise (colour appearance features included); BoxMOT's ByteTrack, OC-SORT and BoT-SORT
without appearance, and BoT-SORT, StrongSORT and Deep OC-SORT fed mplt's colour features of the
same boxes (no ReID weights can be downloaded here). Scores: :func:`mplt.eval.run_eval`, IoU
0.5, seam-aware on panoramas for every tracker alike. Tracker-only fps: mplt's ``track`` stage
time from ``summary.json``; BoxMOT's time in ``update()`` (one thread).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import mplt
from mplt.config import CameraConfig, EmbedderConfig
from mplt.io.mot import read_mot
from mplt.io.sources import open_source
from mplt.synthetic import (
    DetectionNoise,
    occlusion_visibility,
    synthesize_detections,
    write_sequence,
)

ROOT = Path(__file__).resolve().parents[1]

BOXMOT_PYTHON = ROOT / "bench" / ".venv-boxmot" / "bin" / "python"
RUNNER = ROOT / "bench" / "boxmot_runner.py"
DATA = Path(os.environ.get("MPLT_SHARED_DATA", ROOT.parent / "shared" / "data"))

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
PERSPECTIVE_SEQUENCES = ["TUD-Campus", "TUD-Stadtmitte"]
#: Printed under the header of the results file.
NOTE = (
    "BoxMOT trackers run with their packaged defaults except: camera-motion compensation off "
    "(static cameras; StrongSORT's ECC estimator is removed), `frame_rate` = the sequence fps "
    "for ByteTrack and BoT-SORT (it scales their lost-track buffer), and appearance either off "
    "or, for '+ app', mplt's colour-histogram features of the same boxes (no ReID weights can "
    "be downloaded here). Every tracker gets the same detections, derived from the ground truth"
    " with `mplt.synthetic.DetectionNoise()` defaults. A `--variant` row is mplt with the "
    "config values after the colon."
)


@dataclass(frozen=True)
class Sequence:
    name: str
    suite: str
    folder: Path
    width: int
    height: int
    fps: float
    frames: int
    panorama: bool
    camera_height: float | None = None

    @property
    def video(self) -> Path:
        return self.folder / "video.mp4"

    @property
    def det(self) -> Path:
        return self.folder / "det.txt"

    @property
    def gt(self) -> Path:
        return self.folder / "gt.txt"


@dataclass(frozen=True)
class Tracker:
    label: str
    kind: str  # "mplt" or "boxmot"
    args: tuple[str, ...] = ()  # section.key=value overrides (mplt config / BoxMOT runner)
    name: str = ""  # boxmot tracker name
    appearance: bool = False  # boxmot: fed mplt's embeddings
    panorama_only: bool = False

    @property
    def slug(self) -> str:
        return "".join(c if c.isalnum() else "_" for c in self.label.lower())


TRACKERS = [
    Tracker("mplt ground", "mplt", panorama_only=True),
    Tracker("mplt image", "mplt", ("tracker.mode=image",)),
    Tracker("ByteTrack", "boxmot", name="bytetrack"),
    Tracker("OC-SORT", "boxmot", name="ocsort"),
    Tracker("BoT-SORT", "boxmot", name="botsort"),
    Tracker("BoT-SORT + app", "boxmot", name="botsort", appearance=True),
    Tracker("StrongSORT + app", "boxmot", name="strongsort", appearance=True),
    Tracker("Deep OC-SORT + app", "boxmot", name="deepocsort", appearance=True),
]


# -- sequences ---------------------------------------------------------------------------


def synthetic_suite(work: Path) -> list[Sequence]:
    out = []
    for scenario, seed in SYNTH_SEQUENCES:
        folder = work / "synthetic" / "seq" / f"{scenario}-{seed}"
        if not (folder / "meta.json").exists():
            write_sequence(
                folder,
                scenario=scenario,
                seed=seed,
                width=SYNTH_WIDTH,
                num_frames=SYNTH_FRAMES,
                fps=SYNTH_FPS,
                camera_height=CAMERA_HEIGHT,
            )
        out.append(
            Sequence(
                folder.name,
                "synthetic 360",
                folder,
                SYNTH_WIDTH,
                SYNTH_WIDTH // 2,
                SYNTH_FPS,
                SYNTH_FRAMES,
                True,
                CAMERA_HEIGHT,
            )
        )
    return out


def _gt_detections(
    gt_file: Path, num_frames: int, width: int, period: float | None, seed: int
) -> np.ndarray:
    """Detections from MOT ground truth with the default noise model (visibility from boxes)."""
    gt = read_mot(gt_file)
    frames = gt[:, 0].astype(np.int64) - 1
    boxes = np.column_stack(
        [gt[:, 2] - 1, gt[:, 3] - 1, gt[:, 2] - 1 + gt[:, 4], gt[:, 3] - 1 + gt[:, 5]]
    )
    visible = np.ones(len(gt))
    visible_boxes = boxes.copy()
    for f in np.unique(frames):
        rows = np.flatnonzero(frames == f)
        visible[rows], visible_boxes[rows] = occlusion_visibility(boxes[rows], period=period)
    return synthesize_detections(
        frames,
        boxes,
        visible,
        visible_boxes,
        num_frames=num_frames,
        image_width=width,
        noise=DetectionNoise(),
        rng=np.random.default_rng([seed, 7919]),
        period=period,
    )


def sample_suite(work: Path) -> list[Sequence]:
    """The bundled sample: real footage (TUD-Stadtmitte) placed on the sphere across the seam."""
    folder = work / "sample" / "seq" / "sample"
    folder.mkdir(parents=True, exist_ok=True)
    with open_source(str(ROOT / "videos" / "sample.mp4")) as source:
        info = source.info
    if not (folder / "det.txt").exists():
        shutil.copyfile(ROOT / "videos" / "sample.mp4", folder / "video.mp4")
        shutil.copyfile(ROOT / "videos" / "sample_gt.txt", folder / "gt.txt")
        det = _gt_detections(
            folder / "gt.txt", int(info.frame_count or 0), info.width, float(info.width), 99
        )
        np.savetxt(folder / "det.txt", det, fmt="%d,%d,%.2f,%.2f,%.2f,%.2f,%.3f,%d,%d,%d")
    return [
        Sequence(
            "sample",
            "real 360",
            folder,
            info.width,
            info.height,
            info.fps,
            int(info.frame_count or 0),
            True,
        )
    ]


def perspective_suite(work: Path) -> list[Sequence]:
    import motmetrics

    out = []
    for k, name in enumerate(PERSPECTIVE_SEQUENCES):
        folder = work / "perspective" / "seq" / name
        folder.mkdir(parents=True, exist_ok=True)
        gt_src = Path(motmetrics.__file__).parent / "data" / name / "gt.txt"
        with open_source(str(DATA / f"{name}.mp4")) as source:
            info = source.info
        if not (folder / "det.txt").exists():
            shutil.copyfile(DATA / f"{name}.mp4", folder / "video.mp4")
            shutil.copyfile(gt_src, folder / "gt.txt")
            det = _gt_detections(gt_src, int(info.frame_count or 0), info.width, None, k)
            np.savetxt(folder / "det.txt", det, fmt="%d,%d,%.2f,%.2f,%.2f,%.2f,%.3f,%d,%d,%d")
        out.append(
            Sequence(
                name,
                "perspective",
                folder,
                info.width,
                info.height,
                info.fps,
                int(info.frame_count or 0),
                False,
            )
        )
    return out


def embeddings(seq: Sequence) -> Path:
    """mplt's appearance features (default embedder) of every detection row, cached as .npy."""
    path = seq.folder / "emb.npy"
    if path.exists():
        return path
    from mplt.appearance import build_embedder
    from mplt.geometry import build_camera
    from mplt.io.mot import read_mot_detections

    with open_source(str(seq.video)) as source:
        size = (source.info.width, source.info.height)
        camera = build_camera(CameraConfig(height_m=seq.camera_height), size)
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


def run_mplt(tracker: Tracker, seq: Sequence, pred: Path) -> tuple[float, int]:
    """Track with ``mplt.track``; returns (seconds in the tracker, frames)."""
    run = seq.folder.parent.parent / "runs" / tracker.slug / seq.name
    shutil.rmtree(run, ignore_errors=True)
    run.parent.mkdir(parents=True, exist_ok=True)
    result = mplt.track(
        seq.video,
        detections=seq.det,
        out=run,
        camera_height=seq.camera_height,
        overrides=tracker.args,
    )
    summary = result.summary
    shutil.copyfile(result.tracks_txt, pred)
    frames = summary["frames_processed"]
    return summary["timing"]["ms_per_frame"]["track"] * frames / 1000.0, frames


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
    result = subprocess.run(cmd, check=True, capture_output=True, text=True)
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


def evaluate(sequences: list[Sequence], tracker: Tracker) -> dict:
    from mplt.eval import run_eval

    suite_dir = sequences[0].folder.parent.parent
    gt_dir = suite_dir / "gt"
    gt_dir.mkdir(exist_ok=True)
    for seq in sequences:
        shutil.copyfile(seq.gt, gt_dir / f"{seq.name}.txt")
    width = sequences[0].width if sequences[0].panorama else None
    return run_eval(
        gt_dir, suite_dir / "pred" / tracker.slug, width=width, iou_threshold=0.5
    ).to_dict()


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def suite_table(rows: list[tuple[Tracker, dict, float]]) -> list[str]:
    lines = [
        "| tracker | HOTA | IDF1 | ID switches | MOTA | tracker-only fps |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for tracker, result, fps in rows:
        c = result["combined"]
        lines.append(
            f"| {tracker.label} | {_pct(c['HOTA'])} | {_pct(c['IDF1'])} | {c['IDSW']} "
            f"| {_pct(c['MOTA'])} | {fps:,.0f} |"
        )
    return lines


def scenario_table(rows: list[tuple[Tracker, dict, float]], sequences: list[Sequence]) -> list[str]:
    names = [s.name for s in sequences]
    lines = ["| tracker | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for tracker, result, _ in rows:
        cells = []
        for name in names:
            m = result["sequences"][name]
            cells.append(f"{_pct(m['HOTA'])} / {_pct(m['IDF1'])} / {m['IDSW']}")
        lines.append(f"| {tracker.label} | " + " | ".join(cells) + " |")
    return lines


def sequence_notes(sequences: list[Sequence]) -> list[str]:
    lines = [
        "| sequence | frames | size | fps | GT people | GT boxes | detections | seam crossings "
        "| mean visible |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for seq in sequences:
        gt = read_mot(seq.gt)
        det = read_mot(seq.det) if seq.det.stat().st_size else np.zeros((0, 10))
        meta = (
            json.loads((seq.folder / "meta.json").read_text())
            if (seq.folder / "meta.json").exists()
            else {}
        )
        stats = meta.get("stats", {})
        lines.append(
            f"| {seq.name} | {seq.frames} | {seq.width}x{seq.height} | {seq.fps:g} "
            f"| {len(np.unique(gt[:, 1]))} | {len(gt)} | {len(det)} "
            f"| {stats.get('seam_crossings', '-')} | {stats.get('mean_visible_fraction', '-')} |"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=Path("/tmp/mplt-compare"),
        help="scratch folder (cached sequences)",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "compare_trackers.md"
    )
    parser.add_argument("--trackers", nargs="*", help="labels to run (default: all)")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="LABEL:KEY=VALUE[,KEY=VALUE]",
        help="also run mplt (ground mode on panoramas, image mode otherwise) with these values",
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
    suites = {
        "synthetic 360": synthetic_suite(args.work),
        "real 360": sample_suite(args.work),
        "perspective": perspective_suite(args.work),
    }
    print(f"sequences ready after {time.perf_counter() - started:.0f} s", flush=True)

    report: dict[str, list[tuple[Tracker, dict, float]]] = {}
    for suite, sequences in suites.items():
        report[suite] = []
        for tracker in trackers:
            if tracker.panorama_only and not sequences[0].panorama:
                continue
            pred_dir = sequences[0].folder.parent.parent / "pred" / tracker.slug
            pred_dir.mkdir(parents=True, exist_ok=True)
            seconds = frames = 0
            for seq in sequences:
                run = run_mplt if tracker.kind == "mplt" else run_boxmot
                s, f = run(tracker, seq, pred_dir / f"{seq.name}.txt")
                seconds += s
                frames += f
            result = evaluate(sequences, tracker)
            fps = frames / seconds if seconds > 0 else float("inf")
            report[suite].append((tracker, result, fps))
            c = result["combined"]
            print(
                f"{suite:14s} {tracker.label:22s} HOTA {_pct(c['HOTA']):>5} "
                f"IDF1 {_pct(c['IDF1']):>5} "
                f"IDSW {c['IDSW']:4d} MOTA {_pct(c['MOTA']):>5} fps {fps:8.0f}",
                flush=True,
            )

    command = "python bench/compare_trackers.py" + "".join(
        f" {a!r}" if " " in a else f" {a}" for a in sys.argv[1:]
    )
    header = (
        f"Written by `{command}` ({time.perf_counter() - started:.0f} s on this machine: "
        f"{os.cpu_count()} CPU cores, no GPU). BoxMOT {boxmot_version()} in its own venv; "
        f"mplt {__import__('mplt').__version__}. HOTA, IDF1, MOTA in %, IoU 0.5, "
        "`mplt.eval.run_eval` (TrackEval metrics); panoramas matched seam-aware for every tracker. "
        "Tracker-only fps: time inside the tracker's update (mplt: the `track` stage of "
        "`summary.json`, which excludes localization and appearance features; BoxMOT: `update()`, "
        "one thread, appearance features given)."
    )
    lines = ["# mplt's tracker vs BoxMOT on identical detections", "", header, "", NOTE, ""]
    for suite, rows in report.items():
        lines += [f"## {suite}", "", *suite_table(rows), ""]
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
