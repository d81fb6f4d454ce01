"""A synthetic scene as a stream: rendered figures with exact ground truth, paced like a camera.

Used by SyntheticScene (``streams: N``) and by any multi-stream source asked to add the
stream ``synthetic``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from flowpose.frame import Instance
from flowpose.nodes.stream_set import ReadContext, StreamItem
from flowpose.synthetic import GroundTruthObject, SceneConfig
from flowpose.synthetic import SyntheticScene as SceneGenerator

SYNTHETIC = "synthetic"
"""The source value that names a synthetic scene stream."""

T = TypeVar("T")


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


@dataclass(frozen=True)
class SceneSettings:
    """How a synthetic stream renders and paces (a SyntheticScene's params, or the defaults).

    Attributes:
        config: The scene; its ``seed`` is replaced per stream.
        live: Behave like a camera: paced at ``config.fps``, only the newest frame counts.
        realtime: With ``live`` false, still pace at ``config.fps``.
        emit_instances: Put the ground truth on the frames as instances too.
    """

    config: SceneConfig = field(default_factory=SceneConfig)
    live: bool = True
    realtime: bool = False
    emit_instances: bool = False


class SyntheticReader:
    """One synthetic scene read as :class:`StreamItem` s (ends after ``num_frames`` if set).

    Args:
        settings: Rendering and pacing.
        seed: The scene's seed (equal seeds give identical frames).
    """

    def __init__(self, settings: SceneSettings, seed: int) -> None:
        self.settings = settings
        self.seed = seed
        self.source = f"{SYNTHETIC} (seed {seed})"
        self.live = settings.live
        self.lossless = not settings.live
        self.state = "running"
        self._scene = SceneGenerator(dataclasses.replace(settings.config, seed=seed))

    def items(self, ctx: ReadContext) -> Iterator[StreamItem]:
        s = self.settings
        period = 1.0 / s.config.fps if s.live or s.realtime else 0.0
        for scene_frame in paced(self._scene, period, ctx.pause, ctx.stopped):
            yield scene_item(scene_frame, s.emit_instances)

    def close(self) -> None:
        """Nothing to release: the scene lives in memory."""


def paced(
    frames: Iterable[T], period: float, pause: Callable[[float], bool], stopped: Callable[[], bool] | None = None
) -> Iterator[T]:
    """``frames``, one per ``period`` seconds (0: as fast as they are taken), until told to stop.

    Args:
        frames: What to pace (rendered lazily: each is made before its wait).
        period: Seconds between frames; 0 paces nothing.
        pause: Waits the given seconds (longer while paused); False when the reader must stop.
        stopped: Whether the reader must stop, asked between unpaced frames (None: never).
    """
    next_t = time.monotonic()
    for item in frames:
        if period:
            # Deadlines keep the average rate exact; after a stall, restart from now.
            next_t = max(next_t + period, time.monotonic())
            if not pause(next_t - time.monotonic()):
                return
        elif stopped is not None and stopped():
            return
        yield item


def scene_item(scene_frame: Any, emit_instances: bool) -> StreamItem:
    """One rendered scene frame as a stream item (ground truth in meta, and as instances if asked)."""
    image = scene_frame.image
    image.setflags(write=False)  # frames are immutable once sent
    meta = {
        "ground_truth": [ground_truth_record(o) for o in scene_frame.objects],
        "scene_time_s": float(scene_frame.timestamp_s),
    }
    instances = tuple(ground_truth_instance(o) for o in scene_frame.objects) if emit_instances else ()
    return StreamItem(image, time.time_ns(), meta, instances)
