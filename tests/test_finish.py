"""Offline finishing (mplt.finish): back-fill, interpolation, fragment merging, the files."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from core.errors import UserError
from core.types import Detections, Tracks, TrackState
from mplt.config import TrackerConfig
from mplt.finish import Finisher, FinishSettings
from mplt.geometry import BoxSpace, Equirectangular
from mplt.io.mot import read_mot
from mplt.synthetic.scripted import make_scene, straight
from trackers import DeepSortTracker

FPS = 10.0
SETTINGS = FinishSettings.of(TrackerConfig())
UNSMOOTHED = FinishSettings.of(TrackerConfig(finish_smooth_accel_mps2=0.0))
COLOURS = np.eye(4, dtype=np.float32)  # one appearance per person


def frame(index: int, people: list[tuple[int, tuple[float, float], int]]) -> tuple:
    """Tracks and detections of one frame: ``(id, (x, y) ground, colour)`` per person, each
    with a 40 x 100 px box at ``x * 50`` px and a feature of that colour."""
    n = len(people)
    xy = np.array([p[1] for p in people], float).reshape(n, 2)
    boxes = np.column_stack([xy[:, 0] * 50, 100 + xy[:, 1], xy[:, 0] * 50 + 40, 200 + xy[:, 1]])
    tracks = Tracks(
        ids=np.array([p[0] for p in people], np.int64),
        boxes=boxes,
        scores=np.full(n, 0.9, np.float32),
        ground_xy=xy,
        ground_velocity=np.zeros((n, 2)),
        states=np.full(n, TrackState.CONFIRMED, np.int8),
        detection_indices=np.arange(n),
        frame_index=index,
    )
    dets = Detections(
        boxes=boxes,
        scores=tracks.scores,
        ground_xy=xy,
        ground_cov=np.tile(np.eye(2) * 0.01, (n, 1, 1)),
        embeddings=COLOURS[[p[2] for p in people]].reshape(n, 4),
        frame_index=index,
    )
    return tracks, dets


def finished(
    frames: list[list[tuple]], box_space=None, settings=SETTINGS, frame_size=None
) -> np.ndarray:
    space = box_space or BoxSpace()
    if frame_size is not None:
        space = dataclasses.replace(space, size=frame_size)
    finisher = Finisher(space, FPS, settings)
    for index, people in enumerate(frames):
        finisher.add(*frame(index, people), {})
    return finisher.finished()


# columns of Finisher.finished()
ID, FRAME, BOX, XY, DET, STATE = 0, 1, slice(2, 6), slice(7, 9), 11, 12


def rows_at(out: np.ndarray, index: int) -> np.ndarray:
    return out[out[:, FRAME] == index]


def ids_at(out: np.ndarray, index: int) -> list[int]:
    return sorted(int(i) for i in rows_at(out, index)[:, ID])


def all_ids(out: np.ndarray) -> set[int]:
    return {int(i) for i in out[:, ID]}


def test_back_fill_reports_a_person_from_their_first_frame() -> None:
    """The tracker confirms on the third hit; the finished track starts at the first."""
    scene = make_scene([straight((2.0, 3.0), (0.5, 0.0))], 12, embedding_dim=None, seed=1)
    tracker = DeepSortTracker(box_space=BoxSpace(), fps=FPS, n_init=3, confirm_first_frame=False)
    finisher = Finisher(BoxSpace(), FPS, SETTINGS)
    first_confirmed = None
    for dets in scene.frames:
        out = tracker.update(dets)
        if first_confirmed is None and (out.states == TrackState.CONFIRMED).any():
            first_confirmed = dets.frame_index
        finisher.add(out, dets, tracker.take_early_frames())
    rows = finisher.finished()
    assert first_confirmed == 2
    assert [ids_at(rows, f) for f in range(12)] == [[1]] * 12
    assert rows_at(rows, 0)[0, DET] == 0  # the early frame keeps its detection


def test_short_gaps_are_interpolated_in_the_image_and_on_the_ground() -> None:
    walk = [[(1, (1.0 + 0.1 * f, 0.0), 0)] if not 5 <= f < 9 else [] for f in range(14)]
    out = finished(walk, settings=UNSMOOTHED)
    assert [ids_at(out, f) for f in range(14)] == [[1]] * 14
    row = rows_at(out, 7)[0]
    assert row[STATE] == TrackState.LOST and row[DET] == -1
    assert row[XY] == pytest.approx([1.7, 0.0], abs=1e-9)
    assert row[BOX] == pytest.approx([1.7 * 50, 100, 1.7 * 50 + 40, 200])
    # longer than finish_max_gap_s (2 s = 20 frames): left open
    long_gap = [[(1, (1.0, 0.0), 0)] if not 2 <= f < 24 else [] for f in range(26)]
    assert ids_at(finished(long_gap), 8) == []


def test_the_smoother_takes_out_the_jitter_of_the_measured_positions() -> None:
    """A walk at 1.2 m/s measured with 0.3 m noise (the covariance says so): the smoothed
    positions are within a third of that, velocities near the truth, gap rows follow the walk,
    and the tracker's own positions are not what is smoothed."""
    rng = np.random.default_rng(3)
    n, std = 60, 0.3
    truth = np.column_stack([1.2 * np.arange(n) / FPS, np.full(n, 4.0)])
    finisher = Finisher(BoxSpace(), FPS, SETTINGS)
    for f in range(n):
        if 30 <= f < 34:  # a gap: interpolated, then smoothed
            finisher.add(*frame(f, []), {})
            continue
        tracks, dets = frame(f, [(1, tuple(truth[f]), 0)])
        measured = truth[f] + rng.normal(0, std, 2)
        dets = dets.replace(ground_xy=measured[None], ground_cov=np.eye(2)[None] * std**2)
        tracks = dataclasses.replace(tracks, ground_xy=np.full((1, 2), 99.0))  # never smoothed
        finisher.add(tracks, dets, {})
    rows = finisher.finished()
    err = np.linalg.norm(rows[:, XY] - truth[rows[:, FRAME].astype(int)], axis=1)
    assert len(rows) == n
    assert np.median(err) < std / 3
    assert np.median(np.abs(rows[:, 9] - 1.2)) < 0.2  # velocity x, m/s
    assert err[30:34].max() < 0.25
    unsmoothed = Finisher(BoxSpace(), FPS, UNSMOOTHED)
    unsmoothed.add(*frame(0, [(1, (1.0, 2.0), 0)]), {})
    assert unsmoothed.finished()[0, XY] == pytest.approx([1.0, 2.0])


