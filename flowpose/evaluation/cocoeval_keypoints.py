"""pycocotools' keypoint evaluation on in-memory records: one place for the COCO plumbing.

Both the trainer's OKS AP and ``flowpose eval coco`` go through :func:`cocoeval_keypoints`,
so category handling, sigmas and the silenced progress output are the same everywhere.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["COCOEVAL_STATS", "annotation_record", "cocoeval_keypoints", "result_record"]

#: The ten summary numbers of ``COCOeval.summarize()`` for keypoints, in its order.
COCOEVAL_STATS = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")


def annotation_record(
    ann_id: int,
    image_id: int,
    bbox_xyxy: Iterable[float],
    keypoints: np.ndarray,
    visibility: np.ndarray,
    area: float,
    iscrowd: int = 0,
) -> dict[str, Any]:
    """A ground-truth annotation dict (category 1) from an ``[x1, y1, x2, y2]`` box and (K, 2) keypoints."""
    x1, y1, x2, y2 = (float(v) for v in bbox_xyxy)
    visibility = np.asarray(visibility)
    kp = np.concatenate([np.asarray(keypoints, dtype=np.float64), visibility[:, None]], axis=1)
    return {
        "id": int(ann_id),
        "image_id": int(image_id),
        "category_id": 1,
        "bbox": [x1, y1, x2 - x1, y2 - y1],
        "area": float(area),
        "iscrowd": int(iscrowd),
        "keypoints": kp.ravel().tolist(),
        "num_keypoints": int((visibility > 0).sum()),
    }


def result_record(image_id: int, keypoints: np.ndarray, score: float) -> dict[str, Any]:
    """A prediction dict (category 1) from (K, 2) keypoints and an instance score."""
    kp = np.asarray(keypoints, dtype=np.float64)
    return {
        "image_id": int(image_id),
        "category_id": 1,
        "keypoints": np.concatenate([kp, np.ones((len(kp), 1))], axis=1).ravel().tolist(),
        "score": float(score),
    }


def cocoeval_keypoints(
    annotations: Sequence[dict[str, Any]],
    results: Sequence[dict[str, Any]],
    image_ids: Iterable[int],
    sigmas: np.ndarray,
) -> dict[str, float]:
    """Run ``COCOeval(..., "keypoints")`` with one category and the given OKS sigmas.

    One category on purpose: every prediction may match every ground truth of the image (as
    MMPose evaluates); ``params.useCats = 0`` would not do, since pycocotools' ``computeOks``
    ignores it and then finds no ground truth. pycocotools' progress printing is silenced.

    Returns:
        ``{name: value}`` for :data:`COCOEVAL_STATS`; -1 where COCO has no data (e.g. no
        medium-sized objects).
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {
            "images": [{"id": int(i)} for i in image_ids],
            "annotations": list(annotations),
            "categories": [{"id": 1, "name": "object"}],
        }
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(list(results)), "keypoints")
        ev.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {name: float(v) for name, v in zip(COCOEVAL_STATS, ev.stats, strict=True)}
