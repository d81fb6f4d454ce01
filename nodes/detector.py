"""The Detector node: finds objects with an ONNX detector (or OpenCV's HOG people detector).

Each output frame carries the detections as its instances (replacing any it came with) and
``meta["detector"]``: ``{"node", "ran", "reason", "ms", "count"}``: whether the detector ran on
this frame (in interval mode it may not), why, the node's time on the frame, and how many
instances it emitted.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from flowpose.detection import (
    HOG_MODEL,
    DetectorBackend,
    DetectorConfig,
    IntervalPlanner,
    IntervalSettings,
    check_config,
    open_detector,
)
from flowpose.frame import Frame
from flowpose.node import Node, NodeParams


class Detector(Node):
    """Detects objects (people, animals...) with an ONNX model on ONNX Runtime, optionally every N frames."""

    class Params(NodeParams):
        model: str = Field(
            "zoo:yolox-nano",
            description=f"The detector: zoo:NAME (see `flowpose zoo list`), a path to an ONNX file, or "
            f"'{HOG_MODEL}' for OpenCV's HOG people detector (no model file, label 'person').",
        )
        preset: str | None = Field(
            None, description="Card preset for a model with no embedded card or sidecar: yolox, rtmdet_end2end."
        )
        providers: str | list[str] = Field(
            "cpu", description="ONNX Runtime execution providers in order of preference: cpu, cuda, tensorrt."
        )
        intra_op_threads: int | None = Field(
            None, ge=1, description="ONNX Runtime threads for this model; null: a fair share of the cores."
        )
        classes: list[str] = Field(
            default_factory=list, description="Class names to keep, e.g. [person, dog]; empty keeps every class."
        )
        score_threshold: float = Field(0.3, ge=0, le=1, description="Detections scoring below this are dropped.")
        nms_iou: float = Field(
            0.45, gt=0, le=1, description="Boxes of one class overlapping a better one by more IoU are dropped."
        )
        max_detections: int = Field(100, ge=1, description="At most this many detections per frame, best first.")
        interval: int = Field(
            1,
            ge=1,
            description="Run the detector every N frames; in between, boxes follow the keypoints fed back "
            "by downstream pose nodes (the node's `feedback` buffers). 1: detect every frame.",
        )
        keypoint_threshold: float = Field(
            0.3, ge=0, le=1, description="Interval mode: keypoints scoring at least this make a followed box."
        )
        min_keypoints: int = Field(
            3, ge=1, description="Interval mode: an instance with fewer confident keypoints is lost (detect again)."
        )
        min_mean_score: float = Field(
            0.2, ge=0, le=1, description="Interval mode: an instance with a lower mean keypoint score is lost."
        )
        box_margin: float = Field(
            1.25, ge=1, description="Interval mode: the keypoints' bounds are enlarged by this factor."
        )

    @classmethod
    def check(cls, params: NodeParams) -> list[tuple[str, str]]:
        assert isinstance(params, cls.Params)
        return check_config(cls._config(params))

    def __init__(self, name: str, params: NodeParams | Mapping[str, Any] | None = None) -> None:
        super().__init__(name, params)
        self._detector: DetectorBackend | None = None
        self._planners: dict[str, IntervalPlanner] = {}

    @staticmethod
    def _config(p: Detector.Params) -> DetectorConfig:
        return DetectorConfig(
            model=p.model,
            preset=p.preset,
            classes=tuple(p.classes),
            score_threshold=p.score_threshold,
            nms_iou=p.nms_iou,
            max_detections=p.max_detections,
            providers=p.providers,
            intra_op_threads=p.intra_op_threads,
        )

    def setup(self) -> None:
        p = self.params
        self._detector = open_detector(self._config(p))
        self._interval = IntervalSettings(
            interval=p.interval,
            keypoint_threshold=p.keypoint_threshold,
            min_keypoints=p.min_keypoints,
            min_mean_score=p.min_mean_score,
            box_margin=p.box_margin,
        )
        self._planners.clear()
        self.log.info("detector %s ready; classes kept: %s", p.model, p.classes or "all")

    def process(self, frame: Frame) -> Frame:
        assert self._detector is not None, "setup() was not called"
        start = time.perf_counter()
        planner = self._planners.get(frame.source)
        if planner is None:
            planner = self._planners[frame.source] = IntervalPlanner(self._interval)
        feedback = [] if self.params.interval == 1 else self._feedback_of(frame.source)
        plan = planner.plan(frame.frame_id, (frame.width, frame.height), feedback)
        if plan.detect:
            instances = self._detector.detect(frame.image).to_instances(self._detector.classes)
            self.counters["detections_run"] += 1
        else:
            instances = plan.instances
            self.counters["frames_followed"] += 1
        planner.record(frame.frame_id, instances, detected=plan.detect)
        info = {
            "node": self.name,
            "ran": plan.detect,
            "reason": plan.reason,
            "ms": round((time.perf_counter() - start) * 1e3, 3),
            "count": len(instances),
        }
        return frame.replace(instances=tuple(instances), meta={**frame.meta, "detector": info})

    def _feedback_of(self, source: str) -> list[Frame]:
        """The fed-back frames of ``source`` (several pose outputs may feed back; the planner merges them)."""
        return [f for f in self.feedback().values() if f.source == source]

    def close(self) -> None:
        if self._detector is not None:
            self._detector.close()
            self._detector = None
