"""Speed of the panoramic person detector per mode on a 3840x1920 panorama.

The panorama is built from a real frame of TUD-Stadtmitte placed on the sphere three times
(one copy across the seam); without that clip, from synthetic coloured figures (then the
person count means nothing, the timing still does).

    python bench/bench_detect.py [--frames 2] [--modes tiles views whole] [--device auto]

Prints the device, the detector that ran, and per mode: detector inputs (tiles or views)
per frame, milliseconds per frame (after one warm-up batch) and people found per frame.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from mplt.config import DetectorConfig
from mplt.detection import build_detector
from mplt.geometry import Equirectangular, PerspectiveView

TUD = Path("/work/shared/data/TUD-Stadtmitte.mp4")


def view_maps_on_panorama(
    camera: Equirectangular, view: PerspectiveView
) -> tuple[np.ndarray, np.ndarray]:
    """cv2.remap maps (H, W, 2) from the panorama into ``view``'s image, and where it sees."""
    w, h = camera.width, camera.height
    u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    uv, valid = view.ray_to_pixel(camera.pixel_to_ray(np.column_stack([u.ravel(), v.ravel()])))
    inside = (valid & np.all((uv >= 0) & (uv < [view.width, view.height]), axis=1)).reshape(h, w)
    return (uv - 0.5).astype(np.float32).reshape(h, w, 2), inside


def place(pano: np.ndarray, image: np.ndarray, maps: np.ndarray, inside: np.ndarray) -> None:
    """Paint ``image`` into the panorama in place (maps from :func:`view_maps_on_panorama`)."""
    warped = cv2.remap(image, maps[..., 0], maps[..., 1], cv2.INTER_LINEAR)
    pano[inside] = warped[inside]


def source_image() -> np.ndarray:
    """A TUD frame (RGB), or a synthetic street of coloured figures."""
    if TUD.is_file():
        import imageio.v3 as iio

        return iio.imread(TUD, index=1)
    rng = np.random.default_rng(0)
    image = np.full((480, 640, 3), 110, np.uint8)
    for x in range(40, 600, 90):
        image[100:330, x : x + 50] = rng.integers(0, 256, 3)
    return image


def panorama(width: int) -> tuple[np.ndarray, Equirectangular]:
    camera = Equirectangular(width, width // 2)
    pano = np.full((width // 2, width, 3), 100, np.uint8)
    image = source_image()
    for view in tud_views(image.shape[1], image.shape[0]):
        place(pano, image, *view_maps_on_panorama(camera, view))
    return pano, camera


def tud_views(width: int, height: int) -> list[PerspectiveView]:
    """Where the TUD frame is placed: yaw -166.7 puts one of its people across the seam."""
    return [
        PerspectiveView(yaw, 5.0, hfov, width, height)
        for yaw, hfov in ((-166.7, 60.0), (60.0, 45.0), (-60.0, 75.0))
    ]


def device_name(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return f"{device} ({torch.get_num_threads()} torch threads)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2, help="frames timed per mode")
    parser.add_argument("--modes", nargs="+", default=["tiles", "views", "whole"])
    parser.add_argument("--width", type=int, default=3840, help="panorama width, px")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    pano, camera = panorama(args.width)
    frames = [pano] * args.frames
    for mode in args.modes:
        cfg = DetectorConfig(
            backend=args.backend, panorama_mode=mode, device=args.device, batch_size=args.batch_size
        )
        det = build_detector(cfg, camera)
        base = det.base
        if mode == args.modes[0]:
            device = getattr(base, "device", "cpu")
            print(
                f"device: {device_name(device)}; detector: {det.name}; "
                f"panorama {args.width}x{args.width // 2}; batch_size {args.batch_size}"
            )
        det.detect([pano])  # warm-up: model load, first CUDA kernels
        start = time.perf_counter()
        results = det.detect(frames)
        ms = (time.perf_counter() - start) * 1000 / len(frames)
        people = np.mean([len(boxes) for boxes, _ in results])
        print(
            f"{mode:6s} {det.patches_per_frame:3d} inputs/frame {ms:9.1f} ms/frame "
            f"{people:5.1f} people/frame"
        )


if __name__ == "__main__":
    main()
