"""k-reciprocal re-ranking."""

from __future__ import annotations

import numpy as np

from reid.metrics import (
    euclidean_distance,
    k_reciprocal_rerank,
    market_rank,
)


def test_rerank_lambda_one_keeps_the_ranking_and_helps_clusters():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, (5, 8))
    g_pids = np.repeat(np.arange(5), 6)
    gf = centres[g_pids] + rng.normal(0, 0.35, (30, 8))
    q_pids = np.arange(5)
    qf = centres + rng.normal(0, 0.35, (5, 8))
    q_g, q_q, g_g = (
        euclidean_distance(qf, gf),
        euclidean_distance(qf, qf),
        euclidean_distance(gf, gf),
    )
    plain = k_reciprocal_rerank(q_g, q_q, g_g, k1=6, k2=3, lambda_value=1.0)
    assert plain.shape == (5, 30)
    np.testing.assert_array_equal(
        np.argsort(plain, 1, kind="stable"), np.argsort(q_g, 1, kind="stable")
    )
    reranked = k_reciprocal_rerank(q_g, q_q, g_g, k1=6, k2=3, lambda_value=0.3)
    cams_q, cams_g = np.zeros(5), np.ones(30)
    before = market_rank(q_g, q_pids, g_pids, cams_q, cams_g)["mAP"]
    after = market_rank(reranked, q_pids, g_pids, cams_q, cams_g)["mAP"]
    assert after >= before - 1e-9
