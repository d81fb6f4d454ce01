"""The protocol between the phone page and the PhoneCamera, and one phone's connection.

One WebSocket per phone, at ``/ws?token=...``:

* page -> server, text: ``{"type": "hello", "client": ID, "name": NAME}`` first, once.
* server -> page, text: ``{"type": "welcome", "source": "phone/1", "window": N, "display": bool}``.
* page -> server, binary: a 4-byte big-endian sequence number, then a JPEG.
* server -> page, text: ``{"type": "ack", "seq": N, "dropped": bool}`` once the graph took
  the frame (or dropped it); the page sends its next frame only then, so no queue builds up
  on the network or in the server. With ``window`` N > 0 (and a PhoneDisplay), the page
  also keeps at most N frames in the graph whose result has not come back.
* server -> page, binary: a result: the frame's sequence number (4 bytes), its time in the
  graph in microseconds (4 bytes), then the annotated JPEG.
* server -> page, text: ``{"type": "error", "message": TEXT}`` when a frame was refused (its
  ack follows, as dropped); the page shows the text.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import struct

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from flowpose.nodes.phone_hub import PhoneHub

SEQ = struct.Struct(">I")  # upload header: the page's sequence number
RESULT_HEAD = struct.Struct(">II")  # result header: sequence number, microseconds in the graph
MAX_UPLOAD_BYTES = 8 << 20  # a 4K JPEG at high quality fits
# A hello is a few short strings; anything longer is not the page. Bounding it also bounds the
# nesting json can meet (a deeply nested hello used to raise RecursionError in the server).
MAX_HELLO_CHARS = 1024
# Decoded images are capped from the JPEG header, before decoding: 8 MB of JPEG can declare
# 12000x12000 pixels (430 MB decoded, seconds of CPU). 4096 is the largest the page asks for.
MAX_SIDE = 4096


class BadHello(ValueError):
    """The first message was not a hello the page would send."""


def parse_hello(message: str | bytes) -> tuple[str, str]:
    """The (client id, wanted name) of a hello message.

    Raises:
        BadHello: Not a text message, too long, not JSON (or nested too deeply for it), or no
            ``client``.
    """
    if not isinstance(message, str) or len(message) > MAX_HELLO_CHARS:
        raise BadHello(f"a hello is a text message of at most {MAX_HELLO_CHARS} characters")
    try:
        hello = json.loads(message)
        return str(hello["client"])[:64], str(hello.get("name") or "")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise BadHello(f"not a hello message ({type(exc).__name__})") from exc


def jpeg_size(data: bytes | memoryview, start: int = 0) -> tuple[int, int] | None:
    """Width and height declared by a JPEG's frame header (SOFn), without decoding it.

    Args:
        data: The JPEG bytes.
        start: Where the JPEG starts in ``data``.

    Returns:
        ``(width, height)``, or None when ``data`` is not a JPEG or has no frame header before
        its scan (the decoder then refuses it anyway).
    """
    view = memoryview(data)
    n = len(view)
    if n < start + 4 or view[start] != 0xFF or view[start + 1] != 0xD8:
        return None
    i = start + 2
    while i + 4 <= n:
        if view[i] != 0xFF:
            return None
        marker = view[i + 1]
        if marker == 0xFF:  # fill byte before a marker
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no frame header came first
            return None
        length = (view[i + 2] << 8) | view[i + 3]
        # SOF0..SOF15 carry the size, except DHT (C4), JPG (C8) and DAC (CC).
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if i + 9 > n:
                return None
            height = (view[i + 5] << 8) | view[i + 6]
            width = (view[i + 7] << 8) | view[i + 8]
            return width, height
        i += 2 + length
    return None


def error_message(text: str) -> str:
    return json.dumps({"type": "error", "message": text})


def ack_message(seq: int, dropped: bool) -> str:
    return json.dumps({"type": "ack", "seq": seq, "dropped": dropped})


def welcome_message(source: str, window: int, display: bool) -> str:
    return json.dumps({"type": "welcome", "source": source, "window": window, "display": display})


class PhoneConnection:
    """One phone's socket: acks and results go out through one sender task, in order."""

    def __init__(self, ws: ServerConnection, loop: asyncio.AbstractEventLoop, hub: PhoneHub) -> None:
        self.ws, self.loop, self.hub = ws, loop, hub
        self._acks: collections.deque[str] = collections.deque()
        self._result: bytes | None = None
        self._wake = asyncio.Event()

    def _call(self, fn: object, *args: object) -> None:
        # RuntimeError: the loop has closed; the server is gone, and so is the page's socket.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(fn, *args)  # type: ignore[arg-type]

    def ack(self, seq: int, dropped: bool) -> None:
        """Thread-safe: tell the page frame ``seq`` was taken (or dropped)."""
        self._call(self._push_ack, ack_message(seq, dropped))

    def deliver(self, message: bytes) -> None:
        """Thread-safe: send a result; one not yet sent is replaced (latest wins)."""
        self._call(self._push_result, message)

    def _push_ack(self, text: str) -> None:
        self._acks.append(text)
        self._wake.set()

    def _push_result(self, message: bytes) -> None:
        if self._result is not None:
            self.hub.counters["results_skipped"] += 1  # the phone's link is slower than the graph
        self._result = message
        self._wake.set()

    async def send_loop(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._acks:
                    await self.ws.send(self._acks.popleft())
                if self._result is not None:
                    message, self._result = self._result, None
                    await self.ws.send(message)
        except ConnectionClosed:
            pass  # the receiving side notices too and cleans up
