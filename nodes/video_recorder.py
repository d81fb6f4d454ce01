"""The VideoRecorder node: writes frames to an mp4 at the rate they were actually captured.

The encoding is H.264 through PyAV by default, which browsers play (see
:mod:`flowpose.nodes.video_writers`); ``codec: mp4v`` keeps OpenCV's MPEG-4 Part 2.

Why buffer first: a writer fixes the frame rate when it opens (constant frame rate), and an
mp4 cannot be re-timed afterwards without re-encoding. So the recorder keeps the first
``measure_frames`` frames (references to the immutable images, no copies; bounded), measures
the rate from their capture timestamps, then opens the writer and writes them. A recording
that ends sooner is measured over the frames it has.

Why a temporary name: an mp4 is only playable once its index (the ``moov`` atom) is written
when the writer closes. The video is written to ``NAME.partial.mp4`` beside the target and renamed
in ``close()``, which the runtime always calls (end of stream, Ctrl-C, SIGTERM, a failing
node), so ``NAME.mp4`` is either absent or complete. Only a hard kill (SIGKILL, power loss)
leaves the partial file behind, unplayable.
"""

from __future__ import annotations

import os
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


def media_time(meta: dict) -> float | None:
    """The frame's position on its media timeline in seconds, if its source gives one."""
    for key, unit in MEDIA_TIME_KEYS.items():
        value = meta.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value) * unit
    return None


class VideoRecorder(Node):
    """Records frames to a video file (mp4) at the measured frame rate; complete even after Ctrl-C."""

    class Params(NodeParams):
        path: str = Field(description="Output file, e.g. out.mp4; its folder is created if needed.")
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
        self.final_path = Path(self.params.path).expanduser()
        self.partial_path = self.final_path.with_name(f"{self.final_path.stem}.partial{self.final_path.suffix}")
        ensure_output_folder(self.final_path)
        self._pending: list[np.ndarray] = []
        self._stamps: list[int] = []
        self._media_times: list[float | None] = []
        self._writer: FrameWriter | None = None
        self._size: tuple[int, int] | None = None
        self.written = 0
        self.fps = self.params.fps

    def process(self, frame: Frame) -> None:
        image = frame.image if frame.image.ndim == 3 else cv2.cvtColor(frame.image, cv2.COLOR_GRAY2BGR)
        if self._writer is not None:
            self._write(image)
            return None
        self._pending.append(image)
        self._stamps.append(frame.capture_ns)
        self._media_times.append(media_time(frame.meta))
        if self.params.fps > 0 or len(self._pending) >= self.params.measure_frames:
            self._open_and_flush()
        return None

    def measured_fps(self) -> float:
        """Frames per second of the buffered frames, clamped to a sane range.

        Measured on the media timeline when every frame has one (see :data:`MEDIA_TIME_KEYS`),
        else on the capture times. The mean rate over the span (not the median gap) keeps the
        video's duration equal to the real one when upstream dropped frames.
        """
        times = [t * 1e9 for t in self._media_times if t is not None]
        if len(times) != len(self._stamps):
            times = [float(t) for t in self._stamps]
        span_ns = max(times) - min(times) if len(times) >= 2 else 0
        if span_ns <= 0:
            self.log.info("not enough frames to measure the rate; writing at %.0f fps", DEFAULT_FPS)
            return DEFAULT_FPS
        fps = (len(times) - 1) * 1e9 / span_ns
        clamped = min(max(fps, MIN_FPS), MAX_FPS)
        if clamped != fps:
            self.log.warning("measured %.1f fps is implausible for a video; writing at %.1f fps", fps, clamped)
        return clamped

    def _open_and_flush(self) -> None:
        self.fps = self.params.fps or self.measured_fps()
        height, width = self._pending[0].shape[:2]
        self._size = (width, height)
        self._writer = open_writer(self.partial_path, self.params.codec, self.fps, self._size, self.log)
        self.log.info(
            "recording %dx%d at %.2f fps to %s, %s",
            width,
            height,
            self.fps,
            self.final_path,
            self._writer.description,
        )
        pending, self._pending = self._pending, []
        for image in pending:
            self._write(image)

    def _write(self, image: np.ndarray) -> None:
        assert self._writer is not None and self._size is not None
        if (image.shape[1], image.shape[0]) != self._size:
            # A writer has one size for its life; a mid-stream resolution change is scaled to it.
            self.counters["resized"] += 1
            image = cv2.resize(image, self._size, interpolation=cv2.INTER_AREA)
        self._writer.write(image)
        self.written += 1

    def close(self) -> None:
        if not hasattr(self, "_pending"):
            return  # setup never ran
        if self._writer is None and self._pending:
            self._open_and_flush()  # a short recording: measure over what there is
        if self._writer is None:
            self.log.warning("no frames received; %s not written", self.final_path)
            return
        writer, self._writer = self._writer, None
        writer.close()
        os.replace(self.partial_path, self.final_path)  # atomic: the target is never half-written
        self.log.info("wrote %d frames at %.2f fps to %s", self.written, self.fps, self.final_path)
