"""The HTTP side of ``flowpose serve``: a threaded stdlib server in the graph's process.

It maps requests onto :class:`flowpose.serve.routes.Api`: reads and caps the body, parses
JSON, checks the token, and turns every failure into ``{"error": "..."}`` with its status,
never a traceback.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from flowpose.serve.auth import Token
from flowpose.serve.routes import Api, Reply, Request, Route
from flowpose.streams import StreamError

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # a control request is a few dozen bytes; anything near this is not one
REQUEST_TIMEOUT_S = 10.0  # a client that stops sending mid-request frees its thread after this


class _Refused(Exception):
    """A request refused before its handler runs (carries the reply and extra headers)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.headers = status, headers or {}


class ApiServer:
    """Serves an :class:`Api` on ``host:port`` in a background thread.

    Args:
        address: ``(host, port)`` to bind; port 0 picks a free one (see :attr:`port`).
        api: The routes.
        token: The token every non-public route needs.

    Raises:
        OSError: when the address cannot be bound (in use, not an address of this machine).
    """

    def __init__(self, address: tuple[str, int], api: Api, token: Token) -> None:
        handler = type("Handler", (_Handler,), {"api": api, "token": token})
        # ThreadingHTTPServer binds IPv4 unless told otherwise: take the family of the address given.
        family = socket.getaddrinfo(address[0], address[1], type=socket.SOCK_STREAM)[0][0]
        server_class = type("Server", (ThreadingHTTPServer,), {"address_family": family})
        self._http = server_class(address, handler)
        self._http.daemon_threads = True  # a client holding a connection never blocks the exit
        self._thread = threading.Thread(target=self._http.serve_forever, name="flowpose:serve", daemon=True)

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._http.server_address[1])

    def start(self) -> None:
        """Answer requests from now on."""
        self._thread.start()

    def stop(self) -> None:
        """Stop answering and release the port."""
        if self._thread.is_alive():
            self._http.shutdown()
            self._thread.join(timeout=2)
        self._http.server_close()


class _Handler(BaseHTTPRequestHandler):
    api: Api
    token: Token
    timeout = REQUEST_TIMEOUT_S
    server_version = "flowpose-serve"

    def _by_method(self) -> None:
        self._handle(self.command)

    # http.server calls do_<METHOD>; every method goes to the one router (which answers 405 or 404).
    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = do_OPTIONS = _by_method  # noqa: N815

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors http.server finds itself (a malformed request line, headers too long): JSON too."""
        self.close_connection = True
        self._send(Reply(code, {"error": message or HTTPStatus(code).phrase}))

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _handle(self, method: str) -> None:
        try:
            route, params = self._route(method)
            if not route.public and not self.token.accepts(self.headers.get("Authorization")):
                raise _Refused(401, "missing or wrong token: send 'Authorization: Bearer TOKEN'", _CHALLENGE)
            reply = route.handler(Request(params, self._body()))
        except _Refused as exc:
            self._send(Reply(exc.status, {"error": str(exc)}), exc.headers)
        except StreamError as exc:
            self._send(Reply(exc.status, {"error": str(exc)}))
        except Exception as exc:  # a bug or a node's surprise: logged in full, one line to the client
            log.exception("%s %s failed", method, self.path)
            self._send(Reply(500, {"error": f"internal error: {type(exc).__name__}: {exc}"}))
        else:
            self._send(reply)

    def _route(self, method: str) -> tuple[Route, dict[str, str]]:
        path = urlsplit(self.path).path
        allowed: list[str] = []
        for route in self.api.routes:
            params = route.match(path)
            if params is None:
                continue
            if route.method == method:
                return route, {k: unquote(v) for k, v in params.items()}
            allowed.append(route.method)
        if allowed:
            raise _Refused(
                405, f"{method} is not allowed on {path}; use {', '.join(allowed)}", {"Allow": ", ".join(allowed)}
            )
        raise _Refused(404, f"no route {path} (see /api/openapi.json)")

    def _body(self) -> Any:
        """The request's JSON body, or None when it has none."""
        if self.headers.get("Transfer-Encoding"):
            raise _Refused(411, "send the body with a Content-Length (no chunked transfer)")
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return None
        try:
            length = int(length_text)
        except ValueError:
            raise _Refused(400, f"Content-Length is not a number: {length_text!r}") from None
        if length < 0:
            raise _Refused(400, f"Content-Length is negative: {length}")
        if length > MAX_BODY:
            self.close_connection = True  # the unread body must not be taken for the next request
            raise _Refused(413, f"the body is {length} bytes; at most {MAX_BODY} are accepted")
        if length == 0:
            return None
        try:
            raw = self.rfile.read(length)
        except TimeoutError:
            self.close_connection = True
            raise _Refused(408, f"the body did not arrive within {REQUEST_TIMEOUT_S:g} s") from None
        if len(raw) < length:
            raise _Refused(400, f"the body ended after {len(raw)} of {length} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _Refused(400, "the body is not UTF-8 text") from None
        try:
            return json.loads(text)
        except RecursionError:
            raise _Refused(400, "the body's JSON is nested too deeply") from None
        except ValueError as exc:
            raise _Refused(400, f"the body is not JSON: {exc}") from None

    def _send(self, reply: Reply, headers: dict[str, str] | None = None) -> None:
        data = b"" if reply.body is None else json.dumps(reply.body, default=str).encode() + b"\n"
        try:
            self.send_response(reply.status, HTTPStatus(reply.status).phrase)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Cache-Control", "no-store")
            if data:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if data and self.command != "HEAD":
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("client left before the reply to %s %s", self.command, self.path)


_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="flowpose"'}
