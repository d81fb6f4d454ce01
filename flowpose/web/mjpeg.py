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
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import cv2
import numpy as np

from flowpose.web.plain_handler import PlainHandler

log = logging.getLogger(__name__)

BOUNDARY = "flowposeframe"
WAIT_S = 1.0  # a waiting stream wakes at least this often, to notice a client that left


@dataclass
class _Latest:
    version: int
    image: np.ndarray
    jpeg: bytes | None = None


class LatestFrames:
    """The newest image of each stream (source), JPEG-encoded on first demand; thread-safe.

    Versions count over all streams together, so a stream that ends and comes back under the
    same id goes on with higher versions, and a viewer waiting on it just sees newer frames.

    Args:
        quality: JPEG quality 1-100.
    """

    def __init__(self, quality: int = 80) -> None:
        self.quality = quality
        self._cond = threading.Condition(threading.Lock())
        self._latest: dict[str, _Latest] = {}
        self._removed: dict[str, int] = {}  # stream -> the version count when it was removed
        self._version = 0
        self._closed = False

    def put(self, source: str, image: np.ndarray) -> None:
        """Make ``image`` the newest of ``source`` (cheap: keeps a reference; frames are immutable)."""
        with self._cond:
            self._version += 1
            self._latest[source] = _Latest(self._version, image)
            self._removed.pop(source, None)
            self._cond.notify_all()

    def remove(self, source: str) -> bool:
        """Forget stream ``source`` (it ended): its viewers' streams end. False if it had no frame."""
        with self._cond:
            found = self._latest.pop(source, None) is not None
            self._removed[source] = self._version
            self._cond.notify_all()
            return found

    def ended(self, source: str, seen: int = 0) -> bool:
        """Whether ``source`` was removed after a viewer saw version ``seen`` of the frames."""
        with self._cond:
            return self._ended(source, seen)

    def _ended(self, source: str, seen: int) -> bool:
        return bool(source) and source in self._removed and self._removed[source] >= seen

    def sources(self) -> list[str]:
        """The streams that have a frame now, by name."""
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
            source: A stream name; "" means the first stream (by name) that has a frame.

        Returns:
            ``(version, jpeg)``, or None on timeout, once closed, or when the stream was removed
            (see :meth:`ended`).
        """

        def entry() -> _Latest | None:
            name = source or min(self._latest, default="")
            return self._latest.get(name)

        def ready() -> bool:
            if self._closed or self._ended(source, newer_than):
                return True
            found = entry()
            return found is not None and found.version > newer_than

        with self._cond:
            self._cond.wait_for(ready, timeout)
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


def stream_param(query: dict[str, list[str]]) -> str:
    """The stream a request names: ``?stream=ID``, or ``?source=ID`` (the older spelling); "" for none."""
    return (query.get("stream") or query.get("source") or [""])[0]


class ViewServer:
    """Serves ``routes`` (path -> handler returning status, content type, body) and MJPEG streams.

    Args:
        host: Bind address.
        port: TCP port, 0 for any free one.
        frames: Where streams take their frames.
        routes: Plain responses by path. A path ending in ``/`` is a prefix: it answers every
            path below it, and the rest of the path (URL-decoded) is in the query as ``path``,
            the relative way back to ``/`` as ``root`` (``../``).
            ``/stream.mjpg?stream=NAME`` streams (``source=NAME`` is the older spelling).
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


class _Handler(PlainHandler):
    view: ViewServer

    def do_GET(self) -> None:  # noqa: N802 (http.server calls it by this name)
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/stream.mjpg":
            self._stream(query)
            return
        route = self._prefix_route(url.path, query) or self.view.routes.get(url.path)
        if route is None:
            self._send(404, "text/plain; charset=utf-8", b"Not found\n")
            return
        self._send(*route(query))

    def _prefix_route(self, path: str, query: dict[str, list[str]]) -> Route | None:
        """The route of the longest prefix (a key ending in ``/``) of ``path``; puts the rest in ``query``."""
        prefixes = [key for key in self.view.routes if key.endswith("/") and key != "/" and path.startswith(key)]
        if not prefixes:
            return None
        prefix = max(prefixes, key=len)
        rest = path[len(prefix) :]
        query["path"] = [unquote(rest)]
        # How a page there reaches the server's root with relative URLs (works behind a proxy's subpath).
        query["root"] = ["../" * (prefix.count("/") - 1 + rest.count("/")) or "./"]
        return self.view.routes[prefix]

    def _stream(self, query: dict[str, list[str]]) -> None:
        frames = self.view.frames
        source = stream_param(query)  # "": the first stream that has frames
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
                    if frames.ended(source, version):
                        break  # the stream ended: so does this response, and the viewer sees it
                    continue
                version, jpeg = got
                head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                self.wfile.write(head.encode() + jpeg + b"\r\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the viewer left
