"""What a detector returns, and the settings that filter it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flowpose.frame import Instance

__all__ = ["DetectionSettings", "Detections"]


@dataclass(frozen=True)
class Detections:
    """Boxes found in one image, as parallel arrays.

    Attributes:
        boxes: ``[x1, y1, x2, y2]`` per detection, float32, shape (N, 4).
        scores: Confidence per detection, float32, shape (N,).
        labels: Class index per detection (into the detector's ``classes``), int64, shape (N,).
    """

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4)
        scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
        labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        if not len(boxes) == len(scores) == len(labels):
            raise ValueError(
                f"Detections need as many boxes, scores and labels, got {len(boxes)}, {len(scores)}, {len(labels)}"
            )
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "labels", labels)

    @classmethod
    def empty(cls) -> Detections:
        """No detections."""
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.scores)

    def select(self, index: np.ndarray) -> Detections:
        """The detections picked by a boolean mask or an index array, in that order."""
        return Detections(self.boxes[index], self.scores[index], self.labels[index])

    def to_instances(self, classes: tuple[str, ...]) -> tuple[Instance, ...]:
        """One :class:`Instance` per detection, labelled with its class name."""
        return tuple(
            Instance(bbox=box, score=float(score), label=classes[label])
            for box, score, label in zip(self.boxes, self.scores, self.labels, strict=True)
        )


@dataclass(frozen=True)
class DetectionSettings:
    """How raw detections are filtered.

    Args:
        score_threshold: Detections scoring below it are dropped.
        nms_iou: Boxes of one class overlapping a better one by more than this IoU are dropped.
        max_detections: At most this many detections, the best first.
        keep: Class indices to keep; None keeps every class.

    Raises:
        ValueError: On a value out of range, naming it.
    """

    score_threshold: float = 0.3
    nms_iou: float = 0.45
    max_detections: int = 100
    keep: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.score_threshold <= 1.0:
            raise ValueError(f"score_threshold must be in [0, 1], got {self.score_threshold}")
        if not 0.0 < self.nms_iou <= 1.0:
            raise ValueError(f"nms_iou must be in (0, 1], got {self.nms_iou}")
        if self.max_detections < 1:
            raise ValueError(f"max_detections must be >= 1, got {self.max_detections}")
        if self.keep is not None:
            object.__setattr__(self, "keep", tuple(int(k) for k in self.keep))
