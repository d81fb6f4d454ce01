"""A model-free fallback detector: OpenCV's HOG + linear SVM people detector (Dalal & Triggs).

It needs no model file, so a graph can find people before any model is downloaded. It is far
weaker than a neural detector: upright people only, and (at the default working height) only
people taller than about 40 % of the frame, which suits a person in front of a webcam.
"""

from __future__ import annotations

import cv2
import numpy as np

from flowpose.detection.detections import Detections, DetectionSettings
from flowpose.detection.nms import postprocess

__all__ = ["HogDetector"]


class HogDetector:
    """People detector with OpenCV's default HOG descriptor and people SVM.

    The image is scaled to ``work_height`` (HOG's cost grows with the pixel count, and its
    64 x 128 window finds people from about 100 px up), then padded on every side by
    ``border`` of its height with replicated edge pixels: a person filling the frame, or cut by
    its edge, is otherwise missed, because the window needs margin around the body.

    Scores are ``sigmoid(svm margin)``: 0.5 is the SVM's own decision boundary, so a score
    threshold above 0.5 asks for more confident detections.

    Args:
        settings: Score threshold, NMS IoU and cap; the class filter may only hold 0 (person).
        work_height: Height in pixels the image is scaled to before detection.
        border: Replicated border on each side, as a fraction of the scaled height.
        win_stride: Step of the detection window in pixels (smaller: slower, finer).
        pyramid_scale: Size ratio between the levels of the image pyramid (smaller: slower, finer).

    Raises:
        ValueError: On a bad argument, naming it.
    """

    classes: tuple[str, ...] = ("person",)

    def __init__(
        self,
        settings: DetectionSettings | None = None,
        work_height: int = 240,
        border: float = 0.15,
        win_stride: int = 8,
        pyramid_scale: float = 1.1,
    ) -> None:
        self.settings = settings or DetectionSettings()
        if self.settings.keep is not None and set(self.settings.keep) - {0}:
            raise ValueError(f"the HOG detector finds only 'person' (class 0), not classes {self.settings.keep}")
        if work_height < 128:
            raise ValueError(f"work_height must be >= 128 (the HOG window's height), got {work_height}")
        if not 0 <= border <= 1:
            raise ValueError(f"border must be in [0, 1], got {border}")
        if pyramid_scale <= 1:
            raise ValueError(f"pyramid_scale must be > 1, got {pyramid_scale}")
        self.work_height = work_height
        self.pyramid_scale = pyramid_scale
        self.border = border
        self.win_stride = (win_stride, win_stride)
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def detect(self, image: np.ndarray) -> Detections:
        """People in ``image`` (H x W x 3 uint8 BGR), boxes in its pixels, best score first."""
        h, w = image.shape[:2]
        if h == 0 or w == 0:
            raise ValueError(f"cannot detect in an empty image of shape {image.shape}")
        scale = self.work_height / h
        small = cv2.resize(image, (max(1, round(w * scale)), self.work_height), interpolation=cv2.INTER_AREA)
        pad = round(self.border * self.work_height)
        if pad:
            small = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        rects, weights = self.hog.detectMultiScale(
            small, winStride=self.win_stride, padding=(8, 8), scale=self.pyramid_scale
        )
        rects = np.asarray(rects, dtype=np.float32).reshape(-1, 4)
        if not len(rects):
            return Detections.empty()
        boxes = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], axis=1)
        boxes = (boxes - pad) / scale
        np.clip(boxes[:, 0::2], 0, w, out=boxes[:, 0::2])
        np.clip(boxes[:, 1::2], 0, h, out=boxes[:, 1::2])
        margins = np.asarray(weights, dtype=np.float64).reshape(-1)
        scores = (1.0 / (1.0 + np.exp(-margins))).astype(np.float32)
        dets = Detections(boxes, scores, np.zeros(len(boxes), np.int64))
        return postprocess(dets, self.settings)

    def detect_many(self, images: list[np.ndarray]) -> list[Detections]:
        """:meth:`detect` per image (HOG has no batch)."""
        return [self.detect(image) for image in images]

    def close(self) -> None:
        """Nothing to release."""
