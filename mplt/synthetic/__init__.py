"""Synthetic 360° sequences with exact ground truth, for tests and benchmarks.

People are stacked upright cylinders (legs, torso, head, hair) with realistic heights, widths
and clothing colours, walking on the ground around a level equirectangular camera: smooth
turns, stops, groups side by side, crossing paths, passing behind each other, entering and
leaving, and crossing the seam (azimuth 180°). Frames are ray-traced with exact projection and
occlusion; boxes are the exact silhouettes; everything is seeded.

* :func:`make_scene` -- a named scenario (:data:`SCENARIOS`); :func:`orbiting_scene` -- the
  simple scripted scene used by quick tests.
* :func:`render_frame` / :func:`render` -- a frame, and how much of each person is visible.
* :func:`person_boxes`, :func:`ground_truth_rows` -- exact boxes and MOT ground truth.
* :func:`synthesize_detections` with :class:`DetectionNoise` -- detector-like detections.
* :func:`write_sequence` -- video.mp4, gt.txt, det.txt and meta.json in one folder.
"""

from mplt.synthetic.detections import DetectionNoise, occlusion_visibility, synthesize_detections
from mplt.synthetic.render import Rendered, person_boxes, render, render_frame
from mplt.synthetic.scenarios import DEFAULT_PEOPLE, SCENARIOS, make_scene
from mplt.synthetic.scene import BODY_RADIUS_M, Scene, orbiting_scene
from mplt.synthetic.sequence import ground_truth_rows, write_sequence

__all__ = [
    "BODY_RADIUS_M",
    "DEFAULT_PEOPLE",
    "SCENARIOS",
    "DetectionNoise",
    "Rendered",
    "Scene",
    "ground_truth_rows",
    "make_scene",
    "occlusion_visibility",
    "orbiting_scene",
    "person_boxes",
    "render",
    "render_frame",
    "synthesize_detections",
    "write_sequence",
]
