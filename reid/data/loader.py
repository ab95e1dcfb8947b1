"""torch Dataset / DataLoader construction from :class:`reid.data.datasets.Sample` lists."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from reid.config import DataConfig
from reid.data.datasets import Sample
from reid.data.samplers import build_sampler
from reid.data.transforms import (
    ImageConversion,
    build_test_transform,
    build_train_transform,
    image_conversion,
    load_image,
)


class Batch(NamedTuple):
    """A collated batch: images (B,3,H,W) float, pids (B,) int64, camids (B,) int64, index (B,)."""

    images: torch.Tensor
    pids: torch.Tensor
    camids: torch.Tensor
    index: torch.Tensor


def is_sketch(sample: Sample) -> bool:
    """Whether a sample is a sketch (``extra["modality"]`` 1 of the sketch datasets)."""
    return bool(sample.extra) and sample.extra.get("modality") == 1


def load_converted(sample: Sample, convert: ImageConversion | None) -> Image.Image:
    """The sample's image after ``convert`` (grey / photo edge maps; None: as stored)."""
    img = load_image(sample.path)
    return img if convert is None else convert(img, is_sketch(sample))


class ImageDataset(Dataset):
    """Loads, converts (``convert``: :class:`ImageConversion`) and transforms :class:`Sample`
    images; items are :class:`Batch`-shaped tuples."""

    def __init__(
        self,
        samples: Sequence[Sample],
        transform: Callable,
        convert: ImageConversion | None = None,
    ) -> None:
        self.samples = list(samples)
        self.transform = transform
        self.convert = convert

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> Batch:
        s = self.samples[i]
        return Batch(self.transform(load_converted(s, self.convert)), s.pid, s.camid, i)


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: numpy and random follow the seed torch gave the worker
    (drawn from the loader's generator, which the engine reseeds every epoch)."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def epoch_loader(
    dataset: Dataset,
    batch_sampler: Any,
    workers: int,
    collate_fn: Callable[[list], Any] | None = None,
) -> DataLoader:
    """A training loader whose batches depend only on (seed, epoch): call
    ``loader.batch_sampler.set_epoch`` and reseed ``loader.generator`` each epoch (the engine
    does); workers seed numpy and random through :func:`seed_worker`."""
    return DataLoader(
        dataset,
        batch_sampler=batch_sampler,
        collate_fn=collate_fn,
        num_workers=workers,
        worker_init_fn=seed_worker,
        generator=torch.Generator(),
        persistent_workers=False,
        pin_memory=torch.cuda.is_available(),
    )


def build_train_loader(
    samples: Sequence[Sample], data_cfg: DataConfig, seed: int, rank: int = 0, world: int = 1
) -> DataLoader:
    """Training loader with the configured batch sampler (:func:`epoch_loader`); with
    ``world`` ranks it yields this rank's slice of each global batch."""
    return epoch_loader(
        ImageDataset(samples, build_train_transform(data_cfg), image_conversion(data_cfg)),
        build_sampler(samples, data_cfg, seed, rank, world),
        data_cfg.workers,
    )


def build_test_loader(samples: Sequence[Sample], data_cfg: DataConfig) -> DataLoader:
    """Deterministic loader (resize + normalise) in dataset order."""
    return DataLoader(
        ImageDataset(
            samples,
            build_test_transform(data_cfg.height, data_cfg.width),
            image_conversion(data_cfg),
        ),
        batch_size=data_cfg.test_batch_size,
        shuffle=False,
        num_workers=data_cfg.workers,
    )
