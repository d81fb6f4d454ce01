"""The frames ``flowpose bench streams`` feeds every variant: held in memory, scheduled alike.

Every variant reads the same images from memory, so none pays for rendering or decoding
while it is timed: synthetic scenes are rendered once (one seed per stream), a video is
decoded once (each stream starts at its own offset into it). A run hands out a fixed number
of frames per stream, cycling over the clip, either as fast as they are taken (max speed) or
on a per-stream schedule (live): stream ``i`` captures frame ``k`` at ``t0 + phase_i + k /
rate``, the phases drawn from the seed, because cameras are not synchronised.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Clips", "decode_video", "live_schedule", "render_synthetic", "stream_id"]

log = logging.getLogger(__name__)


def stream_id(index: int) -> str:
    """The stream id (``Frame.source``) of stream ``index``: ``cam0``, ``cam1``... as ``{node}{i}``."""
    return f"cam{index}"


@dataclass(frozen=True)
class Clips:
    """Pre-made images of every stream.

    Attributes:
        images: Per stream, the images it cycles over (read-only arrays, shared by all variants).
        origin: What they are, for the report (``synthetic 640x480 seeds 0..7`` or the video).
    """

    images: list[list[np.ndarray]]
    origin: str

    @property
    def streams(self) -> int:
        """How many streams the clips hold."""
        return len(self.images)

    def image(self, stream: int, index: int) -> np.ndarray:
        """Frame ``index`` of ``stream``, cycling over its clip."""
        clip = self.images[stream]
        return clip[index % len(clip)]


def _frozen(image: np.ndarray) -> np.ndarray:
    image.setflags(write=False)  # frames are immutable once sent; shared by every variant
    return image


def render_synthetic(streams: int, clip: int, size: tuple[int, int] = (640, 480), seed: int = 0) -> Clips:
    """``clip`` frames of ``streams`` synthetic scenes, seeds ``seed`` .. ``seed + streams - 1``.

    The scenes hold people only (1 to 3), no animals: the benchmark's pose model serves people.
    """
    from flowpose.synthetic import SceneConfig, SyntheticScene

    images = []
    for i in range(streams):
        config = SceneConfig(
            width=size[0], height=size[1], seed=seed + i, num_people=(1, 3), num_animals=(0, 0), num_frames=clip
        )
        images.append([_frozen(f.image) for f in SyntheticScene(config)])
    log.info("rendered %d synthetic streams of %d frames", streams, clip)
    return Clips(images, f"synthetic {size[0]}x{size[1]}, seeds {seed}..{seed + streams - 1}, {clip} frames each")


def decode_video(path: str, streams: int, clip: int) -> Clips:
    """The first ``clip`` frames of ``path``, decoded once; stream ``i`` starts ``i * clip / streams`` in.

    Raises:
        ValueError: When the file cannot be read as a video.
    """
    cap = cv2.VideoCapture(path)
    frames = []
    try:
        while len(frames) < clip:
            ok, image = cap.read()
            if not ok:
                break
            frames.append(_frozen(image))
    finally:
        cap.release()
    if not frames:
        raise ValueError(f"cannot read any frame of video {path}")
    offsets = [i * len(frames) // streams for i in range(streams)]
    images = [frames[o:] + frames[:o] for o in offsets]
    height, width = frames[0].shape[:2]
    return Clips(images, f"{path} ({width}x{height}), {len(frames)} frames, stream i offset by i*{len(frames)}/N")


def live_schedule(streams: int, frames: int, rate: float, seed: int = 0) -> list[tuple[float, int, int]]:
    """Every frame of a live run as ``(seconds after t0, stream, index)``, in time order.

    Args:
        streams: How many streams.
        frames: Frames per stream.
        rate: Frames per second of each stream.
        seed: Seeds the streams' phases (uniform over one frame period).
    """
    period = 1.0 / rate
    phases = np.random.default_rng(seed).uniform(0.0, period, streams)
    plan = [(float(phases[s]) + k * period, s, k) for s in range(streams) for k in range(frames)]
    return sorted(plan)
