"""Tracking library: Kalman motion models, association primitives, a DeepSORT-style tracker.

Depends on numpy, scipy and filterpy plus the leaf modules ``mplt.types``, ``mplt.errors`` and
``mplt.registry``; it knows nothing of video, cameras or panoramas except through the distance
functions it is given.

>>> tracker = TRACKERS.get("deepsort")(mode="image", fps=25.0)
"""

from __future__ import annotations

from mplt.registry import Registry
from trackers.deepsort import DeepSortTracker

#: Name -> tracker class; every class takes keyword arguments only and has
#: ``update(Detections) -> Tracks`` and ``reset()``.
TRACKERS: Registry[type] = Registry("tracker")
TRACKERS.register("deepsort")(DeepSortTracker)

__all__ = ["TRACKERS", "DeepSortTracker"]
