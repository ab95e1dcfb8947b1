"""DeepSortTracker on scripted scenes with known identities."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import UserError
from core.types import Detections, Tracks, TrackState
from mplt.geometry import BoxSpace, box_iou
from mplt.synthetic.scripted import (
    WIDTH,
    as_image_detections,
    circle,
    hidden_during,
    id_switches,
    make_scene,
    present_during,
    run_tracker,
    straight,
)
from trackers import TRACKERS, DeepSortTracker, deepsort

FLAT = BoxSpace()


def seam_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU on a panorama of width WIDTH: the best of the box shifted by -W, 0 and +W."""
    shifts = [np.array([s, 0.0, s, 0.0]) for s in (-WIDTH, 0.0, WIDTH)]
    return np.max([box_iou(a, b + s) for s in shifts], axis=0)


def assert_one_id_per_person(grid: np.ndarray, min_coverage: float = 0.9) -> None:
    """Each person got exactly one ID, distinct from everybody else's, on most of the frames
    where the person was detected (``grid`` from :func:`run_tracker`)."""
    assert id_switches(grid) == 0, grid
    for p in range(grid.shape[1]):
        column = grid[:, p]
        assert len(np.unique(column[column > 0])) == 1, f"person {p}: {column}"
        assert (column > 0).sum() >= min_coverage * (column >= 0).sum(), f"person {p}: {column}"


def crossing_people(delay_s: float = 0.0) -> list:
    """Two people whose paths cross at (0, 4) m at right angles, the first at t = 10/3 s
    (frame 100), the second ``delay_s`` later (0: they collide)."""
    return [
        straight((-4.0, 4.0), (1.2, 0.0)),
        straight((0.0, -1.2 * delay_s), (0.0, 1.2)),
    ]


# -- (a) crossing -------------------------------------------------------------------------


def test_two_people_colliding_keep_their_ids_with_embeddings() -> None:
    scene = make_scene(crossing_people(), 200, seed=1)
    grid, _ = run_tracker(DeepSortTracker(box_space=FLAT), scene)
    assert_one_id_per_person(grid)
    assert set(np.unique(grid[grid > 0])) == {1, 2}


def test_two_people_crossing_keep_their_ids_by_motion_alone() -> None:
    # Half a second apart they pass within 0.45 m of each other; localisation noise is 0.15 m.
    scene = make_scene(crossing_people(delay_s=0.5), 200, embedding_dim=None, seed=1)
    grid, _ = run_tracker(DeepSortTracker(box_space=FLAT), scene)
    assert_one_id_per_person(grid)


# -- (b) occlusion ------------------------------------------------------------------------


@pytest.mark.parametrize("embedding_dim", [64, None], ids=["embeddings", "motion-only"])
def test_occluded_for_ten_frames_keeps_the_id(embedding_dim) -> None:
    hidden = range(40, 50)
    people = [
        straight((3.0, -4.0), (0.0, 1.3), visible=hidden_during(hidden)),
        straight((-5.0, 2.0), (0.8, 0.5)),
    ]
    scene = make_scene(people, 100, embedding_dim=embedding_dim, seed=3)
    tracker = DeepSortTracker(box_space=FLAT)
    grid, outputs = run_tracker(tracker, scene)
    assert_one_id_per_person(grid)
    person_id = grid[39, 0]
    for f in hidden:
        row = np.flatnonzero(outputs[f].ids == person_id)
        assert len(row) == 1, "the occluded person's track must coast"
        assert outputs[f].states[row[0]] == TrackState.LOST
        assert outputs[f].detection_indices[row[0]] == -1
        # The coasting position follows the walk: about 1.3 m/s along +y.
        truth = people[0].position(f / 30.0)
        assert np.hypot(*(outputs[f].ground_xy[row[0]] - truth)) < 0.5


