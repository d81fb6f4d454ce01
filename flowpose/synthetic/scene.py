"""Synthetic scenes: people and animals walking about, with exact ground truth per frame."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from flowpose.synthetic.background import Lighting, make_background, make_occluder
from flowpose.synthetic.figures import FigureModel
from flowpose.synthetic.human import HumanFigure
from flowpose.synthetic.motion import Motion, Stage, pose_figure
from flowpose.synthetic.quadruped import SPECIES, QuadrupedFigure
from flowpose.synthetic.render import render_figures
from flowpose.synthetic.truth import GroundTruthObject, SceneFrame

logger = logging.getLogger(__name__)

_LIGHTING_PERIOD_S = 4.0  # seconds between lighting keyframes


@dataclass(frozen=True)
class SceneConfig:
    """Settings of a synthetic scene (and of single samples).

    Attributes:
        width: Image width in pixels.
        height: Image height in pixels.
        seed: Seed of everything random; equal seeds give byte-identical frames.
        fps: Frames per second of scene time.
        num_people: Inclusive range of the number of people.
        num_animals: Inclusive range of the number of animals.
        species: Animal species to draw from (keys of ``quadruped.SPECIES``).
        num_occluders: Inclusive range of the number of foreground occluders.
        motion_speed: Multiplier of walking speeds (0 freezes the figures in place).
        max_roll_deg: Largest in-plane tilt of a figure, degrees.
        lighting: Strength of lighting changes, 0 (none) to 1 (realistic spread) or more.
        person_height: Height of a person, as a fraction of the image height, far and near.
        min_visible_pixels: Figures showing fewer pixels are left out of the ground truth.
        num_frames: Length of the scene; None runs forever.
    """

    width: int = 640
    height: int = 480
    seed: int = 0
    fps: float = 30.0
    num_people: tuple[int, int] = (1, 2)
    num_animals: tuple[int, int] = (1, 2)
    species: tuple[str, ...] = ("dog", "cat", "horse")
    num_occluders: tuple[int, int] = (0, 2)
    motion_speed: float = 1.0
    max_roll_deg: float = 10.0
    lighting: float = 1.0
    person_height: tuple[float, float] = (0.3, 0.8)
    min_visible_pixels: int = 20
    num_frames: int | None = None

    def __post_init__(self) -> None:
        if self.width < 16 or self.height < 16:
            raise ValueError(f"SceneConfig: image must be at least 16x16, got {self.width}x{self.height}")
        if not self.fps > 0:
            raise ValueError(f"SceneConfig.fps must be > 0, got {self.fps}")
        for name in ("num_people", "num_animals", "num_occluders"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ValueError(f"SceneConfig.{name} must be (min, max) with 0 <= min <= max, got {(lo, hi)}")
        if self.num_people[1] + self.num_animals[1] == 0:
            raise ValueError("SceneConfig: num_people and num_animals allow no figure at all")
        unknown = sorted(set(self.species) - set(SPECIES))
        if unknown or (self.num_animals[1] > 0 and not self.species):
            raise ValueError(f"SceneConfig.species: unknown {unknown or 'empty list'}; known: {sorted(SPECIES)}")
        far, near = self.person_height
        if not 0 < far <= near:
            raise ValueError(f"SceneConfig.person_height must be (far, near) with 0 < far <= near, got {(far, near)}")
        if self.motion_speed < 0 or self.max_roll_deg < 0 or self.lighting < 0:
            raise ValueError("SceneConfig: motion_speed, max_roll_deg and lighting must be >= 0")
        if self.num_frames is not None and self.num_frames < 0:
            raise ValueError(f"SceneConfig.num_frames must be >= 0 or None, got {self.num_frames}")

    @property
    def stage(self) -> Stage:
        """Ground plane of this image size."""
        far, near = self.person_height
        return Stage(self.width, self.height, (far * self.height, near * self.height), (0.5 * self.height, 0.97 * self.height))


def _make_figures(rng: np.random.Generator, config: SceneConfig) -> list[FigureModel]:
    people = int(rng.integers(config.num_people[0], config.num_people[1] + 1))
    animals = int(rng.integers(config.num_animals[0], config.num_animals[1] + 1))
    if people + animals == 0:
        people, animals = (1, 0) if config.num_people[1] else (0, 1)
    figures: list[FigureModel] = [HumanFigure(rng) for _ in range(people)]
    figures += [QuadrupedFigure(rng, str(rng.choice(config.species))) for _ in range(animals)]
    return figures


def _objects(figures: list, truths: list, min_pixels: int) -> tuple[GroundTruthObject, ...]:
    return tuple(
        GroundTruthObject(f.track_id, f.label, f.layout.name, t.bbox, t.keypoints, t.visibility)
        for f, t in zip(figures, truths, strict=True)
        if t.bbox is not None and t.visible_pixels >= min_pixels
    )


class SyntheticScene(Iterator[SceneFrame]):
    """An endless (or ``num_frames`` long) video of moving figures with ground truth.

    Example:
        >>> scene = SyntheticScene(SceneConfig(seed=3))
        >>> frame = next(scene)
        >>> frame.image.shape, [o.label for o in frame.objects]  # doctest: +SKIP

    Args:
        config: Scene settings.
    """

    def __init__(self, config: SceneConfig | None = None) -> None:
        self.config = config = config or SceneConfig()
        # Independent streams, so that e.g. the background does not change a figure's motion.
        seeds = np.random.SeedSequence(config.seed).spawn(3)
        scene_rng, self._rng = np.random.default_rng(seeds[0]), np.random.default_rng(seeds[1])
        self._light_rng = np.random.default_rng(seeds[2])
        self._stage = config.stage
        self._background = make_background(scene_rng, config.width, config.height)
        self._occluders = [
            make_occluder(scene_rng, config.width, config.height)
            for _ in range(int(scene_rng.integers(config.num_occluders[0], config.num_occluders[1] + 1)))
        ]
        self._models = _make_figures(scene_rng, config)
        self._motions = [Motion.random(scene_rng, m, self._stage) for m in self._models]
        self._lights = (Lighting.random(self._light_rng, config.lighting), Lighting.random(self._light_rng, config.lighting))
        self._light_key = 0
        self._index = 0
        logger.debug("synthetic scene seed=%d: %s", config.seed, [m.label for m in self._models])

    @property
    def index(self) -> int:
        """Index of the next frame."""
        return self._index

    def __iter__(self) -> SyntheticScene:
        return self

    def __next__(self) -> SceneFrame:
        cfg = self.config
        if cfg.num_frames is not None and self._index >= cfg.num_frames:
            raise StopIteration
        t = self._index / cfg.fps
        if self._index > 0:
            for model, motion in zip(self._models, self._motions, strict=True):
                motion.step(self._rng, model, self._stage, 1.0 / cfg.fps, cfg.motion_speed, math.radians(cfg.max_roll_deg))
        posed = [
            pose_figure(model, motion, self._stage, t, track_id, motion.amplitude(cfg.motion_speed))
            for track_id, (model, motion) in enumerate(zip(self._models, self._motions, strict=True))
        ]
        image = self._background.copy()
        truths = render_figures(image, posed, self._occluders)
        self._lighting_at(t).apply(image)
        frame = SceneFrame(image, self._index, t, _objects(posed, truths, cfg.min_visible_pixels))
        self._index += 1
        return frame

    next = __next__

    def _lighting_at(self, t: float) -> Lighting:
        # Lighting glides between random keyframes, one every _LIGHTING_PERIOD_S seconds.
        while t >= (self._light_key + 1) * _LIGHTING_PERIOD_S:
            self._light_key += 1
            self._lights = (self._lights[1], Lighting.random(self._light_rng, self.config.lighting))
        w = t / _LIGHTING_PERIOD_S - self._light_key
        return self._lights[0].blend(self._lights[1], w * w * (3 - 2 * w))  # smoothstep: no kinks


def render_sample(rng: np.random.Generator, config: SceneConfig | None = None) -> SceneFrame:
    """One independent random image with ground truth (no temporal continuity).

    Poses, views and lighting are drawn wider than in scenes (kicks, raised arms, turned
    heads, rearing animals), which is what a trainer wants from independent samples.
    ``config.seed`` is ignored: ``rng`` decides everything.

    Args:
        rng: Random source; the same state gives the same sample.
        config: Image size and figure counts; defaults to :class:`SceneConfig`.
    """
    config = config or SceneConfig()
    stage = config.stage
    background = make_background(rng, config.width, config.height)
    models = _make_figures(rng, config)
    posed = []
    for track_id, model in enumerate(models):
        motion = Motion.random(rng, model, stage, wild=True)
        motion.roll = float(np.clip(rng.normal(0.0, math.radians(config.max_roll_deg)), -math.pi, math.pi))
        if posed and rng.random() < 0.35:  # crowd the figures now and then: overlaps are the hard cases
            motion.x = float(posed[-1].points[:, 0].mean() + rng.normal(0.0, 0.08 * config.width))
        t = float(rng.uniform(0.0, 10.0))
        posed.append(pose_figure(model, motion, stage, t, track_id, float(rng.uniform(0.0, 1.0))))
    occluders = [
        make_occluder(rng, config.width, config.height)
        for _ in range(int(rng.integers(config.num_occluders[0], config.num_occluders[1] + 1)))
    ]
    truths = render_figures(background, posed, occluders)
    Lighting.random(rng, config.lighting).apply(background)
    return SceneFrame(background, 0, 0.0, _objects(posed, truths, config.min_visible_pixels))
