"""Frames for ``Pose.track``: the Camera node reads the source, this module stamps each frame's time.

The Tracker's motion prediction and the Smoother's filters need the time between frames.
A video file read as fast as the models run has capture times that measure the models, not
the video, so every frame gets ``meta["media_time_s"]``: the file's own timestamps, frame
index / rate for image folders, and the capture time for cameras and streams.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from flowpose.frame import Frame
from flowpose.nodes.camera import Camera
from flowpose.nodes.video_recorder import media_time

__all__ = ["MEDIA_TIMESTAMP", "MEDIA_TIME_KEY", "SourceArg", "read_frames"]

SourceArg = int | str | os.PathLike[str]
"""A webcam index, a video file, an image folder or glob, or a stream URL."""

#: Where each frame's time in seconds from the start of its source travels.
MEDIA_TIME_KEY = "media_time_s"
#: The Tracker's and Smoother's ``timestamp`` param that reads it.
MEDIA_TIMESTAMP = f"meta:{MEDIA_TIME_KEY}"
#: Playback rate assumed for still images when the Camera's ``fps`` is not set (the node's own default).
IMAGES_FPS = 30.0


def read_frames(source: SourceArg, camera_params: Mapping[str, Any] | None = None) -> Iterator[Frame]:
    """Yield the frames of ``source`` through a Camera node, each with ``meta["media_time_s"]``.

    The node is set up on the first ``next()`` and closed when the generator ends or is
    closed (``break`` out of the loop, or garbage collection).

    Args:
        source: The Camera's ``source``: webcam index, video file, image folder or glob, URL.
        camera_params: More Camera params (``width``, ``height``, ``fps``, ``realtime``, ...).

    Raises:
        flowpose.nodes.camera_capture.CaptureError: The source cannot be opened (the message
            says what was tried).
        pydantic.ValidationError: On an unknown or invalid Camera param.
    """
    value = os.fspath(source) if isinstance(source, os.PathLike) else source
    camera = Camera("camera", {**(camera_params or {}), "source": value})
    camera.setup()
    try:
        first_ns: int | None = None
        images_fps = camera.params.fps or IMAGES_FPS
        for index, frame in enumerate(camera.frames()):
            first_ns = frame.capture_ns if first_ns is None else first_ns
            yield frame.replace(meta={**frame.meta, MEDIA_TIME_KEY: _media_time(frame, index, first_ns, images_fps)})
    finally:
        camera.close()


def _media_time(frame: Frame, index: int, first_ns: int, images_fps: float) -> float:
    """Seconds from the start of the source (see the module docstring)."""
    own = media_time(frame.meta)  # a video file: its own presentation time (the recorder's reading)
    if own is not None:
        return own
    if "path" in frame.meta:  # still images carry no time of their own
        return index / images_fps
    return (frame.capture_ns - first_ns) / 1e9
