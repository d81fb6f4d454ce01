"""Nodes for the engine's stream tests: a multi-stream source, a batching node, a recording sink.

What the tests read goes into JSON-lines files named by params, so the nodes work the same
in a thread and in a child process.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from flowpose.frame import EndOfStream, Frame
from flowpose.node import BatchLimits, Node, NodeParams, Source


def _append(path: str, record: dict) -> None:
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(record) + "\n")


def read_log(path: str | Path) -> list[dict]:
    """The records a node appended to ``path`` (none when it wrote nothing)."""
    p = Path(path)
    return [json.loads(line) for line in p.read_text().splitlines()] if p.exists() else []


class Streams(Source):
    """``count`` rounds of one frame per stream (``s0``, ``s1``...); stream ``end`` ends after ``end_after`` rounds."""

    class Params(NodeParams):
        streams: int = 2
        count: int = 20
        end: str = ""
        end_after: int = 5
        period_ms: float = 0.0

    def is_live(self) -> bool:
        return False

    def frames(self) -> Iterator[Frame | EndOfStream]:  # type: ignore[override]
        p = self.params
        image = np.zeros((8, 8, 3), np.uint8)
        ended = False
        for i in range(p.count):
            for s in range(p.streams):
                stream = f"s{s}"
                if stream == p.end and ended:
                    continue
                yield self.make_frame(image, source=stream, meta={"round": i})
            if p.end and not ended and i + 1 == p.end_after:
                ended = True
                yield EndOfStream(self.name, p.end)
            if p.period_ms and not self.pause(p.period_ms / 1e3):
                return


class Batches(Node):
    """Batches up to ``max_batch`` frames; logs each batch's streams; takes ``work_ms`` per batch."""

    class Params(NodeParams):
        max_batch: int = 8
        max_wait_ms: float = 50.0
        work_ms: float = 0.0
        log: str = ""

    def batch_limits(self) -> BatchLimits | None:
        return BatchLimits(self.params.max_batch, self.params.max_wait_ms / 1e3)

    def process(self, frame: Frame) -> Frame:  # pragma: no cover - the runner calls process_batch
        raise AssertionError("a batching node gets process_batch calls")

    def process_batch(self, frames: list[Frame]) -> list[Frame]:
        if self.params.work_ms:
            time.sleep(self.params.work_ms / 1e3)
        _append(self.params.log, {"batch": [f.source for f in frames]})
        return frames

    def end_stream(self, stream: str) -> None:
        _append(self.params.log, {"end": stream})


class Record(Node):
    """Logs every frame's stream and id, and every stream end, in arrival order."""

    class Params(NodeParams):
        log: str

    def process(self, *frames: Frame) -> None:
        _append(self.params.log, {"frame": frames[0].source, "id": frames[0].frame_id})

    def end_stream(self, stream: str) -> None:
        _append(self.params.log, {"end": stream})
