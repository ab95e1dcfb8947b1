"""Tiny hand-made runs (tracks.jsonl, summary.json, config.yaml, a short video) for tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from core.config import dump_config, updated
from core.types import Tracks, TrackState
from mplt.config import TrackConfig
from mplt.io.jsonl import JsonlWriter
from tests.conftest import write_video

W, H, FPS, FRAMES = 128, 64, 10.0, 12


def make_tracks(
    frame_index: int,
    ids: Sequence[int],
    boxes: Sequence[Sequence[float]],
    ground_xy: Sequence[Sequence[float]] | None = None,
    states: Sequence[int] | None = None,
    velocity: Sequence[Sequence[float]] | None = None,
) -> Tracks:
    """Tracks with the given rows; unknown ground positions and velocities are NaN."""
    n = len(ids)
    return Tracks(
        ids=np.asarray(ids, np.int64).reshape(n),
        boxes=np.asarray(boxes, float).reshape(n, 4),
        scores=np.full(n, 0.9),
        ground_xy=np.full((n, 2), np.nan)
        if ground_xy is None
        else np.asarray(ground_xy, float).reshape(n, 2),
        ground_velocity=np.full((n, 2), np.nan)
        if velocity is None
        else np.asarray(velocity, float).reshape(n, 2),
        states=[TrackState.CONFIRMED] * n if states is None else states,
        detection_indices=np.arange(n),
        frame_index=frame_index,
    )


def write_clip(
    path: Path, frames: int = FRAMES, width: int = W, height: int = H, fps: float = FPS
) -> Path:
    """A clip whose frame i has a vertical colour gradient plus brightness 10 * i."""
    ramp = np.linspace(0, 120, height, dtype=np.float64)[:, None, None]
    images = [
        np.broadcast_to(ramp + 10 * i + np.array([20.0, 40.0, 60.0]), (height, width, 3))
        .clip(0, 255)
        .astype(np.uint8)
        for i in range(frames)
    ]
    return write_video(path, images, fps)


def scene_tracks(frame_index: int, width: int = W, height: int = H) -> Tracks:
    """Frame 0: nobody; then person 1 walks across the seam behind the camera (box crossing
    x = W), person 2 stands to the camera's right (azimuth +90 degrees, 3 m away)."""
    if frame_index == 0:
        return Tracks.empty(0)
    x1 = width - 12.0 + 2.0 * frame_index  # crosses the seam around frame 3
    boxes = [
        [x1 % width, height * 0.4, x1 % width + 10.0, height * 0.7],
        [0.75 * width - 4.0, height * 0.35, 0.75 * width + 4.0, height * 0.75],
    ]
    # Behind the camera (x < 0) moving from its right (y < 0) to its left; 2 m to the right.
    ground = [[-4.0, -1.0 + 0.3 * frame_index], [0.0, -3.0]]
    return make_tracks(frame_index, [1, 2], boxes, ground, velocity=[[0.0, 3.0], [0.0, 0.0]])


def write_run(
    run_dir: Path,
    video: Path,
    *,
    tracks: Callable[[int], Tracks] = scene_tracks,
    frames: int = FRAMES,
    start: int = 0,
    width: int = W,
    height: int = H,
    fps: float = FPS,
    model: str = "equirect",
    camera_height: float | None = 1.6,
    calib: str | None = None,
) -> Path:
    """A run directory as `mplt track` writes it, for ``frames`` frames from ``start``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    cfg = TrackConfig()
    cfg = updated(
        cfg,
        {
            "camera.model": model,
            "camera.height_m": camera_height,
            "camera.calib": calib,
        },
    )
    (run_dir / "config.yaml").write_text(dump_config(cfg))
    summary = {
        "status": "finished",
        "input": {
            "source": str(video),
            "width": width,
            "height": height,
            "fps": fps,
            "frame_count": frames,
        },
        "frames_processed": frames,
        "last_frame": start + frames,
        "camera": {"model": model, "height_m": camera_height},
    }
    (run_dir / "summary.json").write_text(json.dumps(summary))
    with JsonlWriter(run_dir / "tracks.jsonl") as writer:
        for index in range(start, start + frames):
            writer.write(index, index / fps, tracks(index))
    return run_dir


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clip") / "pano.mp4")


@pytest.fixture
def run(tmp_path: Path, clip: Path) -> Path:
    return write_run(tmp_path / "run", clip)