def test_the_smoother_leaves_tracks_without_ground_positions_alone() -> None:
    """Image mode: no measured positions, nothing to smooth, NaN stays NaN."""
    finisher = Finisher(BoxSpace(), FPS, SETTINGS)
    for f in range(10):
        tracks, dets = frame(f, [(1, (1.0 + 0.1 * f, 0.0), 0)])
        nan = np.full((1, 2), np.nan)
        finisher.add(
            dataclasses.replace(tracks, ground_xy=nan, ground_velocity=nan),
            dets.replace(ground_xy=nan, ground_cov=np.full((1, 2, 2), np.nan)),
            {},
        )
    rows = finisher.finished()
    assert len(rows) == 10 and np.isnan(rows[:, XY]).all()


def test_interpolation_takes_the_short_way_round_the_seam() -> None:
    space = BoxSpace(period=2000.0)
    walk = [[(1, (39.0 + 0.2 * f, 0.0), 0)] if f != 5 else [] for f in range(11)]
    row = rows_at(finished(walk, space), 5)[0]
    # 39.8 -> 40.2 "metres" is x 1990 -> 2010 px: the box in between sits at the seam
    assert row[BOX][0] == pytest.approx(0.0, abs=1e-6)


def test_fragments_that_appearance_and_motion_agree_on_are_merged() -> None:
    """A person lost for 1.5 s and found again as a new ID where their walk leads."""
    frames = [[(1, (0.1 * f, 0.0), 0)] for f in range(20)]
    frames += [[] for _ in range(15)]
    frames += [[(2, (0.1 * f, 0.0), 0)] for f in range(35, 50)]
    out = finished(frames)
    assert all_ids(out) == {1}


