"""Query/gallery re-ID protocols: Market-1501's and DanceReID's single-gallery-shot CMC.

Both rank the gallery by the Euclidean distance of (by default L2-normalised) features,
optionally k-reciprocal re-ranked, drop same-identity-same-camera gallery items and score
mAP / mINP the Market way (:func:`reid.metrics.rank.market_rank`); they differ in the CMC.
The primary metric is ``mAP``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reid.config import EvalConfig, ReidConfig
from reid.data.datasets import ReidSplits
from reid.evaluation.base import PROTOCOLS, EvalOptions, Evaluation, Protocol
from reid.evaluation.features import extract_features
from reid.evaluation.visualize import save_ranking_png
from reid.methods.base import Method
from reid.metrics.rank import euclidean_distance, market_rank, single_gallery_shot_cmc
from reid.metrics.rerank import k_reciprocal_rerank


def _ids(held_out: ReidSplits) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(Q,) query pids, (Q,) query camids, (G,) gallery pids, (G,) gallery camids."""
    q, g = held_out.query, held_out.gallery
    return (
        np.array([s.pid for s in q]),
        np.array([s.camid for s in q]),
        np.array([s.pid for s in g]),
        np.array([s.camid for s in g]),
    )


@PROTOCOLS.register("market")
class Market(Protocol):
    """Market-1501 protocol (market1501, dukemtmc, msmt17, folder): CMC of the first true
    match, mAP, mINP; primary metric ``mAP``. Draws ranking.png."""

    name = "market"
    primary = "mAP"

    def cmc(
        self, distmat: np.ndarray, ids: tuple[np.ndarray, ...], ranked: dict, e: EvalConfig
    ) -> np.ndarray:
        """(max_rank,) CMC; ``ranked`` is :func:`market_rank`'s result."""
        return ranked["cmc"]

    def evaluate(self, method: Method, held_out: ReidSplits, options: EvalOptions) -> Evaluation:
        model, cfg, device = method.model, method.cfg, method.device
        e = cfg.eval
        qf = extract_features(model, held_out.query, cfg.data, device, e.normalize)
        gf = extract_features(model, held_out.gallery, cfg.data, device, e.normalize)
        distmat = euclidean_distance(qf, gf)
        rerank = e.rerank if options.rerank is None else options.rerank
        if rerank:
            distmat = k_reciprocal_rerank(
                distmat,
                euclidean_distance(qf, qf),
                euclidean_distance(gf, gf),
                e.rerank_k1,
                e.rerank_k2,
                e.rerank_lambda,
            )
        ids = _ids(held_out)
        q_pids, q_cams, g_pids, g_cams = ids
        ranked = market_rank(distmat, q_pids, g_pids, q_cams, g_cams, max(e.max_rank, 10))
        cmc = self.cmc(distmat, ids, ranked, e)
        report = {
            "mAP": float(ranked["mAP"]),
            "rank1": float(cmc[0]),
            "rank5": float(cmc[4]),
            "rank10": float(cmc[9]),
            "mINP": float(ranked["mINP"]),
            "num_valid_queries": float(ranked["num_valid_queries"]),
            "num_query": len(held_out.query),
            "num_gallery": len(held_out.gallery),
            "rerank": rerank,
        }
        return Evaluation(report, distmat)

    def save_pictures(
        self, out_dir: Path, evaluation: Evaluation, held_out: ReidSplits, cfg: ReidConfig
    ) -> dict[str, str]:
        d = cfg.data
        png = save_ranking_png(
            out_dir / "ranking.png",
            evaluation.distmat,
            held_out.query,
            held_out.gallery,
            num_queries=cfg.eval.vis_queries,
            topk=cfg.eval.vis_topk,
            tile_hw=(d.height, d.width) if d.height <= 256 else (256, 128),
        )
        return {"ranking_png": str(png)}


@PROTOCOLS.register("single_gallery_shot")
class SingleGalleryShot(Market):
    """DanceReID's protocol: mAP / mINP as Market's, CMC by
    :func:`reid.metrics.rank.single_gallery_shot_cmc` (``eval.sgs_repeats`` random gallery
    draws); primary metric ``mAP``."""

    name = "single_gallery_shot"

    def cmc(
        self, distmat: np.ndarray, ids: tuple[np.ndarray, ...], ranked: dict, e: EvalConfig
    ) -> np.ndarray:
        q_pids, q_cams, g_pids, g_cams = ids
        return single_gallery_shot_cmc(
            distmat,
            q_pids,
            g_pids,
            q_cams,
            g_cams,
            max_rank=max(e.max_rank, 10),
            repeats=e.sgs_repeats,
        )["cmc"]
