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
   ``finish_merge_max_cosine``) and so does their motion (the new start within
   ``1 m + finish_merge_speed_mps * gap`` of where the old track's velocity takes it; in the
   image the same distance in person heights, 1.7 m to the box height). Tracks that were ever
   seen in the same frame are never merged. The merged track keeps the older ID, so the IDs of
   the finished files are not consecutive.
3. **Interpolation**: gaps of at most ``finish_max_gap_s`` inside a track are filled linearly,
   in the image (the short way round a panorama's seam) and on the ground; such rows have state
   ``lost`` and no detection index.

4. **Ground smoothing**: ground positions averaged over a centred window of
   ``finish_smooth_s``.

The streaming files are left as they are. On the real suite (``bench/tracker_lab.py``, mean
over its 7 sequences) the finished files score HOTA 42.8 / IDF1 62.0 / 17.1 ID switches
against 39.4 / 58.8 / 22.1 streaming; without the merging 43.1 / 61.5 / 17.7 (it helps IDF1
where people come back, TUD-Stadtmitte 80.2 -> 84.3, and costs where a look-alike takes a
lost person's place, TUD-Campus 70.2 -> 66.8); the smoothing takes the median ground error
from 0.26 to 0.23 m (PETS, camera known). Full tables: ``bench/results/compare_trackers.md``.
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
#: Slack of the motion test of a merge at zero gap, metres.
_MERGE_SLACK_M = 1.0


#: The fields of :class:`mplt.config.TrackerConfig` that belong to finishing, not the tracker.
FINISH_FIELDS = (
    "finish",
    "finish_max_gap_s",
    "finish_merge_gap_s",
    "finish_merge_max_cosine",
    "finish_merge_speed_mps",
    "finish_smooth_s",
)


@dataclass(frozen=True)
class FinishSettings:
    """The ``tracker.finish_*`` settings (see the module notes)."""

    max_gap_s: float
    merge_gap_s: float
    merge_max_cosine: float
    merge_speed_mps: float
    smooth_s: float

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
#: velocity x y, detection index, state. Arrays, not objects: ~100 bytes per person and frame.
_FRAME, _BOX, _SCORE, _XY, _V, _DET, _STATE = 0, slice(1, 5), 5, slice(6, 8), slice(8, 10), 10, 11
_COLUMNS = 12


class _Track:
    """One confirmed track's rows (a growing array) and its first and last features."""

    __slots__ = ("_data", "_n", "first", "last")

    def __init__(self, rows: np.ndarray | None = None) -> None:
        self._data = np.empty((16, _COLUMNS)) if rows is None else rows
        self._n = 0 if rows is None else len(rows)
        self.first: list[np.ndarray] = []
        self.last: list[np.ndarray] = []

    def append(self, frame, box, score, ground_xy, velocity, det_index: int) -> None:
        """A frame of the track (an empty position or velocity: image mode, unknown)."""
        if self._n == len(self._data):
            self._data = np.concatenate([self._data, np.empty_like(self._data)])
        row = self._data[self._n]
        row[_FRAME], row[_BOX], row[_SCORE] = frame, box, score
        row[_XY] = ground_xy if len(ground_xy) else np.nan
        row[_V] = velocity if len(velocity) else np.nan
        row[_DET], row[_STATE] = det_index, TrackState.CONFIRMED
        self._n += 1

    def __len__(self) -> int:
        return self._n

    @property
    def rows(self) -> np.ndarray:
        """(R, 12) rows in frame order."""
        rows = self._data[: self._n]
        return rows[np.argsort(rows[:, _FRAME], kind="stable")]


class Finisher:
    """Collects a run's confirmed tracks frame by frame; :meth:`write` writes the finished files.

    Args:
        box_space: the box arithmetic of the frames (the seam of a panorama).
        fps: frames per second of the input.
        settings: the finishing settings.
    """

    def __init__(self, box_space: BoxSpace, fps: float, settings: FinishSettings) -> None:
        self.box_space = box_space
        self.fps = float(fps)
        self.settings = settings
        self._tracks: dict[int, _Track] = {}
        self._frames: list[int] = []

    def add(
        self, tracks: Tracks, detections: Detections, early: dict[int, list[EarlyFrame]]
    ) -> None:
        """One frame: the tracker's output, its detections (for the appearance features) and
        the early frames of the tracks confirmed meanwhile (``take_early_frames``)."""
        self._frames.append(tracks.frame_index)
        for track_id, frames in early.items():
            t = self._tracks.setdefault(track_id, _Track())
            for e in frames:
                t.append(e.frame_index, e.box, e.score, e.ground_xy, e.velocity, e.detection_index)
        seen = np.flatnonzero(tracks.states == TrackState.CONFIRMED)
        for i in seen.tolist():
            t = self._tracks.setdefault(int(tracks.ids[i]), _Track())
            det = int(tracks.detection_indices[i])
            t.append(
                tracks.frame_index,
                tracks.boxes[i],
                float(tracks.scores[i]),
                tracks.ground_xy[i],
                tracks.ground_velocity[i],
                det,
            )
            if detections.embeddings is not None and det >= 0:
                feature = detections.embeddings[det]
                if len(t.first) < _END_FEATURES:
                    t.first.append(feature)
                t.last = [*t.last[-(_END_FEATURES - 1) :], feature]

    # -- the repairs ----------------------------------------------------------------------

    def finished(self) -> np.ndarray:
        """(R, 13) rows of the finished tracks, by frame then ID: ID, then the columns of
        :data:`_COLUMNS` (frame, box x1 y1 x2 y2, score, ground x y, velocity x y, detection
        index, state)."""
        rows = {k: t.rows for k, t in self._tracks.items() if len(t)}
        merged = self._merge(rows)
        parts = [np.zeros((0, _COLUMNS + 1))]
        for track_id, r in merged.items():
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
        window = np.abs(frames - frames[-1]) <= _VELOCITY_WINDOW_S * self.fps
        k = int(np.flatnonzero(window)[0])
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

    def _merge(self, tracks: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
        s = self.settings
        ids = sorted(tracks, key=lambda k: tracks[k][0, _FRAME])
        features = {k: self._tracks[k] for k in ids}
        candidates = []
        for a in ids:
            if not features[a].last:
                continue
            end, velocity, scale_a, ground_a = self._position(tracks[a], at_end=True)
            fa = np.mean(features[a].last, axis=0)
            for b in ids:
                gap_s = (tracks[b][0, _FRAME] - tracks[a][-1, _FRAME]) / self.fps
                if not (0 < gap_s <= s.merge_gap_s) or not features[b].first:
                    continue
                fb = np.mean(features[b].first, axis=0)
                cosine = 1.0 - float(fa @ fb / (np.linalg.norm(fa) * np.linalg.norm(fb)))
                if cosine > s.merge_max_cosine:
                    continue
                start, _, scale_b, ground_b = self._position(tracks[b], at_end=False)
                if ground_a != ground_b:
                    continue
                d = start - (end + velocity * gap_s)
                if not ground_a:
                    d[0] = self.box_space.x_difference(d[:1])[0]
                metres = float(np.hypot(*d)) * 0.5 * (scale_a + scale_b)
                allowed = _MERGE_SLACK_M + s.merge_speed_mps * gap_s
                if metres <= allowed:
                    candidates.append((cosine + metres / allowed, a, b))
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
            end = fill[n + 1] + 1 if n + 1 < len(fill) else len(rows)
            parts += [new, rows[g + 1 : end]]
        return np.concatenate(parts)

    def _smoothed(self, rows: np.ndarray) -> np.ndarray:
        """Rows with ground positions averaged over ``smooth_s`` seconds of consecutive
        frames (a centred window, shortened at a track's ends and gaps): a detector's foot
        row jitters from frame to frame by a few percent of the box, a walk does not."""
        half = round(0.5 * self.settings.smooth_s * self.fps)
        if half < 1:
            return rows
        xy = rows[:, _XY]
        f = rows[:, _FRAME]
        out = rows.copy()
        for i in range(len(rows)):
            lo, hi = max(0, i - half), min(len(rows), i + half + 1)
            near = np.arange(lo, hi)
            k = min(i - lo, hi - 1 - i)  # symmetric: no lag at the ends
            near = near[(np.abs(near - i) <= k) & (np.abs(f[near] - f[i]) <= k)]
            sel = xy[near]
            sel = sel[np.isfinite(sel).all(axis=1)]
            if len(sel) and np.isfinite(xy[i]).all():
                out[i, _XY] = sel.mean(axis=0)
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
