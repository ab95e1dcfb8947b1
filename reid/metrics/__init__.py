"""Re-ID ranking maths (leaf package: numpy only; no torch, images or datasets).

Market-style CMC / mAP / mINP and single-gallery-shot CMC (:mod:`~reid.metrics.rank`),
k-reciprocal re-ranking (:mod:`~reid.metrics.rerank`), the cross-modality protocols' ranking
and aggregation (:mod:`~reid.metrics.crossmodal`), PKU-Sketch's per-split ranking
(:mod:`~reid.metrics.sketch`) and the SBIR scores (:mod:`~reid.metrics.sbir`). Feature
extraction, dataset reading and pictures are in :mod:`reid.evaluation`.
"""

from reid.metrics.rank import euclidean_distance, market_rank, single_gallery_shot_cmc
from reid.metrics.rerank import k_reciprocal_rerank

__all__ = [
    "euclidean_distance",
    "k_reciprocal_rerank",
    "market_rank",
    "single_gallery_shot_cmc",
]
