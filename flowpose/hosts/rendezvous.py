"""Hosts meeting before their parts start: "I am up and run this graph", answered by each peer.

Every host part binds a ROUTER on its own ``port`` and connects a DEALER to each other host's.
It sends ``READY`` (its name and the graph's digest) to every peer; a peer answers ``OK``, or
``DIFFERENT`` when its graph differs (another file, other ``--set`` values): running two
halves of different graphs would only produce confusing errors later. A part starts its nodes
once every peer said ``OK``, and keeps answering for the whole run, so a peer that is
restarted later meets it again at once. Messages are msgpack; nothing is trusted beyond that.
With CurveZMQ the rendezvous is secured like the links: a peer with a wrong key never gets in.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

import msgpack
import zmq
from zmq.utils.monitor import recv_monitor_message

from flowpose.hosts.plan import rendezvous_endpoints
from flowpose.hosts.security import HANDSHAKE_FAILED, Curve, HandshakeWatch, describe_handshake_failure
from flowpose.hosts.spec import HostSpec
from flowpose.transport.stop_pipe import StopPipe

log = logging.getLogger(__name__)

READY, OK, DIFFERENT = "ready", "ok", "different"
MAX_MESSAGE_BYTES = 4096
FIRST_LOG_S, WAIT_LOG_S = 1.0, 5.0
REDIAL_S = 1.0  # pause before dialling a peer that refused us again


class Rendezvous:
    """This host's side of the meeting (see module docs).

    Args:
        host: This host's name.
        hosts: Every host of the graph.
        peers: The hosts to wait for.
        digest: The graph's fingerprint.
        curve: This host's keys when links between hosts use CurveZMQ.
    """

    def __init__(
        self, host: str, hosts: dict[str, HostSpec], peers: list[str], digest: str, curve: Curve | None
    ) -> None:
        self.host, self.peers, self.digest = host, peers, digest
        ctx = zmq.Context.instance()
        self._router = ctx.socket(zmq.ROUTER)
        self._router.setsockopt(zmq.LINGER, 0)
        self._router.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        self._watch = HandshakeWatch()
        if curve is not None:
            curve.server(self._router)
            self._watch.watch(self._router, f"rendezvous of host {host!r}")
        self._router.bind(rendezvous_endpoints(hosts[host])[0])
        self._curve = curve
        # Dealers are made, used and closed by the rendezvous thread only (see _dial).
        self._dealers: dict[str, zmq.Socket] = {}
        self._monitors: dict[zmq.Socket, str] = {}
        self._redial_at: dict[str, float] = {}
        self._dialled = 0
        self.endpoints = {peer: rendezvous_endpoints(hosts[peer])[1] for peer in peers}
        self._ok: set[str] = set()
        self.mismatch: str | None = None  # a peer running another graph
        self._failures: set[tuple[str, object]] = set()
        self._changed = threading.Condition()
        self._stop = StopPipe()
        self._thread = threading.Thread(target=self._main, name="flowpose:rendezvous", daemon=True)

    def start(self) -> None:
        """Say READY to every peer and start answering theirs."""
        self._thread.start()
        self._watch.start(self._stop)

    def wait(self, stop: threading.Event) -> bool:
        """Block until every peer said OK; False when ``stop`` is set or a peer runs another graph.

        Whoever sets ``stop`` must call :meth:`interrupt` too.
        """
        pause = FIRST_LOG_S  # say nothing when the peers are there at once
        with self._changed:
            while len(self._ok) < len(self.peers) and self.mismatch is None and not stop.is_set():
                if not self._changed.wait(pause):
                    waiting = [f"{p} ({self.endpoints[p]})" for p in self.peers if p not in self._ok]
                    log.info("host %r: waiting for hosts %s", self.host, ", ".join(waiting))
                    pause = WAIT_LOG_S
        if self.mismatch is not None:
            log.error("host %r: %s", self.host, self.mismatch)
            return False
        if not stop.is_set() and self.peers:
            log.info("host %r: hosts %s are up; starting", self.host, ", ".join(self.peers))
        return not stop.is_set()

    def interrupt(self) -> None:
        """Make :meth:`wait` look at its stop event now (from any thread but a signal handler's)."""
        with self._changed:
            self._changed.notify_all()

    def _dial(self, peer: str) -> None:
        """Connect a DEALER to ``peer``'s rendezvous and queue READY on it.

        With ZMQ_IMMEDIATE off (the default) the pipe exists from ``connect``, so READY waits
        there until the peer is up. It is sent without blocking all the same: a DEALER whose
        only connection failed its handshake has no pipe left, and a blocking send would stop
        this thread for good, monitors and answers included.
        """
        sock = zmq.Context.instance().socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        if self._curve is not None:
            self._curve.client(sock, peer)
            # A name of our own: pyzmq's default names the endpoint after the socket's fd, which a
            # redialled socket may reuse before the old monitor endpoint is gone.
            self._dialled += 1
            address = f"inproc://flowpose.rendezvous.{id(self)}.{self._dialled}"
            self._monitors[sock.get_monitor_socket(HANDSHAKE_FAILED, addr=address)] = peer
        sock.connect(self.endpoints[peer])
        self._dealers[peer] = sock
        with contextlib.suppress(zmq.Again):  # refused already: the monitor says why; _failed redials
            sock.send(msgpack.packb({"kind": READY, "host": self.host, "digest": self.digest}), zmq.NOBLOCK)

    def _hang_up(self, peer: str) -> None:
        """Close the DEALER to ``peer`` and its monitor."""
        self._dealers.pop(peer).close(linger=0)
        for monitor in [m for m, p in self._monitors.items() if p == peer]:
            del self._monitors[monitor]
            monitor.close(linger=0)

    def _main(self) -> None:
        for peer in self.peers:
            self._dial(peer)
        try:
            while True:
                now = time.monotonic()
                for peer in [p for p, at in self._redial_at.items() if at <= now]:
                    del self._redial_at[peer]
                    self._dial(peer)
                # Built each turn: dealers come and go (a refused one is dialled again).
                poller = zmq.Poller()
                for sock in (self._router, self._stop, *self._dealers.values(), *self._monitors):
                    poller.register(sock, zmq.POLLIN)
                timeout = max(0.0, min(self._redial_at.values()) - now) * 1000 if self._redial_at else None
                events = dict(poller.poll(timeout))
                if self._stop.fileno() in events:
                    return
                if self._router in events:
                    self._answer(*self._router.recv_multipart())
                for peer, sock in list(self._dealers.items()):
                    if sock in events:
                        self._heard(peer, sock.recv())
                for monitor, peer in list(self._monitors.items()):
                    if monitor in events:
                        self._failed(peer, recv_monitor_message(monitor))
        finally:
            self._router.close(linger=0)
            for peer in list(self._dealers):
                self._hang_up(peer)

    def _failed(self, peer: str, event: dict[str, object]) -> None:
        if (peer, event["event"]) not in self._failures:  # once: a refused peer is retried forever
            self._failures.add((peer, event["event"]))
            why = describe_handshake_failure(event)
            log.warning("host %r: cannot meet host %r (retrying quietly): %s", self.host, peer, why)
        # After a refusal (ZAP) or a protocol error libzmq drops the connection for good; a
        # dropped connection (NO_DETAIL) it retries itself. Dial again, so that a peer whose
        # keys are fixed and which is restarted is met without restarting this host too.
        if event["event"] != zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL and peer in self._dealers:
            self._hang_up(peer)
            self._redial_at[peer] = time.monotonic() + REDIAL_S

    def _answer(self, identity: bytes, *parts: bytes) -> None:
        message = _unpack(parts[-1] if parts else b"")
        if message.get("kind") != READY:
            return  # not a flowpose host: ignore
        same = message.get("digest") == self.digest
        if not same:
            log.error("host %r: host %r runs a different graph (another file or other --set values)",
                      self.host, message.get("host"))  # fmt: skip
        self._router.send_multipart([identity, msgpack.packb({"kind": OK if same else DIFFERENT, "host": self.host})])

    def _heard(self, peer: str, data: bytes) -> None:
        kind = _unpack(data).get("kind")
        with self._changed:
            if kind == OK:
                self._ok.add(peer)
            elif kind == DIFFERENT:
                self.mismatch = f"host {peer!r} runs a different graph (another file or other --set values)"
            self._changed.notify_all()

    def close(self) -> None:
        """Stop answering and close the sockets."""
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(2.0)
        self._stop.close()


def _unpack(data: bytes) -> dict[str, object]:
    try:
        message = msgpack.unpackb(data, raw=False)
    except Exception:  # anything a stranger sends must not stop the meeting
        return {}
    return message if isinstance(message, dict) else {}
