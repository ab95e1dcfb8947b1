"""Crops and views cut on a torch device equal cv2.remap's (CPU here; CUDA where present)."""

from __future__ import annotations

from pathlib import Path

import cv2
import imageio.v3 as iio
import numpy as np
import pytest
import torch

from mplt.geometry import Equirectangular, PerspectiveView, rectified_crop_maps, view_maps
from mplt.io.resample import frame_tensor, remap, remap_grid

SAMPLE = Path(__file__).resolve().parents[2] / "videos" / "sample.mp4"
DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[
            pytest.mark.gpu,
            pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
        ],
    ),
]


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    return iio.imread(SAMPLE, index=0)  # 1920 x 960, a real street on the sphere


def _cut(frame: np.ndarray, map_x: np.ndarray, map_y: np.ndarray, wrap: bool, device: str):
    h, w = frame.shape[:2]
    grid = remap_grid(map_x, map_y, (w, h), wrap=wrap, device=device)
    out = remap(frame_tensor(frame, device), grid, wrap=wrap, rows=map_x.shape[-2])
    return out.permute(0, 2, 3, 1).cpu().numpy()


def _close(ours: np.ndarray, theirs: np.ndarray) -> None:
    d = np.abs(ours - theirs.astype(np.float64))
    # cv2 rounds its weights to 1/32 px and its result to uint8
    assert d.max() <= 3.0 and d.mean() < 0.3, (d.max(), d.mean())


@pytest.mark.parametrize("device", DEVICES)
def test_person_crops_across_the_seam_equal_cv2_remap(frame, device) -> None:
    h, w = frame.shape[:2]
    camera = Equirectangular(w, h, camera_height=2.0)
    boxes = np.array([[1890.0, 420, 1950, 560], [700, 400, 740, 520], [100, 700, 260, 950]])
    map_x, map_y = rectified_crop_maps(camera, boxes, (128, 64))
    ours = _cut(frame, map_x, map_y, True, device)
    assert ours.shape == (3, 128, 64, 3)
    for k in range(3):
        cv = cv2.remap(frame, map_x[k], map_y[k], cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
        _close(ours[k], cv)


@pytest.mark.parametrize("device", DEVICES)
def test_a_view_of_the_panorama_and_a_flat_crop_equal_cv2_remap(frame, device) -> None:
    h, w = frame.shape[:2]
    view = PerspectiveView(175.0, 30.0, 100.0, 320, 320)  # looks down across the seam
    map_x, map_y = view_maps(Equirectangular(w, h), view)
    cv = cv2.remap(frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    _close(_cut(frame, map_x, map_y, True, device)[0], cv)
    # an image that does not wrap: samples beyond its edge repeat it
    cols = np.arange(-20.0, 60.0, 0.7)[None, :].repeat(40, 0).astype(np.float32)
    rows = np.linspace(-5, 30, 40)[:, None].repeat(cols.shape[1], 1).astype(np.float32)
    flat = frame[400:440, 0:100]
    cv = cv2.remap(flat, cols, rows, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    _close(_cut(flat, cols, rows, False, device)[0], cv)
