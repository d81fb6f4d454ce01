"""The TopdownPoseEstimator node: keypoints for the detected instances whose labels it serves.

All crops of a frame run as one batched ``session.run`` (see :mod:`flowpose.pose`).
Instances with other labels pass through untouched, so estimators chain in series (people,
then animals) or run side by side on the same detections, joined by ``MergeInstances``.

Without a detector (``box: frame`` or ``box: roi``) it is DeepLabCut-Live's single-animal
loop: the model runs on the whole frame or a fixed ROI, optionally on a dynamic crop around
the last pose (:mod:`flowpose.pose.region`), and adds one instance per frame.
"""

from __future__ import annotations

import collections
import statistics
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from flowpose.frame import Frame, Instance
from flowpose.models import PRESETS
from flowpose.node import BatchLimits, Node, NodeParams
from flowpose.nodes.model_batching import batch_limits_of, max_wait_field
from flowpose.pose import PoseTimings, TopdownModel, open_pose_model
from flowpose.pose.region import DynamicCrop, clip_box, keypoint_box, tile_grid
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
        box: Literal["detections", "frame", "roi"] = Field(
            "detections",
            description="Where to look: the boxes of the instances on the frame (detections), or, without a "
            "detector, the whole frame (frame) or the fixed `roi`, adding one instance per frame.",
        )
        roi: list[float] | None = Field(
            None, min_length=4, max_length=4, description="[x1, y1, x2, y2] in image pixels, for box: roi."
        )
        dynamic_crop: bool = Field(
            False, description="box frame/roi: run on a crop around the last pose's keypoints (DeepLabCut-Live)."
        )
        crop_margin: float = Field(20.0, ge=0, description="Pixels added on every side of the keypoints' bounds.")
        crop_threshold: float = Field(
            0.5, ge=0, description="Keypoints scoring at least this are found; a lower mean score drops the crop."
        )
        crop_min_keypoints: int = Field(
            1, ge=1, description="Fewer keypoints found than this drops the crop (back to the whole frame/roi)."
        )
        max_batch: int = Field(
            8,
            ge=1,
            description="Frames (of several streams) whose crops run in one session.run, at most; 1: one frame "
            "at a time.",
        )
        max_wait_ms: float | None = max_wait_field()
        search_tile: float = Field(
            0.0,
            ge=0,
            description="box frame/roi: search the frame/roi in half-overlapping square tiles of this many pixels "
            "(one batch; the best mean score wins) instead of one whole-frame run; 0 = off.",
        )

        @model_validator(mode="after")
        def _region_params_fit(self) -> TopdownPoseEstimator.Params:
            if self.box == "roi" and self.roi is None:
                raise ValueError("box: roi needs roi: [x1, y1, x2, y2]")
            if self.roi is not None and self.box != "roi":
                raise ValueError(f"roi is only used with box: roi (box is {self.box!r})")
            if self.roi is not None and (self.roi[2] <= self.roi[0] or self.roi[3] <= self.roi[1]):
                raise ValueError(f"roi must be [x1, y1, x2, y2] with x2 > x1 and y2 > y1, got {self.roi}")
            if self.dynamic_crop and self.box == "detections":
                raise ValueError("dynamic_crop needs box: frame or box: roi (detections give their own boxes)")
            if self.search_tile and self.box == "detections":
                raise ValueError("search_tile needs box: frame or box: roi")
            return self

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
        # Without a detector the node makes the instance: it takes the first label listed.
        self._label = (p.labels or spec.card.labels)[0]
        self._crops: dict[str, DynamicCrop] = {}  # per stream: each camera follows its own animal
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

    def batch_limits(self) -> BatchLimits | None:
        p = self.params
        return batch_limits_of(p)

    def process(self, frame: Frame) -> Frame:
        return self.process_batch([frame])[0]

    def process_batch(self, frames: list[Frame]) -> list[Frame]:
        """The crops of every frame (of any stream) in one batch; region mode runs frame by frame."""
        if self.params.box != "detections":
            return [self._process_region(frame) for frame in frames]
        served = [self._served(frame.instances) for frame in frames]
        busy = [i for i, picked in enumerate(served) if picked]
        if not busy:
            return list(frames)
        parts = [(frames[i].image, np.stack([frames[i].instances[j].bbox for j in served[i]])) for i in busy]
        results = self._model.run_many(parts, self.params.bbox_padding, self.params.flip_test)
        out = list(frames)
        for i, result in zip(busy, results, strict=True):
            instances = list(frames[i].instances)
            for row, j in enumerate(served[i]):
                instances[j] = instances[j].replace(
                    keypoints=result.keypoints[row], keypoint_scores=result.scores[row], layout=self._layout_name
                )
            out[i] = frames[i].with_instances(instances)
        self._record(results[0].timings, sum(len(served[i]) for i in busy))
        return out

    def end_stream(self, stream: str) -> None:
        self._crops.pop(stream, None)

    def _base_box(self, frame: Frame) -> np.ndarray:
        """The whole frame, or the ROI clipped to it."""
        whole = np.array([0, 0, frame.width, frame.height], np.float32)
        return whole if self.params.roi is None else clip_box(np.asarray(self.params.roi, np.float32), whole)

    def _process_region(self, frame: Frame) -> Frame:
        """No detector: one run on the whole frame / ROI / dynamic crop, one new instance."""
        p = self.params
        base = self._base_box(frame)
        crop = None
        if p.dynamic_crop:
            crop = self._crops.get(frame.source)
            if crop is None:
                crop = self._crops[frame.source] = DynamicCrop(
                    base, p.crop_margin, p.crop_threshold, p.crop_min_keypoints
                )
            crop.base = base  # the frame size may change (a new camera mode)
            region, mode = crop.box(), "crop" if crop.following else p.box
        else:
            region, mode = base, p.box
        boxes = region[None]
        if mode != "crop" and p.search_tile:
            boxes, mode = tile_grid(region, p.search_tile), "search"
        # No padding: the region is exactly what the model should see (the margin pads crops).
        result = self._model(frame.image, boxes, 1.0, p.flip_test)
        best = int(np.argmax(result.scores.mean(axis=1))) if len(boxes) > 1 else 0
        keypoints, scores, region = result.keypoints[best], result.scores[best], boxes[best]
        self.counters[{"crop": "cropped", "search": "searches"}.get(mode, "whole")] += 1
        if crop is not None and crop.update(keypoints, scores) == "lost" and mode == "crop":
            self.counters["crop_lost"] += 1
        bbox = keypoint_box(keypoints, scores, p.crop_threshold, p.crop_margin, base, p.crop_min_keypoints)
        instance = Instance(
            region if bbox is None else bbox,
            # Codec scores are not probabilities (SimCC's exceed 1); an instance score stays in [0, 1].
            score=float(np.clip(np.mean(scores), 0.0, 1.0)) if len(scores) else 0.0,
            label=self._label,
            track_id=0,  # one animal is one track: a Smoother can follow it without a Tracker
            keypoints=keypoints,
            keypoint_scores=scores,
            layout=self._layout_name,
        )
        self._record(result.timings, len(boxes))
        meta = {**frame.meta, "pose_region": {"node": self.name, "mode": mode, "box": region.tolist()}}
        return frame.replace(instances=(*frame.instances, instance), meta=meta)

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
