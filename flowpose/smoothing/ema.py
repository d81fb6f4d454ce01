"""Exponential moving average with a time constant, so any frame rate smooths alike.

``x̂_i = x̂_{i-1} + a (x_i - x̂_{i-1})`` with ``a = 1 - exp(-T_e / time_constant)``: a step
twice as long moves twice as far (in log terms) as two short steps. With time counted in
frames, a per-frame ``alpha`` is ``time_constant = -1 / ln(1 - alpha)`` frames
(PaddleDetection's ``alpha = 0.5`` is 1.4427 frames).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from flowpose.smoothing.base import PointTimes, check_points


@dataclass(frozen=True)
class EmaParams:
    """Settings of the EMA filter.

    Attributes:
        time_constant: Seconds (frames when counting frames) for the estimate to cover
            63% of a step. Lower: less lag, more jitter.
    """

    time_constant: float = 0.04  # chosen with `flowpose eval smoothing` (docs/tracking-smoothing.md)

    def __post_init__(self) -> None:
        if not self.time_constant > 0:
            raise ValueError(f"ema time_constant must be > 0 s, got {self.time_constant}")

    @classmethod
    def from_alpha(cls, alpha: float) -> EmaParams:
        """The per-frame ``alpha`` of frame-count EMAs (``x̂ = alpha x + (1 - alpha) x̂``), in frames."""
        if not 0 < alpha < 1:
            raise ValueError(f"ema alpha must be in (0, 1), got {alpha}")
        return cls(-1.0 / math.log(1.0 - alpha))


class EmaFilter:
    """Time-aware EMA of P points.

    Args:
        num_points: P.
        params: Filter settings.
        max_gap: A point unseen for longer than this restarts from its next observation.
    """

    def __init__(self, num_points: int, params: EmaParams | None = None, max_gap: float = math.inf) -> None:
        self.params = params or EmaParams()
        self._times = PointTimes(num_points, max_gap)
        self.x_hat = np.zeros((num_points, 2))

    def update(self, points: np.ndarray, valid: np.ndarray, t: float) -> np.ndarray:
        """Feed one observation; see :meth:`flowpose.smoothing.base.PointFilter.update`."""
        x = check_points(points, self._times.num_points)
        steps = self._times.step(valid, t)
        self.x_hat[steps.fresh] = x[steps.fresh]
        g = steps.going
        if g.any():
            a = -np.expm1(-steps.te[g] / self.params.time_constant)[:, None]
            self.x_hat[g] += a * (x[g] - self.x_hat[g])
        out = x.copy()
        shown = steps.fresh | g | steps.held
        out[shown] = self.x_hat[shown]
        return out
