"""A tiny anchor-free YOLOX-style detector: depthwise-separable backbone, PAN-lite neck, decoupled heads.

The network takes a letterboxed BGR image in 0..255 (normalisation is the first layer, so the
card needs no mean/std) and returns one row per grid point of every stride, strides in order and
each grid row-major, ``dx, dy, log w, log h, objectness, class scores...`` as logits.
:class:`ExportModel` applies the sigmoids, giving YOLOX's raw export format.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (the usual torch alias)
from torch import nn

from flowpose.trainer.engine.config import check_keys

__all__ = ["ExportModel", "ModelConfig", "TinyYolox", "anchor_points"]

_PRIOR = 0.01  # initial objectness/class probability: most grid points hold nothing


@dataclass(frozen=True)
class ModelConfig:
    """The ``model:`` section of a detector config.

    Attributes:
        widths: Channels of the stem and of the stride-4, 8, 16, 32 stages.
        depths: Residual blocks in the stride-4, 8, 16, 32 stages.
        neck_channels: Channels of the neck and heads.
        head_depth: Depthwise-separable convolutions in each head branch (YOLOX uses 2 full ones).
        strides: Output strides (a subset of 8, 16, 32, ascending).
    """

    widths: tuple[int, ...] = (16, 32, 64, 96, 128)
    depths: tuple[int, ...] = (1, 2, 2, 2)
    neck_channels: int = 64
    head_depth: int = 1
    strides: tuple[int, ...] = (8, 16, 32)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name in ("widths", "depths", "strides"):
            set_(self, name, tuple(int(v) for v in getattr(self, name)))
        if len(self.widths) != 5 or min(self.widths) < 1 or len(self.depths) != 4 or min(self.depths) < 0:
            raise ValueError(f"model.widths needs 5 channel counts and model.depths 4 block counts, got {self}")
        if not self.strides or list(self.strides) != sorted(set(self.strides)) or set(self.strides) - {8, 16, 32}:
            raise ValueError(f"model.strides must be ascending values among 8, 16, 32, got {list(self.strides)}")

    @classmethod
    def from_dict(cls, section: dict[str, Any] | None) -> ModelConfig:
        """Build from the config's ``model:`` mapping, naming unknown keys."""
        section = dict(section or {})
        check_keys(section, cls, "'model'")
        return cls(**section)


def conv_bn(c_in: int, c_out: int, k: int = 1, stride: int = 1, groups: int = 1) -> nn.Sequential:
    """Conv (no bias) + BatchNorm + SiLU."""
    conv = nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(c_out), nn.SiLU(inplace=True))


class SepConv(nn.Module):
    """Depthwise 3x3 then pointwise 1x1; a residual when the shape is kept."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.dw = conv_bn(c_in, c_in, 3, stride, groups=c_in)
        self.pw = conv_bn(c_in, c_out)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pw(self.dw(x))
        return x + y if self.residual else y


class Head(nn.Module):
    """YOLOX's decoupled head, lighter: separate class and box branches on one level."""

    def __init__(self, channels: int, num_classes: int, depth: int = 1) -> None:
        super().__init__()
        self.cls_branch = nn.Sequential(*(SepConv(channels, channels) for _ in range(depth)))
        self.reg_branch = nn.Sequential(*(SepConv(channels, channels) for _ in range(depth)))
        self.cls = nn.Conv2d(channels, num_classes, 1)
        self.box = nn.Conv2d(channels, 4, 1)
        self.obj = nn.Conv2d(channels, 1, 1)
        prior = -math.log((1 - _PRIOR) / _PRIOR)
        for layer in (self.cls, self.obj):
            nn.init.constant_(layer.bias, prior)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        reg = self.reg_branch(x)
        out = torch.cat([self.box(reg), self.obj(reg), self.cls(self.cls_branch(x))], dim=1)
        return out.flatten(2).transpose(1, 2)  # (B, H*W, 5+C), row-major


class TinyYolox(nn.Module):
    """The detector; ``forward`` returns logits (B, A, 5 + C) over all anchor points.

    Args:
        num_classes: Class columns.
        config: Widths, depths and strides.
    """

    def __init__(self, num_classes: int, config: ModelConfig | None = None) -> None:
        super().__init__()
        cfg = self.config = config or ModelConfig()
        self.num_classes = num_classes
        self.strides = cfg.strides
        w, n = cfg.widths, cfg.neck_channels
        self.stem = conv_bn(3, w[0], 3, 2)
        self.stages = nn.ModuleList(
            nn.Sequential(SepConv(w[i], w[i + 1], 2), *(SepConv(w[i + 1], w[i + 1]) for _ in range(cfg.depths[i])))
            for i in range(4)
        )
        levels = [{8: 2, 16: 3, 32: 4}[s] for s in cfg.strides]  # width index of each output level
        self.lateral = nn.ModuleList(conv_bn(w[i], n) for i in levels)
        self.top_down = nn.ModuleList(SepConv(n, n) for _ in levels[:-1])
        self.down = nn.ModuleList(SepConv(n, n, 2) for _ in levels[:-1])
        self.bottom_up = nn.ModuleList(SepConv(n, n) for _ in levels[:-1])
        self.heads = nn.ModuleList(Head(n, num_classes, cfg.head_depth) for _ in levels)
        self._levels = levels

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Neck outputs, one per stride."""
        x = self.stem(images * (1.0 / 255.0))
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        lat = [layer(feats[i - 1]) for layer, i in zip(self.lateral, self._levels, strict=True)]
        # FPN top-down, then PAN bottom-up: small objects get context, large ones get detail.
        for i in range(len(lat) - 2, -1, -1):
            lat[i] = self.top_down[i](lat[i] + F.interpolate(lat[i + 1], scale_factor=2.0, mode="nearest"))
        for i in range(1, len(lat)):
            lat[i] = self.bottom_up[i - 1](lat[i] + self.down[i - 1](lat[i - 1]))
        return lat

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.cat([head(f) for head, f in zip(self.heads, self.features(images), strict=True)], dim=1)


class ExportModel(nn.Module):
    """The detector as YOLOX exports it: objectness and class scores through a sigmoid."""

    def __init__(self, model: TinyYolox) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        out = self.model(images)
        return torch.cat([out[..., :4], out[..., 4:].sigmoid()], dim=-1)


def anchor_points(input_size: tuple[int, int], strides: tuple[int, ...], device: torch.device | None = None):
    """Grid cell coordinates (A, 2) and strides (A,) in the model's output order.

    Returns:
        ``(grid, stride)``: grid ``(gx, gy)`` per anchor point (float32) and its stride.
    """
    w, h = input_size
    grids, steps = [], []
    for s in strides:
        ys, xs = torch.meshgrid(torch.arange(h // s, device=device), torch.arange(w // s, device=device), indexing="ij")
        grids.append(torch.stack([xs.flatten(), ys.flatten()], dim=1))
        steps.append(torch.full((xs.numel(),), float(s), device=device))
    return torch.cat(grids).float(), torch.cat(steps)
