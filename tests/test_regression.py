"""Tracking-quality regression gate: a fixed 360° sequence with checked-in HOTA / IDF1.

`tests/data/regression/` holds a synthetic panorama (people crossing, in groups, across the
seam), its exact ground truth and noisy detections. The test tracks those detections with
the default configuration and fails if HOTA or IDF1 fall below `baseline.json`.

A second, real sequence: the first 100 frames of PETS09-S2L1 with their calibration and the
real Faster R-CNN detections that come with them (``../shared/data/PETS09-S2L1-1-400``, beside
the repository; research-use footage, so not committed: the test is skipped where it is
absent), scored on the ground truth of those frames against ``baseline_real.json``.

After an intended change in tracking quality, regenerate the baselines and commit them:

    python -m tests.test_regression --update       # rescore (and --make: rebuild the data)
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data" / "regression"
BASELINE = DATA / "baseline.json"
BASELINE_REAL = DATA / "baseline_real.json"
PETS = Path(__file__).resolve().parents[2] / "shared" / "data" / "PETS09-S2L1-1-400"
PETS_FRAMES = 100
CAMERA_HEIGHT = 2.0
#: Scores may wobble this much between platforms (video decoding feeds the colour features).
TOLERANCE = 0.005
SEQUENCE = {
    "scenario": "mixed",
    "width": 960,
    "camera_height": CAMERA_HEIGHT,
    "num_frames": 120,
    "fps": 10.0,
    "seed": 5,
    "crf": 28,
}


def score(work_dir: Path) -> dict[str, float]:
    """Track the regression detections with the default config; the combined metrics."""
    from core.config import load_config
    from mplt.config import TrackConfig
    from mplt.eval import run_eval
    from mplt.pipeline import run_track
    from mplt.synthetic import BODY_RADIUS_M

    cfg = load_config(
        TrackConfig,
        None,
        [f"camera.height_m={CAMERA_HEIGHT}", f"localize.foot_offset_m={BODY_RADIUS_M}"],
    )
    run_dir = work_dir / "run"
    run_track(
        str(DATA / "video.mp4"), cfg, run_dir, detections_file=DATA / "det.txt", progress=False
    )
    metrics = run_eval(DATA / "gt.txt", run_dir).to_dict()["combined"]
    return {
        "HOTA": round(metrics["HOTA"], 4),
        "IDF1": round(metrics["IDF1"], 4),
        "MOTA": round(metrics["MOTA"], 4),
        "IDSW": metrics["IDSW"],
        "ground_error_median_m": round(metrics["ground_error"]["median_m"], 3),
    }


def score_real(work_dir: Path) -> dict[str, float]:
    """Track the first PETS frames (calibrated, Faster R-CNN) with the defaults; the combined
    metrics of the streaming and of the finished output."""
    from core.config import load_config
    from mplt.config import TrackConfig
    from mplt.eval import run_eval
    from mplt.io.mot import read_mot
    from mplt.pipeline import run_track

    gt = read_mot(PETS / "gt.txt")
    gt = gt[(gt[:, 0] <= PETS_FRAMES) & (gt[:, 6] != 0)]
    gt_file = work_dir / "gt.txt"
    gt_file.write_text(
        "".join(",".join(f"{v:.3f}" for v in r[:6]) + f",1,{r[7]:.3f},{r[8]:.3f},0\n" for r in gt)
    )
    cfg = load_config(TrackConfig, None, [f"camera.calib={PETS / 'calib_opencv.json'}"])
    run_dir = work_dir / "run"
    run_track(
        str(PETS / "PETS09-S2L1-1-400.mp4"),
        cfg,
        run_dir,
        max_frames=PETS_FRAMES,
        detections_file=PETS / "det_frcnn.txt",
        progress=False,
    )
    out = {}
    for name in ("tracks", "tracks_final"):
        metrics = run_eval(gt_file, run_dir / f"{name}.txt").to_dict()["combined"]
        out[f"{name}_HOTA"] = round(metrics["HOTA"], 4)
        out[f"{name}_IDF1"] = round(metrics["IDF1"], 4)
        out[f"{name}_IDSW"] = metrics["IDSW"]
        out[f"{name}_ground_m"] = round(metrics["ground_error"]["median_m"], 3)
    return out


@pytest.mark.slow
@pytest.mark.skipif(not PETS.is_dir(), reason="../shared/data/PETS09-S2L1-1-400 is absent")
def test_tracking_quality_on_real_detections_does_not_regress(tmp_path):
    baseline = json.loads(BASELINE_REAL.read_text())
    measured = score_real(tmp_path)
    for key in ("tracks_HOTA", "tracks_IDF1", "tracks_final_HOTA", "tracks_final_IDF1"):
        assert measured[key] >= baseline[key] - TOLERANCE, (key, measured, baseline)
    for key in ("tracks_ground_m", "tracks_final_ground_m"):  # calibrated: metres to the truth
        assert measured[key] <= baseline[key] + 0.02, (key, measured, baseline)


@pytest.mark.slow
def test_tracking_quality_does_not_regress(tmp_path):
    baseline = json.loads(BASELINE.read_text())
    measured = score(tmp_path)
    for key in ("HOTA", "IDF1"):
        assert measured[key] >= baseline[key] - TOLERANCE, (key, measured, baseline)
    # Localization is geometry on the boxes, the body radius given: its error must not grow.
    assert measured["ground_error_median_m"] <= baseline["ground_error_median_m"] + 0.02


def main() -> None:
    parser = argparse.ArgumentParser(description="Rebuild the regression data or baseline.")
    parser.add_argument("--make", action="store_true", help="regenerate the sequence files")
    parser.add_argument("--update", action="store_true", help="rescore and write baseline.json")
    args = parser.parse_args()
    if args.make:
        from mplt.synthetic import write_sequence

        write_sequence(DATA, **SEQUENCE)
    for scorer, path in ((score, BASELINE), (score_real, BASELINE_REAL)):
        if scorer is score_real and not PETS.is_dir():
            continue
        with tempfile.TemporaryDirectory() as tmp:
            measured = scorer(Path(tmp))
        print(json.dumps(measured, indent=2))
        if args.update:
            path.write_text(json.dumps(measured, indent=2) + "\n")


if __name__ == "__main__":
    main()
