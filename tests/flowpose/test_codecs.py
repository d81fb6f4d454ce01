"""Tests for flowpose.codecs: heatmap and SimCC encode/decode, the factory and its errors."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from flowpose.codecs import CODECS, DecodedKeypoints, GaussianHeatmap, MSRAHeatmap, SimCC, build_codec


def _random_keypoints(rng, input_size, margin, shape=(8, 17)):
    w, h = input_size
    return np.stack([rng.uniform(margin, w - margin, shape), rng.uniform(margin, h - margin, shape)], axis=-1)


# ---------------------------------------------------------------- heatmap


@pytest.mark.parametrize(
    ("input_size", "heatmap_size", "sigma", "blur"),
    [
        ((192, 256), (48, 64), 2.0, 11),
        ((288, 384), (72, 96), 3.0, 17),
        ((256, 256), (64, 64), 2.0, 3),
        ((192, 256), (48, 64), 2.0, 1),  # no blur: exact up to the border
    ],
)
def test_heatmap_round_trip_is_sub_pixel(input_size, heatmap_size, sigma, blur):
    codec = GaussianHeatmap(input_size, heatmap_size, sigma, unbiased=True, blur_kernel_size=blur)
    rng = np.random.default_rng(0)
    # "Not near the border": the blur window around the peak stays inside the heatmap. Closer,
    # the zero border of the blur pulls the estimate inwards (as in MMPose's DARK). Heatmap
    # pixel i is input pixel i * stride, so the margin is set in heatmap pixels.
    margin = blur // 2 + 1
    last = np.array(heatmap_size) - 1 - margin
    kpts = (margin + rng.uniform(0, 1, (8, 17, 2)) * (last - margin)) * codec.stride
    targets = codec.encode(kpts)
    assert targets.heatmaps.shape == (8, 17, heatmap_size[1], heatmap_size[0])
    assert targets.heatmaps.dtype == np.float32 and targets.keypoint_weights.shape == (8, 17)
    decoded = codec.decode(targets.heatmaps)
    assert decoded.keypoints.shape == (8, 17, 2) and decoded.scores.shape == (8, 17)
    assert np.abs(decoded.keypoints - kpts).max() < 0.05
    assert decoded.scores.min() > 0.8


def test_msra_encoding_snaps_to_the_nearest_heatmap_pixel():
    codec = MSRAHeatmap((64, 64), (16, 16), sigma=2.0)
    hm = codec.encode(np.array([[9.0, 13.9]])).heatmaps[0]  # heatmap (2.25, 3.475) -> pixel (2, 3)
    assert hm[3, 2] == 1.0
    assert hm[3, 3] == pytest.approx(np.exp(-1 / 8))
    assert hm[4, 4] == pytest.approx(np.exp(-5 / 8))  # dx = 2, dy = 1
    assert hm[3, 9] == 0.0  # beyond 3 sigma: MSRA truncates
    # Unbiased keeps the sub-pixel centre: (2.25, 3.475).
    unbiased = GaussianHeatmap((64, 64), (16, 16), sigma=2.0, unbiased=True)
    hm = unbiased.encode(np.array([[9.0, 13.9]])).heatmaps[0]
    assert hm[3, 2] == pytest.approx(np.exp(-(0.25**2 + 0.475**2) / 8), rel=1e-6)


@pytest.mark.parametrize(
    ("keypoint", "visible", "weight"),
    [
        ([30.0, 30.0], 1, 1.0),
        ([30.0, 30.0], 0, 0.0),  # unlabelled
        ([-20.0, 30.0], 1, 1.0),  # outside, but its 3-sigma tail reaches the heatmap
        ([-40.0, 30.0], 1, 0.0),  # tail misses entirely
        ([30.0, 100.0], 1, 0.0),
        ([np.nan, 30.0], 1, 0.0),  # missing label
    ],
)
def test_heatmap_keypoint_weights(keypoint, visible, weight):
    codec = GaussianHeatmap((64, 64), (16, 16), sigma=2.0, unbiased=True)
    targets = codec.encode(np.array([keypoint]), np.array([visible]))
    assert targets.keypoint_weights.tolist() == [weight]
    assert (targets.heatmaps.max() > 0) == bool(weight)
    assert np.isfinite(targets.heatmaps).all()


def test_heatmap_decode_unbatched_and_batched_agree():
    codec = GaussianHeatmap((192, 256), (48, 64), 2.0, unbiased=True)
    rng = np.random.default_rng(3)
    maps = codec.encode(_random_keypoints(rng, (192, 256), 10, (4, 17))).heatmaps
    maps = maps + rng.uniform(0, 0.05, maps.shape).astype(np.float32)
    batched = codec.decode(maps)
    for i in range(4):
        single = codec.decode(maps[i])
        assert single.keypoints.shape == (1, 17, 2)
        np.testing.assert_allclose(single.keypoints[0], batched.keypoints[i])
    _, scores = batched  # unpacks like a tuple
    assert isinstance(batched, DecodedKeypoints) and scores is batched.scores


def _dark_reference(heatmap, kernel):
    """DARK the slow way: blur the whole map (zero border), log, Newton step at the argmax."""
    y, x = np.unravel_index(heatmap.argmax(), heatmap.shape)
    blurred = cv2.GaussianBlur(heatmap, (kernel, kernel), 0, borderType=cv2.BORDER_CONSTANT)
    lg = np.log(np.maximum(blurred.astype(np.float64), 1e-10))
    grad = np.array([lg[y, x + 1] - lg[y, x - 1], lg[y + 1, x] - lg[y - 1, x]]) / 2
    dxy = (lg[y + 1, x + 1] - lg[y + 1, x - 1] - lg[y - 1, x + 1] + lg[y - 1, x - 1]) / 4
    hess = np.array(
        [[lg[y, x + 1] - 2 * lg[y, x] + lg[y, x - 1], dxy], [dxy, lg[y + 1, x] - 2 * lg[y, x] + lg[y - 1, x]]]
    )
    return np.array([x, y]) - np.linalg.solve(hess, grad)


def test_dark_matches_a_full_map_blur_on_noisy_heatmaps():
    codec = GaussianHeatmap((192, 256), (48, 64), 2.0, unbiased=True)
    rng = np.random.default_rng(4)
    maps = codec.encode(_random_keypoints(rng, (192, 256), 16, (2, 17))).heatmaps
    maps = np.clip(maps + rng.normal(0, 0.05, maps.shape), 0, None).astype(np.float32)
    decoded = codec.decode(maps)
    for b in range(2):
        for k in range(17):
            expected = _dark_reference(maps[b, k], 11) * codec.stride
            np.testing.assert_allclose(decoded.keypoints[b, k], expected, atol=2e-3)


def test_heatmap_refine_modes_and_border_peaks():
    maps = np.zeros((3, 16, 12), dtype=np.float32)
    maps[0, 5, 5], maps[0, 5, 6], maps[0, 5, 4], maps[0, 4, 5] = 1.0, 0.5, 0.2, 0.3  # right, up larger
    maps[1, 0, 7] = 0.7  # a peak on the border is not refined
    maps[2] = -1.0  # nothing found: score <= 0, no refinement
    quarter = GaussianHeatmap((48, 64), (12, 16), refine="quarter").decode(maps)
    np.testing.assert_allclose(quarter.keypoints[0], [[5.25 * 4, 4.75 * 4], [28, 0], [0, 0]])
    np.testing.assert_allclose(quarter.scores[0], [1.0, 0.7, -1.0])
    none = GaussianHeatmap((48, 64), (12, 16), refine="none").decode(maps)
    np.testing.assert_allclose(none.keypoints[0], [[20, 20], [28, 0], [0, 0]])
    dark = GaussianHeatmap((48, 64), (12, 16), refine="dark").decode(maps)
    np.testing.assert_allclose(dark.keypoints[0, 1:], [[28, 0], [0, 0]])
    assert np.all(np.abs(dark.keypoints[0, 0] - [20, 20]) <= 4.0)  # clipped to one heatmap pixel


# ---------------------------------------------------------------- SimCC


@pytest.mark.parametrize("refine", ["gaussian", "parabola"])
@pytest.mark.parametrize(
    ("input_size", "sigma", "ratio", "smooth", "normalize"),
    [
        ((192, 256), (4.9, 5.66), 2.0, 0.0, False),
        ((288, 384), (6.93, 7.99), 2.0, 0.1, True),
        ((256, 192), 6.0, 1.5, 0.0, True),
    ],
)
def test_simcc_round_trip_is_sub_pixel(input_size, sigma, ratio, smooth, normalize, refine):
    codec = SimCC(input_size, sigma, ratio, smooth, normalize, refine=refine)
    rng = np.random.default_rng(5)
    kpts = _random_keypoints(rng, input_size, margin=2)
    targets = codec.encode(kpts)
    wx, wy = codec.num_bins
    assert targets.target_x.shape == (8, 17, wx) and targets.target_y.shape == (8, 17, wy)
    assert (targets.keypoint_weights == 1).all()
    decoded = codec.decode(targets.target_x, targets.target_y)
    assert np.abs(decoded.keypoints - kpts).max() < 0.05


def test_simcc_without_refinement_is_rtmpose_argmax():
    codec = SimCC((192, 256), (4.9, 5.66))
    rng = np.random.default_rng(6)
    kpts = _random_keypoints(rng, (192, 256), 2)
    decoded = codec.decode(*codec.encode(kpts)[:2])
    np.testing.assert_allclose(decoded.keypoints, np.rint(kpts * 2) / 2, atol=1e-6)


def test_simcc_label_known_values():
    codec = SimCC((16, 8), sigma=(2.0, 1.0), simcc_split_ratio=2.0, label_smooth_weight=0.1, normalize=True)
    tx, ty, w = codec.encode(np.array([[10.25, 3.0]]))
    norm_x = 2.0 * np.sqrt(2 * np.pi)
    g = np.exp(-0.25 / 8)  # bins 20 and 21 are half a bin from mu = 20.5
    assert tx.shape == (1, 32) and ty.shape == (1, 16) and w.tolist() == [1.0]
    assert tx[0, 20] == pytest.approx((0.9 * g + 0.1 / 32) / norm_x, rel=1e-6)
    assert tx[0, 21] == pytest.approx(tx[0, 20])
    assert tx[0, 0] == pytest.approx(0.1 / 32 / norm_x, rel=1e-4)  # the smoothing floor
    assert ty[0, 6] == pytest.approx((0.9 + 0.1 / 16) / np.sqrt(2 * np.pi), rel=1e-6)


def test_simcc_scores_and_logit_refinement():
    bins = np.arange(384, dtype=np.float32)
    mu_x, mu_y = 100.3, 200.8
    logits_x = -((bins - mu_x) ** 2) / (2 * 25.0) - 3.0  # negative: no log, parabola fallback
    logits_y = -((np.arange(512) - mu_y) ** 2) / (2 * 25.0) + 1.0
    for refine in ("parabola", "gaussian"):
        out = SimCC((192, 256), refine=refine).decode(logits_x[None], logits_y[None])
        np.testing.assert_allclose(out.keypoints, [[[mu_x / 2, mu_y / 2]]], atol=1e-3)
    # RTMPose's score: the smaller of the two maxima.
    np.testing.assert_allclose(out.scores, [[np.max(logits_x)]])


def test_simcc_weights_and_zero_targets():
    codec = SimCC((192, 256), sigma=6.0)
    tx, ty, w = codec.encode(np.array([[[50.0, 60.0], [50.0, 60.0], [-20.0, 60.0]]]), np.array([[1, 0, 1]]))
    assert w.tolist() == [[1.0, 0.0, 0.0]]
    assert tx[0, 1:].max() == 0 and ty[0, 1:].max() == 0


# ---------------------------------------------------------------- factory and errors


@pytest.mark.parametrize(
    "codec",
    [
        GaussianHeatmap((192, 256), (48, 64), 2.0, unbiased=True),
        GaussianHeatmap((288, 384), (72, 96), sigma=3, blur_kernel_size=17, refine="quarter"),
        SimCC((192, 256), (4.9, 5.66), 2.0, normalize=False),
        SimCC((288, 384), 6.0, 1.5, 0.1, True, refine="parabola"),
    ],
)
def test_codec_config_round_trips_through_json(codec):
    cfg = json.loads(json.dumps(codec.to_config()))
    assert cfg["type"] in CODECS
    rebuilt = build_codec(cfg)
    assert rebuilt == codec and type(rebuilt) is type(codec)
    assert cfg == json.loads(json.dumps(codec.to_config()))  # build_codec left cfg alone


def test_build_codec_defaults():
    codec = build_codec({"type": "simcc", "input_size": [192, 256]})
    assert codec == SimCC((192, 256)) and codec.sigma == (6.0, 6.0) and codec.input_size == (192, 256)


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({"input_size": [1, 2]}, r"codec type must be one of \['heatmap', 'simcc'\], got None"),
        ({"type": "SimCCLabel"}, "got 'SimCCLabel'"),
        ({"type": "simcc", "input_size": [8, 8], "use_dark": True}, r"unknown parameter\(s\) \['use_dark'\]"),
        ({"type": "heatmap", "input_size": [8, 8]}, r"needs parameter\(s\) \['heatmap_size'\]"),
        ([("type", "simcc")], "codec config must be a dict, got list"),
    ],
)
def test_build_codec_errors(cfg, message):
    with pytest.raises(ValueError, match=message):
        build_codec(cfg)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_size": (0, 10)}, r"input_size must be two positive integers \(w, h\), got \(0, 10\)"),
        ({"input_size": (1.5, 2)}, "input_size must be two positive integers"),
        ({"input_size": 192}, r"input_size must be a pair \(w, h\), got 192"),
        ({"heatmap_size": (48, 64, 1)}, r"heatmap_size must be a pair"),
        ({"sigma": 0}, "sigma must be finite and > 0, got 0"),
        ({"sigma": float("nan")}, "sigma must be finite and > 0"),
        ({"sigma": "2"}, "sigma must be a number, got '2'"),
        ({"unbiased": "false"}, "unbiased must be a bool, got 'false'"),
        ({"blur_kernel_size": 4}, "blur_kernel_size must be a positive odd integer, got 4"),
        ({"blur_kernel_size": True}, "blur_kernel_size must be a positive odd integer"),
        ({"refine": "parabola"}, r"refine must be one of \['dark', 'quarter', 'none'\], got 'parabola'"),
    ],
)
def test_heatmap_argument_errors(kwargs, message):
    args = {"input_size": (192, 256), "heatmap_size": (48, 64)} | kwargs
    with pytest.raises(ValueError, match=message):
        GaussianHeatmap(**args)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sigma": (1.0,)}, r"sigma must be a number or a pair \(sigma_x, sigma_y\)"),
        ({"sigma": (1.0, -1.0)}, r"sigma\[1\] must be finite and > 0, got -1.0"),
        ({"simcc_split_ratio": 0}, "simcc_split_ratio must be finite and > 0"),
        ({"label_smooth_weight": 1.0}, r"label_smooth_weight must be a number in \[0, 1\), got 1.0"),
        ({"label_smooth_weight": -0.1}, "label_smooth_weight must be a number in"),
        ({"normalize": 1}, "normalize must be a bool, got 1"),
        ({"refine": "dark"}, r"refine must be one of \['none', 'parabola', 'gaussian'\]"),
        ({"input_size": (1, 8), "simcc_split_ratio": 1.0}, r"gives \(1, 8\) bins; need at least 3"),
    ],
)
def test_simcc_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SimCC(**({"input_size": (192, 256)} | kwargs))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c, s: c.decode(np.zeros((17, 48, 64))), r"heatmaps must have shape \(K, 64, 48\)"),
        (lambda c, s: c.decode(np.zeros((64, 48))), r"or \(B, K, 64, 48\), got \(64, 48\)"),
        (lambda c, s: c.encode(np.zeros((17, 3))), r"keypoints must have shape \(K, 2\) or \(N, K, 2\)"),
        (lambda c, s: c.encode(np.zeros((2, 17, 2)), np.ones(17)), r"visible must have shape \(2, 17\)"),
        (lambda c, s: s.decode(np.zeros((2, 17, 384)), np.zeros((2, 17, 384))), r"\(B, K, 512\)"),
        (lambda c, s: s.decode(np.zeros((2, 17, 384)), np.zeros((2, 16, 512))), "384. and .2, 16, 512"),
        (lambda c, s: s.decode(np.zeros((17, 384)), np.zeros((1, 17, 512))), "must have shapes"),
    ],
)
def test_shape_errors(call, message):
    codec, simcc = GaussianHeatmap((192, 256), (48, 64)), SimCC((192, 256))
    with pytest.raises(ValueError, match=message):
        call(codec, simcc)
