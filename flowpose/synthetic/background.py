"""Backgrounds, occluder shapes and lighting for synthetic scenes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from flowpose.synthetic.render import Occluder


def _color(rng: np.random.Generator, lo: int = 0, hi: int = 256) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(lo, hi, 3))  # type: ignore[return-value]


def make_background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A random backdrop: gradient, smooth noise, maybe a ground plane, clutter shapes, grain.

    Args:
        rng: Random source.
        width: Image width in pixels.
        height: Image height in pixels.

    Returns:
        uint8 (H, W, 3) BGR image.
    """
    # Work at 1/16 resolution and upsample: smooth structure for a fraction of the cost.
    sw, sh = max(2, width // 16), max(2, height // 16)
    angle = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    ramp = (xx / sw * math.cos(angle) + yy / sh * math.sin(angle) + 1.0) / 2.0
    c0, c1 = np.array(_color(rng), np.float32), np.array(_color(rng), np.float32)
    small = c0 + (c1 - c0) * ramp[..., None] + rng.normal(0.0, rng.uniform(5, 35), (sh, sw, 3)).astype(np.float32)
    if rng.random() < 0.6:
        horizon = int(sh * rng.uniform(0.25, 0.6))
        ground = np.array(_color(rng, 20, 200), np.float32)
        fade = np.linspace(0.7, 1.1, sh - horizon, dtype=np.float32)[:, None, None]
        small[horizon:] = ground * fade + rng.normal(0.0, 8.0, (sh - horizon, sw, 3)).astype(np.float32)
    image = cv2.resize(np.clip(small, 0, 255), (width, height), interpolation=cv2.INTER_CUBIC).astype(np.uint8)
    for _ in range(int(rng.integers(2, 14))):
        _clutter(rng, image)
    if rng.random() < 0.5:
        grain = rng.integers(-12, 13, (height // 2 + 1, width // 2 + 1, 1), dtype=np.int16)
        grain = np.repeat(np.repeat(grain, 2, axis=0), 2, axis=1)[:height, :width]
        image = np.clip(image.astype(np.int16) + grain, 0, 255).astype(np.uint8)
    return image


def _clutter(rng: np.random.Generator, image: np.ndarray) -> None:
    """One random shape (box, disc, line, polygon or stripe band) drawn in place."""
    h, w = image.shape[:2]
    color = _color(rng)
    cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
    size = int(rng.uniform(0.03, 0.35) * min(w, h))
    kind = int(rng.integers(5))
    if kind == 0:
        cv2.rectangle(image, (cx - size, cy - size // 2), (cx + size, cy + size), color, -1)
    elif kind == 1:
        cv2.circle(image, (cx, cy), size, color, -1, cv2.LINE_AA)
    elif kind == 2:
        end = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.line(image, (cx, cy), end, color, int(rng.integers(1, 12)), cv2.LINE_AA)
    elif kind == 3:
        pts = np.array([cx, cy]) + rng.normal(0, size, (int(rng.integers(3, 7)), 2))
        cv2.fillPoly(image, [pts.astype(np.int32)], color, cv2.LINE_AA)
    else:
        step = int(rng.integers(6, 30))
        for x in range(cx - size, cx + size, 2 * step):
            cv2.rectangle(image, (x, cy - size), (x + step, cy + size), color, -1)


def make_occluder(rng: np.random.Generator, width: int, height: int) -> Occluder:
    """A random foreground shape: a post, a box or a bush-like blob."""
    kind = int(rng.integers(3))
    cx, cy = rng.uniform(0, width), rng.uniform(0.2 * height, height)
    s = min(width, height)
    if kind == 0:  # a post or a pillar standing on the ground
        half = rng.uniform(0.02, 0.07) * s
        pts = np.array([[cx - half, -10.0], [cx + half, -10.0], [cx + half, cy], [cx - half, cy]])
    elif kind == 1:
        hw, hh = rng.uniform(0.05, 0.2) * s, rng.uniform(0.05, 0.15) * s
        a = rng.uniform(-0.3, 0.3)
        corners = np.array([[-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh]])
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        pts = corners @ rot.T + (cx, cy)
    else:
        axes = (int(rng.uniform(0.05, 0.18) * s), int(rng.uniform(0.04, 0.12) * s))
        pts = cv2.ellipse2Poly((int(cx), int(cy)), axes, int(rng.integers(0, 180)), 0, 360, 12).astype(np.float64)
    return Occluder(pts.astype(np.float32), _color(rng, 10, 220))


@dataclass(frozen=True)
class Lighting:
    """A global photometric change: contrast about mid-grey, brightness, per-channel gain.

    Attributes:
        contrast: Multiplier of the distance from 128.
        brightness: Added after contrast, in grey levels.
        gains: Per-channel (B, G, R) multipliers: colour casts.
    """

    contrast: float = 1.0
    brightness: float = 0.0
    gains: tuple[float, float, float] = (1.0, 1.0, 1.0)

    @classmethod
    def random(cls, rng: np.random.Generator, strength: float = 1.0) -> Lighting:
        """Random lighting; ``strength`` 0 gives identity, 1 a realistic spread."""
        gains = tuple(float(1.0 + strength * g) for g in rng.uniform(-0.18, 0.18, 3))
        return cls(1.0 + strength * rng.uniform(-0.35, 0.25), strength * rng.uniform(-45, 35), gains)  # type: ignore[arg-type]

    def apply(self, image: np.ndarray) -> None:
        """Apply in place to a uint8 (H, W, 3) image through a lookup table."""
        if self == Lighting():
            return
        levels = (np.arange(256, dtype=np.float32) - 128.0) * self.contrast + 128.0 + self.brightness
        lut = np.clip(levels[:, None] * np.array(self.gains, np.float32)[None, :], 0, 255).astype(np.uint8)
        cv2.LUT(image, lut.reshape(256, 1, 3), dst=image)

    def blend(self, other: Lighting, weight: float) -> Lighting:
        """Linear mix, ``weight`` 0 is self and 1 is ``other`` (smooth changes over time)."""
        mix = lambda a, b: a + (b - a) * weight  # noqa: E731
        gains = tuple(mix(a, b) for a, b in zip(self.gains, other.gains, strict=True))
        return Lighting(mix(self.contrast, other.contrast), mix(self.brightness, other.brightness), gains)  # type: ignore[arg-type]
