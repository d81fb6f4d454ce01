"""Video encoders behind VideoRecorder: H.264 through PyAV, any FourCC through OpenCV.

Why PyAV for H.264: ``cv2.VideoWriter`` in the opencv-python wheels writes MPEG-4 Part 2
(``mp4v``), which browsers refuse ("no supported streams") and many players don't play, and
its ``avc1`` needs an encoder those wheels lack. PyAV's wheels bundle an FFmpeg with libx264.
The H.264 file is made to play everywhere: yuv420p (browsers and hardware decoders do not take
4:4:4), even width and height (4:2:0 needs them), and ``+faststart`` so the index (``moov``)
comes before the media data and a browser can start playing before the download ends.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

try:
    import av
except ImportError:  # a dependency, but a platform without its wheel still records (mp4v)
    av = None

log = logging.getLogger(__name__)

#: Codec names that mean H.264 through PyAV (``avc1`` is its FourCC, as OpenCV spells it).
H264_NAMES = ("h264", "avc1")
#: H.264 encoders tried in order: libx264 (what PyAV's wheels ship) beats openh264 on quality.
H264_ENCODERS = ("libx264", "libopenh264")
#: libx264 options: ``veryfast`` keeps a 1080p30 stream real-time on a laptop core or two
#: (``medium`` is ~3x slower for ~10% smaller files); crf 23 is x264's own default quality.
X264_OPTIONS = {"preset": "veryfast", "crf": "23"}
#: Containers where ``+faststart`` applies (the ISO/QuickTime family).
FASTSTART_SUFFIXES = {".mp4", ".m4v", ".mov"}


class FrameWriter(Protocol):
    """What VideoRecorder needs of an encoder: BGR frames in, a finished file on close."""

    description: str

    def write(self, image: np.ndarray) -> None: ...

    def close(self) -> None: ...


#: Signals the runtime handles (Ctrl-C, SIGTERM); the encoder's threads must never take them.
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextmanager
def stop_signals_blocked() -> Iterator[None]:
    """Block SIGINT/SIGTERM in this thread for the block, so threads it starts inherit the block.

    Why: libx264 starts its worker threads inside the first encode call, with the calling
    thread's signal mask. A process-directed SIGTERM may then be delivered to one of them; its
    Python handler is only run by the main thread, which sleeps in ``Event.wait()`` without a
    timeout and is never woken, so the graph would not stop (seen in 1 of ~5 runs). Blocked
    here, the kernel gives the signal to a thread that can take it. Restored afterwards, so a
    signal that arrived meanwhile is delivered right then.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@cache
def h264_encoder() -> str | None:
    """The first H.264 encoder of :data:`H264_ENCODERS` that this PyAV has, or None (no PyAV, or none)."""
    if av is None:
        return None
    for name in H264_ENCODERS:
        try:
            av.codec.Codec(name, "w")
        except Exception:  # PyAV raises UnknownCodecError (a ValueError) or FFmpegError by version
            continue
        return name
    log.info("PyAV %s has no H.264 encoder (tried %s)", av.__version__, ", ".join(H264_ENCODERS))
    return None


def frame_rate(fps: float) -> Fraction:
    """``fps`` as the fraction the container stores (29.97 -> 2997/100); exact for whole and half rates."""
    return Fraction(fps).limit_denominator(1001)


@dataclass
class H264Writer:
    """Writes H.264 (yuv420p) with PyAV; ``+faststart`` in mp4/mov.

    Odd widths or heights are cropped by one pixel column/row, because 4:2:0 halves both;
    cropping keeps the frame sharp where scaling would blur all of it.

    Args:
        path: The file; the container follows its suffix.
        fps: Frames per second (constant frame rate; frame *i* is shown at *i/fps*).
        size: (width, height) of the frames that will be written.
        encoder: An encoder name from :func:`h264_encoder`.
    """

    path: Path
    fps: float
    size: tuple[int, int]
    encoder: str
    description: str = field(init=False)

    def __post_init__(self) -> None:
        width, height = self.size
        self._even = (width - width % 2, height - height % 2)
        if self._even != self.size:
            log.info("cropping %dx%d to %dx%d: H.264 4:2:0 needs even sides", width, height, *self._even)
        options = {"movflags": "+faststart"} if self.path.suffix.lower() in FASTSTART_SUFFIXES else {}
        self._container: Any = av.open(str(self.path), "w", options=options)
        self._stream: Any = self._container.add_stream(self.encoder, rate=frame_rate(self.fps))
        self._stream.width, self._stream.height = self._even
        self._stream.pix_fmt = "yuv420p"
        if self.encoder == "libx264":
            self._stream.codec_context.options = dict(X264_OPTIONS)
        self._index = 0
        self.description = f"H.264 ({self.encoder}, yuv420p)"

    def write(self, image: np.ndarray) -> None:
        """Encode one BGR image of ``size``."""
        width, height = self._even
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:height, :width]), format="bgr24")
        frame.pts = self._index  # in 1/fps: the stream's time base follows its rate
        self._index += 1
        with stop_signals_blocked():
            packets = self._stream.encode(frame)
        for packet in packets:
            self._container.mux(packet)

    def close(self) -> None:
        """Flush the encoder (it holds frames for look-ahead and B-frames), write the index."""
        try:
            with stop_signals_blocked():
                packets = self._stream.encode(None)
            for packet in packets:
                self._container.mux(packet)
        finally:
            self._container.close()  # with +faststart, this rewrites the file with moov first


@dataclass
class OpenCVWriter:
    """Writes any FourCC OpenCV's build can encode (``mp4v`` always), through ``cv2.VideoWriter``.

    Raises:
        RuntimeError: When OpenCV cannot open a writer for this FourCC and file.
    """

    path: Path
    fps: float
    size: tuple[int, int]
    fourcc: str
    description: str = field(init=False)

    def __post_init__(self) -> None:
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*self.fourcc), self.fps, self.size)
        if not self._writer.isOpened():
            self._writer.release()
            raise RuntimeError(f"OpenCV has no {self.fourcc!r} writer for {self.path}")
        self.description = f"{self.fourcc} (OpenCV)"

    def write(self, image: np.ndarray) -> None:
        self._writer.write(image)

    def close(self) -> None:
        self._writer.release()


def open_writer(path: Path, codec: str, fps: float, size: tuple[int, int], logger: logging.Logger = log) -> FrameWriter:
    """A writer for ``codec``; falls back to OpenCV's ``mp4v``, with a warning, when it is unavailable.

    Args:
        path: The file to write.
        codec: ``h264`` / ``avc1`` (PyAV), or any other FourCC (OpenCV).
        fps: Frames per second.
        size: (width, height).
        logger: Where the fallback warnings go (the recorder's own logger).

    Raises:
        RuntimeError: When not even ``mp4v`` can be opened (e.g. an unwritable container).
    """
    if codec.lower() in H264_NAMES:
        encoder = h264_encoder()
        if encoder is not None:
            return H264Writer(path, fps, size, encoder)
        logger.warning(
            "no H.264 encoder (PyAV with libx264 or openh264: pip install av); writing mp4v, "
            "which browsers will not play"
        )
        return OpenCVWriter(path, fps, size, "mp4v")
    try:
        return OpenCVWriter(path, fps, size, codec)
    except RuntimeError:
        if codec == "mp4v":
            raise
        logger.warning("codec %r is not available in this OpenCV build; using mp4v", codec)
        return OpenCVWriter(path, fps, size, "mp4v")
