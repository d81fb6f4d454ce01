"""What every synthetic figure is made of: joints in 3-D, drawable parts, a projection.

A figure model (:mod:`~flowpose.synthetic.human`, :mod:`~flowpose.synthetic.quadruped`)
poses its joints in a body frame ``(left, up, forward)`` measured in body units. Posing
in 3-D and projecting orthographically gives, for free, believable views from any side,
foreshortening while turning, and a depth per joint so parts are drawn back to front and
self-occlusion is honest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from flowpose.meta import KeypointLayout

Color = tuple[int, int, int]


@dataclass(frozen=True)
class Part:
    """One drawable piece of a figure: a tapered capsule (2 joints) or a convex polygon (3+).

    Attributes:
        joints: Joint indices; 2 for a capsule from the first to the second, 3+ for a polygon.
        radii: Capsule radius at each end in body units (polygons ignore it).
        color: Fill colour, BGR.
        owners: Layout keypoint indices that stay visible when this part covers them
            (the joint's own limb, the torso around a hip, the head around an eye).
        textured: Whether the figure's texture pattern is applied on this part.
        depth_bias: Added to the part's mean depth when sorting; negative draws it later.
    """

    joints: tuple[int, ...]
    radii: tuple[float, float] = (0.0, 0.0)
    color: Color = (128, 128, 128)
    owners: tuple[int, ...] = ()
    textured: bool = False
    depth_bias: float = 0.0


@dataclass(frozen=True)
class View:
    """Where and how a figure is seen.

    Attributes:
        anchor: Image point (x, y) under the body's root on the ground, pixels.
        scale: Pixels per body unit.
        yaw: Heading in radians; 0 faces the camera, +pi/2 faces image right.
        roll: In-plane rotation in radians around the body centre.
        pivot_up: Height (body units) of the roll centre above the ground.
    """

    anchor: tuple[float, float]
    scale: float
    yaw: float
    roll: float = 0.0
    pivot_up: float = 0.5


@dataclass
class PosedFigure:
    """A figure ready to draw: 2-D joints, parts and what the ground truth needs.

    Attributes:
        label: Class name, e.g. ``"person"``.
        layout: Keypoint layout of ``keypoint_joints``.
        track_id: Stable identity.
        points: Joint positions in image pixels, float64 (J, 2).
        depth: Joint depth (larger is farther), float64 (J,).
        scale: Pixels per body unit (turns part radii into pixels).
        parts: Drawable parts.
        keypoint_joints: Joint index of each layout keypoint, int (K,).
        facing_ok: Per keypoint, False where the surface it sits on faces away (bool (K,)).
        owner_table: ``owner_table[k, p]`` is True when part p may cover keypoint k and leave
            it visible, bool (K, P).
        texture: Optional modulation tile, uint8 (T, T), 255 = unchanged.
        order: Figure depth used to sort figures; larger is drawn first.
    """

    label: str
    layout: KeypointLayout
    track_id: int
    points: np.ndarray
    depth: np.ndarray
    scale: float
    parts: tuple[Part, ...]
    keypoint_joints: np.ndarray
    facing_ok: np.ndarray
    owner_table: np.ndarray
    texture: np.ndarray | None
    order: float


class FigureModel(Protocol):
    """A posable figure (one individual: proportions and colours fixed at creation)."""

    label: str
    layout: KeypointLayout
    parts: tuple[Part, ...]
    keypoint_joints: np.ndarray
    owner_table: np.ndarray
    texture: np.ndarray | None
    num_dofs: int
    stride: float
    height: float

    def pose(
        self, phase: float, amplitude: float, offsets: np.ndarray, t: float, yaw: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pose the figure.

        Args:
            phase: Gait phase in radians.
            amplitude: Gait strength, 0 (standing) to 1 (full stride).
            offsets: Per-DOF angle offsets (``num_dofs``,) in radians: the figure's style.
            t: Time in seconds (for idle motion such as a wagging tail).
            yaw: Heading (see :class:`View`); outlines of round bodies depend on it.

        Returns:
            ``(joints, normals)``: joints (J, 3) as (left, up, forward) in body units with
            the feet on the ground, and per-keypoint surface normals (K, 3) (zero = none).
        """
        ...


def make_owner_table(parts: tuple[Part, ...], num_keypoints: int) -> np.ndarray:
    """``table[k, p]``: part p is one that keypoint k may lie under and still count as visible."""
    table = np.zeros((num_keypoints, len(parts)), dtype=bool)
    for p, part in enumerate(parts):
        table[list(part.owners), p] = True
    return table


def project(local: np.ndarray, view: View) -> tuple[np.ndarray, np.ndarray]:
    """Orthographic projection of body-frame joints into the image.

    Args:
        local: Joints (J, 3) as (left, up, forward), body units.
        view: Placement, scale, heading and in-plane rotation.

    Returns:
        ``(points, depth)``: image pixels (J, 2) and depth in pixels (J,), larger = farther.
    """
    c, s = math.cos(view.yaw), math.sin(view.yaw)
    left, up, fwd = local[:, 0], local[:, 1], local[:, 2]
    # Camera frame: x right, y down, z away from the camera. Facing the camera (yaw 0) puts
    # the figure's left on the image right, as in a mirror-less photo of a person.
    x = (left * c + fwd * s) * view.scale
    y = (view.pivot_up - up) * view.scale
    z = (left * s - fwd * c) * view.scale
    cr, sr = math.cos(view.roll), math.sin(view.roll)
    px = view.anchor[0] + cr * x - sr * y
    py = view.anchor[1] - view.pivot_up * view.scale + sr * x + cr * y
    return np.stack([px, py], axis=1), z


def facing_camera(normals: np.ndarray, yaw: float, threshold: float = -0.3) -> np.ndarray:
    """Which body-frame surface normals (K, 3) face the camera enough to be seen (bool (K,)).

    Rows of zeros (no normal) are always seen.
    """
    toward = normals[:, 2] * math.cos(yaw) - normals[:, 0] * math.sin(yaw)
    return (toward > threshold) | ~normals.any(axis=1)


def silhouette(half_width: float, half_depth: float, yaw: float) -> tuple[float, float]:
    """Body-frame (left, forward) offset of the outline point of an elliptic cross-section.

    Seen from the camera at ``yaw``, the ellipse with semi-axes ``half_width`` (left) and
    ``half_depth`` (forward) spans exactly +- this point, so a torso polygon built from it
    keeps its true apparent width in every view.
    """
    t = math.atan2(half_depth * math.sin(yaw), half_width * math.cos(yaw))
    return half_width * math.cos(t), half_depth * math.sin(t)
