"""Sequences for the smoothing evaluation: synthetic scenes seen through a noisy detector."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from flowpose.evaluation.detector_noise import OUTSIDE, DetectorNoise, object_size, observe
from flowpose.evaluation.smoothing_metrics import Series
from flowpose.frame import Frame
from flowpose.synthetic import SceneConfig, SyntheticScene

#: Capture clock of the simulated camera at the first frame (any value; only differences matter).
_EPOCH_NS = 1_700_000_000_000_000_000
_IMAGE = np.zeros((1, 1, 3), dtype=np.uint8)  # filters never look at pixels
_IMAGE.setflags(write=False)


@dataclass(frozen=True)
class EvalConfig:
    """What the smoothing evaluation runs on.

    Attributes:
        sequences: Number of synthetic scenes.
        frames: Frames per scene.
        fps: Frame rate of the scenes (and of the simulated camera).
        seed: Seed of the scenes (scene ``i`` uses ``seed + i``) and of the noise.
        width: Image width in pixels.
        height: Image height in pixels.
        people: Inclusive range of people per scene.
        animals: Inclusive range of animals per scene.
        noise: The simulated detector.
    """

    sequences: int = 4
    frames: int = 300
    fps: float = 30.0
    seed: int = 0
    width: int = 640
    height: int = 480
    people: tuple[int, int] = (2, 3)
    animals: tuple[int, int] = (1, 2)
    noise: DetectorNoise = field(default_factory=DetectorNoise)

    def __post_init__(self) -> None:
        if self.sequences < 1 or self.frames < 3:
            raise ValueError(f"need sequences >= 1 and frames >= 3, got {self.sequences} and {self.frames}")
        if not self.fps > 0:
            raise ValueError(f"fps must be > 0, got {self.fps}")


@dataclass(frozen=True)
class SimulatedSequence:
    """One scene as the filters see it, and the truth to score them against.

    Attributes:
        frames: The delivered frames, in order, with noisy instances carrying true track ids.
        series: Truth per track id (arrays over every frame of the scene, delivered or not).
        delivered: (F,) bool: frames that reached the filters.
    """

    frames: list[Frame]
    series: dict[int, Series]
    delivered: np.ndarray


def simulate(config: EvalConfig, index: int) -> SimulatedSequence:
    """Scene ``index`` of ``config``: render it, add detector noise, drop frames."""
    scene = SyntheticScene(
        SceneConfig(
            width=config.width,
            height=config.height,
            seed=config.seed + index,
            fps=config.fps,
            num_people=config.people,
            num_animals=config.animals,
            num_frames=config.frames,
            # The scenes' in-plane tilt is a random walk: its velocity is white noise, which no
            # real body does. It would count as jitter of the truth itself and hide lag.
            max_roll_deg=0.0,
        )
    )
    rng = np.random.default_rng([config.seed, index])
    n = config.frames
    delivered = rng.random(n) >= config.noise.drop_rate
    delivered[0] = True
    truth: dict[int, np.ndarray] = {}
    size: dict[int, np.ndarray] = {}
    mask: dict[int, np.ndarray] = {}
    frames = []
    for scene_frame in scene:
        f = scene_frame.index
        instances = []
        for obj in scene_frame.objects:
            seen = observe(obj, config.noise, rng)
            tid, k = obj.track_id, len(obj.keypoints)
            if tid not in truth:
                truth[tid], size[tid] = np.full((n, k, 2), np.nan), np.full(n, np.nan)
                mask[tid] = np.zeros((n, k), dtype=bool)
            truth[tid][f] = obj.keypoints
            size[tid][f] = object_size(obj.keypoints)
            mask[tid][f] = seen.detected & (np.asarray(obj.visibility) != OUTSIDE) & delivered[f]
            instances.append(seen.instance)
        if delivered[f]:
            stamp = _EPOCH_NS + round(scene_frame.timestamp_s * 1e9)
            frames.append(Frame(f, stamp, f"scene-{index}", _IMAGE, tuple(instances)))
    series = {tid: Series(truth[tid], size[tid], mask[tid]) for tid in truth}
    return SimulatedSequence(frames, series, delivered)
