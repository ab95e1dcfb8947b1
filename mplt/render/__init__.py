"""The annotated video: panorama with boxes, ids and trails, and the bird's-eye map.

* :class:`VideoRenderer` -- streaming: ``write(frame, tracks)`` per frame (``mplt track --render``).
* :func:`render_run` -- draw a saved run again from its ``tracks.jsonl`` (``mplt render``),
  or one frame as a PNG (``snapshot=``).
* :class:`FrameComposer` -- one output frame from a frame and its tracks (no I/O); both of
  the above use it, so they draw identical pictures.
* Annotators (:class:`BoxAnnotator`, :class:`LabelAnnotator`, ...) -- composable drawing
  steps on a single image: ``annotate(frame, tracks)`` returns a copy, ``draw(canvas,
  tracks)`` draws in place.

Layouts are described in :mod:`mplt.render.layout`, the map in :mod:`mplt.render.birdseye`.
"""

from mplt.render.annotators import (
    Annotator,
    BoxAnnotator,
    Compose,
    FrameInfoAnnotator,
    HeadingAnnotator,
    LabelAnnotator,
    TrailAnnotator,
    compose,
    default_renderer,
)
from mplt.render.birdseye import BirdsEyeMap
from mplt.render.layout import LAYOUTS, FrameComposer, LayoutPlan, plan_layout
from mplt.render.mapgeom import MapPose, MapProjection, nice_ceil, ring_step
from mplt.render.panels import InfoPanel, PeoplePanel
from mplt.render.run import load_run, render_run
from mplt.render.style import PALETTE, id_color
from mplt.render.video import VideoRenderer

__all__ = [
    "LAYOUTS",
    "PALETTE",
    "Annotator",
    "BirdsEyeMap",
    "BoxAnnotator",
    "Compose",
    "FrameComposer",
    "FrameInfoAnnotator",
    "HeadingAnnotator",
    "InfoPanel",
    "LabelAnnotator",
    "LayoutPlan",
    "MapPose",
    "MapProjection",
    "PeoplePanel",
    "TrailAnnotator",
    "VideoRenderer",
    "compose",
    "default_renderer",
    "id_color",
    "load_run",
    "nice_ceil",
    "plan_layout",
    "render_run",
    "ring_step",
]
