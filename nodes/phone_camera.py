"""The PhoneCamera source: phones stream their camera from a web page; no app to install.

The node serves a page over HTTPS on the LAN (self-signed certificate, kept under
:func:`flowpose.web.home.config_dir`). A phone opens the printed URL (or scans the QR code),
allows the camera, and streams JPEG frames over a WebSocket, one at a time: the next frame
leaves the phone only when the graph has taken the previous one. Each phone is a source of
its own (``phone/1``, ``phone/2``, or ``phone/NAME`` with ``?name=NAME`` in the URL) and keeps
its name when it reconnects. A :class:`~flowpose.nodes.phone_display.PhoneDisplay` sends the
annotated frames back to the page that sent them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any, Literal

import cv2
import numpy as np
from pydantic import Field

from flowpose.frame import EndOfStream, Frame
from flowpose.node import NodeParams, Source
from flowpose.nodes.phone_hub import PhoneHub, register
from flowpose.nodes.phone_server import PhoneServer, ServerSettings
from flowpose.nodes.stream_phones import PhoneStreams
from flowpose.streams import StreamInfo
from flowpose.streams import register as register_control
from flowpose.streams import unregister as unregister_control
from flowpose.web.home import TOKEN_FILE, config_dir, load_token
from flowpose.web.lan import ANY_ADDRESS, lan_addresses, url_host
from flowpose.web.qr import print_banner
from flowpose.web.tls import ensure_certificate

# The source waits for uploads on a condition; the timeout only bounds how long a graph stop
# waits for a source with no phone sending (frames wake it at once).
STOP_CHECK_S = 0.2


def render_page(config: Mapping[str, Any]) -> bytes:
    """The phone page with its script, style and ``config`` inlined (one request loads it all)."""
    assets = resources.files("flowpose.nodes") / "assets"
    page = (assets / "phone.html").read_text(encoding="utf-8")
    # "</" cannot end the script early once escaped; the JSON stays valid JavaScript.
    config_js = "window.FLOWPOSE_CONFIG = " + json.dumps(dict(config)).replace("</", "<\\/") + ";"
    page = page.replace("/*PHONE_CSS*/", (assets / "phone.css").read_text(encoding="utf-8"))
    page = page.replace("/*PHONE_CONFIG*/", config_js)
    page = page.replace("/*PHONE_JS*/", (assets / "phone.js").read_text(encoding="utf-8"))
    return page.encode("utf-8")


class PhoneCamera(Source):
    """Live frames from phones' browsers over HTTPS + WebSocket (a page to open, no app); one source per phone.

    Each phone is a stream that ``flowpose serve`` lists, pauses and removes (phones join from
    the page, so streams are not added from there).
    """

    class Params(NodeParams):
        host: str = Field("0.0.0.0", description="Address to bind; 0.0.0.0 = every interface, so phones can reach it.")
        port: int = Field(8443, ge=0, le=65535, description="HTTPS port; 0 = any free port (see the printed URL).")
        advertise: str = Field(
            "", description="Address or name to put in the printed URL; default: this machine's LAN address."
        )
        token: str = Field(
            "",
            pattern=r"^$|^[A-Za-z0-9_-]{16,128}$",
            description="Session token required in the URL; default: one made on first use and kept in "
            "$FLOWPOSE_HOME (or ~/.config/flowpose), so bookmarks keep working.",
        )
        width: int = Field(640, ge=16, le=4096, description="Camera width the page asks for (the phone may adapt).")
        height: int = Field(480, ge=16, le=4096, description="Camera height the page asks for.")
        facing: Literal["environment", "user"] = Field(
            "environment", description="Camera the page starts with: environment (back) or user (front)."
        )
        quality: float = Field(0.7, gt=0, le=1, description="JPEG quality the page encodes frames at.")
        window: int = Field(
            2,
            ge=0,
            le=16,
            description="With a PhoneDisplay: frames a page may have in the graph before their result is back "
            "(about the number of slow stages). 0 = no limit: send as soon as the graph took the previous frame.",
        )
        banner: bool = Field(True, description="Print the URL, certificate fingerprint and a QR code on start.")

    def __init__(self, name: str, params: NodeParams | Mapping[str, Any] | None = None) -> None:
        super().__init__(name, params)
        # Registered now, not in setup(): a PhoneDisplay starting first (sinks start first)
        # can already tell a typo in its `camera` param from a camera still starting.
        self.hub = PhoneHub(name)
        register(self.hub)
        self._server: PhoneServer | None = None
        self.certificate_fingerprint = ""
        self.streams = PhoneStreams(name, self.hub.connected, lambda: self.hub.url.split("?token=")[0])

    def is_live(self) -> bool:
        return True

    def setup(self) -> None:
        p = self.params
        self.hub.counters = self.counters  # the hub's events show in the node's stats
        folder = config_dir()
        token = p.token or load_token(folder)
        lan = lan_addresses()
        shown = p.advertise or (p.host if p.host not in ANY_ADDRESS else (lan[0] if lan else "127.0.0.1"))
        cert = ensure_certificate(folder, list(dict.fromkeys([*lan, shown])))
        self.certificate_fingerprint = cert.fingerprint
        page = render_page(
            {"width": p.width, "height": p.height, "facing": p.facing, "quality": p.quality, "window": p.window}
        )
        settings = ServerSettings(p.host, p.port, cert.server_context(), token, page, p.window)
        self._server = PhoneServer(self.hub, settings, self.log)
        try:
            port = self._server.start()
        except OSError as exc:
            raise OSError(
                f"PhoneCamera {self.name!r} cannot listen on {p.host}:{p.port} ({exc}); "
                f"pick another with --set {self.name}.port=8444 (0 = any free port)"
            ) from exc
        self.hub.port = port
        self.hub.url = f"https://{url_host(shown)}:{port}/?token={token}"
        self.hub.serving.set()
        register_control(self)
        # The token stays out of the log (logs get shared); the banner shows the whole URL.
        where = f"the {self.name}.token param" if p.token else str(folder / TOKEN_FILE)
        self.log.info(
            "phones: open %s?token=... (the banner shows the whole URL; the token is %s; certificate SHA-256 %s)",
            self.hub.url.split("?token=")[0],
            where,
            cert.fingerprint,
        )
        self.log.debug("phones: full URL %s", self.hub.url)
        if p.banner:
            print_banner(
                f"PhoneCamera {self.name!r}: open this on a phone on the same network (or scan the code)",
                self.hub.url,
                [
                    "the browser warns about the self-signed certificate once; accept it if its",
                    f"SHA-256 fingerprint is {cert.fingerprint}",
                ],
            )

    def frames(self) -> Iterator[Frame | EndOfStream]:
        hub = self.hub
        while not self.stopping.is_set():
            upload = hub.take(STOP_CHECK_S)
            for removed in self.streams.ends_due():
                self.log.info("phone %s removed", removed)
                yield EndOfStream(self.name, removed)
            if upload is None:
                continue
            if not self.streams.accept(upload.source):  # paused or removed: the page sends on
                upload.ack(True)
                continue
            # Acked before decoding: the phone's next frame travels while this one is decoded.
            upload.ack(False)
            image = cv2.imdecode(np.frombuffer(upload.jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
            if image is None:
                self.counters["bad_frames"] += 1
                self.log.warning("%s sent a frame that is not a JPEG image (%d bytes)", upload.source, len(upload.jpeg))
                continue
            image.setflags(write=False)  # frames are immutable once sent
            yield self.make_frame(
                image, capture_ns=upload.received_ns, source=upload.source, meta={"phone_seq": upload.seq}
            )

    def close(self) -> None:
        unregister_control(self)
        self.hub.close()
        if self._server is not None:
            self._server.stop()
            self._server = None

    # --- StreamControl: one stream per phone ----------------------------------------------

    def list_streams(self) -> list[StreamInfo]:
        return self.streams.list()

    def add_stream(self, source: Any, stream_id: str | None = None) -> StreamInfo:
        return self.streams.add()

    def remove_stream(self, stream_id: str) -> None:
        self.streams.remove(stream_id)
        self.hub.wake()  # its end goes out now, not with the next upload

    def pause_stream(self, stream_id: str, paused: bool) -> StreamInfo:
        return self.streams.pause(stream_id, paused)

    def drop_connections(self) -> None:
        """Cut every phone's connection as a lost network would (the pages reconnect); for tests."""
        if self._server is not None:
            self._server.drop_connections()
