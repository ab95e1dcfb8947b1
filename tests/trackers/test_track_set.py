"""``TrackSet``'s memory of which tracks were matched together, behind the duplicate removal."""

from __future__ import annotations

import numpy as np

from core.types import Detections
from mplt.geometry import BoxSpace
from trackers.kalman import ImageModel
from trackers.track_set import TrackSet


def _two_tracks() -> TrackSet:
    tracks = TrackSet(ImageModel(BoxSpace()), None, nn_budget=10, feature_ema=None)
    dets = Detections.from_boxes([[0.0, 0.0, 10.0, 30.0], [50.0, 0.0, 60.0, 30.0]])
    tracks.start(np.arange(2), dets)
    tracks.mark_twins(np.arange(2), np.zeros(2, bool))
    return tracks


def test_two_tracks_matched_together_stay_apart_while_one_coasts() -> None:
    """Row 0 is matched every frame, row 1 not after the start: row 0 was matched in row 1's
    last frame for as long as that frame is remembered (63 frames back), in one step or in
    many; row 1 was not matched in row 0's last frame."""
    dets = Detections.from_boxes([[0.0, 0.0, 10.0, 30.0]])
    for steps in (1, 62):
        tracks = _two_tracks()
        tracks.predict(steps, steps / 10.0)
        tracks.correct(np.array([0]), np.array([0]), dets, reupdate=False)
        assert tracks.seen_apart(0, 1)
        assert not tracks.seen_apart(1, 0)
    tracks = _two_tracks()
    for _ in range(63):
        tracks.predict(1, 0.1)
        tracks.correct(np.array([0]), np.array([0]), dets, reupdate=False)
    assert tracks.seen_apart(0, 1)  # 63 frames back: the oldest frame remembered
    tracks.predict(1, 0.1)
    tracks.correct(np.array([0]), np.array([0]), dets, reupdate=False)
    assert not tracks.seen_apart(0, 1)  # 64: forgotten, a duplicate candidate again
    tracks = _two_tracks()
    tracks.predict(100, 10.0)
    tracks.correct(np.array([0]), np.array([0]), dets, reupdate=False)
    assert not tracks.seen_apart(0, 1)


def test_a_twin_box_is_not_a_box_of_its_own() -> None:
    """Two matched boxes marked as twins (a person boxed twice) are not two people."""
    tracks = _two_tracks()
    tracks.mark_twins(np.arange(2), np.ones(2, bool))
    tracks.predict(1, 0.1)
    dets = Detections.from_boxes([[0.0, 0.0, 10.0, 30.0]])
    tracks.correct(np.array([0]), np.array([0]), dets, reupdate=False)
    assert not tracks.seen_apart(0, 1)
    tracks.keep(np.array([False, True]))  # rows move with keep
    assert len(tracks) == 1 and tracks.twinned.tolist() == [True]
