"""Jitter, lag and error of smoothed keypoint tracks against the ground truth.

All three are pooled over tracks, keypoints and frames, and normalised by the object size
(see :func:`flowpose.evaluation.detector_noise.object_size`) so near and far objects weigh
alike. A sample counts only where the keypoint is inside the image, was detected, and its
frames reached the filter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: GT speed (object sizes per second) above which a sample counts as "in motion" for the lag.
MOTION_SPEED = 0.5
#: Lags tried, in frames: -3 to +10 in steps of 0.1 (sub-frame resolution by interpolation).
LAG_GRID = np.round(np.arange(-3.0, 10.0001, 0.1), 3)


@dataclass(frozen=True)
class Series:
    """One object through one sequence of F frames with K keypoints.

    Attributes:
        truth: (F, K, 2) true keypoints, NaN where the object is not in the frame.
        size: (F,) object size in pixels, NaN where absent.
        mask: (F, K) bool: samples that count (present, inside the image, detected, frame delivered).
    """

    truth: np.ndarray
    size: np.ndarray
    mask: np.ndarray


@dataclass(frozen=True)
class Scores:
    """Figures of one filter.

    Attributes:
        jitter: Mean ``|x[f+1] - 2 x[f] + x[f-1]|`` over three consecutive delivered frames,
            percent of object size.
        lag_frames: Delay (frames) that maximises the cross-correlation of the output's
            velocity with the ground truth's, during motion.
        error: Mean distance to the ground truth, percent of object size.
        samples: Keypoint samples behind ``error``.
    """

    jitter: float
    lag_frames: float
    error: float
    samples: int


def jitter(series: Sequence[Series], outputs: Sequence[np.ndarray]) -> float:
    """Mean second difference magnitude, percent of object size."""
    total, count = 0.0, 0
    for s, out in zip(series, outputs, strict=True):
        ok = s.mask[:-2] & s.mask[1:-1] & s.mask[2:]
        second = np.linalg.norm(out[2:] - 2 * out[1:-1] + out[:-2], axis=2) / s.size[1:-1, None]
        total += float(second[ok].sum())
        count += int(ok.sum())
    return 100.0 * total / max(count, 1)


def error(series: Sequence[Series], outputs: Sequence[np.ndarray]) -> tuple[float, int]:
    """Mean distance to the truth, percent of object size; and the number of samples."""
    total, count = 0.0, 0
    for s, out in zip(series, outputs, strict=True):
        dist = np.linalg.norm(out - s.truth, axis=2) / s.size[:, None]
        total += float(dist[s.mask].sum())
        count += int(s.mask.sum())
    return 100.0 * total / max(count, 1), count


def _delayed(truth: np.ndarray, frames: int) -> np.ndarray:
    """``out[f] = truth[f - frames]``, NaN where that frame does not exist."""
    n = len(truth)
    out = np.full_like(truth, np.nan)
    if 0 <= frames < n:
        out[frames:] = truth[: n - frames]
    elif -n < frames < 0:
        out[: n + frames] = truth[-frames:]
    return out


def _shifted(truth: np.ndarray, lag: float) -> np.ndarray:
    """``truth`` delayed by ``lag`` frames, linearly interpolated between frames."""
    whole = int(np.floor(lag))
    frac = lag - whole
    early = _delayed(truth, whole)
    return early if frac == 0 else (1.0 - frac) * early + frac * _delayed(truth, whole + 1)


def lag_frames(series: Sequence[Series], outputs: Sequence[np.ndarray], fps: float) -> float:
    """The delay of the output behind the truth, frames (see :class:`Scores`)."""
    v_out, v_true = [], {lag: [] for lag in LAG_GRID}
    for s, out in zip(series, outputs, strict=True):
        pair = s.mask[:-1] & s.mask[1:]
        vel_true0 = (s.truth[1:] - s.truth[:-1]) / s.size[:-1, None, None]
        moving = pair & (np.linalg.norm(vel_true0, axis=2) * fps >= MOTION_SPEED)
        shifted = {lag: _shifted(s.truth, lag) for lag in LAG_GRID}
        for lag in LAG_GRID:
            g = shifted[lag]
            moving &= np.isfinite(g[1:] - g[:-1]).all(axis=2)
        if not moving.any():
            continue
        v_out.append(((out[1:] - out[:-1]) / s.size[:-1, None, None])[moving])
        for lag in LAG_GRID:
            g = shifted[lag]
            v_true[lag].append(((g[1:] - g[:-1]) / s.size[:-1, None, None])[moving])
    if not v_out:
        return float("nan")
    vo = np.concatenate(v_out)
    best, best_r = float("nan"), -np.inf
    for lag in LAG_GRID:
        vt = np.concatenate(v_true[lag])
        r = float(np.sum(vo * vt) / np.sqrt(np.sum(vo * vo) * np.sum(vt * vt)))
        if r > best_r:
            best, best_r = float(lag), r
    return best


def score(series: Sequence[Series], outputs: Sequence[np.ndarray], fps: float) -> Scores:
    """Jitter, lag and error of ``outputs`` (one (F, K, 2) array per series)."""
    err, samples = error(series, outputs)
    return Scores(jitter(series, outputs), lag_frames(series, outputs, fps), err, samples)
