"""Build the bundled 360-degree sample: TUD-Stadtmitte placed on the sphere across the seam.

Run from anywhere: ``python videos/make_sample.py``. It rewrites ``videos/sample.mp4`` and
``videos/sample_gt.txt`` deterministically (same inputs, same ffmpeg build -> same files).

The perspective clip is treated as a pinhole camera with the horizontal field of view
``HFOV_DEG`` looking at azimuth 180 degrees (the panorama's seam) and tilted ``PITCH_DEG``
down, and is reprojected into an equirectangular frame: for every panorama pixel, its ray
(``Equirectangular.pixel_to_ray``) is projected into the clip (``PerspectiveView.ray_to_pixel``)
and sampled with ``cv2.remap``. Pixels the clip does not cover show a dim sky/ground gradient.
People who cross the middle of the clip therefore cross the seam of the panorama.

The MOTChallenge ground truth of the clip (shipped in py-motmetrics) is clipped to the clip's
frame and reprojected by sampling 8 points per box edge
(``mplt.geometry.view_boxes_to_camera``), which gives seam-unwrapped boxes; ground positions
are written as unknown (-1), since the real camera's calibration is not known.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from core.types import Tracks, TrackState
from mplt.geometry import Equirectangular, PerspectiveView, view_boxes_to_camera
from mplt.io.mot import MotWriter, read_mot
from mplt.io.sources import open_source
from mplt.io.video import VideoWriter

HERE = Path(__file__).resolve().parent
SOURCE = Path("/work/shared/data/TUD-Stadtmitte.mp4")
PANO_W, PANO_H = 1920, 960
YAW_DEG = 180.0  # view direction: azimuth 180 = the seam (positive yaw turns left)
PITCH_DEG = 5.0  # tilted down, like a camera at head height looking along a street
HFOV_DEG = 70.0  # horizontal field of view given to the 640x480 clip
CRF = 20  # x264 quality (lower = better); the static background costs almost nothing
MAX_BYTES = 10 * 1024 * 1024

# Background colours (RGB) at the zenith, just above / below the horizon, and the nadir.
ZENITH, SKY_HORIZON = np.array([58, 66, 80]), np.array([116, 120, 126])
GROUND_HORIZON, NADIR = np.array([104, 101, 96]), np.array([48, 46, 44])


def gt_path() -> Path:
    """TUD-Stadtmitte ground truth as distributed with py-motmetrics."""
    import motmetrics

    return Path(motmetrics.__file__).parent / "data" / "TUD-Stadtmitte" / "gt.txt"


def background(width: int, height: int) -> np.ndarray:
    """(H, W, 3) uint8: a soft vertical sky/ground gradient, constant along each row."""
    elevation = 90.0 - (np.arange(height) + 0.5) / height * 180.0
    up = np.clip(elevation / 90.0, 0.0, 1.0)[:, None]
    down = np.clip(-elevation / 90.0, 0.0, 1.0)[:, None]
    sky = SKY_HORIZON + (ZENITH - SKY_HORIZON) * np.sqrt(up)
    ground = GROUND_HORIZON + (NADIR - GROUND_HORIZON) * np.sqrt(down)
    # Blend across +-2 degrees so that the horizon is soft, not a hard line.
    w = np.clip((elevation[:, None] + 2.0) / 4.0, 0.0, 1.0)
    rows = w * sky + (1.0 - w) * ground
    return np.repeat(np.round(rows)[:, None, :], width, axis=1).astype(np.uint8)


def sampling_maps(
    pano: Equirectangular, view: PerspectiveView
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """cv2.remap maps from panorama pixels into the clip, and the clip's coverage alpha."""
    u, v = np.meshgrid(np.arange(pano.width) + 0.5, np.arange(pano.height) + 0.5)
    rays = pano.pixel_to_ray(np.column_stack([u.ravel(), v.ravel()]))
    uv, valid = view.ray_to_pixel(rays)
    uv = uv - 0.5  # continuous pixel coordinates -> cv2.remap indices (centres at integers)
    uv[~valid] = -10.0  # behind the clip's camera: far outside, sampled as border
    map_x = uv[:, 0].astype(np.float32).reshape(pano.height, pano.width)
    map_y = uv[:, 1].astype(np.float32).reshape(pano.height, pano.width)
    ones = np.ones((view.height, view.width), np.float32)
    alpha = cv2.remap(ones, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return map_x, map_y, alpha[..., None]


def reproject_gt(src: Path, dst: Path, view: PerspectiveView, pano: Equirectangular) -> int:
    """Write the clip's ground truth as panorama boxes; returns the number of rows."""
    rows = read_mot(src)
    x1y1 = rows[:, 2:4] - 1.0  # MOT 1-based -> 0-based continuous
    boxes = np.concatenate([x1y1, x1y1 + rows[:, 4:6]], axis=1)
    # Only the part inside the clip is visible in the panorama.
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, view.width)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, view.height)
    pano_boxes = view_boxes_to_camera(view, pano, boxes)
    frames = rows[:, 0].astype(np.int64) - 1
    with MotWriter(dst) as writer:
        for frame in np.unique(frames):
            sel = np.flatnonzero(frames == frame)
            n = len(sel)
            writer.write(
                int(frame),
                Tracks(
                    ids=rows[sel, 1].astype(np.int64),
                    boxes=pano_boxes[sel],
                    scores=np.ones(n, np.float32),
                    ground_xy=np.full((n, 2), np.nan),
                    ground_velocity=np.full((n, 2), np.nan),
                    states=np.full(n, TrackState.CONFIRMED, np.int8),
                    detection_indices=np.arange(n),
                    frame_index=int(frame),
                ),
            )
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--gt", type=Path, default=None, help="MOT gt.txt of the source clip")
    parser.add_argument("--out-dir", type=Path, default=HERE)
    args = parser.parse_args()

    pano = Equirectangular(PANO_W, PANO_H)
    out_video = args.out_dir / "sample.mp4"
    with open_source(args.source) as source:
        info = source.info
        view = PerspectiveView(YAW_DEG, PITCH_DEG, HFOV_DEG, info.width, info.height)
        map_x, map_y, alpha = sampling_maps(pano, view)
        back = background(PANO_W, PANO_H).astype(np.float32) * (1.0 - alpha)
        with VideoWriter(out_video, info.fps, (PANO_W, PANO_H), crf=CRF) as writer:
            for _, frame in source:
                clip = cv2.remap(
                    frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
                )
                # remap with a zero border already weights the clip by its coverage (alpha)
                mixed = clip.astype(np.float32) + back
                writer.write(np.clip(np.round(mixed), 0, 255).astype(np.uint8))
    n_rows = reproject_gt(args.gt or gt_path(), args.out_dir / "sample_gt.txt", view, pano)

    size = out_video.stat().st_size
    print(
        f"wrote {out_video} ({writer.frames_written} frames, {PANO_W}x{PANO_H} @ {info.fps:g} fps, "
        f"{size / 1e6:.2f} MB) and sample_gt.txt ({n_rows} boxes)"
    )
    if size > MAX_BYTES:
        raise SystemExit(f"{out_video} is {size / 1e6:.1f} MB, over the 10 MB limit; raise CRF")


if __name__ == "__main__":
    main()
