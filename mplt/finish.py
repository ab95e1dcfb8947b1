"""Offline finishing of a run's tracks, once the whole input has been tracked.

``mplt track`` streams ``tracks.txt`` / ``tracks.jsonl`` frame by frame and, when the input
ends (not when the run is interrupted) and ``tracker.finish`` is on, also writes the finished
tracks beside them, atomically: ``tracks_final.txt`` and ``tracks_final.jsonl`` (same formats).
Knowing the future allows repairs a streaming tracker cannot make:

1. **Back-fill**: a track is only reported once confirmed (``tracker.n_init`` matched frames);
   its earlier frames are added, so a person appears from their first frame.
2. **Fragment merging**: a track that ends and a track that starts at most
   ``finish_merge_gap_s`` later become one ID when their appearance agrees (cosine distance of
   the mean colour features at the end of one and the start of the other at most
   ``finish_merge_max_cosine``) and so does their motion (the new start within ``1 m +
   finish_merge_speed_mps * gap`` of where the old track's velocity takes it; in the image the
   same distance in person heights, 1.7 m to the box height). Tracks that were ever seen in the
   same frame are never merged, nor is a fragment shorter than ``finish_merge_min_s``: its ends
   give neither a velocity nor a look to go on. On a flat image a track that ends leaving the
   view through an edge (its box touches it and moves out) only continues in one that comes
   back in through that edge, and one that starts coming in through an edge continues none
   that ended inside the view. The merged track keeps the older ID, so the IDs of the
   finished files are not consecutive.
   **Hidden**: someone out of sight inside the view (behind a pillar, a sign) is merged the
   same way after a gap of up to ``finish_hidden_gap_s`` (5 s), when the track ended and the
   other started away from the image edges (a box at an edge may have stepped out, whichever
   way it moved; a full panorama has no edges).
   **IDs the tracker took back**: the streaming tracker's lost-track memory gives someone
   hidden inside the view their ID back (stage 7 of :mod:`trackers.deepsort`); here those rows
   are a fragment of their own again, judged like any other, since the whole video may show
   a better partner (two people who crossed behind a pillar, taken back the wrong way round:
   PETS behind the pillar of ``bench/compare_trackers.py --suites pillar``, finished IDF1 66.6
   with the take-backs judged again, 61.0 with them kept). Where one end has no ground
   position (image mode: a back-filled start), so that nothing here can test the walk, the
   tracker's join stands when the look agrees (cost ``1 + cosine``, after the joins the walk
   vouches for): in image mode PETS behind the pillar finished 44.7 -> 61.4 IDF1, the sphere's
   45.4 -> 62.5 (with the tracker's ``reid_max_cosine`` 0.3; 63.0 / 50.1 at 0.2).
   **Returns**: someone out of sight longer than ``finish_merge_gap_s``, for whom the walk
   can no longer vouch, keeps the ID if they come back within ``finish_return_gap_s`` (15 s)
   looking alike within ``finish_return_max_cosine`` (0.1, stricter than a merge: the look is
   all there is) -- on a flat image only who left through an edge and came back in through
   that edge (a long gap inside the view is someone hidden, not returned), on a panorama (no
   edges) anyone. Returns are taken after every merge the walk vouches for.
3. **Interpolation**: gaps of at most ``finish_max_gap_s`` inside a track are filled linearly,
   in the image (the short way round a panorama's seam) and on the ground; such rows have state
   ``lost`` and no detection index.

4. **Ground smoothing**: a Rauch-Tung-Striebel smoother (constant velocity, white
   acceleration of ``finish_smooth_accel_mps2``) of the track's own measurements: the
   localizer's positions of its detections with their covariances, not the tracker's filtered
   positions. Rows without a detection (coasting, interpolated) take the smoothed state.

The streaming files are left as they are. On the real suite (``bench/tracker_lab.py``, mean
over its 7 sequences) the finished files score HOTA 44.9 / IDF1 65.8 / 10.4 ID switches against
40.9 / 61.7 / 14.0 streaming; without the merging 44.8 / 64.8 / 11.4 (it helps IDF1 where
people come back, TUD-Stadtmitte 80.2 -> 84.3, and costs where a look-alike takes a lost
person's place, PETS with YOLOv8s HOTA 43.8 -> 42.2). Fragments shorter than
``finish_merge_min_s`` (0.5 s) are left unmerged: at 7 fps every confirmed track is longer
(``n_init`` 5 frames, 0.71 s, with its back-fill), at 25 fps a 0.44 s fragment of one person
was merged with another's start 2 s later, and the gap interpolated across the crowd between
them (TUD-Campus finished 49.3 / 75.3 / 4 -> 52.4 / 79.3 / 2, the rest unchanged; 0.45-0.67 s
measure alike, 0.75 s takes TUD-Stadtmitte from 53.3 to 49.5, a 0.5 s limit on one side only
gives Campus 49.3 / 72.8 / 4). Also measured and left out (the first two before the tracker's
cascade levels in time): merges solved jointly (Hungarian) instead of cheapest first: mean 43.0
/ 61.4 against 43.5 / 63.2 (TUD-Stadtmitte 53.3 -> 48.1); a gap term in the merge cost (``+ k *
gap / finish_merge_gap_s``, k 0.25-2): TUD-Stadtmitte 53.3 -> 50.0-48.1; no interpolation
across merged fragments (within one track only): TUD-Campus 49.3 -> 51.7, TUD-Stadtmitte 53.3
-> 52.2, PETS -0.2 to -0.3, and with merged gaps up to 1.5 / 1.75 s filled: Stadtmitte back to
53.3 at 1.5 s but PETS still -0.3 (1.75 s: the same as the length rule, by one gap of 1.96 s);
interpolated rows dropped where they overlap another track's detected box (IoU 0.3 / 0.5 /
0.7): mean 43.0 / 43.9 / 44.3 against 44.4 finished.

The edge rule takes TUD-Stadtmitte's finished tracks (perspective) from 51.9 / 78.1 / 2 to
53.1 / 83.8 / 1: a person who left through the right edge was merged with a look-alike seen
1.4 s later 60 px inside the image (``bench/tracker_lab.py --finish --reverse``: no other of
the 20 replays changes). ``finish_merge_speed_mps`` 2.0 instead of 1.5 merges a person behind
PETS' lamp post whose walk bent during 2.1 s unseen (PETS on the sphere 51.7 / 73.4 / 8 ->
52.7 / 75.2 / 7, PETS reversed 48.6 / 67.3 / 12 -> 50.2 / 72.5 / 10; mean of the 20 replays
49.5 / 71.5 / 7.5 -> 49.8 / 72.4 / 7.2 with both); 2.5 to 6 m/s give the same figures.
``bench/id_ceiling.py`` gives what perfect identities over the same boxes would reach.

Hidden gaps are measured on the pillar suite (``bench/tracker_lab.py --pillar``: a pillar
painted over PETS and TUD-Stadtmitte, 18 and 5 passages behind it, a median 3.5 / 1.6 s):
finished IDF1 (ground truth of people) PETS perspective 49.4 -> 70.7, on the sphere 48.8 ->
68.7, TUD-Stadtmitte 68.8 -> 68.8, the reversed replays' mean 54.6 -> 66.1; the 20 replays of
the real suite unchanged. Merging every gap up to 5 s the same way (``finish_merge_gap_s`` 5)
gains as much on PETS but joins someone standing at TUD-Stadtmitte's left edge with another
person seen there 4.5 s later (83.8 -> 81.8); 4 s gains less (69.2 / 67.0), 6 s loses on
the sphere (64.5) and on the real PETS (76.9 -> 75.3). A pillar at x 576-668 instead (17
passages, 2.0 s; MOT's truth): 62.4 -> 72.9 in perspective, 71.7 -> 68.7 on the sphere (two
people who pass behind it together come out paired the other way round).

Returns are measured against ground truth of people (``bench/tracker_lab.py --people``: MOT
gives someone who comes back a new ID; two people of PETS come back after 10-13 s): finished
IDF1 of PETS perspective 72.2 -> 76.9, on the sphere 71.6 -> 82.1, without a camera height
57.9 -> 61.0; mean of the 10 forward replays 72.9 -> 76.3, the 10 reversed 66.9 -> 67.0 (in
reverse colour takes one look-alike in black for another: the wrong return is the closer one,
0.039 against 0.098). A gate of 0.12-0.25 also joins a tracked passer-by at TUD-Stadtmitte's
left edge with someone else 4.5 s later (83.8 -> 81.8); 0.1 does not. Windows of 12 s keep one
of PETS' two returns, 20-30 s give the figures of 15 s. Against MOT's ground truth, which
counts each right return as a switch, the mean of the 20 replays falls 72.4 -> 70.9.

Median ground error with the camera known (PETS, Faster R-CNN boxes, perspective / on the 2048
sphere): streaming 0.268 / 0.260 m; a 1 s centred mean of the tracker's positions 0.227 /
0.239; the smoother of the measurements 0.197 / 0.195 at 0.7 m/s^2 (0.5: 0.193 / 0.204, 1.0:
0.201 / 0.196; run on the tracker's positions instead, at best 0.199 / 0.206). Tried and left
out: each track's own height (the median of its boxes' heights, so that the head row counts
beside the foot row) took the per-frame error of matched detections from 0.313 to 0.270 m but
the finished tracks' only from 0.227 to 0.219 (perspective) and made the sphere's worse (0.239
-> 0.237 with the mean, 0.206 -> 0.235 with a smoother): the smoother already averages what the
head row adds. Full tables: ``bench/results/compare_trackers.md``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import UserError
from core.files import atomic_path
from core.types import Detections, Tracks, TrackState
from mplt.config import TrackerConfig
from mplt.geometry import Camera, box_centre_azel
from mplt.io.jsonl import JsonlWriter
from mplt.io.mot import MotWriter
from trackers.space import BoxSpace
from trackers.track_set import EarlyFrame

#: Features kept per track end for the appearance test of a merge (first and last frames).
_END_FEATURES = 10
#: Seconds of a track's end used to estimate its velocity for the motion test of a merge.
_VELOCITY_WINDOW_S = 1.0
#: Nominal person height that converts a box height into metres (image-mode motion test).
_PERSON_HEIGHT_M = 1.7
#: Distance from an image edge at which a box counts as leaving or entering the view, px.
_EDGE_MARGIN_PX = 2.0
#: Slack of the motion test of a merge at zero gap, metres.
_MERGE_SLACK_M = 1.0


#: The fields of :class:`mplt.config.TrackerConfig` that belong to finishing, not the tracker.
FINISH_FIELDS = (
    "finish",
    "finish_max_gap_s",
    "finish_merge_gap_s",
    "finish_merge_max_cosine",
    "finish_merge_speed_mps",
    "finish_merge_min_s",
    "finish_hidden_gap_s",
    "finish_return_gap_s",
    "finish_return_max_cosine",
    "finish_smooth_accel_mps2",
)


@dataclass(frozen=True)
class FinishSettings:
    """The ``tracker.finish_*`` settings (see the module notes)."""

    max_gap_s: float
    merge_gap_s: float
    merge_max_cosine: float
    merge_speed_mps: float
    merge_min_s: float
    hidden_gap_s: float
    return_gap_s: float
    return_max_cosine: float
    smooth_accel_mps2: float

    @classmethod
    def of(cls, tracker: TrackerConfig) -> FinishSettings:
        """The settings of a tracker config section; checks them."""
        values = {name: getattr(tracker, f"finish_{name}") for name in cls.__dataclass_fields__}
        for name, value in values.items():
            if not (np.isfinite(value) and value >= 0):
                raise UserError(
                    f"tracker.finish_{name} is {value}; it must be >= 0 (0 switches it off)"
                )
        return cls(**values)


#: Columns of a track's stored rows (float64): frame, box x1 y1 x2 y2, score, ground x y,
#: velocity x y, detection index, state, then the detection's own measured ground position x y
#: and its covariance xx xy yy (the localizer's; NaN without a detection or a ground). Arrays,
#: not objects: ~140 bytes per person and frame.
_FRAME, _BOX, _SCORE, _XY, _V, _DET, _STATE = 0, slice(1, 5), 5, slice(6, 8), slice(8, 10), 10, 11
_MXY, _MCOV = slice(12, 14), slice(14, 17)
_COLUMNS = 17
#: Frames of measurements kept for the early frames of tracks confirmed later.
_RECENT_FRAMES = 64


class _Track:
    """One confirmed track's rows (a growing array) and its first and last features."""

    __slots__ = ("_data", "_n", "first", "last")

    def __init__(self, rows: np.ndarray | None = None) -> None:
        self._data = np.empty((16, _COLUMNS)) if rows is None else rows
        self._n = 0 if rows is None else len(rows)
        self.first: list[np.ndarray] = []
        self.last: list[np.ndarray] = []

    def append(self, frame, box, score, ground_xy, velocity, det_index: int, measured) -> None:
        """A frame of the track (an empty position or velocity: image mode, unknown;
        ``measured``: the detection's ground position and covariance, or None)."""
        if self._n == len(self._data):
            self._data = np.concatenate([self._data, np.empty_like(self._data)])
        row = self._data[self._n]
        row[_FRAME], row[_BOX], row[_SCORE] = frame, box, score
        row[_XY] = ground_xy if len(ground_xy) else np.nan
        row[_V] = velocity if len(velocity) else np.nan
        row[_DET], row[_STATE] = det_index, TrackState.CONFIRMED
        row[_MXY.start : _MCOV.stop] = np.nan if measured is None else measured
        self._n += 1

    def __len__(self) -> int:
        return self._n

    @property
    def rows(self) -> np.ndarray:
        """(R, 17) rows in frame order."""
        rows = self._data[: self._n]
        return rows[np.argsort(rows[:, _FRAME], kind="stable")]


