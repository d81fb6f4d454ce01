"""Ground-truth value types of synthetic frames."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from flowpose.frame import Frame, Instance


@dataclass(frozen=True)
class GroundTruthObject:
    """One figure as it appears in a synthetic frame.

    Attributes:
        track_id: Stable identity across the frames of a scene.
        label: Class name: ``"person"``, ``"dog"``, ``"cat"`` or ``"horse"``.
        layout: Keypoint layout name (``"coco17"`` or ``"ap10k"``), see :mod:`flowpose.meta`.
        bbox: Tight ``[x1, y1, x2, y2]`` around the visible pixels (limb thickness included),
            float32 (4,).
        keypoints: Keypoint positions in image pixels, float32 (K, 2); pixel centres sit at
            integer coordinates. Points outside the image keep their true position.
        visibility: uint8 (K,): 0 outside the image, 1 covered by something drawn over it
            (another figure, an occluder, another part of the same body, or a face point
            turned away), 2 visible.
    """

    track_id: int
    label: str
    layout: str
    bbox: np.ndarray
    keypoints: np.ndarray
    visibility: np.ndarray

    def to_instance(self) -> Instance:
        """The object as a pipeline :class:`~flowpose.frame.Instance` (visibility as scores)."""
        return Instance(
            bbox=self.bbox, score=1.0, label=self.label, track_id=self.track_id, keypoints=self.keypoints,
            keypoint_scores=self.visibility.astype(np.float32), layout=self.layout,
        )  # fmt: skip


@dataclass(frozen=True)
class SceneFrame:
    """One rendered image and everything in it.

    Attributes:
        image: uint8 (H, W, 3) BGR.
        index: Frame number within the scene (0 for single samples).
        timestamp_s: Scene time in seconds.
        objects: Ground truth of every figure with at least a few visible pixels.
    """

    image: np.ndarray
    index: int
    timestamp_s: float
    objects: tuple[GroundTruthObject, ...]

    def to_frame(self, source: str = "synthetic", capture_ns: int | None = None) -> Frame:
        """A pipeline :class:`~flowpose.frame.Frame` holding the ground truth as instances."""
        stamp = time.time_ns() if capture_ns is None else capture_ns
        return Frame(
            frame_id=self.index, capture_ns=stamp, source=source, image=self.image,
            instances=tuple(o.to_instance() for o in self.objects),
        )  # fmt: skip
