"""Many streams in one source node: a reader thread per stream and a fair merge of their frames.

A :class:`StreamSet` runs every stream's :class:`StreamReader` in a thread of its own, so one
stream opening, stalling or reconnecting never holds up another. Each stream has a small
queue: a live stream (a camera read latest-only, a live synthetic scene) keeps only its newest
item, a file-like one blocks its reader while the queue is full, so nothing is ever dropped.
The node's thread takes items with :meth:`StreamSet.take`, round-robin over the streams that
have one, so a fast stream cannot starve a slow one. A stream that ends (a file at its end,
a camera whose reconnects ran out, a removed stream) ends alone: :meth:`take` hands out a
:class:`StreamEnded` after its last item, and the others go on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from flowpose.nodes.stream_rate import RateMeter
from flowpose.streams import StreamError, StreamInfo

#: Items a file-like stream may have waiting before its reader blocks (per stream).
LOSSLESS_QUEUE = 4
#: How long :meth:`StreamSet.close` waits for all reader threads together (one inside a slow read ends later).
CLOSE_WAIT_S = 2.0


@dataclass(frozen=True)
class StreamItem:
    """One image read by a stream, not yet a frame (the node gives it its id).

    Attributes:
        image: H x W x 3 uint8 BGR, read-only.
        capture_ns: Wall-clock ns when it was captured (or rendered).
        meta: Plain extras for ``Frame.meta``.
        instances: Instances to put on the frame (a synthetic scene's ground truth).
    """

    image: np.ndarray
    capture_ns: int
    meta: dict[str, Any] = field(default_factory=dict)
    instances: tuple[Any, ...] = ()


@dataclass(frozen=True)
class ReadContext:
    """What a reader may use while it reads.

    Attributes:
        pause: Sleep up to the given seconds; False when the reader must stop instead.
        stopped: Whether the reader must stop now.
        count: Add to a named event counter (``reconnects``, ``grab_dropped``...).
        log: Where the reader logs (its messages name the stream).
    """

    pause: Callable[[float], bool]
    stopped: Callable[[], bool]
    count: Callable[[str, int], None]
    log: logging.Logger | logging.LoggerAdapter[Any]


class StreamReader(Protocol):
    """An opened stream (opening happens before, so a bad source fails where it is added).

    Attributes:
        source: What it reads, as given (for listings and logs).
        live: Whether it is a live source.
        lossless: True: every item must be delivered (the queue blocks the reader); False:
            only the newest counts (older waiting items are replaced).
        state: ``running`` or ``reconnecting``, kept up to date by the reader.
    """

    source: str
    live: bool
    lossless: bool
    state: str

    def items(self, ctx: ReadContext) -> Iterator[StreamItem]:
        """Read until the stream ends (return) or ``ctx.stopped()``; raise if it is gone for good."""
        ...

    def close(self) -> None:
        """Release what the reader holds; called once, from the reader's thread, when it is done."""
        ...


@dataclass(frozen=True)
class StreamEnded:
    """Handed out by :meth:`StreamSet.take` after a stream's last item.

    Attributes:
        stream: The stream's id.
        reason: ``ended``, ``removed``, or the error that ended it.
    """

    stream: str
    reason: str


_END = object()  # queued after a stream's last item


class _StreamPrefix(logging.LoggerAdapter):  # type: ignore[type-arg]
    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"stream {self.extra['stream']}: {msg}", kwargs  # type: ignore[index]


@dataclass(eq=False)
class _Stream:
    id: str
    reader: StreamReader
    stop: threading.Event = field(default_factory=threading.Event)
    queue: deque[Any] = field(default_factory=deque)
    paused: bool = False
    delivered: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    meter: RateMeter = field(default_factory=RateMeter)
    reason: str | None = None  # set once the reader is done (or the stream was removed)
    end_delivered: bool = False
    thread: threading.Thread | None = None


class StreamSet:
    """The streams of one source node, each read in its own thread, merged fairly.

    Thread-safe: readers, the node's thread and controllers (``flowpose serve``) share it.

    Args:
        node: The node's name (thread names, listings).
        log: The node's logger.
        counters: The node's event counters; readers' counts go there too (summed over streams).
    """

    def __init__(self, node: str, log: logging.Logger, counters: Counter[str]) -> None:
        self.node = node
        self.log = log
        self._counters = counters
        self._cond = threading.Condition(threading.Lock())
        self._streams: dict[str, _Stream] = {}
        self._order: list[str] = []  # round-robin order: the order streams were first added
        self._cursor = -1  # index in _order of the stream served last
        self._closed = False

    # --- control -----------------------------------------------------------------------

    def add(self, stream_id: str, reader: StreamReader) -> StreamInfo:
        """Start reading ``reader`` as stream ``stream_id``.

        Raises:
            StreamError: 409 when a stream of that id is still open (an ended one is replaced).
        """
        stream = _Stream(stream_id, reader)
        with self._cond:
            old = self._streams.get(stream_id)
            if self._closed or (old is not None and not old.end_delivered):
                reader.close()
                why = "the node is closing" if self._closed else f"stream {stream_id!r} exists already"
                raise StreamError(f"cannot add stream {stream_id!r} to {self.node}: {why}", 409)
            self._streams[stream_id] = stream
            if stream_id not in self._order:
                self._order.append(stream_id)
            stream.thread = threading.Thread(
                target=self._run, args=(stream,), name=f"flowpose:{self.node}:{stream_id}", daemon=True
            )
            stream.thread.start()
            return self._info(stream)

    def remove(self, stream_id: str) -> None:
        """Stop stream ``stream_id``: its waiting items are dropped and its end is handed out next.

        Raises:
            StreamError: 404 for an unknown (or already removed) stream.
        """
        with self._cond:
            stream = self._get(stream_id)
            if stream.end_delivered:
                del self._streams[stream_id]  # ended already: removing only forgets it
                self._order.remove(stream_id)
                self._cursor = -1
                return
            stream.stop.set()
            if stream.reason is None:
                stream.reason = "removed"
            stream.queue.clear()
            stream.queue.append(_END)
            self._cond.notify_all()
        self.log.info("stream %s removed", stream_id)

    def pause(self, stream_id: str, paused: bool) -> StreamInfo:
        """Hold (or resume) stream ``stream_id``'s frames without closing it.

        A paused live stream's frames are dropped as they come; a paused file waits where it is.

        Raises:
            StreamError: 404 unknown stream, 409 a stream that ended.
        """
        with self._cond:
            stream = self._get(stream_id)
            if stream.reason is not None:
                raise StreamError(f"stream {stream_id!r} has ended ({stream.reason}); it cannot be paused", 409)
            stream.paused = paused
            if paused and not stream.reader.lossless:
                stream.queue.clear()  # a live frame held through the pause would be stale
            self._cond.notify_all()
            return self._info(stream)

    def infos(self) -> list[StreamInfo]:
        """Every stream, ended ones included, in the order they were added."""
        with self._cond:
            return [self._info(self._streams[i]) for i in self._order if i in self._streams]

    def info(self, stream_id: str) -> StreamInfo:
        """One stream's listing; :class:`StreamError` 404 if unknown."""
        with self._cond:
            return self._info(self._get(stream_id))

    @property
    def open_streams(self) -> int:
        """Streams whose end has not been handed out yet."""
        with self._cond:
            return sum(not s.end_delivered for s in self._streams.values())

    def close(self, timeout: float = CLOSE_WAIT_S) -> None:
        """Stop every reader and wait up to ``timeout`` s in all; a reader inside a slow read ends later."""
        with self._cond:
            self._closed = True
            streams = list(self._streams.values())
            for stream in streams:
                stream.stop.set()
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for stream in streams:
            if stream.thread is not None and stream.thread is not threading.current_thread():
                stream.thread.join(max(0.0, deadline - time.monotonic()))
                if stream.thread.is_alive():
                    self.log.debug("stream %s still inside a read; it releases its source when that returns", stream.id)

    # --- the node's side -----------------------------------------------------------------

    def take(self, timeout: float) -> tuple[str, StreamItem] | StreamEnded | None:
        """The next item, round-robin over the streams that have one, waiting up to ``timeout`` s.

        Returns:
            ``(stream_id, item)``, a :class:`StreamEnded` once a stream's items are all out,
            or None on timeout.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                picked = self._pick()
                if picked is not None:
                    return picked
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    return None
                self._cond.wait(remaining)

    # --- internals -------------------------------------------------------------------------

    def _get(self, stream_id: str) -> _Stream:
        stream = self._streams.get(stream_id)
        if stream is None:
            raise StreamError(f"no stream {stream_id!r} in {self.node}; it has {sorted(self._streams)}", 404)
        return stream

    def _info(self, stream: _Stream) -> StreamInfo:
        reader = stream.reader
        if stream.reason is not None:
            state = "ended"
        elif stream.paused:
            state = "paused"
        elif reader.state == "running" and stream.delivered == 0:
            state = "starting"
        else:
            state = reader.state
        extra: dict[str, Any] = dict(stream.counts)
        if stream.reason not in (None, "ended"):
            extra["ended_by"] = stream.reason
        return StreamInfo(
            id=stream.id,
            source=reader.source,
            node=self.node,
            state=state,
            frames=stream.delivered,
            fps=round(stream.meter.fps(), 2),
            live=reader.live,
            extra=extra,
        )

    def _pick(self) -> tuple[str, StreamItem] | StreamEnded | None:
        n = len(self._order)
        for step in range(1, n + 1):
            index = (self._cursor + step) % n
            stream = self._streams.get(self._order[index])
            if stream is None or stream.end_delivered or not stream.queue:
                continue
            if stream.paused and stream.queue[0] is not _END:
                continue
            self._cursor = index
            item = stream.queue.popleft()
            self._cond.notify_all()  # a blocked file reader has room again
            if item is _END:
                stream.end_delivered = True
                return StreamEnded(stream.id, stream.reason or "ended")
            stream.delivered += 1
            stream.meter.tick()
            return stream.id, item
        return None

    def _count(self, stream: _Stream, name: str, n: int = 1) -> None:
        with self._cond:
            stream.counts[name] += n
            self._counters[name] += n

    def _put(self, stream: _Stream, item: StreamItem) -> bool:
        """Queue ``item``; False when the stream must stop."""
        with self._cond:
            if stream.reader.lossless:
                while len(stream.queue) >= LOSSLESS_QUEUE and not stream.stop.is_set():
                    self._cond.wait()
            if stream.stop.is_set():
                return False
            if not stream.reader.lossless:
                if stream.paused:
                    stream.counts["paused_dropped"] += 1
                    return True
                if stream.queue:
                    stream.queue.clear()
                    stream.counts["grab_dropped"] += 1
                    self._counters["grab_dropped"] += 1
            stream.queue.append(item)
            self._cond.notify_all()
            return True

    def _run(self, stream: _Stream) -> None:
        log = _StreamPrefix(self.log, {"stream": stream.id})
        ctx = ReadContext(
            pause=lambda s: not stream.stop.wait(s) if s > 0 else not stream.stop.is_set(),
            stopped=stream.stop.is_set,
            count=lambda name, n=1: self._count(stream, name, n),
            log=log,
        )
        reason = "ended"
        items = stream.reader.items(ctx)
        try:
            for item in items:
                if not self._put(stream, item):
                    break
        except Exception as exc:  # gone for good: this stream ends, the others go on
            reason = str(exc) or type(exc).__name__
            log.error("ended: %s", reason)
        finally:
            items.close()
            try:
                stream.reader.close()
            except Exception:
                log.exception("closing the reader failed")
            with self._cond:
                if stream.reason is None:  # not removed meanwhile (its end is queued already)
                    stream.reason = "ended" if stream.stop.is_set() and reason == "ended" else reason
                    stream.queue.append(_END)
                    self._cond.notify_all()
