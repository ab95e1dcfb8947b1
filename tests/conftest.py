"""Shared fixtures and helpers: tiny generated videos with known content."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from hypothesis import settings

# Property tests are deterministic (the same examples every run) and have no time limit: a
# loaded 2-core machine must not turn a slow example into a failure.
settings.register_profile("mplt", derandomize=True, deadline=None)
settings.load_profile("mplt")

TINY_W, TINY_H = 64, 32  # 2:1, so the tiny video is also a valid equirectangular frame
CLIP_WIDTH, CLIP_FRAMES, CLIP_CAMERA_HEIGHT = 512, 30, 2.0  # the `pano_clip` fixture
TINY_FRAMES = 10
TINY_FPS = 25


def _tiny_level(index: int) -> int:
    return 20 + 20 * index


def write_video(path: Path, frames: list[np.ndarray], fps: float) -> Path:
    """Encode RGB frames with plain imageio-ffmpeg (independent of ``mplt.io.video``)."""
    height, width = frames[0].shape[:2]
    writer = imageio_ffmpeg.write_frames(
        str(path),
        (width, height),
        fps=fps,
        quality=None,
        macro_block_size=1,
        ffmpeg_log_level="error",
        output_params=["-crf", "10"],
    )
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray(frame))
    writer.close()
    return path


def write_synthetic_clip(
    root: Path,
    *,
    width: int,
    frames: int,
    people: int,
    fps: float = 10.0,
    seed: int = 3,
    camera_height: float = 2.0,
) -> tuple[Path, Path, np.ndarray]:
    """A synthetic 2:1 panorama of people walking round the camera (some across the seam).

    Returns:
        ``pano.mp4``, ``det.txt`` (the ground-truth boxes as MOT detections: no ids, no ground
        positions, so a run must localize them) and the ground-truth rows ``(R, 10)``.
    """
    from mplt.geometry import Equirectangular
    from mplt.synthetic import ground_truth_rows, orbiting_scene, render_frame

    camera = Equirectangular(width, width // 2, camera_height=camera_height)
    scene = orbiting_scene(frames, people, fps=fps, seed=seed)
    images = [render_frame(camera, scene, t) for t in range(frames)]
    video = write_video(root / "pano.mp4", images, fps)
    gt = ground_truth_rows(camera, scene)
    det = gt.copy()
    det[:, 1] = -1
    det[:, 7:] = -1
    det_file = root / "det.txt"
    np.savetxt(det_file, det, fmt="%.3f", delimiter=",")
    return video, det_file, gt


@pytest.fixture(scope="session")
def pano_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, np.ndarray]:
    """A 30-frame 512x256 panorama at 10 fps with 4 people (two cross the seam), camera 2 m
    high: video, detections and ground truth as :func:`write_synthetic_clip` gives them."""
    return write_synthetic_clip(
        tmp_path_factory.mktemp("clip"),
        width=CLIP_WIDTH,
        frames=CLIP_FRAMES,
        people=4,
        camera_height=CLIP_CAMERA_HEIGHT,
    )


@pytest.fixture(scope="session")
def tiny_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10-frame 64x32 H.264 video at 25 fps; frame i is uniform grey ``tiny_level(i)``."""
    frames = [np.full((TINY_H, TINY_W, 3), _tiny_level(i), np.uint8) for i in range(TINY_FRAMES)]
    return write_video(tmp_path_factory.mktemp("video") / "tiny.mp4", frames, TINY_FPS)


@pytest.fixture(scope="session")
def tiny_level() -> Callable[[int], int]:
    """Brightness (all channels) of frame ``index`` of :func:`tiny_video`."""
    return _tiny_level


@pytest.fixture(scope="session")
def large_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 frames of 320x160 (150 KB of RGB each, more than a pipe buffer holds), 25 fps."""
    frames = [np.full((160, 320, 3), 5 * i, np.uint8) for i in range(30)]
    return write_video(tmp_path_factory.mktemp("video") / "large.mp4", frames, TINY_FPS)
