"""The BrowserView sink: every stream live in any browser, with a stats table.

It keeps the newest frame of each stream (``Frame.source``). ``http://HOST:PORT/`` shows a
grid of all streams, each tile labelled with its id, new streams appearing and ended ones
(:meth:`BrowserView.end_stream`) leaving without a reload, and a table refreshed every second;
``/stream/ID`` (or ``/?stream=ID``) shows one stream. ``/stream.mjpg?stream=ID`` is a stream
on its own (VLC, ffplay, an <img> elsewhere; it ends when the stream does), ``/frame.jpg?stream=ID``
its newest frame, ``/stats.json`` the figures and the ids of the streams shown. Without
``stream`` (``source`` is the older spelling) the first stream by name is meant. It binds to
127.0.0.1 by default: set ``host: 0.0.0.0`` to show the view to other machines (it has no
token, unlike the phone page).
"""

from __future__ import annotations

import html
import json
import time
from importlib import resources

from pydantic import Field

from flowpose.frame import Frame
from flowpose.node import Node, NodeParams
from flowpose.nodes.browser_view_stats import TraceStats
from flowpose.web.lan import view_url
from flowpose.web.mjpeg import LatestFrames, ViewServer, stream_param
from flowpose.web.qr import print_banner

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"


class BrowserView(Node):
    """Serves every stream live (MJPEG, a grid of all or one at /stream/ID) and a stats table for any browser."""

    num_inputs = 1

    class Params(NodeParams):
        host: str = Field("127.0.0.1", description="Address to bind; 0.0.0.0 shows the view to the whole network.")
        port: int = Field(8088, ge=0, le=65535, description="HTTP port; 0 = any free port.")
        quality: int = Field(80, ge=10, le=100, description="JPEG quality of the stream.")
        title: str = Field("flowpose", max_length=200, description="Title shown on the page.")
        banner: bool = Field(True, description="Print the URL on start (with a QR code when reachable from the LAN).")

    def setup(self) -> None:
        p = self.params
        self.frames = LatestFrames(p.quality)
        self.stats = TraceStats()
        self._started = time.time()
        routes = {
            "/": self._page,
            "/index.html": self._page,
            "/stream/": self._stream_page,
            "/frame.jpg": self._frame,
            "/stats.json": self._stats,
        }
        try:
            self.server = ViewServer(p.host, p.port, self.frames, routes)
        except OSError as exc:
            raise OSError(
                f"BrowserView {self.name!r} cannot listen on {p.host}:{p.port} ({exc}); "
                f"pick another with --set {self.name}.port=8089 (0 = any free port)"
            ) from exc
        self.server.start()
        self.url, reachable = view_url(p.host, self.server.port)
        self.log.info("live view at %s", self.url)
        if p.banner:
            print_banner(f"BrowserView {self.name!r}", self.url, [], qr=reachable)

    def process(self, frame: Frame) -> None:
        self.frames.put(frame.source, frame.image)
        self.stats.add(frame)
        return None

    def end_stream(self, stream: str) -> None:
        """Take ``stream`` off the page: its tile and its row go, its MJPEG responses end."""
        if getattr(self, "frames", None) is None:
            return
        self.frames.remove(stream)
        self.stats.remove(stream)
        self.log.info("stream %r ended; no longer shown", stream)

    def close(self) -> None:
        server = getattr(self, "server", None)
        if server is not None:
            server.stop()

    # -- routes (run in the server's threads) -------------------------------------------------

    def _page(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        return self._render(stream_param(query), "./")

    def _stream_page(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        stream = query["path"][0]
        if not stream:
            return 404, TEXT, b"name a stream: /stream/ID (the ids are in /stats.json)\n"
        return self._render(stream, query["root"][0])

    def _render(self, stream: str, root: str) -> tuple[int, str, bytes]:
        """The page: the grid of all streams, or only ``stream``; ``root`` leads back to ``/``."""
        page = (resources.files("flowpose.nodes") / "assets" / "view.html").read_text(encoding="utf-8")
        title = self.params.title + (f" · {stream}" if stream else "")
        fields = {"{{TITLE}}": title, "{{ROOT}}": root, "{{STREAM}}": stream}
        for key, value in fields.items():
            page = page.replace(key, html.escape(value, quote=True))
        return 200, "text/html; charset=utf-8", page.encode()

    def _frame(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        source = stream_param(query)
        got = self.frames.get(source, 0, timeout=0)
        if got is None:
            why = "has ended" if self.frames.ended(source) else "has no frame yet"
            return 404, TEXT, f"stream {source or 'of any source'!r} {why}\n".encode()
        return 200, "image/jpeg", got[1]

    def _stats(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        body = {
            "node": self.name,
            "uptime_s": round(time.time() - self._started, 1),
            "streams": self.frames.sources(),
            **self.stats.table(),
        }
        return 200, JSON, json.dumps(body).encode()
