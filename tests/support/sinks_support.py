"""Test helpers for the sink nodes: frames with people (COCO-17 keypoints), and a source of them.

Loaded by graphs as ``sinks_support:People`` (tests/support is on the path, see conftest).
Capture times are synthetic (``t0 + i / fps``), so a recorder's measured frame rate is exact
whatever the machine's load; ``pace: true`` additionally sleeps to run in real time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
from pydantic import Field

from flowpose.frame import Frame, Instance
from flowpose.node import NodeParams, Source

# A standing figure facing the camera, COCO-17 order, in units of its box (x right, y down).
FIGURE = np.array(
    [
        [0.50, 0.08],  # nose
        [0.53, 0.06],  # left_eye
        [0.47, 0.06],  # right_eye
        [0.56, 0.08],  # left_ear
        [0.44, 0.08],  # right_ear
        [0.65, 0.22],  # left_shoulder
        [0.35, 0.22],  # right_shoulder
        [0.72, 0.38],  # left_elbow
        [0.28, 0.38],  # right_elbow
        [0.75, 0.52],  # left_wrist
        [0.25, 0.52],  # right_wrist
        [0.60, 0.55],  # left_hip
        [0.40, 0.55],  # right_hip
        [0.62, 0.75],  # left_knee
        [0.38, 0.75],  # right_knee
        [0.63, 0.95],  # left_ankle
        [0.37, 0.95],  # right_ankle
    ],
    dtype=np.float32,
)
BOX_W, BOX_H = 80.0, 200.0
LOW_SCORE = 0.1  # person 0's nose gets this score: below the Visualizer's default threshold


def person(index: int, step: int = 0) -> Instance:
    """Person ``index`` at time ``step``: tracked, scored, with 17 keypoints in layout coco17."""
    x1 = 20.0 + index * 120.0 + (step * 3) % 40
    y1 = 100.0
    keypoints = FIGURE * [BOX_W, BOX_H] + [x1, y1]
    scores = np.full(len(FIGURE), 0.9, dtype=np.float32)
    if index == 0:
        scores[0] = LOW_SCORE
    return Instance(
        bbox=[x1, y1, x1 + BOX_W, y1 + BOX_H],
        score=0.5 + 0.1 * (index % 5),
        label="person",
        track_id=index,
        keypoints=keypoints,
        keypoint_scores=scores,
        layout="coco17",
    )


def dog(step: int = 0) -> Instance:
    """A detection without keypoints (as a detector alone would give)."""
    x1 = 400.0 + (step * 2) % 30
    return Instance(bbox=[x1, 330.0, x1 + 120.0, 420.0], score=0.8, label="dog")


def background(width: int = 640, height: int = 480) -> np.ndarray:
    """A flat dark-grey read-only image (immutable, like every sent frame's)."""
    image = np.full((height, width, 3), 64, dtype=np.uint8)
    image.setflags(write=False)
    return image


def people_frame(
    frame_id: int = 0, people: int = 5, animal: bool = False, *, capture_ns: int | None = None, source: str = "cam"
) -> Frame:
    """A 640x480 frame with ``people`` persons (and a dog when ``animal``)."""
    instances = [person(j, frame_id) for j in range(people)] + ([dog(frame_id)] if animal else [])
    return Frame(
        frame_id=frame_id,
        capture_ns=time.time_ns() if capture_ns is None else capture_ns,
        source=source,
        image=background(),
        instances=tuple(instances),
    )


class People(Source):
    """Frames of walking stick figures with COCO-17 keypoints, at synthetic capture times."""

    class Params(NodeParams):
        count: int = Field(0, ge=0, description="Frames, then end-of-stream; 0 = endless.")
        people: int = Field(5, ge=0, le=20)
        animal: bool = False
        fps: float = Field(25.0, gt=0, description="Spacing of the synthetic capture times.")
        pace: bool = Field(False, description="Also sleep 1/fps between frames (real time).")
        live: bool = False

    def is_live(self) -> bool:
        return self.params.live

    def frames(self) -> Iterator[Frame]:
        p = self.params
        t0 = time.time_ns()
        image = background()
        n = 0
        while p.count == 0 or n < p.count:
            if p.pace and not self.pause(1.0 / p.fps):
                return
            instances = tuple(person(j, n) for j in range(p.people)) + ((dog(n),) if p.animal else ())
            yield self.make_frame(image, instances=instances, capture_ns=t0 + round(n * 1e9 / p.fps))
            n += 1
