"""What one top-down training sample is made of, whatever the dataset: an image and one instance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from flowpose.meta import KeypointLayout

__all__ = ["PoseInstance", "PoseSource"]


@dataclass(frozen=True)
class PoseInstance:
    """One annotated figure.

    Attributes:
        bbox: ``[x1, y1, x2, y2]`` in image pixels, float32 (4,).
        keypoints: ``[x, y]`` in image pixels, float32 (K, 2).
        visibility: float32 (K,): 0 unlabelled, 1 labelled but occluded, 2 visible (COCO).
        area: Object area in pixels^2 for OKS (COCO ``area``; box area when unknown).
        image_id: Id of the image (OKS evaluation groups instances by image).
        label: Class name (``"person"``, ``"dog"``...).
    """

    bbox: np.ndarray
    keypoints: np.ndarray
    visibility: np.ndarray
    area: float
    image_id: int = 0
    label: str = ""

    def __post_init__(self) -> None:
        kpts = np.asarray(self.keypoints, dtype=np.float32)
        vis = np.asarray(self.visibility, dtype=np.float32)
        if kpts.ndim != 2 or kpts.shape[1] != 2 or vis.shape != kpts.shape[:1]:
            raise ValueError(f"keypoints must be (K, 2) and visibility (K,), got {kpts.shape} and {vis.shape}")
        object.__setattr__(self, "keypoints", kpts)
        object.__setattr__(self, "visibility", vis)
        object.__setattr__(self, "bbox", np.asarray(self.bbox, dtype=np.float32).reshape(4))


class PoseSource(Protocol):
    """A sequence of (image, instance) pairs with one keypoint layout.

    ``get`` receives a numpy generator so that sources that synthesise samples draw from the
    loop's seeded randomness; file-backed sources ignore it.
    """

    layout: KeypointLayout

    def __len__(self) -> int: ...

    def get(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, PoseInstance]:
        """The BGR uint8 image (H, W, 3) and the instance at ``index``."""
        ...
