"""Smoothing settings and the factory that makes one filter per track."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from flowpose.smoothing.base import PointFilter
from flowpose.smoothing.ema import EmaFilter, EmaParams
from flowpose.smoothing.kalman import KalmanParams, KalmanPointFilter
from flowpose.smoothing.one_euro import OneEuroFilter, OneEuroParams

FILTERS = ("one_euro", "ema", "kalman")


@dataclass(frozen=True)
class SmoothingConfig:
    """How tracks are smoothed.

    Attributes:
        filter: ``one_euro``, ``ema`` or ``kalman``.
        one_euro: One Euro settings (used when ``filter`` is ``one_euro``).
        ema: EMA settings.
        kalman: Kalman settings.
        min_keypoint_score: Keypoints scoring below this neither move the state nor get
            smoothed (they pass through unchanged); 0 smooths every keypoint.
        smooth_boxes: Smooth the box corners too.
        reset_after: A track (or one of its keypoints) unseen for longer than this, in
            seconds (frames when counting frames), starts afresh.
    """

    filter: str = "one_euro"
    one_euro: OneEuroParams = field(default_factory=OneEuroParams)
    ema: EmaParams = field(default_factory=EmaParams)
    kalman: KalmanParams = field(default_factory=KalmanParams)
    min_keypoint_score: float = 0.3
    smooth_boxes: bool = True
    reset_after: float = 1.0

    def __post_init__(self) -> None:
        if self.filter not in FILTERS:
            raise ValueError(f"smoothing filter must be one of {list(FILTERS)}, got {self.filter!r}")
        if not 0 <= self.min_keypoint_score <= 1:
            raise ValueError(f"min_keypoint_score must be in [0, 1], got {self.min_keypoint_score}")
        if not (self.reset_after > 0 and math.isfinite(self.reset_after)):
            raise ValueError(f"reset_after must be a finite number > 0, got {self.reset_after}")


def make_filter(config: SmoothingConfig, num_points: int) -> PointFilter:
    """A fresh filter of ``num_points`` points as ``config`` says (one per track)."""
    if config.filter == "one_euro":
        return OneEuroFilter(num_points, config.one_euro, config.reset_after)
    if config.filter == "ema":
        return EmaFilter(num_points, config.ema, config.reset_after)
    return KalmanPointFilter(num_points, config.kalman, config.reset_after)
