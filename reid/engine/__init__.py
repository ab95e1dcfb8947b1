"""Training engine: trainer template, hooks, checkpoints, optimizers/schedules, evaluation."""

from reid.engine.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from reid.engine.evaluator import EvalResult, evaluate_model, extract_features
from reid.engine.hooks import CheckpointHook, EvalHook, Hook, LogHook
from reid.engine.optim import WarmupSchedule, build_optimizer, build_scheduler, param_groups
from reid.engine.trainer import Trainer, seed_everything

__all__ = [
    "CheckpointHook",
    "EvalHook",
    "EvalResult",
    "Hook",
    "LogHook",
    "Trainer",
    "WarmupSchedule",
    "build_optimizer",
    "build_scheduler",
    "evaluate_model",
    "extract_features",
    "load_checkpoint",
    "param_groups",
    "rng_state",
    "save_checkpoint",
    "seed_everything",
    "set_rng_state",
]
