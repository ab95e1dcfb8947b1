"""mplt: multi-person localization and tracking in 360° panoramic video.

``mplt.track(video, ...)`` tracks a whole video as ``mplt track`` does, and
``mplt.PanoramaTracker(camera, fps=...)`` tracks frame by frame (see :mod:`mplt.api`). Both are
imported on first use, so that ``import mplt`` stays light.
"""

from __future__ import annotations

from typing import Any

from mplt.version import __version__

_API = ("PanoramaTracker", "TrackResult", "track")

__all__ = ["PanoramaTracker", "TrackResult", "__version__", "track"]


def __getattr__(name: str) -> Any:
    if name in _API:
        import mplt.api

        return getattr(mplt.api, name)
    raise AttributeError(f"module 'mplt' has no attribute {name!r}")
