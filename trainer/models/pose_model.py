"""The pose network: backbone -> decoder -> heatmap or SimCC head, built from ``model:`` config."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from flowpose.codecs import Codec, GaussianHeatmap, SimCC
from flowpose.trainer.engine.config import check_keys
from flowpose.trainer.models.backbones import build_backbone
from flowpose.trainer.models.heads import Decoder, HeatmapHead, SimCCHead

__all__ = ["ModelSettings", "PoseModel", "build_pose_model"]


@dataclass(frozen=True)
class ModelSettings:
    """The config's ``model:`` section.

    Attributes:
        backbone: A name of :data:`flowpose.trainer.models.backbones.BACKBONES`.
        pretrained: Try ImageNet weights (falls back to scratch when they cannot be had).
        decoder_channels: Width of the upsampling decoder.
        codec: Codec config without ``input_size`` (taken from the pipeline): e.g.
            ``{type: heatmap, sigma: 2.0}`` (heatmap_size follows from ``heatmap_stride``) or
            ``{type: simcc, sigma: [4.0, 4.0], simcc_split_ratio: 2.0}``.
        heatmap_stride: Input pixels per heatmap pixel (heatmap head).
        simcc_stride: Stride of the decoder map the SimCC head reads.
        simcc_hidden: Hidden width of the SimCC head.
        bn_momentum: Momentum of every BatchNorm's running statistics. torchvision builds
            MobileNetV3 with 0.01, tuned for 600-epoch ImageNet runs: after a few hundred steps
            its running statistics still hold mostly their initial values, and the model in eval
            mode (validation, export) is far worse than in training mode. 0.1 is PyTorch's default.
        heatmap_loss: ``"ce"`` (spatial softmax + cross-entropy; the head outputs softmax maps
            scaled to peak ~1), ``"ce+coord"`` (the same plus a soft-argmax coordinate L1, DSNT
            style) or ``"mse"`` (raw heatmaps, the classic MSE regression).
    """

    backbone: str = "mobilenet_v3_small"
    pretrained: bool = True
    decoder_channels: int = 64
    codec: dict[str, Any] = dataclasses.field(default_factory=lambda: {"type": "heatmap", "sigma": 2.0})
    heatmap_stride: int = 4
    simcc_stride: int = 8
    simcc_hidden: int = 128
    heatmap_loss: str = "ce"
    bn_momentum: float = 0.1

    @classmethod
    def from_dict(cls, section: dict[str, Any] | None) -> ModelSettings:
        section = dict(section or {})
        if section.get("heatmap_loss", "ce") not in ("ce", "ce+coord", "mse"):
            raise ValueError(f"model.heatmap_loss must be ce, ce+coord or mse, got {section['heatmap_loss']!r}")
        check_keys(section, cls, "'model'")
        return cls(**section)

    def codec_config(self, input_size: tuple[int, int]) -> dict[str, Any]:
        """The full codec config for this input size (what goes into the model card)."""
        cfg = {**self.codec, "input_size": list(input_size)}
        if cfg.get("type") == "heatmap" and "heatmap_size" not in cfg:
            w, h = input_size
            if w % self.heatmap_stride or h % self.heatmap_stride:
                raise ValueError(
                    f"input_size {list(input_size)} is not divisible by heatmap_stride {self.heatmap_stride}"
                )
            cfg["heatmap_size"] = [w // self.heatmap_stride, h // self.heatmap_stride]
        return cfg


class PoseModel(nn.Module):
    """Normalised image (B, 3, h, w) -> ``(heatmaps,)`` or ``(simcc_x, simcc_y)``."""

    def __init__(self, backbone: nn.Module, decoder: Decoder, head: nn.Module, output_names: tuple[str, ...]) -> None:
        super().__init__()
        self.backbone, self.decoder, self.head = backbone, decoder, head
        self.output_names = output_names

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.head(self.decoder(self.backbone(x)))


def build_pose_model(settings: ModelSettings, codec: Codec, num_keypoints: int, pretrained: bool = True) -> PoseModel:
    """Build the network whose outputs ``codec`` decodes.

    Raises:
        ValueError: On an unknown backbone, or a codec whose output size the network cannot make.
    """
    model = _build(settings, codec, num_keypoints, pretrained)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.momentum = settings.bn_momentum
    return model


def _build(settings: ModelSettings, codec: Codec, num_keypoints: int, pretrained: bool) -> PoseModel:
    backbone = build_backbone(settings.backbone, pretrained=pretrained and settings.pretrained)
    w, h = codec.input_size  # type: ignore[attr-defined]
    if w % 32 or h % 32:
        raise ValueError(f"input_size {[w, h]} must be a multiple of 32 for the stride-32 backbone")
    if isinstance(codec, GaussianHeatmap):
        stride = w // codec.heatmap_size[0]
        if (w // stride, h // stride) != codec.heatmap_size or stride not in (2, 4, 8, 16, 32):
            raise ValueError(f"heatmap_size {list(codec.heatmap_size)} must be input_size / (2, 4, 8, 16 or 32)")
        decoder = Decoder(backbone.channels, settings.decoder_channels, stride)
        sigma = None if settings.heatmap_loss == "mse" else codec.sigma
        head = HeatmapHead(settings.decoder_channels, num_keypoints, softmax_sigma=sigma)
        return PoseModel(backbone, decoder, head, ("heatmaps",))
    if isinstance(codec, SimCC):
        s = settings.simcc_stride
        decoder = Decoder(backbone.channels, settings.decoder_channels, s)
        head = SimCCHead(
            settings.decoder_channels, num_keypoints, (w // s, h // s), codec.num_bins, settings.simcc_hidden
        )
        return PoseModel(backbone, decoder, head, ("simcc_x", "simcc_y"))
    raise ValueError(f"no head for codec {type(codec).__name__}")
