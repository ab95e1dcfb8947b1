"""Tracking-quality regression gate: a fixed 360° sequence with checked-in HOTA / IDF1.

`tests/data/regression/` holds a synthetic panorama (people crossing, in groups, across the
seam), its exact ground truth and noisy detections. The test tracks those detections with
the default configuration and fails if HOTA or IDF1 fall below `baseline.json`.

After an intended change in tracking quality, regenerate the baseline and commit it:

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

    cfg = load_config(TrackConfig, None, [f"camera.height_m={CAMERA_HEIGHT}"])
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


@pytest.mark.slow
def test_tracking_quality_does_not_regress(tmp_path):
    baseline = json.loads(BASELINE.read_text())
    measured = score(tmp_path)
    for key in ("HOTA", "IDF1"):
        assert measured[key] >= baseline[key] - TOLERANCE, (key, measured, baseline)
    # Localization is exact geometry on exact boxes: its error must stay at the body radius.
    assert measured["ground_error_median_m"] <= baseline["ground_error_median_m"] + 0.02


def main() -> None:
    parser = argparse.ArgumentParser(description="Rebuild the regression data or baseline.")
    parser.add_argument("--make", action="store_true", help="regenerate the sequence files")
    parser.add_argument("--update", action="store_true", help="rescore and write baseline.json")
    args = parser.parse_args()
    if args.make:
        from mplt.synthetic import write_sequence

        write_sequence(DATA, **SEQUENCE)
    with tempfile.TemporaryDirectory() as tmp:
        measured = score(Path(tmp))
    print(json.dumps(measured, indent=2))
    if args.update:
        BASELINE.write_text(json.dumps(measured, indent=2) + "\n")


if __name__ == "__main__":
    main()
