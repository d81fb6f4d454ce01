"""Helpers of the Python API tests: the packaged models' names, synthetic scenes, videos written from them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from flowpose.synthetic import SceneConfig, SceneFrame, SyntheticScene

#: The models shipped inside the package: no download, trained on these synthetic scenes.
PACKAGED = {"detector": "flowpose-det-synthetic", "people": "flowpose-person", "animals": "flowpose-animal"}
#: One person and one animal, no occluders: every figure is plainly in view.
SCENE = SceneConfig(seed=8, num_people=(1, 1), num_animals=(1, 1), num_occluders=(0, 0), num_frames=30)


def scene_frames(config: SceneConfig = SCENE) -> list[SceneFrame]:
    """Every frame of a (finite) synthetic scene, with its ground truth."""
    return list(SyntheticScene(config))


def truth_boxes(frame: SceneFrame, label: str) -> np.ndarray:
    """The ground-truth boxes (xyxy) of the figures labelled ``label``."""
    return np.array([o.bbox for o in frame.objects if o.label == label], np.float32).reshape(-1, 4)


def write_video(path: Path, images: Sequence[np.ndarray], fps: float) -> Path:
    """``images`` as an mp4 written by cv2.VideoWriter (mp4v, as every OpenCV wheel has it)."""
    height, width = images[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    assert writer.isOpened(), f"cv2.VideoWriter cannot write {path}"
    for image in images:
        writer.write(image)
    writer.release()
    return path