def test_track_is_deleted_after_max_age_and_the_person_gets_a_new_id() -> None:
    people = [straight((3.0, 0.0), (0.0, 0.5), visible=hidden_during(range(20, 32)))]
    scene = make_scene(people, 50, embedding_dim=None, seed=4)
    tracker = DeepSortTracker(box_space=FLAT, max_age_frames=10, n_init=3)
    grid, outputs = run_tracker(tracker, scene)
    assert len(outputs[30]) == 0  # deleted after 10 unmatched frames (frame 30 is the 11th)
    assert len(outputs[29]) == 1 and outputs[29].states[0] == TrackState.LOST
    assert set(grid[:20, 0][grid[:20, 0] > 0]) == {1}
    assert set(grid[35:, 0]) == {2}


# -- (c) walking round the camera through azimuth 180 degrees ------------------------------


def test_walking_round_the_camera_ground_mode() -> None:
    scene = make_scene([circle(4.0, 1.4, start_deg=120.0)], 240, seed=5)
    grid, _ = run_tracker(DeepSortTracker(box_space=FLAT), scene)
    assert_one_id_per_person(grid)


@pytest.mark.parametrize("embedding_dim", [64, None], ids=["embeddings", "motion-only"])
def test_box_crossing_the_panorama_seam_keeps_one_id_in_image_mode(embedding_dim) -> None:
    scene = as_image_detections(
        make_scene([circle(4.0, 1.4, start_deg=160.0)], 120, embedding_dim=embedding_dim, seed=6)
    )
    x1 = np.array([d.boxes[0, 0] for d in scene.frames])
    assert x1[0] > 0.9 * WIDTH and x1[-1] < 0.2 * WIDTH  # the box really crosses x = W
    tracker = DeepSortTracker(box_space=BoxSpace(WIDTH), mode="image")
    grid, outputs = run_tracker(tracker, scene)
    assert_one_id_per_person(grid, min_coverage=0.95)
    for out in outputs:
        assert np.all((out.boxes[:, 0] >= 0) & (out.boxes[:, 0] < WIDTH))
        assert np.all(out.boxes[:, 2] > out.boxes[:, 0])
        assert np.all(np.isnan(out.ground_xy)) and np.all(np.isnan(out.ground_velocity))


def test_box_coasting_across_the_seam_in_image_mode() -> None:
    # The box centre reaches azimuth 180 deg at frame 45, its left edge about 5 frames later;
    # hidden from 40 to 57, the box must coast across the seam and be found again.
    person = circle(4.0, 1.4, start_deg=150.0, visible=hidden_during(range(40, 58)))
    scene = as_image_detections(make_scene([person], 100, embedding_dim=None, seed=7))
    tracker = DeepSortTracker(box_space=BoxSpace(WIDTH), mode="image")
    grid, outputs = run_tracker(tracker, scene)
    assert_one_id_per_person(grid)
    coasting = outputs[57].boxes[0]
    assert outputs[57].states[0] == TrackState.LOST
    assert coasting[0] < 0.1 * WIDTH  # wrapped: x1 back in [0, W)
    truth = scene.frames[58].boxes[0]
    assert seam_iou(coasting[None], truth[None])[0, 0] > 0.5


# -- (d) nobody, then people -------------------------------------------------------------


def test_zero_detections_then_people_appear() -> None:
    people = [
        straight((2.0, 2.0), (0.5, 0.0), visible=present_during(range(20, 80))),
        straight((-3.0, 1.0), (0.0, -0.5), visible=present_during(range(25, 80))),
    ]
    scene = make_scene(people, 80, seed=8)
    # the second person stands at the seam (box columns about 2010-2085 of 2048): boxes wrap
    tracker = DeepSortTracker(box_space=BoxSpace(WIDTH), n_init=3)
    grid, outputs = run_tracker(tracker, scene)
    for f in range(20):
        assert len(outputs[f]) == 0 and outputs[f].frame_index == f
    assert_one_id_per_person(grid[25:])
    assert grid[22, 0] == 1 and grid[27, 1] == 2  # confirmed on the 3rd hit, IDs from 1


