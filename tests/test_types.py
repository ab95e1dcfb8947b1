import numpy as np
import pytest

from core.types import Detections, Tracks, TrackState


def test_empty_detections_have_named_shapes():
    dets = Detections.empty(frame_index=7)
    assert len(dets) == 0
    assert dets.boxes.shape == (0, 4)
    assert dets.scores.shape == (0,)
    assert dets.ground_xy.shape == (0, 2)
    assert dets.ground_cov.shape == (0, 2, 2)
    assert dets.embeddings is None and dets.foot_rows is None
    assert dets.frame_index == 7


def test_from_boxes_converts_dtypes_and_marks_ground_unknown():
    dets = Detections.from_boxes([[0, 1, 2, 3], [4, 5, 6, 7]], [0.5, 0.9])
    assert dets.boxes.dtype == np.float64 and dets.scores.dtype == np.float32
    assert np.isnan(dets.ground_xy).all() and dets.ground_cov.shape == (2, 2, 2)


def test_select_and_replace_keep_rows_aligned():
    dets = Detections.from_boxes([[0, 0, 1, 1], [2, 2, 3, 3], [4, 4, 5, 5]], [0.1, 0.2, 0.3])
    dets = dets.replace(embeddings=np.eye(3, dtype=np.float32), foot_rows=[1.5, np.nan, 5.5])
    picked = dets.select(np.array([2, 0]))
    np.testing.assert_array_equal(picked.boxes[:, 0], [4, 0])
    np.testing.assert_array_equal(picked.foot_rows, [5.5, 1.5])
    np.testing.assert_allclose(picked.scores, [0.3, 0.1])
    np.testing.assert_array_equal(picked.embeddings, [[0, 0, 1], [1, 0, 0]])
    assert len(dets.select(np.zeros(3, bool))) == 0


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"boxes": np.zeros((2, 3))}, r"boxes must have shape \(N, 4\)"),
        ({"scores": np.zeros(3)}, r"scores has 3 rows, expected 2"),
        ({"embeddings": np.zeros(4)}, r"embeddings must have shape \(N, D\)"),
        ({"embeddings": np.zeros((1, 8))}, r"embeddings has 1 rows, expected 2"),
        ({"foot_rows": np.zeros(3)}, r"foot_rows has 3 rows, expected 2"),
        ({"foot_rows": np.zeros((2, 1))}, r"foot_rows must have shape \(N\)"),
    ],
)
def test_detections_reject_inconsistent_arrays(changes, message):
    dets = Detections.from_boxes(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=message):
        dets.replace(**changes)


def test_tracks_empty_and_validation():
    tracks = Tracks.empty(3)
    assert len(tracks) == 0 and tracks.states.dtype == np.int8 and tracks.frame_index == 3
    with pytest.raises(ValueError, match="detection_indices has 0 rows, expected 1"):
        Tracks(
            ids=[1],
            boxes=[[0, 0, 1, 1]],
            scores=[1.0],
            ground_xy=[[0, 0]],
            ground_velocity=[[0, 0]],
            states=[TrackState.CONFIRMED],
            detection_indices=[],
        )
