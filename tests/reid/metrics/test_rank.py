"""Market-style CMC / mAP / mINP and single-gallery-shot CMC against a hand-computed case and
loop references."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reid.metrics import (
    euclidean_distance,
    market_rank,
    single_gallery_shot_cmc,
)

G_PIDS = np.array([1, 1, 2, 2, 3, 1])


G_CAMS = np.array([0, 1, 1, 0, 1, 1])


Q_PIDS = np.array([1, 2, 3, 4])


Q_CAMS = np.array([0, 0, 0, 0])


DIST = np.array(
    [
        [0.10, 0.50, 0.20, 0.90, 0.30, 0.25],
        [0.40, 0.80, 0.10, 0.20, 0.60, 0.70],
        [0.30, 0.20, 0.40, 0.10, 0.50, 0.05],
        [0.10, 0.20, 0.30, 0.40, 0.50, 0.60],
    ]
)


def test_hand_checked_three_queries():
    """Query 1 (pid 1, cam 0): g0 is the same view and is dropped; kept order g2 g5 g4 g1 g3,
    true matches at ranks 2 and 4 -> AP (1/2 + 2/4)/2 = 1/2, INP 2/4.
    Query 2 (pid 2): g3 dropped; g2 first -> rank 1, AP 1, INP 1.
    Query 3 (pid 3): order g5 g3 g1 g0 g2 g4 -> rank 6, AP 1/6, INP 1/6.
    Query 4 (pid 4) has no true match and is skipped."""
    r = market_rank(DIST, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS, max_rank=6)
    assert r["num_valid_queries"] == 3
    np.testing.assert_allclose(r["cmc"], [1 / 3, 2 / 3, 2 / 3, 2 / 3, 2 / 3, 1])
    assert r["mAP"] == pytest.approx(5 / 9)
    assert r["mINP"] == pytest.approx(5 / 9)


def test_no_valid_query_gives_zeros():
    r = market_rank(DIST[3:], Q_PIDS[3:], G_PIDS, Q_CAMS[3:], G_CAMS, max_rank=3)
    assert r["num_valid_queries"] == 0 and r["mAP"] == 0 and not r["cmc"].any()


def reference_market(dist, qp, gp, qc, gc, max_rank):
    cmc, aps, inps = np.zeros(max_rank), [], []
    for i in range(len(qp)):
        order = sorted(range(len(gp)), key=lambda j: (dist[i, j], j))
        kept = [j for j in order if not (gp[j] == qp[i] and gc[j] == qc[i])]
        good = [r for r, j in enumerate(kept) if gp[j] == qp[i]]
        if not good:
            continue
        if good[0] < max_rank:
            cmc[good[0] :] += 1
        aps.append(np.mean([(n + 1) / (r + 1) for n, r in enumerate(good)]))
        inps.append(len(good) / (good[-1] + 1))
    n = max(len(aps), 1)
    return cmc / n, float(np.sum(aps) / n), float(np.sum(inps) / n), len(aps)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_q=st.integers(0, 12),
    n_g=st.integers(1, 30),
    n_ids=st.integers(1, 6),
    n_cams=st.integers(1, 3),
)
def test_market_rank_matches_loop_reference(seed, n_q, n_g, n_ids, n_cams):
    rng = np.random.default_rng(seed)
    dist = rng.random((n_q, n_g))
    qp, gp = rng.integers(0, n_ids, n_q), rng.integers(0, n_ids, n_g)
    qc, gc = rng.integers(0, n_cams, n_q), rng.integers(0, n_cams, n_g)
    r = market_rank(dist, qp, gp, qc, gc, max_rank=10)
    cmc, m_ap, m_inp, n_valid = reference_market(dist, qp, gp, qc, gc, 10)
    assert r["num_valid_queries"] == n_valid
    np.testing.assert_allclose(r["cmc"], cmc)
    assert r["mAP"] == pytest.approx(m_ap) and r["mINP"] == pytest.approx(m_inp)


def reference_sgs_expectation(dist, qp, gp, qc, gc, max_rank, separate_camera_set):
    """Exact expected single-gallery-shot CMC: enumerate every one-per-identity draw."""
    cmc, n_valid = np.zeros(max_rank), 0
    for i in range(len(qp)):
        valid = [
            j
            for j in range(len(gp))
            if (gc[j] != qc[i] if separate_camera_set else not (gp[j] == qp[i] and gc[j] == qc[i]))
        ]
        if not any(gp[j] == qp[i] for j in valid):
            continue
        groups = [[j for j in valid if gp[j] == pid] for pid in sorted({gp[j] for j in valid})]
        draws = list(itertools.product(*groups))
        for draw in draws:
            true = next(j for j in draw if gp[j] == qp[i])
            rank = sum(dist[i, j] < dist[i, true] for j in draw if gp[j] != qp[i])
            if rank < max_rank:
                cmc[rank:] += 1 / len(draws)
        n_valid += 1
    return cmc / max(n_valid, 1), n_valid


@pytest.mark.parametrize("separate", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_single_gallery_shot_matches_exact_expectation(seed, separate):
    rng = np.random.default_rng(seed)
    n_q, n_g = 6, 14
    dist = rng.random((n_q, n_g))
    qp, gp = rng.integers(0, 4, n_q), rng.integers(0, 4, n_g)
    qc, gc = rng.integers(0, 3, n_q), rng.integers(0, 3, n_g)
    expected, n_valid = reference_sgs_expectation(dist, qp, gp, qc, gc, 5, separate)
    got = single_gallery_shot_cmc(
        dist, qp, gp, qc, gc, max_rank=5, repeats=3000, separate_camera_set=separate, seed=seed
    )
    assert got["num_valid_queries"] == n_valid
    np.testing.assert_allclose(got["cmc"], expected, atol=0.03)


def test_single_gallery_shot_is_deterministic_with_one_image_per_identity():
    dist = np.array([[0.3, 0.1, 0.2]])
    r = single_gallery_shot_cmc(
        dist,
        np.array([7]),
        np.array([7, 8, 9]),
        np.array([0]),
        np.array([1, 1, 1]),
        max_rank=3,
        repeats=4,
    )
    np.testing.assert_allclose(r["cmc"], [0, 0, 1])


def test_euclidean_distance():
    q, g = np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[3.0, 4.0]])
    np.testing.assert_allclose(euclidean_distance(q, g), [[5.0], [np.sqrt(13)]])
