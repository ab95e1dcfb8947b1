"""Cross-modality (visible-infrared) re-ID data: SYSU-MM01, RegDB and LLCM readers (registered
in ``DATASETS``), the P x (K visible + K infrared) batch sampler and its loader (seeds.md 5.d-e).

Every sample carries ``extra["modality"]``: 0 = visible, 1 = infrared / thermal / near-IR.
Camera ids are 0-based (SYSU cam3 -> camid 2). Query/gallery default to the infrared -> visible
direction; the protocols (:mod:`reid.evaluation.crossmodal`) draw the single-shot galleries
and swap directions.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
import torchvision.transforms.v2 as T
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from core.errors import DatasetError, UserError
from reid.config import DataConfig
from reid.data.datasets import (
    DATASETS,
    ReidSplits,
    Sample,
    find_root,
    image_files,
    relabel,
    require_nonempty,
)
from reid.data.loader import Batch, epoch_loader
from reid.data.samplers import EpochSampler
from reid.data.transforms import IMAGENET_MEAN, IMAGENET_STD, load_image, random_erasing

VISIBLE, INFRARED = 0, 1
SYSU_VISIBLE_CAMS = (1, 2, 4, 5)  #: 1-based camera folders
SYSU_INFRARED_CAMS = (3, 6)
LLCM_VIS_CAMS = tuple(range(1, 10))
LLCM_NIR_CAMS = (1, 2, 4, 5, 6, 7, 8, 9)

_SYSU_LAYOUT = (
    "<root>/cam1..cam6/<pid:04d>/*.jpg (visible cams 1,2,4,5; infrared 3,6) and "
    "<root>/exp/train_id.txt, val_id.txt, test_id.txt (comma-separated ids)"
)
_REGDB_LAYOUT = (
    "<root>/idx/{train,test}_{visible,thermal}_<k>.txt (k = 1..10, lines '<relative path> "
    "<label>') and the images they name (Visible/..., Thermal/...)"
)
_LLCM_LAYOUT = (
    "<root>/idx/train_vis.txt, idx/train_nir.txt (lines '<relative path> <label>'), "
    "idx/test_id.txt (comma-separated ids), <root>/test_vis/cam1..9/<pid:04d>/*.jpg, "
    "<root>/test_nir/cam{1,2,4..9}/<pid:04d>/*.jpg"
)


def modality_of(sample: Sample) -> int:
    """0 (visible) or 1 (infrared) of a cross-modality sample."""
    if not sample.extra or "modality" not in sample.extra:
        raise UserError(
            f"sample {sample.path} has no modality; use a cross-modality dataset "
            "(sysu-mm01, regdb, llcm)"
        )
    return int(sample.extra["modality"])


def _require_file(root: Path, rel: str, name: str, layout: str) -> Path:
    path = root / rel
    if not path.is_file():
        raise DatasetError(f"{name} dataset at {root}: missing file '{rel}'; expected {layout}")
    return path


def _read_ids(path: Path, name: str, layout: str) -> list[int]:
    try:
        return [int(t) for t in re.split(r"[,\s]+", path.read_text().strip()) if t]
    except ValueError:
        raise DatasetError(
            f"{name}: {path} is not a list of integer ids; expected {layout}"
        ) from None


def _folder_samples(
    base: Path, cams: Sequence[int], pids: Sequence[int], modality: int
) -> list[Sample]:
    """Images of ``base``/cam<c>/<pid:04d>/ (missing id folders are normal: not every person
    walked past every camera)."""
    out = []
    for pid in pids:
        for cam in cams:
            folder = base / f"cam{cam}" / f"{pid:04d}"
            if folder.is_dir():
                out += [
                    Sample(str(p), pid, cam - 1, {"modality": modality})
                    for p in image_files(folder)
                ]
    return out


@DATASETS.register("sysu-mm01")
def read_sysu_mm01(root: Path) -> ReidSplits:
    """SYSU-MM01: train = train_id + val_id (395 ids); query = infrared test images (cams 3, 6),
    gallery = every visible test image (cams 1, 2, 4, 5; the protocol samples single shots)."""
    name = "sysu-mm01"
    root = find_root(root, "exp")
    ids = {
        k: _read_ids(_require_file(root, f"exp/{k}_id.txt", name, _SYSU_LAYOUT), name, _SYSU_LAYOUT)
        for k in ("train", "val", "test")
    }
    for cam in range(1, 7):
        if not (root / f"cam{cam}").is_dir():
            raise DatasetError(
                f"{name} dataset at {root}: missing folder 'cam{cam}'; expected {_SYSU_LAYOUT}"
            )
    train_ids = sorted(set(ids["train"]) | set(ids["val"]))
    train = _folder_samples(root, SYSU_VISIBLE_CAMS, train_ids, VISIBLE)
    train += _folder_samples(root, SYSU_INFRARED_CAMS, train_ids, INFRARED)
    query = _folder_samples(root, SYSU_INFRARED_CAMS, ids["test"], INFRARED)
    gallery = _folder_samples(root, SYSU_VISIBLE_CAMS, ids["test"], VISIBLE)
    for what, part in (("train ids", train), ("test infrared", query), ("test visible", gallery)):
        require_nonempty(part, root, what, name, _SYSU_LAYOUT)
    return ReidSplits(name, relabel(train), query, gallery, "sysu-mm01")


def _list_samples(
    root: Path, rel: str, name: str, layout: str, modality: int, camid: int | None
) -> list[Sample]:
    path = _require_file(root, rel, name, layout)
    out = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        try:
            img, pid = fields[0], int(fields[1])
        except (IndexError, ValueError):
            raise DatasetError(
                f"{name}: {path} line {lineno} {line!r} is malformed; expected {layout}"
            ) from None
        cam = camid
        if cam is None:
            match = re.search(r"cam(\d+)", img)
            cam = int(match.group(1)) - 1 if match else 0
        out.append(Sample(str(root / img), pid, cam, {"modality": modality}))
    require_nonempty(out, root, rel, name, layout)
    return out


def read_regdb(root: Path, split: int = 1) -> ReidSplits:
    """RegDB split ``split`` (1..10): query = thermal test images (camid 1), gallery = visible
    (camid 0); all test images of the other modality form the gallery."""
    name = f"regdb-{split}"
    if not 1 <= split <= 10:
        raise UserError(f"RegDB split must be in 1..10, got {split}; use regdb-1 .. regdb-10")
    root = find_root(root, "idx")
    parts = {
        (part, mod): _list_samples(root, f"idx/{part}_{mod}_{split}.txt", name, _REGDB_LAYOUT, m, m)
        for part in ("train", "test")
        for mod, m in (("visible", VISIBLE), ("thermal", INFRARED))
    }
    train = relabel(parts["train", "visible"] + parts["train", "thermal"])
    return ReidSplits(name, train, parts["test", "thermal"], parts["test", "visible"], "regdb")


DATASETS.register("regdb")(read_regdb)
for _k in range(1, 11):
    DATASETS.register(f"regdb-{_k}")(lambda root, k=_k: read_regdb(root, k))


@DATASETS.register("llcm")
def read_llcm(root: Path) -> ReidSplits:
    """LLCM: 713 train ids from idx/train_{vis,nir}.txt; query = NIR test images, gallery =
    visible test images; cameras are shared by both modalities (camid = cam - 1)."""
    name = "llcm"
    root = find_root(root, "idx")
    train = _list_samples(root, "idx/train_vis.txt", name, _LLCM_LAYOUT, VISIBLE, None)
    train += _list_samples(root, "idx/train_nir.txt", name, _LLCM_LAYOUT, INFRARED, None)
    test_ids = _read_ids(
        _require_file(root, "idx/test_id.txt", name, _LLCM_LAYOUT), name, _LLCM_LAYOUT
    )
    for sub in ("test_vis", "test_nir"):
        if not (root / sub).is_dir():
            raise DatasetError(
                f"{name} dataset at {root}: missing folder '{sub}'; expected {_LLCM_LAYOUT}"
            )
    query = _folder_samples(root / "test_nir", LLCM_NIR_CAMS, test_ids, INFRARED)
    gallery = _folder_samples(root / "test_vis", LLCM_VIS_CAMS, test_ids, VISIBLE)
    require_nonempty(query, root, "test_nir", name, _LLCM_LAYOUT)
    require_nonempty(gallery, root, "test_vis", name, _LLCM_LAYOUT)
    return ReidSplits(name, relabel(train), query, gallery, "llcm")


# -- sampling and loading --------------------------------------------------------------------


class CrossModalitySampler(EpochSampler):
    """Batches of P identities x (K visible + K infrared) images (CAJ's IdentitySampler).

    A batch is laid out ``[P*K visible | P*K infrared]``, both halves identity-major in the
    same identity order. Identities need images in both modalities; an identity with fewer
    than K images of a modality is sampled with replacement. ``len = N_max // (P*K) + 1``,
    N_max = the larger modality's image count.
    """

    def __init__(self, samples: Sequence[Sample], num_ids: int, num_instances: int, seed: int = 0):
        super().__init__(seed)
        if num_ids < 1 or num_instances < 1:
            raise UserError(
                f"cross-modality sampling needs P, K >= 1, got {num_ids}, {num_instances}; "
                "raise data.batch_size or data.num_instances"
            )
        self.p, self.k = num_ids, num_instances
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, s in enumerate(samples):
            groups[s.pid, modality_of(s)].append(i)
        self.pids = sorted({pid for pid, _ in groups if (pid, 0) in groups and (pid, 1) in groups})
        if len(self.pids) < self.p:
            raise UserError(
                f"cross-modality sampling needs {self.p} identities with both modalities per "
                f"batch but the training set has {len(self.pids)}; lower data.batch_size"
            )
        self.index = {key: np.asarray(v) for key, v in groups.items()}
        n_max = max(sum(len(self.index[p, m]) for p in self.pids) for m in (0, 1))
        self._len = n_max // (self.p * self.k) + 1

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[list[int]]:
        rng = self._rng()
        for _ in range(self._len):
            chosen = rng.choice(self.pids, size=self.p, replace=False)
            halves = []
            for m in (VISIBLE, INFRARED):
                half = []
                for pid in chosen:
                    idx = self.index[int(pid), m]
                    half += rng.choice(idx, size=self.k, replace=len(idx) < self.k).tolist()
                halves.append(half)
            yield [int(i) for i in halves[0] + halves[1]]


class ChannelExchange:
    """With probability ``prob`` replace all channels of a (3, H, W) [0, 1] image by its R, G,
    B or luminance channel (each 1/4) — the visible images' modality-gap augmentation."""

    def __init__(self, prob: float = 2 / 3) -> None:
        self.prob = prob

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        if self.prob <= 0 or torch.rand(()) >= self.prob:
            return img
        choice = int(torch.randint(0, 4, ()))
        if choice < 3:
            return img[choice : choice + 1].expand_as(img).clone()
        lum = 0.2989 * img[0] + 0.587 * img[1] + 0.114 * img[2]
        return lum.expand_as(img).clone()


def build_crossmodal_transforms(
    data_cfg: DataConfig, exchange_prob: float, ir_hue: float
) -> tuple[T.Compose, T.Compose]:
    """(visible, infrared) training transforms: pad + random crop, h-flip, random erasing and
    channel erasing (mean fill); ChannelExchange on visible, hue jitter on infrared."""
    size = (data_cfg.height, data_cfg.width)

    def pipeline(extra: list) -> T.Compose:
        ops: list = [T.ToImage(), T.Resize(size, antialias=True)]
        if data_cfg.pad > 0:
            ops += [T.Pad(data_cfg.pad), T.RandomCrop(size)]
        ops += [T.RandomHorizontalFlip(data_cfg.hflip_prob), T.ToDtype(torch.float32, scale=True)]
        erasing = [random_erasing(data_cfg), random_erasing(data_cfg)]  # random, then channel
        return T.Compose([*ops, *extra, *erasing, T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])

    vis = pipeline([ChannelExchange(exchange_prob)])
    ir = pipeline([T.ColorJitter(hue=ir_hue)] if ir_hue > 0 else [])
    return vis, ir


class CrossModalDataset(Dataset):
    """Loads :class:`Sample` images with the transform of their modality -> :class:`Batch` items."""

    def __init__(
        self,
        samples: Sequence[Sample],
        vis_transform: Callable[[Image.Image], torch.Tensor],
        ir_transform: Callable[[Image.Image], torch.Tensor],
    ) -> None:
        self.samples = list(samples)
        self.transforms = (vis_transform, ir_transform)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> Batch:
        s = self.samples[i]
        return Batch(self.transforms[modality_of(s)](load_image(s.path)), s.pid, s.camid, i)


def build_crossmodal_loader(
    samples: Sequence[Sample],
    data_cfg: DataConfig,
    seed: int,
    *,
    exchange_prob: float = 2 / 3,
    ir_hue: float = 0.5,
) -> DataLoader:
    """Training loader of [visible | infrared] batches; ``data_cfg.batch_size`` = 2 * P * K
    with K = ``data_cfg.num_instances``."""
    k = data_cfg.num_instances
    if k < 1 or data_cfg.batch_size % (2 * k):
        raise UserError(
            f"data.batch_size {data_cfg.batch_size} must be a multiple of "
            f"2 * num_instances ({2 * k}); change data.batch_size or data.num_instances"
        )
    sampler = CrossModalitySampler(samples, data_cfg.batch_size // (2 * k), k, seed)
    vis, ir = build_crossmodal_transforms(data_cfg, exchange_prob, ir_hue)
    return epoch_loader(CrossModalDataset(samples, vis, ir), sampler, data_cfg.workers)
