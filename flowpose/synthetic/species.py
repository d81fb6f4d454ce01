"""Proportions of the animal species the synthetic scenes draw."""

from __future__ import annotations

from dataclasses import dataclass

from flowpose.synthetic.figures import Color


@dataclass(frozen=True)
class Species:
    """Proportions of a species, in body units (shoulder-to-hip distance = 1).

    Attributes:
        label: Class name.
        size: Body unit in person heights, so people and animals share one scale.
        front_leg: Upper and lower front leg lengths.
        hind_leg: Upper and lower hind leg lengths.
        body_radius: Half the trunk's height.
        half_width: Half the distance between left and right legs.
        neck: Neck length. neck_elevation: its angle above horizontal (radians).
        head: Skull-to-nose length. head_pitch: how far the muzzle points down (radians).
        skull_radius: Radius at the skull. muzzle_radius: radius at the nose.
        tail: Tail length. tail_radius: its thickness. tail_elevation: its angle (radians).
        ear: Ear length. pointy_ears: upright ears (cats, horses) or floppy (dogs).
        leg_radius: Thickness of the upper leg. stride: body units per gait cycle.
        coats: Typical coat colours, BGR.
    """

    label: str
    size: float
    front_leg: tuple[float, float]
    hind_leg: tuple[float, float]
    body_radius: float
    half_width: float
    neck: float
    neck_elevation: float
    head: float
    head_pitch: float
    skull_radius: float
    muzzle_radius: float
    tail: float
    tail_radius: float
    tail_elevation: float
    ear: float
    pointy_ears: bool
    leg_radius: float
    stride: float
    coats: tuple[Color, ...]


SPECIES: dict[str, Species] = {
    "dog": Species("dog", 0.38, (0.36, 0.36), (0.38, 0.37), 0.2, 0.1, 0.3, 0.9, 0.36, 0.35, 0.14, 0.065,
                   0.5, 0.035, 0.5, 0.14, False, 0.085, 1.3,
                   ((40, 80, 140), (20, 20, 20), (200, 210, 220), (60, 140, 200), (90, 90, 100))),
    "cat": Species("cat", 0.26, (0.27, 0.27), (0.3, 0.29), 0.16, 0.09, 0.17, 0.8, 0.2, 0.2, 0.11, 0.07,
                   0.85, 0.03, 0.9, 0.11, True, 0.07, 1.1,
                   ((40, 110, 220), (120, 120, 120), (25, 25, 25), (210, 215, 220), (70, 90, 120))),
    "horse": Species("horse", 0.55, (0.5, 0.55), (0.55, 0.55), 0.27, 0.14, 0.55, 0.95, 0.5, 1.1, 0.1, 0.07,
                     0.55, 0.06, -1.0, 0.09, True, 0.08, 1.4,
                     ((30, 60, 110), (20, 30, 60), (25, 25, 25), (180, 180, 185), (50, 100, 150))),
}  # fmt: skip
