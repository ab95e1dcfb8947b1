"""The tracker's live tracks, stored as parallel arrays (one row per track)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from core.types import Detections
from trackers.gallery import FeatureGallery
from trackers.kalman import GroundModel, ImageModel


def known_ground(detections: Detections) -> np.ndarray:
    """(N,) bool: the detection has a finite ground position and covariance."""
    finite_xy = np.isfinite(detections.ground_xy).all(axis=1)
    return finite_xy & np.isfinite(detections.ground_cov).all(axis=(1, 2))


class EarlyFrame(NamedTuple):
    """One frame of a track before it was confirmed (what :class:`core.types.Tracks` would
    have held for it; ``ground_xy``/``velocity`` empty in image mode)."""

    frame_index: int
    box: np.ndarray
    ground_xy: np.ndarray
    velocity: np.ndarray
    score: float
    detection_index: int


class TrackSet:
    """Struct-of-arrays storage of tracks and their filters; rows stay in creation order.

    Args:
        image: the box filter (every mode).
        ground: the ground-position filter, or None in image mode.
        nn_budget, feature_ema: settings of each track's :class:`FeatureGallery`.

    Attributes:
        ids: (N,) int64 track IDs; -1 until the track is confirmed.
        confirmed: (N,) bool, True once the track had ``n_init`` consecutive hits.
        hits: (N,) int64 number of matched frames.
        time_since_update: (N,) int64 frames since the last match (0 = matched this frame).
        det_index: (N,) int64 row of this frame's matched detection, -1 when unmatched.
        score: (N,) float32 score of the last matched detection.
        ground_x, ground_P: (N, 4), (N, 4, 4) ground Kalman states (x, y, vx, vy) in m, m/s;
            (N, 0), (N, 0, 0) in image mode.
        image_x, image_P: (N, 8), (N, 8, 8) box Kalman states (cx, cy, w, h, v...), px, px/s.
        galleries: N :class:`FeatureGallery`.
        matched_bits: (N,) uint64, bit ``k`` set when the track was matched ``k`` frames ago.
        twinned: (N,) bool, whether the box of the track's last match had a twin, another
            matched box much like it (:meth:`mark_twins`).
        early: N lists of the frames of a tentative track (see :meth:`record_early`); None
            once confirmed.
        seen_*: each filter's posterior right after its last measurement, that measurement
            and the frames since it (``seen_ground_gap``; the box's is ``time_since_update``),
            for the re-update of a track found again (:meth:`correct`).
    """

    _ARRAYS = (
        "ids",
        "confirmed",
        "hits",
        "time_since_update",
        "det_index",
        "score",
        "ground_x",
        "ground_P",
        "image_x",
        "image_P",
        "seen_image_x",
        "seen_image_P",
        "seen_box",
        "seen_ground_x",
        "seen_ground_P",
        "seen_ground",
        "seen_ground_gap",
        "matched_bits",
        "twinned",
    )

    def __init__(
        self,
        image: ImageModel,
        ground: GroundModel | None,
        nn_budget: int,
        feature_ema: float | None,
    ) -> None:
        self.image, self.ground = image, ground
        self._gallery_args = (nn_budget, feature_ema)
        g = 0 if ground is None else ground.dim_x
        self.ids = np.zeros(0, np.int64)
        self.confirmed = np.zeros(0, bool)
        self.hits = np.zeros(0, np.int64)
        self.time_since_update = np.zeros(0, np.int64)
        self.det_index = np.zeros(0, np.int64)
        self.score = np.zeros(0, np.float32)
        self.ground_x = np.zeros((0, g))
        self.ground_P = np.zeros((0, g, g))
        self.image_x = np.zeros((0, 8))
        self.image_P = np.zeros((0, 8, 8))
        self.seen_image_x = np.zeros((0, 8))
        self.seen_image_P = np.zeros((0, 8, 8))
        self.seen_box = np.zeros((0, 4))
        self.seen_ground_x = np.zeros((0, g))
        self.seen_ground_P = np.zeros((0, g, g))
        self.seen_ground = np.zeros((0, 2 if g else 0))
        self.seen_ground_gap = np.zeros(0, np.int64)
        self.matched_bits = np.zeros(0, np.uint64)
        self.twinned = np.zeros(0, bool)
        self.galleries: list[FeatureGallery] = []
        self.early: list[list[EarlyFrame] | None] = []
        self._frame_dt = 0.0

    def __len__(self) -> int:
        return len(self.ids)

    def predict(self, steps: int, dt: float) -> None:
        """Advance every filter ``dt`` seconds (``steps`` frames) and forget last matches."""
        self.det_index[:] = -1
        if len(self) == 0:
            return
        self.image_x, self.image_P = self.image.predict(self.image_x, self.image_P, dt)
        if self.ground is not None:
            self.ground_x, self.ground_P = self.ground.predict(self.ground_x, self.ground_P, dt)
        self.time_since_update += steps
        self.seen_ground_gap += steps
        self.matched_bits <<= np.uint64(min(steps, 63))
        if steps >= 64:
            self.matched_bits[:] = 0
        self._frame_dt = dt / steps

    def predicted_boxes(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), 4) ``xyxy`` boxes of the box filters' current states (the prediction
        before :meth:`correct`, the posterior after it), seam-unwrapped when periodic."""
        return self.image.states_to_boxes(self.image_x[rows])

    def mark_twins(self, rows: np.ndarray, twinned: np.ndarray) -> None:
        """Note whether each of the tracks ``rows``, all matched in this frame, had a twin box
        (``twinned`` ``(len(rows),)`` bool: another matched box much like its own, e.g. by IoU
        above a duplicate threshold)."""
        self.twinned[rows] = twinned

    def seen_apart(self, a: int, b: int) -> bool:
        """Whether row ``a`` was matched too in the frame row ``b`` was last matched in (up to
        63 frames back), with ``b``'s box no twin of another: then the two had boxes of their
        own at once and are two people, however alike their boxes become later."""
        k = int(self.time_since_update[b])
        matched = k < 64 and bool((int(self.matched_bits[a]) >> k) & 1)
        return matched and not bool(self.twinned[b])

    def correct(
        self,
        rows: np.ndarray,
        cols: np.ndarray,
        detections: Detections,
        reupdate: bool,
        noise_scale: np.ndarray | None = None,
        remember: np.ndarray | None = None,
    ) -> None:
        """Update tracks ``rows`` with detections ``cols`` (matched pairs, same length).

        ``noise_scale`` ``(len(rows),)`` multiplies the box filter's measurement noise std of
        each pair (the occlusion noise of the tracker, stage 5); None = 1. ``remember``
        ``(len(rows),)`` bool: whether each pair's appearance feature joins the track's gallery
        (None = all). The ground filter is updated only from detections with a known ground
        position. With ``reupdate``, a filter whose last measurement is more than one frame
        old is re-run from its posterior at that measurement along the straight line to the
        new one, one virtual measurement per missed frame (OC-SORT's observation-centric
        re-update): a track that coasted through an occlusion otherwise keeps the velocity and
        the wide covariance it drifted into, and loses the person again a few frames later.
        """
        if len(rows) == 0:
            return
        image = self.image
        z = image.boxes_to_measurements(detections.boxes[cols])
        R = image.measurement_noise(self.image_x[rows])
        if noise_scale is not None:
            R = R * (noise_scale**2)[:, None, None]
        gaps = self.time_since_update[rows] if reupdate else np.ones(len(rows), np.int64)
        self.image_x[rows], self.image_P[rows] = self._observe(
            image,
            (self.image_x[rows], self.image_P[rows]),
            rows,
            (z, R, gaps),
            (self.seen_image_x, self.seen_image_P, self.seen_box),
        )
        self.seen_image_x[rows], self.seen_image_P[rows] = self.image_x[rows], self.image_P[rows]
        self.seen_box[rows] = z
        if self.ground is not None:
            known = known_ground(detections)[cols]
            g_rows, g_cols = rows[known], cols[known]
            zg = detections.ground_xy[g_cols]
            gaps = self.seen_ground_gap[g_rows] if reupdate else np.ones(len(g_rows), np.int64)
            self.ground_x[g_rows], self.ground_P[g_rows] = self._observe(
                self.ground,
                (self.ground_x[g_rows], self.ground_P[g_rows]),
                g_rows,
                (zg, detections.ground_cov[g_cols], gaps),
                (self.seen_ground_x, self.seen_ground_P, self.seen_ground),
            )
            self.seen_ground_x[g_rows] = self.ground_x[g_rows]
            self.seen_ground_P[g_rows] = self.ground_P[g_rows]
            self.seen_ground[g_rows] = zg
            self.seen_ground_gap[g_rows] = 0
        self.time_since_update[rows] = 0
        self.matched_bits[rows] |= np.uint64(1)
        self.hits[rows] += 1
        self.det_index[rows] = cols
        self.score[rows] = detections.scores[cols]
        if detections.embeddings is not None:
            keep = np.ones(len(rows), bool) if remember is None else remember
            for r, c in zip(rows[keep].tolist(), cols[keep].tolist(), strict=True):
                self.galleries[r].add(detections.embeddings[c])

    def _observe(
        self,
        model: ImageModel | GroundModel,
        state: tuple[np.ndarray, np.ndarray],
        rows: np.ndarray,
        measured: tuple[np.ndarray, np.ndarray, np.ndarray],
        seen: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray]:
        """Posteriors ``(x, P)`` of ``rows`` (predicted ``state``) after measurements
        ``measured = (z, R, gaps)``; rows whose last measurement is ``gaps > 1`` frames old
        are re-run from ``seen = (x, P, z)`` of all rows (see :meth:`correct`)."""
        z, R, gaps = measured
        x, P = model.update(*state, z, R)
        for gap in np.unique(gaps[gaps > 1]).tolist():
            sel = np.flatnonzero(gaps == gap)
            r = rows[sel]
            xs, Ps = seen[0][r], seen[1][r]
            start = np.zeros((len(sel), model.dim_x))
            start[:, : model.dim_z] = seen[2][r]
            # innovation(): the short way round the seam for boxes
            step = model.innovation(start, z[sel]) / gap
            for j in range(1, gap + 1):
                xs, Ps = model.predict(xs, Ps, self._frame_dt)
                zj = z[sel] if j == gap else start[:, : model.dim_z] + j * step
                xs, Ps = model.update(xs, Ps, zj, R[sel])
            x[sel], P[sel] = xs, Ps
        return x, P

    def start(self, cols: np.ndarray, detections: Detections) -> np.ndarray:
        """Append tentative tracks from detections ``cols`` (one hit each); returns their rows.

        In ground mode every one of these detections must have a known ground position.
        """
        n = len(cols)
        if n == 0:
            return np.zeros(0, np.int64)
        image_x, image_P = self.image.initiate(
            self.image.boxes_to_measurements(detections.boxes[cols])
        )
        if self.ground is not None:
            ground_x, ground_P = self.ground.initiate(
                detections.ground_xy[cols], detections.ground_cov[cols]
            )
        else:
            ground_x, ground_P = np.zeros((n, 0)), np.zeros((n, 0, 0))
        galleries = [FeatureGallery(*self._gallery_args) for _ in range(n)]
        if detections.embeddings is not None:
            for gallery, c in zip(galleries, cols.tolist(), strict=True):
                gallery.add(detections.embeddings[c])
        z = self.image.boxes_to_measurements(detections.boxes[cols])
        new = {
            "seen_image_x": image_x,
            "seen_image_P": image_P,
            "seen_box": z,
            "seen_ground_x": ground_x,
            "seen_ground_P": ground_P,
            "seen_ground": ground_x[:, :2],
            "seen_ground_gap": np.zeros(n, np.int64),
            "ids": np.full(n, -1, np.int64),
            "confirmed": np.zeros(n, bool),
            "hits": np.ones(n, np.int64),
            "time_since_update": np.zeros(n, np.int64),
            "matched_bits": np.ones(n, np.uint64),
            "twinned": np.zeros(n, bool),
            "det_index": np.asarray(cols, np.int64),
            "score": detections.scores[cols],
            "ground_x": ground_x,
            "ground_P": ground_P,
            "image_x": image_x,
            "image_P": image_P,
        }
        first = len(self)
        for name in self._ARRAYS:
            setattr(self, name, np.concatenate([getattr(self, name), new[name]]))
        self.galleries.extend(galleries)
        self.early.extend([] for _ in range(n))
        return np.arange(first, first + n)

    def keep(self, mask: np.ndarray) -> None:
        """Drop the rows where ``mask`` (N,) bool is False."""
        if mask.all():
            return
        for name in self._ARRAYS:
            setattr(self, name, getattr(self, name)[mask])
        self.galleries = [g for g, k in zip(self.galleries, mask.tolist(), strict=True) if k]
        self.early = [e for e, k in zip(self.early, mask.tolist(), strict=True) if k]

    def record_early(self, rows: np.ndarray, frame_index: int) -> None:
        """Remember this frame's box, position, score and detection of the tentative tracks
        ``rows``, so that a track's first frames can be reported once it is confirmed."""
        boxes = self.predicted_boxes(rows)
        for k, r in enumerate(rows.tolist()):
            history = self.early[r]
            if history is not None:
                history.append(
                    EarlyFrame(
                        frame_index,
                        boxes[k],
                        self.ground_x[r, :2].copy(),
                        self.ground_x[r, 2:].copy(),
                        float(self.score[r]),
                        int(self.det_index[r]),
                    )
                )
