"""Small nodes for trying graphs out and measuring the runtime: a test pattern, a
pass-through, and sinks that discard or log."""

from __future__ import annotations

import time
from collections.abc import Iterator

import cv2
import numpy as np
from pydantic import Field

from flowpose.frame import Frame
from flowpose.node import Node, NodeParams, Source


class TestPattern(Source):
    """Synthetic colour-bar frames with a moving bar; live-like (paced) or file-like (finite)."""

    __test__ = False  # not a pytest test class, despite the name

    class Params(NodeParams):
        width: int = Field(640, ge=16, le=8192, description="Frame width in pixels.")
        height: int = Field(480, ge=16, le=8192, description="Frame height in pixels.")
        fps: float = Field(30.0, ge=0, description="Frames per second; 0 = as fast as downstream takes them.")
        count: int = Field(0, ge=0, description="Frames to produce, then end-of-stream; 0 = endless.")
        live: bool = Field(
            True, description="Behave like a camera (buffers default to 'latest') rather than a file ('lossless')."
        )
        cycle: int = Field(8, ge=1, le=256, description="Distinct images rendered up front and reused.")

    @classmethod
    def check(cls, params: NodeParams) -> list[tuple[str, str]]:
        assert isinstance(params, cls.Params)
        if not params.live and params.count == 0:
            return [("count", "a file-like test pattern (live: false) needs count > 0, or it never ends")]
        return []

    def is_live(self) -> bool:
        return self.params.live

    def setup(self) -> None:
        p = self.params
        # Rendering up front keeps the source cheap enough to benchmark the runtime itself.
        self._images = [self._render(i * p.width // p.cycle) for i in range(p.cycle)]
        for image in self._images:
            image.setflags(write=False)  # frames are immutable once sent

    def _render(self, bar_x: int) -> np.ndarray:
        p = self.params
        colours = np.array(
            [
                [192, 192, 192],
                [0, 192, 192],
                [192, 192, 0],
                [0, 192, 0],
                [192, 0, 192],
                [0, 0, 192],
                [192, 0, 0],
                [16, 16, 16],
            ],
            dtype=np.uint8,
        )
        columns = (np.arange(p.width) * len(colours) // p.width).astype(np.intp)
        image = np.ascontiguousarray(np.broadcast_to(colours[columns], (p.height, p.width, 3)))
        cv2.rectangle(image, (bar_x, 0), (bar_x + max(p.width // 32, 2), p.height - 1), (255, 255, 255), -1)
        return image

    def frames(self) -> Iterator[Frame]:
        p = self.params
        period = 1.0 / p.fps if p.fps > 0 else 0.0
        next_t = time.monotonic()
        n = 0
        while p.count == 0 or n < p.count:
            if period:
                next_t += period
                if not self.pause(next_t - time.monotonic()):
                    return
            yield self.make_frame(self._images[n % p.cycle])
            n += 1


class PassThrough(Node):
    """Forwards every frame unchanged, optionally spending some time on each (for tests)."""

    class Params(NodeParams):
        work_ms: float = Field(0.0, ge=0, description="Simulated work per frame in milliseconds.")

    def process(self, frame: Frame) -> Frame:
        if self.params.work_ms:
            time.sleep(self.params.work_ms / 1e3)
        return frame


class NullSink(Node):
    """Discards every frame (a sink for benchmarks and tests)."""

    def process(self, frame: Frame) -> None:
        return None


class LogSink(Node):
    """Logs one line per frame (or every Nth): id, source, instances, end-to-end latency."""

    class Params(NodeParams):
        every: int = Field(1, ge=1, description="Log every Nth frame.")

    def setup(self) -> None:
        self._seen = 0

    def process(self, frame: Frame) -> None:
        self._seen += 1
        if self._seen % self.params.every == 0:
            labels = ", ".join(f"{i.label}#{i.track_id}" if i.track_id >= 0 else i.label for i in frame.instances)
            self.log.info(
                "frame %d from %s: %dx%d, %d instance(s)%s, latency %.1f ms",
                frame.frame_id,
                frame.source,
                frame.width,
                frame.height,
                len(frame.instances),
                f" [{labels}]" if labels else "",
                frame.latency_ns() / 1e6,
            )
        return None