def test_empty_frames_with_and_without_tracks() -> None:
    tracker = DeepSortTracker(box_space=FLAT)
    out = tracker.update(Detections.empty(frame_index=7))
    assert isinstance(out, Tracks) and len(out) == 0 and out.frame_index == 7
    scene = make_scene([straight((2.0, 0.0), (0.0, 1.0))], 5, seed=9)
    for dets in scene.frames:
        tracker.update(dets)
    out = tracker.update(Detections.empty(frame_index=5))
    assert len(out) == 1 and out.states[0] == TrackState.LOST and out.detection_indices[0] == -1
    image = DeepSortTracker(box_space=FLAT, mode="image")
    assert len(image.update(Detections.empty())) == 0


# -- (e) false positives, (i) consecutive IDs ----------------------------------------------


def test_single_frame_false_positives_never_get_ids_and_ids_are_consecutive() -> None:
    people = [straight((x, 3.0), (0.0, -0.6)) for x in (-4.0, 0.0, 4.0)]
    scene = make_scene(people, 150, false_positives_per_frame=1.5, seed=10)
    assert sum((ids < 0).sum() for ids in scene.identities) > 150  # plenty of clutter
    # the first frame's boxes, clutter too, are confirmed at once (tests/trackers/test_stages.py)
    tracker = DeepSortTracker(box_space=FLAT, confirm_first_frame=False)
    grid, outputs = run_tracker(tracker, scene)
    assert_one_id_per_person(grid)
    confirmed_ids = set()
    for f, out in enumerate(outputs):
        matched = out.detection_indices >= 0
        truth = scene.identities[f][out.detection_indices[matched]]
        states = out.states[matched]
        # clutter only ever feeds tentative tracks, which carry id -1
        assert np.all(states[truth < 0] == TrackState.TENTATIVE)
        assert np.all(out.ids[out.states == TrackState.TENTATIVE] == -1)
        confirmed_ids |= set(out.ids[out.states != TrackState.TENTATIVE].tolist())
    assert confirmed_ids == {1, 2, 3}


def test_ids_are_consecutive_with_people_coming_and_going() -> None:
    people = [
        straight(
            (np.cos(a) * 6, np.sin(a) * 6),
            (-np.sin(a), np.cos(a)),
            visible=present_during(range(k * 15, k * 15 + 40)),
        )
        for k, a in enumerate(np.linspace(0, 2 * np.pi, 6, endpoint=False))
    ]
    scene = make_scene(people, 130, false_positives_per_frame=1.0, seed=11)
    # (the first frame's clutter would be confirmed at once: confirm_first_frame)
    grid, outputs = run_tracker(DeepSortTracker(box_space=FLAT, confirm_first_frame=False), scene)
    assert_one_id_per_person(grid)
    ids = set()
    for out in outputs:
        ids |= set(out.ids[out.ids > 0].tolist())
    assert ids == set(range(1, 7))


# -- (f) detection indices -----------------------------------------------------------------


def test_detection_indices_point_at_the_matched_rows() -> None:
    people = [straight((x, -3.0), (0.3 * x, 1.0)) for x in (-2.0, 1.0, 3.0)]
    scene = make_scene(people, 60, false_positives_per_frame=0.5, seed=12)  # rows shuffled
    tracker = DeepSortTracker(box_space=FLAT)
    owner: dict[int, int] = {}
    for f, dets in enumerate(scene.frames):
        out = tracker.update(dets)
        matched = np.flatnonzero(out.detection_indices >= 0)
        rows = out.detection_indices[matched]
        assert len(set(rows.tolist())) == len(rows)
        # reported boxes are filtered: close to, not equal to, the matched detection's
        iou = np.diag(seam_iou(out.boxes[matched], dets.boxes[rows]))
        assert np.all(iou > 0.8), iou
        np.testing.assert_array_equal(out.scores[matched], dets.scores[rows])
        # the filtered position stays close to the detection it was updated with
        near = np.hypot(*(out.ground_xy[matched] - dets.ground_xy[rows]).T)
        assert np.all(near < 1.0)
        truth = scene.identities[f][rows]
        for track_id, person in zip(out.ids[matched].tolist(), truth.tolist(), strict=True):
            if track_id > 0:
                assert owner.setdefault(track_id, person) == person


