"""Flip test outputs mapped back: codec targets rendered on a mirrored crop decode to the original keypoints."""

from __future__ import annotations

import numpy as np
import pytest

from flowpose.codecs import GaussianHeatmap, SimCC
from flowpose.meta import load_layout
from flowpose.pose import flip_back, mirror_offset, read_shifted

W, H = 192, 256


def mirrored(keypoints: np.ndarray, flip_index: np.ndarray) -> np.ndarray:
    """What a perfect model reports on the mirrored crop: mirrored positions, left/right swapped."""
    out = keypoints[:, flip_index].copy()
    out[..., 0] = W - 1 - out[..., 0]
    return out


@pytest.fixture
def keypoints() -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.uniform([20, 20], [W - 20, H - 20], size=(2, 17, 2))


@pytest.mark.parametrize("layout", ["coco17", "ap10k"])
def test_simcc_flip_back_restores_positions_and_keypoint_order(keypoints, layout) -> None:
    flip_index = load_layout(layout).flip_index
    codec = SimCC(input_size=(W, H), sigma=(4.9, 5.66), refine="gaussian")
    original = codec.decode(*codec.encode(keypoints)[:2]).keypoints
    targets = codec.encode(mirrored(keypoints, flip_index))
    back = flip_back([targets.target_x, targets.target_y], codec, flip_index)
    np.testing.assert_allclose(codec.decode(*back).keypoints, original, atol=1e-3)
    np.testing.assert_allclose(original, keypoints, atol=1e-3)


def test_heatmap_flip_back_restores_positions_within_a_tenth_of_a_pixel(keypoints) -> None:
    flip_index = load_layout("coco17").flip_index
    codec = GaussianHeatmap(input_size=(W, H), heatmap_size=(W // 4, H // 4), sigma=2.0, unbiased=True)
    (heatmaps,) = flip_back([codec.encode(mirrored(keypoints, flip_index)).heatmaps], codec, flip_index)
    err = np.abs(codec.decode(heatmaps).keypoints - keypoints)
    # x went through a 0.75-pixel interpolated shift; y only through the keypoint permutation.
    assert err[..., 0].max() < 0.1 and err[..., 1].max() < 0.02


def test_without_the_shift_the_heatmap_flip_would_be_biased(keypoints) -> None:
    """The shift matters: a plain reversal lands 0.75 heatmap pixels (3 crop pixels) to the left."""
    codec = GaussianHeatmap(input_size=(W, H), heatmap_size=(W // 4, H // 4), sigma=2.0, unbiased=True)
    flip_index = load_layout("coco17").flip_index
    hm = codec.encode(mirrored(keypoints, flip_index)).heatmaps[:, flip_index, :, ::-1]
    bias = codec.decode(hm).keypoints[..., 0] - keypoints[..., 0]
    assert np.allclose(bias, -3.0, atol=0.1)


def test_mirror_offsets_of_the_usual_codecs() -> None:
    assert mirror_offset(2 * W, W, 0.5) == pytest.approx(1.0)  # SimCC at split ratio 2: one bin on
    assert mirror_offset(W // 4, W, 4.0) == pytest.approx(-0.75)  # heatmap at stride 4
    assert mirror_offset(W, W, 1.0) == 0.0


def test_read_shifted_integer_and_fractional() -> None:
    row = np.array([0.0, 1.0, 2.0, 3.0], np.float32)
    np.testing.assert_array_equal(read_shifted(row, 1.0), [1, 2, 3, 3])
    np.testing.assert_allclose(read_shifted(row, -0.75), [0, 0.25, 1.25, 2.25])


def test_flip_back_refuses_a_keypoint_count_that_is_not_the_layouts() -> None:
    codec = SimCC(input_size=(W, H))
    with pytest.raises(ValueError, match="17 keypoints"):
        flip_back([np.zeros((1, 5, 2 * W)), np.zeros((1, 5, 2 * H))], codec, load_layout("coco17").flip_index)
