"""A light upsampling decoder and the two pose heads (heatmap, SimCC).

The decoder is an FPN-like top-down path: stride-32 features are upsampled and added to
projections of the stride-16 and stride-8 taps, then upsampled further if the head needs a
finer map. Its blocks are depthwise-separable (bilinear x2, depthwise 3x3, pointwise 1x1):
SimpleBaseline's 256-channel deconvolutions would cost several times the backbone at these
input sizes on a CPU.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

__all__ = ["Decoder", "HeatmapHead", "SimCCHead"]


def _block(channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False),
        nn.BatchNorm2d(channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(channels, channels, 1, bias=False),
        nn.BatchNorm2d(channels),
        nn.ReLU(inplace=True),
    )


def _project(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))


class Decoder(nn.Module):
    """Multi-scale features (strides 8, 16, 32) -> one map of ``channels`` at ``out_stride``.

    Args:
        in_channels: Channels of the stride 8, 16 and 32 features.
        channels: Width of the decoder.
        out_stride: 2, 4, 8, 16 or 32.
    """

    def __init__(self, in_channels: tuple[int, int, int], channels: int, out_stride: int) -> None:
        super().__init__()
        if out_stride not in (2, 4, 8, 16, 32):
            raise ValueError(f"decoder output stride must be 2, 4, 8, 16 or 32, got {out_stride}")
        self.out_stride = out_stride
        self.top = _project(in_channels[2], channels)
        levels = [s for s in (16, 8) if s >= out_stride]
        self.laterals = nn.ModuleList(_project(in_channels[0 if s == 8 else 1], channels) for s in levels)
        self.merges = nn.ModuleList(_block(channels) for _ in levels)
        self.extra = nn.ModuleList(_block(channels) for s in (4, 2) if s >= out_stride)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        x = F.relu(self.top(feats[2]))
        for lateral, merge, feat in zip(self.laterals, self.merges, (feats[1], feats[0]), strict=False):
            x = F.interpolate(x, size=feat.shape[-2:], mode="bilinear", align_corners=False)
            x = merge(x + lateral(feat))
        for block in self.extra:
            x = block(F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False))
        return x


class HeatmapHead(nn.Module):
    """Decoder map -> K heatmaps.

    With ``softmax_sigma`` set, each heatmap is a spatial softmax scaled by ``2 pi sigma^2``,
    so that a prediction shaped like the codec's Gaussian target (peak 1) is what a perfect
    model outputs; training then uses the logits with a cross-entropy loss, which escapes the
    all-zero plateau of plain MSE heatmap regression far sooner. In training mode the head
    returns the logits, in eval mode (evaluation, ONNX export) the scaled heatmaps, each
    divided by its peak where that peak is above 1, so keypoint scores stay in [0, 1].

    Args:
        channels: Decoder channels.
        num_keypoints: K.
        softmax_sigma: Target sigma in heatmap pixels, or None for raw (MSE-trained) heatmaps.
    """

    def __init__(self, channels: int, num_keypoints: int, softmax_sigma: float | None = None) -> None:
        super().__init__()
        self.out = nn.Conv2d(channels, num_keypoints, 1)
        self.softmax_sigma = softmax_sigma
        self.log_peak = math.log(2 * math.pi * softmax_sigma**2) if softmax_sigma else 0.0

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        logits = self.out(x)
        if self.softmax_sigma is None or self.training:
            return (logits,)
        b, k, h, w = logits.shape
        log_prob = F.log_softmax(logits.flatten(2), dim=-1)
        # A softmax sharper than the target Gaussian peaks above 1 (up to 2 pi sigma^2), which
        # would make keypoint scores that are not confidences. Dividing a map by a constant
        # moves neither its argmax nor the log-domain sub-pixel refinement of the decoder.
        log_max = log_prob.amax(dim=-1, keepdim=True) + self.log_peak
        log_prob = log_prob + self.log_peak - log_max.clamp(min=0.0)
        return (torch.exp(log_prob).view(b, k, h, w),)


class SimCCHead(nn.Module):
    """Decoder map -> per-keypoint x and y logits over sub-pixel bins (RTMPose's idea).

    Each keypoint's map is flattened and mapped by shared linear layers to a hidden vector,
    then to the x bins and the y bins.

    Args:
        channels: Decoder channels.
        num_keypoints: K.
        map_size: ``(w, h)`` of the decoder map.
        bins: ``(Wx, Wy)`` of the codec.
        hidden: Width of the hidden vector.
    """

    def __init__(
        self, channels: int, num_keypoints: int, map_size: tuple[int, int], bins: tuple[int, int], hidden: int = 128
    ) -> None:
        super().__init__()
        self.to_kpts = nn.Conv2d(channels, num_keypoints, 3, padding=1)
        self.mlp = nn.Sequential(nn.Linear(map_size[0] * map_size[1], hidden), nn.LayerNorm(hidden), nn.GELU())
        self.cls_x = nn.Linear(hidden, bins[0])
        self.cls_y = nn.Linear(hidden, bins[1])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k = self.to_kpts(x).flatten(2)  # (B, K, h*w)
        h = self.mlp(k)
        return self.cls_x(h), self.cls_y(h)
