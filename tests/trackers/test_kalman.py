"""Kalman models: the batched filter equals filterpy's KalmanFilter, gating, seam wrapping."""

from __future__ import annotations

import numpy as np
import pytest
from filterpy.common import Q_discrete_white_noise
from hypothesis import given, settings
from hypothesis import strategies as st

from mplt.geometry import BoxSpace
from trackers.kalman import (
    DEEPSORT_FPS,
    GroundModel,
    ImageModel,
    gating_threshold,
)

DT = 1.0 / 30.0
FLAT = BoxSpace()


def random_spd(rng: np.random.Generator, n: int, dim: int, scale: float) -> np.ndarray:
    A = rng.normal(size=(n, dim, dim)) * scale
    return A @ A.transpose(0, 2, 1) + 1e-3 * np.eye(dim)


def ground_model() -> GroundModel:
    return GroundModel(accel_std=2.0, init_speed_std=1.5)


def test_ground_batched_equals_filterpy_step_by_step() -> None:
    rng = np.random.default_rng(0)
    model, n = ground_model(), 6
    x, P = model.initiate(rng.normal(size=(n, 2)) * 5, random_spd(rng, n, 2, 0.3))
    filters = [model.make_filterpy(x[i], P[i], DT) for i in range(n)]
    for step in range(60):
        dt = DT * (1 + step % 3)  # frame gaps too
        x, P = model.predict(x, P, dt)
        z, R = rng.normal(size=(n, 2)) * 5, random_spd(rng, n, 2, 0.3)
        x, P = model.update(x, P, z, R)
        for i, kf in enumerate(filters):
            kf.predict(F=model.transition_matrix(dt), Q=model.process_noise(x, dt))
            kf.update(z[i], R=R[i])
            np.testing.assert_allclose(x[i], kf.x.ravel(), rtol=0, atol=1e-9)
            np.testing.assert_allclose(P[i], kf.P, rtol=0, atol=1e-9)


def test_image_batched_equals_filterpy_step_by_step() -> None:
    rng = np.random.default_rng(1)
    model, n = ImageModel(FLAT), 5

    def boxes() -> np.ndarray:
        return np.abs(rng.normal(size=(n, 4))) * 40 + [300, 200, 30, 90]

    x, P = model.initiate(boxes())
    filters = [model.make_filterpy(x[i], P[i], DT) for i in range(n)]
    for _ in range(60):
        Q = model.process_noise(x, DT)  # depends on the state before the step
        x, P = model.predict(x, P, DT)
        R = model.measurement_noise(x)
        z = boxes()
        x, P = model.update(x, P, z, R)
        for i, kf in enumerate(filters):
            kf.predict(Q=Q[i])
            kf.update(z[i], R=R[i])
            np.testing.assert_allclose(x[i], kf.x.ravel(), rtol=1e-12, atol=1e-9)
            np.testing.assert_allclose(P[i], kf.P, rtol=1e-12, atol=1e-9)


def test_model_matrices_come_from_filterpy() -> None:
    model = ground_model()
    F = model.transition_matrix(0.5)
    expected_F = np.eye(4)
    expected_F[0, 2] = expected_F[1, 3] = 0.5
    np.testing.assert_array_equal(F, expected_F)
    expected_Q = Q_discrete_white_noise(dim=2, dt=0.5, var=4.0, block_size=2, order_by_dim=False)
    np.testing.assert_array_equal(model.process_noise(np.zeros((1, 4)), 0.5), expected_Q)
    np.testing.assert_array_equal(model.measurement_matrix(), np.eye(2, 4))


