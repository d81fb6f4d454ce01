"""Links: a buffer's messages to one reader in another process, over a pair of ZeroMQ sockets.

One link per (buffer, remote reader). The **sender** is just another reader of the local
:class:`~flowpose.buffers.Buffer`: it owns an :class:`~flowpose.buffers.Inbox` subscribed to it
with the buffer's policy and size, so ``latest`` drops (oldest first) happen there when the
link is busy and ``lossless`` makes the writer wait there — exactly as for a local reader.
The **receiver** decodes what arrives and puts it into the reading node's inbox.

Flow control is by credit: the receiver grants a window with ``HELLO`` when it (re)connects
and acknowledges each message once it is in the reader's inbox (for ``lossless`` that put
waits for room, so the acknowledgement waits too). The sender takes a message from its inbox
only when it holds a credit, so the newest frame is picked at the moment the link is free and
nothing queues without bound. Acknowledgements carry the sender's epoch and sequence number;
a ``HELLO`` resets the window, so either side can be restarted and the other carries on.

Wire: sender -> receiver ``[prefix, *wire.encode(msg)]``; receiver -> sender ``HELLO`` or
``ACK``. Both ends are DEALER sockets (PAIR does not reconnect); the sender binds, so its
endpoint is stable, and the receiver connects. Each socket is used by its own thread only.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import time
from collections.abc import Callable

import zmq
from zmq.utils.monitor import recv_monitor_message

from flowpose.buffers import Buffer, Inbox
from flowpose.frame import EndOfStream, Frame, Message
from flowpose.runners.shm import SlotReader, SlotWriter
from flowpose.transport import BadMessageCounter, WireError, encode

log = logging.getLogger(__name__)

LINK_WINDOW = 4  # credits at most: bounds what is in flight whatever the buffer size
HWM = 4  # socket high-water marks; credits keep us below them, HWM is the safety net
PREFIX = struct.Struct("<QQ")  # sender epoch, sequence number; then the shared-memory slot info, if any
HELLO, ACK = b"H", b"A"
_HELLO = struct.Struct("<I")
_ACK = struct.Struct("<QQ")


class StopPipe:
    """A level-triggered stop signal that pollers can wait on (a pipe nobody reads)."""

    def __init__(self) -> None:
        self._r, self._w = os.pipe()
        self.is_set = False

    def fileno(self) -> int:
        """The read end, readable once :meth:`set` was called."""
        return self._r

    def set(self) -> None:
        """Wake every poller that includes this pipe, now and later."""
        if not self.is_set:
            self.is_set = True
            os.write(self._w, b"x")

    def close(self) -> None:
        """Release the file descriptors."""
        os.close(self._r)
        os.close(self._w)


def _socket(ctx: zmq.Context) -> zmq.Socket:
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.SNDHWM, HWM)
    sock.setsockopt(zmq.RCVHWM, HWM)
    sock.setsockopt(zmq.LINGER, 0)  # frames of a stopping graph are not worth waiting for
    return sock


class LinkSender:
    """Sends one buffer to one remote reader (see module docs).

    Args:
        ctx: ZeroMQ context.
        buffer: The local buffer; the sender subscribes to it now.
        endpoint: Where to bind (``ipc://...`` or ``tcp://...``).
        reader: Name of the reading node (drops are attributed to it).
        stop: The process's stop pipe.
        shm: Send images through shared-memory slots (same host only).
    """

    def __init__(
        self, ctx: zmq.Context, buffer: Buffer, endpoint: str, reader: str, stop: StopPipe, shm: bool = False
    ) -> None:
        self.buffer, self.endpoint, self.reader, self._stop = buffer, endpoint, reader, stop
        self.inbox = Inbox([buffer.spec])
        buffer.subscribe(self.inbox, 0)
        self._sock = _socket(ctx)
        self._sock.bind(endpoint)
        self._slots = SlotWriter(endpoint) if shm else None
        self._epoch = time.time_ns()  # differs between restarts of the sending process
        self._seq = self._acked = self._window = 0
        self._bad = BadMessageCounter(f"link {buffer.name}->{reader} (encode)", log)
        self.thread = threading.Thread(target=self._main, name=f"flowpose:send:{buffer.name}->{reader}", daemon=True)

    @property
    def drops(self) -> int:
        """Messages dropped on this link's ``latest`` queue (and frames that cannot be encoded)."""
        return self.inbox.drops[0] + self._bad.total

    def _main(self) -> None:
        poller = zmq.Poller()
        poller.register(self._sock, zmq.POLLIN)
        poller.register(self._stop, zmq.POLLIN)
        try:
            while self._wait(poller, lambda: self._seq - self._acked < self._window):
                item = self.inbox.get()
                if item is None:
                    return
                msg = item[1]
                if not self._send(msg, poller):
                    return
                if isinstance(msg, EndOfStream):  # the last message: make sure it arrived
                    self._wait(poller, lambda: self._acked >= self._seq)
                    return
        except Exception:
            log.exception("link %s -> %s failed", self.buffer.name, self.reader)
        finally:
            self._sock.close(linger=0)
            if self._slots is not None:
                self._slots.close()

    def _wait(self, poller: zmq.Poller, ready: Callable[[], bool]) -> bool:
        """Handle credits until ``ready()``; False when stopping."""
        while not ready():
            events = dict(poller.poll())
            if self._stop.fileno() in events:
                return False
            if self._sock in events:
                self._read_credits()
        return not self._stop.is_set

    def _read_credits(self) -> None:
        while True:
            try:
                data = self._sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            if data[:1] == HELLO and len(data) == 1 + _HELLO.size:
                # A (re)started receiver: what was in flight to its predecessor is gone.
                self._window = _HELLO.unpack_from(data, 1)[0]
                self._acked = self._seq
            elif data[:1] == ACK and len(data) == 1 + _ACK.size:
                epoch, seq = _ACK.unpack_from(data, 1)
                if epoch == self._epoch:
                    self._acked = max(self._acked, seq + 1)

    def _send(self, msg: Message, poller: zmq.Poller) -> bool:
        slot = b""
        try:
            if self._slots is not None and isinstance(msg, Frame):
                slot, parts = self._slots.put(msg, self._seq)
            else:
                parts = encode(msg)
        except WireError as error:
            self._bad.record(error)  # a frame this node cannot ship; counted as a drop
            return True
        prefix = PREFIX.pack(self._epoch, self._seq) + slot
        while True:
            try:
                self._sock.send_multipart([prefix, *parts], flags=zmq.NOBLOCK, copy=False)
                break
            except zmq.Again:  # no receiver connected (yet, or any more): wait for one
                out = zmq.Poller()
                out.register(self._sock, zmq.POLLOUT)
                out.register(self._stop, zmq.POLLIN)
                if self._stop.fileno() in dict(out.poll()):
                    return False
        self._seq += 1
        return True


class LinkReceiver:
    """Receives one link and puts its messages into input ``index`` of ``inbox``.

    Args:
        ctx: ZeroMQ context.
        endpoint: The sender's endpoint (to connect to).
        inbox: The reading node's inbox.
        index: Which input of that inbox.
        label: For log messages, e.g. ``"pose input detections"``.
        stop: The process's stop pipe.
        on_bad: Called once per bad message (to count it in the node's stats).
    """

    def __init__(
        self,
        ctx: zmq.Context,
        endpoint: str,
        inbox: Inbox,
        index: int,
        label: str,
        stop: StopPipe,
        on_bad: Callable[[], None],
    ) -> None:
        self.endpoint, self.inbox, self.index, self._stop, self._on_bad = endpoint, inbox, index, stop, on_bad
        self._sock = _socket(ctx)
        # A HELLO on every (re)connection: a restarted sender starts with no credit at all.
        # The monitor must exist before connect(), or the first connection may go unseen.
        self._monitor = self._sock.get_monitor_socket(zmq.EVENT_CONNECTED)
        self._sock.connect(endpoint)
        self.bad = BadMessageCounter(label, log)
        self._slots = SlotReader()
        window = min(inbox.specs[index].size, LINK_WINDOW)
        self._hello = HELLO + _HELLO.pack(window)
        self.thread = threading.Thread(target=self._main, name=f"flowpose:recv:{label}", daemon=True)

    def _main(self) -> None:
        monitor = self._monitor
        poller = zmq.Poller()
        poller.register(self._sock, zmq.POLLIN)
        poller.register(monitor, zmq.POLLIN)
        poller.register(self._stop, zmq.POLLIN)
        try:
            while True:
                events = dict(poller.poll())
                if self._stop.fileno() in events:
                    return
                if monitor in events and recv_monitor_message(monitor)["event"] == zmq.EVENT_CONNECTED:
                    self._sock.send(self._hello)
                if self._sock in events and not self._handle(self._sock.recv_multipart(copy=False)):
                    return
        except Exception:
            log.exception("link receiver %s failed", self.endpoint)
        finally:
            self._sock.disable_monitor()
            monitor.close(linger=0)
            self._sock.close(linger=0)
            self._slots.close()

    def _handle(self, parts: list[zmq.Frame]) -> bool:
        prefix = parts[0].bytes
        if len(parts) < 2 or len(prefix) < PREFIX.size:
            self._reject(WireError("parts", f"link message needs a {PREFIX.size}-byte prefix and a header"))
            return True  # nothing to acknowledge: it is not from a sender of ours
        epoch, seq = PREFIX.unpack_from(prefix)
        msg = self.bad.decode(parts[1:])
        if len(prefix) > PREFIX.size and msg is not None:
            if isinstance(msg, Frame) and len(parts) == 2:  # the image is in a slot, not inline
                msg = self._slots.fill(msg, prefix[PREFIX.size :], seq, self.bad)
            else:
                msg = None
                self.bad.record(WireError("parts", "slot info on a message that has no image to fill"))
        if msg is None:
            self._on_bad()
        elif not self.inbox.put(self.index, msg):
            return False  # the node is gone
        self._sock.send(ACK + _ACK.pack(epoch, seq))
        return True

    def _reject(self, error: WireError) -> None:
        self.bad.record(error)
        self._on_bad()
