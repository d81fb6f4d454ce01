"""PCK (bbox-normalised) and mean pixel error of predicted keypoints (numpy only: the trainer
and the PoseAccuracy node score with the same functions)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["keypoint_distances", "mean_pixel_error", "pck"]


def keypoint_distances(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Euclidean distances (N, K) in pixels; NaN where the ground truth is not labelled.

    Args:
        pred: Predicted ``[x, y]``, (N, K, 2).
        gt: Ground truth ``[x, y]``, (N, K, 2).
        visible: (N, K); > 0 where the ground truth is labelled.
    """
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[-1] != 2:
        raise ValueError(f"pred and gt must both be (N, K, 2), got {pred.shape} and {gt.shape}")
    dist = np.linalg.norm(pred - gt, axis=-1)
    return np.where(np.asarray(visible) > 0, dist, np.nan)


def pck(distances: np.ndarray, norm: np.ndarray, thresholds: Sequence[float] = (0.05, 0.1, 0.2)) -> dict[str, float]:
    """Fraction of labelled keypoints closer than ``t * norm`` of their instance.

    Args:
        distances: (N, K) from :func:`keypoint_distances` (NaN = not counted).
        norm: (N,) per-instance normaliser, e.g. ``max(bbox w, h)`` (MMPose's bbox PCK).
        thresholds: The ``t`` values.

    Returns:
        ``{"pck@0.05": ..., ...}``; NaN when no keypoint is labelled.
    """
    norm = np.asarray(norm, np.float64).reshape(-1, 1)
    counted = ~np.isnan(distances)
    total = int(counted.sum())
    out = {}
    for t in thresholds:
        hits = (np.nan_to_num(distances, nan=np.inf) <= t * norm) & counted
        out[f"pck@{t:g}"] = float(hits.sum() / total) if total else float("nan")
    return out


def mean_pixel_error(distances: np.ndarray) -> float:
    """Mean distance over labelled keypoints (NaN when none is labelled)."""
    counted = distances[~np.isnan(distances)]
    return float(counted.mean()) if counted.size else float("nan")
