"""MOTChallenge files: writer conventions, reader validation, round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.errors import UserError
from core.types import Tracks, TrackState
from mplt.io.mot import MotWriter, read_mot, read_mot_detections

W = 1920  # panorama width used for the seam case


def make_tracks(frame_index: int) -> Tracks:
    return Tracks(
        ids=[3, 7, 12],
        boxes=[
            [100.0, 200.0, 150.5, 330.25],  # ordinary box
            [1900.0, 300.0, 1950.0, 420.0],  # crosses the seam: stored unwrapped, x2 > W
            [0.0, 0.0, 10.0, 20.0],  # touches the top-left corner
        ],
        scores=[0.91, 0.5, 0.3333],
        ground_xy=[[2.5, -1.25], [np.nan, np.nan], [-10.0, 0.001]],
        ground_velocity=np.zeros((3, 2)),
        states=[TrackState.CONFIRMED, TrackState.LOST, TrackState.TENTATIVE],
        detection_indices=[0, -1, 1],
        frame_index=frame_index,
    )


def test_writer_uses_mot_conventions(tmp_path):
    path = tmp_path / "tracks.txt"
    with MotWriter(path) as writer:
        writer.write(4, make_tracks(4))
    lines = path.read_text().splitlines()
    assert lines == [
        "5,3,101.00,201.00,50.50,130.25,0.910,2.500,-1.250,0",
        "5,7,1901.00,301.00,50.00,120.00,0.500,-1,-1,-1",
        "5,12,1.00,1.00,10.00,20.00,0.333,-10.000,0.001,0",
    ]
    rows = read_mot(path)
    # the seam-crossing box runs past the right edge (documented in the module)
    assert rows[1, 2] + rows[1, 4] > W + 1


def test_round_trip_through_reader(tmp_path):
    path = tmp_path / "tracks.txt"
    with MotWriter(path) as writer:
        writer.write(0, make_tracks(0))
        writer.write(1, Tracks.empty(1))
        writer.write(2, make_tracks(2))
    rows = read_mot(path)
    assert rows.shape == (6, 10) and rows.dtype == np.float64
    assert rows[:, 0].tolist() == [1, 1, 1, 3, 3, 3]
    assert rows[:, 1].tolist() == [3, 7, 12] * 2

    dets = read_mot_detections(path)
    assert list(dets) == [0, 2]
    expected = make_tracks(0)
    for frame, d in dets.items():
        assert d.frame_index == frame
        np.testing.assert_allclose(d.boxes, expected.boxes, atol=0.005)
        np.testing.assert_allclose(d.scores, [0.91, 0.5, 0.333], atol=1e-6)
        np.testing.assert_allclose(d.ground_xy, expected.ground_xy, atol=5e-4)  # NaN == NaN
        assert np.isnan(d.ground_cov).all()

    with_empty = read_mot_detections(path, frame_count=4)
    assert list(with_empty) == [0, 1, 2, 3]
    assert len(with_empty[1]) == 0 and len(with_empty[3]) == 0
    assert with_empty[3].frame_index == 3
    assert list(read_mot_detections(path, frame_count=2)) == [0, 1]  # rows of frame 3 dropped


def test_each_frame_is_on_disk_before_close(tmp_path):
    path = tmp_path / "tracks.txt"
    writer = MotWriter(path)
    writer.write(0, make_tracks(0))
    assert read_mot(path).shape == (3, 10)  # flushed, whole lines
    writer.write(1, make_tracks(1))
    assert read_mot(path).shape == (6, 10)
    writer.close()
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write(2, make_tracks(2))


def test_zero_tracks_everywhere(tmp_path):
    path = tmp_path / "tracks.txt"
    with MotWriter(path) as writer:
        writer.write(0, Tracks.empty(0))
    assert path.read_text() == ""
    assert read_mot(path).shape == (0, 10)
    assert read_mot_detections(path) == {}
    dets = read_mot_detections(path, frame_count=2)
    assert [len(d) for d in dets.values()] == [0, 0]
    assert dets[1].boxes.shape == (0, 4)


def test_short_and_nine_column_rows(tmp_path):
    path = tmp_path / "det.txt"
    path.write_text(
        "1,-1,11,21,5,6\n"  # 6 columns: conf 1, no position
        "\n"
        "2,-1,1,1,4,4,0.7,1,0.8\n"  # MOT17 style: class 1, visibility 0.8 -- not positions
        "3, -1, 1, 1, 4, 4, 0.6, 4.5, 5.5, 0, 99\n"  # spaces and an 11th column
    )
    rows = read_mot(path)
    assert rows[0].tolist() == [1, -1, 11, 21, 5, 6, 1, -1, -1, -1]
    assert rows[1].tolist()[7:] == [1, 0.8, -1]
    dets = read_mot_detections(path)
    np.testing.assert_allclose(dets[0].boxes, [[10, 20, 15, 26]])
    assert dets[0].scores.tolist() == [1.0]
    assert np.isnan(dets[0].ground_xy).all() and np.isnan(dets[1].ground_xy).all()
    np.testing.assert_allclose(dets[2].ground_xy, [[4.5, 5.5]])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("1,2,3", "line 2: 3 columns, need at least 6"),
        ("1,2,a,4,5,6", "line 2: 'a' is not a number"),
        ("0,1,1,1,1,1", "line 2: frame 0 is not an integer >= 1"),
        ("1.5,1,1,1,1,1", "line 2: frame 1.5 is not an integer >= 1"),
        ("1,1,1,1,-3,1", "line 2: negative box width or height"),
        ("1,1,nan,1,1,1", "line 2: frame, id, box and conf must be finite"),
    ],
)
def test_malformed_lines_name_the_line(tmp_path, line, message):
    path = tmp_path / "bad.txt"
    path.write_text(f"1,1,1,1,1,1,1,-1,-1,-1\n{line}\n")
    with pytest.raises(UserError, match=message) as err:
        read_mot(path)
    assert str(path) in str(err.value)
    with pytest.raises(UserError):
        read_mot_detections(path)


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        read_mot(tmp_path / "nope.txt")


def test_reads_real_motchallenge_ground_truth():
    motmetrics = pytest.importorskip("motmetrics")
    gt = Path(motmetrics.__file__).parent / "data" / "TUD-Stadtmitte" / "gt.txt"
    rows = read_mot(gt)
    assert rows.shape == (1156, 10)
    dets = read_mot_detections(gt)
    assert len(dets) == 179 and min(dets) == 0
    # first line: 1,1,88,99,61.08,218.56,1,4.4852,5.5016,0
    np.testing.assert_allclose(dets[0].boxes[0], [87, 98, 148.08, 316.56])
    np.testing.assert_allclose(dets[0].ground_xy[0], [4.4852, 5.5016])
