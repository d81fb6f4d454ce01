"""Recording and inspecting test videos: what a file really holds, read with PyAV and by its boxes."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from flowpose.frame import Frame
from flowpose.nodes.video_recorder import VideoRecorder

#: BGR colour of the test frames' background; a browser's decoded pixel is compared with it.
BACKGROUND_BGR = (40, 160, 220)


def bar_image(i: int, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A ``size`` (width, height) frame of :data:`BACKGROUND_BGR` with a dark bar that moves with ``i``."""
    width, height = size
    image = np.empty((height, width, 3), np.uint8)
    image[:] = BACKGROUND_BGR
    x = (i * 16) % max(width - 32, 1)
    image[:, x : x + 32] = (20, 20, 20)
    return image


def record(path: Path, count: int, fps: float = 25.0, size: tuple[int, int] = (640, 480), **params: object) -> Path:
    """Record ``count`` :func:`bar_image` frames, ``1/fps`` apart, with a VideoRecorder; its final path."""
    node = VideoRecorder("rec", {"path": str(path), **params})
    node.setup()
    step = round(1e9 / fps)
    for i in range(count):
        node.process(Frame(frame_id=i, capture_ns=i * step, source="cam", image=bar_image(i, size)))
    node.close()
    return path


@dataclass(frozen=True)
class VideoInfo:
    """The first video stream, as decoded (``frames`` counts decoded frames, not the header's claim)."""

    codec: str
    pix_fmt: str
    width: int
    height: int
    fps: float
    frames: int


def probe(path: Path) -> VideoInfo:
    """Decode every frame of ``path`` with PyAV."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        frames = sum(1 for _ in container.decode(stream))
        return VideoInfo(ctx.name, ctx.pix_fmt, ctx.width, ctx.height, float(stream.average_rate), frames)


def ffprobe(path: Path) -> dict | None:
    """ffprobe's view of the first video stream, or None when ffprobe is not installed."""
    exe = shutil.which("ffprobe")
    if exe is None:
        return None
    out = subprocess.run(
        [exe, "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_streams", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)["streams"][0]


def top_level_boxes(path: Path) -> list[str]:
    """The types of an ISO media file's top-level boxes in file order (e.g. ftyp, moov, mdat)."""
    boxes: list[str] = []
    data = path.read_bytes()
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1:  # 64-bit size follows the type
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
        elif size == 0:  # the box runs to the end of the file
            size = len(data) - pos
        assert size >= 8, f"corrupt box {kind!r} at {pos} in {path}"
        boxes.append(kind.decode("latin-1"))
        pos += size
    return boxes
