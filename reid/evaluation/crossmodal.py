"""Cross-modality protocols (seeds.md 5.f): SYSU-MM01, RegDB and LLCM.

Features (not normalised; the ranking is ``-cosine``) come from each image's own branch of a
modality-aware encoder (``model(x, modality)``). SYSU-MM01: infrared queries against single-shot
visible galleries, ``mode`` all or indoor. RegDB and LLCM: both directions, reported under
``"infrared_to_visible"`` / ``"visible_to_infrared"`` (RegDB: thermal -> visible and back), the
top-level metrics being infrared -> visible. The ranking maths is
:func:`reid.metrics.crossmodal.evaluate_crossmodal`; the primary metric is ``mAP`` (the
mean over trials).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from core.errors import UserError
from reid.config import DataConfig
from reid.data.crossmodal import INFRARED, VISIBLE, modality_of
from reid.data.datasets import ReidSplits, Sample
from reid.evaluation.base import PROTOCOLS, EvalOptions, Evaluation, Protocol
from reid.evaluation.features import extract_features
from reid.methods.base import Method
from reid.metrics.crossmodal import evaluate_crossmodal

DIRECTIONS = ("infrared_to_visible", "visible_to_infrared")


def both_directions(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A two-direction report from ``{direction: result}``: infrared -> visible's metrics at
    the top level (its per-trial list only under its key), then both results."""
    first = {k: v for k, v in results[DIRECTIONS[0]].items() if k != "trials"}
    return {**first, **results}


def extract_modal_features(
    model: nn.Module, samples: Sequence[Sample], data_cfg: DataConfig, device: torch.device
) -> np.ndarray:
    """(N, D) float32 features (not normalised), each image through its modality's stem."""
    for sample in samples:
        modality_of(sample)  # every sample must say its modality
    return extract_features(model, samples, data_cfg, device, normalize=False)


class _Images(NamedTuple):
    """Every held-out image: features (N, D), pids (N,), camids (N,), and (N,) bool masks of
    the infrared and the visible ones."""

    feats: np.ndarray
    pids: np.ndarray
    cams: np.ndarray
    infrared: np.ndarray
    visible: np.ndarray

    def rank(
        self, query: np.ndarray, gallery: np.ndarray, protocol: str, trials: int
    ) -> dict[str, Any]:
        """:func:`evaluate_crossmodal` of the images in mask ``query`` against ``gallery``."""
        return evaluate_crossmodal(
            self.feats[query],
            self.feats[gallery],
            self.pids[query],
            self.cams[query],
            self.pids[gallery],
            self.cams[gallery],
            protocol,
            trials=trials,
        )


class _CrossModality(Protocol):
    """Extracts every held-out image's feature once; subclasses rank them."""

    primary = "mAP"

    def rank(self, images: _Images, options: EvalOptions) -> dict[str, Any]:
        """The report of the held-out ``images``."""
        raise NotImplementedError

    def evaluate(self, method: Method, held_out: ReidSplits, options: EvalOptions) -> Evaluation:
        samples = list(held_out.query) + list(held_out.gallery)
        feats = extract_modal_features(method.model, samples, method.cfg.data, method.device)
        modality = np.array([modality_of(s) for s in samples])
        images = _Images(
            feats,
            np.array([s.pid for s in samples]),
            np.array([s.camid for s in samples]),
            modality == INFRARED,
            modality == VISIBLE,
        )
        report = self.rank(images, options)
        return Evaluation(
            {
                **report,
                "mode": options.mode,
                "num_query": len(held_out.query),
                "num_gallery": len(held_out.gallery),
            }
        )


@PROTOCOLS.register("sysu-mm01")
class SysuMm01(_CrossModality):
    """SYSU-MM01: infrared queries, ``options.trials`` single-shot visible galleries of search
    ``options.mode`` ("all": cams 1, 2, 4, 5; "indoor": 1, 2); the report's ``protocol`` is
    ``sysu-all`` or ``sysu-indoor``."""

    name = "sysu-mm01"

    def rank(self, images: _Images, options: EvalOptions) -> dict[str, Any]:
        if options.mode not in ("all", "indoor"):
            raise UserError(
                f"SYSU-MM01 mode must be all or indoor, got {options.mode!r};"
                f" pass --mode all or indoor"
            )
        return images.rank(images.infrared, images.visible, f"sysu-{options.mode}", options.trials)


class _BothDirections(_CrossModality):
    """Infrared -> visible and visible -> infrared with the ranking protocol ``name``."""

    def rank(self, images: _Images, options: EvalOptions) -> dict[str, Any]:
        pairs = ((images.infrared, images.visible), (images.visible, images.infrared))
        return both_directions(
            {
                key: images.rank(query, gallery, self.name, options.trials)
                for key, (query, gallery) in zip(DIRECTIONS, pairs, strict=True)
            }
        )


@PROTOCOLS.register("regdb")
class RegDb(_BothDirections):
    """RegDB (one split): the whole other-modality test set as gallery, no removal."""

    name = "regdb"


@PROTOCOLS.register("llcm")
class Llcm(_BothDirections):
    """LLCM: single-shot galleries over ``options.trials`` trials, same-identity-same-camera
    removal, both directions."""

    name = "llcm"
