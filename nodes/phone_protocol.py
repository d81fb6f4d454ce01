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