# -- (g) reset --------------------------------------------------------------------------


def test_reset_restarts_ids() -> None:
    scene = make_scene(crossing_people(), 60, seed=13)
    tracker = DeepSortTracker(box_space=FLAT)
    first, _ = run_tracker(tracker, scene)
    tracker.reset()
    assert len(tracker.update(Detections.empty())) == 0
    tracker.reset()
    second, _ = run_tracker(tracker, scene)
    np.testing.assert_array_equal(first, second)
    assert second.max() == 2


# -- (h) far people -----------------------------------------------------------------------


def test_far_people_with_large_ground_covariance_still_associate() -> None:
    people = [
        straight((20.0, -6.0), (0.0, 1.2)),
        straight((-18.0, 8.0), (1.0, -0.6)),
        straight((4.0, 22.0), (-1.3, 0.0)),
    ]
    scene = make_scene(people, 150, embedding_dim=None, seed=14)
    std = np.sqrt(np.linalg.eigvalsh(scene.frames[0].ground_cov).max(axis=1))
    assert std.min() > 1.0  # metres: these detections are poorly localised
    grid, outputs = run_tracker(DeepSortTracker(box_space=FLAT), scene)
    assert_one_id_per_person(grid, min_coverage=0.95)
    ids = grid[-1]
    # Filtering helps: the track is closer to the truth than the raw detections.
    track_err, det_err = [], []
    for f in range(50, 150):
        out, dets = outputs[f], scene.frames[f]
        for p, person in enumerate(people):
            truth = person.position(f / 30.0)
            row = np.flatnonzero(out.ids == ids[p])[0]
            track_err.append(np.hypot(*(out.ground_xy[row] - truth)))
            det_err.append(np.hypot(*(dets.ground_xy[scene.identities[f] == p][0] - truth)))
    assert np.mean(track_err) < 0.6 * np.mean(det_err)


def test_ground_velocity_is_metres_per_second() -> None:
    scene = make_scene([straight((-3.0, 4.0), (1.2, -0.4))], 90, seed=15)
    _, outputs = run_tracker(DeepSortTracker(box_space=FLAT), scene)
    np.testing.assert_allclose(outputs[-1].ground_velocity[0], [1.2, -0.4], atol=0.25)


# -- unknown ground positions -----------------------------------------------------------


def test_unknown_ground_detections_match_by_iou_but_never_start_tracks() -> None:
    people = [straight((3.0, -2.0), (0.0, 0.8)), straight((-4.0, 0.0), (0.5, 0.5))]
    # person 0's position is unknown on every third frame; person 1's always
    scene = make_scene(
        people,
        90,
        embedding_dim=None,
        seed=16,
        unknown_ground=lambda f, p: p == 1 or f % 3 == 0,
    )
    grid, outputs = run_tracker(DeepSortTracker(box_space=FLAT, n_init=3), scene)
    assert np.all(grid[:, 1] == 0)  # never tracked in ground mode
    assert set(np.unique(grid[3:, 0])) == {1}  # matched by IoU on the unknown frames too
    assert len(outputs[0]) == 0  # frame 0: nobody's position is known, nothing starts
    assert all(len(out) == 1 for out in outputs[1:])
    unknown_frames = [f for f in range(6, 90) if f % 3 == 0]
    for f in unknown_frames:
        assert outputs[f].detection_indices[0] >= 0
        assert np.all(np.isfinite(outputs[f].ground_xy))  # coasted, not NaN


