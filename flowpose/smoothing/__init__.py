"""Temporal smoothing of tracked keypoints and boxes: One Euro, EMA and Kalman filters.

Every filter works on P points at once, knows the real time between observations, leaves
untrusted (low-score) points out of its state, and restarts points unseen for too long.
:class:`SmootherBank` keeps one filter per (source, track id); :class:`FrameSmoother` runs it
over frames.

Example:
    >>> import numpy as np
    >>> from flowpose.smoothing import OneEuroFilter, OneEuroParams
    >>> f = OneEuroFilter(1, OneEuroParams(min_cutoff=1.0, beta=0.0))
    >>> f.update(np.array([[0.0, 0.0]]), np.array([True]), t=0.0).tolist()
    [[0.0, 0.0]]
"""

from flowpose.smoothing.bank import SmootherBank
from flowpose.smoothing.base import PointFilter
from flowpose.smoothing.clock import FrameClock, check_timestamp_spec
from flowpose.smoothing.config import FILTERS, SmoothingConfig, make_filter
from flowpose.smoothing.ema import EmaFilter, EmaParams
from flowpose.smoothing.frames import FrameSmoother, SmoothedFrame
from flowpose.smoothing.kalman import KalmanParams, KalmanPointFilter
from flowpose.smoothing.one_euro import OneEuroFilter, OneEuroParams, smoothing_factor

__all__ = [
    "FILTERS",
    "EmaFilter",
    "EmaParams",
    "FrameClock",
    "FrameSmoother",
    "KalmanParams",
    "KalmanPointFilter",
    "OneEuroFilter",
    "OneEuroParams",
    "PointFilter",
    "SmoothedFrame",
    "SmootherBank",
    "SmoothingConfig",
    "check_timestamp_spec",
    "make_filter",
    "smoothing_factor",
]
