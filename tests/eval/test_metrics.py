"""run_eval end to end: seam-aware matching, ground error, empty inputs, ignore rows, report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.errors import UserError
from mplt.eval import EvalReport, run_eval

W = 1000  # panorama width, px


def _row(
    frame: int,
    tid: int,
    x1: float,
    y1: float = 100.0,
    w: float = 40.0,
    h: float = 100.0,
    xy: tuple[float, float] = (-1, -1),
    conf: float = 1.0,
) -> str:
    """A MOT line from a 0-based box corner (the file is 1-based)."""
    z = 0 if xy != (-1, -1) else -1
    return f"{frame},{tid},{x1 + 1:.3f},{y1 + 1:.3f},{w:.3f},{h:.3f},{conf},{xy[0]},{xy[1]},{z}"


def _write(path: Path, rows: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(r + "\n" for r in rows))
    return path


def _seam_walk(tmp_path: Path) -> tuple[Path, Path]:
    """One person walking across the seam: GT wrapped into [0, W), predictions unwrapped."""
    x1 = [950.0 + 10 * f for f in range(10)]  # 950 .. 1040: frames 6..10 are past the seam
    gt = _write(tmp_path / "gt.txt", [_row(f + 1, 1, x % W) for f, x in enumerate(x1)])
    pred = _write(tmp_path / "run" / "tracks.txt", [_row(f + 1, 5, x) for f, x in enumerate(x1)])
    return gt, pred


def test_seam_crossing_matches_with_the_panorama_width(tmp_path: Path) -> None:
    gt, pred = _seam_walk(tmp_path)
    seam = run_eval(gt, pred, width=W)
    m = seam.combined
    assert (m["TP"], m["FP"], m["FN"], m["IDSW"]) == (10, 0, 0, 0)
    assert (m["MOTA"], m["IDF1"], m["HOTA"]) == pytest.approx((1.0, 1.0, 1.0))
    # A lone gt.txt is named after its folder.
    assert seam.width == W and seam.sequences[tmp_path.name]["width"] == W
    # Plain IoU loses the 5 frames where the two files write the box on opposite sides.
    plain = run_eval(gt, pred).combined
    assert (plain["TP"], plain["FP"], plain["FN"]) == (5, 5, 5)


def test_width_comes_from_an_equirect_run_directory(tmp_path: Path) -> None:
    gt, pred = _seam_walk(tmp_path)
    summary = {"input": {"width": W, "height": W // 2}, "camera": {"model": "equirect"}}
    (pred.parent / "summary.json").write_text(json.dumps(summary))
    report = run_eval(gt, pred.parent)
    assert report.width == W and report.combined["TP"] == 10
    assert "seam-aware (panorama width 1000 px)" in report.to_text()


def test_box_split_by_the_seam_matches_its_unwrapped_prediction(tmp_path: Path) -> None:
    # GT written with a negative left edge (x1 = -20); the prediction unwrapped (x2 > W).
    gt = _write(tmp_path / "gt.txt", [_row(1, 1, -20.0, w=50)])
    pred = _write(tmp_path / "p.txt", [_row(1, 1, W - 22.0, w=50)])
    assert run_eval(gt, pred, width=W).combined["MOTP"] == pytest.approx(48 / 52)
    assert run_eval(gt, pred).combined["TP"] == 0


def test_bundled_sample_ground_truth_across_the_seam(tmp_path: Path) -> None:
    # videos/sample_gt.txt (1920 x 960 panorama) stores 64 boxes unwrapped past the right
    # edge; the same boxes written with a negative left edge are the same people.
    sample = Path(__file__).resolve().parents[2] / "videos" / "sample_gt.txt"
    rows = np.loadtxt(sample, delimiter=",")
    crossing = rows[:, 2] - 1 + rows[:, 4] > 1920
    assert crossing.sum() == 64
    rows[crossing, 2] -= 1920
    pred = tmp_path / "pred.txt"
    np.savetxt(pred, rows, delimiter=",", fmt="%.3f")
    m = run_eval(sample, pred, width=1920).combined
    assert (m["TP"], m["FN"], m["FP"], m["IDSW"], m["MOTA"]) == (1156, 0, 0, 0, 1.0)
    m = run_eval(sample, pred).combined
    assert (m["TP"], m["FN"], m["FP"]) == (1156 - 64, 64, 64)


def test_ground_error_of_matched_pairs(tmp_path: Path) -> None:
    # Predictions are off by 0.1, 0.2, ..., 1.0 m (in x); two more frames do not count:
    # frame 11 has no predicted position, frame 12's prediction does not overlap.
    gt_rows = [_row(f, 1, 100.0, xy=(3.0, 4.0)) for f in range(1, 13)]
    pred_rows = [_row(f, 2, 102.0, xy=(3.0 + 0.1 * f, 4.0)) for f in range(1, 11)]
    pred_rows += [_row(11, 2, 102.0), _row(12, 2, 500.0, xy=(3.0, 4.0))]
    gt = _write(tmp_path / "gt.txt", gt_rows)
    report = run_eval(gt, _write(tmp_path / "p.txt", pred_rows))
    err = report.combined["ground_error"]
    assert err["count"] == 10
    assert err["median_m"] == pytest.approx(0.55)
    assert err["p90_m"] == pytest.approx(0.91)  # linear interpolation between 0.9 and 1.0
    assert err["mean_m"] == pytest.approx(0.55)
    assert "ground error COMBINED: median 0.55 m, p90 0.91 m, mean 0.55 m over 10" in (
        report.to_text()
    )


def test_ground_error_needs_positions_on_both_sides(tmp_path: Path) -> None:
    gt = _write(tmp_path / "gt.txt", [_row(1, 1, 100.0, xy=(3.0, 4.0))])
    pred = _write(tmp_path / "p.txt", [_row(1, 1, 100.0)])
    report = run_eval(gt, pred)
    assert report.combined["ground_error"] is None
    assert "ground error" not in report.to_text()


def test_empty_predictions_are_all_misses(tmp_path: Path) -> None:
    gt = _write(tmp_path / "gt.txt", [_row(f, i, 100.0 * i) for f in (1, 2, 3) for i in (1, 2)])
    m = run_eval(gt, _write(tmp_path / "p.txt", [])).combined
    assert (m["TP"], m["FP"], m["FN"], m["IDSW"], m["ML"], m["MT"]) == (0, 0, 6, 0, 2, 0)
    counts = (m["gt_ids"], m["pred_ids"], m["gt_dets"], m["pred_dets"], m["frames"])
    assert counts == (2, 0, 6, 0, 3)
    assert m["MOTA"] == m["recall"] == m["IDF1"] == m["HOTA"] == m["DetA"] == 0.0


def test_frames_without_ground_truth_count_predictions_as_false_positives(tmp_path: Path) -> None:
    frames_with_people = [1, 2, 3, 7, 8, 9]
    gt = _write(tmp_path / "gt.txt", [_row(f, 1, 100.0) for f in frames_with_people])
    pred = _write(tmp_path / "p.txt", [_row(f, 1, 100.0) for f in range(1, 10)])
    m = run_eval(gt, pred).combined
    assert (m["TP"], m["FP"], m["FN"], m["IDSW"], m["frames"]) == (6, 3, 0, 0, 9)
    assert m["MOTA"] == pytest.approx(0.5)
    assert m["precision"] == pytest.approx(6 / 9) and m["recall"] == 1.0


def test_nothing_at_all(tmp_path: Path) -> None:
    m = run_eval(_write(tmp_path / "gt.txt", []), _write(tmp_path / "p.txt", [])).combined
    assert (m["TP"], m["FP"], m["FN"], m["frames"], m["gt_ids"]) == (0, 0, 0, 0, 0)


def test_conf_zero_ground_truth_is_ignored(tmp_path: Path) -> None:
    gt = _write(tmp_path / "gt.txt", [_row(1, 1, 100.0), _row(1, 2, 400.0, conf=0)])
    m = run_eval(gt, _write(tmp_path / "a.txt", [_row(1, 1, 100.0)])).combined
    assert (m["TP"], m["FP"], m["FN"], m["gt_ids"]) == (1, 0, 0, 1)
    # As in TrackEval (MOT15 and conf-0 pedestrians of MOT17), a prediction on an ignored
    # box is a false positive; only MOT17's distractor classes swallow predictions.
    both = _write(tmp_path / "b.txt", [_row(1, 1, 100.0), _row(1, 2, 400.0)])
    assert run_eval(gt, both).combined["FP"] == 1


def test_iou_threshold(tmp_path: Path) -> None:
    gt = _write(tmp_path / "gt.txt", [_row(1, 1, 0.0, w=100)])
    pred = _write(tmp_path / "p.txt", [_row(1, 1, 0.0, w=60)])  # IoU 0.6
    assert run_eval(gt, pred).combined["TP"] == 1
    assert run_eval(gt, pred, iou_threshold=0.7).combined["TP"] == 0
    assert run_eval(gt, pred, iou_threshold=0.7).iou_threshold == 0.7
    for bad in (0.0, 1.5):
        with pytest.raises(UserError, match="outside \\(0, 1\\]"):
            run_eval(gt, pred, iou_threshold=bad)


@pytest.fixture()
def two_sequences(tmp_path: Path) -> tuple[Path, Path]:
    gt_dir, pred_dir = tmp_path / "gt", tmp_path / "pred"
    # "a": perfect, with ground positions off by 0.5 m; "b": one of two people missed.
    _write(gt_dir / "a" / "gt" / "gt.txt", [_row(f, 1, 50.0, xy=(1, 1)) for f in (1, 2)])
    _write(pred_dir / "a.txt", [_row(f, 9, 50.0, xy=(1.5, 1)) for f in (1, 2)])
    gt_b = [_row(f, i, 200.0 * i) for f in (1, 2, 3) for i in (1, 2)]
    _write(gt_dir / "b" / "gt" / "gt.txt", gt_b)
    _write(pred_dir / "b" / "tracks.txt", [_row(f, 4, 200.0) for f in (1, 2, 3)])
    return gt_dir, pred_dir


def test_several_sequences_are_scored_and_combined(two_sequences: tuple[Path, Path]) -> None:
    report = run_eval(*two_sequences)
    a, b, c = report.sequences["a"], report.sequences["b"], report.combined
    assert (a["TP"], a["FN"], a["MOTA"]) == (2, 0, 1.0)
    assert (b["TP"], b["FN"], b["MOTA"]) == (3, 3, 0.5)
    counts = (c["TP"], c["FN"], c["FP"], c["gt_ids"], c["pred_ids"], c["frames"])
    assert counts == (5, 3, 0, 3, 2, 5)
    assert c["MOTA"] == pytest.approx(5 / 8)
    assert c["ground_error"] == {"count": 2, "median_m": 0.5, "p90_m": 0.5, "mean_m": 0.5}
    assert b["ground_error"] is None


def test_report_dict_is_json_ready(two_sequences: tuple[Path, Path]) -> None:
    report = run_eval(*two_sequences)
    data = json.loads(json.dumps(report.to_dict()))
    assert set(data) == {"sequences", "combined", "width", "iou_threshold"}
    assert list(data["sequences"]) == ["a", "b"]
    assert (data["width"], data["iou_threshold"]) == (None, 0.5)
    for key in (
        "HOTA",
        "DetA",
        "AssA",
        "MOTA",
        "MOTP",
        "IDF1",
        "IDP",
        "IDR",
        "precision",
        "recall",
        "IDSW",
        "FP",
        "FN",
        "MT",
        "ML",
        "Frag",
        "gt_ids",
        "pred_ids",
    ):
        assert key in data["combined"] and key in data["sequences"]["a"], key
    assert isinstance(data["combined"]["FN"], int) and isinstance(data["combined"]["MOTA"], float)
    # The dict is a copy: changing it leaves the report alone.
    report.to_dict()["combined"]["FN"] = -1
    assert report.combined["FN"] == 3


def test_report_text_is_an_aligned_table(two_sequences: tuple[Path, Path]) -> None:
    text = run_eval(*two_sequences).to_text()
    lines = text.splitlines()
    assert lines[0] == "IoU >= 0.5, plain image IoU; % except counts"
    table = lines[1:5]
    assert [line.split()[0] for line in table] == ["sequence", "a", "b", "COMBINED"]
    assert len({len(line) for line in table}) == 1  # aligned
    header = table[0].split()
    combined = dict(zip(header[:14], table[3].split()[:14], strict=True))
    assert (combined["MOTA"], combined["Rcll"], combined["FN"]) == ("62.5", "62.5", "3")
    assert lines[5:] == [
        "ground error a: median 0.50 m, p90 0.50 m, mean 0.50 m over 2 matched pairs",
        "ground error COMBINED: median 0.50 m, p90 0.50 m, mean 0.50 m over 2 matched pairs",
    ]


def test_report_can_be_built_directly() -> None:
    metrics = {
        "HOTA": 0.5,
        "DetA": 0.5,
        "AssA": 0.5,
        "MOTA": -0.25,
        "MOTP": 0.8,
        "IDF1": 1.0,
        "IDP": 1.0,
        "IDR": 1.0,
        "precision": 1.0,
        "recall": 1.0,
        "IDSW": 0,
        "FP": 12,
        "FN": 0,
        "MT": 1,
        "ML": 0,
        "Frag": 0,
        "gt_ids": 1,
        "pred_ids": 1,
        "ground_error": None,
    }
    text = EvalReport({"s": metrics}, metrics, width=1920.0, iou_threshold=0.5).to_text()
    assert "-25.0" in text and "seam-aware (panorama width 1920 px)" in text
    assert sum(line.startswith("COMBINED") for line in text.splitlines()) == 1