def test_fragments_too_short_to_trust_are_not_merged() -> None:
    """Fragments of 0.4 s (shorter than ``finish_merge_min_s``, 0.5 s) before or after the
    gap keep their own ID; the same walk with 1 s on both sides is merged."""
    for first, second, ids in ((4, 10, {1, 2}), (10, 4, {1, 2}), (10, 10, {1})):
        frames = [[(1, (0.1 * f, 0.0), 0)] for f in range(first)]
        frames += [[] for _ in range(10)]
        start = first + 10
        frames += [[(2, (0.1 * f, 0.0), 0)] for f in range(start, start + second)]
        assert all_ids(finished(frames)) == ids


def test_no_merge_of_people_seen_at_the_same_time_or_dressed_differently() -> None:
    together = [
        [(1, (0.1 * f, 0.0), 0)] + ([(2, (0.1 * f + 0.5, 0.0), 0)] if f >= 10 else [])
        for f in range(30)
    ]
    out = finished(together)
    assert ids_at(out, 20) == [1, 2]
    other_colour = [[(1, (0.1 * f, 0.0), 0)] for f in range(20)]
    other_colour += [[] for _ in range(5)]
    other_colour += [[(2, (0.1 * f, 0.0), 1)] for f in range(25, 40)]
    assert all_ids(finished(other_colour)) == {1, 2}
    far_away = [[(1, (0.1 * f, 0.0), 0)] for f in range(20)]
    far_away += [[] for _ in range(5)]
    far_away += [[(2, (30.0, 0.0), 0)] for f in range(25, 40)]
    assert all_ids(finished(far_away)) == {1, 2}


def walk(start: float, step: float, frames: range, track_id: int) -> list[list[tuple]]:
    """One person (colour 0) at ground x ``start + step * k`` in the k-th of ``frames``."""
    return [[(track_id, (start + step * k, 0.0), 0)] for k in range(len(frames))]


def test_who_left_through_an_image_edge_comes_back_through_it() -> None:
    """A 400 px wide image: a person walks out through its right edge (boxes at ``x * 50``
    px, 40 px wide, x2 = 400 at x = 7.2); a look-alike seen 1 s later walking left from
    inside the image is someone else, though appearance and motion would allow the merge.
    One who comes back in through that edge, one who only stood at it and one on a full
    panorama (no edges) are merged."""
    size = (400, 300)
    gap = [[] for _ in range(10)]
    out_right = walk(6.0, 0.1, range(13), 1)  # ends at x = 7.2, touching, moving out
    inside = walk(7.0, -0.1, range(10), 2)  # starts 10 px short of the edge
    back_in = walk(7.2, -0.1, range(10), 2)  # starts touching it, moving in
    assert all_ids(finished(out_right + gap + inside)) == {1}  # without the image's size
    assert all_ids(finished(out_right + gap + inside, frame_size=size)) == {1, 2}
    assert all_ids(finished(out_right + gap + back_in, frame_size=size)) == {1}
    standing = walk(7.2, 0.0, range(13), 1)  # at the edge, not leaving through it
    assert all_ids(finished(standing + gap + inside, frame_size=size)) == {1}
    # someone coming in through an edge was outside the view, not hidden in it
    into_view = walk(6.0, 0.1, range(10), 1) + gap + walk(7.2, -0.1, range(10), 2)
    assert all_ids(finished(into_view, frame_size=size)) == {1, 2}
    panorama = BoxSpace(period=400.0)  # its left and right are one seam, no edge
    assert all_ids(finished(out_right + gap + inside, panorama, frame_size=size)) == {1}


