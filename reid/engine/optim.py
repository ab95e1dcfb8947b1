"""Optimizers with a backbone learning-rate multiplier; learning-rate schedules: warm-up +
step/cosine (per epoch), DNS's per-iteration one-cycle, ST-ReIDNet's linear decay."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from core.errors import UserError
from reid.config import OptimConfig


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


def build_optimizer(groups: list[dict], optim_cfg: OptimConfig) -> torch.optim.Optimizer:
    """Adam or SGD (momentum) over ``groups`` from ``optim_cfg``."""
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

    def __init__(self, optim_cfg: OptimConfig, epochs: int) -> None:
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
    optimizer: torch.optim.Optimizer, optim_cfg: OptimConfig, epochs: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-epoch LambdaLR with :class:`WarmupSchedule` (call ``step()`` once per epoch)."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupSchedule(optim_cfg, epochs))


class OneCycle:
    """DNS's per-iteration lr: ``base * f(t)``, t = fractional epoch from 0; ``f`` rises linearly
    from ``start`` to 1 at ``peak`` epochs, then falls linearly to 0 at ``total`` epochs.

    ``step_iter`` sets the lrs before each optimisation step; ``step`` (engine, per epoch)
    advances the epoch. State is plain scalars (checkpoint-safe)."""

    def __init__(self, optimizer: torch.optim.Optimizer, peak: int, total: int, start: float):
        self.optimizer = optimizer
        self.peak, self.total, self.start = peak, total, start
        self.epoch, self.iter, self.steps_per_epoch = 0, 0, 1
        for g in optimizer.param_groups:
            g.setdefault("base_lr", g["lr"])
        self._apply(0.0)

    def factor(self, t: float) -> float:
        if t < self.peak:
            return self.start + (1 - self.start) * t / max(self.peak, 1e-12)
        return max(0.0, (self.total - t) / max(self.total - self.peak, 1e-12))

    def _apply(self, t: float) -> None:
        f = self.factor(t)
        for g in self.optimizer.param_groups:
            g["lr"] = g["base_lr"] * f

    def step_iter(self) -> None:
        self._apply(self.epoch + self.iter / max(self.steps_per_epoch, 1))
        self.iter += 1

    def step(self) -> None:
        self.epoch, self.iter = self.epoch + 1, 0
        self._apply(float(self.epoch))

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "iter": self.iter, "steps_per_epoch": self.steps_per_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.iter = int(state["epoch"]), int(state["iter"])
        self.steps_per_epoch = int(state["steps_per_epoch"])
        self._apply(self.epoch + self.iter / max(self.steps_per_epoch, 1))


class LinearDecay:
    """ST-ReIDNet's lr factor of 0-based epoch e: 1 for ``niter`` epochs, then linear decay over
    ``niter_decay`` epochs: ``1 - max(0, e + 2 - niter) / (niter_decay + 1)`` (the original's
    schedule). Plain scalars only, so LambdaLR state loads with ``weights_only``."""

    def __init__(self, niter: int, niter_decay: int) -> None:
        self.niter, self.niter_decay = niter, niter_decay

    def __call__(self, epoch: int) -> float:
        return max(0.0, 1.0 - max(0, epoch + 2 - self.niter) / (self.niter_decay + 1))
