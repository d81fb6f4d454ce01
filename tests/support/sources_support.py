"""Helpers for the source-node tests: a recording sink, small media files, and an MJPEG server.

The server speaks what phone apps (DroidCam, IP Webcam) speak: one long HTTP response of
``multipart/x-mixed-replace`` JPEG parts. It can drop a client and go away for a while, as a
phone does when its screen locks, and come back on the same port.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from flowpose.frame import Frame
from flowpose.node import Node


@dataclass(frozen=True)
class Seen:
    """What the Record sink keeps of a frame (not the image: real videos would fill memory)."""

    frame_id: int
    capture_ns: int
    shape: tuple[int, ...]
    level: int  # mean brightness of the image, to check order
    meta: dict[str, Any]


SEEN: dict[str, list[Seen]] = defaultdict(list)
_lock = threading.Lock()


class Record(Node):
    """Sink that records frame ids, capture times, shapes and brightness."""

    def process(self, frame: Frame) -> None:
        seen = Seen(frame.frame_id, frame.capture_ns, frame.image.shape, round(float(frame.image.mean())), frame.meta)
        with _lock:
            SEEN[self.name].append(seen)


def level_image(level: int, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    """A flat grey BGR image of brightness ``level`` (survives lossy coding to within a few units)."""
    return np.full((size[1], size[0], 3), level, dtype=np.uint8)


COUNTER_BITS = 16
_BLOCK = 8  # pixels per side of one bit's block: JPEG's own block size, so bits never blur together


def counter_image(number: int, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    """A BGR image with ``number`` (mod 2**16) written as black/white 8x8 blocks, LSB first, row by row."""
    image = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    per_row = size[0] // _BLOCK
    for bit in range(COUNTER_BITS):
        if number >> bit & 1:
            y, x = divmod(bit, per_row)
            image[y * _BLOCK : (y + 1) * _BLOCK, x * _BLOCK : (x + 1) * _BLOCK] = 255
    return image


def read_counter(image: np.ndarray) -> int:
    """The number :func:`counter_image` wrote, read back from a (JPEG-decoded) image."""
    per_row = image.shape[1] // _BLOCK
    number = 0
    for bit in range(COUNTER_BITS):
        y, x = divmod(bit, per_row)
        block = image[y * _BLOCK + 2 : (y + 1) * _BLOCK - 2, x * _BLOCK + 2 : (x + 1) * _BLOCK - 2]
        number |= int(block.mean() > 128) << bit
    return number


def write_video(path: Path, levels: list[int], fps: float = 25.0, size: tuple[int, int] = (64, 48)) -> Path:
    """Write an mp4 whose frames have the given brightness levels."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert writer.isOpened(), "OpenCV cannot write mp4v here"
    for level in levels:
        writer.write(level_image(level, size))
    writer.release()
    return path


class MjpegServer:
    """An MJPEG-over-HTTP camera on 127.0.0.1 serving ``/video``; 404 for other paths.

    Args:
        fps: Rate of the parts.
        drop_after: Parts sent on the first connection before the server drops it and goes
            away for ``down_s`` seconds (None: never).
        down_s: How long the server stays away after the drop.
        stall_after: Parts sent on the first connection before it goes silent (connection
            kept open) for ``stall_s`` seconds (None: never).
        stall_s: Length of the silence.
        stamped: Write the server-wide part counter into each image (:func:`counter_image`)
            instead of a brightness level, so a client can tell how far behind it is.

    Attributes:
        newest: The counter of the last part sent, over all connections (-1 before any).
    """

    boundary = "flowposeframe"

    def __init__(
        self,
        fps: float = 50.0,
        drop_after: int | None = None,
        down_s: float = 0.5,
        stall_after: int | None = None,
        stall_s: float = 5.0,
        stamped: bool = False,
    ) -> None:
        self.fps, self.drop_after, self.down_s = fps, drop_after, down_s
        self.stall_after, self.stall_s = stall_after, stall_s
        self.stamped = stamped
        self.newest = -1
        self.connections = 0
        self.closed = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self._start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/video"

    def _start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

            def do_GET(self) -> None:
                if self.path != "/video":
                    self.send_error(404)
                    return
                owner.connections += 1
                owner._stream(self.wfile, first=owner.connections == 1)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _stream(self, out: Any, first: bool) -> None:
        header = f"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary={self.boundary}\r\n\r\n"
        try:
            out.write(header.encode())
            sent = 0
            while not self.closed.is_set():
                if first and sent == self.drop_after:
                    # Stop listening before the client sees the connection close, so its
                    # first reconnect attempt is refused, as with a phone that went away.
                    self._stop_listening()
                    threading.Thread(target=self._come_back, daemon=True).start()
                    return  # the handler returns: the connection is closed
                if first and sent == self.stall_after:
                    self.closed.wait(self.stall_s)
                    return
                number = self.newest + 1
                image = counter_image(number) if self.stamped else level_image(sent % 200 + 20)
                jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
                part = f"--{self.boundary}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                out.write(part.encode() + jpeg + b"\r\n")
                out.flush()
                self.newest = number
                sent += 1
                self.closed.wait(1.0 / self.fps)
        except OSError:  # the client went away
            return

    def _stop_listening(self) -> None:
        assert self._server is not None
        self._server.shutdown()  # safe here: handlers run in their own threads
        self._server.server_close()

    def _come_back(self) -> None:
        if not self.closed.wait(self.down_s):
            self._start()  # same port: a phone app coming back

    def close(self) -> None:
        self.closed.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (closed right after being picked)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
