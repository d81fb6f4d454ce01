"""A model of what a real detector + pose model does to perfect keypoints.

Per frame and keypoint: Gaussian jitter proportional to the object's size (stronger on
hidden keypoints), now and then an outlier (a confident keypoint in the wrong place), now
and then a miss (a low score at a wrong place); per frame, now and then a dropped frame.

An object's size is ``sqrt(w * h)`` of the box around its true keypoints (the amodal box):
unlike the box of its visible pixels, it does not collapse when the object walks behind
something.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flowpose.frame import Instance
from flowpose.synthetic import GroundTruthObject

#: Keypoint visibility codes of the synthetic ground truth.
OUTSIDE, HIDDEN, VISIBLE = 0, 1, 2


@dataclass(frozen=True)
class DetectorNoise:
    """How noisy the simulated detector is.

    Attributes:
        jitter: Per-axis standard deviation of a visible keypoint's error, fraction of the
            object size.
        hidden_jitter: Multiplier of ``jitter`` for keypoints hidden behind something.
        box_jitter: Per-axis standard deviation of each box corner's error, fraction of size.
        outlier_rate: Chance per keypoint and frame of a confident keypoint in the wrong place.
        outlier_scale: Typical distance of an outlier, fraction of size.
        miss_rate: Chance per keypoint and frame of a miss: a score below 0.2, a wrong place.
        drop_rate: Chance per frame that the frame is lost (never reaches the filters).
    """

    jitter: float = 0.02
    hidden_jitter: float = 2.0
    box_jitter: float = 0.02
    outlier_rate: float = 0.01
    outlier_scale: float = 0.25
    miss_rate: float = 0.05
    drop_rate: float = 0.05

    def __post_init__(self) -> None:
        for name in ("jitter", "hidden_jitter", "box_jitter", "outlier_scale"):
            if getattr(self, name) < 0:
                raise ValueError(f"DetectorNoise.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("outlier_rate", "miss_rate", "drop_rate"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"DetectorNoise.{name} must be in [0, 1), got {getattr(self, name)}")


def object_size(keypoints: np.ndarray) -> float:
    """``sqrt(w * h)`` of the box around (K, 2) keypoints, pixels (at least 1)."""
    extent = np.ptp(np.asarray(keypoints, dtype=np.float64), axis=0)
    return float(max(np.sqrt(extent[0] * extent[1]), 1.0))


@dataclass(frozen=True)
class NoisyObservation:
    """One object as the simulated detector reports it.

    Attributes:
        instance: The report (keypoints, scores, box), with the true track id.
        detected: (K,) bool: keypoints the detector reported with a usable score
            (not missed and inside the image); the metrics are taken over these.
    """

    instance: Instance
    detected: np.ndarray


def observe(obj: GroundTruthObject, noise: DetectorNoise, rng: np.random.Generator) -> NoisyObservation:
    """What the simulated detector reports for ``obj`` in one frame."""
    kpts = obj.keypoints.astype(np.float64)
    k = len(kpts)
    size = object_size(kpts)
    vis = np.asarray(obj.visibility)
    sigma = noise.jitter * size * np.where(vis == HIDDEN, noise.hidden_jitter, 1.0)
    out = kpts + rng.normal(0.0, 1.0, (k, 2)) * sigma[:, None]
    scores = np.where(vis == VISIBLE, rng.uniform(0.7, 1.0, k), rng.uniform(0.35, 0.7, k))
    outlier = rng.random(k) < noise.outlier_rate
    angle = rng.uniform(0, 2 * np.pi, k)
    reach = noise.outlier_scale * size * rng.uniform(0.5, 1.5, k)
    out[outlier] += np.stack([np.cos(angle), np.sin(angle)], axis=1)[outlier] * reach[outlier, None]
    missed = (rng.random(k) < noise.miss_rate) | (vis == OUTSIDE)
    out[missed] = kpts[missed] + rng.normal(0.0, 0.3 * size, (int(missed.sum()), 2))
    scores[missed] = rng.uniform(0.0, 0.2, int(missed.sum()))
    box = obj.bbox.astype(np.float64) + rng.normal(0.0, noise.box_jitter * size, 4)
    instance = Instance(
        bbox=np.concatenate([np.minimum(box[:2], box[2:]), np.maximum(box[:2], box[2:])]),
        score=1.0,
        label=obj.label,
        track_id=obj.track_id,
        keypoints=out.astype(np.float32),
        keypoint_scores=scores.astype(np.float32),
        layout=obj.layout,
    )
    return NoisyObservation(instance, ~missed)
