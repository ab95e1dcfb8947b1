"""Association primitives: linear assignment, IoU, gallery cosine distance, the gallery."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from trackers.association import apply_gate, linear_assignment, nn_cosine_distance
from trackers.gallery import FeatureGallery


def _check_types(result, n_rows: int, n_cols: int) -> None:
    matches, free_rows, free_cols = result
    assert matches.dtype == np.int64 and matches.shape[1:] == (2,)
    assert free_rows.dtype == np.int64 and free_rows.ndim == 1
    assert free_cols.dtype == np.int64 and free_cols.ndim == 1
    assert len(matches) + len(free_rows) == n_rows
    assert len(matches) + len(free_cols) == n_cols


def test_linear_assignment_prefers_the_cheaper_total() -> None:
    cost = np.array([[0.1, 0.2], [0.15, 0.9]])
    matches, free_rows, free_cols = linear_assignment(cost, max_cost=0.5)
    np.testing.assert_array_equal(matches, [[0, 1], [1, 0]])
    assert len(free_rows) == len(free_cols) == 0


def test_linear_assignment_drops_pairs_above_threshold() -> None:
    cost = np.array([[0.1, 5.0], [5.0, 0.6], [0.2, 0.3]])
    result = linear_assignment(cost, max_cost=0.5)
    _check_types(result, 3, 2)
    matches, free_rows, free_cols = result
    assert {tuple(m) for m in matches.tolist()} == {(0, 0), (2, 1)}
    np.testing.assert_array_equal(free_rows, [1])
    assert len(free_cols) == 0


@pytest.mark.parametrize("shape", [(0, 0), (0, 3), (4, 0)])
def test_linear_assignment_empty(shape) -> None:
    result = linear_assignment(np.zeros(shape), max_cost=1.0)
    _check_types(result, *shape)
    assert len(result[0]) == 0


def test_linear_assignment_nan_and_inf_never_match() -> None:
    cost = np.array([[np.nan, np.inf, 0.9], [-np.inf, 0.2, np.nan]])
    matches, free_rows, free_cols = linear_assignment(cost, max_cost=1.0)
    assert {tuple(m) for m in matches.tolist()} == {(0, 2), (1, 1)}
    assert len(free_rows) == 0
    np.testing.assert_array_equal(free_cols, [0])
    nothing = linear_assignment(np.full((2, 2), np.nan), max_cost=1.0)
    _check_types(nothing, 2, 2)
    assert len(nothing[0]) == 0


def test_linear_assignment_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        linear_assignment(np.zeros(3), max_cost=1.0)
    with pytest.raises(ValueError):
        linear_assignment(np.zeros((2, 2)), max_cost=np.inf)


costs = st.tuples(st.integers(0, 6), st.integers(0, 6)).flatmap(
    lambda shape: arrays(
        np.float64,
        shape,
        elements=st.one_of(
            st.floats(0, 10, allow_nan=False),
            st.just(np.nan),
            st.just(np.inf),
            st.just(-np.inf),
        ),
    )
)


@settings(max_examples=200, deadline=None)
@given(cost=costs, max_cost=st.floats(0, 10))
def test_linear_assignment_properties(cost, max_cost) -> None:
    result = linear_assignment(cost, max_cost)
    _check_types(result, *cost.shape)
    matches, free_rows, free_cols = result
    allowed = np.isfinite(cost) & (cost <= max_cost)
    # never above the threshold, never a NaN or infinite cost
    assert np.all(allowed[matches[:, 0], matches[:, 1]])
    # one-to-one, and the unmatched lists are the complements
    assert len(set(matches[:, 0].tolist())) == len(matches)
    assert len(set(matches[:, 1].tolist())) == len(matches)
    assert set(free_rows.tolist()) == set(range(cost.shape[0])) - set(matches[:, 0].tolist())
    assert set(free_cols.tolist()) == set(range(cost.shape[1])) - set(matches[:, 1].tolist())
    # maximal: no unmatched row and column could still be paired
    if len(free_rows) and len(free_cols):
        assert not np.any(allowed[np.ix_(free_rows, free_cols)])


def _best_score(cost: np.ndarray, max_cost: float, ceiling: float) -> float:
    """Brute force: min over partial matchings of sum(cost) + ceiling * (unused slots)."""
    n_rows, n_cols = cost.shape
    k = min(n_rows, n_cols)
    best = ceiling * k
    for cols in itertools.permutations(range(n_cols), k):
        for rows in itertools.combinations(range(n_rows), k):
            pair_costs = cost[list(rows), list(cols)]
            ok = pair_costs <= max_cost
            best = min(best, pair_costs[ok].sum() + ceiling * (k - ok.sum()))
    return best


@settings(max_examples=100, deadline=None)
@given(
    cost=st.tuples(st.integers(1, 3), st.integers(1, 3)).flatmap(
        lambda s: arrays(np.float64, s, elements=st.floats(0, 2, allow_nan=False))
    ),
    max_cost=st.floats(0.1, 1.5),
)
def test_linear_assignment_is_optimal(cost, max_cost) -> None:
    matches, _, _ = linear_assignment(cost, max_cost)
    ceiling = max_cost + 1e-5
    k = min(cost.shape)
    score = cost[matches[:, 0], matches[:, 1]].sum() + ceiling * (k - len(matches))
    assert score <= _best_score(cost, max_cost, ceiling) + 1e-9


def test_apply_gate() -> None:
    cost = np.array([[1.0, 2.0], [3.0, 4.0]])
    gated = apply_gate(cost, np.array([[True, False], [False, True]]))
    np.testing.assert_array_equal(gated, [[1.0, np.inf], [np.inf, 4.0]])
    assert cost[0, 1] == 2.0  # input untouched


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.normal(size=(n, dim))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_nn_cosine_distance_is_the_gallery_minimum() -> None:
    rng = np.random.default_rng(0)
    galleries = [_unit(rng, 5, 16), _unit(rng, 1, 16), np.zeros((0, 16), np.float32)]
    features = _unit(rng, 4, 16)
    dist = nn_cosine_distance(galleries, features)
    assert dist.shape == (3, 4)
    for t in range(2):
        for d in range(4):
            expected = min(1 - float(g @ features[d]) for g in galleries[t])
            assert dist[t, d] == pytest.approx(expected, abs=1e-6)
    assert np.all(np.isinf(dist[2]))  # empty gallery

    mask = np.array([[True, False, False, True], [False] * 4, [True] * 4])
    masked = nn_cosine_distance(galleries, features, mask)
    np.testing.assert_allclose(masked[0, [0, 3]], dist[0, [0, 3]])
    assert np.all(np.isinf(masked[0, [1, 2]])) and np.all(np.isinf(masked[1:]))


def test_nn_cosine_distance_edge_cases() -> None:
    rng = np.random.default_rng(1)
    assert nn_cosine_distance([_unit(rng, 3, 8)], np.zeros((0, 8), np.float32)).shape == (1, 0)
    assert nn_cosine_distance([], _unit(rng, 2, 8)).shape == (0, 2)
    with pytest.raises(ValueError, match="feature size"):
        nn_cosine_distance([_unit(rng, 3, 8)], _unit(rng, 2, 16))


def test_gallery_keeps_the_newest_budget_features() -> None:
    rng = np.random.default_rng(2)
    feats = _unit(rng, 7, 8)
    gallery = FeatureGallery(budget=3)
    assert len(gallery) == 0 and gallery.features.shape[0] == 0
    for f in feats:
        gallery.add(f)
    assert len(gallery) == 3
    stored = {tuple(np.round(f, 6)) for f in gallery.features}
    assert stored == {tuple(np.round(f, 6)) for f in feats[4:]}


def test_gallery_exponential_average() -> None:
    a = np.array([1.0, 0.0], np.float32)
    b = np.array([0.0, 1.0], np.float32)
    gallery = FeatureGallery(budget=100, ema=0.9)
    gallery.add(a)
    gallery.add(b)
    assert len(gallery) == 1
    expected = np.array([0.9, 0.1]) / np.hypot(0.9, 0.1)
    np.testing.assert_allclose(gallery.features[0], expected, rtol=1e-6)
    half = FeatureGallery(budget=1, ema=0.5)
    half.add(a)
    half.add(-a)  # cancels exactly: the newest feature is kept
    np.testing.assert_array_equal(half.features[0], -a)


def test_gallery_distance_within() -> None:
    rng = np.random.default_rng(3)
    feats = _unit(rng, 20, 32)
    gallery = FeatureGallery(budget=12)
    for f in feats:
        gallery.add(f)
    exact = 1 - float((gallery.features @ feats[2]).max())  # feats[2] itself was evicted
    # Nothing within a tiny threshold: the exact minimum comes back.
    assert gallery.distance_within(feats[2], 1e-6, newest=4) == pytest.approx(exact, abs=1e-6)
    # The newest feature is found at once.
    assert gallery.distance_within(feats[19], 0.01, newest=4) == pytest.approx(0.0, abs=1e-6)
    # An older stored feature (beyond the newest 4) is found by the full search.
    assert gallery.distance_within(feats[9], 0.01, newest=4) == pytest.approx(0.0, abs=1e-6)
    assert FeatureGallery(budget=5).distance_within(feats[0], 0.3, newest=4) == np.inf
