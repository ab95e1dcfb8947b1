"""Run logs: metrics.csv (one row per epoch) and curves.png (losses, mAP / rank-1)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from core.files import atomic_path, write_atomic


def write_metrics_csv(path: str | Path, history: list[dict[str, Any]]) -> Path:
    """Rewrite the whole CSV atomically; columns = union of keys in first-seen order, blanks
    where an epoch lacks a value (e.g. mAP on epochs without evaluation)."""
    path = Path(path)
    columns: list[str] = []
    for row in history:
        columns += [k for k in row if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    return write_atomic(path, buf.getvalue())


def draw_history(ax_loss: Any, ax_eval: Any, history: list[dict[str, Any]], title: str) -> None:
    """Every ``loss*`` column per epoch on ``ax_loss``; mAP and rank-1 (%) of the evaluated
    epochs on ``ax_eval``, titled ``title`` (matplotlib axes)."""
    keys = [k for k in (history[0] if history else {}) if k.startswith("loss")]
    for row in history[1:]:
        keys += [k for k in row if k.startswith("loss") and k not in keys]
    for key in keys:
        pts = [(r["epoch"], r[key]) for r in history if r.get(key) not in (None, "")]
        if pts:
            ax_loss.plot(*zip(*pts, strict=True), label=key)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="training loss")
    for key in ("mAP", "rank1"):
        pts = [(r["epoch"], 100 * r[key]) for r in history if r.get(key) not in (None, "")]
        if pts:
            ax_eval.plot(*zip(*pts, strict=True), marker="o", label=key)
    ax_eval.set(xlabel="epoch", ylabel="%", title=title)
    for ax in (ax_loss, ax_eval):
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
        ax.grid(alpha=0.3)


def write_curves_png(path: str | Path, history: list[dict[str, Any]]) -> Path:
    """Two panels (:func:`draw_history`): the losses, and mAP / rank-1 per evaluated epoch."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # no global backend switch
    from matplotlib.figure import Figure

    path = Path(path)
    fig = Figure(figsize=(10, 4), dpi=100)
    FigureCanvasAgg(fig)
    draw_history(*fig.subplots(1, 2), history, "evaluation")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path
