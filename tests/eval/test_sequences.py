"""Finding and reading ground truth and predictions: layouts, columns, widths, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.errors import UserError
from mplt.eval.sequences import find_ground_truth, find_sequences, read_table, run_width

ROW = "1,1,11,21,30,80,1,-1,-1,-1\n"


def _write(path: Path, text: str = ROW) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _run_dir(path: Path, model: str = "equirect", width: int = 1920) -> Path:
    _write(path / "tracks.txt")
    summary = {"input": {"width": width, "height": width // 2}, "camera": {"model": model}}
    (path / "summary.json").write_text(json.dumps(summary))
    return path


# ------------------------------------------------------------------------------ read_table


def test_read_table_converts_to_code_conventions_and_sorts_by_frame(tmp_path: Path) -> None:
    text = "3,7,11,21,30,80,0.5,2.5,-1.5,0\n\n1,2,1,1,10,10,1,-1,-1,-1\n"
    path = _write(tmp_path / "a.txt", text)
    t = read_table(path)
    np.testing.assert_array_equal(t.frames, [0, 2])
    np.testing.assert_array_equal(t.ids, [2, 7])
    np.testing.assert_allclose(t.boxes, [[0, 0, 10, 10], [10, 20, 40, 100]])
    np.testing.assert_allclose(t.conf, [1, 0.5])
    np.testing.assert_allclose(t.ground_xy, [[np.nan, np.nan], [2.5, -1.5]])
    np.testing.assert_array_equal(t.classes, [-1, -1])


def test_nine_columns_are_mot17_class_and_visibility_not_positions(tmp_path: Path) -> None:
    text = "1,1,1,1,10,10,1,1,0.9\n1,2,1,1,10,10,0,7,1.0\n1,3,1,1,10,10,0,1,0.1\n"
    t = read_table(_write(tmp_path / "gt.txt", text))
    np.testing.assert_array_equal(t.classes, [1, 7, 1])
    assert np.isnan(t.ground_xy).all()
    np.testing.assert_array_equal(t.evaluated, [True, False, False])
    np.testing.assert_array_equal(t.distractor, [False, True, False])


def test_conf_zero_rows_are_not_evaluated(tmp_path: Path) -> None:
    t = read_table(_write(tmp_path / "gt.txt", "1,9,1,1,10,10,0,-1,-1,-1\n" + ROW))
    np.testing.assert_array_equal(t.evaluated, [False, True])


def test_empty_file_gives_an_empty_table(tmp_path: Path) -> None:
    t = read_table(_write(tmp_path / "e.txt", ""))
    assert len(t) == 0 and t.boxes.shape == (0, 4) and t.ground_xy.shape == (0, 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ROW + "2,1,1,1,10\n", "line 2: 5 columns"),
        (ROW + "2,1,1,x,10,10\n", "line 2: 'x' is not a number"),
        (ROW + "\n2,1.5,1,1,10,10\n", "line 3: id 1.5 is not an integer"),
        (ROW + "2,1,1,1,10,10\n1,1,5,5,10,10\n", "lines 1, 3: id 1 appears more than once"),
    ],
)
def test_malformed_files_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        read_table(_write(tmp_path / "bad.txt", text))


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        read_table(tmp_path / "nope.txt")


# ----------------------------------------------------------------------- ground-truth layouts


def test_ground_truth_layouts(tmp_path: Path) -> None:
    _write(tmp_path / "mc" / "MOT17-02" / "gt" / "gt.txt")
    _write(tmp_path / "mc" / "MOT17-04" / "gt" / "gt.txt")
    _write(tmp_path / "mc" / "notes" / "readme.md", "not a sequence")
    assert list(find_ground_truth(tmp_path / "mc")) == ["MOT17-02", "MOT17-04"]
    assert find_ground_truth(tmp_path / "mc" / "MOT17-02") == {
        "MOT17-02": tmp_path / "mc" / "MOT17-02" / "gt" / "gt.txt"
    }
    assert list(find_ground_truth(tmp_path / "mc" / "MOT17-02" / "gt" / "gt.txt")) == ["MOT17-02"]
    _write(tmp_path / "mm" / "TUD-Campus" / "gt.txt")
    assert list(find_ground_truth(tmp_path / "mm")) == ["TUD-Campus"]
    assert list(find_ground_truth(tmp_path / "mm" / "TUD-Campus" / "gt.txt")) == ["TUD-Campus"]
    _write(tmp_path / "flat" / "b.txt")
    _write(tmp_path / "flat" / "a.txt")
    assert list(find_ground_truth(tmp_path / "flat")) == ["a", "b"]
    assert list(find_ground_truth(tmp_path / "flat" / "a.txt")) == ["a"]


def test_ground_truth_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        find_ground_truth(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match=r"no ground truth in .*<seq>/gt/gt.txt"):
        find_ground_truth(tmp_path / "empty")
    _write(tmp_path / "both" / "s.txt")
    _write(tmp_path / "both" / "s" / "gt" / "gt.txt")
    with pytest.raises(UserError, match="sequence 's' has two ground-truth files"):
        find_ground_truth(tmp_path / "both")


# ---------------------------------------------------------------- pairing with predictions


def test_prediction_layouts_are_paired_by_name(tmp_path: Path) -> None:
    for seq in ("a", "b", "c"):
        _write(tmp_path / "gt" / seq / "gt" / "gt.txt")
    _write(tmp_path / "pred" / "a.txt")
    _run_dir(tmp_path / "pred" / "b")
    _write(tmp_path / "pred" / "data" / "c.txt")
    _write(tmp_path / "pred" / "extra.txt")  # no ground truth: ignored
    pairs = find_sequences(tmp_path / "gt", tmp_path / "pred")
    assert [p.name for p in pairs] == ["a", "b", "c"]
    assert [p.pred for p in pairs] == [
        tmp_path / "pred" / "a.txt",
        tmp_path / "pred" / "b" / "tracks.txt",
        tmp_path / "pred" / "data" / "c.txt",
    ]
    # Only b's run directory says it is a panorama.
    assert [p.width for p in pairs] == [None, 1920.0, None]
    same = find_sequences(tmp_path / "gt", tmp_path / "pred", 1920)
    assert [p.width for p in same] == [1920.0] * 3
    # A width that contradicts the run's own frames is an error, not a silent override.
    with pytest.raises(UserError, match=r"--width 640 does not match the 1920-pixel-wide frames"):
        find_sequences(tmp_path / "gt", tmp_path / "pred", 640)


def test_missing_predictions_name_the_sequences(tmp_path: Path) -> None:
    for seq in ("a", "b", "c"):
        _write(tmp_path / "gt" / f"{seq}.txt")
    _write(tmp_path / "pred" / "b.txt")
    with pytest.raises(UserError, match=r"no predictions for sequence\(s\) a, c in "):
        find_sequences(tmp_path / "gt", tmp_path / "pred")


def test_single_sequence_with_a_run_directory_or_a_file(tmp_path: Path) -> None:
    gt = _write(tmp_path / "truth.txt")
    run = _run_dir(tmp_path / "runs" / "x")
    (pair,) = find_sequences(gt, run)
    assert (pair.name, pair.pred, pair.width) == ("truth", run / "tracks.txt", 1920.0)
    (pair,) = find_sequences(gt, run / "tracks.txt")  # the file itself: same run
    assert pair.width == 1920.0
    with pytest.raises(UserError, match=r"--width 2000 does not match .*; leave --width out"):
        find_sequences(gt, run / "tracks.txt", width=2000)
    other = _write(tmp_path / "elsewhere" / "pred.txt")
    assert find_sequences(gt, other)[0].width is None


def test_single_sequence_errors(tmp_path: Path) -> None:
    gt = _write(tmp_path / "gt.txt")
    (tmp_path / "run").mkdir()
    with pytest.raises(UserError, match=r"has no tracks.txt"):
        find_sequences(gt, tmp_path / "run")
    with pytest.raises(UserError, match=r"predictions .* do not exist"):
        find_sequences(gt, tmp_path / "nope")
    with pytest.raises(UserError, match="not a positive number"):
        find_sequences(gt, gt, width=0)
    _write(tmp_path / "many" / "a.txt")
    _write(tmp_path / "many" / "b.txt")
    with pytest.raises(UserError, match=r"holds 2 sequences but .* is one file"):
        find_sequences(tmp_path / "many", gt)


def test_run_width_reads_only_equirect_runs(tmp_path: Path) -> None:
    assert run_width(_run_dir(tmp_path / "pano", width=3840) / "tracks.txt") == 3840.0
    assert run_width(_run_dir(tmp_path / "pin", model="pinhole") / "tracks.txt") is None
    assert run_width(_write(tmp_path / "bare" / "tracks.txt")) is None
    old = _write(tmp_path / "old" / "tracks.txt")
    (tmp_path / "old" / "summary.json").write_text('{"status": "finished"}')
    assert run_width(old) is None
    broken = _write(tmp_path / "broken" / "tracks.txt")
    (tmp_path / "broken" / "summary.json").write_text("{not json")
    with pytest.raises(UserError, match=r"summary.json is not valid JSON; pass the panorama width"):
        run_width(broken)


def test_tentative_tracks_in_predictions_are_left_out(tmp_path):
    from mplt.eval.sequences import read_table

    pred = tmp_path / "tracks.txt"
    pred.write_text(
        "1,1,10,10,5,10,0.9,-1,-1,-1\n1,-1,30,10,5,10,0.4,-1,-1,-1\n1,-1,50,10,5,10,0.3,-1,-1,-1\n"
    )
    table = read_table(pred, predictions=True)
    assert table.ids.tolist() == [1]
