"""Checkpoints: atomic writes, RNG capture/restore, safe loading (``weights_only=True``)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.errors import UserError
from core.files import atomic_path
from reid.models.files import torch_load


def rng_state() -> dict[str, Any]:
    """Python, numpy and torch (CPU + CUDA) generator states, as weights-only-loadable types."""
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": [
            np_state[0],
            torch.from_numpy(np_state[1].astype(np.int64)),
            *map(float, np_state[2:]),
        ],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`rng_state`."""
    random.setstate(state["python"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state(
        (name, keys.numpy().astype(np.uint32), int(pos), int(has_gauss), float(cached))
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """torch.save ``payload`` to ``path`` atomically (never a torn file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` (tensors and plain types only)."""
    ckpt = torch_load(path, "checkpoint", "pass best.pt or last.pt of a training run")
    if not isinstance(ckpt, dict) or "modules" not in ckpt or "method" not in ckpt:
        raise UserError(
            f"{path} is not a reid checkpoint (no 'modules'/'method'); "
            "pass best.pt or last.pt of a training run"
        )
    kinds = {"modules": dict, "method": str, "config": dict, "num_classes": int}
    wrong = [key for key, kind in kinds.items() if not isinstance(ckpt.get(key), kind)]
    if wrong:
        raise UserError(
            f"{path} is a damaged reid checkpoint (its {wrong[0]!r} is missing or malformed); "
            "pass best.pt or last.pt of a training run"
        )
    return ckpt
