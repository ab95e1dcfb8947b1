"""PKU-Sketch (sketch -> photo re-ID; seeds.md 2.e, 5.e): reader and the 10-split protocol.

Layout (PKUSketchRE-ID_V1): 200 identities, one sketch and two photos (two cross-view
cameras) each::

    <root>/photo/<id>_<anything>.jpg         two per identity, e.g. 1_05_356.jpg
    <root>/sketch/<id>.jpg                   one per identity
    <root>/styleAnnotation/<style>_<n>.txt   ids drawn in painting style <style> (a..e)

Split protocol (IHDA ``pre_process_pku``): 150 train / 50 test identities, drawn per style
group with train counts :data:`PKU_TRAIN_PER_STYLE` for styles a..e; 10 random splits.
Split k (1-based) is drawn from ``numpy.random.default_rng([seed, k])`` so it does not depend
on how many splits are drawn. Registered datasets: ``pku-sketch-1`` .. ``pku-sketch-10``
(train = photos + sketches of the split's train ids, relabelled; query = test sketches;
gallery = test photos) and ``pku-sketch`` = split 1 (its evaluation scores all 10 splits' test
sets, :mod:`reid.evaluation.pku_sketch`).

Every sample carries ``extra["modality"]``: 0 = photo, 1 = sketch (the same codes as
visible / infrared in :mod:`reid.data.crossmodal`, so dual-stem models route sketches to their
second stem). Photo camids are 0 and 1 (the identity's photos in file-name order); sketches
get camid 2.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.errors import DatasetError, UserError
from reid.data.datasets import DATASETS, ReidSplits, Sample, find_root, image_files, relabel
from reid.metrics.sketch import PHOTO, SKETCH

SKETCH_CAMID = 2
PKU_TRAIN_PER_STYLE = (34, 15, 60, 25, 16)  #: train ids per style a..e (sum 150)
PKU_NUM_IDS = 200
PKU_NUM_SPLITS = 10
TRAIN_FRACTION = 0.75  #: 150 / 200, used when the annotation is not the 200-id release

_LAYOUT = (
    "<root>/photo/<id>_<k>.jpg (2 per id), <root>/sketch/<id>.jpg, "
    "<root>/styleAnnotation/<style>_<n>.txt (ids of each painting style)"
)
_LEADING_ID = re.compile(r"^(\d+)")


def train_counts(group_sizes: Sequence[int]) -> tuple[int, ...]:
    """Train identities per style group: :data:`PKU_TRAIN_PER_STYLE` for the 5-style, 200-id
    release; otherwise ``round(0.75 * N)`` shared in proportion to the group sizes (largest
    remainder), so small or re-annotated copies keep the protocol's spirit."""
    sizes = np.asarray(group_sizes, np.int64)
    if (
        len(sizes) == len(PKU_TRAIN_PER_STYLE)
        and sizes.sum() == PKU_NUM_IDS
        and np.all(sizes >= PKU_TRAIN_PER_STYLE)
    ):
        return PKU_TRAIN_PER_STYLE
    total = round(TRAIN_FRACTION * sizes.sum())
    exact = sizes * total / max(int(sizes.sum()), 1)
    counts = np.floor(exact).astype(np.int64)
    # Hand the leftover ids to the groups with the largest fractional parts (stable order).
    extra = np.argsort(-(exact - counts), kind="stable")[: total - int(counts.sum())]
    counts[extra] += 1
    return tuple(int(c) for c in counts)


