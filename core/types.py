"""Value types that flow between pipeline stages.

Part of the leaf package :mod:`core` (numpy only): ``trackers/``, ``reid/`` and ``mplt/`` all
use it. Every array carries its shape, unit and frame in the field documentation.

Conventions used by every field below (see ``mplt.geometry`` for the camera side):

* Pixel coordinates are 0-based and continuous: column ``u`` covers ``[u, u + 1)``.
  Files a user sees use MOTChallenge's 1-based convention; the readers/writers convert.
* Boxes are ``xyxy`` = (x1, y1, x2, y2) in pixels. On an equirectangular panorama of width
  ``W`` a box that crosses the seam is stored *unwrapped*: ``x1`` in ``[0, W)`` and
  ``x2 = x1 + width`` may exceed ``W``.
* Ground positions are metres in the ground frame: right-handed, z up, origin on the ground
  below the camera (or the world frame of a calibrated pinhole camera); x is the panorama's
  forward direction (azimuth 0), y points to its left.
* Frame indices are 0-based inside the code.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.floating[Any]]
IntArray = NDArray[np.integer[Any]]


class TrackState(enum.IntEnum):
    """Life-cycle state of a track, as stored in :attr:`Tracks.states`."""

    TENTATIVE = 0  #: seen fewer than ``n_init`` times; may be a false positive
    CONFIRMED = 1  #: matched in the current frame (or coasting for less than a frame)
    LOST = 2  #: confirmed earlier, not matched in the current frame, still predicted


def _as_array(name: str, value: Any, dtype: Any, tail_shape: tuple[int, ...]) -> np.ndarray:
    """Convert ``value`` to a C-contiguous array of ``(N, *tail_shape)`` or raise ValueError."""
    arr = np.ascontiguousarray(value, dtype=dtype)
    if arr.size == 0:
        arr = arr.reshape((0, *tail_shape))
    if arr.ndim != 1 + len(tail_shape) or arr.shape[1:] != tail_shape:
        expected = "(N" + "".join(f", {d}" for d in tail_shape) + ")"
        raise ValueError(f"{name} must have shape {expected}, got {arr.shape}")
    return arr


def _check_length(owner: str, n: int, **arrays: np.ndarray | None) -> None:
    for name, arr in arrays.items():
        if arr is not None and len(arr) != n:
            raise ValueError(f"{owner}.{name} has {len(arr)} rows, expected {n}")


@dataclass(frozen=True, slots=True)
class Detections:
    """People found in one frame; N may be 0.

    Attributes:
        boxes: (N, 4) float64 ``xyxy`` pixels (0-based, seam-unwrapped, see module doc).
        scores: (N,) float32 detector confidence in [0, 1].
        ground_xy: (N, 2) float64 metres in the ground frame; NaN rows where unknown.
        ground_cov: (N, 2, 2) float64 m^2, covariance of ``ground_xy``; NaN where unknown.
        embeddings: (N, D) float32 L2-normalised appearance features, or None.
        frame_index: 0-based index of the frame the detections belong to.
        foot_rows: (N,) float64 image rows, pixels, where each person's feet meet the ground
            as seen in the image (a box bottom's convention; ``mplt.feet``), NaN where not
            found; None when not looked for. The box bottom stands in where unknown.
    """

    boxes: FloatArray
    scores: FloatArray
    ground_xy: FloatArray
    ground_cov: FloatArray
    embeddings: FloatArray | None = None
    frame_index: int = 0
    foot_rows: FloatArray | None = None

    def __post_init__(self) -> None:
        boxes = _as_array("boxes", self.boxes, np.float64, (4,))
        n = len(boxes)
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "scores", _as_array("scores", self.scores, np.float32, ()))
        object.__setattr__(
            self, "ground_xy", _as_array("ground_xy", self.ground_xy, np.float64, (2,))
        )
        object.__setattr__(
            self, "ground_cov", _as_array("ground_cov", self.ground_cov, np.float64, (2, 2))
        )
        if self.embeddings is not None:
            emb = np.ascontiguousarray(self.embeddings, dtype=np.float32)
            if emb.ndim != 2:
                raise ValueError(f"embeddings must have shape (N, D), got {emb.shape}")
            object.__setattr__(self, "embeddings", emb)
        if self.foot_rows is not None:
            object.__setattr__(
                self, "foot_rows", _as_array("foot_rows", self.foot_rows, np.float64, ())
            )
        _check_length(
            "Detections",
            n,
            scores=self.scores,
            ground_xy=self.ground_xy,
            ground_cov=self.ground_cov,
            foot_rows=self.foot_rows,
            embeddings=self.embeddings,
        )

    @classmethod
    def from_boxes(cls, boxes: Any, scores: Any | None = None, frame_index: int = 0) -> Detections:
        """Detections with unknown ground positions and no embeddings."""
        boxes = _as_array("boxes", boxes, np.float64, (4,))
        n = len(boxes)
        if scores is None:
            scores = np.ones(n, np.float32)
        return cls(
            boxes=boxes,
            scores=scores,
            ground_xy=np.full((n, 2), np.nan),
            ground_cov=np.full((n, 2, 2), np.nan),
            frame_index=frame_index,
        )

    @classmethod
    def empty(cls, frame_index: int = 0) -> Detections:
        """No people in this frame."""
        return cls.from_boxes(np.zeros((0, 4)), frame_index=frame_index)

    def __len__(self) -> int:
        return len(self.boxes)

    def replace(self, **changes: Any) -> Detections:
        """A copy with some fields replaced (validated again)."""
        return dataclasses.replace(self, **changes)

    def select(self, index: Any) -> Detections:
        """Rows picked by an integer index array or a boolean mask."""
        return Detections(
            boxes=self.boxes[index],
            scores=self.scores[index],
            ground_xy=self.ground_xy[index],
            ground_cov=self.ground_cov[index],
            embeddings=None if self.embeddings is None else self.embeddings[index],
            frame_index=self.frame_index,
            foot_rows=None if self.foot_rows is None else self.foot_rows[index],
        )


@dataclass(frozen=True, slots=True)
class Tracks:
    """Tracker output for one frame; M may be 0.

    Attributes:
        ids: (M,) int64 track IDs, unique within a tracker instance, consecutive from 1;
            -1 for tentative tracks (an ID is given only on confirmation).
        boxes: (M, 4) float64 ``xyxy`` pixels: the track's Kalman-filtered box, updated with
            the matched detection and predicted while coasting (the raw detection box is
            ``Detections.boxes[detection_indices]``).
        scores: (M,) float32 confidence of the matched detection (last one while coasting).
        ground_xy: (M, 2) float64 metres, filtered ground position; NaN in image-space mode.
        ground_velocity: (M, 2) float64 metres per second in the ground frame; NaN if unknown.
        states: (M,) int8 :class:`TrackState` values.
        detection_indices: (M,) int64 row of the matched detection in this frame's
            :class:`Detections`, or -1 when the track was not matched (coasting).
        frame_index: 0-based frame index.
    """

    ids: IntArray
    boxes: FloatArray
    scores: FloatArray
    ground_xy: FloatArray
    ground_velocity: FloatArray
    states: IntArray
    detection_indices: IntArray
    frame_index: int = 0

    def __post_init__(self) -> None:
        ids = _as_array("ids", self.ids, np.int64, ())
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "boxes", _as_array("boxes", self.boxes, np.float64, (4,)))
        object.__setattr__(self, "scores", _as_array("scores", self.scores, np.float32, ()))
        object.__setattr__(
            self, "ground_xy", _as_array("ground_xy", self.ground_xy, np.float64, (2,))
        )
        object.__setattr__(
            self,
            "ground_velocity",
            _as_array("ground_velocity", self.ground_velocity, np.float64, (2,)),
        )
        object.__setattr__(self, "states", _as_array("states", self.states, np.int8, ()))
        object.__setattr__(
            self,
            "detection_indices",
            _as_array("detection_indices", self.detection_indices, np.int64, ()),
        )
        _check_length(
            "Tracks",
            len(ids),
            boxes=self.boxes,
            scores=self.scores,
            ground_xy=self.ground_xy,
            ground_velocity=self.ground_velocity,
            states=self.states,
            detection_indices=self.detection_indices,
        )

    @classmethod
    def empty(cls, frame_index: int = 0) -> Tracks:
        """No tracks in this frame."""
        return cls(
            ids=np.zeros(0, np.int64),
            boxes=np.zeros((0, 4)),
            scores=np.zeros(0, np.float32),
            ground_xy=np.zeros((0, 2)),
            ground_velocity=np.zeros((0, 2)),
            states=np.zeros(0, np.int8),
            detection_indices=np.zeros(0, np.int64),
            frame_index=frame_index,
        )

    def __len__(self) -> int:
        return len(self.ids)

    def select(self, index: Any) -> Tracks:
        """Rows picked by an integer index array or a boolean mask."""
        return Tracks(
            ids=self.ids[index],
            boxes=self.boxes[index],
            scores=self.scores[index],
            ground_xy=self.ground_xy[index],
            ground_velocity=self.ground_velocity[index],
            states=self.states[index],
            detection_indices=self.detection_indices[index],
            frame_index=self.frame_index,
        )
