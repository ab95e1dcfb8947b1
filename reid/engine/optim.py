"""Optimizers with a backbone learning-rate multiplier, and warm-up + step/cosine schedules."""

from __future__ import annotations

import math

import torch
from torch import nn

from core.errors import UserError


def param_groups(
    model: nn.Module, lr: float, backbone_lr_mult: float, weight_decay: float
) -> list[dict]:
    """Two groups: ``model.backbone`` parameters at lr * mult, the rest (head) at lr.

    Frozen parameters (``requires_grad`` False, e.g. the BNNeck bias) are left out.
    """
    backbone_ids = {id(p) for p in getattr(model, "backbone", nn.Module()).parameters()}
    groups = {"backbone": [], "head": []}
    for p in model.parameters():
        if p.requires_grad:
            groups["backbone" if id(p) in backbone_ids else "head"].append(p)
    return [
        {
            "params": groups["backbone"],
            "lr": lr * backbone_lr_mult,
            "weight_decay": weight_decay,
            "name": "backbone",
        },
        {"params": groups["head"], "lr": lr, "weight_decay": weight_decay, "name": "head"},
    ]


def build_optimizer(groups: list[dict], optim_cfg) -> torch.optim.Optimizer:
    """Adam or SGD (momentum) over ``groups`` from a :class:`reid.config.OptimConfig`."""
    groups = [g for g in groups if g["params"]]
    if optim_cfg.name == "adam":
        return torch.optim.Adam(groups, lr=optim_cfg.lr)
    if optim_cfg.name == "sgd":
        return torch.optim.SGD(groups, lr=optim_cfg.lr, momentum=optim_cfg.momentum)
    raise UserError(f"unknown optimizer {optim_cfg.name!r}; choose one of: adam, sgd")


class WarmupSchedule:
    """lr factor per epoch e (0-based): linear warm-up from ``warmup_factor`` over
    ``warmup_epochs``, then step decay (``gamma`` every ``step_size`` epochs) or cosine to 0 at
    ``epochs``."""

    def __init__(self, optim_cfg, epochs: int) -> None:
        if optim_cfg.scheduler not in ("step", "cosine"):
            raise UserError(
                f"unknown scheduler {optim_cfg.scheduler!r}; choose one of: cosine, step"
            )
        # Plain scalars only: LambdaLR saves this object's __dict__ in checkpoints, which must
        # load with weights_only=True.
        self.kind, self.epochs = optim_cfg.scheduler, epochs
        self.warmup_epochs, self.warmup_factor = optim_cfg.warmup_epochs, optim_cfg.warmup_factor
        self.step_size, self.gamma = optim_cfg.step_size, optim_cfg.gamma

    def __call__(self, epoch: int) -> float:
        warm = 1.0
        if epoch < self.warmup_epochs:
            warm = self.warmup_factor + (1 - self.warmup_factor) * epoch / self.warmup_epochs
        if self.kind == "step":
            return warm * self.gamma ** (epoch // max(self.step_size, 1))
        span = max(self.epochs - self.warmup_epochs, 1)
        t = min(max(epoch - self.warmup_epochs, 0) / span, 1.0)
        return warm * 0.5 * (1 + math.cos(math.pi * t))


def build_scheduler(
    optimizer: torch.optim.Optimizer, optim_cfg, epochs: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-epoch LambdaLR with :class:`WarmupSchedule` (call ``step()`` once per epoch)."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupSchedule(optim_cfg, epochs))
