"""The VideoRecorder node: writes each stream's frames to an mp4 at the rate they were captured.

One file per stream (``Frame.source``): a graph fed by many cameras records each camera on its
own timeline. ``path`` may hold ``{stream}``; without it the first stream keeps ``path`` and
each later one gets ``NAME-STREAM.EXT`` beside it (see :func:`stream_path`).

The encoding is H.264 through PyAV by default, which browsers play (see
:mod:`flowpose.nodes.video_writers`); ``codec: mp4v`` keeps OpenCV's MPEG-4 Part 2.

Why buffer first: a writer fixes the frame rate when it opens (constant frame rate), and an
mp4 cannot be re-timed afterwards without re-encoding. So each stream's recording keeps its
first ``measure_frames`` frames (references to the immutable images, no copies; bounded),
measures the rate from their timestamps, then opens the writer and writes them. A recording
that ends sooner is measured over the frames it has.

Why a temporary name: an mp4 is only playable once its index (the ``moov`` atom) is written
when the writer closes. The video is written to ``NAME.partial.mp4`` beside the target and
renamed when the stream ends (:meth:`VideoRecorder.end_stream`) or in ``close()``, which the
runtime always calls (end of stream, Ctrl-C, SIGTERM, a failing node), so ``NAME.mp4`` is
either absent or complete. Only a hard kill (SIGKILL, power loss) leaves the partial file
behind, unplayable.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from pydantic import Field

from flowpose.frame import Frame
from flowpose.node import Node, NodeParams
from flowpose.nodes.output_paths import ensure_output_folder, output_path_problem
from flowpose.nodes.video_writers import H264_NAMES, FrameWriter, open_writer

#: Media-time keys sources put in ``frame.meta`` (Camera on a file, SyntheticScene), with their
#: unit in seconds. A file read faster than real time has capture times far apart from its own
#: timeline; its media time gives the true rate.
MEDIA_TIME_KEYS = {"media_time_s": 1.0, "pos_ms": 1e-3, "scene_time_s": 1.0}
DEFAULT_FPS = 30.0  # when fewer than two frames (or identical timestamps) leave nothing to measure
MIN_FPS, MAX_FPS = 0.5, 240.0  # a file read as fast as possible would "measure" thousands of fps
#: Placeholder in ``path`` replaced by the stream id.
STREAM_FIELD = "{stream}"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def media_time(meta: dict) -> float | None:
    """The frame's position on its media timeline in seconds, if its source gives one."""
    for key, unit in MEDIA_TIME_KEYS.items():
        value = meta.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value) * unit
    return None


def safe_stream_name(stream: str) -> str:
    """``stream`` as a piece of a file name: runs of characters other than ``A-Za-z0-9._-``
    become ``_`` (a URL or a device path as id must not make folders), no leading dot."""
    return _UNSAFE.sub("_", stream).lstrip(".") or "stream"


def stream_path(template: Path, stream: str, first: bool) -> Path:
    """The file of ``stream``: ``{stream}`` in ``template`` replaced by its id, else the template
    itself for the first stream and ``NAME-STREAM.EXT`` beside it for every later one."""
    name = safe_stream_name(stream)
    if STREAM_FIELD in str(template):
        return Path(str(template).replace(STREAM_FIELD, name))
    if first:
        return template
    return template.with_name(f"{template.stem}-{name}{template.suffix}")


def measure_fps(stamps_ns: list[int], media_times: list[float | None], log: logging.Logger) -> float:
    """Frames per second of a stream's first frames, clamped to a sane range.

    Measured on the media timeline when every frame has one (see :data:`MEDIA_TIME_KEYS`),
    else on the capture times. The mean rate over the span (not the median gap) keeps the
    video's duration equal to the real one when upstream dropped frames.
    """
    times = [t * 1e9 for t in media_times if t is not None]
    if len(times) != len(stamps_ns):
        times = [float(t) for t in stamps_ns]
    span_ns = max(times) - min(times) if len(times) >= 2 else 0
    if span_ns <= 0:
        log.info("not enough frames to measure the rate; writing at %.0f fps", DEFAULT_FPS)
        return DEFAULT_FPS
    fps = (len(times) - 1) * 1e9 / span_ns
    clamped = min(max(fps, MIN_FPS), MAX_FPS)
    if clamped != fps:
        log.warning("measured %.1f fps is implausible for a video; writing at %.1f fps", fps, clamped)
    return clamped


@dataclass
class FinishedFile:
    """A stream's finished, playable recording."""

    stream: str
    path: Path
    frames: int
    fps: float


@dataclass
class StreamRecording:
    """One stream's file: frames buffered until the rate is measured, then the open writer."""

    stream: str
    final_path: Path
    pending: list[np.ndarray] = field(default_factory=list)
    stamps: list[int] = field(default_factory=list)
    media_times: list[float | None] = field(default_factory=list)
    writer: FrameWriter | None = None
    size: tuple[int, int] | None = None
    fps: float = 0.0
    written: int = 0

    @property
    def partial_path(self) -> Path:
        """Where the file grows until it is finished (renamed to :attr:`final_path`)."""
        return self.final_path.with_name(f"{self.final_path.stem}.partial{self.final_path.suffix}")


