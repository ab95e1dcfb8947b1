"""Training engine: trainer template, hooks, checkpoints, optimizers/schedules, devices."""

from reid.engine.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from reid.engine.device import resolve_device
from reid.engine.hooks import CheckpointHook, EvalHook, Hook, LogHook
from reid.engine.optim import WarmupSchedule, build_optimizer, build_scheduler, param_groups
from reid.engine.trainer import Trainer, seed_everything

__all__ = [
    "CheckpointHook",
    "EvalHook",
    "Hook",
    "LogHook",
    "Trainer",
    "WarmupSchedule",
    "build_optimizer",
    "build_scheduler",
    "load_checkpoint",
    "param_groups",
    "resolve_device",
    "rng_state",
    "save_checkpoint",
    "seed_everything",
    "set_rng_state",
]
