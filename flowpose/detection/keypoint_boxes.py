"""Boxes from keypoints, and the instances of several feedback frames merged into one list.

Between two detector runs, a person's box for the next frame is the bounds of its confident
keypoints in this frame, expanded by a margin (RTMPose's and MediaPipe's tracking trick).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from flowpose.detection.nms import box_iou
from flowpose.frame import Frame, Instance

__all__ = ["box_from_keypoints", "merge_instances"]

# Two pose outputs both carry an instance they did not estimate (a dog in the human pose
# output, a person in the animal one), with the detector's box; above this IoU it is the same one.
SAME_INSTANCE_IOU = 0.7


def box_from_keypoints(
    keypoints: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    margin: float,
    image_size: tuple[int, int],
) -> np.ndarray | None:
    """The box around the keypoints scoring at least ``threshold``, scaled about its centre.

    Args:
        keypoints: Positions in image pixels, shape (K, 2).
        scores: Per-keypoint scores, shape (K,).
        threshold: Keypoints scoring below it are ignored.
        margin: Factor on the width and height of the keypoints' bounds (1.25: 25 % larger).
        image_size: ``(w, h)``; the box is clipped to the image.

    Returns:
        ``[x1, y1, x2, y2]`` float32, or None when no keypoint is confident or the clipped box is empty.
    """
    points = np.asarray(keypoints, dtype=np.float32).reshape(-1, 2)[np.asarray(scores).reshape(-1) >= threshold]
    if not len(points):
        return None
    low, high = points.min(axis=0), points.max(axis=0)
    centre, half = (low + high) / 2, (high - low) * margin / 2
    w, h = image_size
    box = np.concatenate([centre - half, centre + half]).astype(np.float32)
    np.clip(box[0::2], 0, w, out=box[0::2])
    np.clip(box[1::2], 0, h, out=box[1::2])
    if box[2] <= box[0] or box[3] <= box[1]:
        return None
    return box


def merge_instances(frames: Iterable[Frame]) -> list[Instance]:
    """All instances of ``frames`` (feedback from several pose outputs of one frame), each once.

    Instances with keypoints come first. An instance is dropped when an instance of its label
    already kept *from another frame* overlaps it by more than :data:`SAME_INSTANCE_IOU`: the
    copy that another pose output passed through unchanged (no keypoints), or the same pose
    arriving twice. Instances of one frame never replace each other (people do overlap).
    """
    frames = list(frames)
    kept: list[tuple[int, Instance]] = []
    with_keypoints = [(i, inst) for i, f in enumerate(frames) for inst in f.instances if inst.keypoints is not None]
    without = [(i, inst) for i, f in enumerate(frames) for inst in f.instances if inst.keypoints is None]
    for origin, inst in with_keypoints + without:
        others = [k.bbox for i, k in kept if i != origin and k.label == inst.label]
        if not others or box_iou(inst.bbox, np.stack(others)).max() <= SAME_INSTANCE_IOU:
            kept.append((origin, inst))
    return [inst for _, inst in kept]
