"""What every point filter shares: the interface, and per-point timing with gap resets.

A filter smooths P points (keypoints, plus two box corners) of one track. Each update gets
all P points, a mask of the ones worth trusting (confident keypoints) and the time. Points
not trusted leave the state untouched and come back unchanged; a point seen again after a
gap longer than ``max_gap`` starts afresh instead of dragging a stale state along.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


class PointFilter(Protocol):
    """A stateful filter of P 2-D points over time."""

    def update(self, points: np.ndarray, valid: np.ndarray, t: float) -> np.ndarray:
        """Feed one observation and get the smoothed points.

        Args:
            points: (P, 2) positions, pixels.
            valid: (P,) bool; False points neither change the state nor get smoothed.
            t: Time of the observation (seconds, or frames in frame-count mode).

        Returns:
            (P, 2) float64: smoothed positions where ``valid``, the input elsewhere.
        """
        ...


@dataclass(frozen=True)
class PointSteps:
    """How each point takes part in one update.

    Attributes:
        fresh: (P,) points to (re)initialise from this observation.
        going: (P,) points to update, with ``te[going] > 0``.
        held: (P,) valid points seen again at the same time: report the state unchanged.
        te: (P,) time since each point's previous update (undefined outside ``going``).
    """

    fresh: np.ndarray
    going: np.ndarray
    held: np.ndarray
    te: np.ndarray


class PointTimes:
    """Last update time of each point, and the split of a new observation into steps.

    Args:
        num_points: P.
        max_gap: A point unseen for longer than this (same unit as ``t``) is re-initialised.
    """

    def __init__(self, num_points: int, max_gap: float) -> None:
        if num_points < 1:
            raise ValueError(f"a point filter needs at least one point, got {num_points}")
        if not max_gap > 0:
            raise ValueError(f"max_gap must be > 0, got {max_gap}")
        self.num_points = num_points
        self.max_gap = max_gap
        self.last = np.full(num_points, np.nan)

    def step(self, valid: np.ndarray, t: float) -> PointSteps:
        """Split the valid points of an observation at time ``t`` and record the time."""
        valid = np.asarray(valid, dtype=bool).reshape(-1)
        if valid.shape != (self.num_points,):
            raise ValueError(f"valid must have shape ({self.num_points},), got {valid.shape}")
        with np.errstate(invalid="ignore"):
            te = t - self.last
            # A clock going backwards means the stream restarted: start over, as after a gap.
            fresh = valid & (np.isnan(self.last) | (te > self.max_gap) | (te < 0))
            going = valid & ~fresh & (te > 0)
        held = valid & ~fresh & ~going
        self.last[fresh | going] = t
        return PointSteps(fresh, going, held, te)


def check_points(points: np.ndarray, num_points: int) -> np.ndarray:
    """``points`` as a float64 (P, 2) array; a clear error when the shape is wrong."""
    arr = np.asarray(points, dtype=np.float64)
    if arr.shape != (num_points, 2):
        raise ValueError(f"points must have shape ({num_points}, 2), got {arr.shape}")
    return arr
