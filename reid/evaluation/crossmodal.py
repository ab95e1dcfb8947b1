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
from typing import Any

import numpy as np
import torch
from torch import nn

from core.errors import UserError
from reid.config import DataConfig, ReidConfig
from reid.data.crossmodal import INFRARED, VISIBLE, modality_of
from reid.data.datasets import ReidSplits, Sample
from reid.evaluation.base import PROTOCOLS, EvalOptions, Evaluation, Protocol
from reid.evaluation.features import extract_features
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


class _CrossModality(Protocol):
    """Extracts every held-out image's feature once; subclasses rank them."""

    primary = "mAP"

    def rank(
        self,
        feats: np.ndarray,
        pids: np.ndarray,
        cams: np.ndarray,
        modality: np.ndarray,
        options: EvalOptions,
    ) -> dict[str, Any]:
        """The report of (N, D) ``feats`` with (N,) pids, camids and modalities."""
        raise NotImplementedError

    def evaluate(
        self,
        model: nn.Module,
        held_out: ReidSplits,
        cfg: ReidConfig,
        device: torch.device,
        options: EvalOptions,
    ) -> Evaluation:
        samples = list(held_out.query) + list(held_out.gallery)
        feats = extract_modal_features(model, samples, cfg.data, device)
        pids = np.array([s.pid for s in samples])
        cams = np.array([s.camid for s in samples])
        modality = np.array([modality_of(s) for s in samples])
        report = self.rank(feats, pids, cams, modality, options)
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

    def rank(
        self,
        feats: np.ndarray,
        pids: np.ndarray,
        cams: np.ndarray,
        modality: np.ndarray,
        options: EvalOptions,
    ) -> dict[str, Any]:
        if options.mode not in ("all", "indoor"):
            raise UserError(f"SYSU-MM01 mode must be all or indoor, got {options.mode!r}")
        ir, vis = modality == INFRARED, modality == VISIBLE
        return evaluate_crossmodal(
            feats[ir],
            feats[vis],
            pids[ir],
            cams[ir],
            pids[vis],
            cams[vis],
            f"sysu-{options.mode}",
            trials=options.trials,
        )


class _BothDirections(_CrossModality):
    """Infrared -> visible and visible -> infrared with the ranking protocol ``name``."""

    def rank(
        self,
        feats: np.ndarray,
        pids: np.ndarray,
        cams: np.ndarray,
        modality: np.ndarray,
        options: EvalOptions,
    ) -> dict[str, Any]:
        ir, vis = modality == INFRARED, modality == VISIBLE
        out = {}
        for key, q, g in zip(DIRECTIONS, (ir, vis), (vis, ir)):
            out[key] = evaluate_crossmodal(
                feats[q], feats[g], pids[q], cams[q], pids[g], cams[g], self.name, trials=options.trials
            )
        return both_directions(out)


@PROTOCOLS.register("regdb")
class RegDb(_BothDirections):
    """RegDB (one split): the whole other-modality test set as gallery, no removal."""

    name = "regdb"


@PROTOCOLS.register("llcm")
class Llcm(_BothDirections):
    """LLCM: single-shot galleries over ``options.trials`` trials, same-identity-same-camera
    removal, both directions."""

    name = "llcm"
