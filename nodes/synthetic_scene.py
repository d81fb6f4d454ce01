"""The SyntheticScene source: people and animals walking about, with exact ground truth.

It wraps :class:`flowpose.synthetic.SyntheticScene` so graphs can be tried, tested and
benchmarked without a camera, a video or a model: every frame carries its ground truth in
``meta["ground_truth"]`` and, when asked, as instances a Visualizer can draw.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from pydantic import Field

from flowpose.frame import EndOfStream, Frame
from flowpose.node import NodeParams
from flowpose.nodes.stream_factory import StreamFactory
from flowpose.nodes.stream_source import MultiStreamSource
from flowpose.nodes.stream_synthetic import (
    SYNTHETIC,
    SceneSettings,
    ground_truth_instance,
    ground_truth_record,
    paced,
    scene_item,
)
from flowpose.synthetic import SceneConfig
from flowpose.synthetic import SyntheticScene as SceneGenerator
from flowpose.synthetic.species import SPECIES

__all__ = ["SyntheticScene", "ground_truth_instance", "ground_truth_record"]

Range = int | tuple[int, int]
"""A count, or an inclusive ``[min, max]`` range drawn once per scene."""


def _as_range(value: Range) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


class SyntheticScene(MultiStreamSource):
    """Rendered people (COCO-17) and animals (AP-10K) with exact ground truth; no camera needed.

    Equal seeds give identical frames. Ground truth rides in ``meta["ground_truth"]`` and,
    with ``emit_instances``, also as instances (so a Visualizer draws skeletons). With
    ``streams: N`` it renders N independent scenes (seeds seed, seed+1, ...), each paced on its
    own, as streams ``NODE0``, ``NODE1``, ... interleaved fairly.
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
        streams: int = Field(
            1,
            ge=1,
            le=256,
            description="Independent scenes (streams NODE0, NODE1, ... with seeds seed, seed+1, ...), each paced "
            "on its own and interleaved fairly; 1 = one stream named after the node.",
        )
        keep_open: bool = Field(
            False,
            description="Keep running when every stream has ended, so streams can be added while it runs "
            "(flowpose serve); otherwise the node ends with its last stream.",
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

    @property
    def multi(self) -> bool:
        """Whether the streams are read in threads of their own (several, or open to more)."""
        return self.params.streams > 1 or self.params.keep_open

    def setup(self) -> None:
        p = self.params
        if self.multi:
            ids = [self.name] if p.streams == 1 else [f"{self.name}{i}" for i in range(p.streams)]
            settings = SceneSettings(self._config(p), p.live, p.realtime, p.emit_instances)
            # Each stream takes the next seed; streams added later go on from there.
            factory = StreamFactory(scene=settings, seeds=itertools.count(p.seed))
            self.start_streams([(i, SYNTHETIC) for i in ids], factory, p.keep_open)
            return
        self._scene = SceneGenerator(self._config(p))
        self.log.info("synthetic scene %dx%d, seed %d", p.width, p.height, p.seed)

    def close(self) -> None:
        if self.multi:
            self.stop_streams()

    def frames(self) -> Iterator[Frame | EndOfStream]:
        if self.multi:
            yield from self.stream_frames()
            return
        p = self.params
        period = 1.0 / p.fps if p.live or p.realtime else 0.0
        for scene_frame in paced(self._scene, period, self.pause):
            item = scene_item(scene_frame, p.emit_instances)
            yield self.make_frame(item.image, instances=item.instances, meta=item.meta)
