"""Constant-velocity Kalman filters, run for all tracks at once.

Two motion models share one batched implementation:

* :class:`GroundModel` -- state ``(x, y, vx, vy)`` in metres and metres per second in the
  ground frame, measurement ``(x, y)`` with a per-detection covariance (far people are
  localised less precisely, so they are trusted less). Process noise is filterpy's piecewise
  white acceleration model (``Q_discrete_white_noise``) with standard deviation ``accel_std``.
* :class:`ImageModel` -- state ``(cx, cy, w, h, vcx, vcy, vw, vh)`` in pixels and pixels per
  second, measurement ``(cx, cy, w, h)``. Noise is proportional to the box height, with
  DeepSORT's per-frame weights (position 1/20, velocity 1/160) defined at a nominal 30 fps and
  rescaled for other time steps. Its box space (:class:`trackers.space.BoxSpace`, given by the
  caller) keeps the state's ``cx`` in its canonical range and takes the x innovation the short
  way round: on a panorama that is ``[0, W)`` and ``(-W/2, W/2]``, on a flat image nothing.

filterpy defines the model: ``F`` comes from ``filterpy.common.kinematic_state_transition``,
``Q`` (ground) from ``filterpy.common.Q_discrete_white_noise``, and :meth:`make_filterpy` builds
the equivalent ``filterpy.kalman.KalmanFilter`` that the tests use as the oracle. The tracker
itself keeps the states stacked, ``x`` (N, dim_x) and ``P`` (N, dim_x, dim_x), and runs
filterpy's equations (Joseph-form update included) as batched numpy: one filterpy object per
track costs tens of microseconds per step in Python overhead, the batch a few microseconds in
all (see ``bench/bench_tracker.py``).
"""

from __future__ import annotations

import numpy as np
from filterpy.common import Q_discrete_white_noise, kinematic_state_transition
from filterpy.kalman import KalmanFilter
from scipy.stats import chi2

from trackers.space import BoxSpace

#: Frame rate at which DeepSORT's per-frame image-space noise weights are defined.
DEEPSORT_FPS = 30.0


def gating_threshold(probability: float, dof: int) -> float:
    """Squared-Mahalanobis gate holding ``probability`` of a ``dof``-dimensional Gaussian."""
    if not 0.0 < probability < 1.0:
        raise ValueError(f"gating probability must be in (0, 1), got {probability}")
    return float(chi2.ppf(probability, dof))


def _inverse(S: np.ndarray) -> np.ndarray:
    """Inverses of a stack of matrices (N, d, d); closed form for d = 2 (the hot ground path)."""
    if S.shape[-1] != 2:
        return np.linalg.inv(S)
    det = S[:, 0, 0] * S[:, 1, 1] - S[:, 0, 1] * S[:, 1, 0]
    out = np.empty_like(S)
    out[:, 0, 0] = S[:, 1, 1]
    out[:, 0, 1] = -S[:, 0, 1]
    out[:, 1, 0] = -S[:, 1, 0]
    out[:, 1, 1] = S[:, 0, 0]
    return out / det[:, None, None]


