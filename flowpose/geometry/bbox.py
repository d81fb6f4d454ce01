"""Bounding-box conversions shared by the trainer and the inference nodes.

Every function accepts one box (shape ``(4,)``) or a batch (shape ``(N, 4)``) and returns
arrays with the same leading shape, float32. Conventions follow MMPose so that models
exported from it (RTMPose and friends) see the crops they were trained on:

- ``xyxy``: ``[x1, y1, x2, y2]`` corners in image pixels.
- ``xywh``: ``[x1, y1, w, h]`` (COCO annotation style).
- center/scale: ``center = [cx, cy]`` and ``scale = [w, h]``, the box's size in pixels
  (not MPII's size/200).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "bbox_cs_to_xyxy",
    "bbox_xywh_to_xyxy",
    "bbox_xyxy_to_cs",
    "bbox_xyxy_to_xywh",
    "fix_aspect_ratio",
    "topdown_center_scale",
]


def _as_boxes(boxes: np.ndarray | list | tuple, name: str = "boxes") -> np.ndarray:
    """Return ``boxes`` as float32 with a last axis of 4, or raise a precise ValueError."""
    arr = np.asarray(boxes, dtype=np.float32)
    if arr.ndim not in (1, 2) or arr.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (4,) or (N, 4), got {arr.shape}")
    return arr


def _as_pairs(values: np.ndarray | list | tuple, name: str) -> np.ndarray:
    """Return ``values`` as float32 with a last axis of 2, or raise a precise ValueError."""
    arr = np.asarray(values, dtype=np.float32)
    if arr.ndim not in (1, 2) or arr.shape[-1] != 2:
        raise ValueError(f"{name} must have shape (2,) or (N, 2), got {arr.shape}")
    return arr


def bbox_xyxy_to_xywh(boxes: np.ndarray) -> np.ndarray:
    """Convert corner boxes to corner-plus-size boxes.

    Args:
        boxes: ``[x1, y1, x2, y2]``, shape (4,) or (N, 4).

    Returns:
        ``[x1, y1, w, h]``, float32, same shape as ``boxes``.
    """
    out = _as_boxes(boxes).copy()
    out[..., 2:] -= out[..., :2]
    return out


def bbox_xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """Convert corner-plus-size boxes to corner boxes.

    Args:
        boxes: ``[x1, y1, w, h]``, shape (4,) or (N, 4).

    Returns:
        ``[x1, y1, x2, y2]``, float32, same shape as ``boxes``.
    """
    out = _as_boxes(boxes).copy()
    out[..., 2:] += out[..., :2]
    return out


def bbox_xyxy_to_cs(boxes: np.ndarray, padding: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Convert corner boxes to center and scale.

    Args:
        boxes: ``[x1, y1, x2, y2]``, shape (4,) or (N, 4).
        padding: Factor applied to the box size, e.g. 1.25 so that limbs at the edge of a
            detection still fall inside the crop.

    Returns:
        ``(center, scale)``, each float32 of shape (2,) or (N, 2).

    Raises:
        ValueError: If ``boxes`` has the wrong shape or ``padding`` is not positive.
    """
    if not padding > 0:
        raise ValueError(f"padding must be > 0, got {padding}")
    arr = _as_boxes(boxes)
    center = (arr[..., :2] + arr[..., 2:]) * 0.5
    scale = (arr[..., 2:] - arr[..., :2]) * np.float32(padding)
    return center, scale


def bbox_cs_to_xyxy(center: np.ndarray, scale: np.ndarray, padding: float = 1.0) -> np.ndarray:
    """Convert center and scale back to corner boxes (the inverse of :func:`bbox_xyxy_to_cs`).

    Args:
        center: ``[cx, cy]``, shape (2,) or (N, 2).
        scale: ``[w, h]`` including padding, same shape as ``center``.
        padding: The padding that was applied to ``scale``; it is divided out.

    Returns:
        ``[x1, y1, x2, y2]``, float32, shape (4,) or (N, 4).

    Raises:
        ValueError: On mismatched shapes or a non-positive ``padding``.
    """
    if not padding > 0:
        raise ValueError(f"padding must be > 0, got {padding}")
    c, s = _as_pairs(center, "center"), _as_pairs(scale, "scale")
    if c.shape != s.shape:
        raise ValueError(f"center and scale must have the same shape, got {c.shape} and {s.shape}")
    half = s / np.float32(padding) * 0.5
    return np.concatenate([c - half, c + half], axis=-1)


def fix_aspect_ratio(scale: np.ndarray, aspect_ratio: float) -> np.ndarray:
    """Grow the shorter side of each box so that ``w / h == aspect_ratio``.

    Growing (never shrinking) keeps the whole detection inside the crop; the model input
    then sees an undistorted person whatever the box shape.

    Args:
        scale: ``[w, h]``, shape (2,) or (N, 2).
        aspect_ratio: Target width / height, e.g. ``192 / 256`` for a 192x256 model input.

    Returns:
        The adjusted ``[w, h]``, float32, same shape as ``scale``.

    Raises:
        ValueError: On a bad shape or a non-positive ``aspect_ratio``.
    """
    if not aspect_ratio > 0:
        raise ValueError(f"aspect_ratio must be > 0, got {aspect_ratio}")
    s = _as_pairs(scale, "scale")
    w, h = s[..., 0], s[..., 1]
    ar = np.float32(aspect_ratio)
    too_wide = w > h * ar
    return np.stack([np.where(too_wide, w, h * ar), np.where(too_wide, w / ar, h)], axis=-1)


def topdown_center_scale(
    boxes: np.ndarray, input_size: tuple[int, int], padding: float = 1.25
) -> tuple[np.ndarray, np.ndarray]:
    """Center and scale of the crop a top-down pose model sees for each detection.

    Pads the box by ``padding`` then widens it to the input's aspect ratio, in that order,
    as MMPose's ``GetBBoxCenterScale`` followed by ``TopdownAffine`` do.

    Args:
        boxes: ``[x1, y1, x2, y2]``, shape (4,) or (N, 4).
        input_size: Model input ``(w, h)`` in pixels.
        padding: Box padding factor.

    Returns:
        ``(center, scale)``, each float32 of shape (2,) or (N, 2), ready for
        :func:`flowpose.geometry.crop`.
    """
    if len(input_size) != 2 or min(input_size) <= 0:
        raise ValueError(f"input_size must be two positive numbers (w, h), got {input_size}")
    center, scale = bbox_xyxy_to_cs(boxes, padding)
    return center, fix_aspect_ratio(scale, input_size[0] / input_size[1])


def box_areas(boxes: np.ndarray) -> np.ndarray:
    """Areas of (N, 4) ``[x1, y1, x2, y2]`` boxes, float64; inverted boxes count as empty."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box of ``a`` (N, 4) with every box of ``b`` (M, 4), xyxy.

    One implementation for the detector (NMS), the tracker and the evaluations.

    Returns:
        (N, M) float64 in [0, 1]; 0 where the union is empty.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=2)
    union = box_areas(a)[:, None] + box_areas(b)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
