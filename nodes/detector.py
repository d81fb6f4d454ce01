"""The Detector node: finds objects with an ONNX detector (or OpenCV's HOG people detector).

Each output frame carries the detections as its instances (replacing any it came with) and
``meta["detector"]``: ``{"node", "ran", "reason", "ms", "count"}``: whether the detector ran on
this frame (in interval mode it may not), why, the node's time on the frame, and how many
instances it emitted.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
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
from flowpose.detection.interval import Plan
from flowpose.frame import Frame, Instance
from flowpose.node import BatchLimits, Node, NodeParams
from flowpose.nodes.model_batching import batch_limits_of, max_wait_field


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
        max_batch: int = Field(
            8,
            ge=1,
            description="Frames of several streams (cameras) detected in one session.run, at most; 1: one "
            "frame at a time. Models exported with a batch of 1 run the frames one by one.",
        )
        max_wait_ms: float | None = max_wait_field()

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

    def batch_limits(self) -> BatchLimits | None:
        p = self.params
        return batch_limits_of(p)

    def process(self, frame: Frame) -> Frame:
        return self.process_batch([frame])[0]

    def process_batch(self, frames: list[Frame]) -> list[Frame]:
        """Plan each frame (detect or follow), detect in all that need it at once, finish each.

        A batch may hold consecutive frames of one stream (a file read faster than the detector).
        Each frame is planned after the one before it is recorded, so the interval counts every
        frame; a frame after a detection of its stream waits for the next round (it follows
        that detection's boxes). Frames of different streams still share one ``session.run``.
        """
        assert self._detector is not None, "setup() was not called"
        start = time.perf_counter()
        results: list[tuple[Plan, Sequence[Instance]] | None] = [None] * len(frames)
        pending = list(range(len(frames)))
        while pending:
            blocked: set[str] = set()  # streams with a detection this round: their later frames wait
            wanted, later = [], []
            for i in pending:
                frame = frames[i]
                if frame.source in blocked:
                    later.append(i)
                    continue
                plan = self._plan(frame)
                if plan.detect:
                    wanted.append((i, plan))
                    blocked.add(frame.source)
                else:
                    self._record(frame, plan, plan.instances)
                    results[i] = (plan, plan.instances)
            found = self._detector.detect_many([frames[i].image for i, _ in wanted]) if wanted else []
            for (i, plan), detections in zip(wanted, found, strict=True):
                instances = detections.to_instances(self._detector.classes)
                self._record(frames[i], plan, instances)
                results[i] = (plan, instances)
            pending = later
        # Each frame is stamped with the batch's time: it waited for all of it.
        ms = round((time.perf_counter() - start) * 1e3, 3)
        out = []
        for frame, result in zip(frames, results, strict=True):
            assert result is not None
            plan, instances = result
            info = {"node": self.name, "ran": plan.detect, "reason": plan.reason, "ms": ms, "count": len(instances)}
            if len(frames) > 1:
                info["batch"] = len(frames)
            out.append(frame.replace(instances=tuple(instances), meta={**frame.meta, "detector": info}))
        return out

    def _record(self, frame: Frame, plan: Plan, instances: Sequence[Instance]) -> None:
        """Count the frame and tell its stream's planner what was emitted."""
        self.counters["detections_run" if plan.detect else "frames_followed"] += 1
        self._planners[frame.source].record(frame.frame_id, instances, detected=plan.detect)

    def _plan(self, frame: Frame) -> Plan:
        """Whether to detect in ``frame`` or follow its stream's fed-back keypoints."""
        planner = self._planners.get(frame.source)
        if planner is None:
            planner = self._planners[frame.source] = IntervalPlanner(self._interval)
        feedback = [] if self.params.interval == 1 else self._feedback_of(frame.source)
        return planner.plan(frame.frame_id, (frame.width, frame.height), feedback)

    def end_stream(self, stream: str) -> None:
        self._planners.pop(stream, None)

    def _feedback_of(self, source: str) -> list[Frame]:
        """The fed-back frames of ``source`` (several pose outputs may feed back; the planner merges them)."""
        return [f for f in self.feedback().values() if f.source == source]

    def close(self) -> None:
        if self._detector is not None:
            self._detector.close()
            self._detector = None
