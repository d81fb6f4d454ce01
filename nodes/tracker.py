"""The Tracker node: stable track ids across frames, by box IoU and keypoint OKS.

Each source (camera) is tracked on its own; ids come from one counter shared by all
sources and are never reused within a run of the node. Tracks are only ever matched to
instances of their own label. Instances whose track is still tentative (fewer than
``min_hits`` frames) keep flowing with ``track_id = -1`` unless ``emit_tentative`` is off.
Ids of tracks that ended at a frame are listed in ``frame.meta["tracks_ended"]`` so a
Smoother downstream can drop their state at once.
"""

from __future__ import annotations

import itertools
from typing import Literal

from pydantic import Field

from flowpose.frame import Frame
from flowpose.node import Node, NodeParams
from flowpose.smoothing import FrameClock, check_timestamp_spec
from flowpose.tracking import TRACKS_ENDED_KEY, TrackerConfig
from flowpose.tracking import Tracker as StreamTracker


class Tracker(Node):
    """Gives instances stable track ids (IoU and/or OKS, Hungarian matching, per label and per source)."""

    class Params(NodeParams):
        metric: Literal["iou", "oks", "both"] = Field(
            "both",
            description="Similarity: box IoU, keypoint OKS (layout sigmas; IoU where no keypoints), or both "
            "(mean of IoU and OKS).",
        )
        min_similarity: float = Field(0.3, gt=0, le=1, description="Pairs less alike than this never match.")
        min_hits: int = Field(3, ge=1, description="Frames in a row before a track is confirmed and gets an id.")
        max_misses: int = Field(15, ge=0, description="Frames in a row without a match before a track ends.")
        min_keypoint_score: float = Field(0.3, ge=0, le=1, description="Keypoints below this are left out of OKS.")
        predict_motion: bool = Field(True, description="Predict tracks forward with their box velocity.")
        emit_tentative: bool = Field(
            True, description="Pass instances of tentative tracks on with track_id -1 (false: hold them back)."
        )
        timestamp: str = Field(
            "capture",
            description="Time of a frame, for motion prediction: 'capture', 'frames', or 'meta:<key>' with a "
            "unit suffix (_s, _ms, _us, _ns).",
        )

    @classmethod
    def check(cls, params: NodeParams) -> list[tuple[str, str]]:
        assert isinstance(params, cls.Params)
        problem = check_timestamp_spec(params.timestamp)
        return [("timestamp", problem)] if problem else []

    def setup(self) -> None:
        p = self.params
        self._config = TrackerConfig(
            metric=p.metric,
            min_similarity=p.min_similarity,
            min_hits=p.min_hits,
            max_misses=p.max_misses,
            min_keypoint_score=p.min_keypoint_score,
            predict_motion=p.predict_motion,
        )
        self._clock = FrameClock(p.timestamp, f"node {self.name!r}")
        # One counter for every source: ids stay unique across cameras.
        self._ids = itertools.count(1)
        self._streams: dict[str, StreamTracker] = {}

    def process(self, frame: Frame) -> Frame:
        t = self._clock(frame)
        tracker = self._streams.get(frame.source)
        if tracker is None:
            tracker = self._streams[frame.source] = StreamTracker(self._config, self._ids)
        try:
            update = tracker.update(frame.instances, t)
        except ValueError as exc:  # an unusable keypoint layout, named in the message
            raise ValueError(f"node {self.name!r}: frame {frame.frame_id} of {frame.source!r}: {exc}") from None
        instances = [
            inst.replace(track_id=tid)
            for inst, tid in zip(frame.instances, update.track_ids, strict=True)
            if tid >= 0 or self.params.emit_tentative
        ]
        self.counters["tracks_started"] += len(update.started)
        if update.ended:
            self.counters["tracks_ended"] += len(update.ended)
            return frame.replace(instances=tuple(instances), meta={**frame.meta, TRACKS_ENDED_KEY: update.ended})
        return frame.with_instances(instances)
