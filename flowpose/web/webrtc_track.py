"""The newest frame of each stream, and the WebRTC video track that always sends it.

The graph thread only stores a reference to each new image (:meth:`NewestFrames.put`); every
viewer's track waits in the asyncio loop for a version newer than the one it sent last and
takes whatever is newest then. Nothing queues: a viewer whose encoder is slower than the
graph skips frames instead of falling behind, and the graph never waits for a viewer.

Needs ``aiortc`` (the ``webrtc`` extra): import this module only when it is installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from aiortc import VideoStreamTrack
from aiortc.mediastreams import MediaStreamError

CLOCK_RATE = 90_000  # RTP's video clock
TIME_BASE = Fraction(1, CLOCK_RATE)


@dataclass(frozen=True)
class Newest:
    """One stream's newest frame.

    Attributes:
        stream: The stream id (``Frame.source``).
        version: Counts the stream's frames, from 1; a track sends each version at most once.
        image: H x W x 3 uint8 BGR, shared with the graph (never written to).
        capture_ns: The frame's capture time (ns since the epoch).
    """

    stream: str
    version: int
    image: np.ndarray
    capture_ns: int


class NewestFrames:
    """The newest frame of every stream: written from any thread, awaited in one asyncio loop.

    Args:
        loop: The loop the tracks run in; writers wake it with ``call_soon_threadsafe``.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._latest: dict[str, Newest] = {}
        self._changed = asyncio.Event()  # replaced after each wake-up: waiters hold the one they saw
        self._wake_pending = False
        self._closed = False

    def put(self, stream: str, image: np.ndarray, capture_ns: int) -> None:
        """Make ``image`` the newest of ``stream`` (cheap: keeps a reference; frames are immutable)."""
        with self._lock:
            old = self._latest.get(stream)
            self._latest[stream] = Newest(stream, old.version + 1 if old else 1, image, capture_ns)
            # One wake-up in flight at a time: at 1000 fps the loop still sees one callback per turn.
            schedule, self._wake_pending = not self._wake_pending, True
        if schedule:
            with contextlib.suppress(RuntimeError):  # the loop is closed: the view is stopping
                self._loop.call_soon_threadsafe(self._wake)

    def end(self, stream: str) -> None:
        """Forget ``stream`` (it ended); its viewers wait for it to come back."""
        with self._lock:
            self._latest.pop(stream, None)

    def streams(self) -> list[str]:
        """The streams that have a frame, in the order they first sent one."""
        with self._lock:
            return list(self._latest)

    def close(self) -> None:
        """End every track (call in the loop, or through ``call_soon_threadsafe``)."""
        with self._lock:
            self._closed = True
        self._wake()

    def _wake(self) -> None:
        with self._lock:
            self._wake_pending = False
            changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def next(self, stream: str, after: int) -> Newest | None:
        """The newest frame of ``stream`` with a version above ``after``; None once closed.

        Args:
            stream: A stream id; "" means the first stream that sent a frame.
            after: The version the caller has already.
        """
        while True:
            with self._lock:
                if self._closed:
                    return None
                changed = self._changed
                found = self._latest.get(stream) if stream else next(iter(self._latest.values()), None)
            if found is not None and found.version > after:
                return found
            await changed.wait()


class NewestFrameTrack(VideoStreamTrack):
    """A video track that sends the newest frame of one stream each time the encoder asks.

    Args:
        frames: Where the frames come from.
        stream: The stream to send; "" picks the first stream that has a frame and then sticks
            to it (a stream that starts later does not take the viewer away).
    """

    kind = "video"

    def __init__(self, frames: NewestFrames, stream: str = "") -> None:
        super().__init__()
        self.frames = frames
        self.stream = stream
        self.sent = 0  # frames handed to the encoder
        self._version = 0
        self._t0: float | None = None
        self._pts = -1

    async def recv(self) -> av.VideoFrame:
        """The next frame to encode: waits until the stream has one this track has not sent."""
        got = await self.frames.next(self.stream, self._version)
        if got is None:
            self.stop()
            raise MediaStreamError
        if not self.stream:
            self.stream = got.stream
        self._version = got.version
        image = got.image
        # yuv420p, what VP8 and H.264 encode, needs even sides.
        height, width = image.shape[0] & ~1, image.shape[1] & ~1
        if (height, width) != image.shape[:2]:
            image = image[:height, :width]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
        # Timestamps from the clock at sending, not from capture: the receiver plays frames
        # at the pace they leave, and capture times of a file source may run far ahead.
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
        self._pts = max(int((now - self._t0) * CLOCK_RATE), self._pts + 1)
        frame.pts, frame.time_base = self._pts, TIME_BASE
        self.sent += 1
        return frame
