"""Retrieval pictures: ranking.png (re-ID queries and their top-k gallery images) and
retrieval.png (sketch queries and their top-k photos). Green frame = correct, red = wrong."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from core.files import atomic_path
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
    """Write a grid PNG (atomically): per row a query (grey frame) then its top-k gallery
    matches in ``distmat`` (Q, G) order.

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
    with atomic_path(path) as tmp:
        Image.fromarray(canvas).save(tmp, format="PNG")
    return path


def save_retrieval_png(
    path: str | Path,
    distmat: np.ndarray,
    q_paths: list[str],
    q_labels: np.ndarray,
    g_paths: list[str],
    g_labels: np.ndarray,
    *,
    num_queries: int = 4,
    topk: int = 5,
    tile: int = 96,
) -> Path:
    """One row per query (written atomically): the sketch, then its ``topk`` nearest photos
    framed green (same class) or red. Queries are the first ``num_queries`` rows of
    ``distmat`` (Q, G); ``q_labels`` (Q,) and ``g_labels`` (G,) are the classes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # no global backend switch
    from matplotlib.figure import Figure

    nq = min(num_queries, distmat.shape[0])
    kk = min(topk, distmat.shape[1])
    fig = Figure(figsize=(1.3 * (kk + 1), 1.3 * max(nq, 1)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(max(nq, 1), kk + 1, squeeze=False)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    order = np.argsort(distmat, axis=1, kind="stable")[:nq, :kk]
    for r in range(nq):
        axes[r, 0].imshow(Image.open(q_paths[r]).convert("RGB").resize((tile, tile)))
        axes[r, 0].set_title("sketch", fontsize=7)
        for c, g in enumerate(order[r]):
            ax = axes[r, c + 1]
            ax.imshow(Image.open(g_paths[g]).convert("RGB").resize((tile, tile)))
            colour = "green" if g_labels[g] == q_labels[r] else "red"
            for spine in ax.spines.values():
                spine.set_edgecolor(colour)
                spine.set_linewidth(3)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80)
    return path
