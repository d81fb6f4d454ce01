"""Yardsticks the runtime benchmark measures beside the chain, in the same run.

* A polling chain: MMPose's webcam executor pattern (each stage polls its queue and sleeps
  10 ms when it is empty).
* A plain ``queue.Queue`` chain: what a user writes without flowpose — one thread per stage,
  blocking ``get`` and ``put`` on bounded queues, the frame passed by reference. This is the
  fair baseline of a thread hop: the least a hop between Python threads can cost.
* One memcpy of the frame, twice: **in cache** (the same source into the same destination,
  over and over: both stay in the CPU caches) and **cold** (rotating over enough buffers to
  exceed the last-level cache, as a camera frame handed from one process to the next is). A
  hop that moves pixels pays at least one cold copy; the issue's "one 1080p memcpy is about
  0.45 ms" is a cold copy's figure (13 GB/s).
"""

from __future__ import annotations

import math
import queue
import threading
import time
from dataclasses import dataclass

import numpy as np

COLD_BYTES = 96 << 20  # source + destination buffers to rotate through: well over any L3


@dataclass(frozen=True)
class Memcpy:
    """Median times (ms) of one copy of a frame, its buffers in cache and cold."""

    warm_ms: float
    cold_ms: float


def measure_memcpy(width: int, height: int, repeat: int = 200) -> Memcpy:
    """One plain copy of a ``width`` x ``height`` BGR frame, in cache and cold."""
    rng = np.random.default_rng(0)
    count = max(2, math.ceil(COLD_BYTES / (2 * width * height * 3)))
    sources = [rng.integers(0, 255, (height, width, 3), dtype=np.uint8) for _ in range(count)]
    targets = [np.empty_like(sources[0]) for _ in range(count)]

    def median_ms(pick: int) -> float:
        times = []
        for i in range(repeat):
            src, dst = sources[(i * pick) % count], targets[(i * pick * 3) % count]
            start = time.perf_counter_ns()
            np.copyto(dst, src)
            times.append(time.perf_counter_ns() - start)
        return float(np.median(times)) / 1e6

    return Memcpy(warm_ms=median_ms(0), cold_ms=median_ms(1))


def measure_polling_chain(hops: int, frames: int, poll_s: float = 0.01) -> np.ndarray:
    """Hop gaps (ms) of a chain whose stages poll their queue and sleep ``poll_s`` when empty.

    This is the pattern of MMPose's webcam executor, rebuilt here as a yardstick; frames are
    paced like the runtime benchmark's chain (one in flight).
    """
    queues: list[queue.Queue[tuple[int, int] | None]] = [queue.Queue() for _ in range(hops + 1)]
    gaps: list[float] = []

    def stage(i: int) -> None:
        while True:
            try:
                item = queues[i].get_nowait()
            except queue.Empty:
                time.sleep(poll_s)
                continue
            if item is None:
                queues[i + 1].put(None) if i < hops else None
                return
            sent, _ = item
            now = time.time_ns()
            gaps.append((now - sent) / 1e6)
            if i < hops:
                queues[i + 1].put((time.time_ns(), 0))

    threads = [threading.Thread(target=stage, args=(i,), daemon=True) for i in range(hops + 1)]
    for t in threads:
        t.start()
    for _ in range(frames):
        queues[0].put((time.time_ns(), 0))
        time.sleep(0.02)  # one frame in flight: the chain is idle when the next one comes
    queues[0].put(None)
    for t in threads:
        t.join()
    return np.array(gaps)


@dataclass(frozen=True)
class QueueChain:
    """The plain ``queue.Queue`` chain's figures.

    Attributes:
        gaps_ms: Hop gaps (ms) of the paced run: one stage's ``put`` to the next stage's ``get``.
        max_fps: Frames per second through the chain, unpaced.
    """

    gaps_ms: np.ndarray
    max_fps: float


def _queue_stage(
    inbox: queue.Queue[tuple[np.ndarray, int] | None],
    outbox: queue.Queue[tuple[np.ndarray, int] | None] | None,
    gaps: list[int],
) -> None:
    """One stage: blocking get, note the gap since the previous stage's put, blocking put."""
    while True:
        item = inbox.get()
        if item is None:
            if outbox is not None:
                outbox.put(None)
            return
        gaps.append(time.perf_counter_ns() - item[1])
        if outbox is not None:
            outbox.put((item[0], time.perf_counter_ns()))


def _run_queue_chain(hops: int, frames: int, image: np.ndarray, period_s: float) -> tuple[list[int], float]:
    """Hop gaps (ns) and the time (s) from the first put to the sink's last get."""
    # Bounded like the runtime's lossless buffers of 4, so an unpaced source blocks, not floods.
    queues: list[queue.Queue[tuple[np.ndarray, int] | None]] = [queue.Queue(maxsize=4) for _ in range(hops + 1)]
    gaps: list[int] = []
    threads = [
        threading.Thread(target=_queue_stage, args=(queues[i], queues[i + 1] if i < hops else None, gaps), daemon=True)
        for i in range(hops + 1)
    ]
    for t in threads:
        t.start()
    start = time.perf_counter()
    for _ in range(frames):
        queues[0].put((image, time.perf_counter_ns()))
        if period_s:
            time.sleep(period_s)  # one frame in flight: the chain is idle when the next one comes
    queues[0].put(None)
    for t in threads:
        t.join()
    return gaps, time.perf_counter() - start


def measure_queue_chain(hops: int, frames: int, width: int = 640, height: int = 480) -> QueueChain:
    """A chain of ``hops`` threads passing a frame through ``queue.Queue``, into a sink thread.

    Measured like the runtime's chain: unpaced for max fps, then paced (one frame in flight,
    at most 200 fps) for the hop gaps, the first frames left out as a warm-up.
    """
    image = np.zeros((height, width, 3), np.uint8)
    _, span_s = _run_queue_chain(hops, frames, image, 0.0)
    max_fps = frames / span_s if span_s > 0 else float("inf")
    paced = min(200, max(frames // 4, 100))
    gaps, _ = _run_queue_chain(hops, paced, image, 1 / 200)
    warm = gaps[10 * (hops + 1) :] or gaps
    return QueueChain(gaps_ms=np.array(warm, dtype=np.float64) / 1e6, max_fps=max_fps)
