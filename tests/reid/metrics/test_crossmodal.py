"""Cross-modality ranking: single-shot galleries, camera removal rules, trials."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import UserError
from reid.metrics.crossmodal import (
    aggregate,
    evaluate_crossmodal,
    rank_crossmodal,
    single_shot_gallery,
)


def test_single_shot_picks_one_per_id_camera_seeded_and_varying():
    g_pids = np.repeat(np.arange(4), 12)
    g_cams = np.tile(np.repeat([0, 1, 3, 4], 3), 4)
    draws = [single_shot_gallery(g_pids, g_cams, (0, 1, 3, 4), t) for t in range(10)]
    for d in draws:
        pairs = list(zip(g_pids[d], g_cams[d], strict=True))
        assert len(d) == 16 and len(set(pairs)) == 16
    assert np.array_equal(draws[3], single_shot_gallery(g_pids, g_cams, (0, 1, 3, 4), 3))
    assert len({tuple(d) for d in draws}) == 10
    indoor = single_shot_gallery(g_pids, g_cams, (0, 1), 0)
    assert set(g_cams[indoor]) == {0, 1} and len(indoor) == 8


def test_sysu_rule_drops_cam2_for_cam3_queries_dedup_cmc():
    # Gallery: pid 1 cam2 (closest), pid 2 cam1, pid 0 cam2, pid 0 cam1.
    g_pids, g_cams = np.array([1, 2, 0, 0]), np.array([1, 0, 1, 0])
    dist = np.array([[0.0, 0.1, 0.2, 0.3], [0.0, 0.1, 0.2, 0.3]])
    q_pids, q_cams = np.array([0, 0]), np.array([2, 5])  # SYSU cam3 and cam6
    r3 = rank_crossmodal(dist[:1], q_pids[:1], g_pids, q_cams[:1], g_cams, "sysu", dedup_cmc=True)
    # cam3 query: cam2 items (pid 1, pid 0) removed -> [2, 0]: first true match rank 2.
    assert r3["rank1"] == 0.0 and r3["rank5"] == 1.0 and r3["mAP"] == pytest.approx(0.5)
    r6 = rank_crossmodal(dist[1:], q_pids[1:], g_pids, q_cams[1:], g_cams, "sysu", dedup_cmc=True)
    # cam6 query keeps all: [1, 2, 0, 0]: AP = (1/3 + 2/4) / 2, mINP = 2/4.
    assert r6["mAP"] == pytest.approx((1 / 3 + 2 / 4) / 2) and r6["mINP"] == pytest.approx(0.5)
    # Dedup CMC: ids ranked [1, 2, 0] -> first match at rank 3 either way.
    assert r6["rank1"] == 0.0 and r6["rank5"] == 1.0


def test_same_cam_removal_and_none():
    g_pids, g_cams = np.array([0, 0, 1]), np.array([3, 4, 3])
    dist = np.array([[0.0, 0.5, 0.2]])
    r = rank_crossmodal(dist, [0], g_pids, [3], g_cams, "same_cam", dedup_cmc=True)
    assert r["rank1"] == 0.0 and r["mAP"] == pytest.approx(0.5)  # [1, 0(cam4)]
    r = rank_crossmodal(dist, [0], g_pids, [3], g_cams, "none", dedup_cmc=False)
    assert r["rank1"] == 1.0 and r["mAP"] == pytest.approx((1 + 2 / 3) / 2)
    r = rank_crossmodal(dist, [7], g_pids, [3], g_cams, "none", dedup_cmc=False)
    assert r["num_valid_queries"] == 0.0 and r["mAP"] == 0.0


def test_protocols_end_to_end_and_regdb_direction_swap():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 8))
    g_pids = np.repeat(np.arange(5), 8)
    g_cams = np.tile(np.repeat([0, 1, 3, 4], 2), 5)
    gf = centres[g_pids] + 0.01 * rng.normal(size=(40, 8))
    q_pids, q_cams = np.repeat(np.arange(5), 2), np.tile([2, 5], 5)
    qf = centres[q_pids] + 0.01 * rng.normal(size=(10, 8))
    for proto in ("sysu-all", "sysu-indoor", "llcm"):
        res = evaluate_crossmodal(qf, gf, q_pids, q_cams, g_pids, g_cams, proto, trials=10)
        assert res["rank1"] == 1.0 and res["rank1_std"] == 0.0 and res["num_trials"] == 10
    res = evaluate_crossmodal(qf, gf, q_pids, q_cams, g_pids, g_cams, "regdb")
    assert res["num_trials"] == 1 and res["mAP"] == pytest.approx(1.0)
    # Direction swap: visible queries against the thermal gallery.
    swap = evaluate_crossmodal(gf, qf, g_pids, g_cams, q_pids, q_cams, "regdb")
    assert swap["trials"][0]["num_valid_queries"] == 40 and swap["rank1"] == 1.0
    with pytest.raises(UserError, match="choose one of"):
        evaluate_crossmodal(qf, gf, q_pids, q_cams, g_pids, g_cams, "market")


def test_aggregate_mean_and_std():
    trials = [
        dict.fromkeys(("rank1", "rank5", "rank10", "rank20", "mAP", "mINP"), v) for v in (0.2, 0.4)
    ]
    out = aggregate(trials)
    assert out["rank1"] == pytest.approx(0.3) and out["mAP_std"] == pytest.approx(0.1)
