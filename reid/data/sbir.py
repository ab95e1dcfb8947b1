"""Zero-shot sketch-based image retrieval datasets (seeds.md §4.e), registered in ``DATASETS``.

Layout (Sketchy-Extended and TU-Berlin-Extended alike)::

    <root>/photos/<class>/*.jpg|png          photos (Sketchy: photo + extended_photo merged)
    <root>/sketches/<class>/*.png            sketches
    <root>/train_labels.txt                  seen classes, one per line (zero-shot split)
    <root>/test_labels.txt                   unseen classes, one per line
    <root>/train_embeddings.npy (optional)   float32 (n_train_classes, d) class word vectors,
                                             row order = train_labels.txt

The label files are also accepted one level up (``<root>/../``, where the reference keeps them).
Samples: ``pid`` = class index (seen classes 0..S-1, unseen S..S+U-1), ``camid`` = domain
(0 sketch, 1 photo), ``extra = {"domain": "sketch"|"photo", "cls": name}``. Train = seen-class
sketches and photos; query = unseen-class sketches; gallery = unseen-class photos.

Training batches (seeds.md 4.d) are (sketch, positive photo, negative photo) triplets: the
negative class c' of a sketch of class c is drawn with probability proportional to
1 / ||w_c - w_c'|| (class word vectors), uniformly without vectors. Images are resized and
scaled to [0, 1] without normalisation, as in the reference, for training and evaluation alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from core.errors import DatasetError
from reid.config import DataConfig
from reid.data.datasets import DATASETS, IMAGE_SUFFIXES, ReidSplits, Sample

SKETCH, PHOTO = 0, 1
LAYOUT = (
    "photos/<class>/*, sketches/<class>/*, train_labels.txt and test_labels.txt "
    "(one class per line), optional train_embeddings.npy"
)


def _labels_file(root: Path, name: str, dataset: str) -> Path:
    for cand in (root / name, root.parent / name):
        if cand.is_file():
            return cand
    raise DatasetError(f"{dataset}: {root / name} is missing; expected layout: {LAYOUT}")


def read_class_list(path: Path) -> list[str]:
    """Class names, one per non-empty line, in file order."""
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]


def zero_shot_split(
    train_classes: list[str], test_classes: list[str], available: set[str], dataset: str
) -> None:
    """Validate a zero-shot split: disjoint seen/unseen classes, all present on disk.

    Raises:
        DatasetError: a class is in both lists, a list is empty or a class has no folder.
    """
    both = sorted(set(train_classes) & set(test_classes))
    if both:
        raise DatasetError(
            f"{dataset}: classes {both} are both seen and unseen; a zero-shot "
            "split needs disjoint train_labels.txt and test_labels.txt"
        )
    if not train_classes or not test_classes:
        raise DatasetError(
            f"{dataset}: train_labels.txt and test_labels.txt must each name at least one class; "
            "list the zero-shot split's classes in them"
        )
    missing = sorted(set(train_classes + test_classes) - available)
    if missing:
        raise DatasetError(
            f"{dataset}: classes {missing[:5]} have no photos/ and sketches/ "
            f"folder; expected layout: {LAYOUT}"
        )


def _class_images(root: Path, sub: str, cls: str) -> list[Path]:
    return sorted(p for p in (root / sub / cls).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def read_zero_shot_sbir(root: Path, dataset: str) -> ReidSplits:
    """Read a zero-shot SBIR dataset in the layout of the module docstring."""
    for sub in ("photos", "sketches"):
        if not (root / sub).is_dir():
            raise DatasetError(
                f"{dataset}: folder {root / sub} is missing; expected layout: {LAYOUT}"
            )
    train_cls = read_class_list(_labels_file(root, "train_labels.txt", dataset))
    test_cls = read_class_list(_labels_file(root, "test_labels.txt", dataset))
    available = {p.name for p in (root / "photos").iterdir() if p.is_dir()} & {
        p.name for p in (root / "sketches").iterdir() if p.is_dir()
    }
    zero_shot_split(train_cls, test_cls, available, dataset)
    lists: dict[tuple[bool, int], list[Sample]] = {}
    for label, cls in enumerate(train_cls + test_cls):
        seen = label < len(train_cls)
        for domain, sub in ((SKETCH, "sketches"), (PHOTO, "photos")):
            items = [
                Sample(
                    str(p),
                    label,
                    domain,
                    {"domain": "sketch" if domain == SKETCH else "photo", "cls": cls},
                )
                for p in _class_images(root, sub, cls)
            ]
            if not items:
                raise DatasetError(
                    f"{dataset}: {root / sub / cls} holds no images ({', '.join(IMAGE_SUFFIXES)}); "
                    "add its images or remove the class from the split files"
                )
            lists.setdefault((seen, domain), []).extend(items)
    train = lists[(True, SKETCH)] + lists[(True, PHOTO)]
    return ReidSplits(
        dataset, train, lists[(False, SKETCH)], lists[(False, PHOTO)], eval_protocol="sbir"
    )


def load_class_vectors(path: Path, num_classes: int) -> np.ndarray:
    """(num_classes, d) float32 class word vectors from a .npy file.

    Raises:
        DatasetError: the file is missing or its row count differs from ``num_classes``.
    """
    if not path.is_file():
        raise DatasetError(
            f"class embeddings {path} do not exist; pass a .npy file of shape "
            f"({num_classes}, d) in train_labels.txt order"
        )
    vecs = np.load(path).astype(np.float32)
    if vecs.ndim != 2 or vecs.shape[0] != num_classes:
        raise DatasetError(
            f"class embeddings {path} have shape {vecs.shape}; expected "
            f"({num_classes}, d) rows in train_labels.txt order"
        )
    return vecs


@DATASETS.register("sketchy")
def read_sketchy(root: Path) -> ReidSplits:
    """Sketchy-Extended (zero-shot split from train/test_labels.txt, e.g. 100/25)."""
    return read_zero_shot_sbir(root, "sketchy")


@DATASETS.register("tu-berlin")
def read_tu_berlin(root: Path) -> ReidSplits:
    """TU-Berlin-Extended (zero-shot split from train/test_labels.txt, e.g. 220/30)."""
    return read_zero_shot_sbir(root, "tu-berlin")


# -- training triplets ------------------------------------------------------------------------


def sbir_transform(height: int, width: int) -> T.Compose:
    """PIL image -> (3, height, width) float in [0, 1]: resize + ToTensor, no normalisation."""
    return T.Compose([T.Resize((height, width)), T.ToTensor()])


class TripletBatch(NamedTuple):
    """(B,3,H,W) sketches, positive photos, negative photos; (B,) anchor classes."""

    sketch: torch.Tensor
    positive: torch.Tensor
    negative: torch.Tensor
    labels: torch.Tensor


def negative_class_probs(num_classes: int, vectors: np.ndarray | None) -> np.ndarray:
    """(C, C) row-stochastic matrix: P(negative class c' | anchor class c), zero diagonal;
    proportional to 1 / ||w_c - w_c'|| with vectors (C, d), uniform without."""
    if num_classes < 2:
        raise ValueError("zero-shot SBIR training needs at least 2 seen classes")
    if vectors is None:
        w = np.ones((num_classes, num_classes))
    else:
        d = np.linalg.norm(vectors[:, None, :] - vectors[None, :, :], axis=2)
        w = 1.0 / np.maximum(d, 1e-12)
    np.fill_diagonal(w, 0.0)
    return w / w.sum(1, keepdims=True)


class TripletBatchSampler:
    """Batches of (sketch, positive photo, negative photo) index triples, one per training sketch
    (``drop_last``, shuffled); the draw depends only on (seed, epoch)."""

    def __init__(
        self, samples: list[Sample], batch_size: int, probs: np.ndarray, seed: int = 0
    ) -> None:
        labels = np.array([s.pid for s in samples])
        domains = np.array([s.camid for s in samples])
        self.sketches = np.flatnonzero(domains == SKETCH)
        self.photos_of = {
            c: np.flatnonzero((domains == PHOTO) & (labels == c)) for c in np.unique(labels)
        }
        self.labels, self.probs = labels, probs
        self.batch_size, self.seed, self.epoch = batch_size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.sketches) // self.batch_size

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(self.sketches)
        cum = np.cumsum(self.probs, axis=1)
        for b in range(len(self)):
            batch = []
            for s in order[b * self.batch_size : (b + 1) * self.batch_size]:
                c = self.labels[s]
                neg_c = int(
                    min(np.searchsorted(cum[c], rng.random() * cum[c, -1], "right"), len(cum) - 1)
                )
                batch.append(
                    (
                        int(s),
                        int(rng.choice(self.photos_of[c])),
                        int(rng.choice(self.photos_of[neg_c])),
                    )
                )
            yield batch


