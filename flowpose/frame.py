"""The data that flows through a graph: frames, the instances found in them, hop traces.

Frames are immutable once sent. A node that adds results builds a new frame with
:func:`dataclasses.replace` (or :meth:`Frame.with_instances`), sharing the image array,
so a sibling reading the same frame never sees it change.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class Hop:
    """One node's visit of a frame.

    Attributes:
        node: Name of the node that handled the frame.
        t_in: Wall-clock time (ns since the epoch) the node took the frame from its input.
        t_out: Wall-clock time (ns) the node handed its result on.
    """

    node: str
    t_in: int
    t_out: int


@dataclass(frozen=True, slots=True)
class Instance:
    """One detected (or ground-truth) object in a frame.

    Attributes:
        bbox: Box ``[x1, y1, x2, y2]`` in image pixels, float32, shape (4,).
        score: Detection confidence in [0, 1].
        label: Class name, e.g. ``"person"`` or ``"dog"``.
        track_id: Identity across frames, or -1 when not tracked.
        keypoints: Keypoint positions in image pixels, float32, shape (K, 2), or None.
        keypoint_scores: Per-keypoint confidence (or visibility for ground truth),
            float32, shape (K,), or None.
        layout: Name of the keypoint layout (dataset meta), e.g. ``"coco17"``; empty when
            there are no keypoints.
    """

    bbox: np.ndarray
    score: float = 1.0
    label: str = ""
    track_id: int = -1
    keypoints: np.ndarray | None = None
    keypoint_scores: np.ndarray | None = None
    layout: str = ""

    def __post_init__(self) -> None:
        bbox = np.asarray(self.bbox, dtype=np.float32).reshape(-1)
        if bbox.shape != (4,):
            raise ValueError(f"Instance.bbox must have 4 values (x1, y1, x2, y2), got shape {bbox.shape}")
        object.__setattr__(self, "bbox", bbox)
        if self.keypoints is not None:
            kpts = np.asarray(self.keypoints, dtype=np.float32)
            if kpts.ndim != 2 or kpts.shape[1] != 2:
                raise ValueError(f"Instance.keypoints must have shape (K, 2), got {kpts.shape}")
            object.__setattr__(self, "keypoints", kpts)
            if self.keypoint_scores is None:
                object.__setattr__(self, "keypoint_scores", np.ones(len(kpts), dtype=np.float32))
        if self.keypoint_scores is not None:
            scores = np.asarray(self.keypoint_scores, dtype=np.float32).reshape(-1)
            if self.keypoints is None or len(scores) != len(self.keypoints):
                raise ValueError("Instance.keypoint_scores needs keypoints of the same length")
            object.__setattr__(self, "keypoint_scores", scores)

    @property
    def num_keypoints(self) -> int:
        """Number of keypoints (0 when the instance has none)."""
        return 0 if self.keypoints is None else len(self.keypoints)

    def replace(self, **changes: Any) -> Instance:
        """Return a copy with ``changes`` applied (the original is left untouched)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Frame:
    """One image travelling through the graph, with everything found in it so far.

    Attributes:
        frame_id: Sequence number given by the source; increases along a source's stream.
        capture_ns: Wall-clock capture time in ns since the epoch (comparable across
            processes and, with synchronised clocks, across hosts).
        source: Name of the source that produced the frame (a camera, a phone, ...).
        image: The picture, H x W x 3 uint8 BGR. Shared, never written to after sending.
        instances: Objects found so far.
        meta: Free-form extras (ground truth, camera info, ...). Plain data only, so it
            can cross process boundaries.
        trace: One :class:`Hop` per node the frame went through, in order.
    """

    frame_id: int
    capture_ns: int
    source: str
    image: np.ndarray
    instances: tuple[Instance, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    trace: tuple[Hop, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.instances, tuple):
            object.__setattr__(self, "instances", tuple(self.instances))

    @property
    def height(self) -> int:
        """Image height in pixels."""
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        """Image width in pixels."""
        return int(self.image.shape[1])

    def with_instances(self, instances: tuple[Instance, ...] | list[Instance]) -> Frame:
        """Return a new frame with ``instances``, sharing this frame's image."""
        return dataclasses.replace(self, instances=tuple(instances))

    def replace(self, **changes: Any) -> Frame:
        """Return a copy with ``changes`` applied; the image array is shared, not copied."""
        return dataclasses.replace(self, **changes)

    def with_hop(self, hop: Hop) -> Frame:
        """Return a new frame whose trace ends with ``hop``."""
        return dataclasses.replace(self, trace=(*self.trace, hop))

    def latency_ns(self, now_ns: int | None = None) -> int:
        """Nanoseconds from capture to ``now_ns`` (default: now)."""
        return (time.time_ns() if now_ns is None else now_ns) - self.capture_ns


@dataclass(frozen=True, slots=True)
class EndOfStream:
    """Marker that flows downstream after a source's last frame.

    Two kinds: without ``stream`` the whole buffer ended (its writer stopped: nothing follows);
    with ``stream`` only that stream of a multi-stream source ended (a camera gone for good, a
    stream removed from ``flowpose serve``): frames of the other streams keep coming, and every
    node downstream is told through :meth:`flowpose.node.Node.end_stream` and passes it on.

    Attributes:
        source: The node whose stream ended (the writer of the buffer it travels in).
        stream: The stream (``Frame.source``) that ended, or None when the whole buffer ended.
    """

    source: str
    stream: str | None = None


Message = Frame | EndOfStream
