"""IHDA step-2 batches: source photos + target photo/sketch pairs (seeds.md 2.d).

A batch is [source_batch source images | P target photos | the P sketches of the same
identities], P = ``pairs`` target identities: each identity contributes one of its photos drawn
at random and one of its sketches. One epoch = one pass over the target identities in shuffled
order (incomplete batch dropped); the source part cycles through shuffles of the source set.
All draws depend only on (seed, epoch), so a resumed run replays the same batches. Target
samples carry ``extra["modality"]``: 0 photo, 1 sketch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np
from torch.utils.data import DataLoader, Dataset, default_collate

from core.errors import UserError
from reid.config import DataConfig
from reid.data.datasets import Sample
from reid.data.loader import Batch, epoch_loader, load_converted
from reid.data.transforms import ImageConversion, build_train_transform, image_conversion


class IhdaBatch(NamedTuple):
    """Source part (``index`` into the source list), target photos and sketches (row i of both
    is the same identity; ``pids`` are the target's 0-based training labels)."""

    source: Batch
    photo: Batch
    sketch: Batch


def _modality(s: Sample) -> int:
    if not s.extra or s.extra.get("modality") not in (0, 1):
        raise UserError(
            f"target image {s.path} has no photo/sketch modality; use a sketch dataset "
            "(e.g. pku-sketch) as the target"
        )
    return int(s.extra["modality"])


class _Items(Dataset):
    """Flat list source + target; items (image, pid, camid, index, domain: 0 source, 1 photo,
    2 sketch). Source images go through ``transform``, target ones through
    ``target_transform``, all after ``convert``."""

    def __init__(
        self,
        source: Sequence[Sample],
        target: Sequence[Sample],
        transform,
        target_transform,
        convert: ImageConversion,
    ) -> None:
        self.source, self.target = list(source), list(target)
        self.transform, self.target_transform, self.convert = transform, target_transform, convert

    def __len__(self) -> int:
        return len(self.source) + len(self.target)

    def __getitem__(self, i: int) -> tuple:
        if i < len(self.source):
            s = self.source[i]
            return self.transform(load_converted(s, self.convert)), s.pid, s.camid, i, 0
        j = i - len(self.source)
        s = self.target[j]
        image = self.target_transform(load_converted(s, self.convert))
        return image, s.pid, s.camid, j, 1 + _modality(s)


def _collate(items: list[tuple]) -> IhdaBatch:
    images, pids, camids, index, domain = default_collate(items)
    return IhdaBatch(
        *(
            Batch(images[m], pids[m], camids[m], index[m])
            for m in (domain == 0, domain == 1, domain == 2)
        )
    )


class PairSampler:
    """Batch sampler of [source | photos | sketches] indices into ``_Items``."""

    def __init__(
        self, num_source: int, target: Sequence[Sample], source_batch: int, pairs: int, seed: int
    ) -> None:
        photos: dict[int, list[int]] = {}
        sketches: dict[int, list[int]] = {}
        for j, s in enumerate(target):
            (sketches if _modality(s) else photos).setdefault(s.pid, []).append(num_source + j)
        self.ids = sorted(set(photos) & set(sketches))
        if pairs < 1 or len(self.ids) < pairs:
            raise UserError(
                f"target has {len(self.ids)} identities with both a photo and a sketch, fewer "
                f"than target.batch_size {pairs}; lower target.batch_size"
            )
        if source_batch < 1 or num_source < source_batch:
            raise UserError(
                f"source has {num_source} training images, fewer than ihda.source_batch "
                f"{source_batch}; lower ihda.source_batch"
            )
        self.photos, self.sketches = photos, sketches
        self.ns, self.bs, self.p, self.seed, self.epoch = num_source, source_batch, pairs, seed, 0

    def set_epoch(self, epoch: int) -> None:
        """Select the draws of ``epoch``."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.ids) // self.p

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(self.ids))
        per_shuffle = self.ns // self.bs
        src = np.concatenate(
            [
                rng.permutation(self.ns)[: per_shuffle * self.bs]
                for _ in range(-(-len(self) // per_shuffle))
            ]
        ).reshape(-1, self.bs)
        for b in range(len(self)):
            ids = [self.ids[k] for k in order[b * self.p : (b + 1) * self.p]]
            photo = [int(rng.choice(self.photos[i])) for i in ids]
            sketch = [int(rng.choice(self.sketches[i])) for i in ids]
            yield [*src[b].tolist(), *photo, *sketch]


def build_pair_loader(
    source: Sequence[Sample],
    target: Sequence[Sample],
    data_cfg: DataConfig,
    source_batch: int,
    pairs: int,
    seed: int,
    target_rotation_deg: float = 0.0,
) -> DataLoader:
    """Loader of :class:`IhdaBatch` (the engine sets the sampler's epoch); target images are
    also rotated in +-``target_rotation_deg``."""
    return epoch_loader(
        _Items(
            source,
            target,
            build_train_transform(data_cfg),
            build_train_transform(data_cfg, target_rotation_deg),
            image_conversion(data_cfg),
        ),
        PairSampler(len(source), target, source_batch, pairs, seed),
        data_cfg.workers,
        _collate,
    )
