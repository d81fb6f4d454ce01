"""The Smoother node: per-track temporal smoothing of keypoints and boxes.

Put it after a Tracker: filters are kept per ``(frame.source, track_id)``, so any number of
people and animals, from any number of cameras, are smoothed at once without mixing.
Instances without a track id (``-1``: untracked, or tentative tracks of a Tracker) pass
through unchanged; if a stream keeps arriving with no track id at all, a warning says once
that a Tracker is missing. The defaults are :class:`flowpose.smoothing.SmoothingConfig`'s,
chosen with ``flowpose eval smoothing`` (see docs/tracking-smoothing.md).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from flowpose.frame import Frame
from flowpose.node import Node, NodeParams
from flowpose.smoothing import (
    EmaParams,
    FrameSmoother,
    KalmanParams,
    OneEuroParams,
    SmoothingConfig,
    check_timestamp_spec,
)

#: Frames with instances but never a track id before the node warns that a Tracker is missing.
UNTRACKED_WARN_FRAMES = 30

_D = SmoothingConfig()


class Smoother(Node):
    """Smooths keypoints and boxes along each track (One Euro, EMA or Kalman), per source and track id."""

    class Params(NodeParams):
        filter: Literal["one_euro", "ema", "kalman"] = Field(_D.filter, description="Which filter.")
        min_cutoff: float = Field(
            _D.one_euro.min_cutoff, gt=0, description="one_euro: cutoff at rest, Hz. Lower: less jitter, more lag."
        )
        beta: float = Field(
            _D.one_euro.beta, ge=0, description="one_euro: cutoff gained per px/s of speed, 1/px. Higher: less lag."
        )
        d_cutoff: float = Field(_D.one_euro.d_cutoff, gt=0, description="one_euro: cutoff of the speed estimate, Hz.")
        per_axis: bool = Field(
            _D.one_euro.per_axis,
            description="one_euro: adapt x and y separately on |dx| and |dy| (as MMPose 0.x and PaddleDetection) "
            "instead of on the speed.",
        )
        ema_time_constant: float = Field(
            _D.ema.time_constant, gt=0, description="ema: seconds to cover 63% of a step. Lower: less lag."
        )
        kalman_acceleration_std: float = Field(
            _D.kalman.acceleration_std, gt=0, description="kalman: unmodelled acceleration, px/s². Higher: less lag."
        )
        kalman_measurement_std: float = Field(
            _D.kalman.measurement_std, gt=0, description="kalman: keypoint measurement noise, px."
        )
        min_keypoint_score: float = Field(
            _D.min_keypoint_score,
            ge=0,
            le=1,
            description="Keypoints scoring below this pass unchanged and leave the state alone.",
        )
        smooth_boxes: bool = Field(_D.smooth_boxes, description="Smooth box corners too.")
        reset_after: float = Field(
            _D.reset_after, gt=0, description="Seconds a track (or keypoint) may be unseen before it starts afresh."
        )
        timestamp: str = Field(
            "capture",
            description="Time of a frame: 'capture' (capture time), 'frames' (count frames: every time param "
            "is then in frames), or 'meta:<key>' with a unit suffix (_s, _ms, _us, _ns), e.g. 'meta:pos_ms'.",
        )

    @classmethod
    def check(cls, params: NodeParams) -> list[tuple[str, str]]:
        assert isinstance(params, cls.Params)
        problem = check_timestamp_spec(params.timestamp)
        return [("timestamp", problem)] if problem else []

    @staticmethod
    def config_of(p: Smoother.Params) -> SmoothingConfig:
        """The :class:`SmoothingConfig` these params describe."""
        return SmoothingConfig(
            filter=p.filter,
            one_euro=OneEuroParams(p.min_cutoff, p.beta, p.d_cutoff, p.per_axis),
            ema=EmaParams(p.ema_time_constant),
            kalman=KalmanParams(p.kalman_acceleration_std, p.kalman_measurement_std, _D.kalman.initial_velocity_std),
            min_keypoint_score=p.min_keypoint_score,
            smooth_boxes=p.smooth_boxes,
            reset_after=p.reset_after,
        )

    def setup(self) -> None:
        self.smoother = FrameSmoother(self.config_of(self.params), self.params.timestamp, f"node {self.name!r}")
        self._seen_track_id = False
        self._untracked_frames = 0

    def process(self, frame: Frame) -> Frame:
        result = self.smoother(frame)
        if result.resets:
            self.counters["resets"] += result.resets
        self._note_untracked(result.untracked, len(frame.instances))
        return result.frame

    def _note_untracked(self, untracked: int, total: int) -> None:
        if untracked:
            self.counters["untracked"] += untracked
        if untracked < total:
            self._seen_track_id = True
        elif total and not self._seen_track_id:
            self._untracked_frames += 1
            if self._untracked_frames == UNTRACKED_WARN_FRAMES:
                self.log.warning(
                    "%d frames with instances and not one track id: instances without a track id pass through "
                    "unsmoothed. Put a Tracker before this Smoother.",
                    UNTRACKED_WARN_FRAMES,
                )
