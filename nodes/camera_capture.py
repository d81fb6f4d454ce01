"""Reading what a Camera opened: one protocol over ``cv2.VideoCapture`` and image sequences.

Opening (with its error messages) lives in :mod:`flowpose.nodes.camera_open`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

log = logging.getLogger(__name__)


class CaptureError(RuntimeError):
    """A source could not be opened or came back; the message says what was tried."""


@dataclass(frozen=True)
class Grabbed:
    """One image as it came from the source.

    Attributes:
        image: H x W x 3 uint8 BGR.
        capture_ns: Wall-clock ns when the source delivered it (right after grab).
        meta: Plain extras, e.g. ``{"pos_ms": 40.0}`` for files or ``{"path": ...}``.
    """

    image: np.ndarray
    capture_ns: int
    meta: dict[str, Any] = field(default_factory=dict)


class Capture(Protocol):
    """An opened source: ``read()`` gives the next image or None at its end (or on a drop).

    ``frame_count`` is how many frames the source says it has (a video file's header), 0
    when unknown (devices, streams, images).
    """

    fps: float
    frame_count: int

    def read(self) -> Grabbed | None: ...

    def release(self) -> None: ...


@dataclass(frozen=True)
class OpenSettings:
    """How to open a target (the Camera's params, minus the source itself)."""

    width: int = 0
    height: int = 0
    fps: float = 0.0
    fourcc: str = ""
    open_timeout_s: float = 5.0
    read_timeout_s: float = 5.0
    ffmpeg_options: str = ""
    node: str = "camera"


class VideoCapture:
    """A ``cv2.VideoCapture`` (device, file or stream) behind the :class:`Capture` protocol."""

    def __init__(self, cap: cv2.VideoCapture, with_position: bool) -> None:
        self._cap = cap
        self._with_position = with_position
        self.fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        # Only files have a meaningful count (devices and streams report 0 or -1).
        self.frame_count = max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0), 0) if with_position else 0

    def read(self) -> Grabbed | None:
        if not self._cap.grab():
            return None
        stamp = time.time_ns()  # grab() returns when the frame arrived; decoding comes after
        ok, image = self._cap.retrieve()
        if not ok or image is None:
            return None
        meta = {"pos_ms": float(self._cap.get(cv2.CAP_PROP_POS_MSEC))} if self._with_position else {}
        return Grabbed(image, stamp, meta)

    def release(self) -> None:
        self._cap.release()


class ImageSequence:
    """Still images read in name order; unreadable files are skipped with a warning."""

    def __init__(self, paths: list[Path], fps: float) -> None:
        self._paths: Iterator[Path] = iter(paths)
        self.fps = fps
        self.frame_count = 0  # unreadable images are skipped with their own warning

    def read(self) -> Grabbed | None:
        for path in self._paths:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                log.warning("skipping %s: not an image OpenCV can read", path)
                continue
            return Grabbed(image, time.time_ns(), {"path": str(path)})
        return None

    def release(self) -> None:
        self._paths = iter(())
