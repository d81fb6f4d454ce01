"""All the link ends living in one process, started and stopped together."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import Counter
from dataclasses import dataclass

import zmq

from flowpose.engine.buffers import LATEST, Buffer, Inbox, QueueSpec
from flowpose.engine.stats import NodeStats
from flowpose.hosts.security import Curve, HandshakeWatch
from flowpose.runners.links import LinkSender
from flowpose.runners.protocol import LINK_WINDOW
from flowpose.runners.receiver import LinkInbox, LinkReader, LinkReceiver
from flowpose.runners.shm import shm_available
from flowpose.transport.stop_pipe import StopPipe

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkSpec:
    """One link of the graph: buffer ``buffer`` from ``writer`` to input ``index`` of ``reader``.

    Attributes:
        buffer: Buffer name.
        writer: Writing node.
        reader: Reading node.
        index: Which input of the reader the buffer is (feedback buffers follow the inputs).
        endpoint: ZeroMQ endpoint the receiver connects to (and the sender binds, unless ``bind``).
        bind: Where the sender binds when that differs from ``endpoint`` (a host's ``bind``).
        writer_host: For a link between hosts, the writer's host (its key secures the link).
        feedback: The reader reads the buffer as feedback: never block the writer for it.
    """

    buffer: str
    writer: str
    reader: str
    index: int
    endpoint: str
    bind: str = ""
    writer_host: str = ""
    feedback: bool = False

    def to_json(self) -> dict[str, object]:
        """As plain data for a child's configuration."""
        return dataclasses.asdict(self)


class LinkSet:
    """The senders and receivers of one process.

    Args:
        shm: Send images of same-host (``ipc://``) links through shared-memory slots.
        curve: This host's CurveZMQ keys, to secure links between hosts (None: plain).
    """

    def __init__(self, shm: bool = True, curve: Curve | None = None) -> None:
        self.ctx = zmq.Context.instance()
        self.stop_pipe = StopPipe()
        self.shm = shm and shm_available()
        self.curve = curve
        self.senders: list[LinkSender] = []
        self.receivers: list[LinkReceiver] = []
        self.inboxes: list[LinkInbox] = []
        self._watch = HandshakeWatch()
        self._bad_lock = threading.Lock()
        # Feedback readers are never waited for, not even at the end: the reader may be gone.
        self._feedback_senders: set[int] = set()

    def add_sender(self, link: LinkSpec, buffer: Buffer) -> LinkSender:
        """Send ``buffer`` over ``link`` (binds its endpoint now)."""
        shm = self.shm and link.endpoint.startswith("ipc://")
        curve = self.curve if link.writer_host else None
        # A feedback reader never holds its writer back: newest frame only, whatever the buffer says.
        queue = QueueSpec(buffer.name, LATEST, 1) if link.feedback else None
        label = f"{link.buffer} -> {link.reader}"
        try:
            sender = LinkSender(
                self.ctx, buffer, link.bind or link.endpoint, link.reader, self.stop_pipe, shm, curve, queue,
                on_socket=(lambda sock: self._watch.watch(sock, label)) if curve is not None else None,
            )  # fmt: skip
        except zmq.ZMQError as exc:  # e.g. a port of a link between hosts is taken: say which
            where = link.bind or link.endpoint
            raise zmq.ZMQError(exc.errno, f"link {label}: cannot listen on {where}: {exc}") from exc
        self.senders.append(sender)
        if link.feedback:
            self._feedback_senders.add(id(sender))
        return sender

    def _reader(self, link: LinkSpec, window: int, stats: NodeStats) -> LinkReader:
        def on_bad() -> None:
            with self._bad_lock:  # several receivers of one node share the counter
                stats.bad_messages += 1

        label = f"{link.reader} input {link.buffer}"
        curve = self.curve if link.writer_host else None
        return LinkReader(self.ctx, link.endpoint, window, label, on_bad, curve, link.writer_host)

    def add_receiver(self, link: LinkSpec, inbox: Inbox, stats: NodeStats) -> LinkReceiver:
        """Feed input ``link.index`` of ``inbox`` from ``link``; bad messages count in ``stats``."""
        reader = self._reader(link, inbox.spec(link.index).size, stats)
        receiver = LinkReceiver(reader, inbox, link.index, self.stop_pipe)
        self.receivers.append(receiver)
        return receiver

    def direct_inbox(self, link: LinkSpec, spec: QueueSpec, stats: NodeStats) -> LinkInbox:
        """An inbox for a node whose only input is ``link``; the node's thread reads the socket."""
        inbox = LinkInbox(spec, self._reader(link, min(spec.size, LINK_WINDOW), stats))
        self.inboxes.append(inbox)
        return inbox

    def start(self) -> None:
        """Start every link thread."""
        for end in (*self.senders, *self.receivers):
            end.thread.start()
        self._watch.start(self.stop_pipe)

    def drops(self) -> Counter[str]:
        """Drops on this process's sending queues, per reading node."""
        out: Counter[str] = Counter()
        for sender in self.senders:
            out[sender.reader] += sender.drops
        return out

    def join_senders(self, tcp_only: bool = False) -> None:
        """Wait until every sender has delivered what it has, end of stream included (or the links stop).

        Args:
            tcp_only: Only the links to other hosts (a child's reader has ended when its process has).
        """
        for sender in self.senders:
            if tcp_only and not sender.endpoint.startswith("tcp://"):
                continue
            if id(sender) in self._feedback_senders:
                continue
            if not sender.delivered:
                log.info("waiting for %s to take the last of %s (Ctrl-C stops)", sender.reader, sender.buffer.name)
            sender.flush()

    def stop(self) -> None:
        """Make every link thread return soon (safe from any thread, idempotent)."""
        self.stop_pipe.set()
        for sender in self.senders:
            sender.close()
        for inbox in self.inboxes:
            inbox.close()

    def join(self, timeout: float = 1.0) -> None:
        """Wait for the link threads after :meth:`stop`; close what they left."""
        for end in (*self.senders, *self.receivers):
            if end.thread.ident is not None:
                end.thread.join(timeout)
        for sender in self.senders:
            sender.close()
        for inbox in self.inboxes:
            if inbox.owner is None or not inbox.owner.is_alive():
                inbox.release()
        self.inboxes.clear()
