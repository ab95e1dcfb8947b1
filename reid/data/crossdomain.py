"""Domain-adaptation data: labelled source + unlabelled target batches, CamStyle target images.

A batch is [source_batch source images | target_batch target images] (ECN: 128 + 128): the
source part is a fresh shuffle of the source training set per epoch (one epoch = one pass over
it, incomplete batch dropped); the target part cycles through shuffles of the target training
set (each shuffle's incomplete tail dropped, so a batch never repeats an image). Both orders
depend only on (seed, epoch), so a resumed run replays the same batches.

Camera invariance (seeds.md 3.c): each time a target image is loaded a camera c is drawn
uniformly from the target's C cameras; when c differs from the image's own camera the CamStyle
copy transferred to c (``bounding_box_train_camstyle/<stem>_fake_<src>to<dst>.jpg``, or
``<stem>_fake_<dst>.jpg`` as in ECN's MSMT17 release; cameras 1-based in names) replaces it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torchvision.transforms.v2 as T
from PIL import Image
from torch.utils.data import DataLoader, Dataset, default_collate

from core.errors import UserError
from core.notify import notice
from reid.config import DataConfig
from reid.data.datasets import IMAGE_SUFFIXES, Sample
from reid.data.loader import Batch, epoch_loader
from reid.data.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    RandomSizedRectCrop,
    load_image,
    random_erasing,
)

CAMSTYLE_DIR = "bounding_box_train_camstyle"
_CAMSTYLE_NAME = re.compile(r"^(?P<stem>.+)_fake_(?:\d+to)?(?P<dst>\d+)$")


class CrossDomainBatch(NamedTuple):
    """Source part (labelled; ``index`` into the source list) and target part (``pids`` -1,
    ``index`` = the image's exemplar-memory slot)."""

    source: Batch
    target: Batch


def build_rect_crop_transform(
    data_cfg: DataConfig, area: tuple[float, float], aspect: tuple[float, float]
) -> T.Compose:
    """ECN's training transform: rect crop + resize, h-flip, random erasing, normalisation."""
    return T.Compose(
        [
            RandomSizedRectCrop(data_cfg.height, data_cfg.width, area, aspect),
            T.ToImage(),
            T.RandomHorizontalFlip(data_cfg.hflip_prob),
            T.ToDtype(torch.float32, scale=True),
            random_erasing(data_cfg),
            T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


def find_camstyle_dir(data_dir: str | Path, train: Sequence[Sample]) -> Path | None:
    """The CamStyle folder of a target dataset: ``<data_dir>/bounding_box_train_camstyle`` or
    the sibling of the training images' folder; None when neither exists."""
    candidates = [Path(data_dir) / CAMSTYLE_DIR]
    if train:
        candidates.append(Path(train[0].path).parent.parent / CAMSTYLE_DIR)
    return next((c for c in candidates if c.is_dir()), None)


def camstyle_index(folder: str | Path) -> dict[tuple[str, int], str]:
    """(original file stem, 0-based destination camera) -> CamStyle image path."""
    index = {}
    for path in sorted(Path(folder).iterdir()):
        match = _CAMSTYLE_NAME.match(path.stem)
        if match and path.suffix.lower() in IMAGE_SUFFIXES:
            index[(match["stem"], int(match["dst"]) - 1)] = str(path)
    return index


class CrossDomainDataset(Dataset):
    """Items 0..S-1 are source images, S..S+T-1 target images (as (image, pid, camid, index,
    domain) with domain 0 / 1); target images may be swapped for CamStyle copies."""

    def __init__(
        self,
        source: Sequence[Sample],
        target: Sequence[Sample],
        transform: Callable[[Image.Image], torch.Tensor],
        camstyle: dict[tuple[str, int], str] | None = None,
        num_cams: int = 1,
    ) -> None:
        self.source, self.target = list(source), list(target)
        self.transform, self.camstyle, self.num_cams = transform, camstyle, num_cams

    def __len__(self) -> int:
        return len(self.source) + len(self.target)

    def target_path(self, j: int) -> str:
        """Path loaded for target image j: the original with probability 1/C, else its CamStyle
        copy to a uniformly drawn other camera (the original when that copy is missing)."""
        s = self.target[j]
        if not self.camstyle:
            return s.path
        cam = int(torch.randint(self.num_cams, ()))
        if cam == s.camid:
            return s.path
        return self.camstyle.get((Path(s.path).stem, cam), s.path)

    def __getitem__(self, i: int) -> tuple:
        if i < len(self.source):
            s = self.source[i]
            return self.transform(load_image(s.path)), s.pid, s.camid, i, 0
        j = i - len(self.source)
        img = self.transform(load_image(self.target_path(j)))
        return img, -1, self.target[j].camid, j, 1


def collate_crossdomain(items: list[tuple]) -> CrossDomainBatch:
    """Stack items and split them by domain into a :class:`CrossDomainBatch`."""
    images, pids, camids, index, domain = default_collate(items)
    parts = [Batch(images[m], pids[m], camids[m], index[m]) for m in (domain == 0, domain == 1)]
    return CrossDomainBatch(*parts)


class CrossDomainSampler:
    """Batch sampler of [source_batch source | target_batch target] dataset indices."""

    def __init__(
        self, num_source: int, num_target: int, source_batch: int, target_batch: int, seed: int = 0
    ) -> None:
        if source_batch < 1 or num_source < source_batch:
            raise UserError(
                f"source has {num_source} training images, fewer than data.batch_size "
                f"{source_batch}; lower data.batch_size"
            )
        if target_batch < 1 or num_target < target_batch:
            raise UserError(
                f"target has {num_target} training images, fewer than target.batch_size "
                f"{target_batch}; lower target.batch_size"
            )
        self.ns, self.nt, self.bs, self.bt, self.seed = (
            num_source,
            num_target,
            source_batch,
            target_batch,
            seed,
        )
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the shuffles of ``epoch`` (resume reproduces the same batches)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.ns // self.bs

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        src = rng.permutation(self.ns)
        per_shuffle = self.nt // self.bt
        need = -(-len(self) // per_shuffle)
        tgt = np.concatenate(
            [rng.permutation(self.nt)[: per_shuffle * self.bt] for _ in range(need)]
        ).reshape(-1, self.bt)
        for b in range(len(self)):
            yield [*src[b * self.bs : (b + 1) * self.bs].tolist(), *(tgt[b] + self.ns).tolist()]


def build_crossdomain_loader(
    source: Sequence[Sample],
    target: Sequence[Sample],
    data_cfg: DataConfig,
    target_batch: int,
    seed: int,
    transform: Callable[[Image.Image], torch.Tensor],
    camstyle: dict[tuple[str, int], str] | None = None,
    num_cams: int = 1,
) -> DataLoader:
    """Loader of :class:`CrossDomainBatch`; the engine sets the sampler's epoch and reseeds
    ``loader.generator`` every epoch."""
    return epoch_loader(
        CrossDomainDataset(source, target, transform, camstyle, num_cams),
        CrossDomainSampler(len(source), len(target), data_cfg.batch_size, target_batch, seed),
        data_cfg.workers,
        collate_crossdomain,
    )


def camstyle_notice(folder: Path | str, reason: str) -> None:
    """The one-line notice printed when camera invariance is off."""
    notice(f"ecn: {reason} ({folder}); camera invariance off")
