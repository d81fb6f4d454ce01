"""A dependency-free download progress bar."""

from __future__ import annotations

import sys
import time
from typing import IO

__all__ = ["ProgressBar"]


class ProgressBar:
    """One self-overwriting line on a stream: bytes so far / total, percent and speed."""

    def __init__(self, label: str, total: int | None, stream: IO[str] | None = None, interval: float = 0.2):
        self.label, self.total, self.stream, self.interval = label, total, stream or sys.stderr, interval
        self.done = 0
        self._start = self._last = time.monotonic()

    def update(self, n: int) -> None:
        """Count ``n`` more bytes; redraws at most every ``interval`` seconds."""
        self.done += n
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._draw(end="\r")

    def close(self) -> None:
        """Draw the final state and end the line."""
        self._draw(end="\n")

    def _draw(self, end: str) -> None:
        mb, speed = self.done / 1e6, self.done / 1e6 / max(time.monotonic() - self._start, 1e-6)
        size = f"{mb:.1f} MB"
        if self.total:
            size = f"{mb:.1f}/{self.total / 1e6:.1f} MB {100 * self.done / self.total:3.0f}%"
        self.stream.write(f"{self.label}: {size} {speed:.1f} MB/s{end}")
        self.stream.flush()