class VideoRecorder(Node):
    """Records each stream's frames to its own video file (mp4) at the measured rate; complete even after Ctrl-C."""

    class Params(NodeParams):
        path: str = Field(
            description="Output file, e.g. out.mp4; its folder is created if needed. One file per stream: "
            "{stream} in it is replaced by the stream id (out/{stream}.mp4); without it the first stream "
            "writes path and each later one NAME-STREAM.EXT beside it."
        )
        fps: float = Field(0.0, ge=0, description="Frame rate of the file; 0 = measured from capture timestamps.")
        codec: str = Field(
            "h264",
            min_length=4,
            max_length=4,
            description="h264 (or avc1): H.264 yuv420p through PyAV, plays in browsers; falls back to mp4v "
            "without an H.264 encoder. Any other FourCC goes to cv2.VideoWriter: mp4v (MPEG-4 Part 2, "
            "always available, not playable in browsers), or mp4v when the OpenCV build lacks it.",
        )
        measure_frames: int = Field(
            30, ge=2, le=600, description="Frames buffered to measure the rate before the file is opened."
        )

    @classmethod
    def check(cls, params: NodeParams) -> list[tuple[str, str]]:
        assert isinstance(params, cls.Params)
        if not Path(params.path).suffix:
            return [("path", f"{params.path!r} has no extension; the container follows it (use .mp4)")]
        if params.codec.lower() in H264_NAMES and Path(params.path).suffix.lower() == ".webm":
            return [("codec", "WebM holds VP8/VP9/AV1, not H.264: write .mp4 (browsers play it), or another codec")]
        problem = output_path_problem(params.path)
        return [("path", problem)] if problem else []

    def setup(self) -> None:
        self.template = Path(self.params.path).expanduser()
        if STREAM_FIELD not in str(self.template):
            ensure_output_folder(self.template)  # fail at start, not at the first frame
        self.recordings: dict[str, StreamRecording] = {}
        #: Every file finished so far, in order.
        self.finished: list[FinishedFile] = []
        self._used: set[Path] = set()  # files of this run: a stream that comes back never overwrites one

    def process(self, frame: Frame) -> None:
        image = frame.image if frame.image.ndim == 3 else cv2.cvtColor(frame.image, cv2.COLOR_GRAY2BGR)
        rec = self.recordings.get(frame.source)
        if rec is None:
            rec = self.recordings[frame.source] = self._start(frame.source)
        if rec.writer is not None:
            self._write(rec, image)
            return None
        rec.pending.append(image)
        rec.stamps.append(frame.capture_ns)
        rec.media_times.append(media_time(frame.meta))
        if self.params.fps > 0 or len(rec.pending) >= self.params.measure_frames:
            self._open_and_flush(rec)
        return None

    def _start(self, stream: str) -> StreamRecording:
        path = stream_path(self.template, stream, first=not self._used)
        candidate, n = path, 1
        while candidate in self._used:  # two ids made safe alike, or a stream that ended and came back
            n += 1
            candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        self._used.add(candidate)
        ensure_output_folder(candidate)
        if self._used != {candidate}:
            self.log.info("stream %r records to %s", stream, candidate)
        return StreamRecording(stream, candidate)

    def _open_and_flush(self, rec: StreamRecording) -> None:
        rec.fps = self.params.fps or measure_fps(rec.stamps, rec.media_times, self.log)
        height, width = rec.pending[0].shape[:2]
        rec.size = (width, height)
        rec.writer = open_writer(rec.partial_path, self.params.codec, rec.fps, rec.size, self.log)
        self.log.info(
            "recording %dx%d at %.2f fps to %s, %s (stream %r)",
            width,
            height,
            rec.fps,
            rec.final_path,
            rec.writer.description,
            rec.stream,
        )
        pending, rec.pending, rec.stamps, rec.media_times = rec.pending, [], [], []
        for image in pending:
            self._write(rec, image)

    def _write(self, rec: StreamRecording, image: np.ndarray) -> None:
        assert rec.writer is not None and rec.size is not None
        if (image.shape[1], image.shape[0]) != rec.size:
            # A writer has one size for its life; a mid-stream resolution change is scaled to it.
            self.counters["resized"] += 1
            image = cv2.resize(image, rec.size, interpolation=cv2.INTER_AREA)
        rec.writer.write(image)
        rec.written += 1

    def _finish(self, rec: StreamRecording) -> None:
        """Write the stream's index and give the file its final name (playable from then on)."""
        if rec.writer is None and rec.pending:
            self._open_and_flush(rec)  # a short recording: measure over what there is
        if rec.writer is None:
            return
        writer, rec.writer = rec.writer, None
        writer.close()
        os.replace(rec.partial_path, rec.final_path)  # atomic: the target is never half-written
        self.finished.append(FinishedFile(rec.stream, rec.final_path, rec.written, rec.fps))
        self.log.info("wrote %d frames at %.2f fps to %s (stream %r)", rec.written, rec.fps, rec.final_path, rec.stream)

    def end_stream(self, stream: str) -> None:
        """Finish ``stream``'s file now (playable at once); the other streams keep recording."""
        rec = getattr(self, "recordings", {}).pop(stream, None)
        if rec is None:
            self.log.debug("stream %r ended before any frame of it reached the recorder", stream)
            return
        self._finish(rec)

    def close(self) -> None:
        recordings = getattr(self, "recordings", None)
        if recordings is None:
            return  # setup never ran
        if not recordings and not self.finished:
            self.log.warning("no frames received; %s not written", self.template)
        failure: BaseException | None = None
        for stream in list(recordings):  # every stream gets its chance, even when one file fails
            rec = recordings.pop(stream)
            try:
                self._finish(rec)
            except Exception as exc:
                self.log.error("cannot finish %s: %s", rec.final_path, exc)
                failure = failure or exc
        if failure is not None:
            raise failure
