"""Smooth motion of figures over time: wandering on a ground plane, gait, turning, style drift.

Positions live on a simple ground plane: ``x`` in image pixels and ``depth`` in [0, 1]
(0 nearest the camera, bottom of the image; 1 far, higher up and smaller). All changes
are integrated with small steps and mean-reverting noise, so consecutive frames differ a
little, never jump.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from flowpose.synthetic.figures import FigureModel, PosedFigure, View, facing_camera, project

_DEPTH_SPAN = 6.0  # body heights walked between the nearest and the farthest ground line


@dataclass(frozen=True)
class Stage:
    """How the ground plane maps into the image.

    Attributes:
        width: Image width in pixels.
        height: Image height in pixels.
        person_height: Height in pixels of a person at depth 1 (far) and depth 0 (near).
        ground: Image y of the ground line at depth 1 and depth 0.
    """

    width: int
    height: int
    person_height: tuple[float, float]
    ground: tuple[float, float]

    def at(self, depth: float) -> tuple[float, float]:
        """``(person_height_px, ground_y)`` at ``depth``."""
        far, near = self.person_height
        return near + (far - near) * depth, self.ground[1] + (self.ground[0] - self.ground[1]) * depth


@dataclass
class Motion:
    """Kinematic state of one figure.

    Attributes:
        x: Ground point x in pixels. depth: Ground depth in [0, 1].
        yaw: Heading (radians). yaw_rate: Turning speed (rad/s).
        speed: Current speed in body heights per second. cruise: Speed it tends to.
        phase: Gait phase (radians). roll: In-plane tilt (radians).
        size: Individual size factor (children, small dogs...).
        offsets: Current style offsets (num_dofs,). target: Offsets it drifts toward.
    """

    x: float
    depth: float
    yaw: float
    yaw_rate: float
    speed: float
    cruise: float
    phase: float
    roll: float
    size: float
    offsets: np.ndarray
    target: np.ndarray

    @classmethod
    def random(cls, rng: np.random.Generator, model: FigureModel, stage: Stage, wild: bool = False) -> Motion:
        """A random starting state somewhere in view; ``wild`` draws unusual poses too."""
        cruise = 0.0 if rng.random() < 0.2 else float(rng.uniform(0.25, 0.7))
        offsets = model.sample_offsets(rng, wild)  # type: ignore[attr-defined]
        return cls(
            x=float(rng.uniform(0.1, 0.9) * stage.width), depth=float(rng.uniform(0.0, 1.0)),
            yaw=float(rng.uniform(-math.pi, math.pi)), yaw_rate=0.0, speed=cruise, cruise=cruise,
            phase=float(rng.uniform(0, 2 * math.pi)), roll=0.0, size=float(rng.uniform(0.8, 1.1)),
            offsets=offsets, target=offsets.copy(),
        )  # fmt: skip

    def step(self, rng: np.random.Generator, model: FigureModel, stage: Stage, dt: float, speed_scale: float,
             max_roll: float) -> None:  # fmt: skip
        """Advance by ``dt`` seconds."""
        if rng.random() < 0.08 * dt:  # now and then stop to stand, or start walking
            self.cruise = 0.0 if self.cruise > 0 else float(rng.uniform(0.25, 0.7))
        if rng.random() < 0.3 * dt:
            self.target = model.sample_offsets(rng)  # type: ignore[attr-defined]
        self.speed += (self.cruise * speed_scale - self.speed) * min(1.0, 1.5 * dt)
        self.yaw_rate += -0.8 * self.yaw_rate * dt + rng.normal(0.0, 1.0 * math.sqrt(dt))
        # Steer back toward the middle of the stage when wandering off it.
        dx, dd = (stage.width / 2 - self.x) / stage.width, 0.5 - self.depth
        if abs(dx) > 0.35 or abs(dd) > 0.45:
            wanted = math.atan2(dx, -dd)  # heading whose ground motion points to the middle
            error = (wanted - self.yaw + math.pi) % (2 * math.pi) - math.pi
            self.yaw_rate += 2.0 * error * dt
        self.yaw_rate = float(np.clip(self.yaw_rate, -1.5, 1.5))
        self.yaw += self.yaw_rate * dt
        px, _ = stage.at(self.depth)
        self.x += self.speed * px * math.sin(self.yaw) * dt
        self.depth = float(np.clip(self.depth - self.speed * math.cos(self.yaw) * dt / _DEPTH_SPAN, -0.1, 1.1))
        self.phase += 2 * math.pi * self.speed * dt / (model.stride * body_unit(model))
        self.roll += -0.5 * self.roll * dt + rng.normal(0.0, 0.6 * max_roll * math.sqrt(dt))
        self.roll = float(np.clip(self.roll, -max_roll, max_roll))
        self.offsets += (self.target - self.offsets) * min(1.0, 1.2 * dt)

    def amplitude(self, speed_scale: float = 1.0) -> float:
        """Gait strength from the current speed (0 standing, 1 full stride)."""
        return float(np.clip(self.speed / (0.5 * max(speed_scale, 1e-6)), 0.0, 1.0))


def body_unit(model: FigureModel) -> float:
    """The model's body unit in person heights (1 for people)."""
    species = getattr(model, "species", None)
    return float(species.size) if species is not None else 1.0


def pose_figure(model: FigureModel, motion: Motion, stage: Stage, t: float, track_id: int,
                amplitude: float) -> PosedFigure:  # fmt: skip
    """Pose ``model`` as ``motion`` says and place it on the stage."""
    person_px, ground_y = stage.at(motion.depth)
    scale = person_px * motion.size * body_unit(model)
    local, normals = model.pose(motion.phase, amplitude, motion.offsets, t, motion.yaw)
    view = View((motion.x, ground_y), scale, motion.yaw, motion.roll, pivot_up=0.5 * model.height)
    points, depth = project(local, view)
    facing_ok = facing_camera(normals, motion.yaw)
    return PosedFigure(
        label=model.label, layout=model.layout, track_id=track_id, points=points, depth=depth, scale=scale,
        parts=model.parts, keypoint_joints=model.keypoint_joints, facing_ok=facing_ok,
        owner_table=model.owner_table, texture=model.texture, order=motion.depth,
    )  # fmt: skip