def test_image_noise_is_deepsort_per_frame_at_30fps() -> None:
    model = ImageModel(FLAT)
    h = 120.0
    x = np.array([[500.0, 300.0, 50.0, h, 0, 0, 0, 0]])
    Q = model.process_noise(x, 1.0 / DEEPSORT_FPS)[0]
    # Position variance (h/20)^2; velocity (h/160)^2 per frame^2, here in px/s.
    np.testing.assert_allclose(np.diag(Q)[:4], (h / 20) ** 2)
    np.testing.assert_allclose(np.diag(Q)[4:], (h / 160 * DEEPSORT_FPS) ** 2)
    # Twice the time step, twice the random-walk variance.
    np.testing.assert_allclose(model.process_noise(x, 2.0 / DEEPSORT_FPS)[0], 2 * Q)
    np.testing.assert_allclose(np.diag(model.measurement_noise(x)[0]), (h / 20) ** 2)


def test_gating_distance_matches_explicit_mahalanobis() -> None:
    rng = np.random.default_rng(2)
    model = ground_model()
    x, P = model.initiate(rng.normal(size=(4, 2)) * 3, random_spd(rng, 4, 2, 0.4))
    x, P = model.predict(x, P, DT)
    z, R = rng.normal(size=(7, 2)) * 3, random_spd(rng, 7, 2, 0.4)
    d2 = model.gating_distance(x, P, z, R)
    assert d2.shape == (4, 7)
    for t in range(4):
        for d in range(7):
            y = z[d] - x[t, :2]
            expected = y @ np.linalg.solve(P[t, :2, :2] + R[d], y)
            assert d2[t, d] == pytest.approx(expected, rel=1e-10)

    image = ImageModel(FLAT)
    xi, Pi = image.initiate(np.abs(rng.normal(size=(3, 4))) * 50 + 40)
    zi = np.abs(rng.normal(size=(5, 4))) * 50 + 40
    d2i = image.gating_distance(xi, Pi, zi)
    S = Pi[:, :4, :4] + image.measurement_noise(xi)
    for t in range(3):
        for d in range(5):
            y = zi[d] - xi[t, :4]
            assert d2i[t, d] == pytest.approx(y @ np.linalg.solve(S[t], y), rel=1e-10)


def test_gating_threshold_is_the_chi_square_table() -> None:
    assert gating_threshold(0.95, 2) == pytest.approx(5.9915, abs=1e-4)
    assert gating_threshold(0.95, 4) == pytest.approx(9.4877, abs=1e-4)
    with pytest.raises(ValueError):
        gating_threshold(1.0, 2)


def test_zero_tracks_and_zero_measurements() -> None:
    model = ground_model()
    x, P = model.initiate(np.zeros((0, 2)), np.zeros((0, 2, 2)))
    assert x.shape == (0, 4) and P.shape == (0, 4, 4)
    x, P = model.predict(x, P, DT)
    x, P = model.update(x, P, np.zeros((0, 2)), np.zeros((0, 2, 2)))
    assert x.shape == (0, 4) and P.shape == (0, 4, 4)
    assert model.gating_distance(x, P, np.ones((3, 2)), np.tile(np.eye(2), (3, 1, 1))).shape == (
        0,
        3,
    )
    x1, P1 = model.initiate(np.ones((2, 2)), np.tile(np.eye(2), (2, 1, 1)))
    assert model.gating_distance(x1, P1, np.zeros((0, 2)), np.zeros((0, 2, 2))).shape == (2, 0)

    image = ImageModel(BoxSpace(100.0))
    xi, Pi = image.initiate(np.zeros((0, 4)))
    xi, Pi = image.predict(xi, Pi, DT)
    assert image.gating_distance(xi, Pi, np.ones((2, 4))).shape == (0, 2)
    assert image.states_to_boxes(xi).shape == (0, 4)


