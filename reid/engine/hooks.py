"""Trainer hooks: evaluation (keeps best.pt by the protocol's primary metric), checkpointing
(last.pt), logging. Files are written by the main rank only (``trainer.main``); every rank keeps
the same state."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reid.engine.checkpoint import rng_state, save_checkpoint
from reid.engine.logs import write_curves_png, write_metrics_csv

if TYPE_CHECKING:
    from reid.engine.trainer import Trainer


class Hook:
    """No-op base; override any of the points."""

    def before_train(self, trainer: Trainer) -> None: ...
    def before_epoch(self, trainer: Trainer) -> None: ...
    def after_epoch(self, trainer: Trainer) -> None: ...
    def after_train(self, trainer: Trainer) -> None: ...


def checkpoint_payload(trainer: Trainer, extra: dict[str, Any]) -> dict[str, Any]:
    """Everything needed to resume or embed: method state, trainer state, RNG, plus ``extra``
    (config, method name, input size...)."""
    return {
        **extra,
        **trainer.method.state_dict(),
        "epoch": trainer.state["epoch"],
        "trainer": trainer.state,
        "rng": rng_state(),
    }


class EvalHook(Hook):
    """Every ``every`` epochs and after the last: ``evaluate() -> metrics``; a new best of
    ``metrics[primary]`` (the evaluation protocol's primary metric, higher = better) saves
    ``best.pt``. With ``before`` the untrained model is evaluated as epoch 0; with
    ``keep_initial`` too it is the first best (``best.pt`` = the initial weights until an epoch
    beats them: fine-tuning without labels must not end worse than it started)."""

    def __init__(
        self,
        evaluate: Callable[[], dict[str, float]],
        primary: str,
        every: int,
        run_dir: Path,
        extra: dict[str, Any],
        before: bool = False,
        keep_initial: bool = False,
    ) -> None:
        self.evaluate, self.primary, self.every = evaluate, primary, every
        self.run_dir, self.extra, self.before = run_dir, extra, before
        self.keep_initial = keep_initial

    def before_train(self, trainer: Trainer) -> None:
        if self.before and trainer.state["epoch"] == 0 and self.every > 0:
            metrics = self.evaluate()
            trainer.state["history"].append({"epoch": 0, **metrics})
            if self.keep_initial:
                trainer.state["best_map"], trainer.state["best_epoch"] = metrics[self.primary], 0
                save_checkpoint(self.run_dir / "best.pt", checkpoint_payload(trainer, self.extra))

    def after_epoch(self, trainer: Trainer) -> None:
        epoch = trainer.state["epoch"]
        if self.every <= 0 or (epoch % self.every and epoch != trainer.epochs):
            return
        metrics = self.evaluate()
        trainer.epoch_log.update(metrics)
        if metrics[self.primary] > trainer.state["best_map"]:
            trainer.state["best_map"], trainer.state["best_epoch"] = metrics[self.primary], epoch
            if trainer.main:
                save_checkpoint(self.run_dir / "best.pt", checkpoint_payload(trainer, self.extra))


class CheckpointHook(Hook):
    """Writes ``last.pt`` after every epoch (after logging, so the history is complete)."""

    def __init__(self, run_dir: Path, extra: dict[str, Any]) -> None:
        self.run_dir, self.extra = run_dir, extra

    def after_epoch(self, trainer: Trainer) -> None:
        if trainer.main:
            save_checkpoint(self.run_dir / "last.pt", checkpoint_payload(trainer, self.extra))

    def after_train(self, trainer: Trainer) -> None:
        # A run without evaluation still yields a best.pt: the last weights.
        if (
            trainer.main
            and not (self.run_dir / "best.pt").exists()
            and (self.run_dir / "last.pt").exists()
        ):
            save_checkpoint(self.run_dir / "best.pt", checkpoint_payload(trainer, self.extra))


class LogHook(Hook):
    """Appends the epoch to the history, rewrites metrics.csv and curves.png, prints a line."""

    def __init__(self, run_dir: Path, verbose: bool = True) -> None:
        self.run_dir, self.verbose = run_dir, verbose

    def after_epoch(self, trainer: Trainer) -> None:
        history = trainer.state["history"]
        history.append(dict(trainer.epoch_log))
        if not trainer.main:
            return
        write_metrics_csv(self.run_dir / "metrics.csv", history)
        write_curves_png(self.run_dir / "curves.png", history)
        if self.verbose:
            shown = ", ".join(
                f"{k} {v:.4g}"
                for k, v in trainer.epoch_log.items()
                if k != "epoch" and isinstance(v, float)
            )
            print(f"epoch {trainer.state['epoch']}/{trainer.epochs}: {shown}", file=sys.stderr)
