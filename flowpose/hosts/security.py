"""CurveZMQ on links between hosts: socket set-up, and refusing (and logging) unknown peers.

The sending end of a cross-host link binds, so it is the CURVE *server*: it proves it holds
its host's secret key, and a ZAP handler (:class:`zmq.auth.thread.ThreadAuthenticator`, one
per process) accepts only clients whose public key belongs to a host of the graph. The
receiving end is the *client*: it knows the sending host's public key, so it cannot be fooled
by an impostor either. Every frame is then encrypted.

A refused peer is logged once per key (a wrong key, through the ZAP handler) or once per kind
of failure (a peer without keys fails the handshake before ZAP is asked; see
:class:`HandshakeWatch`). Key files are the ``zmq.auth`` certificate format written by
``flowpose keys`` (:mod:`flowpose.cli.keys_commands`).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import zmq
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils.monitor import recv_monitor_message

log = logging.getLogger(__name__)

ZAP_DOMAIN = "flowpose"
HANDSHAKE_FAILED = (
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_AUTH
)


@dataclass(frozen=True)
class Curve:
    """This host's CurveZMQ key pair and the public keys of the hosts it talks to.

    Attributes:
        host: This host's name (for log messages).
        public: This host's public key (Z85 text, 40 bytes).
        secret: This host's secret key (Z85).
        peers: Public key (Z85) -> host name, of every other host of the graph.
    """

    host: str
    public: bytes
    secret: bytes
    peers: dict[bytes, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """As plain data for a child's configuration (sent over its stdin, never argv)."""
        return {
            "host": self.host,
            "public": self.public.decode(),
            "secret": self.secret.decode(),
            "peers": {k.decode(): v for k, v in self.peers.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Curve:
        """The inverse of :meth:`to_json`."""
        peers = {k.encode(): v for k, v in data["peers"].items()}
        return cls(data["host"], data["public"].encode(), data["secret"].encode(), peers)

    def server(self, sock: zmq.Socket) -> None:
        """Make ``sock`` (before it binds) a CURVE server that accepts only the graph's hosts."""
        _authenticator(sock.context, self)
        sock.curve_secretkey = self.secret
        sock.curve_publickey = self.public
        sock.curve_server = True
        sock.zap_domain = ZAP_DOMAIN.encode()

    def client(self, sock: zmq.Socket, server_host: str) -> None:
        """Make ``sock`` (before it connects) a CURVE client of ``server_host``."""
        by_name = {name: key for key, name in self.peers.items()}
        sock.curve_secretkey = self.secret
        sock.curve_publickey = self.public
        sock.curve_serverkey = by_name[server_host]


class _Keys:
    """The ZAP callback: a client key is accepted when it belongs to a host of the graph."""

    def __init__(self) -> None:
        self.allowed: dict[bytes, str] = {}
        self.peer = "?"  # address of the client being checked (set just before the callback)
        self._refused: set[bytes] = set()

    def callback(self, domain: str, key: bytes) -> bool:
        name = self.allowed.get(key)
        if name is not None:
            log.debug("accepted host %r (%s) on a link", name, self.peer)
            return True
        if key not in self._refused:
            self._refused.add(key)
            log.warning(
                "refused a link peer at %s: its CurveZMQ public key %s is not a host of this graph "
                "(further attempts with this key are refused silently)",
                self.peer,
                key.decode(errors="replace"),
            )
        return False


class _Authenticator(ThreadAuthenticator):
    """A ZAP handler that tells the key callback which address the client connects from."""

    keys: _Keys

    async def handle_zap_message(self, msg: list[bytes]) -> None:
        if len(msg) > 3:
            self.keys.peer = msg[3].decode(errors="replace")
        await super().handle_zap_message(msg)


_auth_lock = threading.Lock()
_authenticators: dict[int, _Authenticator] = {}


def _authenticator(ctx: zmq.Context, curve: Curve) -> None:
    """Start the ZAP handler of ``ctx`` once, and accept ``curve``'s peers."""
    with _auth_lock:
        auth = _authenticators.get(id(ctx))
        if auth is None:
            auth = _Authenticator(ctx, log=logging.getLogger("flowpose.zap"))
            auth.keys = _Keys()
            auth.start()
            auth.configure_curve_callback(ZAP_DOMAIN, credentials_provider=auth.keys)
            _authenticators[id(ctx)] = auth
        auth.keys.allowed.update(curve.peers)


def stop_authenticators() -> None:
    """Stop every ZAP handler of this process (before its context is terminated)."""
    with _auth_lock:
        for auth in _authenticators.values():
            auth.stop()
        _authenticators.clear()


def describe_handshake_failure(event: dict[str, Any]) -> str:
    """A monitor event of a failed handshake, in words."""
    kind = event["event"]
    if kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
        return f"the peer was refused (ZAP status {event['value']})"
    if kind == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
        return (
            f"protocol error {event['value']:#x}: a peer without the right CurveZMQ keys, "
            "or one using no encryption at all"
        )
    return "the handshake failed (a peer with other security settings, or not a flowpose link)"


class HandshakeWatch:
    """Logs failed handshakes on the CURVE server sockets of one process (one thread for all).

    Register every socket before :meth:`start`; each gets a monitor socket read by the thread.
    """

    def __init__(self) -> None:
        self._monitors: list[tuple[zmq.Socket, zmq.Socket, str]] = []
        self._seen: set[tuple[str, int]] = set()
        self._thread = threading.Thread(target=self._main, name="flowpose:handshakes", daemon=True)
        self._stop: Any = None

    def watch(self, sock: zmq.Socket, label: str) -> None:
        """Watch ``sock`` (call before it binds)."""
        self._monitors.append((sock, sock.get_monitor_socket(HANDSHAKE_FAILED), label))

    def start(self, stop: Any) -> None:
        """Start watching until ``stop`` (a pollable stop pipe) is set."""
        if self._monitors:
            self._stop = stop
            self._thread.start()

    def _main(self) -> None:
        poller = zmq.Poller()
        for _, monitor, _ in self._monitors:
            poller.register(monitor, zmq.POLLIN)
        poller.register(self._stop, zmq.POLLIN)
        by_monitor = {monitor: label for _, monitor, label in self._monitors}
        try:
            while True:
                events = dict(poller.poll())
                if self._stop.fileno() in events:
                    return
                for monitor, label in by_monitor.items():
                    if monitor in events:
                        self._log(recv_monitor_message(monitor), label)
        except zmq.ZMQError:
            return  # the sockets are closing
        finally:
            for _, monitor, _ in self._monitors:
                monitor.close(linger=0)

    def _log(self, event: dict[str, Any], label: str) -> None:
        key = (label, event["event"])
        if key not in self._seen:  # once per link and kind: a refused peer retries forever
            self._seen.add(key)
            log.warning("refused a peer on link %s: %s", label, describe_handshake_failure(event))
