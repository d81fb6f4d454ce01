"""Keypoint-weighted losses: weights carry visibility (0 for unlabelled) and joint weights."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812

__all__ = ["heatmap_ce_loss", "heatmap_mse_loss", "simcc_kl_loss", "soft_argmax_l1_loss"]


def heatmap_mse_loss(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean over keypoints of ``weight * mean_pixels((pred - target)^2)``.

    Args:
        pred: (B, K, H, W) raw heatmaps.
        target: (B, K, H, W) Gaussian targets.
        weights: (B, K) keypoint weights.
    """
    per_kpt = (pred.float() - target).pow(2).mean(dim=(2, 3))
    # Normalising by the batch's total weight (not B*K) keeps the scale steady when many
    # keypoints are unlabelled, e.g. half-body crops.
    return (per_kpt * weights).sum() / weights.sum().clamp_min(1.0) * 1000.0


def simcc_kl_loss(
    pred_x: torch.Tensor,
    pred_y: torch.Tensor,
    target_x: torch.Tensor,
    target_y: torch.Tensor,
    weights: torch.Tensor,
    beta: float = 10.0,
) -> torch.Tensor:
    """KL divergence between the softmax of the logits (times ``beta``) and the normalised labels.

    Args:
        pred_x, pred_y: (B, K, Wx), (B, K, Wy) logits.
        target_x, target_y: Codec labels, same shapes.
        weights: (B, K) keypoint weights.
        beta: Sharpening of the predicted distribution (RTMPose's ``beta``).
    """

    def kl(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        t = target / target.sum(dim=-1, keepdim=True).clamp_min(1e-12)
        logp = F.log_softmax(pred.float() * beta, dim=-1)
        return (t * (torch.log(t.clamp_min(1e-12)) - logp)).sum(dim=-1)

    per_kpt = kl(pred_x, target_x) + kl(pred_y, target_y)
    return (per_kpt * weights).sum() / weights.sum().clamp_min(1.0)


def heatmap_ce_loss(logits: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Cross-entropy between the spatial softmax of ``logits`` and the normalised Gaussian target.

    Args:
        logits: (B, K, H, W) raw head outputs (training mode of a softmax heatmap head).
        target: (B, K, H, W) Gaussian targets (zero maps for unused keypoints).
        weights: (B, K) keypoint weights.
    """
    t = target.flatten(2)
    t = t / t.sum(dim=-1, keepdim=True).clamp_min(1e-12)
    logp = F.log_softmax(logits.float().flatten(2), dim=-1)
    per_kpt = -(t * logp).sum(dim=-1)
    return (per_kpt * weights).sum() / weights.sum().clamp_min(1.0)


def soft_argmax_l1_loss(
    logits: torch.Tensor, keypoints: torch.Tensor, weights: torch.Tensor, stride: tuple[float, float]
) -> torch.Tensor:
    """L1 distance, in heatmap pixels, between the softmax expectation of each heatmap and the keypoint.

    The DSNT idea (Nibali et al. 2018): a coordinate loss pulls the whole distribution toward
    the keypoint from anywhere on the map, where a per-pixel loss only sees the target's
    neighbourhood; it speeds up early training. Pair it with :func:`heatmap_ce_loss`, which
    keeps the map Gaussian-shaped for the codec's decoder.

    Args:
        logits: (B, K, H, W).
        keypoints: (B, K, 2) in input-crop pixels.
        weights: (B, K).
        stride: Input pixels per heatmap pixel, ``(sx, sy)``.
    """
    b, k, h, w = logits.shape
    prob = F.softmax(logits.float().flatten(2), dim=-1).view(b, k, h, w)
    xs = torch.arange(w, device=logits.device, dtype=prob.dtype)
    ys = torch.arange(h, device=logits.device, dtype=prob.dtype)
    ex = (prob.sum(dim=2) * xs).sum(dim=-1)
    ey = (prob.sum(dim=3) * ys).sum(dim=-1)
    # Heatmap pixel i stands for input pixel i * stride (the codec's convention).
    dx = (ex - keypoints[..., 0] / stride[0]).abs()
    dy = (ey - keypoints[..., 1] / stride[1]).abs()
    return ((dx + dy) * weights).sum() / weights.sum().clamp_min(1.0)
