"""Accuracy of a pipeline's poses against known ground truth (synthetic scenes), frame by frame.

Predictions are matched to ground-truth figures of the same label by box IoU (optimal
assignment); matched pairs add their keypoint distances, unmatched figures count as missed.
PCK is bbox-normalised the way MMPose's ``PCKAccuracy`` does it: a keypoint is correct when
it lies within ``t * max(box w, box h)`` of the truth, over keypoints labelled in the truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from flowpose.evaluation.pck import mean_pixel_error, pck
from flowpose.frame import Instance
from flowpose.tracking.assignment import match
from flowpose.tracking.similarity import iou_matrix

__all__ = ["LabelAccuracy", "PoseAccuracy"]


@dataclass
class LabelAccuracy:
    """What was seen of one label so far.

    Attributes:
        figures: Ground-truth figures.
        matched: Figures matched by a prediction with keypoints.
        distances: Per labelled keypoint of matched figures: distance / max(box w, h).
        pixels: The same distances in pixels.
    """

    figures: int = 0
    matched: int = 0
    distances: list[np.ndarray] = field(default_factory=list)
    pixels: list[np.ndarray] = field(default_factory=list)

    def summary(self, thresholds: Sequence[float]) -> dict[str, float]:
        """Recall, PCK at each threshold and mean pixel error (NaN when nothing matched)."""
        norm = np.concatenate(self.distances) if self.distances else np.zeros(0)
        out = {"figures": float(self.figures), "recall": self.matched / self.figures if self.figures else np.nan}
        # One row per keypoint, already divided by its figure's box size: a norm of 1.
        out.update(pck(norm[:, None], np.ones(len(norm)), thresholds))
        out["mean_px_error"] = mean_pixel_error(np.concatenate(self.pixels) if self.pixels else np.zeros(0))
        return out


class PoseAccuracy:
    """Accumulates accuracy per label over frames.

    Args:
        iou_threshold: Smallest box IoU for a prediction to count as a figure's.
    """

    def __init__(self, iou_threshold: float = 0.3) -> None:
        if not 0 < iou_threshold <= 1:
            raise ValueError(f"iou_threshold must be in (0, 1], got {iou_threshold}")
        self.iou_threshold = iou_threshold
        self.labels: dict[str, LabelAccuracy] = {}

    def add(self, predictions: Sequence[Instance], truth: Sequence[dict[str, Any]]) -> None:
        """Score one frame: ``truth`` as in ``meta["ground_truth"]`` of a SyntheticScene frame."""
        for label in {t["label"] for t in truth}:
            acc = self.labels.setdefault(label, LabelAccuracy())
            gts = [t for t in truth if t["label"] == label]
            preds = [p for p in predictions if p.label == label and p.keypoints is not None]
            acc.figures += len(gts)
            if not preds:
                continue
            iou = iou_matrix(np.array([p.bbox for p in preds]), np.array([g["bbox"] for g in gts]))
            for i, j in match(iou, self.iou_threshold).pairs:
                self._add_pair(acc, preds[i], gts[j])

    @staticmethod
    def _add_pair(acc: LabelAccuracy, pred: Instance, gt: dict[str, Any]) -> None:
        points = np.asarray(gt["keypoints"], dtype=np.float64)
        assert pred.keypoints is not None
        if pred.keypoints.shape != points.shape:
            return  # another layout's model answered for this label: not comparable
        labelled = np.asarray(gt["visibility"]) > 0
        x1, y1, x2, y2 = gt["bbox"]
        size = max(x2 - x1, y2 - y1, 1.0)
        px = np.linalg.norm(pred.keypoints.astype(np.float64) - points, axis=1)[labelled]
        acc.matched += 1
        acc.pixels.append(px)
        acc.distances.append(px / size)

    def report(self, thresholds: Sequence[float] = (0.05, 0.1, 0.2)) -> dict[str, dict[str, float]]:
        """Per-label summaries (see :meth:`LabelAccuracy.summary`)."""
        return {label: acc.summary(thresholds) for label, acc in sorted(self.labels.items())}