class TripletImages(Dataset):
    """Loads the three images of an index triple through :func:`sbir_transform`."""

    def __init__(self, samples: list[Sample], height: int, width: int) -> None:
        self.samples = samples
        self.tf = sbir_transform(height, width)

    def load(self, i: int) -> torch.Tensor:
        return self.tf(Image.open(self.samples[i].path).convert("RGB"))

    def __getitem__(self, triple: tuple[int, int, int]):
        s, p, n = triple
        return self.load(s), self.load(p), self.load(n), self.samples[s].pid


def collate_triplets(items: list[tuple]) -> TripletBatch:
    """Stack (sketch, positive, negative, class) items into a :class:`TripletBatch`."""
    s, p, n, y = zip(*items, strict=True)
    return TripletBatch(torch.stack(s), torch.stack(p), torch.stack(n), torch.tensor(y))


def build_triplet_loader(
    samples: list[Sample], data_cfg: DataConfig, probs: np.ndarray, seed: int
) -> DataLoader:
    """Loader of :class:`TripletBatch` over the training sketches; ``probs`` from
    :func:`negative_class_probs` (the engine sets the sampler's epoch)."""
    return DataLoader(
        TripletImages(samples, data_cfg.height, data_cfg.width),
        batch_sampler=TripletBatchSampler(samples, data_cfg.batch_size, probs, seed),
        num_workers=data_cfg.workers,
        collate_fn=collate_triplets,
    )
