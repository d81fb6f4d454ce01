"""Frames per second of one stream over the last few seconds (for ``list_streams``)."""

from __future__ import annotations

import time
from collections import deque

WINDOW_S = 3.0
"""How far back the rate looks: long enough to be steady, short enough to show a stall."""


class RateMeter:
    """Counts delivery times; :meth:`fps` is the rate over the last :data:`WINDOW_S` seconds.

    Not thread-safe on its own: its owner calls it under its lock.
    """

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self._times: deque[float] = deque()

    def tick(self, now: float | None = None) -> None:
        """One frame delivered at ``now`` (monotonic seconds; default: now)."""
        now = time.monotonic() if now is None else now
        self._times.append(now)
        self._trim(now)

    def fps(self, now: float | None = None) -> float:
        """Frames per second over the window ending ``now``; 0 with fewer than two frames in it."""
        now = time.monotonic() if now is None else now
        self._trim(now)
        if len(self._times) < 2:
            return 0.0
        # Measured over the whole window once it is full, so a stream that stopped decays to 0.
        span = max(now - self._times[0], self._times[-1] - self._times[0])
        return (len(self._times) - 1) / span if span > 0 else 0.0

    def _trim(self, now: float) -> None:
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()
