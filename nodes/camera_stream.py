"""Reading one Camera stream: pacing files, the grab thread of live sources, end and reconnects.

A :class:`CameraReader` is what a Camera does with one ``source``: a single-source Camera
runs it in the node's own thread, a Camera with ``sources:`` runs one per stream in a
:class:`~flowpose.nodes.stream_set.StreamSet`. Opening lives in
:mod:`flowpose.nodes.camera_open`, the grab thread in :mod:`flowpose.nodes.camera_grabber`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from flowpose.nodes.camera_capture import Capture, CaptureError, OpenSettings
from flowpose.nodes.camera_grabber import LatestGrabber
from flowpose.nodes.camera_open import open_capture
from flowpose.nodes.camera_target import CaptureTarget
from flowpose.nodes.stream_set import ReadContext, StreamItem

#: How long the reader waits for the grab thread at a time; bounds how late it notices a stop.
TAKE_WAIT_S = 0.1
#: How long close() waits for the grab thread; one still inside a read releases the capture later.
GRABBER_CLOSE_S = 1.0


@dataclass(frozen=True)
class CameraSettings:
    """How a Camera reads each of its sources (its params, minus the sources themselves).

    Attributes:
        open: How to open a target.
        fps: Files and images with ``realtime``: playback rate (0 = their own).
        realtime: Pace files and images at their frame rate.
        live: Override whether a source is live (None: devices and URLs are).
        latest_only: Read live devices and URLs in a grab thread that keeps the newest image.
        reconnect_attempts: Attempts after a drop before giving up; 0 = forever.
        reconnect_delay: Seconds before the first attempt; doubles after each failure.
        reconnect_max_delay: Upper bound of the wait between attempts.
    """

    open: OpenSettings = field(default_factory=OpenSettings)
    fps: float = 0.0
    realtime: bool = False
    live: bool | None = None
    latest_only: bool = True
    reconnect_attempts: int = 0
    reconnect_delay: float = 0.5
    reconnect_max_delay: float = 10.0


class CameraReader:
    """One opened Camera source, read as :class:`StreamItem` s.

    Args:
        target: The parsed source.
        settings: The Camera's reading settings.
        source: The source as given (for listings).
    """

    def __init__(self, target: CaptureTarget, settings: CameraSettings, source: str | None = None) -> None:
        self.target = target
        self.settings = settings
        self.source = str(target.value) if source is None else source
        self.live = target.live if settings.live is None else settings.live
        # Only a live device or URL read by a grab thread keeps just the newest image.
        self.grabs = target.live and self.live and settings.latest_only
        self.lossless = not self.grabs
        self.state = "running"
        self._capture: Capture | None = None
        self._grabber: LatestGrabber | None = None

    def open(self) -> CameraReader:
        """Open the source (not retried: a wrong address is an error in seconds)."""
        self._capture = open_capture(self.target, self.settings.open)
        return self

    def close(self) -> None:
        if self._grabber is not None:
            self._grabber.close(GRABBER_CLOSE_S)
            self._grabber = None
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def items(self, ctx: ReadContext) -> Iterator[StreamItem]:
        """Read until a file ends or the reader must stop; live sources reconnect after a drop.

        Raises:
            CaptureError: A file gave no frame at all, or a live source did not come back
                within ``reconnect_attempts``.
        """
        if self.grabs:
            yield from self._newest(ctx)
            return
        period = self._period()
        next_t: float | None = None
        count = 0
        while self._capture is not None:
            if period:
                # Deadlines rather than fixed sleeps keep the average rate exact; after a
                # stall the schedule restarts from now instead of bursting to catch up.
                now = time.monotonic()
                next_t = now if next_t is None else max(next_t + period, now)
                if not ctx.pause(next_t - now):
                    return
            grabbed = self._capture.read()
            if grabbed is None:
                if not self.live:
                    self._ended(count, ctx)
                    return
                if not self._reconnect(count, ctx):
                    return
                next_t = None
                continue
            count += 1
            grabbed.image.setflags(write=False)  # frames are immutable once sent
            yield StreamItem(grabbed.image, grabbed.capture_ns, grabbed.meta)

    def _period(self) -> float:
        """Seconds between frames when pacing a file-like source, 0 for none."""
        if not self.settings.realtime or self.target.live or self._capture is None:
            return 0.0
        fps = self.settings.fps or self._capture.fps or 30.0
        return 1.0 / fps

    def _newest(self, ctx: ReadContext) -> Iterator[StreamItem]:
        """Items of a live source through a grab thread: each one the newest at the time."""
        count = 0
        while self._capture is not None:
            # The grabber owns the capture from here on and releases it when its thread ends.
            grabber = self._grabber = LatestGrabber(self._capture, f"{self.settings.open.node}:grab").start()
            self._capture = None
            while not grabber.ended:
                if ctx.stopped():
                    return
                taken = grabber.take(TAKE_WAIT_S)
                if taken is None:
                    continue
                grabbed, replaced = taken
                if replaced:
                    ctx.count("grab_dropped", replaced)
                count += 1
                yield StreamItem(grabbed.image, grabbed.capture_ns, grabbed.meta)
            self._grabber = None  # its thread has ended and released the dropped capture
            if not self._reconnect(count, ctx):
                return

    def _ended(self, count: int, ctx: ReadContext) -> None:
        """Log the end of a file-like source, warning when it is short of what it promised.

        Raises:
            CaptureError: When it gave no frame at all: an empty run is never a success.
        """
        what = self.target.describe()
        if count == 0:
            why = {
                "file": ": not even its first frame decodes (a damaged or incomplete file; check with `ffprobe`)",
                "images": ": OpenCV can read none of its images",
            }.get(self.target.kind, "")
            raise CaptureError(f"{what} gave no frames{why}")
        expected = self._capture.frame_count if self._capture is not None else 0
        # A header's count can be an estimate (duration x rate) off by a frame or so; a cut
        # file misses far more.
        if expected and expected - count > max(1, expected // 100):
            ctx.log.warning(
                "%s ended after %d of the %d frames its header promises: the file is cut short or damaged",
                what,
                count,
                expected,
            )
        else:
            ctx.log.info("%s ended after %d frames", what, count)

    def _reconnect(self, count: int, ctx: ReadContext) -> bool:
        """Reopen a dropped live source with exponential backoff.

        Returns:
            True once frames can flow again, False if the reader must stop.

        Raises:
            CaptureError: After ``reconnect_attempts`` failed attempts (when not 0).
        """
        s = self.settings
        what = self.target.describe()
        if self._capture is not None:
            self._capture.release()
        self.state = "reconnecting"
        delay, attempt, last_error = s.reconnect_delay, 0, ""
        ctx.log.warning("%s dropped after %d frames; reconnecting in %.1f s", what, count, delay)
        while s.reconnect_attempts == 0 or attempt < s.reconnect_attempts:
            attempt += 1
            if not ctx.pause(delay):
                return False
            try:
                self._capture = open_capture(self.target, s.open)
            except CaptureError as exc:
                last_error = str(exc)
                delay = min(delay * 2, s.reconnect_max_delay)
                if s.reconnect_attempts == 0 or attempt < s.reconnect_attempts:
                    ctx.log.warning("reconnect %d failed: %s; next try in %.1f s", attempt, last_error, delay)
                continue
            ctx.count("reconnects", 1)
            self.state = "running"
            ctx.log.info("%s is back after %d attempt(s)", what, attempt)
            return True
        self._capture = None
        raise CaptureError(f"{what} dropped and did not come back after {attempt} reconnect attempts: {last_error}")
