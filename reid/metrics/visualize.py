"""Ranking visualisation: each row = a query and its top-k gallery images (green = correct)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from reid.data.datasets import Sample

_GREEN, _RED, _GREY = (0, 200, 0), (220, 0, 0), (128, 128, 128)


def _tile(path: str, hw: tuple[int, int], colour: tuple[int, int, int], border: int) -> np.ndarray:
    h, w = hw
    with Image.open(path) as img:
        pixels = np.asarray(img.convert("RGB").resize((w - 2 * border, h - 2 * border)))
    tile = np.empty((h, w, 3), np.uint8)
    tile[:] = colour
    tile[border : h - border, border : w - border] = pixels
    return tile


def save_ranking_png(
    path: str | Path,
    distmat: np.ndarray,
    query: Sequence[Sample],
    gallery: Sequence[Sample],
    *,
    num_queries: int = 8,
    topk: int = 10,
    tile_hw: tuple[int, int] = (128, 64),
    seed: int = 0,
) -> Path:
    """Write a grid PNG: per row a query (grey frame) then its top-k gallery matches.

    Gallery items with the query's pid and camid (excluded by the protocol) are skipped.
    Queries are a seeded random choice. Returns the written path.
    """
    path = Path(path)
    q_pids = np.array([s.pid for s in query])
    g_pids = np.array([s.pid for s in gallery])
    g_cams = np.array([s.camid for s in gallery])
    picks = np.random.default_rng(seed).choice(
        len(query), size=min(num_queries, len(query)), replace=False
    )
    gap, border = 8, 3
    h, w = tile_hw
    canvas = np.full(
        (len(picks) * (h + gap) + gap, (topk + 1) * (w + gap) + 2 * gap, 3), 255, np.uint8
    )
    for row, qi in enumerate(sorted(picks)):
        order = np.argsort(distmat[qi], kind="stable")
        order = order[~((g_pids[order] == q_pids[qi]) & (g_cams[order] == query[qi].camid))][:topk]
        y = gap + row * (h + gap)
        canvas[y : y + h, gap : gap + w] = _tile(query[qi].path, tile_hw, _GREY, border)
        for col, gi in enumerate(order):
            x = 3 * gap + w + col * (w + gap)
            colour = _GREEN if g_pids[gi] == q_pids[qi] else _RED
            canvas[y : y + h, x : x + w] = _tile(gallery[gi].path, tile_hw, colour, border)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    Image.fromarray(canvas).save(tmp, format="PNG")
    tmp.replace(path)
    return path