def test_someone_hidden_inside_the_view_for_seconds_keeps_the_id() -> None:
    """A person walks 1 m/s across a 400 px image and is hidden for 4 s in the middle of it
    (behind a pillar: past ``finish_merge_gap_s``, within ``finish_hidden_gap_s``), coming out
    where the walk leads: one ID, the 4 s not interpolated. Not so after 6 s, with another
    look, with the hidden gap off, or where the track ended at an image edge (who stood there
    may have stepped out); on a full panorama there is no edge."""
    size = (400, 300)
    hidden = [[] for _ in range(40)]
    before = walk(1.0, 0.1, range(13), 1)  # x 1.0 -> 2.2, box x2 150 px: inside
    after = walk(6.3, 0.1, range(8), 2)  # where the walk leads 4.1 s on, box x2 <= 390 px
    out = finished(before + hidden + after, frame_size=size)
    assert all_ids(out) == {1}
    assert [len(rows_at(out, f)) for f in range(13, 53)] == [0] * 40
    longer = [[] for _ in range(60)]  # 6 s: the motion test alone would still allow it
    assert all_ids(finished(before + longer + after, frame_size=size)) == {1, 2}
    other_look = [[(2, xy, 1)] for ((_, xy, _),) in after]
    assert all_ids(finished(before + hidden + other_look, frame_size=size)) == {1, 2}
    off = FinishSettings.of(TrackerConfig(finish_hidden_gap_s=0.0))
    assert all_ids(finished(before + hidden + after, settings=off, frame_size=size)) == {1, 2}
    at_edge = walk(7.2, 0.0, range(13), 1)  # box x2 = 400 px, standing still
    inside = walk(5.0, -0.1, range(8), 2)
    assert all_ids(finished(at_edge + hidden + inside, frame_size=size)) == {1, 2}
    panorama = BoxSpace(period=400.0)
    assert all_ids(finished(at_edge + hidden + inside, panorama, frame_size=size)) == {1}


def test_who_comes_back_after_seconds_away_keeps_the_id() -> None:
    """A person walks out through the right edge of a 400 px image and, 8 s later (past
    ``finish_merge_gap_s``, within ``finish_return_gap_s``), back in through it: one ID, the
    8 s left empty. Someone of another look, or coming in through the other edge, or after
    longer than the return window, is a newcomer; so is everyone with returns off. On a full
    panorama (no edges) the look alone decides."""
    size = (400, 300)
    away = [[] for _ in range(80)]
    out_right = walk(6.0, 0.1, range(13), 1)  # leaves through the right edge at x = 7.2
    back = walk(7.2, -0.1, range(10), 2)  # comes back in through it
    out = finished(out_right + away + back, frame_size=size)
    assert all_ids(out) == {1}
    assert [len(rows_at(out, f)) for f in range(13, 93)] == [0] * 80  # not interpolated
    other_look = [[(2, xy, 1)] for ((_, xy, _),) in back]
    assert all_ids(finished(out_right + away + other_look, frame_size=size)) == {1, 2}
    by_left = walk(-0.01, 0.1, range(10), 2)  # box x1 at -0.5 px, walking in from the left
    assert all_ids(finished(out_right + away + by_left, frame_size=size)) == {1, 2}
    too_late = [[] for _ in range(160)]  # 16 s
    assert all_ids(finished(out_right + too_late + back, frame_size=size)) == {1, 2}
    off = FinishSettings.of(TrackerConfig(finish_return_gap_s=0.0))
    assert all_ids(finished(out_right + away + back, settings=off, frame_size=size)) == {1, 2}
    panorama = BoxSpace(period=400.0)
    mid = walk(3.0, 0.1, range(13), 1) + away + walk(5.0, -0.1, range(10), 2)
    assert all_ids(finished(mid, panorama, frame_size=size)) == {1}
    mid_other = walk(3.0, 0.1, range(13), 1) + away + [[(2, (5.0, 0.0), 1)]] * 10
    assert all_ids(finished(mid_other, panorama, frame_size=size)) == {1, 2}
    # inside a flat image a long gap is someone hidden, not returned: the walk cannot vouch
    assert all_ids(finished(mid, frame_size=size)) == {1, 2}


