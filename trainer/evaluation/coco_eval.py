"""OKS AP/AR through pycocotools, from in-memory ground truth and predictions."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["OksGroundTruth", "oks_ap"]

_STATS = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")


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
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images = sorted({int(g.image_id) for g in gts})
    annotations = []
    for i, g in enumerate(gts):
        x1, y1, x2, y2 = (float(v) for v in g.bbox)
        kp = np.concatenate([g.keypoints, g.visibility[:, None]], axis=1)
        annotations.append(
            {
                "id": i + 1,
                "image_id": int(g.image_id),
                "category_id": 1,
                "bbox": [x1, y1, x2 - x1, y2 - y1],
                "area": float(g.area),
                "iscrowd": 0,
                "keypoints": kp.ravel().tolist(),
                "num_keypoints": int((g.visibility > 0).sum()),
            }
        )
    results = [
        {
            "image_id": int(img),
            "category_id": 1,
            "keypoints": np.concatenate([kp, np.ones((len(kp), 1))], axis=1).ravel().tolist(),
            "score": float(score),
        }
        for kp, score, img in zip(np.asarray(pred_keypoints), np.asarray(pred_scores), pred_image_ids, strict=True)
    ]
    if not annotations or not results:
        return {f"oks_{k}": float("nan") for k in _STATS}
    # pycocotools prints progress to stdout; keep CLI output clean.
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {
            "images": [{"id": i} for i in images],
            "annotations": annotations,
            "categories": [{"id": 1, "name": "object"}],
        }
        gt.createIndex()
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, "keypoints")
        ev.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {f"oks_{k}": float(v) for k, v in zip(_STATS, ev.stats, strict=True)}
