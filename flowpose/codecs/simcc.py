"""SimCC codec (RTMPose): each coordinate is a 1-D classification over sub-pixel bins.

Bin ``i`` of the x vector stands for input pixel ``i / simcc_split_ratio``; sigma is in
bins, as in MMPose's ``SimCCLabel`` (e.g. ``sigma=(4.9, 5.66)`` for RTMPose at 192x256).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np

from flowpose.codecs.base import (
    Codec,
    DecodedKeypoints,
    check_bool,
    check_choice,
    check_keypoints,
    check_positive,
    check_size,
)

__all__ = ["SimCC", "SimCCTargets"]

REFINE_MODES = ("none", "parabola", "gaussian")


class SimCCTargets(NamedTuple):
    """Training targets of :class:`SimCC`.

    Attributes:
        target_x: float32, shape (K, Wx) or (N, K, Wx) with ``Wx = round(w * ratio)``.
        target_y: float32, shape (K, Wy) or (N, K, Wy) with ``Wy = round(h * ratio)``.
        keypoint_weights: float32, shape (K,) or (N, K); 0 for unlabelled keypoints and for
            those whose Gaussian falls entirely outside the bins (their targets are zero).
    """

    target_x: np.ndarray
    target_y: np.ndarray
    keypoint_weights: np.ndarray


@dataclass(frozen=True)
class SimCC(Codec):
    """Gaussian-smoothed 1-D labels for x and y, decoded by argmax.

    Args:
        input_size: Model input ``(w, h)`` in pixels.
        sigma: Gaussian standard deviation in bins, one number or ``(sigma_x, sigma_y)``.
        simcc_split_ratio: Bins per input pixel.
        label_smooth_weight: Weight ``eps`` in ``(1 - eps) * gaussian + eps / n_bins``.
        normalize: Divide the labels by ``sigma * sqrt(2 pi)`` so that an unsmoothed label
            sums to about 1.
        refine: Sub-bin step after the argmax. ``"none"`` is RTMPose's own decoding;
            ``"parabola"`` fits the raw values around the peak, which suits logits (RTMPose
            outputs are log-probabilities up to a constant); ``"gaussian"`` fits their log,
            which suits probability-like outputs and is exact on this codec's own labels
            (it falls back to the parabola where a value is not positive).
    """

    type_name: ClassVar[str] = "simcc"

    input_size: tuple[int, int]
    sigma: float | tuple[float, float] = 6.0
    simcc_split_ratio: float = 2.0
    label_smooth_weight: float = 0.0
    normalize: bool = False
    refine: str = "none"

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise the fields once, here
        set_(self, "input_size", check_size(self.input_size, "input_size"))
        sig = self.sigma
        pair = (sig, sig) if isinstance(sig, (int, float, np.integer, np.floating)) else sig
        try:
            sx, sy = pair
        except (TypeError, ValueError):
            raise ValueError(f"sigma must be a number or a pair (sigma_x, sigma_y), got {sig!r}") from None
        set_(self, "sigma", (check_positive(sx, "sigma[0]"), check_positive(sy, "sigma[1]")))
        set_(self, "simcc_split_ratio", check_positive(self.simcc_split_ratio, "simcc_split_ratio"))
        eps = self.label_smooth_weight
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0.0 <= eps < 1.0:
            raise ValueError(f"label_smooth_weight must be a number in [0, 1), got {eps!r}")
        set_(self, "label_smooth_weight", float(eps))
        set_(self, "normalize", check_bool(self.normalize, "normalize"))
        set_(self, "refine", check_choice(self.refine, "refine", REFINE_MODES))
        if min(self.num_bins) < 3:
            raise ValueError(f"input_size * simcc_split_ratio gives {self.num_bins} bins; need at least 3")

    @property
    def num_bins(self) -> tuple[int, int]:
        """Length ``(Wx, Wy)`` of the x and y vectors."""
        r = self.simcc_split_ratio
        return round(self.input_size[0] * r), round(self.input_size[1] * r)

    def to_config(self) -> dict[str, Any]:
        """JSON-ready parameters; ``build_codec(codec.to_config()) == codec``."""
        return {
            "type": self.type_name,
            "input_size": list(self.input_size),
            "sigma": list(self.sigma),
            "simcc_split_ratio": self.simcc_split_ratio,
            "label_smooth_weight": self.label_smooth_weight,
            "normalize": self.normalize,
            "refine": self.refine,
        }

    def encode(self, keypoints: np.ndarray, visible: np.ndarray | None = None) -> SimCCTargets:
        """Build the x and y label vectors.

        Args:
            keypoints: ``[x, y]`` in input-crop pixels, shape (K, 2) or (N, K, 2).
            visible: Visibility, > 0 where labelled, shape (K,) or (N, K); None means all.

        Returns:
            :class:`SimCCTargets` with leading shapes following ``keypoints``.
        """
        kpts, vis = check_keypoints(keypoints, visible)
        mu = kpts * self.simcc_split_ratio
        sig = np.asarray(self.sigma)
        lim = np.asarray(self.num_bins, dtype=np.float64) - 1
        inside = ((mu + 3 * sig >= 0) & (mu - 3 * sig <= lim)).all(axis=-1)
        weights = vis & inside
        targets = []
        for axis, n_bins in enumerate(self.num_bins):
            d = np.arange(n_bins, dtype=np.float64) - mu[..., axis, None]
            t = np.exp(-(d**2) / (2.0 * self.sigma[axis] ** 2))
            eps = self.label_smooth_weight
            if eps > 0:
                t = (1.0 - eps) * t + eps / n_bins
            if self.normalize:
                t = t / (self.sigma[axis] * math.sqrt(2.0 * math.pi))
            targets.append((t * weights[..., None]).astype(np.float32))
        return SimCCTargets(targets[0], targets[1], weights.astype(np.float32))

    def decode(self, simcc_x: np.ndarray, simcc_y: np.ndarray) -> DecodedKeypoints:  # type: ignore[override]
        """Decode a batch of SimCC outputs at once.

        Args:
            simcc_x: Model x output, shape (K, Wx) or (B, K, Wx).
            simcc_y: Model y output, shape (K, Wy) or (B, K, Wy), same B and K.

        Returns:
            :class:`DecodedKeypoints`: keypoints (B, K, 2) in input-crop pixels and scores
            (B, K) equal to ``min(max(simcc_x), max(simcc_y))`` of the raw outputs, as
            RTMPose; B is 1 for unbatched input.

        Raises:
            ValueError: On shapes that disagree with each other or with ``num_bins``.
        """
        sx, sy = np.asarray(simcc_x, dtype=np.float32), np.asarray(simcc_y, dtype=np.float32)
        if sx.ndim == 2 and sy.ndim == 2:
            sx, sy = sx[None], sy[None]
        wx, wy = self.num_bins
        shapes_ok = sx.ndim == sy.ndim == 3 and sx.shape[:2] == sy.shape[:2]
        if not (shapes_ok and sx.shape[-1] == wx and sy.shape[-1] == wy):
            raise ValueError(
                f"simcc_x and simcc_y must have shapes (B, K, {wx}) and (B, K, {wy}) "
                f"(or without B), got {sx.shape} and {sy.shape}"
            )
        x, max_x = self._locate(sx)
        y, max_y = self._locate(sy)
        keypoints = np.stack([x, y], axis=-1) / self.simcc_split_ratio
        return DecodedKeypoints(keypoints.astype(np.float32), np.minimum(max_x, max_y))

    def _locate(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Refined peak position in bins and raw peak value, each shape (B, K)."""
        n_bins = vectors.shape[-1]
        idx = vectors.argmax(axis=-1)[..., None]
        peak = np.take_along_axis(vectors, idx, axis=-1)[..., 0]
        pos = idx[..., 0].astype(np.float64)
        if self.refine == "none":
            return pos, peak
        left, centre, right = (
            np.take_along_axis(vectors, np.clip(idx + d, 0, n_bins - 1), axis=-1)[..., 0].astype(np.float64)
            for d in (-1, 0, 1)
        )
        if self.refine == "gaussian":
            # The log turns a Gaussian into an exact parabola; non-positive values have no
            # log, so those peaks keep the plain parabola on raw values.
            positive = (left > 0) & (right > 0)
            left, centre, right = (
                np.where(positive, np.log(np.where(positive, v, 1.0)), v) for v in (left, centre, right)
            )
        curv = left - 2.0 * centre + right
        # With the argmax at the centre the vertex lies within half a bin, unless the peak
        # is on the edge (one side missing) or flat (no curvature).
        ok = (idx[..., 0] > 0) & (idx[..., 0] < n_bins - 1) & (curv < 0)
        return pos + np.where(ok, 0.5 * (left - right) / np.where(ok, curv, -1.0), 0.0), peak
