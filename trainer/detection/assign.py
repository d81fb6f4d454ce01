"""Target assignment: a compact SimOTA (YOLOX), which picks each object's anchor points by cost.

For each image: anchor points whose centre lies in an object's box or within ``radius`` strides
of its centre are candidates. Each (point, object) pair costs the class BCE of the predicted
score plus ``iou_weight * -log IoU`` of the predicted box, plus a large penalty unless the
point is in both the box and the centre region (and a larger one when it is in neither).
Every object then takes its ``k`` cheapest points, ``k`` = the sum of its 10 best IoUs (at
least 1): objects the model already fits well get more positives. A point claimed twice goes to
its cheapest object. The whole batch is assigned at once (objects padded), because a loop over
images costs more in op dispatch than the arithmetic on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812

__all__ = ["Assignment", "box_iou", "pairwise_iou", "simota_assign"]

_NOT_BOTH = 1e5  # in the box or the centre region, not both: a last resort
_NEITHER = 1e8  # never a candidate


@dataclass
class Assignment:
    """Positives of a batch.

    Attributes:
        foreground: bool (B, A): anchor points that are positives.
        gt_index: int64 (B, A): the object (padded index) of each point; meaningful where foreground.
        iou: float (B, A): IoU of each point's predicted box with its object (the class target).
    """

    foreground: torch.Tensor
    gt_index: torch.Tensor
    iou: torch.Tensor


def pairwise_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of xyxy boxes ``a`` (..., N, 4) with ``b`` (..., M, 4): (..., N, M)."""
    lt = torch.maximum(a[..., :, None, :2], b[..., None, :, :2])
    rb = torch.minimum(a[..., :, None, 2:], b[..., None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=-1)
    area_a = (a[..., 2:] - a[..., :2]).clamp(min=0).prod(dim=-1)
    area_b = (b[..., 2:] - b[..., :2]).clamp(min=0).prod(dim=-1)
    return inter / (area_a[..., :, None] + area_b[..., None, :] - inter).clamp(min=1e-9)


box_iou = pairwise_iou  # (N, 4) x (M, 4) -> (N, M)


@torch.no_grad()
def simota_assign(
    boxes: torch.Tensor,
    obj_logits: torch.Tensor,
    cls_logits: torch.Tensor,
    centres: torch.Tensor,
    strides: torch.Tensor,
    gt_boxes: torch.Tensor,
    gt_labels: torch.Tensor,
    radius: float = 2.5,
    iou_weight: float = 3.0,
    top_candidates: int = 10,
) -> Assignment:
    """Assign the anchor points of a batch to its objects.

    Args:
        boxes: Predicted xyxy boxes (B, A, 4), model-input pixels.
        obj_logits: (B, A). cls_logits: (B, A, C).
        centres: Anchor point centres (A, 2), pixels. strides: (A,).
        gt_boxes: Objects (B, M, 4) xyxy, padded. gt_labels: (B, M), -1 = padding.
        radius: Centre region half-size, in strides.
        iou_weight: Weight of the IoU cost against the class cost.
        top_candidates: IoUs summed for the dynamic ``k``.
    """
    anchors = boxes.shape[1]
    valid = gt_labels >= 0  # (B, M)
    x, y = centres[None, :, 0:1], centres[None, :, 1:2]  # (1, A, 1)
    gx1, gy1, gx2, gy2 = (gt_boxes[..., i][:, None, :] for i in range(4))  # (B, 1, M)
    in_box = (x > gx1) & (x < gx2) & (y > gy1) & (y < gy2)
    reach = radius * strides[None, :, None]
    in_centre = ((x - (gx1 + gx2) / 2).abs() < reach) & ((y - (gy1 + gy2) / 2).abs() < reach)
    in_box, in_centre = in_box & valid[:, None], in_centre & valid[:, None]  # (B, A, M)

    ious = pairwise_iou(boxes.float(), gt_boxes.float())  # (B, A, M)
    scores = (cls_logits.float().sigmoid() * obj_logits.float().sigmoid()[..., None]).sqrt().clamp(1e-6, 1 - 1e-6)
    # BCE of the scores against each object's one-hot class, summed over classes, for every pair.
    log_p, log_q = scores.log(), (1 - scores).log()  # (B, A, C)
    one_hot = F.one_hot(gt_labels.clamp(min=0), cls_logits.shape[-1]).float()  # (B, M, C)
    cls_cost = -(torch.einsum("bac,bmc->bam", log_p, one_hot) + torch.einsum("bac,bmc->bam", log_q, 1 - one_hot))
    cost = cls_cost + iou_weight * -torch.log(ious + 1e-8)
    cost = cost + _NOT_BOTH * (~(in_box & in_centre)).float() + _NEITHER * (~(in_box | in_centre)).float()

    candidate_ious = torch.where(in_box | in_centre, ious, torch.zeros_like(ious))
    top = min(top_candidates, anchors)
    k = candidate_ious.topk(top, dim=1).values.sum(1).int().clamp(min=1, max=top)  # (B, M)
    order = cost.topk(top, dim=1, largest=False).indices  # (B, top, M): cheapest points per object
    chosen = torch.arange(top, device=boxes.device)[None, :, None] < k[:, None, :]
    matching = torch.zeros_like(cost, dtype=torch.bool)
    matching.scatter_(1, order, chosen)
    matching &= (in_box | in_centre) & valid[:, None]
    # One object per point: the cheapest of those that chose it.
    masked = torch.where(matching, cost, torch.full_like(cost, float("inf")))
    gt_index = masked.argmin(dim=2)  # (B, A)
    foreground = matching.any(dim=2)
    iou = ious.gather(2, gt_index[..., None]).squeeze(2)
    return Assignment(foreground, gt_index, iou)