def test_an_id_the_tracker_took_back_is_judged_again() -> None:
    """The tracker's lost-track memory gave a newly confirmed track an old ID (it lists the ID
    among the confirmed ones again): the finishing keeps the new rows as a fragment of their
    own and joins them to the old ID only if its own tests agree. Where the walk leads and
    alike: ID 1 throughout. Another look, or two IDs taken back in one frame of which one
    looks wrong: the wrong one gets an ID no streaming track had."""
    size = (400, 300)
    hidden = [[] for _ in range(40)]

    def run(frames: list[list[tuple]], took_back: dict[int, list[int]]) -> np.ndarray:
        finisher = Finisher(BoxSpace(size=size), FPS, SETTINGS)
        for index, people in enumerate(frames):
            early = {track_id: [] for track_id in took_back.get(index, [])}
            finisher.add(*frame(index, people), early)
        return finisher.finished()

    before = walk(1.0, 0.1, range(13), 1)
    after = walk(6.3, 0.1, range(8), 1)  # ID 1 again, 4 s later where the walk leads
    assert all_ids(run(before + hidden + after, {53: [1]})) == {1}
    other_look = [[(1, xy, 1)] for ((_, xy, _),) in after]
    out = run(before + hidden + other_look, {53: [1]})
    assert all_ids(out) == {1, 2}
    assert ids_at(out, 12) == [1] and ids_at(out, 53) == [2]
    # two people, IDs 1 and 3, both taken back in frame 53; 3 by someone who looks like 1
    pair = [[*a, (3, (xy[0], 1.0), 2)] for a, ((_, xy, _),) in zip(before, before, strict=True)]
    back = [[(1, xy, 0), (3, (xy[0], 1.0), 0)] for ((_, xy, _),) in walk(6.3, 0.1, range(8), 1)]
    out = run(pair + hidden + back, {53: [1, 3]})
    assert ids_at(out, 12) == [1, 3]
    assert ids_at(out, 53)[0] == 1 and ids_at(out, 53)[1] not in (1, 3)
    assert len(all_ids(out)) == 3  # no fragment shares a key with another


def test_a_take_back_stands_where_the_finishing_cannot_test_the_walk() -> None:
    """Image mode: the new fragment's rows have no ground position, so the finishing's
    motion test compares nothing; the tracker's take-back (its own walk test, in the image)
    stands when the look agrees. The same two tracks not taken back stay two, and a
    take-back of another look is still undone."""
    size = (400, 300)
    hidden = [[] for _ in range(40)]
    finisher_ids = []
    for streaming_id, took_back, colour in ((1, True, 0), (2, False, 0), (1, True, 1)):
        finisher = Finisher(BoxSpace(size=size), FPS, SETTINGS)
        frames = walk(1.0, 0.1, range(13), 1) + hidden
        frames += [[(streaming_id, xy, colour)] for ((_, xy, _),) in walk(6.3, 0.1, range(8), 1)]
        for index, people in enumerate(frames):
            tracks, dets = frame(index, people)
            if index >= 53:  # no ground: image mode
                tracks = dataclasses.replace(tracks, ground_xy=np.full((len(tracks), 2), np.nan))
            early = {streaming_id: []} if took_back and index == 53 else {}
            finisher.add(tracks, dets, early)
        finisher_ids.append(all_ids(finisher.finished()))
    assert finisher_ids == [{1}, {1, 2}, {1, 2}]


def test_write_gives_both_files_every_frame(tmp_path) -> None:
    camera = Equirectangular(2000, 1000, camera_height=2.0)
    finisher = Finisher(camera.box_space, FPS, SETTINGS)
    for index in range(6):
        people = [(1, (1.0 + 0.1 * index, 0.0), 0)] if index != 3 else []
        finisher.add(*frame(index, people), {})
    finisher.add(Tracks.empty(6), Detections.empty(6), {})
    txt, jsonl = finisher.write(tmp_path, camera)
    rows = read_mot(txt)
    assert rows[:, 0].tolist() == [1, 2, 3, 4, 5, 6] and set(rows[:, 1]) == {1}
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [line["frame"] for line in lines] == [1, 2, 3, 4, 5, 6, 7]
    assert lines[3]["tracks"][0]["state"] == "lost"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tracks_final.jsonl", "tracks_final.txt"]


def test_negative_settings_are_user_errors() -> None:
    with pytest.raises(UserError, match="finish_max_gap_s"):
        FinishSettings.of(TrackerConfig(finish_max_gap_s=-1.0))
