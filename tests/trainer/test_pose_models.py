"""Backbones, decoder, heads and losses of the pose models."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from flowpose.codecs import build_codec  # noqa: E402
from flowpose.trainer.models.backbones import BACKBONES, build_backbone  # noqa: E402
from flowpose.trainer.models.heads import HeatmapHead  # noqa: E402
from flowpose.trainer.models.losses import (  # noqa: E402
    heatmap_ce_loss,
    heatmap_mse_loss,
    simcc_kl_loss,
    soft_argmax_l1_loss,
)
from flowpose.trainer.models.pose_model import ModelSettings, build_pose_model  # noqa: E402


@pytest.mark.parametrize("name", ["mobilenet_v3_small", "shufflenet_v2_x0_5", "resnet18"])
def test_backbones_tap_strides_8_16_32(name: str) -> None:
    backbone = build_backbone(name, pretrained=False)
    feats = backbone(torch.zeros(2, 3, 96, 64))
    assert [tuple(f.shape[2:]) for f in feats] == [(12, 8), (6, 4), (3, 2)]
    assert [f.shape[1] for f in feats] == list(backbone.channels)
    assert not backbone.pretrained


def test_unknown_backbone_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"model\.backbone must be one of"):
        build_backbone("vgg11")
    assert {"mobilenet_v3_small", "shufflenet_v2_x1_0", "resnet50"} <= set(BACKBONES)


def test_unreachable_imagenet_weights_fall_back_to_scratch(tmp_path: Path, monkeypatch, caplog) -> None:
    # The edge of the world: no weight server reachable (a proxy on a port nobody listens on),
    # and an empty torch hub cache.
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    with caplog.at_level(logging.WARNING, logger="flowpose.trainer.models.backbones"):
        backbone = build_backbone("shufflenet_v2_x0_5", pretrained=True)
    assert not backbone.pretrained
    assert "no ImageNet weights for shufflenet_v2_x0_5" in caplog.text and "from scratch" in caplog.text


@pytest.mark.parametrize(
    ("codec", "shapes"),
    [
        ({"type": "heatmap", "sigma": 2.0}, [(17, 24, 16)]),
        ({"type": "simcc", "sigma": [3.0, 3.0], "simcc_split_ratio": 2.0}, [(17, 128), (17, 192)]),
    ],
)
def test_pose_model_outputs_match_the_codec(codec: dict, shapes: list) -> None:
    settings = ModelSettings(backbone="shufflenet_v2_x0_5", pretrained=False, decoder_channels=16, codec=codec)
    built = build_codec(settings.codec_config((64, 96)))
    model = build_pose_model(settings, built, 17).eval()
    with torch.no_grad():
        out = model(torch.zeros(3, 3, 96, 64))
    assert [tuple(o.shape[1:]) for o in out] == shapes and all(o.shape[0] == 3 for o in out)


def test_input_size_must_suit_the_backbone() -> None:
    settings = ModelSettings(pretrained=False)
    with pytest.raises(ValueError, match="multiple of 32"):
        build_pose_model(settings, build_codec(settings.codec_config((48, 64))), 17)


def _gaussian(h: int, w: int, x: float, y: float, sigma: float) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    return torch.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma**2))


def test_softmax_heatmap_head_outputs_the_codec_target_shape() -> None:
    """Logits equal to the log of a Gaussian come out as that Gaussian (peak 1): what the codec decodes."""
    sigma = 2.0
    head = HeatmapHead(channels=1, num_keypoints=1, softmax_sigma=sigma)
    target = _gaussian(32, 24, 11.3, 14.6, sigma)
    with torch.no_grad():
        head.out.weight.fill_(1.0)
        head.out.bias.zero_()
        head.eval()
        out = head(torch.log(target)[None, None])[0]
    np.testing.assert_allclose(out[0, 0].numpy(), target.numpy(), atol=1e-3)
    codec = build_codec({"type": "heatmap", "input_size": [96, 128], "heatmap_size": [24, 32], "sigma": sigma,
                         "unbiased": True})  # fmt: skip
    np.testing.assert_allclose(codec.decode(out.numpy()).keypoints[0, 0], [11.3 * 4, 14.6 * 4], atol=0.05)
    head.train()
    assert torch.equal(head(torch.log(target)[None, None])[0], torch.log(target)[None, None])  # logits


def test_softmax_heatmap_head_keeps_scores_at_most_1_without_moving_the_keypoint() -> None:
    """A prediction sharper than the target would peak above 1: it is scaled down, same decode."""
    sigma = 2.0
    head = HeatmapHead(channels=1, num_keypoints=1, softmax_sigma=sigma).eval()
    sharp = _gaussian(32, 24, 11.3, 14.6, 0.7)
    with torch.no_grad():
        head.out.weight.fill_(1.0)
        head.out.bias.zero_()
        out = head(torch.log(sharp)[None, None])[0].numpy()
    unscaled = sharp.numpy() / sharp.sum().item() * 2 * np.pi * sigma**2
    assert unscaled.max() > 3  # what the head returned before the bound
    assert out.max() == pytest.approx(1.0, abs=1e-5)
    codec = build_codec({"type": "heatmap", "input_size": [96, 128], "heatmap_size": [24, 32], "sigma": sigma,
                         "unbiased": True})  # fmt: skip
    decoded, reference = codec.decode(out), codec.decode(unscaled[None, None].astype(np.float32))
    np.testing.assert_allclose(decoded.keypoints, reference.keypoints, atol=1e-3)
    assert decoded.scores[0, 0] == pytest.approx(1.0, abs=1e-5) and reference.scores[0, 0] > 3


def test_losses_are_smallest_at_the_target_and_ignore_zero_weights() -> None:
    target = _gaussian(16, 16, 6.0, 9.0, 1.5)[None, None].repeat(1, 2, 1, 1)
    weights = torch.tensor([[1.0, 0.0]])
    good = torch.log(target.clamp_min(1e-9))
    bad = torch.roll(good, shifts=4, dims=3)
    assert heatmap_ce_loss(good, target, weights) < heatmap_ce_loss(bad, target, weights)
    assert heatmap_mse_loss(target, target, weights) == 0
    # Keypoint 1 has weight 0: anything it predicts costs nothing.
    mixed = torch.cat([good[:, :1], bad[:, 1:]], dim=1)
    assert heatmap_ce_loss(mixed, target, weights) == pytest.approx(float(heatmap_ce_loss(good, target, weights)))
    # Soft-argmax: a very sharp peak at the keypoint costs ~0; the loss is in heatmap pixels.
    sharp = _gaussian(16, 16, 6.0, 9.0, 0.3)[None, None].repeat(1, 2, 1, 1) * 200
    kpts = torch.tensor([[[6.0 * 4, 9.0 * 4], [0.0, 0.0]]])
    assert soft_argmax_l1_loss(sharp, kpts, weights, (4.0, 4.0)) < 1e-3
    moved = kpts + torch.tensor([8.0, 0.0])  # 8 input pixels = 2 heatmap pixels
    assert soft_argmax_l1_loss(sharp, moved, weights, (4.0, 4.0)) == pytest.approx(2.0, abs=1e-3)


def test_simcc_kl_is_zero_for_matching_distributions() -> None:
    tx = torch.softmax(torch.randn(1, 3, 20), dim=-1)
    ty = torch.softmax(torch.randn(1, 3, 30), dim=-1)
    weights = torch.ones(1, 3)
    # beta * logits = log target (+ a constant) reproduces the target exactly.
    loss = simcc_kl_loss(torch.log(tx) / 10, torch.log(ty) / 10, tx, ty, weights, beta=10.0)
    assert loss == pytest.approx(0.0, abs=1e-5)
    assert simcc_kl_loss(torch.zeros(1, 3, 20), torch.zeros(1, 3, 30), tx, ty, weights) > 0.1
    assert math.isfinite(float(simcc_kl_loss(torch.zeros(1, 3, 20), torch.zeros(1, 3, 30), tx, ty, weights * 0)))
