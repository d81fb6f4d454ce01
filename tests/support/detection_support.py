"""Nodes for the Detector's graph tests, loaded by graphs as ``detection_support:ClassName``.

* ``FakePose`` stands in for a pose estimator: it puts five keypoints inside each instance's
  box (optionally moved by ``drift`` pixels a frame), scoring 0.9, or 0.05 on the frames listed
  in ``lose_at``, so the detector's interval mode has keypoints to follow and to lose.
* ``Lockstep`` is a file-like source that sends frame k only once the sink ``wait_for`` has
  seen frame k - 1, so every frame's feedback has arrived before the detector needs it.
* ``Seen`` is that sink: it keeps the frames it gets and wakes the source.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator

import numpy as np
from pydantic import Field

from flowpose.frame import Frame
from flowpose.node import Node, NodeParams, Source

SEEN: dict[str, list[Frame]] = defaultdict(list)
_seen_changed = threading.Condition()

# Keypoints at these fractions of the box: their bounds are 80 % of it, so a margin of 1.25 gives it back.
_SPOTS = np.array([[0.1, 0.1], [0.9, 0.1], [0.5, 0.5], [0.1, 0.9], [0.9, 0.9]], np.float32)


def reset() -> None:
    """Forget the frames seen by earlier tests."""
    with _seen_changed:
        SEEN.clear()


class FakePose(Node):
    """Adds five keypoints inside each instance's box; unconfident ones on the frames in ``lose_at``."""

    class Params(NodeParams):
        drift: float = Field(0.0, description="Pixels the keypoints move right per frame, relative to the box.")
        lose_at: list[int] = Field(default_factory=list, description="Frame ids on which every keypoint scores 0.05.")

    def process(self, frame: Frame) -> Frame:
        score = 0.05 if frame.frame_id in self.params.lose_at else 0.9
        out = []
        for inst in frame.instances:
            x1, y1, x2, y2 = inst.bbox
            points = _SPOTS * [x2 - x1, y2 - y1] + [x1 + self.params.drift, y1]
            out.append(inst.replace(keypoints=points, keypoint_scores=np.full(5, score, np.float32), layout="fake5"))
        return frame.with_instances(out)


class Lockstep(Source):
    """Sends ``count`` white frames, each only after sink ``wait_for`` has seen the one before."""

    class Params(NodeParams):
        count: int = 12
        width: int = 320
        height: int = 240
        level: int = Field(255, ge=0, le=255, description="Grey level of the frames.")
        wait_for: str = Field(description="The Seen sink whose frames pace this source.")
        timeout_s: float = 20.0

    def is_live(self) -> bool:
        return False

    def frames(self) -> Iterator[Frame]:
        p = self.params
        image = np.full((p.height, p.width, 3), p.level, np.uint8)
        image.setflags(write=False)
        for k in range(p.count):
            with _seen_changed:
                ok = _seen_changed.wait_for(lambda k=k: len(SEEN[p.wait_for]) >= k, timeout=p.timeout_s)
            if not ok:
                raise RuntimeError(f"sink {p.wait_for!r} did not see frame {k - 1} within {p.timeout_s} s")
            yield self.make_frame(image)


class Seen(Node):
    """Sink that keeps every frame and wakes the Lockstep source."""

    def process(self, frame: Frame) -> None:
        with _seen_changed:
            SEEN[self.name].append(frame)
            _seen_changed.notify_all()


def boxes_of(frame: Frame) -> list[list[float]]:
    """The instances' boxes as plain lists (for comparisons in tests)."""
    return [inst.bbox.tolist() for inst in frame.instances]
