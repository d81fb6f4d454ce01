"""All the link ends living in one process, started and stopped together."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass

import zmq

from flowpose.buffers import Buffer, Inbox
from flowpose.runners.links import LinkReceiver, LinkSender, StopPipe
from flowpose.runners.shm import shm_available
from flowpose.stats import NodeStats

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkSpec:
    """One link of the graph: buffer ``buffer`` from ``writer`` to input ``index`` of ``reader``.

    Attributes:
        buffer: Buffer name.
        writer: Writing node.
        reader: Reading node.
        index: Which input of the reader the buffer is.
        endpoint: ZeroMQ endpoint the sender binds and the receiver connects to.
    """

    buffer: str
    writer: str
    reader: str
    index: int
    endpoint: str

    def to_json(self) -> dict[str, object]:
        """As plain data for a child's configuration."""
        return {k: getattr(self, k) for k in ("buffer", "writer", "reader", "index", "endpoint")}


class LinkSet:
    """The senders and receivers of one process.

    Args:
        shm: Send images of same-host (``ipc://``) links through shared-memory slots.
    """

    def __init__(self, shm: bool = True) -> None:
        self.ctx = zmq.Context.instance()
        self.stop_pipe = StopPipe()
        self.shm = shm and shm_available()
        self.senders: list[LinkSender] = []
        self.receivers: list[LinkReceiver] = []
        self._bad_lock = threading.Lock()

    def add_sender(self, link: LinkSpec, buffer: Buffer) -> LinkSender:
        """Send ``buffer`` over ``link`` (binds its endpoint now)."""
        shm = self.shm and link.endpoint.startswith("ipc://")
        sender = LinkSender(self.ctx, buffer, link.endpoint, link.reader, self.stop_pipe, shm=shm)
        self.senders.append(sender)
        return sender

    def add_receiver(self, link: LinkSpec, inbox: Inbox, stats: NodeStats) -> LinkReceiver:
        """Feed input ``link.index`` of ``inbox`` from ``link``; bad messages count in ``stats``."""

        def on_bad() -> None:
            with self._bad_lock:  # several receivers of one node share the counter
                stats.bad_messages += 1

        label = f"{link.reader} input {link.buffer}"
        receiver = LinkReceiver(self.ctx, link.endpoint, inbox, link.index, label, self.stop_pipe, on_bad)
        self.receivers.append(receiver)
        return receiver

    def start(self) -> None:
        """Start every link thread."""
        for end in (*self.senders, *self.receivers):
            end.thread.start()

    def drops(self) -> Counter[str]:
        """Drops on this process's sending queues, per reading node."""
        out: Counter[str] = Counter()
        for sender in self.senders:
            out[sender.reader] += sender.drops
        return out

    def join_senders(self) -> None:
        """Wait until every sender has delivered its end of stream (or the links stop)."""
        for sender in self.senders:
            if sender.thread.is_alive():
                sender.thread.join()

    def stop(self) -> None:
        """Make every link thread return soon (safe from any thread, idempotent)."""
        self.stop_pipe.set()
        for sender in self.senders:
            sender.inbox.close()

    def join(self, timeout: float = 1.0) -> None:
        """Wait for the link threads after :meth:`stop`."""
        for end in (*self.senders, *self.receivers):
            if end.thread.ident is not None:
                end.thread.join(timeout)