class Finisher:
    """Collects a run's confirmed tracks frame by frame; :meth:`write` writes the finished files.

    Args:
        box_space: the box arithmetic of the frames (the seam of a panorama) and, where it
            has a size, the edges people leave a flat image through (a full panorama has none;
            without a size no edges are known).
        fps: frames per second of the input.
        settings: the finishing settings.
    """

    def __init__(
        self,
        box_space: BoxSpace,
        fps: float,
        settings: FinishSettings,
    ) -> None:
        self.box_space = box_space
        self.fps = float(fps)
        self.settings = settings
        self._tracks: dict[int, _Track] = {}
        # a streaming ID the tracker took back for a new fragment -> the key of that fragment
        self._fragment: dict[int, int] = {}
        self._taken_back: set[tuple[int, int]] = set()  # (old fragment, new one) the tracker joined
        self._frames: list[int] = []
        self._recent: dict[int, Detections] = {}  # frame -> its detections, for early frames

    def add(
        self, tracks: Tracks, detections: Detections, early: dict[int, list[EarlyFrame]]
    ) -> None:
        """One frame: the tracker's output, its detections (for the appearance features) and
        the early frames of the tracks confirmed meanwhile (``take_early_frames``). An ID
        confirmed again is one the tracker's lost-track memory took back: its new rows are
        kept as a fragment of their own, which the merging joins to the old one or not."""
        self._frames.append(tracks.frame_index)
        self._recent[tracks.frame_index] = detections
        self._recent.pop(tracks.frame_index - _RECENT_FRAMES, None)
        for track_id in early:
            if self._key(track_id) in self._tracks:
                # negative: not an ID; one below every key before it
                old, key = self._key(track_id), min(0, *self._tracks) - 1
                self._fragment[track_id] = key
                self._tracks[key] = _Track()
                self._taken_back.add((old, key))
        for track_id, frames in early.items():
            t = self._tracks.setdefault(self._key(track_id), _Track())
            for e in frames:
                measured = _measured(self._recent.get(e.frame_index), e.detection_index)
                t.append(
                    e.frame_index,
                    e.box,
                    e.score,
                    e.ground_xy,
                    e.velocity,
                    e.detection_index,
                    measured,
                )
        seen = np.flatnonzero(tracks.states == TrackState.CONFIRMED)
        for i in seen.tolist():
            t = self._tracks.setdefault(self._key(int(tracks.ids[i])), _Track())
            det = int(tracks.detection_indices[i])
            t.append(
                tracks.frame_index,
                tracks.boxes[i],
                float(tracks.scores[i]),
                tracks.ground_xy[i],
                tracks.ground_velocity[i],
                det,
                _measured(detections, det),
            )
            if detections.embeddings is not None and det >= 0:
                feature = detections.embeddings[det]
                if len(t.first) < _END_FEATURES:
                    t.first.append(feature)
                t.last = [*t.last[-(_END_FEATURES - 1) :], feature]

    def _key(self, track_id: int) -> int:
        """The key of the fragment a streaming ID's rows go to now."""
        return self._fragment.get(track_id, track_id)

    # -- the repairs ----------------------------------------------------------------------

    def finished(self) -> np.ndarray:
        """(R, 18) rows of the finished tracks, by frame then ID: ID, then the columns of
        :data:`_COLUMNS` (frame, box x1 y1 x2 y2, score, ground x y, velocity x y, detection
        index, state, measured ground x y, its covariance xx xy yy)."""
        rows = {k: t.rows for k, t in self._tracks.items() if len(t)}
        merged = self._merge(rows)
        # a fragment the merging left on its own gets an ID no streaming track had
        fresh = max((k for k in self._tracks if k > 0), default=0)
        parts = [np.zeros((0, _COLUMNS + 1))]
        for track_id, r in sorted(merged.items(), key=lambda kv: kv[1][0, _FRAME]):
            if track_id < 0:
                fresh += 1
                track_id = fresh
            r = self._smoothed(self._interpolated(r))
            parts.append(np.column_stack([np.full(len(r), track_id, float), r]))
        out = np.concatenate(parts)
        return out[np.lexsort((out[:, 0], out[:, 1 + _FRAME]))]

    def _position(
        self, rows: np.ndarray, at_end: bool
    ) -> tuple[np.ndarray, np.ndarray, float, bool]:
        """Where a track ends (or starts, going back in time): position, its velocity per
        second, metres per unit (1 on the ground, person height over box height in the
        image) and whether it is on the ground."""
        rows = rows if at_end else rows[::-1]
        frames = rows[:, _FRAME]
        k = self._window_start(frames)
        dt = abs(frames[-1] - frames[k]) / self.fps
        sign = 1.0 if at_end else -1.0
        xy, xy0 = rows[-1, _XY], rows[k, _XY]
        if np.isfinite(xy).all() and np.isfinite(xy0).all():
            v = (xy - xy0) / dt if dt > 0 else np.zeros(2)
            return xy, sign * v, 1.0, True
        box, box0 = rows[-1, _BOX], rows[k, _BOX]
        centre = 0.5 * (box[:2] + box[2:])
        d = centre - 0.5 * (box0[:2] + box0[2:])
        d[0] = self.box_space.x_difference(d[:1])[0]
        v = d / dt if dt > 0 else np.zeros(2)
        return centre, sign * v, _PERSON_HEIGHT_M / max(box[3] - box[1], 1.0), False

    def _window_start(self, frames: np.ndarray) -> int:
        """Index of the first of ``frames`` within the velocity window of the last one."""
        window = np.abs(frames - frames[-1]) <= _VELOCITY_WINDOW_S * self.fps
        return int(np.flatnonzero(window)[0])

    def _edges(self, rows: np.ndarray, at_end: bool) -> tuple[np.ndarray, np.ndarray]:
        """``(4,)`` bool of the image edges (left, top, right, bottom) a track's last box (or,
        with ``at_end`` False, its first) touches, and ``(4,)`` of those it leaves the view
        through there (comes into it through, at the start): its centre moves out through
        them (in). A full panorama has no edges (its top and bottom are the poles)."""
        if self.box_space.period is not None:
            return np.zeros(4, bool), np.zeros(4, bool)
        rows = rows if at_end else rows[::-1]
        k = self._window_start(rows[:, _FRAME])
        box, box0 = rows[-1, _BOX], rows[k, _BOX]
        dx, dy = 0.5 * (box[:2] + box[2:]) - 0.5 * (box0[:2] + box0[2:])
        touch = self.box_space.touches_edge(box[None], _EDGE_MARGIN_PX)[0]
        return touch, touch & np.array([dx < 0, dy < 0, dx > 0, dy > 0])

    def _merge(self, tracks: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
        s = self.settings
        # at 25 fps a confirmed track may be 5 frames (0.2 s) long: too short to merge
        long_enough = {
            k
            for k, r in tracks.items()
            if (r[-1, _FRAME] - r[0, _FRAME] + 1) / self.fps >= s.merge_min_s
        }
        ids = sorted(tracks, key=lambda k: tracks[k][0, _FRAME])
        features = {k: self._tracks[k] for k in ids}
        starts = {k: self._edges(tracks[k], at_end=False) for k in ids}  # touched, entered by
        longest_s = max(s.merge_gap_s, s.hidden_gap_s, s.return_gap_s)
        candidates = []
        for a in ids:
            if not features[a].last or a not in long_enough:
                continue
            end, velocity, scale_a, ground_a = self._position(tracks[a], at_end=True)
            touched, left_by = self._edges(tracks[a], at_end=True)
            fa = np.mean(features[a].last, axis=0)
            for b in ids:
                gap_s = (tracks[b][0, _FRAME] - tracks[a][-1, _FRAME]) / self.fps
                if not (0 < gap_s <= longest_s) or not features[b].first or b not in long_enough:
                    continue
                entered_by = starts[b][1]
                through_edge = (left_by & entered_by).any()
                # who left through an edge comes back through it, and who comes in through an
                # edge was outside the view, not hidden inside it
                if (left_by.any() or entered_by.any()) and not through_edge:
                    continue
                fb = np.mean(features[b].first, axis=0)
                cosine = 1.0 - float(fa @ fb / (np.linalg.norm(fa) * np.linalg.norm(fb)))
                # the walk vouches for a short gap, and for a longer one of someone hidden
                # inside the view: the track ended and the other started away from the edges
                hidden = gap_s <= s.hidden_gap_s and not (touched.any() or starts[b][0].any())
                if (gap_s <= s.merge_gap_s or hidden) and cosine <= s.merge_max_cosine:
                    start, _, scale_b, ground_b = self._position(tracks[b], at_end=False)
                    if ground_a == ground_b:
                        d = start - (end + velocity * gap_s)
                        if not ground_a:
                            d[0] = self.box_space.x_difference(d[:1])[0]
                        metres = float(np.hypot(*d)) * 0.5 * (scale_a + scale_b)
                        allowed = _MERGE_SLACK_M + s.merge_speed_mps * gap_s
                        if metres <= allowed:
                            candidates.append((cosine + metres / allowed, a, b))
                            continue
                    elif (a, b) in self._taken_back:
                        # one end has no ground position (image mode: a back-filled start),
                        # so nothing here can test the walk the tracker's memory did
                        candidates.append((cosine + 1.0, a, b))
                        continue
                if gap_s > s.merge_gap_s:
                    # a return: out of sight too long for the walk to tell where; on a flat
                    # image only out and back through one edge, on a panorama any gap
                    returned = through_edge or self.box_space.period is not None
                    if returned and gap_s <= s.return_gap_s and cosine <= s.return_max_cosine:
                        # after every merge the walk vouches for (cost <= 1 + cosine)
                        candidates.append((2.0 + cosine, a, b))
        target: dict[int, int] = {}  # merged-away id -> the id it continues
        has_next: set[int] = set()
        for _, a, b in sorted(candidates):
            if a in has_next or b in target:
                continue
            has_next.add(a)
            target[b] = a
        parts: dict[int, list[np.ndarray]] = {}
        for k in ids:
            root = k
            while root in target:
                root = target[root]
            parts.setdefault(root, []).append(tracks[k])
        # each chain's fragments follow each other in time: concatenation keeps frame order
        return {k: np.concatenate(v) for k, v in parts.items()}

    def _interpolated(self, rows: np.ndarray) -> np.ndarray:
        """``rows`` with the gaps of at most ``max_gap_s`` filled linearly (state LOST)."""
        max_gap = round(self.settings.max_gap_s * self.fps)
        gaps = np.diff(rows[:, _FRAME]).astype(np.int64)
        fill = np.flatnonzero((gaps > 1) & (gaps <= max_gap + 1))
        if len(fill) == 0:
            return rows
        parts = [rows[: fill[0] + 1]]
        for n, g in enumerate(fill.tolist()):
            r0, r1, gap = rows[g], rows[g + 1], int(gaps[g])
            m0 = np.concatenate([0.5 * (r0[1:3] + r0[3:5]), r0[3:5] - r0[1:3]])
            m1 = np.concatenate([0.5 * (r1[1:3] + r1[3:5]), r1[3:5] - r1[1:3]])
            dm = m1 - m0
            dm[0] = self.box_space.x_difference(dm[:1])[0]
            j = np.arange(1, gap)[:, None] / gap
            m = m0 + dm * j
            new = np.empty((gap - 1, _COLUMNS))
            new[:, _FRAME] = r0[_FRAME] + np.arange(1, gap)
            new[:, _BOX] = self.box_space.wrap(
                np.concatenate([m[:, :2] - m[:, 2:] / 2, m[:, :2] + m[:, 2:] / 2], axis=1)
            )
            new[:, _SCORE] = min(r0[_SCORE], r1[_SCORE])
            new[:, _XY] = r0[_XY] + (r1[_XY] - r0[_XY]) * j
            new[:, _V] = (r1[_XY] - r0[_XY]) * self.fps / gap
            new[:, _DET], new[:, _STATE] = -1, TrackState.LOST
            new[:, _MXY], new[:, _MCOV] = np.nan, np.nan
            end = fill[n + 1] + 1 if n + 1 < len(fill) else len(rows)
            parts += [new, rows[g + 1 : end]]
        return np.concatenate(parts)

    def _smoothed(self, rows: np.ndarray) -> np.ndarray:
        """Rows with ground positions and velocities from a Rauch-Tung-Striebel smoother of
        the track's own measurements (the localizer's positions of its detections, with their
        covariances) under a constant-velocity walk whose acceleration has a standard
        deviation of ``smooth_accel_mps2``. Offline, each position is estimated from the
        frames before and after it: a detector's foot row jitters by a few percent of the box
        from frame to frame, a walk does not. Rows without a measurement (coasting, gaps)
        take the smoothed state; tracks without two measurements are left as they are."""
        q = self.settings.smooth_accel_mps2
        measured = np.isfinite(rows[:, _MXY]).all(axis=1) & np.isfinite(rows[:, _MCOV]).all(axis=1)
        if q <= 0 or measured.sum() < 2:
            return rows
        out = rows.copy()
        t = rows[:, _FRAME] / self.fps
        xx, xy, yy = rows[:, _MCOV].T
        cov = np.stack([np.column_stack([xx, xy]), np.column_stack([xy, yy])], axis=1)
        state = _rts_smooth(t, rows[:, _MXY], cov, measured, q)
        out[:, _XY], out[:, _V] = state[:, :2], state[:, 2:]
        return out

    # -- output ---------------------------------------------------------------------------

    def write(self, run_dir: Path, camera: Camera) -> list[Path]:
        """Write ``tracks_final.txt`` and ``tracks_final.jsonl`` into ``run_dir`` atomically
        (each appears complete or not at all); returns their paths."""
        rows = self.finished()
        frames = rows[:, 1 + _FRAME].astype(np.int64)
        paths = [run_dir / "tracks_final.txt", run_dir / "tracks_final.jsonl"]
        with contextlib.ExitStack() as stack:
            tmp_txt = stack.enter_context(atomic_path(paths[0]))
            tmp_jsonl = stack.enter_context(atomic_path(paths[1]))
            with MotWriter(tmp_txt) as mot, JsonlWriter(tmp_jsonl) as jsonl:
                for index in sorted(set(self._frames) | set(frames.tolist())):
                    lo, hi = np.searchsorted(frames, [index, index + 1])
                    tracks = _as_tracks(rows[lo:hi], index)
                    mot.write(index, tracks)
                    azel = box_centre_azel(camera, tracks.boxes)
                    jsonl.write(index, index / self.fps, tracks, azel)
        return paths


def _measured(detections: Detections | None, index: int) -> np.ndarray | None:
    """The ground position and covariance (x, y, xx, xy, yy) of detection ``index``, or None."""
    if detections is None or not 0 <= index < len(detections):
        return None
    cov = detections.ground_cov[index]
    return np.array([*detections.ground_xy[index], cov[0, 0], cov[0, 1], cov[1, 1]])


def _rts_smooth(
    t: np.ndarray, z: np.ndarray, cov: np.ndarray, measured: np.ndarray, accel_std: float
) -> np.ndarray:
    """``(R, 4)`` smoothed x, y (m) and velocity (m/s) at times ``t`` (s, increasing) of a
    constant-velocity model with white acceleration of ``accel_std`` (m/s^2) from the
    measurements ``z`` ``(R, 2)`` m with covariances ``cov`` ``(R, 2, 2)`` where ``measured``."""
    n = len(t)
    first = int(np.flatnonzero(measured)[0])
    x = np.array([*z[first], 0.0, 0.0])
    P = np.diag([*np.diag(cov[first]), 4.0, 4.0])  # a walk is below 2 m/s
    H = np.eye(2, 4)
    xs, Ps = np.empty((n, 4)), np.empty((n, 4, 4))
    xp, Pp = np.empty((n, 4)), np.empty((n, 4, 4))
    Fs = np.empty((n, 4, 4))
    for i in range(n):
        dt = t[i] - t[i - 1] if i else 0.0
        F = np.eye(4)
        F[0, 2] = F[1, 3] = dt
        G = np.array([[0.5 * dt * dt, 0.0], [0.0, 0.5 * dt * dt], [dt, 0.0], [0.0, dt]])
        x, P = F @ x, F @ P @ F.T + accel_std**2 * (G @ G.T)
        Fs[i], xp[i], Pp[i] = F, x, P
        if measured[i]:
            S = H @ P @ H.T + cov[i]
            K = np.linalg.solve(S, H @ P).T
            x = x + K @ (z[i] - H @ x)
            P = P - K @ H @ P
        xs[i], Ps[i] = x, P
    for i in range(n - 2, -1, -1):
        C = np.linalg.solve(Pp[i + 1], Fs[i + 1] @ Ps[i]).T
        xs[i] = xs[i] + C @ (xs[i + 1] - xp[i + 1])
        Ps[i] = Ps[i] + C @ (Ps[i + 1] - Pp[i + 1]) @ C.T
    return xs


def _as_tracks(rows: np.ndarray, index: int) -> Tracks:
    """Rows of :meth:`Finisher.finished` of one frame as :class:`core.types.Tracks`."""
    r = rows[:, 1:]
    return Tracks(
        ids=rows[:, 0].astype(np.int64),
        boxes=r[:, _BOX],
        scores=r[:, _SCORE].astype(np.float32),
        ground_xy=r[:, _XY],
        ground_velocity=r[:, _V],
        states=r[:, _STATE].astype(np.int8),
        detection_indices=r[:, _DET].astype(np.int64),
        frame_index=index,
    )
