"""YOLOX losses: GIoU on the boxes of positives, BCE objectness on all points, IoU-aware BCE classes."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812

from flowpose.trainer.detection.assign import simota_assign

__all__ = ["decode_boxes", "detection_loss", "giou_loss"]

_MAX_LOG_SIZE = 10.0  # exp(10) strides is far beyond any image: keeps early training finite


def decode_boxes(raw: torch.Tensor, grid: torch.Tensor, strides: torch.Tensor) -> torch.Tensor:
    """xyxy boxes (..., A, 4) from raw ``dx, dy, log w, log h`` (..., A, 4), as the node decodes them."""
    centre = (raw[..., :2] + grid) * strides[:, None]
    half = torch.exp(raw[..., 2:4].clamp(max=_MAX_LOG_SIZE)) * strides[:, None] / 2
    return torch.cat([centre - half, centre + half], dim=-1)


def giou_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``1 - GIoU`` per pair of xyxy boxes (N, 4) -> (N,)."""
    lt = torch.maximum(pred[:, :2], target[:, :2])
    rb = torch.minimum(pred[:, 2:], target[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(1)
    area_p = (pred[:, 2:] - pred[:, :2]).clamp(min=0).prod(1)
    area_t = (target[:, 2:] - target[:, :2]).clamp(min=0).prod(1)
    union = (area_p + area_t - inter).clamp(min=1e-9)
    hull = (torch.maximum(pred[:, 2:], target[:, 2:]) - torch.minimum(pred[:, :2], target[:, :2])).prod(1)
    giou = inter / union - (hull - union) / hull.clamp(min=1e-9)
    return 1.0 - giou


def detection_loss(
    output: torch.Tensor,
    gt_boxes: torch.Tensor,
    gt_labels: torch.Tensor,
    grid: torch.Tensor,
    strides: torch.Tensor,
    box_weight: float = 5.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The training loss of a batch.

    Args:
        output: Model logits (B, A, 5 + C).
        gt_boxes: (B, M, 4) xyxy model-input pixels, padded. gt_labels: (B, M), -1 = padding.
        grid: Anchor grid cells (A, 2). strides: (A,).
        box_weight: Weight of the GIoU loss (YOLOX uses 5).

    Returns:
        The loss (normalised by the number of positives) and its parts as floats.
    """
    output = output.float()
    num_classes = output.shape[-1] - 5
    boxes = decode_boxes(output[..., :4], grid, strides)
    centres = (grid + 0.5) * strides[:, None]
    a = simota_assign(
        boxes.detach(), output[..., 4].detach(), output[..., 5:].detach(), centres, strides, gt_boxes, gt_labels
    )
    fg = a.foreground
    num_fg = max(float(fg.sum()), 1.0)
    loss_obj = F.binary_cross_entropy_with_logits(output[..., 4], fg.float(), reduction="sum") / num_fg
    if fg.any():
        gt_index = a.gt_index[fg]  # (P,)
        image = fg.nonzero()[:, 0]
        target_boxes = gt_boxes[image, gt_index]
        loss_box = giou_loss(boxes[fg], target_boxes).sum() / num_fg
        # IoU-aware class targets (YOLOX): the score learns how well the box fits, too.
        cls_target = F.one_hot(gt_labels[image, gt_index], num_classes).float() * a.iou[fg][:, None]
        loss_cls = F.binary_cross_entropy_with_logits(output[..., 5:][fg], cls_target, reduction="sum") / num_fg
    else:  # no object in the whole batch: only objectness learns
        loss_box = loss_cls = output.sum() * 0.0
    loss = box_weight * loss_box + loss_obj + loss_cls
    parts = {
        "loss_box": float(loss_box.detach()),
        "loss_obj": float(loss_obj.detach()),
        "loss_cls": float(loss_cls.detach()),
        "positives": num_fg / len(output),  # per image: too few means the assignment starves
    }
    return loss, parts
