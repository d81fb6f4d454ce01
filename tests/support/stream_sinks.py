"""A sink for the multi-stream source tests: what arrived, per stream, and which streams ended.

Graphs load it as ``stream_sinks:StreamSink``. It keeps, per node name, every frame's stream,
id and the number a stamped image carries (:func:`sources_support.read_counter`), the order
frames came in, and each ``end_stream`` call; :func:`reset` clears it between tests. :func:`graph`,
:func:`run`, :func:`count` and :func:`wait_until` are what the source tests share around it.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import Field

from flowpose.engine.runtime import GraphRunner, RunResult
from flowpose.frame import Frame
from flowpose.graph.validate import validate_text
from flowpose.node import Node, NodeParams, StopGraph
from sources_support import read_counter


@dataclass(frozen=True)
class Got:
    """One frame as the sink saw it."""

    stream: str
    frame_id: int
    number: int  # the stamped counter (-1 when the sink does not read it)


ARRIVED: dict[str, list[Got]] = defaultdict(list)
FRAMES: dict[str, list[Frame]] = defaultdict(list)  # whole frames, with keep: true
ENDED: dict[str, list[tuple[str, int]]] = defaultdict(list)  # (stream, frames arrived before its end)
_lock = threading.Lock()


def reset() -> None:
    with _lock:
        ARRIVED.clear()
        ENDED.clear()
        FRAMES.clear()


def arrived(node: str, stream: str | None = None) -> list[Got]:
    """A snapshot of what ``node`` got (of ``stream`` only, when given)."""
    with _lock:
        return [g for g in ARRIVED[node] if stream is None or g.stream == stream]


def ended(node: str) -> list[str]:
    """A snapshot of the streams whose end reached ``node``, in order."""
    with _lock:
        return [stream for stream, _ in ENDED[node]]


def graph(source: str, sink_params: str = "") -> str:
    """A graph text: the flow-style node ``source`` (output ``frames``) feeding a StreamSink named ``sink``."""
    sink = f"{{name: sink, type: 'stream_sinks:StreamSink', inputs: [frames], params: {{{sink_params}}}}}"
    return f"nodes:\n  - {source}\n  - {sink}\n"


def run(text: str) -> RunResult:
    """Validate ``text`` and run the graph to its end in this thread."""
    return GraphRunner(validate_text(text, "t.yaml")).run(handle_signals=False)


def count(stream: str, node: str = "sink") -> int:
    """How many frames of ``stream`` reached ``node`` so far."""
    return len(arrived(node, stream))


def wait_until(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)


def end_position(node: str, stream: str) -> int:
    """How many frames (of all streams) ``node`` had got when ``stream``'s end reached it."""
    with _lock:
        return next(at for s, at in ENDED[node] if s == stream)


class StreamSink(Node):
    """Records frames and stream ends; can end the graph once given streams ended and more frames came."""

    class Params(NodeParams):
        stamped: bool = Field(False, description="Read the counter stamped into each image.")
        stop_after_ends: list[str] = Field(default_factory=list, description="Streams that must have ended...")
        then: int = Field(0, description="...before this many more frames end the graph (StopGraph).")
        work_ms: float = Field(0.0, description="Time each frame takes, as a slow consumer.")
        keep: bool = Field(False, description="Keep whole frames (images included) in FRAMES.")

    def setup(self) -> None:
        self._after = 0

    def process(self, frame: Frame) -> None:
        number = read_counter(frame.image) if self.params.stamped else -1
        with _lock:
            ARRIVED[self.name].append(Got(frame.source, frame.frame_id, number))
            if self.params.keep:
                FRAMES[self.name].append(frame)
            gone = {stream for stream, _ in ENDED[self.name]}
            waiting = self.params.stop_after_ends and set(self.params.stop_after_ends) <= gone
        if self.params.work_ms:
            time.sleep(self.params.work_ms / 1e3)
        if waiting:
            self._after += 1
            if self._after >= self.params.then:
                raise StopGraph("the streams to wait for ended and enough frames followed")

    def end_stream(self, stream: str) -> None:
        with _lock:
            ENDED[self.name].append((stream, len(ARRIVED[self.name])))
