"""Flip test: turn a model's outputs on mirrored crops back into outputs on the crops.

A mirrored crop swaps left and right twice over: positions mirror, and the model calls the
left wrist what was the right one. Mapping back reverses the spatial axis, permutes the
keypoints with the layout's flip pairs, and shifts by the offset between the array's
mirror axis and the image's.

That offset follows from each codec's index convention. Output index ``u`` stands for crop
pixel ``x = a * u`` (heatmaps: ``a = stride``; SimCC: ``a = 1 / split_ratio``) and a
mirrored crop maps pixel ``x`` to ``W - 1 - x``. Reversing ``n`` output positions maps ``u``
to ``n - 1 - u``, so the flipped-back output must be read ``c = (n - 1) - (W - 1) / a``
positions further on: ``c = 1 / stride - 1`` for heatmaps (MMPose shifts by a whole pixel,
which leaves ``1 / stride`` of a heatmap pixel of bias) and ``c = split_ratio - 1`` for
SimCC (one bin at the usual ratio 2). Fractional offsets interpolate linearly.
"""

from __future__ import annotations

import numpy as np

from flowpose.codecs import Codec, GaussianHeatmap, SimCC

__all__ = ["flip_back", "mirror_offset", "read_shifted"]


def mirror_offset(positions: int, input_len: int, pixels_per_position: float) -> float:
    """Offset ``c`` such that ``back[u] = reversed[u + c]`` undoes an image mirror exactly.

    Args:
        positions: Length ``n`` of the output axis (heatmap width, SimCC bins).
        input_len: Crop width in pixels.
        pixels_per_position: Crop pixels per output index (``a`` in the module docstring).
    """
    return (positions - 1) - (input_len - 1) / pixels_per_position


def read_shifted(values: np.ndarray, offset: float) -> np.ndarray:
    """``out[..., u] = values[..., u + offset]`` along the last axis, linearly interpolated.

    Positions past either end read the end value (a peak is never pushed off the edge).
    """
    n = values.shape[-1]
    pos = np.clip(np.arange(n, dtype=np.float64) + offset, 0.0, n - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    frac = (pos - lo).astype(values.dtype)
    if not frac.any():
        return values[..., lo]
    return values[..., lo] * (1 - frac) + values[..., hi] * frac


def flip_back(outputs: list[np.ndarray], codec: Codec, flip_index: np.ndarray) -> list[np.ndarray]:
    """Map the model's outputs for mirrored crops back to the unmirrored crops.

    Args:
        outputs: The model outputs for the mirrored crops, in the codec's order: heatmaps
            (B, K, H, W) for :class:`GaussianHeatmap`; simcc_x (B, K, Wx) and simcc_y
            (B, K, Wy) for :class:`SimCC`.
        codec: The model's codec; it fixes the axes and the mirror offset.
        flip_index: Keypoint permutation (K,) from :attr:`KeypointLayout.flip_index`.

    Returns:
        Outputs of the same shapes, comparable with (and averaged with) the unmirrored ones.

    Raises:
        ValueError: On an unsupported codec or a keypoint count that differs from the layout's.
    """
    k = len(flip_index)
    if any(o.ndim < 3 or o.shape[1] != k for o in outputs):
        shapes = [o.shape for o in outputs]
        raise ValueError(f"flip test: outputs {shapes} do not have the layout's {k} keypoints on axis 1")
    input_w = codec.input_size[0]
    if isinstance(codec, SimCC):
        simcc_x, simcc_y = outputs
        offset = mirror_offset(simcc_x.shape[-1], input_w, 1.0 / codec.simcc_split_ratio)
        x = read_shifted(simcc_x[:, flip_index, ::-1], offset)
        return [x, simcc_y[:, flip_index]]
    if isinstance(codec, GaussianHeatmap):
        (heatmaps,) = outputs
        offset = mirror_offset(heatmaps.shape[-1], input_w, float(codec.stride[0]))
        return [read_shifted(heatmaps[:, flip_index, :, ::-1], offset)]
    raise ValueError(f"flip test does not know codec {type(codec).__name__}")