def test_periodic_filter_equals_unwrapped_filter_modulo_period() -> None:
    """A box moving right across x = W: the periodic filter is the flat one taken modulo W."""
    W = 1000.0
    flat, ring = ImageModel(FLAT), ImageModel(BoxSpace(W))
    rng = np.random.default_rng(3)
    centres = 900.0 + 6.0 * np.arange(60) + rng.normal(0, 1, 60)  # 900 -> 1254, unwrapped

    def z(cx: float) -> np.ndarray:
        return np.array([[cx, 300.0, 40.0, 110.0]])

    xf, Pf = flat.initiate(z(centres[0]))
    xr, Pr = ring.initiate(z(centres[0]))
    for cx in centres[1:]:
        xf, Pf = flat.predict(xf, Pf, DT)
        xr, Pr = ring.predict(xr, Pr, DT)
        d2f = flat.gating_distance(xf, Pf, z(cx))
        d2r = ring.gating_distance(xr, Pr, z(cx % W))  # the detector reports x1 in [0, W)
        assert d2r[0, 0] == pytest.approx(d2f[0, 0], rel=1e-9)
        xf, Pf = flat.update(xf, Pf, z(cx), flat.measurement_noise(xf))
        xr, Pr = ring.update(xr, Pr, z(cx % W), ring.measurement_noise(xr))
        assert 0 <= xr[0, 0] < W
        np.testing.assert_allclose(xr[0, 0], xf[0, 0] % W, atol=1e-9)
        np.testing.assert_allclose(xr[0, 1:], xf[0, 1:], atol=1e-9)
        np.testing.assert_allclose(Pr, Pf, atol=1e-9)
    box = ring.states_to_boxes(xr)[0]
    assert 0 <= box[0] < W and box[2] - box[0] == pytest.approx(xr[0, 2])


def test_boxes_measurements_round_trip() -> None:
    model = ImageModel(BoxSpace(100.0))
    boxes = np.array([[10.0, 20.0, 30.0, 80.0], [95.0, 0.0, 110.0, 40.0]])  # second crosses x=W
    z = model.boxes_to_measurements(boxes)
    np.testing.assert_allclose(z, [[20, 50, 20, 60], [102.5, 20, 15, 40]])
    x, _ = model.initiate(z)
    np.testing.assert_allclose(x[:, 0], [20.0, 2.5])  # the state is kept in [0, W)
    np.testing.assert_allclose(model.states_to_boxes(x), boxes)


spd2 = st.builds(
    lambda a, b, c: np.array([[a, 0.0], [b, c]]) @ np.array([[a, b], [0.0, c]]) + 1e-6 * np.eye(2),
    st.floats(0.01, 5),
    st.floats(-5, 5),
    st.floats(0.01, 5),
)


def _assert_symmetric_psd(P: np.ndarray) -> None:
    np.testing.assert_allclose(P, P.transpose(0, 2, 1), rtol=1e-9, atol=1e-12)
    assert np.linalg.eigvalsh(P).min() >= -1e-9 * np.abs(P).max()


@settings(max_examples=60, deadline=None)
@given(
    R0=spd2,
    R1=spd2,
    z=st.lists(st.floats(-50, 50), min_size=2, max_size=2),
    steps=st.integers(1, 90),
    accel=st.floats(0.1, 20),
)
def test_ground_covariance_stays_symmetric_psd(R0, R1, z, steps, accel) -> None:
    model = GroundModel(accel_std=accel, init_speed_std=1.0)
    x, P = model.initiate(np.zeros((1, 2)), R0[None])
    x, P = model.predict(x, P, steps * DT)
    _assert_symmetric_psd(P)
    x, P = model.update(x, P, np.array([z]), R1[None])
    _assert_symmetric_psd(P)


@settings(max_examples=60, deadline=None)
@given(
    box=st.tuples(st.floats(0, 2000), st.floats(0, 1000), st.floats(1, 300), st.floats(1, 500)),
    shift=st.tuples(st.floats(-50, 50), st.floats(-50, 50), st.floats(-20, 20), st.floats(-20, 20)),
    steps=st.integers(1, 30),
)
def test_image_covariance_stays_symmetric_psd(box, shift, steps) -> None:
    model = ImageModel(BoxSpace(2048.0))
    x, P = model.initiate(np.array([box]))
    x, P = model.predict(x, P, steps * DT)
    _assert_symmetric_psd(P)
    z = np.array([box]) + np.array([shift])
    z[:, 2:] = np.maximum(z[:, 2:], 1.0)
    x, P = model.update(x, P, z, model.measurement_noise(x))
    _assert_symmetric_psd(P)
