"""Re-ID retrieval metrics (leaf package: numpy only, plus PIL for the ranking picture)."""

from reid.metrics.rank import euclidean_distance, market_rank, single_gallery_shot_cmc
from reid.metrics.rerank import k_reciprocal_rerank
from reid.metrics.visualize import save_ranking_png

__all__ = [
    "euclidean_distance",
    "k_reciprocal_rerank",
    "market_rank",
    "save_ranking_png",
    "single_gallery_shot_cmc",
]
