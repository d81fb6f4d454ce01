"""The figures of ``flowpose eval coco``: OKS AP/AR by pycocotools, PCK, box recall, and MMPose's rescoring.

Each function takes plain arrays, so the same numbers can be checked on hand-made predictions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from flowpose.evaluation.coco_data import CocoAnnotation
from flowpose.evaluation.cocoeval_keypoints import COCOEVAL_STATS, annotation_record, cocoeval_keypoints, result_record
from flowpose.evaluation.keypoint_match import KeypointMatch
from flowpose.evaluation.pck import keypoint_distances, pck
from flowpose.geometry import box_iou
from flowpose.tracking.similarity import oks_matrix

__all__ = [
    "AP_NAMES",
    "KEYPOINT_SCORE_THRESHOLD",
    "OKS_NMS_THRESHOLD",
    "ScoredPose",
    "instance_score",
    "keypoint_ap",
    "match_boxes",
    "oks_nms",
    "pck_of_matches",
]

#: pycocotools' ten keypoint summary figures, in ``COCOeval.stats`` order.
AP_NAMES = COCOEVAL_STATS
#: MMPose's CocoMetric defaults: keypoints scoring above 0.2 count in the instance score,
#: and predictions overlapping a better one by OKS > 0.9 are dropped.
KEYPOINT_SCORE_THRESHOLD = 0.2
OKS_NMS_THRESHOLD = 0.9


@dataclass(frozen=True)
class ScoredPose:
    """A prediction ready for OKS evaluation, on the evaluated (common) keypoints.

    Attributes:
        image_id: Its image.
        keypoints: (M, 2) image pixels, in the order of ``KeypointMatch.annotation_index``.
        score: The instance score AP ranks by.
    """

    image_id: int
    keypoints: np.ndarray
    score: float


def instance_score(box_score: float, keypoint_scores: np.ndarray, threshold: float = KEYPOINT_SCORE_THRESHOLD) -> float:
    """MMPose's ``bbox_keypoint`` score: box score x mean of the keypoint scores above ``threshold``.

    As in MMPose's CocoMetric, an instance with no keypoint above the threshold scores 0.
    """
    scores = np.asarray(keypoint_scores, dtype=np.float64)
    confident = scores[scores > threshold]
    return float(box_score) * (float(confident.mean()) if confident.size else 0.0)


def oks_nms(
    keypoints: np.ndarray,
    scores: np.ndarray,
    areas: np.ndarray,
    sigmas: np.ndarray,
    threshold: float = OKS_NMS_THRESHOLD,
) -> np.ndarray:
    """Greedy OKS non-maximum suppression of one image's poses (MMPose's ``oks_nms``).

    Args:
        keypoints: (N, M, 2) poses.
        scores: (N,) instance scores.
        areas: (N,) object areas (the OKS scale), px².
        sigmas: (M,) OKS sigmas.
        threshold: A pose with OKS above it to a better kept pose is dropped.

    Returns:
        Indices of the kept poses, best first.
    """
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    keypoints = np.asarray(keypoints, dtype=np.float64)
    valid = np.ones(keypoints.shape[:2], bool)
    keep: list[int] = []
    while order.size:
        best, rest = int(order[0]), order[1:]
        keep.append(best)
        if not rest.size:
            break
        pair_areas = ((areas[best] + np.asarray(areas)[rest]) / 2.0)[None]  # MMPose: the mean of both areas
        oks = oks_matrix(keypoints[best][None], valid[:1], keypoints[rest], valid[rest], pair_areas, sigmas)[0]
        order = rest[~(oks > threshold)]
    return np.asarray(keep, dtype=np.int64)


def keypoint_ap(
    gts: Sequence[CocoAnnotation], image_ids: Sequence[int], preds: Sequence[ScoredPose], match: KeypointMatch
) -> dict[str, float]:
    """COCO keypoint AP/AR (pycocotools ``COCOeval(..., "keypoints")``) on the matched keypoints.

    Category-agnostic: every ground truth and prediction of the group is given category 1, so
    every prediction may match every ground truth, as MMPose evaluates with one category (not
    ``useCats = 0``: pycocotools' ``computeOks`` ignores that setting and then finds no ground
    truth at all). Ground truths are restricted to the common
    keypoints; one with no labelled keypoint among them is ignored (COCO's rule for
    ``num_keypoints == 0``), as are crowd regions.

    Returns:
        The ten figures of :data:`AP_NAMES`; -1 where COCO has no data (e.g. no medium objects),
        NaN when there is no scorable ground truth, 0 when there is but no prediction.
    """
    cols = list(match.annotation_index)
    annotations = [
        annotation_record(n + 1, g.image_id, g.bbox, g.keypoints[cols], g.visibility[cols], g.area, g.iscrowd)
        for n, g in enumerate(gts)
    ]
    if not any(a["num_keypoints"] > 0 and not a["iscrowd"] for a in annotations):
        return dict.fromkeys(AP_NAMES, float("nan"))
    if not preds:
        return dict.fromkeys(AP_NAMES, 0.0)
    results = [result_record(p.image_id, p.keypoints, p.score) for p in preds]
    return cocoeval_keypoints(annotations, results, image_ids, match.sigmas_array)


def match_boxes(gt_boxes: np.ndarray, pred_boxes: np.ndarray, iou_threshold: float = 0.5) -> dict[int, int]:
    """One-to-one matches ground truth -> prediction with box IoU >= ``iou_threshold``, best IoU first.

    Returns:
        ``{gt index: prediction index}`` for the matched ground truths.
    """
    gt_boxes = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    pred_boxes = np.asarray(pred_boxes, dtype=np.float64).reshape(-1, 4)
    if not len(gt_boxes) or not len(pred_boxes):
        return {}
    iou = box_iou(gt_boxes, pred_boxes)
    pairs = np.argwhere(iou >= iou_threshold)
    pairs = pairs[np.argsort(-iou[pairs[:, 0], pairs[:, 1]], kind="stable")]
    out: dict[int, int] = {}
    used: set[int] = set()
    for g, p in pairs:
        if int(g) not in out and int(p) not in used:
            out[int(g)] = int(p)
            used.add(int(p))
    return out


def pck_of_matches(
    gts: Sequence[CocoAnnotation], predicted: Sequence[np.ndarray | None], match: KeypointMatch, threshold: float = 0.1
) -> tuple[float, float]:
    """PCK@``threshold`` normalised by ``max(w, h)`` of the ground-truth box (MMPose's bbox PCK).

    Args:
        gts: Ground truths (crowds are left out by the caller).
        predicted: Per ground truth, the model's (K, 2) keypoints of the prediction matched to
            it, or None when nothing matched (a detector miss).
        match: Which keypoints to compare.
        threshold: Fraction of the box size.

    Returns:
        ``(over all ground truths, a miss's keypoints counting as wrong; over matched ones only)``;
        NaN where no keypoint is labelled.
    """
    if not gts:
        return float("nan"), float("nan")
    a_cols, m_cols = list(match.annotation_index), list(match.model_index)
    gt_kp = np.stack([g.keypoints[a_cols] for g in gts])
    vis = np.stack([g.visibility[a_cols] for g in gts])
    pred = np.stack([np.full_like(gt_kp[0], np.inf) if p is None else np.asarray(p)[m_cols] for p in predicted])
    norm = np.array([max(g.bbox[2] - g.bbox[0], g.bbox[3] - g.bbox[1]) for g in gts])
    dist = keypoint_distances(pred, gt_kp, vis)
    key = f"pck@{threshold:g}"
    found = np.array([p is not None for p in predicted])
    every = pck(dist, norm, (threshold,))[key]
    matched = pck(dist[found], norm[found], (threshold,))[key] if found.any() else float("nan")
    return every, matched
