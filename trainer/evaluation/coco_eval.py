"""OKS AP/AR through pycocotools, from in-memory ground truth and predictions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from flowpose.evaluation.cocoeval_keypoints import COCOEVAL_STATS, annotation_record, cocoeval_keypoints, result_record

__all__ = ["OksGroundTruth", "oks_ap"]


@dataclass(frozen=True)
class OksGroundTruth:
    """One ground-truth instance for OKS evaluation.

    Attributes:
        image_id: Instances of one image are matched together.
        bbox: ``[x1, y1, x2, y2]``.
        keypoints: (K, 2) image pixels.
        visibility: (K,) COCO visibility (0 = unlabelled).
        area: Object area (OKS scale is ``sqrt(area)``).
    """

    image_id: int
    bbox: np.ndarray
    keypoints: np.ndarray
    visibility: np.ndarray
    area: float


def oks_ap(
    gts: Sequence[OksGroundTruth],
    pred_keypoints: np.ndarray,
    pred_scores: np.ndarray,
    pred_image_ids: Sequence[int],
    sigmas: np.ndarray,
) -> dict[str, float]:
    """COCO keypoint AP/AR (``oks_AP``, ``oks_AP50``...) with the layout's sigmas.

    Args:
        gts: Ground-truth instances.
        pred_keypoints: (M, K, 2) predictions.
        pred_scores: (M,) instance scores (ranking for AP).
        pred_image_ids: (M,) image of each prediction.
        sigmas: (K,) OKS sigmas (COCO convention: 0.026 for the nose...).

    Returns:
        pycocotools' ten summary numbers, keys prefixed ``oks_``; -1 where COCO has no data
        (e.g. no medium-sized objects).
    """
    annotations = [
        annotation_record(i + 1, g.image_id, g.bbox, g.keypoints, g.visibility, g.area) for i, g in enumerate(gts)
    ]
    results = [
        result_record(img, kp, score)
        for kp, score, img in zip(np.asarray(pred_keypoints), np.asarray(pred_scores), pred_image_ids, strict=True)
    ]
    if not annotations or not results:
        return {f"oks_{k}": float("nan") for k in COCOEVAL_STATS}
    images = sorted({int(g.image_id) for g in gts})
    return {f"oks_{k}": v for k, v in cocoeval_keypoints(annotations, results, images, sigmas).items()}
