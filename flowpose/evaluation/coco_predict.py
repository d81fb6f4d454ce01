"""Running the detector and the pose models on an image exactly as the graph's nodes do.

No second implementation: boxes come from :func:`flowpose.detection.open_detector` (the
Detector node's backend) or from the annotations, and keypoints from
:class:`flowpose.pose.TopdownModel` (the TopdownPoseEstimator node's model), each pose model
given the boxes whose label its card serves, as the node picks them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from flowpose.detection import DetectorBackend, DetectorConfig, open_detector
from flowpose.evaluation.coco_data import CocoAnnotation, CocoInputError
from flowpose.models import find_card
from flowpose.pose import TopdownModel
from flowpose.zoo import resolve_model

__all__ = ["ImagePredictor", "PosePrediction", "PoseRunner", "open_eval_detector"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PosePrediction:
    """One estimated instance.

    Attributes:
        image_id: Its image.
        group: The pose model that estimated it (``"people"`` or ``"animals"``).
        label: The detector's class name (the ground truth's category with ground-truth boxes).
        bbox: ``[x1, y1, x2, y2]`` the crop was made from.
        box_score: Detector score; 1 for a ground-truth box.
        keypoints: (K, 2) image pixels, K of the model's layout.
        keypoint_scores: (K,) the model's confidences.
        gt_id: The annotation whose box was used (ground-truth boxes), else None.
    """

    image_id: int
    group: str
    label: str
    bbox: np.ndarray
    box_score: float
    keypoints: np.ndarray
    keypoint_scores: np.ndarray
    gt_id: int | None = None


@dataclass
class PoseRunner:
    """A pose model with the labels it serves.

    Attributes:
        group: ``"people"`` or ``"animals"``.
        model: The node's top-down model.
        labels: Instance labels it estimates (its card's).
    """

    group: str
    model: TopdownModel
    labels: tuple[str, ...]


@dataclass
class ImagePredictor:
    """Boxes (detector or annotations) -> keypoints for every image, timing each stage.

    Attributes:
        runners: The pose models by group.
        detector: The detector, or None to use the annotations' boxes.
        flip: Flip test.
        padding: Box padding before the crop (the node's ``bbox_padding``).
        category_names: Category name by id, the label of a ground-truth box.
    """

    runners: Mapping[str, PoseRunner]
    detector: DetectorBackend | None = None
    category_names: Mapping[int, str] = field(default_factory=dict)
    flip: bool = False
    padding: float = 1.25
    detector_ms: list[float] = field(default_factory=list)
    pose_ms: list[float] = field(default_factory=list)

    def predict(
        self, image_path: str, image_id: int, gt_by_group: Mapping[str, Sequence[CocoAnnotation]]
    ) -> list[PosePrediction]:
        """Estimate the instances of one image.

        Args:
            image_path: The image file.
            image_id: Its id.
            gt_by_group: The annotations of this image each group is scored on (their boxes are
                used when there is no detector).

        Raises:
            CocoInputError: The image cannot be read.
        """
        image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
        if image is None:
            raise CocoInputError(f"cannot read image {image_path} (not an image OpenCV can decode)")
        boxes = self._detect(image) if self.detector is not None else None
        out: list[PosePrediction] = []
        start = time.perf_counter()
        for name, runner in self.runners.items():
            if boxes is None:
                gts = [g for g in gt_by_group.get(name, ()) if not g.iscrowd and g.num_labelled > 0]
                picked = [(g.bbox, 1.0, self.category_names.get(g.category_id, name), g.id) for g in gts]
            else:
                picked = [(b, s, label, None) for b, s, label in boxes if label in runner.labels]
            # As the node: a box with no area has nothing to crop.
            picked = [p for p in picked if p[0][2] - p[0][0] >= 1 and p[0][3] - p[0][1] >= 1]
            if not picked:
                continue
            result = runner.model(image, np.stack([p[0] for p in picked]), self.padding, self.flip)
            for (box, score, label, gt_id), kp, ks in zip(picked, result.keypoints, result.scores, strict=True):
                out.append(
                    PosePrediction(image_id, name, label, np.asarray(box, np.float64), float(score), kp, ks, gt_id)
                )
        self.pose_ms.append((time.perf_counter() - start) * 1e3)
        return out

    def _detect(self, image: np.ndarray) -> list[tuple[np.ndarray, float, str]]:
        assert self.detector is not None
        start = time.perf_counter()
        found = self.detector.detect(image)
        self.detector_ms.append((time.perf_counter() - start) * 1e3)
        names = self.detector.classes
        return [(b, float(s), names[int(c)]) for b, s, c in zip(found.boxes, found.scores, found.labels, strict=True)]


def open_eval_detector(
    ref: str,
    preset: str | None,
    wanted: Sequence[str],
    score_threshold: float,
    nms_iou: float,
    intra_op_threads: int | None,
) -> tuple[DetectorBackend, tuple[str, ...]]:
    """Open the detector keeping the classes the pose models serve, as a graph's Detector would.

    Args:
        ref: ``zoo:NAME``, a path, or ``hog``.
        preset: Card preset for a file without a card (``yolox`` for Megvii's export).
        wanted: Labels the pose models serve.
        score_threshold: The node's ``score_threshold``.
        nms_iou: The node's ``nms_iou``.
        intra_op_threads: ONNX Runtime threads.

    Returns:
        The detector and the classes it keeps.

    Raises:
        ValueError: The detector knows none of the wanted labels, or has no usable card.
        flowpose.zoo.ZooError, FileNotFoundError: The model is missing.
    """
    if ref == "hog":
        classes: Sequence[str] = ("person",)
    else:
        card = find_card(resolve_model(ref), preset).card
        if card.task != "detection":
            raise ValueError(f"--detector {ref}: this is a {card.task} model; a detection model is needed")
        classes = card.classes
    kept = tuple(c for c in classes if c in set(wanted))
    if not kept:
        raise ValueError(
            f"detector {ref}: none of its classes is a label the pose models serve ({', '.join(sorted(wanted))})"
        )
    config = DetectorConfig(
        ref,
        preset=preset,
        classes=kept,
        score_threshold=score_threshold,
        nms_iou=nms_iou,
        intra_op_threads=intra_op_threads,
    )
    return open_detector(config), kept