class _ConstantVelocity:
    """Batched filterpy-equivalent predict/update for ``x = (position, velocity)``, ``H = [I 0]``.

    Subclasses provide the process noise, the initial covariance and, optionally, the
    canonical form of states and innovations (for a first state component that wraps).
    """

    dim_z: int

    def __init__(self) -> None:
        self._f_cache: dict[float, np.ndarray] = {}

    @property
    def dim_x(self) -> int:
        return 2 * self.dim_z

    def transition_matrix(self, dt: float) -> np.ndarray:
        """``F`` (dim_x, dim_x) for a step of ``dt`` seconds, state ordered (pos..., vel...)."""
        F = self._f_cache.get(dt)
        if F is None:
            F = np.kron(kinematic_state_transition(1, dt), np.eye(self.dim_z))
            self._f_cache[dt] = F
        return F

    def measurement_matrix(self) -> np.ndarray:
        """``H`` (dim_z, dim_x): the measurement is the position part of the state."""
        return np.eye(self.dim_z, self.dim_x)

    def process_noise(self, x: np.ndarray, dt: float) -> np.ndarray:
        """``Q`` for a step of ``dt`` seconds: (dim_x, dim_x) or per track (N, dim_x, dim_x)."""
        raise NotImplementedError

    def _add_process_noise(self, P: np.ndarray, x: np.ndarray, dt: float) -> np.ndarray:
        """``P + Q`` for the states ``x``; subclasses may add a diagonal ``Q`` in place."""
        return P + self.process_noise(x, dt)

    def _canonical(self, x: np.ndarray) -> np.ndarray:
        """States (N, dim_x) in their canonical form, in place; nothing wraps here."""
        return x

    def predict(self, x: np.ndarray, P: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """Propagate every state ``dt`` seconds ahead.

        Args:
            x: (N, dim_x) states.
            P: (N, dim_x, dim_x) covariances.
            dt: seconds.

        Returns:
            Predicted ``(x, P)``, new arrays; ``x = F x``, ``P = F P F' + Q``.
        """
        F = self.transition_matrix(dt)
        x_new = x @ F.T
        P_new = self._add_process_noise(F @ P @ F.T, x, dt)
        return self._canonical(x_new), P_new

    def innovation(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """``z - H x`` for matching rows (N, dim_z)."""
        return z - x[:, : self.dim_z]

    def update(
        self, x: np.ndarray, P: np.ndarray, z: np.ndarray, R: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Correct each state with its measurement (filterpy's Joseph-form update).

        Args:
            x: (N, dim_x) predicted states.
            P: (N, dim_x, dim_x) predicted covariances.
            z: (N, dim_z) measurements, row i for state i.
            R: (N, dim_z, dim_z) measurement covariances.

        Returns:
            Posterior ``(x, P)``, new arrays.
        """
        dz = self.dim_z
        y = self.innovation(x, z)
        S = P[:, :dz, :dz] + R
        PHT = P[:, :, :dz]
        K = PHT @ _inverse(S)
        x_new = x + (K @ y[:, :, None])[:, :, 0]
        I_KH = np.empty_like(P)
        I_KH[:] = np.eye(self.dim_x)
        I_KH[:, :, :dz] -= K
        P_new = I_KH @ P @ I_KH.transpose(0, 2, 1) + K @ R @ K.transpose(0, 2, 1)
        return self._canonical(x_new), P_new

    def make_filterpy(self, x0: np.ndarray, P0: np.ndarray, dt: float) -> KalmanFilter:
        """A ``filterpy.kalman.KalmanFilter`` with this model's ``F``, ``H`` and initial state.

        ``Q`` and ``R`` are passed per step (``predict(Q=...)``, ``update(R=...)``) because the
        image model's noise depends on the state.
        """
        kf = KalmanFilter(dim_x=self.dim_x, dim_z=self.dim_z)
        kf.F = self.transition_matrix(dt)
        kf.H = self.measurement_matrix()
        kf.x = np.asarray(x0, float).reshape(self.dim_x, 1).copy()
        kf.P = np.asarray(P0, float).copy()
        return kf


class GroundModel(_ConstantVelocity):
    """Ground-plane constant velocity: state (x, y, vx, vy) in m and m/s, measurement (x, y) m.

    Args:
        accel_std: standard deviation of the piecewise-constant white acceleration, m/s^2.
        init_speed_std: standard deviation of each velocity component of a new track, m/s.
    """

    dim_z = 2

    def __init__(self, *, accel_std: float, init_speed_std: float) -> None:
        if accel_std <= 0 or init_speed_std <= 0:
            raise ValueError("accel_std and init_speed_std must be > 0")
        super().__init__()
        self.accel_std = float(accel_std)
        self.init_speed_std = float(init_speed_std)
        self._q_cache: dict[float, np.ndarray] = {}

    def process_noise(self, x: np.ndarray, dt: float) -> np.ndarray:
        """(4, 4) discrete white-noise acceleration ``Q`` in (x, y, vx, vy) order."""
        Q = self._q_cache.get(dt)
        if Q is None:
            Q = Q_discrete_white_noise(
                dim=2, dt=dt, var=self.accel_std**2, block_size=2, order_by_dim=False
            )
            self._q_cache[dt] = Q
        return Q

    def initiate(self, z: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """States for new tracks at the measured positions with zero velocity.

        Args:
            z: (N, 2) positions, m.
            R: (N, 2, 2) their covariances, m^2.

        Returns:
            ``x`` (N, 4) and ``P`` (N, 4, 4): position covariance ``R``, velocity variance
            ``init_speed_std**2`` per axis.
        """
        n = len(z)
        x = np.zeros((n, 4))
        x[:, :2] = z
        P = np.zeros((n, 4, 4))
        P[:, :2, :2] = R
        P[:, 2, 2] = P[:, 3, 3] = self.init_speed_std**2
        return x, P

    def gating_distance(
        self, x: np.ndarray, P: np.ndarray, z: np.ndarray, R: np.ndarray
    ) -> np.ndarray:
        """Squared Mahalanobis distance of every measurement to every track.

        Args:
            x: (T, 4) predicted states; P: (T, 4, 4) their covariances.
            z: (D, 2) measured positions, m; R: (D, 2, 2) their covariances.

        Returns:
            (T, D) ``y' (H P H' + R)^-1 y``; NaN where a measurement is NaN.
        """
        # S = H P H' + R per pair, written out for the symmetric 2 x 2 case: (T, D) each.
        a = P[:, 0, 0, None] + R[None, :, 0, 0]
        b = P[:, 0, 1, None] + R[None, :, 0, 1]
        c = P[:, 1, 1, None] + R[None, :, 1, 1]
        y0 = z[None, :, 0] - x[:, 0, None]
        y1 = z[None, :, 1] - x[:, 1, None]
        return (c * y0 * y0 - 2.0 * b * y0 * y1 + a * y1 * y1) / (a * c - b * b)


class ImageModel(_ConstantVelocity):
    """Image-space constant velocity on boxes: state (cx, cy, w, h, vcx, vcy, vw, vh).

    Positions in pixels, velocities in pixels per second. All noise standard deviations are
    proportional to the box height ``h``, as in DeepSORT.

    Args:
        box_space: the image's box arithmetic; on a panorama ``cx`` wraps through it.
        std_weight_position: position noise per frame at :data:`DEEPSORT_FPS`, times ``h``.
        std_weight_velocity: velocity noise per frame at :data:`DEEPSORT_FPS`, times ``h``.
    """

    dim_z = 4

    def __init__(
        self,
        box_space: BoxSpace,
        *,
        std_weight_position: float = 1.0 / 20.0,
        std_weight_velocity: float = 1.0 / 160.0,
    ) -> None:
        super().__init__()
        self.box_space = box_space
        self.std_weight_position = float(std_weight_position)
        self.std_weight_velocity = float(std_weight_velocity)

    def _canonical(self, x: np.ndarray) -> np.ndarray:
        x[:, 0] = self.box_space.wrap_x(x[:, 0])
        return x

    def innovation(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """``z - H x`` for matching rows (N, 4), x the short way round."""
        y = super().innovation(x, z)
        y[:, 0] = self.box_space.x_difference(y[:, 0])
        return y

    def _heights(self, x: np.ndarray) -> np.ndarray:
        # A collapsing box must not make the filter infinitely confident.
        return np.maximum(x[:, 3], 1.0)

    def _process_variances(self, x: np.ndarray, dt: float) -> np.ndarray:
        """(N, 8) diagonal of ``Q``: DeepSORT's per-frame variances scaled by ``dt * 30``.

        A random walk's variance grows linearly with time, so a step of ``dt`` seconds gets
        ``dt / (1/30)`` times the per-frame variance; velocities are in px/s, hence the extra
        factor 30 on their standard deviation.
        """
        h = self._heights(x)
        steps = dt * DEEPSORT_FPS
        pos = (self.std_weight_position * h) ** 2 * steps
        vel = (self.std_weight_velocity * h * DEEPSORT_FPS) ** 2 * steps
        return np.repeat(np.stack([pos, vel], axis=1), 4, axis=1)

    def process_noise(self, x: np.ndarray, dt: float) -> np.ndarray:
        """(N, 8, 8) diagonal ``Q`` for a step of ``dt`` seconds (see ``_process_variances``)."""
        Q = np.zeros((len(x), 8, 8))
        idx = np.arange(8)
        Q[:, idx, idx] = self._process_variances(x, dt)
        return Q

    def _add_process_noise(self, P: np.ndarray, x: np.ndarray, dt: float) -> np.ndarray:
        idx = np.arange(8)
        P[:, idx, idx] += self._process_variances(x, dt)
        return P

    def measurement_noise(self, x: np.ndarray) -> np.ndarray:
        """(N, 4, 4) diagonal ``R`` for the tracks in ``x``: ``(h / 20)^2`` pixels^2."""
        var = (self.std_weight_position * self._heights(x)) ** 2
        R = np.zeros((len(x), 4, 4))
        idx = np.arange(4)
        R[:, idx, idx] = var[:, None]
        return R

    def initiate(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """States for new tracks from measured boxes (N, 4) ``(cx, cy, w, h)``, zero velocity.

        Initial standard deviations are DeepSORT's: twice the position weight and ten times
        the velocity weight, times the measured height.
        """
        n = len(z)
        x = np.zeros((n, 8))
        x[:, :4] = z
        self._canonical(x)
        h = self._heights(x)
        pos = (2.0 * self.std_weight_position * h) ** 2
        vel = (10.0 * self.std_weight_velocity * h * DEEPSORT_FPS) ** 2
        P = np.zeros((n, 8, 8))
        idx = np.arange(8)
        P[:, idx, idx] = np.repeat(np.stack([pos, vel], axis=1), 4, axis=1)
        return x, P

    def gating_distance(self, x: np.ndarray, P: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance (T, D) of measured boxes z (D, 4) to tracks x (T, 8)."""
        S = P[:, :4, :4] + self.measurement_noise(x)
        SI = np.linalg.inv(S)  # (T, 4, 4)
        y = z[None, :, :] - x[:, None, :4]  # (T, D, 4)
        y[..., 0] = self.box_space.x_difference(y[..., 0])
        return ((y @ SI) * y).sum(axis=2)

    def boxes_to_measurements(self, boxes: np.ndarray) -> np.ndarray:
        """``xyxy`` boxes (N, 4) -> measurements (N, 4) ``(cx, cy, w, h)`` pixels."""
        wh = boxes[:, 2:] - boxes[:, :2]
        return np.concatenate([boxes[:, :2] + 0.5 * wh, wh], axis=1)

    def states_to_boxes(self, x: np.ndarray) -> np.ndarray:
        """States (N, 8) -> ``xyxy`` boxes (N, 4) in their canonical place (on a panorama
        seam-unwrapped, ``x1`` in [0, W))."""
        return self.measurements_to_boxes(x[:, :4])

    def measurements_to_boxes(self, z: np.ndarray) -> np.ndarray:
        """Measurements (N, 4) ``(cx, cy, w, h)`` -> ``xyxy`` boxes (N, 4), placed as
        :meth:`states_to_boxes` places them."""
        half = 0.5 * z[:, 2:4]
        return self.box_space.wrap(np.concatenate([z[:, :2] - half, z[:, :2] + half], axis=1))
