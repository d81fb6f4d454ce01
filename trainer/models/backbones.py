"""torchvision backbones as multi-scale feature extractors, with ImageNet weights when available.

The machine may be offline: a failed weight download is logged and the backbone is trained
from scratch instead, so a config with ``pretrained: true`` works everywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch
import torchvision
from torch import nn

__all__ = ["BACKBONES", "Backbone", "build_backbone"]

log = logging.getLogger(__name__)


def _shufflenet(m: nn.Module) -> nn.Sequential:
    return nn.Sequential(m.conv1, m.maxpool, m.stage2, m.stage3, m.stage4, m.conv5)


def _resnet(m: nn.Module) -> nn.Sequential:
    return nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool, m.layer1, m.layer2, m.layer3, m.layer4)


# name -> (torchvision constructor, how to cut the classifier off). A plain dict: grep finds them all.
BACKBONES: dict[str, tuple[Callable[..., nn.Module], Callable[[nn.Module], nn.Sequential]]] = {
    "mobilenet_v3_small": (torchvision.models.mobilenet_v3_small, lambda m: m.features),
    "mobilenet_v3_large": (torchvision.models.mobilenet_v3_large, lambda m: m.features),
    "shufflenet_v2_x0_5": (torchvision.models.shufflenet_v2_x0_5, _shufflenet),
    "shufflenet_v2_x1_0": (torchvision.models.shufflenet_v2_x1_0, _shufflenet),
    "shufflenet_v2_x1_5": (torchvision.models.shufflenet_v2_x1_5, _shufflenet),
    "shufflenet_v2_x2_0": (torchvision.models.shufflenet_v2_x2_0, _shufflenet),
    "resnet18": (torchvision.models.resnet18, _resnet),
    "resnet34": (torchvision.models.resnet34, _resnet),
    "resnet50": (torchvision.models.resnet50, _resnet),
}


class Backbone(nn.Module):
    """Feature extractor: ``(B, 3, h, w)`` normalised image -> features at strides 8, 16 and 32.

    The body is a ``Sequential``; the output of the last layer at each stride is tapped, so
    a decoder can add back the detail that stride 32 has lost.

    Attributes:
        channels: Channels of the tapped features, finest first (strides 8, 16, 32).
        pretrained: Whether ImageNet weights were loaded.
    """

    STRIDES = (8, 16, 32)

    def __init__(self, body: nn.Sequential, pretrained: bool) -> None:
        super().__init__()
        self.body = body
        self.pretrained = pretrained
        size = 64
        x = torch.zeros(1, 3, size, size)
        taps: dict[int, tuple[int, int]] = {}
        with torch.no_grad():
            for i, layer in enumerate(body):
                x = layer(x)
                stride = size // x.shape[-1]
                if stride in self.STRIDES:
                    taps[stride] = (i, int(x.shape[1]))  # later layers at the same stride win
        missing = [s for s in self.STRIDES if s not in taps]
        if missing:
            raise ValueError(f"backbone has no layer at stride(s) {missing}")
        self.tap_index = tuple(taps[s][0] for s in self.STRIDES)
        self.channels = tuple(taps[s][1] for s in self.STRIDES)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for i, layer in enumerate(self.body):
            x = layer(x)
            if i in self.tap_index:
                feats.append(x)
            if i == self.tap_index[-1]:
                break
        return feats


def build_backbone(name: str, pretrained: bool = True) -> Backbone:
    """Build a torchvision backbone by name.

    Args:
        name: One of :data:`BACKBONES`.
        pretrained: Try torchvision's ImageNet weights (downloaded once into the torch hub
            cache); on failure (offline machine), log it and start from scratch.

    Raises:
        ValueError: On an unknown name, listing the known ones.
    """
    if name not in BACKBONES:
        raise ValueError(f"model.backbone must be one of {sorted(BACKBONES)}, got {name!r}")
    ctor, cut = BACKBONES[name]
    model, loaded = None, False
    if pretrained:
        try:
            model, loaded = ctor(weights="DEFAULT"), True
        except (OSError, RuntimeError, ValueError) as exc:  # URLError is an OSError
            log.warning("no ImageNet weights for %s (%s): training it from scratch", name, _short(exc))
    if model is None:
        model = ctor(weights=None)
        if not pretrained:
            log.info("backbone %s without ImageNet weights (pretrained: false, or a checkpoint follows)", name)
    return Backbone(cut(model), loaded)


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "reason", None) or exc)
    return text if len(text) < 160 else text[:157] + "..."