# -- frames, lifecycle, options -------------------------------------------------------------


def test_tentative_tracks_have_id_minus_one_until_confirmed() -> None:
    scene = make_scene([straight((2.0, 2.0), (0.3, 0.0))], 4, seed=17)
    # a person who walks in later (the first frame's are confirmed at once)
    tracker = DeepSortTracker(box_space=FLAT, n_init=3, confirm_first_frame=False)
    outs = [tracker.update(d) for d in scene.frames]
    assert [int(o.ids[0]) for o in outs] == [-1, -1, 1, 1]
    assert [int(o.states[0]) for o in outs] == [TrackState.TENTATIVE] * 2 + [
        TrackState.CONFIRMED
    ] * 2
    immediate = DeepSortTracker(box_space=FLAT, n_init=1)
    assert immediate.update(scene.frames[0]).ids.tolist() == [1]


def test_tentative_track_dies_on_its_first_miss() -> None:
    scene = make_scene([straight((2.0, 2.0), (0.3, 0.0))], 2, seed=18)
    tracker = DeepSortTracker(box_space=FLAT, confirm_first_frame=False)
    tracker.update(scene.frames[0])
    tracker.update(scene.frames[1])
    assert len(tracker.update(Detections.empty())) == 0


def test_low_scores_update_tracks_but_do_not_start_them() -> None:
    scene = make_scene([straight((2.0, 2.0), (0.3, 0.0))], 30, seed=19)
    low = [d.replace(scores=np.full(len(d), 0.2, np.float32)) for d in scene.frames]
    tracker = DeepSortTracker(box_space=FLAT, min_score_new_track=0.5)
    assert all(len(tracker.update(d)) == 0 for d in low[:5])
    for d in scene.frames[5:10]:
        tracker.update(d)
    for d in low[10:]:
        out = tracker.update(d)
        assert out.ids.tolist() == [1] and out.detection_indices.tolist() == [0]


def test_frame_gaps_age_tracks_by_the_frame_index() -> None:
    scene = make_scene([straight((2.0, 2.0), (1.0, 0.0))], 10, seed=20)
    tracker = DeepSortTracker(box_space=FLAT, max_age_frames=5)
    for d in scene.frames[:5]:
        tracker.update(d)
    out = tracker.update(Detections.empty(frame_index=9))  # 5 frames later: still alive
    assert len(out) == 1 and out.states[0] == TrackState.LOST
    assert out.ground_xy[0, 0] == pytest.approx(2.0 + 9 / 30.0, abs=0.3)  # predicted 5 frames
    assert len(tracker.update(Detections.empty(frame_index=10))) == 0  # 6 frames: deleted

    # An index that does not advance (callers that leave it at 0) counts one frame per call.
    steady = DeepSortTracker(box_space=FLAT, max_age_frames=5)
    for d in scene.frames[:5]:
        steady.update(d.replace(frame_index=0))
    lives = [len(steady.update(Detections.empty())) for _ in range(7)]
    assert lives == [1, 1, 1, 1, 1, 0, 0]


def test_predict_between_updates_changes_nothing_and_follows_the_walk() -> None:
    scene = make_scene(crossing_people(delay_s=0.5), 120, seed=22)
    plain, stepped = DeepSortTracker(box_space=FLAT), DeepSortTracker(box_space=FLAT)
    with pytest.raises(ValueError, match="after the last update"):
        stepped.predict(0)
    for f in range(0, 120, 3):  # detections on every third frame only
        a, b = plain.update(scene.frames[f]), stepped.update(scene.frames[f])
        np.testing.assert_array_equal(a.boxes, b.boxes)
        np.testing.assert_array_equal(a.ids, b.ids)
        for k in (f + 1, f + 2):
            between = stepped.predict(k)
            np.testing.assert_array_equal(between.ids, b.ids)
            np.testing.assert_array_equal(between.states, b.states)
            assert (between.detection_indices == -1).all() and between.frame_index == k
            # the box and the ground position move on with the track's velocity
            dt = (k - f) / 30.0
            np.testing.assert_allclose(
                between.ground_xy, b.ground_xy + dt * b.ground_velocity, atol=1e-9
            )
    with pytest.raises(ValueError, match="after the last update"):
        stepped.predict(117)
    confirmed = b.states == TrackState.CONFIRMED
    assert confirmed.sum() == 2 and len(set(b.ids[confirmed].tolist())) == 2


