"""Protocols over one checkpoint per split: RegDB's and PKU-Sketch's full protocols.

Checkpoint k-1 (trained on split k) is evaluated on split k; the report is the mean and std
over splits (:func:`reid.metrics.crossmodal.aggregate`) for both directions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reid.evaluation.checkpoint import evaluate_checkpoint
from reid.evaluation.crossmodal import DIRECTIONS, both_directions
from reid.metrics.crossmodal import aggregate


def _per_split(
    checkpoints: Sequence[str | Path], data_dir: str | Path, protocol: str, device: str
) -> list[dict[str, Any]]:
    return [
        evaluate_checkpoint(ck, data_dir, f"{protocol}-{k}", protocol=protocol, device=device)
        for k, ck in enumerate(checkpoints, 1)
    ]


def evaluate_regdb_splits(
    checkpoints: Sequence[str | Path], data_dir: str | Path, *, device: str = "auto"
) -> dict[str, Any]:
    """RegDB: both directions' means and stds over the splits, top-level thermal -> visible."""
    per_split = _per_split(checkpoints, data_dir, "regdb", device)
    return both_directions({key: aggregate([r[key] for r in per_split]) for key in DIRECTIONS})


def evaluate_split_checkpoints(
    checkpoints: Sequence[str | Path], data_dir: str | Path, *, device: str = "auto"
) -> dict[str, Any]:
    """PKU-Sketch: sketch -> photo means and stds over the splits, photo -> sketch under
    ``"photo_to_sketch"``."""
    per_split = _per_split(checkpoints, data_dir, "pku-sketch", device)
    s2p = aggregate([r["trials"][0] for r in per_split])
    p2s = aggregate([r["photo_to_sketch"]["trials"][0] for r in per_split])
    return {**s2p, "photo_to_sketch": p2s, "protocol": "pku-sketch"}
