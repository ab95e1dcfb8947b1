"""The training loop (template): the method supplies ``train_step``, hooks do the rest."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from reid.engine.distributed import current, mean_over_ranks

if TYPE_CHECKING:
    from reid.engine.hooks import Hook
    from reid.methods.base import Method


def seed_everything(seed: int, epoch: int = 0, rank: int = 0) -> None:
    """Seed python, numpy and torch from (seed, epoch, rank): every epoch starts from a known
    state, so resuming at an epoch boundary replays exactly the same batches and
    augmentations; each rank draws its own augmentations (rank 0 those of one process)."""
    entropy = [seed, epoch] if rank == 0 else [seed, epoch, rank]
    mixed = int(np.random.SeedSequence(entropy).generate_state(1)[0])
    random.seed(mixed)
    np.random.seed(mixed)
    torch.manual_seed(mixed)


class Trainer:
    """Runs epochs ``state["epoch"] + 1 .. epochs`` of ``method.train_step`` over ``loader``.

    ``state`` (saved in checkpoints) holds ``epoch`` (last finished), ``history`` (one dict per
    epoch: losses, lr, evaluation metrics) and ``best_map`` / ``best_epoch``: the best value of
    the evaluation protocol's primary metric and its epoch (the key keeps its first name, mAP,
    so earlier runs resume). Hooks run in list order at each point; ``epoch_log`` is the dict of
    the current epoch that hooks may extend. Under torchrun every rank runs the same loop on
    its slice of the batches; the epoch's losses are averaged over the ranks, and ``main``
    (rank 0) alone shows progress and writes files.
    """

    def __init__(
        self,
        method: Method,
        loader: DataLoader,
        *,
        epochs: int,
        seed: int,
        hooks: Sequence[Hook] = (),
        max_steps_per_epoch: int | None = None,
        progress: bool = True,
    ) -> None:
        self.method, self.loader, self.epochs, self.seed = method, loader, epochs, seed
        self.hooks = list(hooks)
        self.max_steps = max_steps_per_epoch
        self.ranks = current()
        self.main = self.ranks.main
        self.progress = progress and self.main
        self.state: dict[str, Any] = {"epoch": 0, "history": [], "best_map": -1.0, "best_epoch": 0}
        self.epoch_log: dict[str, Any] = {}

    def _call(self, point: str) -> None:
        for hook in self.hooks:
            getattr(hook, point)(self)

    def steps_per_epoch(self) -> int:
        n = len(self.loader)
        return min(n, self.max_steps) if self.max_steps else n

    def run(self) -> None:
        self._call("before_train")
        for epoch in range(self.state["epoch"] + 1, self.epochs + 1):
            self._run_epoch(epoch)
        self._call("after_train")

    def _run_epoch(self, epoch: int) -> None:
        seed_everything(self.seed, epoch, self.ranks.rank)
        self.loader.batch_sampler.set_epoch(epoch)
        if self.loader.generator is not None:
            self.loader.generator.manual_seed(self.seed * 100_003 + epoch)
        self.epoch_log = {"epoch": epoch, "lr": self.method.current_lr()}
        self._call("before_epoch")
        self.method.set_train_mode(True)
        sums: dict[str, float] = {}
        n_steps, start = 0, time.perf_counter()
        bar = tqdm(
            total=self.steps_per_epoch(),
            desc=f"epoch {epoch}/{self.epochs}",
            disable=not self.progress,
            leave=False,
            dynamic_ncols=True,
        )
        for step, batch in enumerate(self.loader):
            if self.max_steps and step >= self.max_steps:
                break
            logs = self.method.train_step(batch)
            for k, v in logs.items():
                sums[k] = sums.get(k, 0.0) + v
            n_steps += 1
            bar.update(1)
            bar.set_postfix(loss=f"{logs.get('loss', float('nan')):.3f}")
        bar.close()
        self.method.step_schedulers()
        means = {k: v / max(n_steps, 1) for k, v in sums.items()}
        self.epoch_log.update(mean_over_ranks(means))
        self.epoch_log["time_s"] = round(time.perf_counter() - start, 3)
        self.state["epoch"] = epoch
        self._call("after_epoch")
