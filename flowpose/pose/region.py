"""Where a single-animal pose model looks when there is no detector: whole frame, ROI, dynamic crop.

DeepLabCut-Live runs its model on the whole frame (or a fixed crop) and, with dynamic
cropping on, on a box around the previous frame's confident keypoints plus a margin in
pixels, going back to the full frame as soon as the animal is lost. :class:`DynamicCrop`
is that rule as a small state machine, separate from the node so it can be tested alone.

Example:
    >>> crop = DynamicCrop(base=np.array([0, 0, 640, 480], np.float32), margin=20, threshold=0.5)
    >>> crop.box().tolist()  # nothing seen yet: the whole base region
    [0.0, 0.0, 640.0, 480.0]
    >>> crop.update(np.array([[100, 100], [140, 120]]), np.array([0.9, 0.8]))
    'follow'
    >>> crop.box().tolist()
    [80.0, 80.0, 160.0, 140.0]
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

__all__ = ["DynamicCrop", "clip_box", "keypoint_box", "tile_grid"]

logger = logging.getLogger(__name__)


def clip_box(box: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """``box`` clipped to ``bounds`` (both ``[x1, y1, x2, y2]``), float32."""
    out = np.asarray(box, np.float32).copy()
    np.clip(out[0::2], bounds[0], bounds[2], out=out[0::2])
    np.clip(out[1::2], bounds[1], bounds[3], out=out[1::2])
    return out


def tile_grid(bounds: np.ndarray, size: float) -> np.ndarray:
    """Square tiles of ``size`` pixels over ``bounds``, overlapping by about half, evenly spread.

    A model trained on crops around the animal cannot find it in a whole arena shrunk to its
    input; one of these tiles holds most of the animal at about the training scale.

    Args:
        bounds: ``[x1, y1, x2, y2]`` to cover.
        size: Tile side in pixels; a side of ``bounds`` shorter than that gets one tile as long
            as the side.

    Returns:
        (N, 4) float32 boxes, row by row, whose union is ``bounds``.
    """
    x1, y1, x2, y2 = (float(v) for v in bounds)

    def starts(low: float, high: float) -> tuple[np.ndarray, float]:
        side = min(size, high - low)
        count = int(np.ceil((high - low - side) / (size / 2))) + 1  # steps of at most half a tile
        return np.linspace(low, high - side, count), side

    xs, w = starts(x1, x2)
    ys, h = starts(y1, y2)
    return np.array([[x, y, x + w, y + h] for y in ys for x in xs], np.float32)


def keypoint_box(
    keypoints: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    margin: float,
    bounds: np.ndarray,
    min_keypoints: int = 1,
    min_size: float = 32.0,
) -> np.ndarray | None:
    """The bounds of the keypoints scoring at least ``threshold``, plus ``margin`` pixels a side.

    Args:
        keypoints: Positions in image pixels, shape (K, 2).
        scores: Per-keypoint scores, shape (K,).
        threshold: Keypoints scoring below it (or not finite) are ignored.
        margin: Pixels added on every side.
        bounds: ``[x1, y1, x2, y2]`` the box is clipped to.
        min_keypoints: Fewer confident keypoints than this give None.
        min_size: The box is grown about its centre to at least this many pixels a side, so
            one confident keypoint still gives the model some context.

    Returns:
        ``[x1, y1, x2, y2]`` float32, or None (too few keypoints, or an empty clipped box).
    """
    keypoints = np.asarray(keypoints, np.float32).reshape(-1, 2)
    found = (np.asarray(scores, np.float32).reshape(-1) >= threshold) & np.isfinite(keypoints).all(axis=1)
    if int(found.sum()) < max(1, min_keypoints):
        return None
    points = keypoints[found]
    low, high = points.min(axis=0) - margin, points.max(axis=0) + margin
    centre, half = (low + high) / 2, np.maximum((high - low) / 2, min_size / 2)
    box = clip_box(np.concatenate([centre - half, centre + half]), bounds)
    if box[2] - box[0] < 1 or box[3] - box[1] < 1:
        return None
    return box


@dataclass
class DynamicCrop:
    """The crop to run on next: around the last confident keypoints, or the base region.

    Args:
        base: The region used when nothing is followed (whole frame or a fixed ROI),
            ``[x1, y1, x2, y2]`` in image pixels.
        margin: Pixels added on every side of the confident keypoints' bounds.
        threshold: A keypoint counts as found when its score is at least this; the crop is
            given up when the mean score of all keypoints falls below it.
        min_keypoints: Fewer keypoints found than this counts as lost.
        min_size: The crop's smallest side in pixels (see :func:`keypoint_box`).
    """

    base: np.ndarray
    margin: float = 20.0
    threshold: float = 0.5
    min_keypoints: int = 1
    min_size: float = 32.0
    _crop: np.ndarray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.base = np.asarray(self.base, np.float32).reshape(4)

    @property
    def following(self) -> bool:
        """Whether the next box is a crop around the animal (not the base region)."""
        return self._crop is not None

    def box(self) -> np.ndarray:
        """The region to run the model on next, ``[x1, y1, x2, y2]`` float32."""
        return (self.base if self._crop is None else self._crop).copy()

    def reset(self) -> None:
        """Forget the animal: the next box is the base region."""
        self._crop = None

    def update(self, keypoints: np.ndarray, scores: np.ndarray) -> str:
        """Take this frame's pose and decide the next crop.

        Returns:
            ``"follow"`` (the next box is a crop around the found keypoints) or ``"lost"``
            (mean score under the threshold, too few keypoints found, or non-finite ones:
            the next box is the base region).
        """
        scores = np.asarray(scores, np.float32).reshape(-1)
        crop = None
        if len(scores) and float(np.mean(scores)) >= self.threshold:
            crop = keypoint_box(
                keypoints, scores, self.threshold, self.margin, self.base, self.min_keypoints, self.min_size
            )
        self._crop = crop
        return "lost" if crop is None else "follow"
