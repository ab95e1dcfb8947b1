"""JSON Lines track output: fields, nulls for unknowns, round trip, reader errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import UserError
from core.types import Tracks, TrackState
from mplt.io.jsonl import JsonlWriter, read_jsonl


def make_tracks(frame_index: int) -> Tracks:
    return Tracks(
        ids=[4, 9],
        boxes=[[1900.25, 300.0, 1950.0, 420.5], [10.0, 20.0, 30.0, 80.0]],
        scores=[0.8765, 0.5],
        ground_xy=[[3.14159, -2.0], [np.nan, np.nan]],
        ground_velocity=[[0.5, -0.25], [np.nan, np.nan]],
        states=[TrackState.CONFIRMED, TrackState.LOST],
        detection_indices=[2, -1],
        frame_index=frame_index,
    )


def test_round_trip_with_unknowns_as_null(tmp_path):
    path = tmp_path / "tracks.jsonl"
    azel = np.array([[179.5, -10.25], [np.nan, np.nan]])
    with JsonlWriter(path) as writer:
        writer.write(0, 0.0, make_tracks(0), azel)
        writer.write(1, 0.04, Tracks.empty(1), np.zeros((0, 2)))
        writer.write(2, 0.08, make_tracks(2), azel)
    records = list(read_jsonl(path))
    assert [r["frame"] for r in records] == [1, 2, 3]
    assert [r["time_s"] for r in records] == [0.0, 0.04, 0.08]
    assert records[1]["tracks"] == []
    first, second = records[2]["tracks"]
    assert first == {
        "id": 4,
        "box_xyxy": [1900.25, 300.0, 1950.0, 420.5],  # 0-based, unwrapped: x2 may exceed W
        "conf": 0.877,
        "azimuth_deg": 179.5,
        "elevation_deg": -10.25,
        "ground_xy": [3.142, -2.0],
        "velocity_mps": [0.5, -0.25],
        "state": "confirmed",
        "detection_index": 2,
    }
    assert second["state"] == "lost"
    assert second["detection_index"] is None
    assert second["ground_xy"] is None and second["velocity_mps"] is None
    assert second["azimuth_deg"] is None and second["elevation_deg"] is None


def test_one_line_per_frame_flushed_before_close(tmp_path):
    path = tmp_path / "tracks.jsonl"
    writer = JsonlWriter(path)
    writer.write(0, 0.0, make_tracks(0))
    text = path.read_text()
    assert text.count("\n") == 1 and text.endswith("\n")
    assert json.loads(text)["tracks"][0]["azimuth_deg"] is None  # azel omitted -> unknown
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write(1, 0.1, make_tracks(1))


def test_azel_shape_is_checked(tmp_path):
    with JsonlWriter(tmp_path / "t.jsonl") as writer:
        with pytest.raises(ValueError, match=r"\(2, 2\)"):
            writer.write(0, 0.0, make_tracks(0), np.zeros((3, 2)))


def test_tentative_state_name(tmp_path):
    tracks = Tracks(
        ids=[1],
        boxes=[[0, 0, 1, 1]],
        scores=[1.0],
        ground_xy=[[0.0, 0.0]],
        ground_velocity=[[0.0, 0.0]],
        states=[TrackState.TENTATIVE],
        detection_indices=[0],
    )
    path = tmp_path / "t.jsonl"
    with JsonlWriter(path) as writer:
        writer.write(0, 0.0, tracks)
    (record,) = read_jsonl(path)
    assert record["tracks"][0]["state"] == "tentative"
    assert record["tracks"][0]["ground_xy"] == [0.0, 0.0]


def test_reader_errors_name_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"frame": 1, "tracks": []}\n\n{"frame": 2, "tr\n')
    records = read_jsonl(path)
    assert next(records)["frame"] == 1
    with pytest.raises(UserError, match="line 3: invalid JSON"):
        next(records)
    path.write_text("[1, 2]\n")
    with pytest.raises(UserError, match="line 1: expected a JSON object"):
        list(read_jsonl(path))
    with pytest.raises(UserError, match="does not exist"):
        read_jsonl(tmp_path / "missing.jsonl")
