"""The loop that drives one node: take input, call the node, emit, account; restart on failure.

It knows nothing about threads or processes, so the thread runner and the process runner
share it: a worker only needs an inbox (None for sources), output buffers, a stop event
and a place to report failure.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from flowpose.engine.buffers import Buffer, Inbox
from flowpose.engine.join import FrameJoiner
from flowpose.engine.stats import NodeStats
from flowpose.engine.trace import TraceRecorder
from flowpose.frame import EndOfStream, Frame, Hop
from flowpose.node import BatchLimits, Node, NodeParams, Source, StopGraph
from flowpose.runners.batching import BatchGatherer

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class RestartPolicy:
    """When and how often a failed node is started again.

    Attributes:
        on_failure: Restart after an exception (otherwise the graph stops).
        max_restarts: Give up after this many restarts.
        backoff_s: First delay; doubles with each restart, capped at 30 s.
    """

    on_failure: bool = False
    max_restarts: int = 3
    backoff_s: float = 0.5

    def delay(self, attempt: int) -> float:
        """Delay before restart number ``attempt`` (1-based)."""
        return min(self.backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S)


@dataclass
class NodeFailure:
    """A node that raised and was not (or no longer) restarted."""

    node: str
    type: str
    error: str
    traceback: str


class Worker:
    """Drives one node until its inputs end, the graph stops, or it fails.

    Args:
        name: Node name.
        cls: Node class.
        params: Validated params.
        inbox: The node's inputs (None for sources).
        outputs: Output buffers in the node's declared order.
        stats: Where to account frames.
        stop: Set when the graph is stopping.
        on_failure: Called once with the failure when the node gives up.
        restart: Restart policy.
        trace: Optional trace recorder.
        first_instance: A node instance made already (to ask a source whether it is live);
            used for the first start instead of making another.
        request_stop: Called with an exit code when the node raises StopGraph.
        frame_ids: For a source, the frame-id counter to use (default: the node's own).
    """

    def __init__(
        self,
        name: str,
        cls: type[Node],
        params: NodeParams,
        inbox: Inbox | None,
        outputs: list[Buffer],
        stats: NodeStats,
        stop: threading.Event,
        on_failure: Callable[[NodeFailure], None],
        restart: RestartPolicy = RestartPolicy(),
        trace: TraceRecorder | None = None,
        first_instance: Node | None = None,
        request_stop: Callable[[int], None] | None = None,
        frame_ids: Iterator[int] | None = None,
    ) -> None:
        self.name, self.cls, self.params = name, cls, params
        self.inbox, self.outputs = inbox, outputs
        self.by_name = {b.name: b for b in outputs}
        self.stats, self.stop, self.on_failure = stats, stop, on_failure
        self.restart, self.trace = restart, trace
        self._next_instance = first_instance
        # A source's frame counter survives restarts, so ids keep increasing; a process runner
        # passes one that continues where the previous process of the node stopped.
        self._ids = frame_ids
        self._request_stop = request_stop
        # What the node is in now, for the watchdog: (phase, perf_counter_ns at its start).
        self.busy: tuple[str, int] | None = None
        self.thread_id: int | None = None

    def _make_node(self) -> Node:
        node, self._next_instance = self._next_instance or self.cls(self.name, self.params), None
        node.stopping = self.stop
        node.counters = self.stats.counters  # one Counter for all restarts of the node
        if self.inbox is not None and self.inbox.feedback_names:
            node._feedback_frames = self.inbox.feedback_frames
        if isinstance(node, Source):
            if self._ids is None:
                self._ids = node._ids
            node._ids = self._ids
        return node

    def run(self) -> None:
        """Run the node to completion (the body of a thread or process)."""
        attempt = 0
        self.thread_id = threading.get_ident()
        try:
            while not self.stop.is_set():
                node = self._make_node()
                try:
                    self.busy = ("setup", time.perf_counter_ns())
                    node.setup()
                    self.busy = None
                    self._loop(node)
                    return
                except StopGraph as exc:
                    log.info("node %r asked the graph to stop%s", self.name, f": {exc}" if str(exc) else "")
                    if self._request_stop is not None:
                        self._request_stop(0)
                    return
                except Exception as exc:
                    if self.stop.is_set():
                        return  # failures while stopping are consequences, not causes
                    if self.restart.on_failure and attempt < self.restart.max_restarts:
                        attempt += 1
                        self.stats.restarts += 1
                        delay = self.restart.delay(attempt)
                        log.warning(
                            "node %r failed (%s: %s); restart %d/%d in %.2f s",
                            self.name,
                            type(exc).__name__,
                            exc,
                            attempt,
                            self.restart.max_restarts,
                            delay,
                        )
                        if self.stop.wait(delay):
                            return
                        continue
                    self.on_failure(
                        NodeFailure(
                            self.name, self.cls.__name__, f"{type(exc).__name__}: {exc}", traceback.format_exc()
                        )
                    )
                    return
                finally:
                    self.busy = None
                    self._close(node)
        finally:
            self._end_stream()

    def _close(self, node: Node) -> None:
        try:
            node.close()
        except Exception:
            log.exception("node %r raised in close()", self.name)

    def _end_stream(self) -> None:
        eos = EndOfStream(self.name)
        for buffer in self.outputs:
            buffer.write(eos)

    def _loop(self, node: Node) -> None:
        if isinstance(node, Source):
            self._run_source(node)
        elif self.inbox is not None and len(self.inbox.specs) > 1:
            self._run_joined(node)
        else:
            self._run_single(node)

    def _run_source(self, node: Source) -> None:
        record, stop = self.stats.record, self.stop
        for frame in node.frames():
            if isinstance(frame, EndOfStream):  # one stream of a multi-stream source ended
                self._pass_stream_end(frame.stream)
                continue
            t_out = time.time_ns()
            self._emit(frame, frame.capture_ns, t_out, frame)
            record(t_out - frame.capture_ns)
            if stop.is_set():
                return

    def _run_single(self, node: Node) -> None:
        assert self.inbox is not None
        limits = node.batch_limits()
        if limits is not None and limits.max_batch > 1:
            self._run_batched(node, limits)
            return
        get, process = self.inbox.get, node.process
        while (item := get()) is not None:
            msg = item[1]
            if isinstance(msg, EndOfStream):
                if msg.stream is None:
                    return
                self._end_one_stream(node, msg.stream)
                continue
            t_in = time.time_ns()
            self._handle(process, (msg,), t_in)

    def _run_batched(self, node: Node, limits: BatchLimits) -> None:
        """Gather frames of any streams into batches; one ``process_batch`` call each."""
        assert self.inbox is not None
        gatherer = BatchGatherer(self.inbox, limits)
        while (batch := gatherer.next()) is not None:
            if batch.frames:
                self._handle_batch(node, batch.frames, batch.t_in)
            if batch.end is not None:
                if batch.end.stream is None:
                    return
                self._end_one_stream(node, batch.end.stream)

    def _run_joined(self, node: Node) -> None:
        assert self.inbox is not None
        joiner = FrameJoiner(len(self.inbox.specs))
        # A stream's end is passed on once every input has carried it: frames of that stream
        # may still wait on the inputs that have not.
        stream_ends: Counter[str] = Counter()
        while (item := self.inbox.get()) is not None:
            index, msg = item
            if isinstance(msg, EndOfStream) and msg.stream is not None:
                stream_ends[msg.stream] += 1
                if stream_ends[msg.stream] == len(self.inbox.specs):
                    del stream_ends[msg.stream]
                    self._end_one_stream(node, msg.stream)
                continue
            result = joiner.push(index, msg)
            for frames in result.ready:
                self._handle(node.process, frames, time.time_ns())
            if result.ended:
                return

    def _end_one_stream(self, node: Node, stream: str) -> None:
        """Tell the node that ``stream`` ended, then pass the end on downstream."""
        try:
            node.end_stream(stream)
        except Exception:
            # The other streams go on: a failure tidying one stream's state must not end them.
            log.exception("node %r raised in end_stream(%r)", self.name, stream)
        self._pass_stream_end(stream)

    def _pass_stream_end(self, stream: str | None) -> None:
        eos = EndOfStream(self.name, stream)
        for buffer in self.outputs:
            buffer.write(eos)

    def _handle(self, process: Callable[..., object], frames: tuple[Frame, ...], t_in: int) -> None:
        start = time.perf_counter_ns()
        self.busy = ("process", start)
        result = process(*frames)
        self.busy = None
        proc_ns = time.perf_counter_ns() - start
        t_out = time.time_ns()
        if result is not None:
            self._emit(result, t_in, t_out, frames[0])
        self.stats.record(proc_ns, None if self.outputs else t_out - frames[0].capture_ns)

    def _handle_batch(self, node: Node, frames: list[Frame], t_in: list[int]) -> None:
        start = time.perf_counter_ns()
        self.busy = ("process", start)
        results = node.process_batch(frames)
        self.busy = None
        proc_ns = time.perf_counter_ns() - start
        if len(results) != len(frames):
            raise ValueError(f"process_batch() returned {len(results)} results for {len(frames)} frames")
        t_out = time.time_ns()
        self.stats.counters["batches"] += 1
        self.stats.counters["batched_frames"] += len(frames)
        share = proc_ns // len(frames)  # each frame's part of the batch's time
        for frame, result, t in zip(frames, results, t_in, strict=True):
            if result is not None:
                self._emit(result, t, t_out, frame)
            self.stats.record(share, None if self.outputs else t_out - frame.capture_ns)

    def _emit(self, result: object, t_in: int, t_out: int, first: Frame) -> None:
        hop = Hop(self.name, t_in, t_out)
        if self.trace is not None:
            self.trace.span(self.name, t_in, t_out, first.frame_id)
        if isinstance(result, Frame):
            out = result.with_hop(hop)
            for buffer in self.outputs:
                buffer.write(out)
        elif isinstance(result, Mapping):
            for key, frame in result.items():
                if key not in self.by_name:
                    raise KeyError(
                        f"process() returned output {key!r}, but the node's outputs are {sorted(self.by_name)}"
                    )
                self.by_name[key].write(frame.with_hop(hop))
        else:
            raise TypeError(
                f"process() must return a Frame, a dict of output name -> Frame, or None; got {type(result).__name__}"
            )
