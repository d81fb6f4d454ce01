"""How alike two sets of objects are: box IoU and keypoint OKS, as (N, M) matrices; OKS sigmas per layout."""

from __future__ import annotations

import functools

import numpy as np

from flowpose.geometry.bbox import box_areas as box_areas  # re-exported: the tracker's names
from flowpose.geometry.bbox import box_iou
from flowpose.meta import load_layout

iou_matrix = box_iou  # (N, 4) x (M, 4) -> (N, M) IoU; the tracker's name for the shared function


def oks_matrix(
    a_points: np.ndarray,
    a_valid: np.ndarray,
    b_points: np.ndarray,
    b_valid: np.ndarray,
    areas: np.ndarray,
    sigmas: np.ndarray,
) -> np.ndarray:
    """Object keypoint similarity (COCO's definition) of every pose of ``a`` with every pose of ``b``.

    ``OKS = mean over keypoints valid in both of exp(-d² / (2 s² k²))`` with ``k = 2 sigma``
    and ``s²`` the object's area.

    Args:
        a_points: (N, K, 2) keypoints, pixels.
        a_valid: (N, K) bool: keypoints to compare.
        b_points: (M, K, 2) keypoints.
        b_valid: (M, K) bool.
        areas: (N, M) scale ``s²`` of each pair, px² (the tracker uses the mean box area).
        sigmas: (K,) per-keypoint OKS sigmas of the layout.

    Returns:
        (N, M) float64 in [0, 1]; NaN where no keypoint is valid in both.
    """
    a_points = np.asarray(a_points, dtype=np.float64)
    b_points = np.asarray(b_points, dtype=np.float64)
    sigmas = np.asarray(sigmas, dtype=np.float64).reshape(-1)
    if a_points.shape[1:] != (len(sigmas), 2) or b_points.shape[1:] != (len(sigmas), 2):
        raise ValueError(
            f"oks_matrix: keypoints {a_points.shape} and {b_points.shape} do not match {len(sigmas)} sigmas"
        )
    d2 = np.sum((a_points[:, None] - b_points[None]) ** 2, axis=3)  # (N, M, K)
    scale = 2.0 * np.maximum(np.asarray(areas, dtype=np.float64), 1e-9)[..., None] * (2.0 * sigmas) ** 2
    both = np.asarray(a_valid, bool)[:, None, :] & np.asarray(b_valid, bool)[None, :, :]
    count = both.sum(axis=2)
    total = np.where(both, np.exp(-d2 / scale), 0.0).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


@functools.cache
def layout_sigmas(layout: str, num_keypoints: int) -> np.ndarray | None:
    """OKS sigmas of a named layout, or None for instances without a layout name.

    Raises:
        ValueError: The layout is unknown or has a different number of keypoints.
    """
    if not layout:
        return None
    try:
        found = load_layout(layout)
    except (KeyError, ValueError, OSError) as exc:
        raise ValueError(f"cannot use OKS for keypoint layout {layout!r}: {exc}") from None
    if found.num_keypoints != num_keypoints:
        raise ValueError(
            f"keypoint layout {layout!r} has {found.num_keypoints} keypoints but an instance has {num_keypoints}"
        )
    sigmas = found.sigmas_array.astype(np.float64)
    sigmas.setflags(write=False)  # cached and shared
    return sigmas


def keypoint_spread_areas(points: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(N,) area of the box around each pose's valid keypoints (0 with fewer than two)."""
    shown = np.asarray(valid, bool)[..., None]
    lo = np.where(shown, points, np.inf).min(axis=1)
    hi = np.where(shown, points, -np.inf).max(axis=1)
    with np.errstate(invalid="ignore"):
        extent = np.where(np.isfinite(hi - lo), hi - lo, 0.0)
    return extent[:, 0] * extent[:, 1]
