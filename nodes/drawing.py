"""Drawing primitives for the Visualizer: boxes, labels, skeletons, keypoints, a text overlay.

Every function draws *in place* on an image the caller owns (the Visualizer's private copy),
never on a frame's shared image. Colours are BGR tuples of ints, as OpenCV wants them.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import cv2
import numpy as np

from flowpose.frame import Instance
from flowpose.meta import KeypointLayout

Color = tuple[int, int, int]

# Twelve well-separated BGR colours; track ids cycle through them so neighbours differ.
PALETTE: tuple[Color, ...] = (
    (56, 56, 255),
    (151, 157, 255),
    (31, 112, 255),
    (29, 178, 255),
    (49, 210, 207),
    (10, 249, 72),
    (23, 204, 146),
    (134, 219, 61),
    (211, 188, 0),
    (255, 128, 0),
    (255, 56, 132),
    (236, 24, 203),
)
FONT = cv2.FONT_HERSHEY_SIMPLEX
WHITE: Color = (255, 255, 255)
BLACK: Color = (0, 0, 0)


def instance_color(inst: Instance) -> Color:
    """A stable colour for an instance: by track id when tracked, else by label.

    The label colour uses crc32 rather than ``hash()``, which is salted per process, so a
    label keeps its colour across runs and across processes of one graph.
    """
    if inst.track_id >= 0:
        return PALETTE[inst.track_id % len(PALETTE)]
    return PALETTE[zlib.crc32(inst.label.encode()) % len(PALETTE)]


def label_text(inst: Instance, *, score: bool = True, track_id: bool = True) -> str:
    """``"person 0.93 #4"``: label, then score and track id when asked for and present."""
    parts = [inst.label or "object"]
    if score:
        parts.append(f"{inst.score:.2f}")
    if track_id and inst.track_id >= 0:
        parts.append(f"#{inst.track_id}")
    return " ".join(parts)


def draw_box(image: np.ndarray, inst: Instance, color: Color, thickness: int) -> None:
    """Draw the instance's bbox outline."""
    x1, y1, x2, y2 = (round(float(v)) for v in inst.bbox)
    cv2.rectangle(image, (x1, y1), (x2, y2), color, thickness)


def draw_label(image: np.ndarray, text: str, anchor: tuple[int, int], color: Color, font_scale: float) -> None:
    """Draw ``text`` on a filled ``color`` tag whose bottom-left corner is ``anchor``.

    The tag moves below the anchor when it would leave the top of the image.
    """
    (w, h), baseline = cv2.getTextSize(text, FONT, font_scale, 1)
    x, y = anchor
    top = y - h - baseline - 2
    if top < 0:  # a box touching the top edge: put the tag inside the box instead
        top, y = y, y + h + baseline + 2
    cv2.rectangle(image, (x, top), (x + w + 4, y), color, -1)
    # Black or white text, whichever reads better on the tag colour (luma of BGR).
    luma = 0.114 * color[0] + 0.587 * color[1] + 0.299 * color[2]
    cv2.putText(
        image, text, (x + 2, y - baseline - 1), FONT, font_scale, BLACK if luma > 140 else WHITE, 1, cv2.LINE_AA
    )


def draw_skeleton(
    image: np.ndarray,
    points: np.ndarray,
    visible: np.ndarray,
    layout: KeypointLayout,
    thickness: int,
) -> None:
    """Draw every skeleton link whose two ends are both visible, in the link's colour.

    Args:
        image: Image to draw on (in place).
        points: Keypoints as int32 pixels, shape (K, 2).
        visible: Which keypoints passed the score threshold, bool, shape (K,).
        layout: The keypoints' layout (links and colours).
        thickness: Line thickness in pixels.
    """
    for (a, b), color in zip(layout.skeleton, layout.link_colors, strict=True):
        if visible[a] and visible[b]:
            cv2.line(image, tuple(points[a]), tuple(points[b]), color, thickness, cv2.LINE_AA)


def draw_keypoints(
    image: np.ndarray,
    points: np.ndarray,
    visible: np.ndarray,
    colors: Sequence[Color],
    radius: int,
) -> None:
    """Draw a filled dot for every visible keypoint, ``colors[i]`` for keypoint ``i``."""
    for i in np.flatnonzero(visible):
        cv2.circle(image, tuple(points[i]), radius, colors[i], -1, cv2.LINE_AA)


def draw_overlay(image: np.ndarray, lines: Sequence[str], font_scale: float) -> None:
    """Draw a few lines of white text on a dark band in the top-left corner."""
    if not lines:
        return
    sizes = [cv2.getTextSize(line, FONT, font_scale, 1) for line in lines]
    line_h = max(h + baseline for (_, h), baseline in sizes) + 4
    width = max(w for (w, _), _ in sizes) + 8
    band = image[: line_h * len(lines) + 4, :width]
    # Darken rather than paint black, so what lies underneath stays faintly visible.
    band //= 3
    for i, line in enumerate(lines):
        cv2.putText(image, line, (4, (i + 1) * line_h - 2), FONT, font_scale, WHITE, 1, cv2.LINE_AA)
