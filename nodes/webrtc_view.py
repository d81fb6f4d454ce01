"""The WebRTCView sink: the live annotated stream to any number of browsers over WebRTC.

``http://HOST:PORT/`` plays the first stream, ``/?stream=ID`` another (``Frame.source``);
``/streams.json`` lists the streams and counts the viewers; ``POST /offer`` is the signalling
(an SDP offer in, the answer out). Video is VP8 or H.264 as the browser prefers, at 0.25-3
Mbit/s with aiortc's rate control, against 4-7 Mbit/s for BrowserView's MJPEG: the view for
Wi-Fi and for several viewers. Each viewer always gets the newest frame (nothing queues) and
costs one encode per frame it is sent.

Needs the ``webrtc`` extra (``pip install 'flowpose[webrtc]'``, which brings aiortc); without
it, BrowserView's MJPEG works everywhere with nothing installed. The HTTP page binds to
127.0.0.1 by default; the media goes over UDP between the browser and whichever of the
machine's addresses ICE finds reachable.
"""

from __future__ import annotations

import importlib.util
import json
from typing import TYPE_CHECKING

from pydantic import Field

from flowpose.frame import Frame
from flowpose.node import Node, NodeParams
from flowpose.web.lan import view_url
from flowpose.web.qr import print_banner
from flowpose.web.webrtc_page import render_page

if TYPE_CHECKING:
    from flowpose.web.webrtc_server import WebRTCServer

MISSING = "WebRTCView needs aiortc: pip install 'flowpose[webrtc]' (or use BrowserView, MJPEG, nothing to install)"


def aiortc_missing() -> str | None:
    """Why WebRTCView cannot run here (aiortc is not installed), or None when it can."""
    return MISSING if importlib.util.find_spec("aiortc") is None else None


class WebRTCView(Node):
    """Serves the live stream over WebRTC (low bandwidth, any number of viewers) at http://127.0.0.1:PORT."""

    num_inputs = 1

    class Params(NodeParams):
        host: str = Field("127.0.0.1", description="Address of the page; 0.0.0.0 shows it to the whole network.")
        port: int = Field(8090, ge=0, le=65535, description="HTTP port; 0 or a taken port = any free port.")
        title: str = Field("flowpose", max_length=200, description="Title shown on the page.")
        max_viewers: int = Field(8, ge=1, le=64, description="Viewers at once; each costs one encode per frame.")
        ice_servers: list[str] = Field(
            default_factory=list,
            description="STUN/TURN URLs (e.g. stun:stun.l.google.com:19302) for viewers beyond the LAN; "
            "none needed on a LAN or this machine.",
        )
        banner: bool = Field(True, description="Print the URL on start (with a QR code when reachable from the LAN).")

    @classmethod
    def check(cls, params: NodeParams) -> list[tuple[str, str]]:
        problem = aiortc_missing()
        return [("", problem)] if problem else []

    def setup(self) -> None:
        problem = aiortc_missing()
        if problem:  # nodes built in code skip validation
            raise RuntimeError(problem)
        p = self.params
        self.server = self._bind(p.port)
        self.server.start()
        self.url, reachable = view_url(p.host, self.server.port)
        self.log.info("WebRTC view at %s", self.url)
        if p.banner:
            print_banner(f"WebRTCView {self.name!r}", self.url, [], qr=reachable)

    def _bind(self, port: int) -> WebRTCServer:
        """A server on ``port``, or on any free port when that one is taken (as Display's stand-in view)."""
        from flowpose.web.webrtc_server import WebRTCServer  # aiortc: the webrtc extra

        p = self.params
        routes = {"/": self._page, "/index.html": self._page, "/streams.json": self._streams}
        try:
            return WebRTCServer(p.host, port, routes, list(p.ice_servers), p.max_viewers)
        except OSError as exc:
            if port == 0:
                raise OSError(f"WebRTCView {self.name!r} cannot listen on {p.host} ({exc})") from exc
            # A viewer must not fail the graph over a busy port (a second graph, another app).
            self.log.info("port %d is taken (%s); using any free port", port, exc)
            return self._bind(0)

    def process(self, frame: Frame) -> None:
        self.server.frames.put(frame.source, frame.image, frame.capture_ns)
        return None

    def end_stream(self, stream: str) -> None:
        self.server.frames.end(stream)

    def close(self) -> None:
        server = getattr(self, "server", None)
        if server is not None:
            server.stop()

    # -- routes (run in the HTTP server's threads) ----------------------------------------------

    def _page(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        return 200, "text/html; charset=utf-8", render_page(self.params.title)

    def _streams(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        body = {"node": self.name, "streams": self.server.frames.streams(), "viewers": self.server.viewer_count()}
        return 200, "application/json", json.dumps(body).encode()
