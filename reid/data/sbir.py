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
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reid.data.datasets import DATASETS, IMAGE_SUFFIXES, ReidSplits, Sample
from core.errors import DatasetError

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
            f"{dataset}: train_labels.txt and test_labels.txt must each name at least one class"
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
                    f"{dataset}: {root / sub / cls} holds no images ({', '.join(IMAGE_SUFFIXES)})"
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
