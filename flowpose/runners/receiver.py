"""The receiving end of a link: a reader of its socket, and the two ways a node is fed from it.

* :class:`LinkInbox` — a node whose only input is a link reads the socket **in its own
  thread**: ``get()`` polls the socket, decodes and returns. No receiver thread, no condition
  variable between them: one wake-up per hop fewer.
* :class:`LinkReceiver` — for nodes with several inputs (joins, feedback, a link beside a
  local buffer): a thread that puts what arrives into the node's :class:`~flowpose.engine.buffers.Inbox`.

Both use a :class:`LinkReader`, which owns the socket: ``HELLO`` when (re)connected, decoding,
shared-memory views (:mod:`flowpose.runners.shm`), acknowledgements carrying released slots,
and bad messages dropped and counted (logged once per kind).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import zmq
from zmq.utils.monitor import recv_monitor_message

from flowpose.engine.buffers import LATEST, TIMED_OUT, Inbox, QueueSpec, TimedOut, stale_index
from flowpose.frame import Frame, Message
from flowpose.hosts.security import HANDSHAKE_FAILED, Curve, describe_handshake_failure
from flowpose.runners.protocol import (
    ACK,
    ACK_BODY,
    CONTROL_HWM,
    HELLO,
    HELLO_BODY,
    HWM,
    LINK_WINDOW,
    MAX_PART_BYTES,
    PREFIX,
    SEQ,
    link_socket,
)
from flowpose.runners.shm import SlotReader
from flowpose.transport import BadMessageCounter, WireError
from flowpose.transport.stop_pipe import StopPipe

log = logging.getLogger(__name__)


class LinkReader:
    """Owns the receiving socket of one link; used by one thread at a time.

    Args:
        ctx: ZeroMQ context.
        endpoint: The sender's endpoint (to connect to).
        window: Credits to grant (at most :data:`~flowpose.runners.protocol.LINK_WINDOW`).
        label: For log messages, e.g. ``"pose input detections"``.
        on_bad: Called once per bad message (to count it in the node's stats).
        curve: Authenticate and encrypt, trusting ``curve_server``'s key (tcp links between hosts).
        curve_server: The host the sender runs on.
        max_part_bytes: Largest message part accepted (``protocol.MAX_PART_BYTES``); libzmq
            disconnects a sender announcing a larger one before reading it.
    """

    def __init__(
        self,
        ctx: zmq.Context,
        endpoint: str,
        window: int,
        label: str,
        on_bad: Callable[[], None],
        curve: Curve | None = None,
        curve_server: str = "",
        max_part_bytes: int = MAX_PART_BYTES,
    ) -> None:
        self.endpoint, self.label, self._on_bad = endpoint, label, on_bad
        self.sock = link_socket(ctx, rcvhwm=HWM, sndhwm=CONTROL_HWM, max_part_bytes=max_part_bytes)
        if curve is not None:
            curve.client(self.sock, curve_server)
        # A HELLO after every (re)connection: a restarted sender starts with no credit at all.
        # The monitor must exist before connect(), or the first connection may go unseen.
        self.monitor = self.sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED | HANDSHAKE_FAILED)
        self.sock.connect(endpoint)
        self.bad = BadMessageCounter(label, log)
        self._released: deque[tuple[int, int]] = deque()  # (sender epoch, seq), from any thread
        self._slots = SlotReader(self._released_from(0))
        self._epoch = 0  # the sender's, from its latest message
        self._hello = HELLO + HELLO_BODY.pack(min(window, LINK_WINDOW), time.time_ns())
        self._failures: set[int] = set()
        self.connected = False

    def _released_from(self, epoch: int) -> Callable[[int], None]:
        released = self._released
        return lambda seq: released.append((epoch, seq))

    def on_monitor(self) -> None:
        """Handle one monitor event: say HELLO once connected; log a failed handshake once."""
        event = recv_monitor_message(self.monitor)
        if event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            self.connected = True
            self._send(self._hello)
        elif event["event"] & HANDSHAKE_FAILED and event["event"] not in self._failures:
            self._failures.add(event["event"])
            why = describe_handshake_failure(event)
            log.warning("link %s: cannot connect to %s: %s", self.label, self.endpoint, why)

    def read(self) -> tuple[Message | None, int, int] | None:
        """One message if one is waiting: ``(message or None when bad, epoch, seq)``; else None.

        A bad message that is not even from one of our senders (no prefix) is skipped.
        """
        while True:
            try:
                parts = self.sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return None
            prefix = parts[0].bytes
            if len(parts) < 2 or len(prefix) < PREFIX.size:
                self._reject(WireError("parts", f"link message needs a {PREFIX.size}-byte prefix and a header"))
                continue  # nothing to acknowledge: it is not from a sender of ours
            epoch, seq = PREFIX.unpack_from(prefix)
            if epoch != self._epoch:  # a new sender process: releases go to it from now on
                self._epoch = epoch
                self._slots.on_release = self._released_from(epoch)
            msg = self.bad.decode(parts[1:])
            if len(prefix) > PREFIX.size and msg is not None:
                if isinstance(msg, Frame) and len(parts) == 2:  # the image is in a slot, not inline
                    msg = self._slots.fill(msg, prefix[PREFIX.size :], seq, self.bad)
                else:
                    msg = None
                    self.bad.record(WireError("parts", "slot info on a message that has no image to fill"))
            if msg is None:
                self._on_bad()
            return msg, epoch, seq

    def ack(self, epoch: int, seq: int) -> None:
        """Acknowledge message ``seq``, and hand back the slots released since the last time."""
        released = []
        while self._released:
            released_epoch, released_seq = self._released.popleft()
            if released_epoch == epoch:  # slots of an earlier sender process went with it
                released.append(SEQ.pack(released_seq))
        self._send(b"".join([ACK, ACK_BODY.pack(epoch, seq), *released]))

    def _send(self, data: bytes) -> None:
        with contextlib.suppress(zmq.Again):  # the sender is gone; it gets a HELLO when it is back
            self.sock.send(data, zmq.NOBLOCK)

    def _reject(self, error: WireError) -> None:
        self.bad.record(error)
        self._on_bad()

    def close(self) -> None:
        """Close the sockets (by the thread that used them last)."""
        self.sock.disable_monitor()
        self.monitor.close(linger=0)
        self.sock.close(linger=0)
        self._slots.close()


class LinkReceiver:
    """A thread that puts one link's messages into input ``index`` of ``inbox``.

    Args:
        reader: The link's reading end.
        inbox: The reading node's inbox.
        index: Which input of that inbox.
        stop: The process's stop pipe.
    """

    def __init__(self, reader: LinkReader, inbox: Inbox, index: int, stop: StopPipe) -> None:
        self.reader, self.inbox, self.index, self._stop = reader, inbox, index, stop
        self.bad = reader.bad
        self.thread = threading.Thread(target=self._main, name=f"flowpose:recv:{reader.label}", daemon=True)

    def _main(self) -> None:
        reader = self.reader
        poller = zmq.Poller()
        poller.register(reader.sock, zmq.POLLIN)
        poller.register(reader.monitor, zmq.POLLIN)
        poller.register(self._stop, zmq.POLLIN)
        try:
            while True:
                events = dict(poller.poll())
                if self._stop.fileno() in events:
                    return
                if reader.monitor in events:
                    reader.on_monitor()
                while (got := reader.read()) is not None:
                    msg, epoch, seq = got
                    if msg is not None and not self.inbox.put(self.index, msg):
                        return  # the node is gone
                    reader.ack(epoch, seq)
        except Exception:
            log.exception("link receiver %s failed", reader.endpoint)
        finally:
            reader.close()


class LinkInbox(Inbox):
    """The inbox of a node whose one input is a link: ``get()`` reads the socket itself.

    The socket's queue (at most the credit window) stands in for the inbox queue: a message
    is acknowledged when ``get()`` takes it, so ``lossless`` holds; under ``latest`` every
    waiting message is taken at once and only the newest ``size`` are kept, oldest dropped and
    counted, so a stale frame is never delivered after a newer one arrived.

    Args:
        spec: The input's policy and size.
        reader: The link's reading end (this inbox's thread becomes its owner).
    """

    def __init__(self, spec: QueueSpec, reader: LinkReader) -> None:
        super().__init__([spec])
        self.reader = reader
        self._latest = spec.policy == LATEST
        self._local: deque[Message] = deque()
        self._close_pipe = StopPipe()
        self._poller = zmq.Poller()
        self._poller.register(reader.sock, zmq.POLLIN)
        self._poller.register(reader.monitor, zmq.POLLIN)
        self._poller.register(self._close_pipe, zmq.POLLIN)
        self.owner: threading.Thread | None = None  # the thread that read the socket last

    def get(self, timeout: float | None = None) -> tuple[int, Message] | TimedOut | None:
        """The next message of the link, waiting at most ``timeout`` s (then :data:`TIMED_OUT`); None once closed."""
        self.owner = threading.current_thread()
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._close_pipe.is_set:
            # Under `latest`, what waits in the socket first pushes out what is stale here.
            if (self._latest or not self._local) and self._take():
                continue
            if self._local:
                return 0, self._local.popleft()
            if deadline is None:
                events = dict(self._poller.poll())
            else:
                left_ms = (deadline - time.monotonic()) * 1e3
                if left_ms <= 0:
                    return TIMED_OUT
                events = dict(self._poller.poll(max(1, int(left_ms))))
            if self.reader.monitor in events:
                self.reader.on_monitor()
        return None

    def _take(self) -> bool:
        """Move what the socket holds to the local queue (all of it under ``latest``)."""
        took = False
        while (got := self.reader.read()) is not None:
            msg, epoch, seq = got
            self.reader.ack(epoch, seq)
            if msg is None:
                continue
            took = True
            self.received[0] += 1
            if self._latest and (stale := stale_index(self._local, msg, self.specs[0].size)) is not None:
                del self._local[stale]  # the oldest frame of msg's stream (latest is per stream)
                self.drops[0] += 1
            self._local.append(msg)
            if not self._latest:
                break  # lossless: one at a time, the rest stays in the socket's queue
        return took

    def put(self, index: int, msg: Message) -> bool:
        raise TypeError("a LinkInbox is fed by its link only")

    def close(self) -> None:
        """Make ``get()`` return None (from any thread). Idempotent."""
        self._closed = True
        self._close_pipe.set()

    @property
    def closed(self) -> bool:
        return self._close_pipe.is_set

    def depth(self) -> int:
        return len(self._local)

    def release(self) -> None:
        """Close the socket (after the owning thread is done with it) and the pipe."""
        self.reader.close()
        self._close_pipe.close()
