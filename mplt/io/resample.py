"""Frames resampled on a torch device: the ``cv2.remap`` of :mod:`mplt.geometry.crops`'s maps
through ``torch.nn.functional.grid_sample``, so that crops and views of a frame on a GPU are
cut there and never copied back to the host.

Maps follow ``cv2.remap``: source pixel indices, pixel centres at integers. A panorama's
columns wrap around (``cv2.BORDER_WRAP``): the frame gets one column of the other side on
each edge, so a sample between the last and the first column interpolates across the seam.
Other frames repeat their edge (``cv2.BORDER_REPLICATE``). Bilinear weights are exact here,
where ``cv2.remap`` rounds them to 1/32 px: values differ by a grey level or so.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def frame_tensor(frame: np.ndarray | torch.Tensor, device: str | torch.device) -> torch.Tensor:
    """``(H, W, 3)`` uint8 RGB (numpy or torch, any device) -> ``(1, 3, H, W)`` float32 on
    ``device``, values 0..255 (uploaded once per frame, as uint8)."""
    t = torch.as_tensor(frame).to(device, non_blocking=True)
    return t.permute(2, 0, 1).unsqueeze(0).float()


def remap_grid(
    map_x: np.ndarray,
    map_y: np.ndarray,
    size: tuple[int, int],
    *,
    wrap: bool,
    device: str | torch.device,
) -> torch.Tensor:
    """The ``grid_sample`` grid of ``cv2.remap`` maps into a frame of ``size`` (W, H).

    Args:
        map_x, map_y: ``(..., h, w)`` source pixel indices (any leading shape, e.g. one map
            per crop).
        size: the frame's (width, height), px.
        wrap: columns wrap around (a panorama); the grid then indexes the frame padded by
            one column on each side (:func:`remap`).
        device: where the grid goes.

    Returns:
        ``(1, prod(...) * h, w, 2)`` float32: every map stacked vertically, sampled in one call.
    """
    width, height = size
    pad = 1 if wrap else 0
    x = (2.0 * (np.asarray(map_x, np.float64) + pad) + 1.0) / (width + 2 * pad) - 1.0
    y = (2.0 * np.asarray(map_y, np.float64) + 1.0) / height - 1.0
    w = x.shape[-1]
    grid = np.stack([x.reshape(-1, w), y.reshape(-1, w)], axis=-1)[None].astype(np.float32)
    return torch.from_numpy(grid).to(device, non_blocking=True)


def remap(frame: torch.Tensor, grid: torch.Tensor, *, wrap: bool, rows: int) -> torch.Tensor:
    """Sample ``frame`` at ``grid``: the crops of :func:`remap_grid`'s maps.

    Args:
        frame: ``(1, C, H, W)`` float (:func:`frame_tensor`).
        grid: :func:`remap_grid` of maps ``(N, rows, w)`` made with the same ``wrap``.
        wrap: whether the columns wrap around (the grid was made so).
        rows: rows per crop (h).

    Returns:
        ``(N, C, rows, w)`` float on the frame's device, bilinear, edges repeated.
    """
    if wrap:
        frame = torch.cat([frame[..., -1:], frame, frame[..., :1]], dim=-1)
    out = F.grid_sample(frame, grid, mode="bilinear", padding_mode="border", align_corners=False)
    c, w = out.shape[1], out.shape[-1]
    return out.reshape(c, -1, rows, w).permute(1, 0, 2, 3)
