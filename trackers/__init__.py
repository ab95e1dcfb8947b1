"""Tracking library: Kalman motion models, association primitives, a DeepSORT-style tracker.

Depends on numpy, scipy and filterpy plus the leaf package :mod:`core` (value types, errors,
registry); it knows nothing of video, cameras or panoramas except through the box space it is
given (:class:`trackers.space.BoxSpace`: IoU, covered fractions and the seam's wrap;
``mplt.geometry.BoxSpace`` implements it), so it does no box arithmetic of its own::

    tracker = TRACKERS.get("deepsort")(box_space=space, mode="image", fps=25.0)
"""

from __future__ import annotations

from core.registry import Registry
from trackers.deepsort import DeepSortTracker

#: Name -> tracker class; every class takes keyword arguments only (``box_space`` among them)
#: and has ``update(Detections) -> Tracks``, ``predict(frame_index) -> Tracks`` (the tracks
#: of a frame without detections) and ``reset()``.
TRACKERS: Registry[type] = Registry("tracker")
TRACKERS.register("deepsort")(DeepSortTracker)

__all__ = ["TRACKERS", "DeepSortTracker"]