def split_identities(
    style_groups: Sequence[Sequence[int]],
    split: int,
    *,
    train_per_style: Sequence[int] | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Train / test identity ids of split ``split`` (1-based).

    Args:
        style_groups: disjoint id lists, one per painting style.
        split: split number >= 1; split k uses ``default_rng([seed, k])``.
        train_per_style: train ids drawn from each group (default :func:`train_counts`).
        seed: base seed.

    Returns:
        (train_ids, test_ids), each sorted int64; their union is every id of the groups.
    """
    if split < 1:
        raise UserError(
            f"PKU-Sketch split numbers start at 1, got {split}; use pku-sketch-1 .. pku-sketch-10"
        )
    groups = [np.unique(np.asarray(g, np.int64)) for g in style_groups]
    all_ids = np.concatenate(groups) if groups else np.zeros(0, np.int64)
    if len(np.unique(all_ids)) != len(all_ids):
        raise UserError("PKU-Sketch style groups overlap; each identity must have one style")
    counts = train_counts([len(g) for g in groups]) if train_per_style is None else train_per_style
    if len(counts) != len(groups):
        raise UserError(
            f"train_per_style has {len(counts)} entries but there are {len(groups)} style groups; "
            "give one count per style group"
        )
    rng = np.random.default_rng([seed, split])
    train = []
    for group, n in zip(groups, counts, strict=True):
        if not 0 <= n <= len(group):
            raise UserError(
                f"cannot draw {n} train ids from a style group of {len(group)};"
                f" lower train_per_style"
            )
        train.append(rng.permutation(group)[:n])
    train_ids = np.sort(np.concatenate(train)) if train else np.zeros(0, np.int64)
    return train_ids, np.setdiff1d(all_ids, train_ids)


def _require(root: Path, sub: str) -> Path:
    folder = root / sub
    if not folder.is_dir():
        raise DatasetError(
            f"pku-sketch dataset at {root}: missing folder '{sub}'; expected {_LAYOUT}"
        )
    return folder


def _leading_id(path: Path) -> int:
    match = _LEADING_ID.match(path.stem)
    if match is None:
        raise DatasetError(
            f"pku-sketch: image {path} does not start with an identity number; expected {_LAYOUT}"
        )
    return int(match.group(1))


def read_style_groups(root: Path) -> list[list[int]]:
    """Id lists of ``styleAnnotation/*.txt`` in file-name order (style a, b, ...)."""
    root = find_root(root, "sketch")
    files = sorted(_require(root, "styleAnnotation").glob("*.txt"))
    if not files:
        raise DatasetError(
            f"pku-sketch dataset at {root}: no .txt files in 'styleAnnotation'; expected {_LAYOUT}"
        )
    groups = []
    for path in files:
        try:
            groups.append([int(t) for t in re.split(r"[,\s]+", path.read_text().strip()) if t])
        except ValueError:
            raise DatasetError(
                f"pku-sketch: {path} is not a list of integer ids; expected {_LAYOUT}"
            ) from None
    return groups


def read_pku_images(root: Path) -> tuple[list[Sample], list[Sample]]:
    """(photos, sketches) of every identity, pids = the dataset's ids; each id needs at
    least one photo and exactly one sketch."""
    root = find_root(root, "sketch")
    photos: list[Sample] = []
    per_id: dict[int, int] = {}
    for path in image_files(_require(root, "photo")):
        pid = _leading_id(path)
        photos.append(Sample(str(path), pid, per_id.get(pid, 0), {"modality": PHOTO}))
        per_id[pid] = per_id.get(pid, 0) + 1
    sketches = [
        Sample(str(p), _leading_id(p), SKETCH_CAMID, {"modality": SKETCH})
        for p in image_files(_require(root, "sketch"))
    ]
    sketch_ids = [s.pid for s in sketches]
    if not photos or not sketches:
        what = "photo" if not photos else "sketch"
        raise DatasetError(
            f"pku-sketch dataset at {root}: no images in '{what}'; expected {_LAYOUT}"
        )
    if len(set(sketch_ids)) != len(sketch_ids):
        raise DatasetError(
            f"pku-sketch dataset at {root}: an id has several sketches; expected {_LAYOUT}"
        )
    missing = sorted(set(sketch_ids) ^ set(per_id))
    if missing:
        raise DatasetError(
            f"pku-sketch dataset at {root}: ids {missing[:5]} lack a photo or a sketch; "
            f"expected {_LAYOUT}"
        )
    return photos, sketches


def read_pku_sketch(
    root: Path, split: int = 1, seed: int = 0, name: str | None = None
) -> ReidSplits:
    """PKU-Sketch split ``split`` (1..10 by convention): train = photos + sketches of the train
    ids (relabelled), query = sketches of the test ids, gallery = their photos; named ``name``
    (default ``pku-sketch-<split>``)."""
    root = find_root(root, "sketch")
    photos, sketches = read_pku_images(root)
    groups = read_style_groups(root)
    annotated = {i for g in groups for i in g}
    unannotated = sorted({s.pid for s in sketches} - annotated)
    if unannotated:
        raise DatasetError(
            f"pku-sketch dataset at {root}: ids {unannotated[:5]} are in no styleAnnotation "
            f"file; expected {_LAYOUT}"
        )
    known = {s.pid for s in sketches}
    train_ids, test_ids = split_identities(
        [[i for i in g if i in known] for g in groups], split, seed=seed
    )
    train_set, test_set = set(train_ids.tolist()), set(test_ids.tolist())
    train = [s for s in photos + sketches if s.pid in train_set]
    query = [s for s in sketches if s.pid in test_set]
    gallery = [s for s in photos if s.pid in test_set]
    return ReidSplits(
        name or f"pku-sketch-{split}", relabel(train), query, gallery, eval_protocol="pku-sketch"
    )


DATASETS.register("pku-sketch")(lambda root: read_pku_sketch(root, name="pku-sketch"))
for _k in range(1, PKU_NUM_SPLITS + 1):
    DATASETS.register(f"pku-sketch-{_k}")(lambda root, k=_k: read_pku_sketch(root, k))
