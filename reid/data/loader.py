"""torch Dataset / DataLoader construction from :class:`reid.data.datasets.Sample` lists."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
from torch.utils.data import DataLoader, Dataset

from reid.data.datasets import Sample
from reid.data.samplers import build_sampler
from reid.data.transforms import build_test_transform, build_train_transform, load_image


class Batch(NamedTuple):
    """A collated batch: images (B,3,H,W) float, pids (B,) int64, camids (B,) int64, index (B,)."""

    images: torch.Tensor
    pids: torch.Tensor
    camids: torch.Tensor
    index: torch.Tensor


class ImageDataset(Dataset):
    """Loads and transforms :class:`Sample` images; items are :class:`Batch`-shaped tuples."""

    def __init__(self, samples: Sequence[Sample], transform: Callable) -> None:
        self.samples = list(samples)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> Batch:
        s = self.samples[i]
        return Batch(self.transform(load_image(s.path)), s.pid, s.camid, i)


def _seed_worker(worker_id: int) -> None:
    # torch seeds each worker from the loader's generator; numpy/random follow it.
    import random

    import numpy as np

    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def build_train_loader(samples: Sequence[Sample], data_cfg, seed: int) -> DataLoader:
    """Training loader with the configured batch sampler; call ``loader.batch_sampler.set_epoch``
    and reseed ``loader.generator`` each epoch (the engine does)."""
    sampler = build_sampler(samples, data_cfg, seed)
    return DataLoader(
        ImageDataset(samples, build_train_transform(data_cfg)),
        batch_sampler=sampler,
        num_workers=data_cfg.workers,
        worker_init_fn=_seed_worker,
        generator=torch.Generator(),
        persistent_workers=False,
        pin_memory=torch.cuda.is_available(),
    )


def build_test_loader(samples: Sequence[Sample], data_cfg) -> DataLoader:
    """Deterministic loader (resize + normalise) in dataset order."""
    return DataLoader(
        ImageDataset(samples, build_test_transform(data_cfg.height, data_cfg.width)),
        batch_size=data_cfg.test_batch_size,
        shuffle=False,
        num_workers=data_cfg.workers,
    )
