"""The Publisher node: publishes each frame's results on a ZeroMQ PUB socket.

Message layout (multipart)::

    [topic, header]           results only (the default)
    [topic, header, image]    with include_image: true

``topic`` is the frame's source name (UTF-8), so a subscriber can pick sources with
``setsockopt(zmq.SUBSCRIBE, b"camera")`` (a prefix match); the rest is exactly the
:mod:`flowpose.transport.wire` format, so ``wire.decode(parts[1:])`` rebuilds the frame.
Without the image, the decoded frame carries a zero-cost all-zero placeholder of the right
shape. At the end one end-of-stream message per source seen is published.

A PUB socket never blocks: a subscriber that falls ``sndhwm`` messages behind loses
messages (counted as ``dropped`` in the node's stats, as far as ZeroMQ reports it).
"""

from __future__ import annotations

import zmq
from pydantic import Field

from flowpose.frame import EndOfStream, Frame
from flowpose.node import Node, NodeParams
from flowpose.transport import encode

# Sending the end-of-stream markers is best-effort: a bounded wait for them at close, so a
# missing subscriber cannot delay the graph's exit (the socket's own LINGER is 0).
EOS_LINGER_MS = 100


class Publisher(Node):
    """Publishes per-frame results (msgpack, topic = source name) on a ZeroMQ PUB socket."""

    class Params(NodeParams):
        address: str = Field(
            "tcp://127.0.0.1:5560", description="Address to bind, e.g. tcp://0.0.0.0:5560 or ipc://..."
        )
        include_image: bool = Field(False, description="Also send the image as a raw extra part (large!).")
        sndhwm: int = Field(
            4, ge=1, le=10_000, description="Messages queued per subscriber before new ones are dropped."
        )

    def setup(self) -> None:
        self._sources: set[str] = set()
        self._socket = zmq.Context.instance().socket(zmq.PUB)
        self._socket.setsockopt(zmq.SNDHWM, self.params.sndhwm)
        self._socket.setsockopt(zmq.LINGER, 0)  # never hold the exit for a slow or gone subscriber
        try:
            self._socket.bind(self.params.address)
        except zmq.ZMQError as exc:
            self._socket.close()
            raise RuntimeError(f"cannot bind {self.params.address}: {exc}") from exc
        # For tcp://*:0 style addresses the real port is only known now.
        self.endpoint = self._socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self.log.info("publishing on %s", self.endpoint)

    def process(self, frame: Frame) -> None:
        parts = encode(frame, include_image=self.params.include_image)
        self._send([frame.source.encode(), *parts], copy=len(parts) == 1)
        self._sources.add(frame.source)
        return None

    def _send(self, parts: list[bytes | memoryview], copy: bool) -> None:
        try:
            # Small headers are cheaper copied; the image part goes zero-copy.
            self._socket.send_multipart(parts, flags=zmq.NOBLOCK, copy=copy)
            self.counters["published"] += 1
        except zmq.Again:  # only if no subscriber pipe accepts it; PUB usually drops silently
            self.counters["dropped"] += 1

    def close(self) -> None:
        socket = getattr(self, "_socket", None)
        if socket is None or socket.closed:
            return
        for source in sorted(self._sources):
            self._send([source.encode(), *encode(EndOfStream(source))], copy=True)
        socket.close(linger=EOS_LINGER_MS if self._sources else 0)
