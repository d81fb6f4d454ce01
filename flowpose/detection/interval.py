"""Interval mode: run the detector every N frames and follow instances by their keypoints in between.

The planner is pure (no model, no runtime): the Detector node asks it, per frame, whether to
detect; when not, it gets the boxes to emit, derived from the newest keypoints that downstream
pose nodes fed back. It asks for a detection on the very next frame when an instance is lost
or when there is nobody to follow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from flowpose.detection.keypoint_boxes import box_from_keypoints, merge_instances
from flowpose.frame import Frame, Instance

__all__ = ["IntervalPlanner", "IntervalSettings", "Plan"]


@dataclass(frozen=True)
class IntervalSettings:
    """When to detect and how to follow instances in between.

    Args:
        interval: Detect on every ``interval``-th frame (1: every frame, no following).
        keypoint_threshold: Keypoints scoring at least this are confident; they make the box.
        min_keypoints: An instance with fewer confident keypoints is lost.
        min_mean_score: An instance whose mean keypoint score (over all its keypoints) is
            lower is lost.
        box_margin: Factor on the width and height of the confident keypoints' bounds.

    Raises:
        ValueError: On a value out of range, naming it.
    """

    interval: int = 1
    keypoint_threshold: float = 0.3
    min_keypoints: int = 3
    min_mean_score: float = 0.2
    box_margin: float = 1.25

    def __post_init__(self) -> None:
        if self.interval < 1:
            raise ValueError(f"interval must be >= 1, got {self.interval}")
        if not 0 <= self.keypoint_threshold <= 1 or not 0 <= self.min_mean_score <= 1:
            raise ValueError("keypoint_threshold and min_mean_score must be in [0, 1]")
        if self.min_keypoints < 1:
            raise ValueError(f"min_keypoints must be >= 1, got {self.min_keypoints}")
        if self.box_margin < 1:
            raise ValueError(f"box_margin must be >= 1, got {self.box_margin}")


@dataclass(frozen=True)
class Plan:
    """What to do with one frame.

    Attributes:
        detect: Run the detector.
        reason: Why: ``every_frame``, ``first``, ``interval``, ``lost``, ``no_instances`` (detect),
            ``keypoints`` (boxes from fed-back keypoints) or ``previous`` (the last boxes again,
            when no keypoints newer than the last detection have come back yet).
        instances: The instances to emit when not detecting.
    """

    detect: bool
    reason: str
    instances: tuple[Instance, ...] = ()


class IntervalPlanner:
    """Decides, frame by frame of one source, between detecting and following.

    Call :meth:`plan`, then :meth:`record` with what was emitted.

    Args:
        settings: The interval and the following rules.
    """

    def __init__(self, settings: IntervalSettings) -> None:
        self.settings = settings
        self.reset()

    def reset(self) -> None:
        """Forget the past: the next frame is detected."""
        self._last_detect_id: int | None = None
        self._last_frame_id: int | None = None
        self._since_detect = 0
        self._last_output: tuple[Instance, ...] = ()

    def plan(self, frame_id: int, image_size: tuple[int, int], feedback: Sequence[Frame] = ()) -> Plan:
        """Decide for frame ``frame_id`` of size ``(w, h)``, given the fed-back frames of this source.

        Feedback frames older than the last detection are ignored: their instances predate
        it. When none is newer, the last emitted boxes are used again.
        """
        s = self.settings
        if self._last_frame_id is not None and frame_id <= self._last_frame_id:
            self.reset()  # the source started over (a restart): the past is of another stream
        if s.interval == 1:
            return Plan(True, "every_frame")
        if self._last_detect_id is None:
            return Plan(True, "first")
        if self._since_detect + 1 >= s.interval:
            return Plan(True, "interval")
        fresh = [f for f in feedback if self._last_detect_id <= f.frame_id < frame_id]
        if not fresh:
            instances, reason = self._last_output, "previous"
        else:
            followed = [self._follow(inst, image_size) for inst in merge_instances(fresh)]
            if any(inst is None for inst in followed):
                return Plan(True, "lost")
            instances, reason = tuple(inst for inst in followed if inst is not None), "keypoints"
        if not instances:
            return Plan(True, "no_instances")
        return Plan(False, reason, instances)

    def record(self, frame_id: int, instances: Sequence[Instance], detected: bool) -> None:
        """Note what was emitted for ``frame_id`` and whether the detector ran."""
        self._last_frame_id = frame_id
        self._last_output = tuple(instances)
        if detected:
            self._last_detect_id, self._since_detect = frame_id, 0
        else:
            self._since_detect += 1

    def _follow(self, inst: Instance, image_size: tuple[int, int]) -> Instance | None:
        """The instance with its box from its keypoints; None when it is lost.

        An instance without keypoints (a class no pose model serves) keeps its box until the
        next detection: it cannot be followed, but it is not lost either.
        """
        if inst.keypoints is None or inst.keypoint_scores is None:
            return Instance(bbox=inst.bbox, score=inst.score, label=inst.label, track_id=inst.track_id)
        s = self.settings
        scores = inst.keypoint_scores
        confident = int(np.count_nonzero(scores >= s.keypoint_threshold))
        if confident < s.min_keypoints or float(scores.mean()) < s.min_mean_score:
            return None
        box = box_from_keypoints(inst.keypoints, scores, s.keypoint_threshold, s.box_margin, image_size)
        if box is None:
            return None
        return Instance(bbox=box, score=inst.score, label=inst.label, track_id=inst.track_id)
