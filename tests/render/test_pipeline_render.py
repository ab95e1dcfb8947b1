"""End to end: `run_track` on a synthetic 360° clip with given detections, then `render_run`."""

from __future__ import annotations

from core.config import updated
import numpy as np
import pytest

from mplt.config import RenderConfig, TrackConfig
from mplt.geometry import Equirectangular
from mplt.io.sources import open_source
from mplt.pipeline import run_track
from mplt.render import render_run
from mplt.synthetic import ground_truth_rows, orbiting_scene, render_frame
from tests.conftest import write_video

WIDTH, HEIGHT, FRAMES, FPS = 256, 128, 16, 10
SMALL = RenderConfig(width=384, map_size_px=128)


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """A tracked run of a synthetic clip (people crossing the seam), rendered while tracking."""
    root = tmp_path_factory.mktemp("e2e")
    camera = Equirectangular(WIDTH, HEIGHT, camera_height=2.0)
    scene = orbiting_scene(FRAMES, 3, fps=FPS, seed=3)
    video = root / "pano.mp4"
    write_video(video, [render_frame(camera, scene, t) for t in range(FRAMES)], FPS)
    det = ground_truth_rows(camera, scene)
    det[:, 1], det[:, 7:] = -1, -1
    np.savetxt(root / "det.txt", det, fmt="%.3f", delimiter=",")
    cfg = TrackConfig()
    cfg = updated(cfg, {"camera.height_m": 2.0, "output.render": True, "render": SMALL})
    run_dir = root / "run"
    run_track(str(video), cfg, run_dir, detections_file=root / "det.txt", progress=False)
    return run_dir


def frames_of(path) -> np.ndarray:
    with open_source(path) as source:
        return np.array([frame for _, frame in source])


def test_re_rendered_run_has_every_source_frame_and_matches_the_streamed_video(tracked, tmp_path):
    run_dir = tracked
    rendered = frames_of(render_run(run_dir, out=tmp_path / "again.mp4", cfg=SMALL, progress=False))
    assert len(rendered) == FRAMES
    assert rendered.shape[1:] == (128, 384, 3)  # side layout: 256x128 panorama + 128x128 map
    snapshot = render_run(run_dir, snapshot=FRAMES, out=tmp_path / "last.png", cfg=SMALL)
    assert snapshot.stat().st_size > 1000
    streamed = frames_of(run_dir / "video.mp4")
    assert len(streamed) == FRAMES
    # Same composer, same encoder: equal up to codec noise.
    assert np.abs(streamed.astype(int) - rendered.astype(int)).mean() < 0.5
