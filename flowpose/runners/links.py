"""Links: a buffer's messages to one reader in another process, over a pair of ZeroMQ sockets.

One link per (buffer, remote reader). The **sender** is just another reader of the local
:class:`~flowpose.engine.buffers.Buffer`: the buffer's writer calls :meth:`LinkSender.put` like it
calls ``Inbox.put`` for a local reader. When the link holds a credit the writer's own thread
sends at once (no hand-over to another thread: that wake-up was a third of a hop); otherwise
the message waits in a queue with the buffer's policy and size, so ``latest`` drops (oldest
first) and ``lossless`` makes the writer wait exactly as for a local reader, and a helper
thread sends it when a credit comes back. The **receiver** (:mod:`flowpose.runners.receiver`)
decodes what arrives and hands it to the reading node.

Flow control is by credit: the receiver grants a window with ``HELLO`` when it (re)connects
and acknowledges each message once it is in the reader's inbox. The sender sends only while
it holds a credit, so under ``latest`` the frame sent is the newest one at the moment the link
is free, and nothing queues without bound. Acknowledgements carry the sender's epoch and
sequence number; a ``HELLO`` resets the window, so either side can be restarted.

Wire, sender -> receiver: ``[prefix, *wire.encode(msg)]`` where the prefix is the sender's
epoch and sequence number, then the shared-memory slot (:mod:`flowpose.runners.shm`), if any.
Receiver -> sender: ``HELLO`` (window, reader epoch) or ``ACK`` (epoch, seq, then the sequence
numbers whose slots the reader released). Both ends are DEALER sockets (PAIR does not
reconnect); the sender binds, so its endpoint is stable, and the receiver connects. A socket is
used by one thread at a time, handed over under the sender's lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import zmq

from flowpose.engine.buffers import LOSSLESS, Buffer, QueueSpec, stale_index
from flowpose.frame import EndOfStream, Frame, Message
from flowpose.hosts.security import Curve
from flowpose.runners.protocol import (
    ACK,
    ACK_BODY,
    CONTROL_HWM,
    HELLO,
    HELLO_BODY,
    HWM,
    MAX_CONTROL_BYTES,
    MAX_PART_BYTES,
    PREFIX,
    SEQ,
    link_socket,
)
from flowpose.runners.shm_writer import SlotWriter
from flowpose.transport import BadMessageCounter, WireError, encode
from flowpose.transport.stop_pipe import StopPipe

log = logging.getLogger(__name__)


class LinkSender:
    """Sends one buffer to one remote reader (see module docs).

    Args:
        ctx: ZeroMQ context.
        buffer: The local buffer; the sender subscribes to it now.
        endpoint: Where to bind (``ipc://...`` or ``tcp://...``).
        reader: Name of the reading node (drops are attributed to it).
        stop: The process's stop pipe.
        shm: Send images through shared-memory slots (same host only).
        curve: Authenticate and encrypt (tcp links between hosts); this end is the server.
        queue: Policy and size of the sending queue (default: the buffer's own).
        on_socket: Called with the socket before it binds (to monitor it).
    """

    def __init__(
        self,
        ctx: zmq.Context,
        buffer: Buffer,
        endpoint: str,
        reader: str,
        stop: StopPipe,
        shm: bool = False,
        curve: Curve | None = None,
        queue: QueueSpec | None = None,
        on_socket: Callable[[zmq.Socket], None] | None = None,
    ) -> None:
        self.buffer, self.endpoint, self.reader, self._stop = buffer, endpoint, reader, stop
        self.spec = queue or buffer.spec
        self._lossless = self.spec.policy == LOSSLESS
        # Reentrant: Ctrl-C's handler closes links, maybe while its own thread is in flush().
        self._cond = threading.Condition(threading.RLock())
        self._pending: deque[Message] = deque()
        self._helper_owns = False  # the helper thread owns the socket (the writer queues instead)
        self._draining = False  # flush(): keep the helper until the last message is acknowledged
        self._closed = False
        # A ROUTER: a bound DEALER would deal frames round-robin to every connected client,
        # also to one that is being cut off (a lossless link then lost frames). Frames go to
        # the peer whose HELLO came last, and only its ACKs count.
        self._sock = link_socket(ctx, rcvhwm=CONTROL_HWM, sndhwm=HWM, max_part_bytes=MAX_CONTROL_BYTES, kind=zmq.ROUTER)
        self._peer: bytes | None = None
        if curve is not None:
            curve.server(self._sock)
        if on_socket is not None:
            on_socket(self._sock)
        try:
            self._sock.bind(endpoint)
        except zmq.ZMQError:
            self._sock.close(linger=0)
            raise
        self._slots = SlotWriter(endpoint) if shm else None
        self._epoch = time.time_ns()  # differs between restarts of the sending process
        self._seq = self._acked = self._window = 0
        self._reader_epoch: int | None = None
        self._queue_drops = 0
        self._bad = BadMessageCounter(f"link {buffer.name}->{reader} (encode)", log)
        self.thread = threading.Thread(target=self._main, name=f"flowpose:send:{buffer.name}->{reader}", daemon=True)
        buffer.subscribe(self, 0)  # type: ignore[arg-type]  # a reader like an Inbox: put(index, msg)

    @property
    def drops(self) -> int:
        """Messages dropped on this link's ``latest`` queue (and frames that cannot be encoded)."""
        return self._queue_drops + self._bad.total

    @property
    def delivered(self) -> bool:
        """Whether everything put so far was sent and acknowledged (a snapshot)."""
        return not self._pending and self._acked >= self._seq

    # -- the writer's side --------------------------------------------------------------------

    def put(self, index: int, msg: Message) -> bool:
        """Send ``msg`` now if the link holds a credit, else queue it by the policy (buffer side).

        Returns:
            False once the link is closed (the message is discarded).
        """
        with self._cond:
            if self._closed:
                return False
            if not self._helper_owns and not self._pending:
                self._read_control()
                if self._credit() and self._send(msg):
                    return True
            if not self._queue(msg):
                return False
            if not self._helper_owns:  # hand the socket to the helper, which waits for credits
                self._helper_owns = True
                self._cond.notify_all()
            return True

    def _queue(self, msg: Message) -> bool:
        pending = self._pending
        if isinstance(msg, EndOfStream):  # takes no room: it must not push out the last frame
            pending.append(msg)
            return True
        if self._lossless:
            while len(pending) >= self.spec.size and not self._closed:
                self._cond.wait()
            if self._closed:
                return False
        elif (stale := stale_index(pending, msg, self.spec.size)) is not None:
            del pending[stale]  # the oldest frame of msg's stream (latest is per stream)
            self._queue_drops += 1
        pending.append(msg)
        return True

    # -- the helper thread ----------------------------------------------------------------------

    def _main(self) -> None:
        poller = zmq.Poller()
        poller.register(self._sock, zmq.POLLIN)
        poller.register(self._stop, zmq.POLLIN)
        try:
            while True:
                with self._cond:
                    while not self._helper_owns and not self._closed:
                        self._cond.wait()
                    if self._closed:
                        return
                self._serve(poller)
        except Exception:
            log.exception("link %s -> %s failed", self.buffer.name, self.reader)
        finally:
            with self._cond:
                self._helper_owns = False  # so close() releases the socket from this thread
            self.close()

    def _serve(self, poller: zmq.Poller) -> None:
        """Own the socket: send what is queued as credits come; hand it back when done."""
        while True:
            with self._cond:
                self._read_control()
                blocked = False
                while self._pending and self._credit():
                    if not self._send(self._pending[0]):
                        blocked = True
                        break
                    self._pending.popleft()
                    self._cond.notify_all()  # room for a waiting lossless writer
                if not self._pending and not (self._draining and self._acked < self._seq):
                    self._helper_owns = self._draining = False
                    self._cond.notify_all()
                    return
            # Credits arrive as input; a full (or peerless) socket wants room to send.
            poller.modify(self._sock, zmq.POLLIN | (zmq.POLLOUT if blocked else 0))
            if self._stop.fileno() in dict(poller.poll()):
                with self._cond:
                    self._closed = True
                    self._cond.notify_all()
                return

    # -- socket work (under the lock, by the thread owning the socket) ----------------------------

    def _credit(self) -> bool:
        return self._seq - self._acked < self._window

    def _read_control(self) -> None:
        while True:
            try:
                message = self._sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if len(message) != 2:
                continue  # a client speaking another protocol
            peer, data = message
            kind, body = data[:1], memoryview(data)[1:]
            if kind == HELLO and len(body) == HELLO_BODY.size:
                self._peer = peer
                # A (re)started receiver: what was in flight to its predecessor is gone.
                self._window, epoch = HELLO_BODY.unpack_from(body)
                self._acked = self._seq
                if epoch != self._reader_epoch and self._slots is not None:
                    self._slots.reader_restarted()
                self._reader_epoch = epoch
            elif (
                kind == ACK
                and peer == self._peer
                and len(body) >= ACK_BODY.size
                and (len(body) - ACK_BODY.size) % SEQ.size == 0
            ):
                epoch, seq = ACK_BODY.unpack_from(body)
                if epoch != self._epoch:
                    continue  # meant for an earlier process of this node
                self._acked = max(self._acked, min(seq + 1, self._seq))
                if self._slots is not None:
                    for (released,) in SEQ.iter_unpack(body[ACK_BODY.size :]):
                        self._slots.release(released)

    def _send(self, msg: Message) -> bool:
        """Send one message; False when the socket cannot take it now."""
        slot = b""
        try:
            if self._slots is not None and isinstance(msg, Frame):
                slot, parts = self._slots.put(msg, self._seq)
            else:
                parts = encode(msg)
            too_big = max(memoryview(part).nbytes for part in parts)
            if too_big > MAX_PART_BYTES:
                raise WireError("schema", f"a {too_big}-byte part is over the links' {MAX_PART_BYTES}-byte limit")
        except WireError as error:
            self._bad.record(error)  # a frame this link cannot ship; counted as a drop
            return True
        if self._peer is None:
            if slot and self._slots is not None:
                self._slots.release(self._seq)
            return False
        try:
            self._sock.send_multipart(
                [self._peer, PREFIX.pack(self._epoch, self._seq) + slot, *parts], zmq.NOBLOCK, copy=False
            )
        except zmq.ZMQError as exc:  # zmq.Again is one, with EAGAIN
            if exc.errno not in (zmq.EAGAIN, zmq.EHOSTUNREACH):
                raise
            # The queue towards the reader is full (ZeroMQ counts what was read only every few
            # messages), or the reader went away (its successor says HELLO): try again later.
            if slot and self._slots is not None:
                self._slots.release(self._seq)
            return False
        self._seq += 1
        return True

    # -- ending -------------------------------------------------------------------------------

    def flush(self) -> bool:
        """Wait until everything queued was sent and acknowledged (end of stream included).

        Returns:
            True when it was, False when the link stopped first.
        """
        with self._cond:
            if self._closed:
                return False
            if self._acked < self._seq or self._pending:
                self._draining = True
                self._helper_owns = True
                self._cond.notify_all()
            while (self._helper_owns or self._pending) and not self._closed:
                self._cond.wait()
            return not self._closed

    def close(self) -> None:
        """Stop sending and release the socket and the slots (idempotent; any thread)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            if self._sock.closed or (self._helper_owns and self.thread.is_alive()):
                return  # the helper is polling it; it closes it on its way out
            self._sock.close(linger=0)
            if self._slots is not None:
                self._slots.close()
