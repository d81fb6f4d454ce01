"""Plugin nodes used by the tests, loaded by graphs as ``testnodes:ClassName``.

State that must outlive a node instance (collected frames, failure counts across restarts)
lives in module-level dicts keyed by node name; `reset()` clears it between tests.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from pydantic import Field

from flowpose.frame import Frame
from flowpose.node import Node, NodeParams, StopGraph

COLLECTED: dict[str, list[Frame]] = defaultdict(list)
FAILURES: dict[str, int] = defaultdict(int)
CLOSED: dict[str, int] = defaultdict(int)
_lock = threading.Lock()


def reset() -> None:
    """Forget everything collected by earlier tests."""
    COLLECTED.clear()
    FAILURES.clear()
    CLOSED.clear()


class Collect(Node):
    """Sink that keeps every frame it gets (and optionally passes it on)."""

    class Params(NodeParams):
        work_ms: float = 0.0

    def process(self, frame: Frame) -> Frame:
        if self.params.work_ms:
            time.sleep(self.params.work_ms / 1e3)
        with _lock:
            COLLECTED[self.name].append(frame)
        return frame

    def close(self) -> None:
        CLOSED[self.name] += 1


class Fail(Node):
    """Raises on the frame with id `fail_at`, the first `times` times it gets there (then passes)."""

    class Params(NodeParams):
        fail_at: int = 3
        times: int = Field(1_000_000, description="How many times to fail before behaving.")
        message: str = "boom"

    def process(self, frame: Frame) -> Frame:
        if frame.frame_id >= self.params.fail_at and FAILURES[self.name] < self.params.times:
            FAILURES[self.name] += 1
            raise RuntimeError(f"{self.params.message} at frame {frame.frame_id}")
        return frame

    def close(self) -> None:
        CLOSED[self.name] += 1


class DropEvery(Node):
    """Drops frames whose id is a multiple of `n` (an upstream that loses frames)."""

    class Params(NodeParams):
        n: int = 3
        offset: int = 0

    def process(self, frame: Frame) -> Frame | None:
        return None if (frame.frame_id + self.params.offset) % self.params.n == 0 else frame


class Tag(Node):
    """Adds `key: value` to a copy of each frame's meta."""

    class Params(NodeParams):
        key: str
        value: int = 1

    def process(self, frame: Frame) -> Frame:
        return frame.replace(meta={**frame.meta, self.params.key: self.params.value})


class Join(Node):
    """Two-input node: merges the metas of the joined frames."""

    num_inputs = 2

    def process(self, a: Frame, b: Frame) -> Frame:
        assert a.frame_id == b.frame_id, (a.frame_id, b.frame_id)
        return a.replace(meta={**a.meta, **b.meta, "joined": True})


class Hang(Node):
    """Blocks in process() for a long time, ignoring the stop request (a stuck C call)."""

    class Params(NodeParams):
        seconds: float = 60.0
        in_setup: bool = False  # hang in setup() instead

    def setup(self) -> None:
        if self.params.in_setup:
            time.sleep(self.params.seconds)

    def process(self, frame: Frame) -> None:
        time.sleep(self.params.seconds)


class Needs(Node):
    """A node with a required param, for validation tests."""

    class Params(NodeParams):
        threshold: float
        labels: list[str] = Field(default_factory=list)
        name_or_index: int | str = 0

    def process(self, frame: Frame) -> Frame:
        return frame


class StopAt(Node):
    """Ends the whole graph cleanly at frame `at` (like pressing q in a window); counts frames seen."""

    class Params(NodeParams):
        at: int = 5

    def process(self, frame: Frame) -> Frame:
        self.counters["seen"] += 1
        if frame.frame_id >= self.params.at:
            raise StopGraph("user pressed q")
        return frame


class ShowFeedback(Node):
    """Writes the frame ids of the newest feedback frames into a copy of each frame's meta.

    With ``await_at`` set, the frame with that id waits (at most ``await_s``) for the first
    feedback frame, so a test can check the feedback path however fast the source runs.
    """

    class Params(NodeParams):
        await_at: int | None = None
        await_s: float = 30.0

    def process(self, frame: Frame) -> Frame:
        if frame.frame_id == self.params.await_at:
            deadline = time.monotonic() + self.params.await_s
            while not self.feedback() and time.monotonic() < deadline:
                time.sleep(0.002)
        seen = {buffer: f.frame_id for buffer, f in self.feedback().items()}
        return frame.replace(meta={**frame.meta, "feedback": seen})
