"""What a Trigger looks at: a keypoint in a region, a distance, a speed — and the hysteresis on it.

A condition turns one pose into a number (``value``): 1.0 / 0.0 for "inside the region", pixels
for a distance, pixels per second for a speed, or None when the keypoints it needs are missing
or not confident. :class:`Hysteresis` turns those numbers into an on/off state that does not
chatter: a threshold to switch on, a release threshold to switch back off, and a number of
consecutive frames each switch needs.

Example:
    >>> cond = ConditionSpec(kind="distance", keypoint="a", to_point=[0, 0], below=10, release=20)
    >>> gate = Hysteresis(cond)
    >>> [gate.step(v) for v in (30, 5, 15, 25)]  # on under 10, stays on until above 20
    [None, 'on', None, 'off']
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from flowpose.frame import Frame, Instance
from flowpose.meta import load_layout

__all__ = ["ConditionSpec", "Hysteresis", "PoseProbe"]

logger = logging.getLogger(__name__)


class ConditionSpec(BaseModel):
    """The condition of a Trigger node (its ``condition`` param).

    Attributes:
        kind: ``region`` (keypoint inside ``rect`` or ``polygon``), ``distance`` (keypoint to
            ``to_keypoint`` or ``to_point``, pixels) or ``speed`` (keypoint, pixels per second).
        keypoint: Keypoint name (from the instance's layout) or index.
        rect: ``[x1, y1, x2, y2]`` for ``region``.
        polygon: ``[[x, y], ...]`` (3 or more corners) for ``region``.
        to_keypoint: The other keypoint for ``distance``.
        to_point: A fixed ``[x, y]`` for ``distance``.
        below: On when the value drops under this (``distance``; ``region`` is on inside).
        above: On when the value rises over this (``speed``, or a ``distance`` to move away).
        release: Off again only past this value (hysteresis band); default: the on threshold.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["region", "distance", "speed"]
    keypoint: str | int
    rect: list[float] | None = Field(None, min_length=4, max_length=4)
    polygon: list[list[float]] | None = Field(None, min_length=3)
    to_keypoint: str | int | None = None
    to_point: list[float] | None = Field(None, min_length=2, max_length=2)
    below: float | None = None
    above: float | None = None
    release: float | None = None

    @model_validator(mode="after")
    def _fits_kind(self) -> ConditionSpec:
        if self.kind == "region":
            if (self.rect is None) == (self.polygon is None):
                raise ValueError("a region condition needs exactly one of rect: [x1, y1, x2, y2] or polygon")
            if self.polygon is not None and any(len(p) != 2 for p in self.polygon):
                raise ValueError("polygon corners must be [x, y] pairs")
            if self.below is not None or self.above is not None or self.release is not None:
                raise ValueError("a region condition is on inside the region: no below/above/release")
            return self
        if self.kind == "distance" and (self.to_keypoint is None) == (self.to_point is None):
            raise ValueError("a distance condition needs exactly one of to_keypoint or to_point")
        if self.kind == "speed" and (self.to_keypoint is not None or self.to_point is not None):
            raise ValueError("a speed condition takes no to_keypoint/to_point")
        if (self.below is None) == (self.above is None):
            raise ValueError(f"a {self.kind} condition needs exactly one of below or above")
        if self.release is not None:
            if self.below is not None and self.release < self.below:
                raise ValueError(f"release ({self.release}) must be >= below ({self.below})")
            if self.above is not None and self.release > self.above:
                raise ValueError(f"release ({self.release}) must be <= above ({self.above})")
        return self


@dataclass
class PoseProbe:
    """Computes a condition's value from frames (keeps the previous position for speeds).

    Args:
        spec: The condition.
        label: Only instances with this label count; None: any instance with keypoints.
        min_score: Keypoints scoring below this count as missing.
    """

    spec: ConditionSpec
    label: str | None = None
    min_score: float = 0.3
    _index_cache: dict[tuple[str, str | int], int] = field(default_factory=dict, init=False, repr=False)
    _last: tuple[int, np.ndarray] | None = field(default=None, init=False, repr=False)

    def instance(self, frame: Frame) -> Instance | None:
        """The instance the condition looks at: the highest-scoring one with keypoints (and the label)."""
        posed = [
            i for i in frame.instances if i.keypoints is not None and (self.label is None or i.label == self.label)
        ]
        return max(posed, key=lambda i: i.score) if posed else None

    def _index(self, inst: Instance, keypoint: str | int) -> int:
        key = (inst.layout, keypoint)
        if key not in self._index_cache:
            if isinstance(keypoint, int):
                index = keypoint
            elif not inst.layout:
                raise ValueError(f"keypoint {keypoint!r} is a name, but the instance has no layout; use an index")
            else:
                index = load_layout(inst.layout).index(keypoint)
            if not 0 <= index < inst.num_keypoints:
                raise ValueError(f"keypoint {keypoint!r} is out of range for {inst.num_keypoints} keypoints")
            self._index_cache[key] = index
        return self._index_cache[key]

    def _point(self, inst: Instance, keypoint: str | int) -> np.ndarray | None:
        k = self._index(inst, keypoint)
        assert inst.keypoints is not None and inst.keypoint_scores is not None
        xy = inst.keypoints[k]
        if inst.keypoint_scores[k] < self.min_score or not np.isfinite(xy).all():
            return None
        return xy.astype(np.float64)

    def value(self, frame: Frame) -> tuple[float | None, list[float] | None]:
        """The condition's value on this frame and the keypoint's ``[x, y]`` (None when missing)."""
        inst = self.instance(frame)
        point = None if inst is None else self._point(inst, self.spec.keypoint)
        xy = None if point is None else point.tolist()
        spec = self.spec
        if point is None:
            if spec.kind == "speed":
                self._last = None  # a gap: the next speed must not span it
            return None, xy
        assert inst is not None
        if spec.kind == "region":
            return (1.0 if self._inside(point) else 0.0), xy
        if spec.kind == "distance":
            other = np.asarray(spec.to_point, np.float64) if spec.to_point is not None else None
            if spec.to_keypoint is not None:
                other = self._point(inst, spec.to_keypoint)
            return (None if other is None else float(np.hypot(*(point - other)))), xy
        last, self._last = self._last, (frame.capture_ns, point)
        if last is None or frame.capture_ns <= last[0]:
            return None, xy
        return float(np.hypot(*(point - last[1])) * 1e9 / (frame.capture_ns - last[0])), xy

    def _inside(self, point: np.ndarray) -> bool:
        if self.spec.rect is not None:
            x1, y1, x2, y2 = self.spec.rect
            return bool(x1 <= point[0] <= x2 and y1 <= point[1] <= y2)
        contour = np.asarray(self.spec.polygon, np.float32).reshape(-1, 1, 2)
        return cv2.pointPolygonTest(contour, (float(point[0]), float(point[1])), False) >= 0


@dataclass
class Hysteresis:
    """On/off state from a condition's values: thresholds with a release band, and min frames.

    Args:
        spec: The condition (its ``below`` / ``above`` / ``release``; a region is on at 1.0).
        min_frames_on: Consecutive frames the on-condition must hold before switching on.
        min_frames_off: Consecutive frames the off-condition must hold before switching off.

    Attributes:
        on: The current state.
    """

    spec: ConditionSpec
    min_frames_on: int = 1
    min_frames_off: int = 1
    on: bool = False
    _streak: int = field(default=0, init=False, repr=False)

    def _wants_on(self, value: float | None) -> bool:
        s = self.spec
        if value is None:
            return False
        if s.kind == "region":
            return value >= 0.5
        return value < s.below if s.below is not None else value > s.above  # type: ignore[operator]

    def _wants_off(self, value: float | None) -> bool:
        s = self.spec
        if value is None:  # the animal is lost: nothing holds the state on
            return True
        if s.kind == "region":
            return value < 0.5
        if s.below is not None:
            return value > (s.release if s.release is not None else s.below)
        return value < (s.release if s.release is not None else s.above)  # type: ignore[operator]

    def step(self, value: float | None) -> Literal["on", "off"] | None:
        """Feed one frame's value; returns ``"on"`` / ``"off"`` when the state switches, else None."""
        switching = self._wants_off(value) if self.on else self._wants_on(value)
        self._streak = self._streak + 1 if switching else 0
        if self._streak < (self.min_frames_off if self.on else self.min_frames_on):
            return None
        self.on, self._streak = not self.on, 0
        return "on" if self.on else "off"
