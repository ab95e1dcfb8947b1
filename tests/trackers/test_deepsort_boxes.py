"""DeepSortTracker's stage-1 gates (box IoU, ground jump cap) and its reported (filtered) boxes."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import UserError
from core.types import Detections, TrackState
from mplt.geometry import BoxSpace, box_iou
from mplt.synthetic.scripted import (
    as_image_detections,
    make_scene,
    project_boxes,
    run_tracker,
    straight,
)
from trackers import DeepSortTracker

FLAT = BoxSpace()
FPS = 30.0
BOX_W, BOX_H = 40.0, 100.0  # px, a person in a flat 640 x 480 image


def flat_detections(frame: int, centres: list, features: list) -> Detections:
    """Image-mode detections of people whose box centres are ``centres`` (px)."""
    if not centres:
        return Detections.empty(frame).replace(embeddings=np.zeros((0, 8), np.float32))
    c = np.asarray(centres, float)
    half = np.array([BOX_W / 2, BOX_H / 2])
    boxes = np.concatenate([c - half, c + half], axis=1)
    n = len(c)
    return Detections(
        boxes=boxes,
        scores=np.full(n, 0.9, np.float32),
        ground_xy=np.full((n, 2), np.nan),
        ground_cov=np.full((n, 2, 2), np.nan),
        embeddings=np.asarray(features, np.float32),
        frame_index=frame,
    )


def look_alike_scene() -> tuple[list[Detections], list[np.ndarray]]:
    """Person A walks right at 60 px/s, hidden during frames 40-47; person B, dressed alike
    (cosine distance 0.05), steps in at frame 42 just beside where A's coasting box is when A
    comes back (IoU under 0.03, well inside A's Mahalanobis gate after coasting) and stands
    there.

    Returns the detections and, per frame, the person (0 = A, 1 = B) of each detection row.
    """
    a = np.zeros(8)
    a[0] = 1.0
    b = np.zeros(8)
    b[0], b[1] = 0.95, np.sqrt(1 - 0.95**2)
    hidden = range(40, 48)
    b_centre = (100.0 + 2.0 * 48 + 0.95 * BOX_W, 240.0)
    frames, who = [], []
    for f in range(70):
        centres, features, people = [], [], []
        if f not in hidden:
            centres.append((100.0 + 2.0 * f, 240.0))
            features.append(a)
            people.append(0)
        if f >= 42:
            centres.append(b_centre)
            features.append(b)
            people.append(1)
        frames.append(flat_detections(f, centres, features))
        who.append(np.array(people, np.int64))
    return frames, who


def ids_by_person(tracker: DeepSortTracker, frames: list, who: list) -> dict[int, set[int]]:
    """Confirmed IDs each person's detections were given."""
    seen: dict[int, set[int]] = {0: set(), 1: set()}
    for dets, people in zip(frames, who, strict=True):
        out = tracker.update(dets)
        hit = (out.detection_indices >= 0) & (out.states == TrackState.CONFIRMED)
        for track_id, row in zip(
            out.ids[hit].tolist(), out.detection_indices[hit].tolist(), strict=True
        ):
            seen[int(people[row])].add(track_id)
    return seen


def test_image_mode_coasting_track_does_not_jump_to_a_look_alike_neighbour() -> None:
    frames, who = look_alike_scene()
    seen = ids_by_person(DeepSortTracker(box_space=FLAT, mode="image", fps=FPS), frames, who)
    assert seen == {0: {1}, 1: {2}}  # A is found again after coasting; B gets its own ID


def test_without_the_iou_gate_the_coasting_track_jumps() -> None:
    # The scene really is the failure the gate prevents.
    frames, who = look_alike_scene()
    seen = ids_by_person(
        DeepSortTracker(box_space=FLAT, mode="image", fps=FPS, cascade_min_iou=0.0), frames, who
    )
    assert 1 in seen[1]


def test_cascade_iou_gate_defaults_and_validates() -> None:
    assert DeepSortTracker(box_space=FLAT, mode="image").cascade_min_iou == 0.05
    assert DeepSortTracker(box_space=FLAT, mode="ground").cascade_min_iou == 0.05
    assert (
        DeepSortTracker(box_space=FLAT, mode="ground", cascade_min_iou=0.2).cascade_min_iou == 0.2
    )
    for bad in (-0.1, 1.5):
        with pytest.raises(UserError, match="cascade_min_iou"):
            DeepSortTracker(box_space=FLAT, cascade_min_iou=bad)


def ground_detection(frame: int, xy: tuple[float, float]) -> Detections:
    """One person at ``xy`` (m), localised with 0.5 m std, a fixed look; ground mode."""
    return Detections(
        boxes=np.array([[900.0, 480.0, 940.0, 560.0]]),
        scores=np.array([0.9], np.float32),
        ground_xy=np.array([xy]),
        ground_cov=np.eye(2)[None] * 0.25,
        embeddings=np.eye(8, dtype=np.float32)[:1],
        frame_index=frame,
    )


@pytest.mark.parametrize(("coasted", "jumps"), [(2, False), (5, True)])
def test_ground_jump_cap_grows_with_the_time_coasted(coasted, jumps) -> None:
    # A stands at (4, 0) for 10 frames, then vanishes; a look-alike appears 1 m away while A's
    # track has coasted ``coasted`` frames, well inside the Mahalanobis gate. The cap is
    # 0.5 m + 10 m/s * (coasted - 1) / 30 s: 0.83 m after 2 frames, 1.83 m after 5.
    tracker = DeepSortTracker(
        box_space=FLAT, fps=FPS, ground_match_radius_m=0.5, max_speed_mps=10.0
    )
    for f in range(10):
        tracker.update(ground_detection(f, (4.0, 0.0)))
    for f in range(10, 9 + coasted):
        tracker.update(Detections.empty(f).replace(embeddings=np.zeros((0, 8), np.float32)))
    out = tracker.update(ground_detection(9 + coasted, (4.0, 1.0)))
    (a,) = np.flatnonzero(out.ids == 1)
    assert (out.detection_indices[a] == 0) == jumps


@pytest.mark.parametrize("mode", ["ground", "image"])
def test_reported_boxes_are_filtered_and_smoother_than_the_detections(mode) -> None:
    person = straight((4.0, -2.0), (0.0, 1.0))
    scene = make_scene([person], 90, box_noise_px=3.0, seed=31)
    if mode == "image":
        scene = as_image_detections(scene)
    grid, outputs = run_tracker(DeepSortTracker(box_space=FLAT, mode=mode), scene)
    assert set(grid[grid > 0]) == {1}
    track_err, det_err = [], []
    for f in range(30, 90):  # after the filter has settled
        out, dets = outputs[f], scene.frames[f]
        truth = project_boxes(person.position(f / FPS)[None])[0]
        (row,) = np.flatnonzero(out.ids == 1)
        assert out.detection_indices[row] == 0  # matched this frame, yet not the raw box
        track_err.append(np.abs(out.boxes[row] - truth).mean())
        det_err.append(np.abs(dets.boxes[0] - truth).mean())
    assert np.mean(track_err) < 0.7 * np.mean(det_err)
    # and still the matched detection's box, give or take the noise
    assert box_iou(out.boxes[row][None], dets.boxes[:1])[0, 0] > 0.8


def test_zero_detections_in_image_mode_with_the_iou_gate() -> None:
    tracker = DeepSortTracker(box_space=FLAT, mode="image", n_init=1)
    tracker.update(flat_detections(0, [(100.0, 240.0)], [np.eye(8)[0]]))
    out = tracker.update(flat_detections(1, [], []))
    assert len(out) == 1 and out.states[0] == TrackState.LOST
    assert out.boxes.shape == (1, 4)
