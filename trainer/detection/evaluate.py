"""Detector evaluation: decode + NMS in torch, then COCO box AP with pycocotools.

The metrics are COCO's, computed in model-input pixels (boxes and ground truth both after the
letterbox): ``mAP`` (IoU 0.50:0.95), ``mAP50``, ``mAP75``, ``AP50_<class>``, and
``recall50`` (share of objects matched at IoU 0.5 by a detection scoring >= 0.3, the node's
default threshold) with the ``precision50`` of those detections.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import numpy as np
import torch
from torchvision.ops import batched_nms

from flowpose.trainer.detection.assign import box_iou
from flowpose.trainer.detection.loss import decode_boxes

__all__ = ["ImageDetections", "coco_metrics", "postprocess"]

OPERATING_SCORE = 0.3  # flowpose.detection.DetectionSettings' default score threshold


@dataclass
class ImageDetections:
    """Detections of one image (numpy): boxes (N, 4) xyxy, scores (N,), labels (N,)."""

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray


def postprocess(
    probs: torch.Tensor,
    grid: torch.Tensor,
    strides: torch.Tensor,
    score_threshold: float = 0.001,
    nms_iou: float = 0.65,
    max_detections: int = 100,
) -> list[ImageDetections]:
    """Detections from the exported format (B, A, 5 + C) (scores already through the sigmoid).

    Like :class:`flowpose.detection.YoloxDecoder`: score = objectness x best class score,
    then class-aware NMS.
    """
    boxes = decode_boxes(probs[..., :4], grid, strides)
    cls_score, labels = probs[..., 5:].max(dim=-1)
    scores = probs[..., 4] * cls_score
    out = []
    for b in range(len(probs)):
        hit = scores[b] >= score_threshold
        bx, sc, lb = boxes[b][hit], scores[b][hit], labels[b][hit]
        keep = batched_nms(bx.float(), sc.float(), lb, nms_iou)[:max_detections]
        out.append(ImageDetections(bx[keep].cpu().numpy(), sc[keep].cpu().numpy(), lb[keep].cpu().numpy()))
    return out


def _to_coco(gts: list[tuple[np.ndarray, np.ndarray]], dets: list[ImageDetections], classes: tuple[str, ...]):
    images = [{"id": i + 1} for i in range(len(gts))]
    anns, results = [], []
    for i, (boxes, labels) in enumerate(gts):
        for box, label in zip(boxes, labels, strict=True):
            w, h = float(box[2] - box[0]), float(box[3] - box[1])
            anns.append({
                "id": len(anns) + 1, "image_id": i + 1, "category_id": int(label) + 1,
                "bbox": [float(box[0]), float(box[1]), w, h], "area": w * h, "iscrowd": 0,
            })  # fmt: skip
    for i, det in enumerate(dets):
        for box, score, label in zip(det.boxes, det.scores, det.labels, strict=True):
            results.append({
                "image_id": i + 1, "category_id": int(label) + 1, "score": float(score),
                "bbox": [float(box[0]), float(box[1]), float(box[2] - box[0]), float(box[3] - box[1])],
            })  # fmt: skip
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(classes)]
    return {"images": images, "annotations": anns, "categories": categories}, results


def coco_metrics(
    gts: list[tuple[np.ndarray, np.ndarray]], dets: list[ImageDetections], classes: tuple[str, ...]
) -> dict[str, float]:
    """COCO box AP of ``dets`` against ``gts`` (per image: boxes (M, 4) xyxy, labels (M,))."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt_dict, results = _to_coco(gts, dets, classes)
    metrics = {"mAP": 0.0, "mAP50": 0.0, "mAP75": 0.0}
    metrics.update(_operating_point(gts, dets))
    metrics.update({f"AP50_{name}": 0.0 for name in classes})  # same columns whatever happens
    if not results or not gt_dict["annotations"]:
        return metrics
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress and tables
        coco = COCO()
        coco.dataset = gt_dict
        coco.createIndex()
        evaluator = COCOeval(coco, coco.loadRes(results), iouType="bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    metrics.update(mAP=float(evaluator.stats[0]), mAP50=float(evaluator.stats[1]), mAP75=float(evaluator.stats[2]))
    precision = evaluator.eval["precision"]  # (iou, recall, class, area, max dets)
    for k, name in enumerate(classes):
        p = precision[0, :, k, 0, -1]
        metrics[f"AP50_{name}"] = float(p[p > -1].mean()) if (p > -1).any() else float("nan")
    return metrics


def _operating_point(gts: list[tuple[np.ndarray, np.ndarray]], dets: list[ImageDetections]) -> dict[str, float]:
    """Recall and precision at IoU 0.5 for detections scoring >= OPERATING_SCORE (greedy, per class)."""
    objects = matched = kept = 0
    for (boxes, labels), det in zip(gts, dets, strict=True):
        keep = det.scores >= OPERATING_SCORE
        d_boxes, d_labels = det.boxes[keep], det.labels[keep]
        objects += len(boxes)
        kept += len(d_boxes)
        used = np.zeros(len(boxes), bool)
        if len(boxes) and len(d_boxes):
            iou = box_iou(torch.from_numpy(d_boxes).float(), torch.from_numpy(np.asarray(boxes)).float()).numpy()
            iou[d_labels[:, None] != np.asarray(labels)[None, :]] = 0.0
            for row in iou:  # detections come best first
                row = np.where(used, 0.0, row)
                j = int(row.argmax())
                if row[j] >= 0.5:
                    used[j] = True
        matched += int(used.sum())
    return {"recall50": matched / max(objects, 1), "precision50": matched / max(kept, 1)}
