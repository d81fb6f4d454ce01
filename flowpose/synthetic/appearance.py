"""Looks of synthetic figures: colour palettes and texture patterns."""

from __future__ import annotations

import math

import cv2
import numpy as np

from flowpose.synthetic.figures import Color

SKIN = ((185, 205, 240), (150, 175, 225), (110, 140, 195), (75, 105, 155), (50, 70, 105))
HAIR = ((20, 20, 25), (30, 50, 80), (60, 110, 170), (150, 150, 150), (40, 40, 110))


def random_color(rng: np.random.Generator, lo: int = 30, hi: int = 230) -> Color:
    """A random BGR colour with channels in [lo, hi)."""
    return tuple(int(v) for v in rng.integers(lo, hi, 3))  # type: ignore[return-value]


def shade(color: Color, factor: float) -> Color:
    """``color`` scaled by ``factor`` (darker below 1)."""
    return tuple(int(min(255, c * factor)) for c in color)  # type: ignore[return-value]


def make_texture(rng: np.random.Generator, size: int = 128) -> np.ndarray | None:
    """A random modulation tile (T, T) uint8: stripes, spots or grain; None for plain."""
    kind = rng.choice(["plain", "stripes", "spots", "grain"], p=[0.35, 0.3, 0.2, 0.15])
    if kind == "plain":
        return None
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    if kind == "stripes":
        # Integer wave numbers along x and y keep the wrapped pattern seamless at any angle.
        kx, ky = int(rng.integers(-6, 7)), int(rng.integers(1, 7))
        wave = np.sin(2 * math.pi * (kx * xx + ky * yy) / size)
        tile = np.where(wave > rng.uniform(-0.3, 0.5), 255, rng.uniform(110, 190))
    elif kind == "spots":
        cells = size // 16
        noise = np.tile(rng.random((cells, cells)).astype(np.float32), (3, 3))
        # Upsample a 3x3 tiling and keep the centre: smooth blobs that also wrap seamlessly.
        big = cv2.resize(noise, (size * 3, size * 3), interpolation=cv2.INTER_LINEAR)
        tile = np.where(big[size : 2 * size, size : 2 * size] > 0.62, rng.uniform(90, 170), 255)
    else:
        tile = 255 - rng.uniform(0, 70) * rng.random((size, size))
    return np.asarray(tile, dtype=np.uint8)
