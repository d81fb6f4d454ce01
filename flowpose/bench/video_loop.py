"""The frames a benchmark's single-loop baseline reads: a video file, optionally paced like a camera.

Shared by the loop baselines of ``bench pipeline`` and ``bench closedloop`` so that both read,
pace and time-stamp frames exactly as the Camera node does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import cv2
import numpy as np

__all__ = ["video_frames"]


def video_frames(video: str, frames: int = 0, paced: bool = False) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield ``(index, capture_ns, image)`` for the frames of ``video``.

    Args:
        video: The video file.
        frames: Stop after this many frames; 0 = the whole video.
        paced: Hand frames out at the video's own rate (a camera), not as fast as they are taken.
    """
    cap = cv2.VideoCapture(video)
    period = 1.0 / (cap.get(cv2.CAP_PROP_FPS) or 30.0) if paced else 0.0
    next_t: float | None = None
    index = 0
    try:
        while not frames or index < frames:
            if period:  # the Camera node's pacing: deadlines, restarted after a stall
                now = time.monotonic()
                next_t = now if next_t is None else max(next_t + period, now)
                time.sleep(max(0.0, next_t - now))
            if not cap.grab():
                return
            stamp = time.time_ns()  # as the Camera node: right after grab()
            ok, image = cap.retrieve()
            if not ok:
                return
            yield index, stamp, image
            index += 1
    finally:
        cap.release()
