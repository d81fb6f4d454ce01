"""Signalling over plain HTTP and one aiortc peer connection per viewer.

The browser POSTs its SDP offer (with all its ICE candidates: no trickle) to ``/offer`` and
gets the answer back in the response; after that, media flows over SRTP/UDP directly between
the browser and aiortc. Two threads: a stdlib HTTP server (pages, JSON, offers) and an asyncio
loop that owns every peer connection and track. HTTP handlers hand offers to the loop with
``run_coroutine_threadsafe`` and wait for the answer.

Needs ``aiortc`` (the ``webrtc`` extra): import this module only when it is installed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription

from flowpose.web.plain_handler import PlainHandler
from flowpose.web.webrtc_track import NewestFrames, NewestFrameTrack

log = logging.getLogger(__name__)
# aioice logs every ICE candidate check at INFO: a dozen lines per viewer in flowpose's log.
if logging.getLogger("aioice").level == logging.NOTSET:
    logging.getLogger("aioice").setLevel(logging.WARNING)

MAX_OFFER_BYTES = 256 * 1024  # an offer is a few kB; anything far larger is not one
ANSWER_TIMEOUT_S = 30.0
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"


class OfferError(ValueError):
    """The POSTed offer is not one we can answer (status 400 or 503)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Viewers:
    """The open peer connections, each with its track; lives in the asyncio loop.

    Args:
        frames: Where the tracks take their frames.
        ice_servers: STUN/TURN URLs given to every connection (none on a LAN).
        max_viewers: Offers beyond this many open connections are refused (each viewer costs
            one encode per frame).
    """

    def __init__(self, frames: NewestFrames, ice_servers: list[str], max_viewers: int) -> None:
        self.frames = frames
        self.ice_servers = ice_servers
        self.max_viewers = max_viewers
        self.peers: dict[RTCPeerConnection, NewestFrameTrack] = {}

    async def answer(self, offer: RTCSessionDescription, stream: str) -> RTCSessionDescription:
        """Open a connection that sends ``stream`` ("" = the first) and answer ``offer``."""
        if len(self.peers) >= self.max_viewers:
            raise OfferError(503, f"already {len(self.peers)} viewers (max_viewers); try again later")
        # An empty list, not None: aiortc's default is a public STUN server, a lookup on the
        # internet that a LAN view does not need and an offline machine waits on.
        servers = [RTCIceServer(urls=url) for url in self.ice_servers]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        track = NewestFrameTrack(self.frames, stream)
        self.peers[pc] = track

        @pc.on("connectionstatechange")
        async def _state() -> None:
            log.debug("viewer %x: %s", id(pc), pc.connectionState)
            if pc.connectionState in ("failed", "closed"):
                await self.drop(pc)

        try:
            await pc.setRemoteDescription(offer)
            if not any(t.kind == "video" for t in pc.getTransceivers()):
                raise OfferError(400, "the offer has no video section (addTransceiver('video') first)")
            pc.addTrack(track)
            await pc.setLocalDescription(await pc.createAnswer())
        except OfferError:
            await self.drop(pc)
            raise
        except ValueError as exc:  # aiortc's word for an SDP it cannot use
            await self.drop(pc)
            raise OfferError(400, f"cannot answer this offer: {exc}") from exc
        except Exception as exc:  # anything else from a stranger's SDP must not leak the connection
            log.warning("offer failed", exc_info=True)
            await self.drop(pc)
            raise OfferError(500, f"cannot answer this offer: {type(exc).__name__}: {exc}") from exc
        log.info("viewer %x connected to stream %r (%d watching)", id(pc), stream or "(first)", len(self.peers))
        return pc.localDescription

    async def drop(self, pc: RTCPeerConnection) -> None:
        """Close ``pc`` and forget it (a viewer left, failed, or the view stops)."""
        track = self.peers.pop(pc, None)
        if track is not None:
            track.stop()
            log.info("viewer %x left after %d frames (%d watching)", id(pc), track.sent, len(self.peers))
        await pc.close()

    async def close(self) -> None:
        self.frames.close()
        await asyncio.gather(*(self.drop(pc) for pc in list(self.peers)))


