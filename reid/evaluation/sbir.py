"""Zero-shot SBIR protocol (seeds.md 4.f): unseen-class sketches query unseen-class photos.

Relevant = same class; distances are Euclidean between the encoders' features (a zero-shot
SBIR net's sketch encoder for sketches, photo encoder for photos, see
:func:`reid.evaluation.features.embed_modality`). Scores ``mAP@all`` (the primary metric) and
``P@100``; draws retrieval.png (top-5 photos of 4 sketches).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reid.config import ReidConfig
from reid.data.datasets import ReidSplits
from reid.evaluation.base import PROTOCOLS, EvalOptions, Evaluation, Protocol
from reid.evaluation.features import embed_modality
from reid.evaluation.visualize import save_retrieval_png
from reid.methods.base import Method
from reid.metrics.sbir import sbir_metrics
from reid.metrics.sketch import PHOTO, SKETCH


@PROTOCOLS.register("sbir")
class ZeroShotSbir(Protocol):
    """Sketch -> photo class retrieval: ``mAP@all`` (primary) and ``P@100``."""

    name = "sbir"
    primary = "mAP@all"

    def evaluate(self, method: Method, held_out: ReidSplits, options: EvalOptions) -> Evaluation:
        q = embed_modality(method, held_out.query, SKETCH)  # (Q, D)
        g = embed_modality(method, held_out.gallery, PHOTO)  # (G, D)
        dist = np.sqrt(np.maximum(((q[:, None, :] - g[None, :, :]) ** 2).sum(-1), 0.0))  # (Q, G)
        metrics = sbir_metrics(
            dist,
            np.array([s.pid for s in held_out.query]),
            np.array([s.pid for s in held_out.gallery]),
            100,
        )
        report = {**metrics, "num_query": len(held_out.query), "num_gallery": len(held_out.gallery)}
        return Evaluation(report, dist)

    def save_pictures(
        self, out_dir: Path, evaluation: Evaluation, held_out: ReidSplits, cfg: ReidConfig
    ) -> dict[str, str]:
        png = save_retrieval_png(
            out_dir / "retrieval.png",
            evaluation.distmat,
            [s.path for s in held_out.query],
            np.array([s.pid for s in held_out.query]),
            [s.path for s in held_out.gallery],
            np.array([s.pid for s in held_out.gallery]),
        )
        return {"retrieval_png": str(png)}
