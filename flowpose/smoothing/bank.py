"""Per-track smoothing state: one filter per (source, track id), made on first sight.

The state of a track is dropped when the tracker says the track ended, when the track has
not been seen for ``reset_after``, or when its keypoint count changes; the next instance
with that key starts a fresh filter. Keys include the source so cameras never mix.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import numpy as np

from flowpose.frame import Instance
from flowpose.smoothing.base import PointFilter
from flowpose.smoothing.config import SmoothingConfig, make_filter

TrackKey = tuple[str, int]
"""(frame source, track id)."""


@dataclass
class _TrackState:
    filter: PointFilter
    num_keypoints: int
    last_t: float


class SmootherBank:
    """Smooths tracked instances, one filter per track.

    Args:
        config: Smoothing settings.
    """

    def __init__(self, config: SmoothingConfig | None = None) -> None:
        self.config = config or SmoothingConfig()
        self._states: dict[Hashable, _TrackState] = {}

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._states

    def smooth(self, key: Hashable, instance: Instance, t: float) -> Instance:
        """The instance with its keypoints (and box) smoothed along its track.

        Args:
            key: Identity of the track, e.g. ``(source, track_id)``.
            instance: This frame's observation of the track.
            t: Its time (seconds, or frames when counting frames).
        """
        cfg = self.config
        k = instance.num_keypoints
        points, valid = [], []
        if k:
            assert instance.keypoints is not None and instance.keypoint_scores is not None
            points.append(instance.keypoints)
            valid.append((instance.keypoint_scores >= cfg.min_keypoint_score) & np.isfinite(instance.keypoints).all(1))
        if cfg.smooth_boxes:
            points.append(instance.bbox.reshape(2, 2))
            valid.append(np.isfinite(instance.bbox.reshape(2, 2)).all(1))
        if not points:
            return instance
        state = self._states.get(key)
        if state is None or state.num_keypoints != k or not 0 <= t - state.last_t <= cfg.reset_after:
            state = _TrackState(make_filter(cfg, k + 2 * cfg.smooth_boxes), k, t)
            self._states[key] = state
        state.last_t = t
        out = state.filter.update(np.concatenate(points), np.concatenate(valid), t)
        changes: dict[str, np.ndarray] = {}
        if k:
            changes["keypoints"] = out[:k].astype(np.float32)
        if cfg.smooth_boxes:
            corners = out[k:]
            # Smoothing the corners separately cannot swap them in practice, but keep the box well formed.
            changes["bbox"] = np.concatenate([corners.min(axis=0), corners.max(axis=0)]).astype(np.float32)
        return instance.replace(**changes)

    def forget(self, keys: Iterable[Hashable]) -> int:
        """Drop the state of ``keys`` (tracks that ended); returns how many were known."""
        return sum(self._states.pop(key, None) is not None for key in keys)

    def expire(self, t: float, source: str | None = None) -> int:
        """Drop tracks unseen for longer than ``reset_after`` at time ``t``.

        Args:
            t: Now, on the clock of ``source``.
            source: Only keys ``(source, ...)`` are checked (clocks of sources may differ);
                None checks every key.

        Returns:
            How many tracks were dropped.
        """
        limit = self.config.reset_after
        stale = [
            key
            for key, state in self._states.items()
            if (source is None or (isinstance(key, tuple) and key[0] == source)) and t - state.last_t > limit
        ]
        return self.forget(stale)
