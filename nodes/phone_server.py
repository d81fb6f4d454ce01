"""The PhoneCamera's HTTPS + WebSocket server: the page, the token check, uploads and acks.

The protocol is in :mod:`flowpose.nodes.phone_protocol`. The event loop runs in its own
thread; everything the graph's threads touch goes through the
:class:`~flowpose.nodes.phone_hub.PhoneHub` or ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from functools import partial
from ssl import SSLContext
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from flowpose.nodes.phone_hub import PhoneHub, Upload
from flowpose.nodes.phone_protocol import (
    MAX_SIDE,
    MAX_UPLOAD_BYTES,
    SEQ,
    BadHello,
    PhoneConnection,
    error_message,
    jpeg_size,
    parse_hello,
    welcome_message,
)
from flowpose.web.home import token_matches

HELLO_TIMEOUT_S = 10.0
# At stop, phones get this long to answer the closing handshake: a sleeping phone never
# answers, and the graph must stop within its grace period.
CLOSE_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class ServerSettings:
    """How the server listens and what it serves.

    Attributes:
        host: Bind address ("0.0.0.0": every interface).
        port: TCP port (0: any free one).
        tls: TLS context (None: plain HTTP, where browsers allow the camera only on localhost).
        token: The session token clients must give.
        page: The page HTML, ready to send.
        window: Results in flight the page allows (0: no limit; see the node docs).
        ping_s: Keepalive ping interval; a phone that does not answer a ping within twice this
            is dropped (so within three times this after it went silent).
        max_side: Largest width or height a frame may declare in its JPEG header; larger
            frames are refused before decoding (see ``phone_protocol.MAX_SIDE``).
    """

    host: str
    port: int
    tls: SSLContext | None
    token: str
    page: bytes
    window: int = 0
    ping_s: float = 5.0
    max_side: int = MAX_SIDE


class PhoneServer:
    """Serves the page and the phones' WebSockets from an event loop in its own thread.

    Args:
        hub: Where uploads go and results come from.
        settings: Address, TLS, token, page.
        log: The node's logger.
    """

    def __init__(self, hub: PhoneHub, settings: ServerSettings, log: logging.Logger) -> None:
        self.hub, self.settings, self.log = hub, settings, log
        self.port = 0
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._by_client: dict[str, ServerConnection] = {}
        self._thread = threading.Thread(target=self._main, name=f"flowpose:phone:{hub.name}", daemon=True)
        # websockets logs every page load as a refused handshake at INFO; keep its warnings only.
        self._ws_log = logging.getLogger(f"{log.name}.websockets")
        self._ws_log.setLevel(logging.WARNING)

    def start(self, timeout: float = 10.0) -> int:
        """Listen; returns the port. Raises OSError when the address cannot be bound."""
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"the phone server did not start within {timeout:.0f} s")
        if self._error is not None:
            raise self._error
        return self.port

    def stop(self, timeout: float = 1.0) -> None:
        """Close every connection and the listening socket; wait for the thread."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # already closed
                loop.call_soon_threadsafe(stop.set)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def drop_connections(self) -> None:
        """Cut every phone's connection without a closing handshake, as a lost network would."""
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(lambda: [ws.transport.abort() for ws in list(self._by_client.values())])

    # -- event loop thread -----------------------------------------------------------------

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start(), or logged if it happens later
            if not self._ready.is_set():
                self._error = exc
                self._ready.set()
            else:
                self.log.exception("phone server failed")

    async def _serve(self) -> None:
        s = self.settings
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        server = await serve(
            self._handle,
            s.host,
            s.port,
            ssl=s.tls,
            process_request=self._route,
            compression=None,  # JPEG does not compress; deflate would only cost CPU
            max_size=MAX_UPLOAD_BYTES,
            ping_interval=s.ping_s,
            ping_timeout=2 * s.ping_s,
            close_timeout=CLOSE_TIMEOUT_S,
            logger=self._ws_log,
        )
        self.port = int(next(iter(server.sockets)).getsockname()[1])
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            await server.wait_closed()

    def _route(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path not in ("/", "/ws"):
            return connection.respond(404, "Not found\n")
        if not token_matches(parse_qs(url.query).get("token", [None])[0], self.settings.token):
            self.hub.counters["refused"] += 1
            self.log.warning("refused %s from %s: wrong or missing token", url.path, connection.remote_address)
            return connection.respond(403, "Forbidden: this URL needs the token printed by flowpose\n")
        if url.path == "/ws":
            return None  # go on with the WebSocket handshake
        headers = Headers(
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(self.settings.page))),
                ("Cache-Control", "no-store"),
                ("Referrer-Policy", "no-referrer"),  # the token is in the URL
                ("Connection", "close"),
            ]
        )
        return Response(200, "OK", headers, self.settings.page)

    def _refusal(self, message: bytes) -> str | None:
        """Why an upload is refused before decoding, or None (not a JPEG: the decoder says so)."""
        size = jpeg_size(message, SEQ.size)
        limit = self.settings.max_side
        if size is None or (size[0] <= limit and size[1] <= limit):
            return None
        return (
            f"frame refused: {size[0]}x{size[1]} pixels is larger than {limit}x{limit}; "
            "ask the camera for a smaller size"
        )

    async def _handle(self, ws: ServerConnection) -> None:
        try:
            client, wanted = parse_hello(await asyncio.wait_for(ws.recv(), HELLO_TIMEOUT_S))
        except (TimeoutError, BadHello, ConnectionClosed) as exc:
            self.hub.counters["bad_hello"] += 1
            self.log.warning("closed a connection from %s: no hello (%s)", ws.remote_address, exc or type(exc).__name__)
            await ws.close(1008, "expected a hello message first")
            return
        source = self.hub.source_for(client, wanted)
        old = self._by_client.get(client)
        if old is not None:  # the same tab again (woken up) while its old socket lingers
            await old.close(4000, "replaced by a newer connection")
        self._by_client[client] = ws
        conn = PhoneConnection(ws, asyncio.get_running_loop(), self.hub)
        self.hub.connect(source, conn.deliver)
        self.hub.counters["connects"] += 1
        self.log.info("phone %s connected from %s", source, ws.remote_address)
        sender = asyncio.create_task(conn.send_loop())
        warned = False
        try:
            await ws.send(welcome_message(source, self.settings.window, self.hub.displays > 0))
            async for message in ws:
                if isinstance(message, bytes) and len(message) > SEQ.size:
                    (seq,) = SEQ.unpack_from(message)
                    refusal = self._refusal(message)
                    if refusal is not None:
                        self.hub.counters["oversize_frames"] += 1
                        if not warned:  # once per connection: a page sends the same size again
                            self.log.warning("%s: %s", source, refusal)
                            warned = True
                        await ws.send(error_message(refusal))
                        conn.ack(seq, True)
                        continue
                    upload = Upload(source, seq, message[SEQ.size :], time.time_ns(), partial(conn.ack, seq))
                    replaced = self.hub.offer(upload)
                    if replaced is not None:
                        replaced.ack(True)
                else:
                    self.hub.counters["bad_messages"] += 1
        except ConnectionClosed:
            pass
        finally:
            sender.cancel()
            self.hub.disconnect(source, conn.deliver)
            if self._by_client.get(client) is ws:
                del self._by_client[client]
            self.hub.counters["disconnects"] += 1
            self.log.info("phone %s disconnected", source)
