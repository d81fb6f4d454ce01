"""A source node that holds many streams and lets them be listed, added, paused and removed.

:class:`MultiStreamSource` is the part Camera (``sources:``) and SyntheticScene
(``streams:``) share: it opens the streams in ``setup()`` (a stream that cannot open is an
error naming it), merges their frames fairly in ``frames()``, yields an
:class:`~flowpose.frame.EndOfStream` for each stream that ends alone, and implements
:class:`~flowpose.streams.StreamControl` (registered while the node runs) for ``flowpose serve``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from flowpose.frame import EndOfStream, Frame
from flowpose.node import Source
from flowpose.nodes.camera_capture import CaptureError
from flowpose.nodes.stream_factory import StreamFactory
from flowpose.nodes.stream_ids import check_id
from flowpose.nodes.stream_set import StreamEnded, StreamSet
from flowpose.streams import StreamError, StreamInfo, register, unregister

#: How long frames() waits for an item at a time; bounds how late it notices a stop.
TAKE_WAIT_S = 0.1


class MultiStreamSource(Source):
    """Base of source nodes with many streams, each read in its own thread (see the module docstring).

    A subclass calls :meth:`start_streams` in ``setup()`` (only when it runs as a
    multi-stream node), yields from :meth:`stream_frames` in ``frames()`` and calls
    :meth:`stop_streams` in ``close()``.
    """

    _streams: StreamSet | None = None
    _factory: StreamFactory | None = None
    _keep_open = False
    _added = 0  # streams added so far: the next default id's number

    def start_streams(self, pairs: list[tuple[str, Any]], factory: StreamFactory, keep_open: bool) -> None:
        """Open every ``(id, source)`` and start reading them; then register for control.

        Raises:
            CaptureError: A stream cannot be opened; the message names it (the others are closed).
        """
        self._factory, self._keep_open = factory, keep_open
        self._add_lock = threading.Lock()
        streams = self._streams = StreamSet(self.name, self.log, self.counters)
        for stream_id, source in pairs:
            try:
                reader = factory.open(source)
            except (CaptureError, ValueError) as exc:
                streams.close()
                self._streams = None
                raise CaptureError(f"stream {stream_id!r} ({source}): {exc}") from None
            streams.add(stream_id, reader)
            self._added += 1
        self.log.info("reading %d stream(s): %s", len(pairs), ", ".join(i for i, _ in pairs) or "none yet")
        register(self)

    def stop_streams(self) -> None:
        """Unregister and stop every stream's reader."""
        unregister(self)
        if self._streams is not None:
            self._streams.close()
            self._streams = None

    def stream_frames(self) -> Iterator[Frame | EndOfStream]:
        """Frames of all streams as they come, fairly; an EndOfStream for each stream that ends.

        Returns once every stream has ended, unless ``keep_open`` (then only when the graph stops).
        """
        streams = self._streams
        assert streams is not None, "stream_frames() before start_streams()"
        while not self.stopping.is_set():
            got = streams.take(TAKE_WAIT_S)
            if got is None:
                if not self._keep_open and streams.open_streams == 0:
                    return
                continue
            if isinstance(got, StreamEnded):
                left = streams.open_streams
                self.log.info("stream %s ended (%s); %d stream(s) still open", got.stream, got.reason, left)
                yield EndOfStream(self.name, got.stream)
                continue
            stream_id, item = got
            yield self.make_frame(
                item.image, instances=item.instances, meta=item.meta, capture_ns=item.capture_ns, source=stream_id
            )

    # --- StreamControl ---------------------------------------------------------------------

    def _running(self) -> StreamSet:
        if self._streams is None:
            raise StreamError(f"{self.name} is not running its streams (not set up, or closed)", 409)
        return self._streams

    def list_streams(self) -> list[StreamInfo]:
        return self._running().infos()

    def add_stream(self, source: Any, stream_id: str | None = None) -> StreamInfo:
        streams = self._running()
        assert self._factory is not None
        with self._add_lock:  # one add at a time: default ids are handed out in order
            if stream_id is None:
                taken = {info.id for info in streams.infos() if info.state != "ended"}
                while f"{self.name}{self._added}" in taken:
                    self._added += 1
                stream_id = f"{self.name}{self._added}"
            else:
                try:
                    check_id(stream_id)
                except ValueError as exc:
                    raise StreamError(str(exc), 400) from None
            try:
                reader = self._factory.open(source)
            except (CaptureError, ValueError) as exc:
                raise StreamError(f"cannot add stream {stream_id!r}: {exc}", 400) from None
            info = streams.add(stream_id, reader)
            self._added += 1
        self.log.info("stream %s added: %s", stream_id, info.source)
        return info

    def remove_stream(self, stream_id: str) -> None:
        self._running().remove(stream_id)

    def pause_stream(self, stream_id: str, paused: bool) -> StreamInfo:
        info = self._running().pause(stream_id, paused)
        self.log.info("stream %s %s", stream_id, "paused" if paused else "resumed")
        return info
