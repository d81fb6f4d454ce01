"""One track: the last observation of an object, its motion, and its life so far."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flowpose.frame import Instance

#: Weight of the newest displacement in the track's velocity (an EMA over matches).
VELOCITY_GAIN = 0.5


@dataclass
class Track:
    """A tentative or confirmed track.

    Attributes:
        track_id: Public id, or -1 while tentative (ids are given at confirmation, so
            tentative tracks that die never use one up).
        label: Class of the object; a track only ever matches this label.
        instance: Last matched observation.
        t_last: Time of that observation.
        velocity: (2,) velocity, pixels per time unit, used to predict (from the keypoints'
            median motion, or the box centre's when there are no keypoints).
        hits: Frames matched so far.
        misses: Consecutive frames without a match.
    """

    track_id: int
    label: str
    instance: Instance
    t_last: float
    velocity: np.ndarray
    hits: int = 1
    misses: int = 0

    @classmethod
    def start(cls, instance: Instance, t: float) -> Track:
        """A tentative track from its first observation."""
        return cls(-1, instance.label, instance, t, np.zeros(2))

    @property
    def confirmed(self) -> bool:
        """Whether the track has a public id."""
        return self.track_id >= 0

    def shift(self, t: float, predict: bool) -> np.ndarray:
        """(2,) displacement expected between the last observation and time ``t``."""
        if not predict:
            return np.zeros(2)
        return self.velocity * max(t - self.t_last, 0.0)

    def predicted_box(self, t: float, predict: bool) -> np.ndarray:
        """(4,) box expected at time ``t`` (constant velocity, same size)."""
        return self.instance.bbox.astype(np.float64) + np.tile(self.shift(t, predict), 2)

    def predicted_points(self, t: float, predict: bool) -> np.ndarray | None:
        """(K, 2) keypoints expected at time ``t``, or None without keypoints."""
        if self.instance.keypoints is None:
            return None
        return self.instance.keypoints.astype(np.float64) + self.shift(t, predict)

    def hit(self, instance: Instance, t: float, min_keypoint_score: float = 0.0) -> None:
        """Take ``instance`` as this frame's observation.

        Args:
            instance: The matched observation.
            t: Its time.
            min_keypoint_score: Keypoints below this do not count in the motion estimate.
        """
        dt = t - self.t_last
        if dt > 0:
            step = _displacement(self.instance, instance, min_keypoint_score) / dt
            self.velocity = step if self.hits == 1 else (1 - VELOCITY_GAIN) * self.velocity + VELOCITY_GAIN * step
        self.instance = instance
        self.t_last = t
        self.hits += 1
        self.misses = 0


def _displacement(before: Instance, after: Instance, min_score: float) -> np.ndarray:
    """(2,) how far the object moved: the median shift of the keypoints seen in both, else
    the shift of the box centre (boxes of partly hidden objects jump, keypoints do not)."""
    if before.num_keypoints and before.num_keypoints == after.num_keypoints:
        assert before.keypoints is not None and after.keypoints is not None
        assert before.keypoint_scores is not None and after.keypoint_scores is not None
        both = (before.keypoint_scores >= min_score) & (after.keypoint_scores >= min_score)
        if both.any():
            return np.median(after.keypoints[both] - before.keypoints[both], axis=0).astype(np.float64)
    return (after.bbox.reshape(2, 2).mean(axis=0) - before.bbox.reshape(2, 2).mean(axis=0)).astype(np.float64)
