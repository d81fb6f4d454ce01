"""The SyntheticScene source: people and animals walking about, with exact ground truth.

It wraps :class:`flowpose.synthetic.SyntheticScene` so graphs can be tried, tested and
benchmarked without a camera, a video or a model: every frame carries its ground truth in
``meta["ground_truth"]`` and, when asked, as instances a Visualizer can draw.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
from pydantic import Field

from flowpose.frame import Frame, Instance
from flowpose.node import NodeParams, Source
from flowpose.synthetic import GroundTruthObject, SceneConfig
from flowpose.synthetic import SyntheticScene as SceneGenerator
from flowpose.synthetic.species import SPECIES

Range = int | tuple[int, int]
"""A count, or an inclusive ``[min, max]`` range drawn once per scene."""


def _as_range(value: Range) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def ground_truth_record(obj: GroundTruthObject) -> dict[str, Any]:
    """One figure's ground truth as plain data (lists, floats, ints) that crosses processes.

    Keys: ``track_id``, ``label``, ``layout``, ``bbox`` ([x1, y1, x2, y2]), ``keypoints``
    ([[x, y], ...] in pixels) and ``visibility`` ([v, ...]: 0 outside the image, 1 hidden,
    2 visible).
    """
    return {
        "track_id": int(obj.track_id),
        "label": obj.label,
        "layout": obj.layout,
        "bbox": [float(v) for v in obj.bbox],
        "keypoints": obj.keypoints.astype(float).tolist(),
        "visibility": [int(v) for v in obj.visibility],
    }


def ground_truth_instance(obj: GroundTruthObject) -> Instance:
    """One figure as an :class:`Instance`, as a perfect detector + pose model would report it.

    Keypoint scores are 1.0 for points inside the image (visible or hidden: a pose model is
    expected to place hidden joints too) and 0.0 for points outside it. The exact visibility
    stays in ``meta["ground_truth"]``.
    """
    return Instance(
        bbox=obj.bbox,
        score=1.0,
        label=obj.label,
        track_id=obj.track_id,
        keypoints=obj.keypoints,
        keypoint_scores=(np.asarray(obj.visibility) > 0).astype(np.float32),
        layout=obj.layout,
    )


class SyntheticScene(Source):
    """Rendered people (COCO-17) and animals (AP-10K) with exact ground truth; no camera needed.

    Equal seeds give identical frames. Ground truth rides in ``meta["ground_truth"]`` and,
    with ``emit_instances``, also as instances (so a Visualizer draws skeletons).
    """

    class Params(NodeParams):
        width: int = Field(640, ge=16, le=8192, description="Frame width in pixels.")
        height: int = Field(480, ge=16, le=8192, description="Frame height in pixels.")
        seed: int = Field(0, ge=0, description="Seed of everything random; equal seeds give identical frames.")
        fps: float = Field(30.0, gt=0, le=1000, description="Frame rate: scene time per frame, and the pace.")
        count: int = Field(0, ge=0, description="Frames to produce, then end-of-stream; 0 = endless.")
        live: bool = Field(
            True,
            description="Behave like a camera: paced at fps, buffers default to 'latest'. False: like a file "
            "('lossless'), as fast as downstream takes frames unless realtime.",
        )
        realtime: bool = Field(False, description="With live: false, still pace the frames at fps.")
        people: Range = Field((1, 2), description="Number of people, or [min, max] drawn from the seed.")
        animals: Range = Field((1, 2), description="Number of animals, or [min, max] drawn from the seed.")
        species: list[str] = Field(
            default_factory=lambda: ["dog", "cat", "horse"], description="Animal species to draw from."
        )
        occluders: Range = Field((0, 2), description="Number of foreground occluders, or [min, max].")
        emit_instances: bool = Field(
            False,
            description="Also put the ground truth on frame.instances (keypoint score 1.0 inside the image, "
            "0.0 outside), e.g. to draw skeletons before any model runs.",
        )

    @classmethod
    def check(cls, params: NodeParams) -> list[tuple[str, str]]:
        assert isinstance(params, cls.Params)
        problems = []
        if not params.live and params.count == 0:
            problems.append(("count", "a file-like scene (live: false) needs count > 0, or it never ends"))
        for name in ("people", "animals", "occluders"):
            lo, hi = _as_range(getattr(params, name))
            if not 0 <= lo <= hi:
                problems.append((name, f"needs a count >= 0 or [min, max] with 0 <= min <= max, got {[lo, hi]}"))
        if unknown := sorted(set(params.species) - set(SPECIES)):
            problems.append(("species", f"unknown {unknown}; known: {sorted(SPECIES)}"))
        if not problems:
            try:
                cls._config(params)
            except ValueError as exc:  # whatever else SceneConfig refuses, in its words
                problems.append(("params", str(exc)))
        return problems

    @staticmethod
    def _config(p: SyntheticScene.Params) -> SceneConfig:
        return SceneConfig(
            width=p.width,
            height=p.height,
            seed=p.seed,
            fps=p.fps,
            num_people=_as_range(p.people),
            num_animals=_as_range(p.animals),
            species=tuple(p.species),
            num_occluders=_as_range(p.occluders),
            num_frames=p.count or None,
        )

    def is_live(self) -> bool:
        return self.params.live

    def setup(self) -> None:
        self._scene = SceneGenerator(self._config(self.params))
        self.log.info("synthetic scene %dx%d, seed %d", self.params.width, self.params.height, self.params.seed)

    def frames(self) -> Iterator[Frame]:
        p = self.params
        period = 1.0 / p.fps if p.live or p.realtime else 0.0
        next_t = time.monotonic()
        for scene_frame in self._scene:
            if period:
                # Deadlines keep the average rate exact; after a stall, restart from now.
                next_t = max(next_t + period, time.monotonic())
                if not self.pause(next_t - time.monotonic()):
                    return
            image = scene_frame.image
            image.setflags(write=False)  # frames are immutable once sent
            meta = {
                "ground_truth": [ground_truth_record(o) for o in scene_frame.objects],
                "scene_time_s": float(scene_frame.timestamp_s),
            }
            instances = tuple(ground_truth_instance(o) for o in scene_frame.objects) if p.emit_instances else ()
            yield self.make_frame(image, instances=instances, meta=meta)
