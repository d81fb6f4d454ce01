"""The Camera source: webcams, video files, image folders and phone/IP streams (MJPEG, RTSP).

Parsing the ``source`` lives in :mod:`flowpose.nodes.camera_target`, opening in
:mod:`flowpose.nodes.camera_open`, reading in :mod:`flowpose.nodes.camera_capture`, the grab
thread of live sources in :mod:`flowpose.nodes.camera_grabber`; this module is the node:
pacing, end of stream and reconnecting live streams.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import Field, field_validator

from flowpose.frame import Frame
from flowpose.node import NodeParams, Source
from flowpose.nodes.camera_capture import Capture, CaptureError, OpenSettings
from flowpose.nodes.camera_grabber import LatestGrabber
from flowpose.nodes.camera_open import open_capture, unreadable_video
from flowpose.nodes.camera_target import CaptureTarget, missing_input, parse_source

#: How long frames() waits for the grab thread at a time; bounds how late it notices a stop.
TAKE_WAIT_S = 0.1
#: How long close() waits for the grab thread; one still inside a read releases the capture later.
GRABBER_CLOSE_S = 1.0


class Camera(Source):
    """Frames from a webcam, a video file, an image folder or glob, or an HTTP MJPEG / RTSP stream.

    Devices and URLs are live (buffers default to ``latest``; a dropped stream is
    reconnected with exponential backoff); files and images end with end-of-stream (buffers
    default to ``lossless``). Every frame carries its capture time, taken when it was grabbed.
    Live devices and URLs are read by a grab thread that keeps only the newest image, so a
    slow consumer always gets the newest frame, never a queued old one (``latest_only``).
    """

    class Params(NodeParams):
        source: int | str = Field(
            0,
            description="Webcam index (0), device path (/dev/video2), video file, image folder, glob "
            "('frames/*.png'), or stream URL (http://PHONE:4747/video for DroidCam, http://PHONE:8080/video "
            "for IP Webcam, rtsp://...).",
        )
        width: int = Field(0, ge=0, le=16384, description="Devices: requested width in pixels; 0 = device default.")
        height: int = Field(0, ge=0, le=16384, description="Devices: requested height in pixels; 0 = device default.")
        fps: float = Field(
            0.0,
            ge=0,
            description="Devices: requested frame rate. Files and images with realtime: playback rate "
            "(0 = the file's own rate; images 30).",
        )
        fourcc: str = Field(
            "",
            pattern=r"^(|[ -~]{4})$",
            description="Devices: requested pixel format, e.g. 'MJPG' (many USB webcams need it for 30 fps at 720p).",
        )
        realtime: bool = Field(
            False, description="Files and images: play at their frame rate, like a camera, instead of at full speed."
        )
        live: bool | None = Field(
            None,
            description="Override whether the source is live (null: devices and URLs are, files and images are "
            "not). Live: buffers default to 'latest' and a drop means reconnect; otherwise it means end-of-stream.",
        )
        open_timeout: float = Field(5.0, gt=0, le=300, description="Seconds to wait for a stream to connect.")
        read_timeout: float = Field(
            5.0, gt=0, le=300, description="Seconds without a frame before a stream counts as dropped."
        )
        latest_only: bool = Field(
            True,
            description="Live devices and URLs: read in a grab thread that keeps only the newest frame, so a "
            "slow consumer never sees queued old ones (frames replaced unseen count as grab_dropped). "
            "false: read only when asked, so every frame is delivered, late behind a slow consumer.",
        )
        reconnect_attempts: int = Field(
            0, ge=0, description="Live sources: attempts to reconnect after a drop before failing; 0 = forever."
        )
        reconnect_delay: float = Field(
            0.5, gt=0, le=300, description="Seconds before the first reconnect attempt; doubles after each failure."
        )
        reconnect_max_delay: float = Field(10.0, gt=0, le=3600, description="Upper bound of the reconnect wait, s.")
        ffmpeg_options: str = Field(
            "",
            description="FFmpeg options for streams as 'key;value|key;value', e.g. 'rtsp_transport;udp', or "
            "'rtsp_flags;listen' to receive a stream pushed to this machine. Replaces OpenCV's defaults.",
        )

        @field_validator("source")
        @classmethod
        def _parseable(cls, value: int | str) -> int | str:
            parse_source(value)  # raises ValueError with a readable reason
            return value

    @classmethod
    def check(cls, params: NodeParams) -> list[tuple[str, str]]:
        assert isinstance(params, cls.Params)
        target = parse_source(params.source)
        problem = missing_input(target)
        if problem is None and target.kind == "file":
            problem = unreadable_video(str(target.value))
        return [("source", problem)] if problem else []

    def __init__(self, name: str, params: NodeParams | Mapping[str, Any] | None = None) -> None:
        super().__init__(name, params)
        self._target: CaptureTarget = parse_source(self.params.source)
        self._capture: Capture | None = None
        self._grabber: LatestGrabber | None = None

    def is_live(self) -> bool:
        live = self.params.live
        return self._target.live if live is None else live

    def _settings(self) -> OpenSettings:
        p = self.params
        return OpenSettings(
            width=p.width,
            height=p.height,
            fps=p.fps,
            fourcc=p.fourcc,
            open_timeout_s=p.open_timeout,
            read_timeout_s=p.read_timeout,
            ffmpeg_options=p.ffmpeg_options,
            node=self.name,
        )

    def setup(self) -> None:
        # The first open is not retried: a wrong address should be an error in seconds.
        # (A graph that must wait for a phone can use `restart: on-failure`.)
        self._capture = open_capture(self._target, self._settings())
        self.log.info("reading %s (%s)", self._target.describe(), "live" if self.is_live() else "file-like")

    def close(self) -> None:
        if self._grabber is not None:
            if not self._grabber.close(GRABBER_CLOSE_S):
                self.log.debug("grab thread still inside a read; it releases the source when that returns")
            self._grabber = None
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def _period(self) -> float:
        """Seconds between frames when pacing a file-like source, 0 for none."""
        if not self.params.realtime or self._target.live or self._capture is None:
            return 0.0
        fps = self.params.fps or self._capture.fps or 30.0
        return 1.0 / fps

    def _grabs(self) -> bool:
        """Whether frames come through a grab thread: live devices and URLs, never files."""
        return self._target.live and self.is_live() and self.params.latest_only

    def frames(self) -> Iterator[Frame]:
        if self._grabs():
            yield from self._newest_frames()
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
                if not self.pause(next_t - now):
                    return
            grabbed = self._capture.read()
            if grabbed is None:
                if not self.is_live():
                    self._ended(count)
                    return
                if not self._reconnect(count):
                    return
                next_t = None
                continue
            count += 1
            grabbed.image.setflags(write=False)  # frames are immutable once sent
            yield self.make_frame(grabbed.image, capture_ns=grabbed.capture_ns, meta=grabbed.meta)

    def _newest_frames(self) -> Iterator[Frame]:
        """Frames of a live source through a grab thread: each one the newest at the time."""
        count = 0
        while self._capture is not None:
            # The grabber owns the capture from here on and releases it when its thread ends.
            grabber = self._grabber = LatestGrabber(self._capture, f"{self.name}:grab").start()
            self._capture = None
            while not grabber.ended:
                if self.stopping.is_set():
                    return
                taken = grabber.take(TAKE_WAIT_S)
                if taken is None:
                    continue
                grabbed, replaced = taken
                if replaced:
                    self.counters["grab_dropped"] += replaced
                count += 1
                yield self.make_frame(grabbed.image, capture_ns=grabbed.capture_ns, meta=grabbed.meta)
            self._grabber = None  # its thread has ended and released the dropped capture
            if not self._reconnect(count):
                return

    def _ended(self, count: int) -> None:
        """Log the end of a file-like source, warning when it is short of what it promised.

        Raises:
            CaptureError: When it gave no frame at all: an empty run is never a success.
        """
        what = self._target.describe()
        if count == 0:
            why = {
                "file": ": not even its first frame decodes (a damaged or incomplete file; check with `ffprobe`)",
                "images": ": OpenCV can read none of its images",
            }.get(self._target.kind, "")
            raise CaptureError(f"{what} gave no frames{why}")
        expected = self._capture.frame_count if self._capture is not None else 0
        # A header's count can be an estimate (duration x rate) off by a frame or so; a cut
        # file misses far more.
        if expected and expected - count > max(1, expected // 100):
            self.log.warning(
                "%s ended after %d of the %d frames its header promises: the file is cut short or damaged",
                what,
                count,
                expected,
            )
        else:
            self.log.info("%s ended after %d frames", what, count)

    def _reconnect(self, count: int) -> bool:
        """Reopen a dropped live source with exponential backoff.

        Returns:
            True once frames can flow again, False if the graph is stopping.

        Raises:
            CaptureError: After ``reconnect_attempts`` failed attempts (when not 0).
        """
        p = self.params
        what = self._target.describe()
        if self._capture is not None:
            self._capture.release()
        delay, attempt, last_error = p.reconnect_delay, 0, ""
        self.log.warning("%s dropped after %d frames; reconnecting in %.1f s", what, count, delay)
        while p.reconnect_attempts == 0 or attempt < p.reconnect_attempts:
            attempt += 1
            if not self.pause(delay):
                return False
            try:
                self._capture = open_capture(self._target, self._settings())
            except CaptureError as exc:
                last_error = str(exc)
                delay = min(delay * 2, p.reconnect_max_delay)
                if p.reconnect_attempts == 0 or attempt < p.reconnect_attempts:
                    self.log.warning("reconnect %d failed: %s; next try in %.1f s", attempt, last_error, delay)
                continue
            self.counters["reconnects"] += 1
            self.log.info("%s is back after %d attempt(s)", what, attempt)
            return True
        self._capture = None
        raise CaptureError(f"{what} dropped and did not come back after {attempt} reconnect attempts: {last_error}")
