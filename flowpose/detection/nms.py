"""Box overlap, class-aware non-maximum suppression, and the common filtering of raw detections."""

from __future__ import annotations

import numpy as np

from flowpose.detection.detections import Detections, DetectionSettings
from flowpose.geometry.bbox import box_iou

__all__ = ["box_iou", "nms", "postprocess"]

# NMS costs O(kept x candidates); a flood of candidates from a bad threshold is cut to the best ones.
MAX_CANDIDATES = 4096


def nms(
    boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, iou_threshold: float, max_keep: int | None = None
) -> np.ndarray:
    """Greedy class-aware non-maximum suppression.

    Boxes of different labels never suppress each other: each label's boxes are shifted to a
    region of their own (by more than all boxes span), so one pass over all labels does the work
    of one pass per label. Each step compares the best box left with all the others at once.

    Args:
        boxes: xyxy boxes, shape (N, 4).
        scores: Shape (N,).
        labels: Class per box, shape (N,).
        iou_threshold: A box overlapping a better one of its label by more than this is dropped.
        max_keep: Stop once this many boxes are kept (None: no limit).

    Returns:
        Indices of the kept boxes, best score first, int64.
    """
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    span = float(boxes.max() - min(boxes.min(), 0.0)) + 1.0
    shifted = boxes + (np.asarray(labels, np.float32) * span)[:, None]
    x1, y1, x2, y2 = shifted.T
    areas = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    order = np.argsort(-np.asarray(scores), kind="stable")
    keep: list[int] = []
    limit = len(order) if max_keep is None else max_keep
    while order.size and len(keep) < limit:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        w = np.clip(np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]), 0, None)
        h = np.clip(np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]), 0, None)
        inter = w * h
        union = areas[best] + areas[rest] - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def postprocess(dets: Detections, settings: DetectionSettings, run_nms: bool = True) -> Detections:
    """Apply the score threshold, the class filter, NMS (unless done in the model) and the cap.

    Returns:
        The kept detections, best score first.
    """
    ok = dets.scores >= settings.score_threshold
    if settings.keep is not None:
        ok &= np.isin(dets.labels, settings.keep)
    dets = dets.select(ok)
    order = np.argsort(-dets.scores, kind="stable")[:MAX_CANDIDATES]
    dets = dets.select(order)
    if run_nms:
        return dets.select(nms(dets.boxes, dets.scores, dets.labels, settings.nms_iou, settings.max_detections))
    return dets.select(np.arange(min(len(dets), settings.max_detections)))