Route = Callable[[dict[str, list[str]]], tuple[int, str, bytes]]


class WebRTCServer:
    """Serves ``routes`` over HTTP, answers ``POST /offer``, and runs the peers' asyncio loop.

    Args:
        host: Bind address of the HTTP server.
        port: TCP port, 0 for any free one.
        routes: Plain GET responses by path (handler gets the query, returns status, type, body).
        ice_servers: STUN/TURN URLs for the peer connections.
        max_viewers: How many viewers at once.

    Raises:
        OSError: The port cannot be bound.
    """

    def __init__(
        self, host: str, port: int, routes: dict[str, Route], ice_servers: list[str], max_viewers: int
    ) -> None:
        self.routes = routes
        self.loop = asyncio.new_event_loop()
        self.frames = NewestFrames(self.loop)
        self.viewers = Viewers(self.frames, ice_servers, max_viewers)
        handler = type("Handler", (_Handler,), {"server_": self})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self._loop_thread = threading.Thread(target=self.loop.run_forever, name="flowpose:webrtc", daemon=True)
        self._http_thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.1,), name="flowpose:webrtc-http", daemon=True
        )

    def start(self) -> None:
        self._loop_thread.start()
        self._http_thread.start()

    def viewer_count(self) -> int:
        return len(self.viewers.peers)

    def answer(self, body: bytes) -> dict[str, str]:
        """Answer a POSTed offer ``{"sdp", "type", "stream"}`` (called in an HTTP thread).

        Raises:
            OfferError: The body is not a usable offer, or too many viewers watch.
        """
        try:
            data = json.loads(body)
            offer = RTCSessionDescription(sdp=str(data["sdp"]), type=str(data["type"]))
            stream = str(data.get("stream") or "")
        except (ValueError, KeyError, TypeError) as exc:
            raise OfferError(400, 'the body must be JSON {"sdp": ..., "type": "offer", "stream": ...}') from exc
        if offer.type != "offer":
            raise OfferError(400, f"expected an SDP offer, got type {offer.type!r}")
        future = asyncio.run_coroutine_threadsafe(self.viewers.answer(offer, stream), self.loop)
        try:
            answer = future.result(ANSWER_TIMEOUT_S)
        except TimeoutError as exc:
            future.cancel()
            raise OfferError(504, f"no answer within {ANSWER_TIMEOUT_S:.0f} s") from exc
        return {"sdp": answer.sdp, "type": answer.type}

    def stop(self) -> None:
        """Close every viewer, the loop and the HTTP server."""
        if self._loop_thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(self.viewers.close(), self.loop).result(5.0)
            except TimeoutError:
                log.warning("viewers did not close within 5 s")
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._loop_thread.join(5.0)
        if self._http_thread.is_alive():
            self.httpd.shutdown()
            self._http_thread.join(2.0)
        self.httpd.server_close()
        if not self._loop_thread.is_alive():
            self.loop.close()


class _Handler(PlainHandler):
    server_: WebRTCServer

    def do_GET(self) -> None:  # noqa: N802 (http.server calls it by this name)
        url = urlsplit(self.path)
        route = self.server_.routes.get(url.path)
        if route is None:
            self._send(404, TEXT, b"Not found\n")
            return
        self._send(*route(parse_qs(url.query)))

    def do_POST(self) -> None:  # noqa: N802 (http.server calls it by this name)
        if urlsplit(self.path).path != "/offer":
            self._send(404, TEXT, b"Not found\n")
            return
        try:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 < length <= MAX_OFFER_BYTES:
                raise OfferError(400, f"an offer needs a body of 1 to {MAX_OFFER_BYTES} bytes, got {length}")
            answer = self.server_.answer(self.rfile.read(length))
        except OfferError as exc:
            self._send(exc.status, TEXT, f"{exc}\n".encode())
            return
        self._send(200, JSON, json.dumps(answer).encode())
