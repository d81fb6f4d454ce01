"""Drawing posed figures back to front, and reading the ground truth off what was drawn.

Every pixel drawn is also written, with the same primitive, into an id buffer (uint16):
figure slot * 64 + part + 1, or :data:`OCCLUDER_ID`. Visibility and boxes then come from
what really ended up on top, not from geometry guesses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from flowpose.synthetic.figures import Color, PosedFigure

OCCLUDER_ID = 0xFFFF
PARTS_PER_FIGURE = 64
MAX_FIGURES = OCCLUDER_ID // PARTS_PER_FIGURE - 1
_SHIFT = 4  # OpenCV fixed-point bits: sub-pixel positions keep slow motion smooth
_ONE = 1 << _SHIFT

VISIBILITY_OUTSIDE, VISIBILITY_OCCLUDED, VISIBILITY_VISIBLE = 0, 1, 2


@dataclass(frozen=True)
class Occluder:
    """A foreground shape drawn over the figures.

    Attributes:
        points: Convex polygon, image pixels, float (N, 2).
        color: Fill colour, BGR.
    """

    points: np.ndarray
    color: Color


@dataclass(frozen=True)
class FigureTruth:
    """What one figure looks like in the rendered image.

    Attributes:
        bbox: Tight box ``[x1, y1, x2, y2]`` around the figure's visible pixels, float32 (4,),
            or None when nothing of it is visible. Pixel centres are at integer coordinates
            (the OpenCV drawing convention), so the box runs along the outer pixel edges.
        keypoints: Keypoints in image pixels, float32 (K, 2) (also when outside the image).
        visibility: uint8 (K,): 0 outside the image, 1 covered by something else, 2 visible.
        visible_pixels: Number of pixels showing the figure.
    """

    bbox: np.ndarray | None
    keypoints: np.ndarray
    visibility: np.ndarray
    visible_pixels: int


def render_figures(
    canvas: np.ndarray, figures: Sequence[PosedFigure], occluders: Sequence[Occluder] = ()
) -> list[FigureTruth]:
    """Draw figures (far first, parts back to front) and occluders into ``canvas`` in place.

    Args:
        canvas: Background to draw on, uint8 (H, W, 3) BGR; modified.
        figures: Posed figures, in any order.
        occluders: Shapes drawn last, over everything.

    Returns:
        One :class:`FigureTruth` per figure, in the order of ``figures``.
    """
    if len(figures) > MAX_FIGURES:
        raise ValueError(f"at most {MAX_FIGURES} figures per image, got {len(figures)}")
    h, w = canvas.shape[:2]
    ids = np.zeros((h, w), dtype=np.uint16)
    order = sorted(range(len(figures)), key=lambda i: -figures[i].order)
    bases = {}
    for slot, i in enumerate(order):
        bases[i] = slot * PARTS_PER_FIGURE
        _draw_figure(canvas, ids, figures[i], bases[i])
    for occ in occluders:
        poly = np.round(occ.points * _ONE).astype(np.int32)
        cv2.fillConvexPoly(canvas, poly, occ.color, cv2.LINE_8, _SHIFT)
        cv2.fillConvexPoly(ids, poly, OCCLUDER_ID, cv2.LINE_8, _SHIFT)
    truths = []
    for i, fig in enumerate(figures):
        roi = _figure_roi(fig, w, h)
        _apply_texture(canvas, ids, fig, bases[i], roi)
        truths.append(_truth(ids, fig, bases[i], roi))
    return truths


def _draw_figure(canvas: np.ndarray, ids: np.ndarray, fig: PosedFigure, base: int) -> None:
    depth, scale = fig.depth, fig.scale
    keys = [sum(depth[j] for j in p.joints) / len(p.joints) + p.depth_bias * scale for p in fig.parts]
    for p in sorted(range(len(fig.parts)), key=keys.__getitem__, reverse=True):
        part, pid = fig.parts[p], base + p + 1
        pts = fig.points[list(part.joints)]
        if len(part.joints) > 2:
            poly = np.round(pts * _ONE).astype(np.int32)
            cv2.fillConvexPoly(canvas, poly, part.color, cv2.LINE_8, _SHIFT)
            cv2.fillConvexPoly(ids, poly, pid, cv2.LINE_8, _SHIFT)
            continue
        _capsule(canvas, ids, pts, part.radii[0] * scale, part.radii[1] * scale, part.color, pid)


def _capsule(
    canvas: np.ndarray, ids: np.ndarray, pts: np.ndarray, r0: float, r1: float, color: Color, pid: int
) -> None:
    """A tapered capsule: a disc at each end joined by a quadrilateral."""
    (x0, y0), (x1, y1) = pts
    r0, r1 = max(r0, 1.0), max(r1, 1.0)  # never thinner than a pixel: the id buffer must see it
    c0, c1 = (round(x0 * _ONE), round(y0 * _ONE)), (round(x1 * _ONE), round(y1 * _ONE))
    for img, value in ((canvas, color), (ids, pid)):
        cv2.circle(img, c0, round(r0 * _ONE), value, -1, cv2.LINE_8, _SHIFT)
    length = math.hypot(x1 - x0, y1 - y0)
    if length < 1e-3:
        return
    nx, ny = (y0 - y1) / length, (x1 - x0) / length
    quad = np.array(
        [
            [x0 + nx * r0, y0 + ny * r0],
            [x1 + nx * r1, y1 + ny * r1],
            [x1 - nx * r1, y1 - ny * r1],
            [x0 - nx * r0, y0 - ny * r0],
        ]
    )
    quad = np.round(quad * _ONE).astype(np.int32)
    for img, value in ((canvas, color), (ids, pid)):
        cv2.circle(img, c1, round(r1 * _ONE), value, -1, cv2.LINE_8, _SHIFT)
        cv2.fillConvexPoly(img, quad, value, cv2.LINE_8, _SHIFT)


def _figure_roi(fig: PosedFigure, w: int, h: int) -> tuple[int, int, int, int]:
    """Image window that surely holds every pixel of the figure, clipped to the image."""
    pad = fig.scale * max(max(p.radii) for p in fig.parts) + 2
    lo = np.floor(fig.points.min(axis=0) - pad).astype(int)
    hi = np.ceil(fig.points.max(axis=0) + pad).astype(int)
    return max(lo[0], 0), max(lo[1], 0), min(hi[0], w), min(hi[1], h)


def _apply_texture(
    canvas: np.ndarray, ids: np.ndarray, fig: PosedFigure, base: int, roi: tuple[int, int, int, int]
) -> None:
    x0, y0, x1, y1 = roi
    textured = [base + p + 1 for p, part in enumerate(fig.parts) if part.textured]
    if fig.texture is None or not textured or x1 <= x0 or y1 <= y0:
        return
    lut = np.zeros(OCCLUDER_ID + 1, dtype=bool)
    lut[textured] = True
    mask = lut[ids[y0:y1, x0:x1]]
    if not mask.any():
        return
    # Anchor the pattern to the figure so it moves with it instead of sliding over it.
    t = fig.texture.shape[0]
    ox, oy = (int(v) for v in fig.points.mean(axis=0))
    ry, rx = (y0 - oy) % t, (x0 - ox) % t
    reps = (-(-(ry + y1 - y0) // t), -(-(rx + x1 - x0) // t))
    tile = np.tile(fig.texture, reps)[ry : ry + y1 - y0, rx : rx + x1 - x0]
    gain = np.where(mask, tile, np.uint8(255))
    window = canvas[y0:y1, x0:x1]
    window[:] = cv2.multiply(window, cv2.merge((gain, gain, gain)), scale=1.0 / 255.0)


def _truth(ids: np.ndarray, fig: PosedFigure, base: int, roi: tuple[int, int, int, int]) -> FigureTruth:
    h, w = ids.shape
    x0, y0, x1, y1 = roi
    window = ids[y0:y1, x0:x1]
    mine = (window > base) & (window <= base + PARTS_PER_FIGURE)
    rows, cols = np.flatnonzero(mine.any(axis=1)), np.flatnonzero(mine.any(axis=0))
    bbox = None
    if rows.size:
        bbox = np.array([x0 + cols[0] - 0.5, y0 + rows[0] - 0.5, x0 + cols[-1] + 0.5, y0 + rows[-1] + 0.5], np.float32)
    kpts = fig.points[fig.keypoint_joints].astype(np.float32)
    xi, yi = np.floor(kpts[:, 0] + 0.5).astype(int), np.floor(kpts[:, 1] + 0.5).astype(int)
    inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
    vis = np.where(inside, VISIBILITY_OCCLUDED, VISIBILITY_OUTSIDE).astype(np.uint8)
    k_in = np.flatnonzero(inside)
    part = ids[yi[k_in], xi[k_in]].astype(np.int64) - base - 1
    ok = (part >= 0) & (part < len(fig.parts))
    ok[ok] = fig.owner_table[k_in[ok], part[ok]]
    vis[k_in[ok & fig.facing_ok[k_in]]] = VISIBILITY_VISIBLE
    return FigureTruth(bbox, kpts, vis, int(mine.sum()))
