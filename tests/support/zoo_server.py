"""A local HTTP server standing in for a model host, for the zoo tests.

Real sockets (``http.server`` in a thread on 127.0.0.1). Each served file has its own behaviour:
whether it honours ``Range`` (206), sends ``Content-Length`` and an ``ETag``, closes the
connection early, or trickles slowly. Every request is recorded with its headers, and the
bytes of body sent per path are counted, so tests can assert on what a download really asked for.
"""

from __future__ import annotations

import hashlib
import http.server
import re
import threading
import time
from dataclasses import dataclass, field

__all__ = ["Served", "ZooServer"]


@dataclass
class Served:
    """One file on the server and how it is served.

    Attributes:
        data: The bytes.
        ranges: Honour ``Range: bytes=N-`` with 206 (else always 200 with everything).
        length: Send ``Content-Length`` (else the body ends when the connection closes).
        validator: Send an ``ETag`` (and honour ``If-Range`` with it).
        cut: Close the connection after this many body bytes (a connection lost mid-file).
        chunk: Bytes per write.
        delay: Seconds to sleep after each write (a slow host).
    """

    data: bytes
    ranges: bool = True
    length: bool = True
    validator: bool = True
    cut: int | None = None
    chunk: int = 64 * 1024
    delay: float = 0.0

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.data).hexdigest()[:16] + '"'


@dataclass
class ZooServer:
    """The server: ``files`` by URL path; ``requests`` and ``sent`` record what happened."""

    files: dict[str, Served] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)
    base: str = ""

    def add(self, path: str, data: bytes, **behaviour) -> str:
        """Serve ``data`` at ``path``; returns its URL."""
        self.files[path] = Served(data, **behaviour)
        return f"{self.base}{path}"

    def gets(self, path: str) -> list[dict[str, str]]:
        """The headers of every GET of ``path``."""
        return [headers for p, headers in self.requests if p == path]

    def start(self) -> ZooServer:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one response per connection: a body without length ends at close

            def do_GET(self) -> None:  # http.server calls it by this name
                server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                served = server.files.get(self.path)
                if served is None:
                    self.send_error(404)
                    return
                data, start = served.data, 0
                match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
                if_range = self.headers.get("If-Range")
                if served.ranges and match and (if_range is None or if_range == served.etag):
                    start = int(match.group(1))
                    if start >= len(data):
                        self.send_error(416)
                        return
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                if served.length:
                    self.send_header("Content-Length", str(len(data) - start))
                if served.validator:
                    self.send_header("ETag", served.etag)
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                body = data[start:] if served.cut is None else data[start : start + served.cut]
                try:
                    for i in range(0, len(body), served.chunk):
                        piece = body[i : i + served.chunk]
                        self.wfile.write(piece)
                        self.wfile.flush()
                        server.sent[self.path] = server.sent.get(self.path, 0) + len(piece)
                        if served.delay:
                            time.sleep(served.delay)
                except (BrokenPipeError, ConnectionResetError):  # the client went away (a test killed it)
                    pass

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)
