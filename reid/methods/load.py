"""Rebuild a trained method from its checkpoint (evaluation, tracking, export, resume)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from core.config import config_from_dict, updated
from core.errors import UserError
from reid.engine.checkpoint import load_checkpoint
from reid.methods.base import METHODS, Method


def load_method(checkpoint: str | Path, device: torch.device) -> tuple[Method, dict[str, Any]]:
    """Rebuild the method (with weights) stored in a checkpoint; returns (method, checkpoint)."""
    ckpt = load_checkpoint(checkpoint)
    method_cls = METHODS.get(ckpt["method"])
    cfg = config_from_dict(method_cls.config_class, ckpt["config"], strict=False)
    cfg = updated(cfg, {"model.imagenet": False})  # the checkpoint supplies every weight
    impl = method_cls(cfg, int(ckpt["num_classes"]), device)
    for k, m in impl.modules.items():
        state = ckpt["modules"].get(k)
        try:
            m.load_state_dict(state)
        except (RuntimeError, TypeError, AttributeError):
            raise UserError(
                f"checkpoint {checkpoint} does not hold the weights of its own {ckpt['method']} "
                f"model ({k!r} is missing or of another shape); pass best.pt or last.pt of a "
                "training run"
            ) from None
    return impl, ckpt
