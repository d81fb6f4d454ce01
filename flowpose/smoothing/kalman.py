"""Constant-velocity Kalman filter of P points (filterpy), time steps from timestamps.

Each coordinate of each point has a state (position, velocity); all 2P of them live in one
:class:`filterpy.kalman.KalmanFilter` whose matrices are block diagonal. Every update
predicts all points over the real time step ``dt`` (process noise: white acceleration of
``acceleration_std``) and corrects only the trusted ones, so an untrusted point coasts on its
velocity while its uncertainty grows, and a trusted measurement pulls it back.

Units (seconds mode): ``acceleration_std`` in px/s², ``measurement_std`` in px,
``initial_velocity_std`` in px/s; frames replace seconds when counting frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from filterpy.kalman import KalmanFilter

from flowpose.smoothing.base import PointTimes, check_points


@dataclass(frozen=True)
class KalmanParams:
    """Settings of the constant-velocity Kalman filter.

    Attributes:
        acceleration_std: Standard deviation of the unmodelled acceleration, px/s². Higher:
            follows changes of speed sooner (less lag, more jitter).
        measurement_std: Standard deviation of a keypoint's measurement noise, px.
        initial_velocity_std: Uncertainty of the (zero) velocity a new point starts with, px/s.
    """

    # Only the ratio of the two matters in steady state; chosen with `flowpose eval smoothing`.
    acceleration_std: float = 800.0
    measurement_std: float = 5.0
    initial_velocity_std: float = 300.0

    def __post_init__(self) -> None:
        for name in ("acceleration_std", "measurement_std", "initial_velocity_std"):
            if not getattr(self, name) > 0:
                raise ValueError(f"kalman {name} must be > 0, got {getattr(self, name)}")


class KalmanPointFilter:
    """One constant-velocity Kalman filter over P points.

    Args:
        num_points: P.
        params: Filter settings.
        max_gap: A point unseen for longer than this restarts from its next observation.
    """

    def __init__(self, num_points: int, params: KalmanParams | None = None, max_gap: float = math.inf) -> None:
        self.params = p = params or KalmanParams()
        self._times = PointTimes(num_points, max_gap)
        n = 4 * num_points  # per coordinate c = 2 * point + axis: state [2c] position, [2c + 1] velocity
        self.kf = KalmanFilter(dim_x=n, dim_z=2 * num_points)
        self.kf.P = np.diag(np.tile([p.measurement_std**2, p.initial_velocity_std**2], 2 * num_points))
        self._pos = np.arange(0, n, 2)
        self._t: float | None = None

    def update(self, points: np.ndarray, valid: np.ndarray, t: float) -> np.ndarray:
        """Feed one observation; see :meth:`flowpose.smoothing.base.PointFilter.update`."""
        z = check_points(points, self._times.num_points)
        steps = self._times.step(valid, t)
        # One clock for the whole filter: every point is predicted over the same step. A point
        # can only be "going" (te > 0) when that step is > 0; a clock that went backwards has
        # made every valid point fresh.
        if self._t is not None and t > self._t:
            self._predict(t - self._t)
        self._t = t
        self._initialise(steps.fresh, z)
        if steps.going.any():
            self._correct(steps.going, z)
        out = z.copy()
        shown = steps.fresh | steps.going | steps.held
        out[shown] = self.kf.x[self._pos, 0].reshape(-1, 2)[shown]
        return out

    def _predict(self, dt: float) -> None:
        # F and Q are block diagonal, one 2x2 block per coordinate: filled in place rather
        # than built with np.kron, which costs more than the prediction itself.
        n = self.kf.dim_x
        pos, vel = self._pos, self._pos + 1
        block = white_acceleration_noise(dt, self.params.acceleration_std**2)
        f = np.eye(n)
        f[pos, vel] = dt
        q = np.zeros((n, n))
        q[pos, pos], q[pos, vel], q[vel, pos], q[vel, vel] = block[0, 0], block[0, 1], block[1, 0], block[1, 1]
        self.kf.predict(F=f, Q=q)

    def _initialise(self, fresh: np.ndarray, z: np.ndarray) -> None:
        if not fresh.any():
            return
        p = self.params
        coords = np.flatnonzero(np.repeat(fresh, 2))
        pos, vel = 2 * coords, 2 * coords + 1
        idx = np.concatenate([pos, vel])
        self.kf.x[pos, 0] = z.reshape(-1)[coords]
        self.kf.x[vel, 0] = 0.0
        self.kf.P[idx, :] = 0.0
        self.kf.P[:, idx] = 0.0
        self.kf.P[pos, pos] = p.measurement_std**2
        self.kf.P[vel, vel] = p.initial_velocity_std**2

    def _correct(self, going: np.ndarray, z: np.ndarray) -> None:
        coords = np.flatnonzero(np.repeat(going, 2))
        h = np.zeros((len(coords), self.kf.dim_x))
        h[np.arange(len(coords)), 2 * coords] = 1.0
        r = np.eye(len(coords)) * self.params.measurement_std**2
        self.kf.update(z.reshape(-1)[coords][:, None], R=r, H=h)


def white_acceleration_noise(dt: float, var: float) -> np.ndarray:
    """Process noise (2, 2) of one coordinate under piecewise-constant white acceleration of
    variance ``var`` over ``dt``: filterpy's ``Q_discrete_white_noise(dim=2, dt, var)``,
    written out because that helper's ``block_diag`` costs more than the filter step."""
    return var * np.array([[dt**4 / 4, dt**3 / 2], [dt**3 / 2, dt**2]])
