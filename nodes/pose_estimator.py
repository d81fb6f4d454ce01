"""The TopdownPoseEstimator node: keypoints for the detected instances whose labels it serves.

All crops of a frame run as one batched ``session.run`` (see :mod:`flowpose.pose`).
Instances with other labels pass through untouched, so estimators chain in series (people,
then animals) or run side by side on the same detections, joined by ``MergeInstances``.
"""

from __future__ import annotations

import collections
import statistics

import numpy as np
from pydantic import Field

from flowpose.frame import Frame, Instance
from flowpose.models import PRESETS
from flowpose.node import Node, NodeParams
from flowpose.pose import PoseTimings, TopdownModel, open_pose_model
from flowpose.zoo import ModelNotFoundError

#: Frames whose timings are kept for the summary logged at close.
TIMING_WINDOW = 1000
#: Presets that describe pose models (the others are detectors').
POSE_PRESETS = sorted(name for name, fields in PRESETS.items() if fields.get("task") == "pose")


class TopdownPoseEstimator(Node):
    """Top-down pose model (RTMPose, heatmap models) on the boxes of the labels it serves, batched."""

    class Params(NodeParams):
        model: str = Field(description="ONNX pose model: a file path or zoo:NAME (flowpose zoo list).")
        preset: str | None = Field(
            None, description=f"Card preset for models without a card or sidecar: one of {POSE_PRESETS}."
        )
        labels: list[str] | None = Field(
            None, min_length=1, description="Instance labels to estimate; default: the labels on the model's card."
        )
        providers: str | list[str] = Field("cpu", description="Execution providers: cpu, cuda, tensorrt or a list.")
        intra_op_threads: int | None = Field(
            None, ge=1, description="Threads per operator; default: the cores this process may use."
        )
        flip_test: bool = Field(
            False, description="Also run mirrored crops (in the same batch) and average: slower, steadier."
        )
        bbox_padding: float = Field(1.25, gt=0, le=10, description="Box enlargement before cropping.")
        max_instances: int = Field(
            20, ge=1, description="At most this many instances per frame (highest scores first); the rest keep none."
        )

    @classmethod
    def check(cls, params: NodeParams) -> list[tuple[str, str]]:
        assert isinstance(params, cls.Params)
        if params.preset is not None and params.preset not in POSE_PRESETS:
            return [("preset", f"{params.preset!r} is not a pose preset; pose presets: {POSE_PRESETS}")]
        try:
            open_pose_model(params.model, params.preset)  # pose cards always name their labels
        except (ModelNotFoundError, ValueError) as exc:
            return [("model", str(exc))]
        return []

    def setup(self) -> None:
        p = self.params
        spec = open_pose_model(p.model, p.preset)
        self._model = TopdownModel(spec, p.providers, p.intra_op_threads, capacity=min(p.max_instances, 8))
        self._labels = frozenset(p.labels or spec.card.labels)
        self._layout_name = spec.card.keypoint_layout or spec.layout.name
        self._timings: collections.deque[PoseTimings] = collections.deque(maxlen=TIMING_WINDOW)
        self.last_timings: PoseTimings | None = None
        self.log.info(
            "%s (%s card): %s keypoints for %s, batch %s, flip test %s",
            spec.path.name,
            spec.card_source,
            spec.layout.name,
            sorted(self._labels),
            "dynamic" if spec.fixed_batch is None else f"fixed at {spec.fixed_batch}",
            "on" if p.flip_test else "off",
        )

    def _served(self, instances: tuple[Instance, ...]) -> list[int]:
        """Indices of the instances to estimate, in frame order."""
        picked = []
        for i, inst in enumerate(instances):
            if inst.label not in self._labels:
                continue
            x1, y1, x2, y2 = inst.bbox
            if not (np.isfinite(inst.bbox).all() and x2 - x1 >= 1 and y2 - y1 >= 1):
                self.counters["bad_boxes"] += 1  # nothing to crop
                continue
            picked.append(i)
        if len(picked) > self.params.max_instances:
            self.counters["over_max"] += len(picked) - self.params.max_instances
            best = sorted(picked, key=lambda i: -instances[i].score)[: self.params.max_instances]
            picked = sorted(best)
        return picked

    def process(self, frame: Frame) -> Frame:
        served = self._served(frame.instances)
        if not served:
            return frame
        boxes = np.stack([frame.instances[i].bbox for i in served])
        result = self._model(frame.image, boxes, self.params.bbox_padding, self.params.flip_test)
        instances = list(frame.instances)
        for row, i in enumerate(served):
            instances[i] = instances[i].replace(
                keypoints=result.keypoints[row], keypoint_scores=result.scores[row], layout=self._layout_name
            )
        self._record(result.timings, len(served))
        return frame.with_instances(instances)

    def _record(self, timings: PoseTimings, crops: int) -> None:
        self.last_timings = timings
        self._timings.append(timings)
        self.counters["crops"] += crops
        self.counters["runs"] += timings.runs

    def timing_summary(self) -> dict[str, float]:
        """Median milliseconds per frame with instances: ``preprocess``, ``inference``, ``decode``."""
        if not getattr(self, "_timings", None):
            return {}
        return {
            "preprocess": statistics.median(t.preprocess_ms for t in self._timings),
            "inference": statistics.median(t.inference_ms for t in self._timings),
            "decode": statistics.median(t.decode_ms for t in self._timings),
        }

    def close(self) -> None:
        summary = self.timing_summary()
        if summary:
            self.log.info(
                "median per frame over the last %d: preprocess %.2f ms, inference %.2f ms, decode %.2f ms",
                len(self._timings),
                summary["preprocess"],
                summary["inference"],
                summary["decode"],
            )
        self._model = None  # type: ignore[assignment]  # frees the session
