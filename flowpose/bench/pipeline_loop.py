"""The baseline of ``flowpose bench pipeline``: detector and pose in one sequential loop.

What a user writes without flowpose, and what rtmlib's ``PoseTracker`` does: read a frame, run
the detector, run the pose model on each person, then read the next frame — one thread, no
queues. Two variants:

* ``loop`` (rtmlib-style): one crop, one normalisation and one ``session.run`` per person
  (:func:`flowpose.bench.pose.per_crop`);
* ``loop-batched``: the graph's own pose node (all crops in one ``session.run``) called inline,
  so the only difference from the graph is its threads and queues.

Both use the graph's Detector node and the same pose model with the same ONNX Runtime thread
settings, and stamp capture and arrival like the graph (capture right after ``grab()``, arrival
when the frame's keypoints are done), so their figures and keypoints compare with the graph's.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from flowpose.bench.video_loop import video_frames
from flowpose.frame import Frame

__all__ = ["LOOP_LAYOUTS", "LoopRun", "run_loop"]

log = logging.getLogger(__name__)

#: The loop variants, as ``--layouts`` names them.
LOOP_LAYOUTS = ("loop", "loop-batched")


@dataclass
class LoopRun:
    """What one loop run produced, in the shape the graph's sink keeps.

    Attributes:
        rows: Per frame: (done ns, capture ns, instances with keypoints).
        keypoints: Per frame id: the keypoints of every posed instance, in frame order.
    """

    rows: list[tuple[int, int, int]] = field(default_factory=list)
    keypoints: dict[int, list[np.ndarray]] = field(default_factory=dict)


def run_loop(
    video: str, detector: dict, pose: dict, layout: str, paced: bool, frames: int = 0, label: str = "person"
) -> LoopRun:
    """Run the sequential loop over ``video``.

    Args:
        video: The video file.
        detector: The Detector node's params (as the graph's).
        pose: The TopdownPoseEstimator node's params (as the graph's).
        layout: ``loop`` (one ``session.run`` per person) or ``loop-batched`` (the node's batch).
        paced: Read the file at its own frame rate like a camera (the Camera node's pacing).
        frames: Stop after this many frames; 0 = the whole video.
        label: The detections the pose model runs on.
    """
    from flowpose.bench.pose import per_crop
    from flowpose.nodes.detector import Detector
    from flowpose.nodes.pose_estimator import TopdownPoseEstimator

    if layout not in LOOP_LAYOUTS:
        raise ValueError(f"unknown loop layout {layout!r}; use one of {LOOP_LAYOUTS}")
    det, estimator = Detector("detector", detector), TopdownPoseEstimator("pose", pose)
    det.setup()
    estimator.setup()
    # The per-person path runs the node's own model (same session, same thread settings).
    model = estimator._model
    padding = estimator.params.bbox_padding
    out = LoopRun()
    try:
        for index, stamp, image in video_frames(video, frames, paced):
            found = det.process(Frame(index, stamp, "camera", image))
            if layout == "loop-batched":
                posed = [i.keypoints for i in estimator.process(found).instances if i.keypoints is not None]
            else:
                boxes = [i.bbox for i in found.instances if i.label == label]
                posed = list(per_crop(model, image, np.stack(boxes), padding).keypoints) if boxes else []
            out.rows.append((time.time_ns(), stamp, len(posed)))
            out.keypoints[index] = posed
    finally:
        estimator.close()
        det.close()
    return out
