"""Pixel errors and body-length PCK on labelled frames (numpy only).

Shared by ``flowpose eval labels`` (ONNX models, no torch) and the trainer's evaluation of
DeepLabCut data, so that both report the same figures the same way.

Why body length and not the box: a single-animal model runs on the whole frame, and PCK
normalised by a 640x480 frame's box makes 0.1 mean 64 px, longer than a mouse's head to its
tail. The default normaliser is the distance between the two keypoints that are farthest apart
on median over the labelled frames (for the openfield mouse: snout to tail base), measured per
frame: it scales with the animal, not with the camera, and needs no body part names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from flowpose.evaluation.pck import pck

__all__ = ["BodyLength", "auto_body_pair", "body_lengths", "parse_body_length", "pixel_figures"]


@dataclass(frozen=True)
class BodyLength:
    """How PCK is normalised.

    Attributes:
        pair: Two keypoint indices whose distance per frame is the body length, or None.
        pixels: A fixed body length in pixels (when ``pair`` is None).
        names: The pair's keypoint names, for reports.
        auto: The pair was chosen automatically (farthest apart on median).
    """

    pair: tuple[int, int] | None = None
    pixels: float | None = None
    names: tuple[str, str] | None = None
    auto: bool = False

    def describe(self) -> str:
        """``"snout-tailbase distance per frame (auto: farthest apart on median)"`` or ``"100 px"``."""
        if self.pair is None:
            return f"{self.pixels:g} px (fixed)"
        names = "-".join(self.names or (str(self.pair[0]), str(self.pair[1])))
        return f"{names} distance per frame" + (
            " (auto: the keypoint pair farthest apart on median)" if self.auto else ""
        )


def _pair_distances(gt: np.ndarray, visible: np.ndarray, i: int, j: int) -> np.ndarray:
    """(N,) distance between keypoints i and j, NaN where either is unlabelled."""
    d = np.linalg.norm(np.asarray(gt, np.float64)[:, i] - np.asarray(gt, np.float64)[:, j], axis=-1)
    ok = (np.asarray(visible)[:, i] > 0) & (np.asarray(visible)[:, j] > 0)
    return np.where(ok, d, np.nan)


def auto_body_pair(gt: np.ndarray, visible: np.ndarray) -> tuple[int, int]:
    """The keypoint pair with the largest median distance over the instances where both are labelled.

    Raises:
        ValueError: Fewer than two keypoints, or no instance with two labelled keypoints.
    """
    k = gt.shape[1]
    best, best_d = None, -1.0
    for i in range(k):
        for j in range(i + 1, k):
            d = _pair_distances(gt, visible, i, j)
            if np.isfinite(d).any() and float(np.nanmedian(d)) > best_d:
                best, best_d = (i, j), float(np.nanmedian(d))
    if best is None or best_d <= 0:
        raise ValueError("no instance has two distinct labelled keypoints: give the body length in pixels")
    return best


def body_lengths(gt: np.ndarray, visible: np.ndarray, norm: BodyLength) -> np.ndarray:
    """(N,) body length per instance; where the pair is not both labelled, its median over the others.

    Raises:
        ValueError: The pair is never labelled together.
    """
    n = len(gt)
    if norm.pair is None:
        return np.full(n, float(norm.pixels or 0.0))
    d = _pair_distances(gt, visible, *norm.pair)
    if not np.isfinite(d).any():
        raise ValueError(f"body length {norm.describe()}: the two keypoints are never labelled together")
    return np.where(np.isfinite(d), d, float(np.nanmedian(d)))


def parse_body_length(text: str | None, names: Sequence[str], gt: np.ndarray, visible: np.ndarray) -> BodyLength:
    """``None``/``"auto"``, ``"A,B"`` (two keypoint names) or a number of pixels.

    Raises:
        ValueError: Unknown names, a non-positive length, or nothing to measure.
    """
    if text is None or text == "auto":
        i, j = auto_body_pair(gt, visible)
        return BodyLength((i, j), names=(names[i], names[j]), auto=True)
    if "," in text:
        a, b = (t.strip() for t in text.split(",", 1))
        unknown = [x for x in (a, b) if x not in names]
        if unknown or a == b:
            raise ValueError(f"--body-length {text!r}: give two different keypoints of {list(names)}")
        return BodyLength((names.index(a), names.index(b)), names=(a, b))
    try:
        pixels = float(text)
    except ValueError:
        raise ValueError(f"--body-length {text!r}: 'auto', two keypoint names 'A,B', or pixels") from None
    if not pixels > 0:
        raise ValueError(f"--body-length must be > 0 pixels, got {text}")
    return BodyLength(pixels=pixels)


def pixel_figures(
    distances: np.ndarray,
    lengths: np.ndarray,
    names: Sequence[str],
    within_px: Sequence[float] = (5.0, 10.0),
    thresholds: Sequence[float] = (0.05, 0.1, 0.2),
) -> dict[str, float]:
    """Mean / median pixel error, per keypoint, share within N px, and body-length PCK.

    Args:
        distances: (N, K) pixel errors, NaN where unlabelled.
        lengths: (N,) body length per instance (:func:`body_lengths`).
        names: The K keypoint names (per-keypoint keys ``error_px/NAME``).
        within_px: Pixel radii for ``within_5px`` ...
        thresholds: PCK thresholds as fractions of the body length.

    Returns:
        ``{"error_px_mean", "error_px_median", "error_px/NAME"..., "within_5px"..., "pck@0.1"...,
        "keypoints", "body_length_px"}``; NaN where nothing is labelled.
    """
    counted = distances[np.isfinite(distances)]
    nan = float("nan")
    out: dict[str, float] = {
        "keypoints": float(counted.size),
        "error_px_mean": float(counted.mean()) if counted.size else nan,
        "error_px_median": float(np.median(counted)) if counted.size else nan,
    }
    for k, name in enumerate(names):
        col = distances[:, k][np.isfinite(distances[:, k])]
        out[f"error_px/{name}"] = float(col.mean()) if col.size else nan
    for r in within_px:
        out[f"within_{r:g}px"] = float((counted <= r).mean()) if counted.size else nan
    out.update(pck(distances, lengths, thresholds))
    out["body_length_px"] = float(np.median(lengths)) if len(lengths) else nan
    return out