def test_embeddings_on_some_frames_only() -> None:
    scene = make_scene(crossing_people(delay_s=0.5), 200, seed=21)
    frames = [d if f % 5 == 0 else d.replace(embeddings=None) for f, d in enumerate(scene.frames)]
    scene.frames = frames
    grid, _ = run_tracker(DeepSortTracker(box_space=FLAT), scene)
    assert_one_id_per_person(grid)


def test_max_age_in_seconds_follows_the_frame_rate() -> None:
    assert DeepSortTracker(box_space=FLAT, fps=25.0, max_age_s=2.0).max_age == 50
    assert DeepSortTracker(box_space=FLAT, fps=10.0, max_age_s=2.0, max_age_frames=7).max_age == 20
    assert DeepSortTracker(box_space=FLAT, fps=10.0, max_age_frames=7).max_age == 7
    assert DeepSortTracker(box_space=FLAT, fps=10.0).max_age == 20  # DEFAULT_MAX_AGE_S = 2 s


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mode": "sphere"},
        {"fps": 0},
        {"n_init": 0},
        {"nn_budget": 0},
        {"appearance_weight": 1.5},
        {"gating_probability": 1.0},
        {"feature_ema": 1.0},
        {"max_age_s": -1.0},
        {"reid_window_s": -1.0},
        {"reid_max_cosine": 3.0},
        {"reid_speed_mps": -0.5},
        {"occlusion_noise": -1.0},
        {"occluded_feature_max": 1.5},
        {"wide_box_ratio": 0.5},
    ],
)
def test_bad_settings_are_user_errors(kwargs) -> None:
    with pytest.raises(UserError):
        DeepSortTracker(box_space=FLAT, **kwargs)


def test_registry_and_keyword_only_constructor() -> None:
    assert TRACKERS.get("deepsort") is DeepSortTracker
    with pytest.raises(UserError, match="deepsort"):
        TRACKERS.get("sort")
    with pytest.raises(TypeError):
        DeepSortTracker("ground", box_space=FLAT)  # type: ignore[misc]
    with pytest.raises(TypeError):
        DeepSortTracker(box_space=FLAT).update([])  # type: ignore[arg-type]


def test_newest_first_gallery_search_does_not_change_any_match(monkeypatch) -> None:
    # Isolated pairs only need "is some feature close enough"; the result must be identical to
    # computing every exact nearest-neighbour distance.
    rng = np.random.default_rng(23)
    people = [
        circle(rng.uniform(2, 5), rng.uniform(0.8, 1.5) * rng.choice([-1, 1]), rng.uniform(0, 360))
        for _ in range(8)
    ]
    scene = make_scene(people, 150, identity_similarity=0.6, false_positives_per_frame=1.0, seed=23)
    _, fast = run_tracker(DeepSortTracker(box_space=FLAT, nn_budget=20), scene)
    monkeypatch.setattr(deepsort, "_NEWEST_FEATURES_FIRST", 10**9)
    _, exact = run_tracker(DeepSortTracker(box_space=FLAT, nn_budget=20), scene)
    for a, b in zip(fast, exact, strict=True):
        np.testing.assert_array_equal(a.ids, b.ids)
        np.testing.assert_array_equal(a.detection_indices, b.detection_indices)
