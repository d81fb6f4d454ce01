"""A small threaded HTTP server for live views: MJPEG streams, single JPEGs, JSON and a page.

Each stream client has its own thread that sleeps on a condition until a newer frame exists,
then sends it; a slow client simply skips frames (it always gets the newest), and never
slows the graph. JPEG encoding happens here, once per new frame, and only when somebody
watches: the graph thread only stores a reference to the image.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np

log = logging.getLogger(__name__)

BOUNDARY = "flowposeframe"
WAIT_S = 1.0  # a waiting stream wakes at least this often, to notice a client that left


@dataclass
class _Latest:
    version: int
    image: np.ndarray
    jpeg: bytes | None = None


class LatestFrames:
    """The newest image of each source, JPEG-encoded on first demand; thread-safe.

    Args:
        quality: JPEG quality 1-100.
    """

    def __init__(self, quality: int = 80) -> None:
        self.quality = quality
        self._cond = threading.Condition(threading.Lock())
        self._latest: dict[str, _Latest] = {}
        self._closed = False

    def put(self, source: str, image: np.ndarray) -> None:
        """Make ``image`` the newest of ``source`` (cheap: keeps a reference; frames are immutable)."""
        with self._cond:
            old = self._latest.get(source)
            self._latest[source] = _Latest(old.version + 1 if old else 1, image)
            self._cond.notify_all()

    def sources(self) -> list[str]:
        with self._cond:
            return sorted(self._latest)

    def close(self) -> None:
        """Wake and end every stream."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def get(self, source: str, newer_than: int = 0, timeout: float = WAIT_S) -> tuple[int, bytes] | None:
        """The newest JPEG of ``source`` with a version above ``newer_than``, waiting up to ``timeout``.

        Args:
            source: A source name; "" means the first source (by name) that has a frame.

        Returns:
            ``(version, jpeg)``, or None on timeout or once closed.
        """

        def entry() -> _Latest | None:
            name = source or min(self._latest, default="")
            return self._latest.get(name)

        with self._cond:
            self._cond.wait_for(
                lambda: self._closed or ((e := entry()) is not None and e.version > newer_than), timeout
            )
            found = entry()
            if self._closed or found is None or found.version <= newer_than:
                return None
        if found.jpeg is None:  # encoded outside the lock; two clients may race, both get a valid JPEG
            ok, buf = cv2.imencode(".jpg", found.image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
            if not ok:
                raise ValueError(f"cannot encode a {found.image.shape} image as JPEG")
            found.jpeg = buf.tobytes()
        return found.version, found.jpeg

    @property
    def closed(self) -> bool:
        return self._closed


Route = Callable[[dict[str, list[str]]], tuple[int, str, bytes]]


class ViewServer:
    """Serves ``routes`` (path -> handler returning status, content type, body) and MJPEG streams.

    Args:
        host: Bind address.
        port: TCP port, 0 for any free one.
        frames: Where streams take their frames.
        routes: Plain responses by path; ``/stream.mjpg?source=NAME`` streams.
    """

    def __init__(self, host: str, port: int, frames: LatestFrames, routes: dict[str, Route]) -> None:
        self.frames, self.routes = frames, routes
        handler = type("Handler", (_Handler,), {"view": self})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.1,), name="flowpose:view", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.frames.close()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(2.0)


class _Handler(BaseHTTPRequestHandler):
    view: ViewServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/stream.mjpg":
            self._stream(query)
            return
        route = self.view.routes.get(url.path)
        if route is None:
            self._send(404, "text/plain; charset=utf-8", b"Not found\n")
            return
        self._send(*route(query))

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, query: dict[str, list[str]]) -> None:
        frames = self.view.frames
        source = query.get("source", [""])[0]  # "": the first source that has frames
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        version = 0
        try:
            while not frames.closed:
                got = frames.get(source, version)
                if got is None:
                    continue
                version, jpeg = got
                head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                self.wfile.write(head.encode() + jpeg + b"\r\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the viewer left
