"""PKU-Sketch protocol (seeds.md 2.f, 5.f): sketch queries -> photo gallery on split test sets.

Every photo and sketch of the dataset is embedded once (sketches through a model's sketch
branch where it has one); ``pku-sketch-k`` scores split k's 50 test identities, ``pku-sketch``
all 10 splits' test sets with this one model, which is only unbiased for a model that saw no
PKU-Sketch identity (e.g. trained on another dataset): for the per-split protocol use
:func:`reid.evaluation.split_runs.evaluate_split_checkpoints`. The ranking maths is
:func:`reid.metrics.sketch.evaluate_sketch_splits`; the primary metric is ``mAP`` (mean over
splits).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.errors import UserError
from reid.data.datasets import ReidSplits
from reid.data.pku_sketch import (
    PKU_NUM_SPLITS,
    read_pku_images,
    read_style_groups,
    split_identities,
)
from reid.evaluation.base import PROTOCOLS, EvalOptions, Evaluation, Protocol
from reid.evaluation.features import extract_features
from reid.methods.base import Method
from reid.metrics.sketch import evaluate_sketch_splits

DATASET = "pku-sketch"


def pku_test_ids(style_groups: Sequence[Sequence[int]], splits: Sequence[int]) -> list[np.ndarray]:
    """Test identities of each split number in ``splits`` (as the reader draws them, see
    :func:`reid.data.pku_sketch.split_identities`)."""
    return [split_identities(style_groups, k)[1] for k in splits]


def splits_of(dataset: str) -> list[int]:
    """Split numbers a PKU-Sketch dataset name evaluates: all for ``pku-sketch``, [k] for
    ``pku-sketch-k``."""
    if dataset == DATASET:
        return list(range(1, PKU_NUM_SPLITS + 1))
    suffix = dataset.removeprefix(f"{DATASET}-")
    if dataset.startswith(f"{DATASET}-") and suffix.isdigit() and int(suffix) >= 1:
        return [int(suffix)]
    raise UserError(f"{dataset!r} is not a PKU-Sketch dataset; use pku-sketch or pku-sketch-<k>")


@PROTOCOLS.register("pku-sketch")
class PkuSketch(Protocol):
    """Sketch -> photo (and photo -> sketch) CMC / mAP / mINP on the split test sets named by
    the dataset, mean and std over splits; primary metric ``mAP``."""

    name = "pku-sketch"
    primary = "mAP"

    @classmethod
    def check_dataset(cls, dataset: str) -> None:
        splits_of(dataset)

    def evaluate(self, method: Method, held_out: ReidSplits, options: EvalOptions) -> Evaluation:
        splits = splits_of(held_out.name)
        if held_out.root is None:
            raise ValueError(f"{held_out.name} was not read by read_dataset: its folder is unknown")
        photos, sketches = read_pku_images(held_out.root)
        samples = photos + sketches
        result = evaluate_sketch_splits(
            extract_features(method.model, samples, method.cfg.data, method.device),
            np.array([s.pid for s in samples]),
            np.array([s.extra["modality"] for s in samples]),
            pku_test_ids(read_style_groups(held_out.root), splits),
        )
        return Evaluation({**result, "splits": splits})
