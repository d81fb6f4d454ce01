"""The BrowserView sink: the live annotated stream and a stats table in any browser.

``http://HOST:PORT/`` shows one MJPEG stream per source and a table refreshed every second;
``/stream.mjpg?source=NAME`` is the stream on its own (VLC, ffplay, an <img> elsewhere),
``/frame.jpg?source=NAME`` the newest frame, ``/stats.json`` the figures. It binds to
127.0.0.1 by default: set ``host: 0.0.0.0`` to show the view to other machines (it has no
token, unlike the phone page).
"""

from __future__ import annotations

import json
import time
from importlib import resources

from pydantic import Field

from flowpose.frame import Frame
from flowpose.node import Node, NodeParams
from flowpose.nodes.browser_view_stats import TraceStats
from flowpose.web.lan import lan_addresses, url_host
from flowpose.web.mjpeg import LatestFrames, ViewServer
from flowpose.web.qr import print_banner

JSON = "application/json"


class BrowserView(Node):
    """Serves the live stream (MJPEG) and a stats table at http://127.0.0.1:PORT for any browser."""

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
        lan = lan_addresses()
        shown = lan[0] if p.host in ("", "0.0.0.0", "::") and lan else p.host
        self.url = f"http://{url_host(shown)}:{self.server.port}/"
        self.log.info("live view at %s", self.url)
        if p.banner:
            print_banner(f"BrowserView {self.name!r}", self.url, [], qr=shown not in ("127.0.0.1", "localhost", "::1"))

    def process(self, frame: Frame) -> None:
        self.frames.put(frame.source, frame.image)
        self.stats.add(frame)
        return None

    def close(self) -> None:
        server = getattr(self, "server", None)
        if server is not None:
            server.stop()

    # -- routes (run in the server's threads) -------------------------------------------------

    def _page(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        page = (resources.files("flowpose.nodes") / "assets" / "view.html").read_text(encoding="utf-8")
        title = self.params.title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return 200, "text/html; charset=utf-8", page.replace("{{TITLE}}", title).encode()

    def _frame(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        source = query.get("source", [""])[0]
        got = self.frames.get(source, 0, timeout=0)
        if got is None:
            return 404, "text/plain; charset=utf-8", f"no frame from {source or 'any source'!r} yet\n".encode()
        return 200, "image/jpeg", got[1]

    def _stats(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        body = {"node": self.name, "uptime_s": round(time.time() - self._started, 1), **self.stats.table()}
        return 200, JSON, json.dumps(body).encode()
