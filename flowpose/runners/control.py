"""The control channel from child processes to the parent: stats, spans, failures, goodbyes.

Every child connects a PUSH socket to the parent's one PULL socket; messages are msgpack
maps (no pickle) with ``kind`` and ``node``:

* ``stats`` — ``snap`` (a :class:`~flowpose.engine.stats.NodeSnapshot` as a dict), ``link_drops``
  (drops on the child's sending queues, per reading node), ``written`` (per output buffer),
  ``next_id`` (a source's next frame id, so a restarted source continues it), ``spans``
  (trace spans since the last report). Sent every :data:`REPORT_PERIOD_S` and at the end.
* ``failure`` — the node gave up: ``type``, ``error``, ``traceback``.
* ``stop_graph`` — the node raised :class:`~flowpose.node.StopGraph`: ``code``.
* ``bye`` — the last message of a child that ends in an orderly way.

The parent talks to a child through its stdin instead (the configuration, then ``stop``),
because a pipe also tells the child when the parent is gone (end of file).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import msgpack
import zmq

from flowpose.transport.stop_pipe import StopPipe

log = logging.getLogger(__name__)

REPORT_PERIOD_S = 0.5
MAX_CONTROL_BYTES = 64 << 20  # a final report with many trace spans is large, but bounded


def pack(message: dict[str, Any]) -> bytes:
    """Encode a control message."""
    return msgpack.packb(message, use_bin_type=True)


class ControlClient:
    """The child's end: a PUSH socket shared (under a lock) by the worker and the reporter.

    Args:
        endpoint: The parent's control endpoint.
        node: This child's node name (added to every message).
    """

    def __init__(self, endpoint: str, node: str) -> None:
        self.node = node
        # A context of its own: terminating it is what waits for the last messages to leave
        # (closing a socket returns at once), and the links' sockets must not hold that up.
        self._ctx = zmq.Context()
        self._sock = self._ctx.socket(zmq.PUSH)
        self._sock.setsockopt(zmq.LINGER, 2000)  # the final report must leave before we exit
        self._sock.connect(endpoint)
        self._lock = threading.Lock()

    def send(self, kind: str, **fields: Any) -> None:
        """Send one message (from any thread)."""
        data = pack({"kind": kind, "node": self.node, **fields})
        with self._lock:
            self._sock.send(data)

    def close(self) -> None:
        """Flush (up to the linger time) and close."""
        with self._lock:
            self._sock.close()
            self._ctx.term()


class ControlServer:
    """The parent's end: one PULL socket and a thread dispatching messages by node name.

    Args:
        endpoint: Where to bind.
        handlers: Node name -> function taking a decoded message.
    """

    def __init__(self, endpoint: str, handlers: dict[str, Callable[[dict[str, Any]], None]]) -> None:
        self.endpoint, self.handlers = endpoint, handlers
        self._sock = zmq.Context.instance().socket(zmq.PULL)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.setsockopt(zmq.MAXMSGSIZE, MAX_CONTROL_BYTES)
        self._sock.bind(endpoint)
        self._stop = StopPipe()
        self._warned: set[str] = set()
        self._thread = threading.Thread(target=self._main, name="flowpose:control", daemon=True)

    def start(self) -> None:
        """Start dispatching."""
        self._thread.start()

    def _main(self) -> None:
        poller = zmq.Poller()
        poller.register(self._sock, zmq.POLLIN)
        poller.register(self._stop, zmq.POLLIN)
        try:
            while self._stop.fileno() not in dict(poller.poll()):
                self._dispatch(self._sock.recv())
        finally:
            self._sock.close(linger=0)

    def _dispatch(self, data: bytes) -> None:
        try:
            message = msgpack.unpackb(data, raw=False, strict_map_key=True)
            handler = self.handlers[message["node"]]
        except Exception as exc:  # a stray peer must not take supervision down
            if "bad" not in self._warned:
                self._warned.add("bad")
                log.warning("ignoring a bad control message (%s: %s)", type(exc).__name__, exc)
            return
        try:
            handler(message)
        except Exception:
            log.exception("handling a control message of %r failed", message.get("node"))

    def stop(self) -> None:
        """Stop dispatching and close the socket."""
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(2.0)
        else:
            self._sock.close(linger=0)  # never started (the graph failed to build)
        self._stop.close()
