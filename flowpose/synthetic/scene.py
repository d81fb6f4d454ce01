"""Synthetic scenes: people and animals walking about, with exact ground truth per frame."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator

import numpy as np

from flowpose.synthetic.background import Lighting, make_background, make_occluder
from flowpose.synthetic.config import SceneConfig
from flowpose.synthetic.figures import FigureModel
from flowpose.synthetic.human import HumanFigure
from flowpose.synthetic.motion import Motion, pose_figure
from flowpose.synthetic.quadruped import QuadrupedFigure
from flowpose.synthetic.render import render_figures
from flowpose.synthetic.truth import GroundTruthObject, SceneFrame

logger = logging.getLogger(__name__)

_LIGHTING_PERIOD_S = 4.0  # seconds between lighting keyframes


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
        self._lights = (
            Lighting.random(self._light_rng, config.lighting),
            Lighting.random(self._light_rng, config.lighting),
        )
        self._light_key = 0
        self._index = 0
        logger.debug("synthetic scene seed=%d: %s", config.seed, [m.label for m in self._models])

    @property
    def index(self) -> int:
        """Index of the next frame."""
        return self._index

    def __iter__(self) -> SyntheticScene:
        return self

    def skip(self, frames: int) -> None:
        """Move ``frames`` frames on without drawing them (the next frame is the same as after
        as many ``next()`` calls, at a fraction of the cost: a trainer wants mid-scene frames)."""
        for _ in range(frames):
            if self.config.num_frames is not None and self._index >= self.config.num_frames:
                return
            self._move()
            self._index += 1

    def _move(self) -> None:
        """Step every figure's motion from the previous frame to this one (none for frame 0)."""
        cfg = self.config
        if self._index == 0:
            return
        for model, motion in zip(self._models, self._motions, strict=True):
            motion.step(self._rng, model, self._stage, 1.0 / cfg.fps, cfg.motion_speed, math.radians(cfg.max_roll_deg))

    def __next__(self) -> SceneFrame:
        cfg = self.config
        if cfg.num_frames is not None and self._index >= cfg.num_frames:
            raise StopIteration
        t = self._index / cfg.fps
        self._move()
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
