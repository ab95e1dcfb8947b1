"""QMUL-Shoes / QMUL-Chairs (fine-grained instance-level SBIR; seeds.md 2.e, 2.f): reader.

Layout (as shipped; shoes: 419 pairs, 304 train / 115 test)::

    <root>/train/images/<i>.jpg     photo of pair i
    <root>/train/sketches/<i>.png   its sketch
    <root>/test/images/<i>.jpg
    <root>/test/sketches/<i>.png

Photo and sketch of a pair share the integer file stem ``i`` (any image suffix). Registered
datasets ``qmul-shoes`` and ``qmul-chairs``: train = photos + sketches of the train pairs
(one identity per pair, relabelled), query = test sketches, gallery = test photos, both in pair
order so query k's one true match is gallery k. Samples carry ``extra["modality"]`` 0 = photo /
1 = sketch (the codes of :mod:`reid.metrics.sketch`, as PKU-Sketch's); camid 0 = photo,
1 = sketch.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import DatasetError
from reid.data.datasets import DATASETS, ReidSplits, Sample, find_root, image_files, relabel
from reid.metrics.sketch import PHOTO, SKETCH

QMUL_DATASETS = ("qmul-shoes", "qmul-chairs")

_LAYOUT = (
    "<root>/{train,test}/images/<i>.jpg and <root>/{train,test}/sketches/<i>.png "
    "(photo and sketch of pair i share the number i)"
)


def _indexed(root: Path, sub: str, name: str) -> dict[int, Path]:
    folder = root / sub
    if not folder.is_dir():
        raise DatasetError(f"{name} dataset at {root}: missing folder '{sub}'; expected {_LAYOUT}")
    out: dict[int, Path] = {}
    for path in image_files(folder):
        if not path.stem.isdigit():
            raise DatasetError(
                f"{name}: image {path} is not named <pair number>.<ext>; expected {_LAYOUT}"
            )
        if int(path.stem) in out:
            raise DatasetError(
                f"{name}: pair {int(path.stem)} has two images in '{sub}'; expected {_LAYOUT}"
            )
        out[int(path.stem)] = path
    return out


def read_qmul_pairs(
    root: Path, part: str, name: str = "qmul-shoes"
) -> tuple[list[Sample], list[Sample]]:
    """(photos, sketches) of ``part`` ("train" | "test"), both sorted by pair number, pid =
    pair number, so photos[k] and sketches[k] are pair k."""
    photos = _indexed(root, f"{part}/images", name)
    sketches = _indexed(root, f"{part}/sketches", name)
    if not photos or not sketches:
        what = f"{part}/images" if not photos else f"{part}/sketches"
        raise DatasetError(f"{name} dataset at {root}: no images in '{what}'; expected {_LAYOUT}")
    unpaired = sorted(set(photos) ^ set(sketches))
    if unpaired:
        raise DatasetError(
            f"{name} dataset at {root}: {part} pairs {unpaired[:5]} lack a photo or a sketch; "
            f"expected {_LAYOUT}"
        )
    order = sorted(photos)
    return (
        [Sample(str(photos[i]), i, PHOTO, {"modality": PHOTO}) for i in order],
        [Sample(str(sketches[i]), i, SKETCH, {"modality": SKETCH}) for i in order],
    )


def read_qmul(root: Path, name: str = "qmul-shoes") -> ReidSplits:
    """QMUL ``name``: train = both modalities of the train pairs (relabelled), query = test
    sketches, gallery = test photos (pair order)."""
    root = find_root(Path(root), "test")
    train_photos, train_sketches = read_qmul_pairs(root, "train", name)
    query_gallery = read_qmul_pairs(root, "test", name)
    return ReidSplits(
        name,
        relabel(train_photos + train_sketches),
        query_gallery[1],
        query_gallery[0],
        eval_protocol="qmul",
    )


for _name in QMUL_DATASETS:
    DATASETS.register(_name)(lambda root, n=_name: read_qmul(root, n))
