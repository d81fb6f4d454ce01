"""A dependency-free download progress bar: size, speed and ETA.

On a terminal it is one self-overwriting line; anywhere else (a log file, CI, a pipe) it writes
a plain line at every 10 % instead, so logs stay readable.
"""

from __future__ import annotations

import sys
import time
from typing import IO

__all__ = ["ProgressBar"]

_STEP_PERCENT = 10
_STEP_BYTES_UNKNOWN = 10_000_000  # without a total: a plain line per 10 MB


def _duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}" if whole >= 60 else f"{whole}s"


class ProgressBar:
    """Progress of one file.

    Args:
        label: What is downloaded (the zoo name).
        total: Bytes expected in all, or None when unknown.
        stream: Where to draw; default stderr.
        interval: Least seconds between terminal redraws.
        start: Bytes already there (a resumed download): counted in the size, not in the speed.
    """

    def __init__(
        self, label: str, total: int | None, stream: IO[str] | None = None, interval: float = 0.2, start: int = 0
    ) -> None:
        self.label, self.total, self.interval = label, total, interval
        self.stream = stream if stream is not None else sys.stderr
        self.done = self.start = start
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._t0 = self._last = time.monotonic()
        self._next_step = self._step_after(start)

    def update(self, n: int) -> None:
        """Count ``n`` more bytes; redraws (terminal) or logs a step (elsewhere) when due."""
        self.done += n
        if self.tty:
            now = time.monotonic()
            if now - self._last >= self.interval:
                self._last = now
                self._write(self.line(), end="\r")
        elif self.done >= self._next_step and not (self.total and self.done >= self.total):  # close() ends it
            self._next_step = self._step_after(self.done)
            self._write(self.line(), end="\n")

    def close(self) -> None:
        """Draw the final state and end the line."""
        self._write(self.line(final=True), end="\n")

    def line(self, final: bool = False) -> str:
        """The current state: ``NAME: 30% 1.1/3.6 MB 2.0 MB/s ETA 1s``."""
        elapsed = max(time.monotonic() - self._t0, 1e-6)
        speed = (self.done - self.start) / elapsed
        mb = self.done / 1e6
        if self.total:
            head = f"{min(100, 100 * self.done // self.total):3d}% {mb:.1f}/{self.total / 1e6:.1f} MB"
        else:
            head = f"{mb:.1f} MB"
        tail = f"{speed / 1e6:.1f} MB/s"
        if final:
            tail += f" in {_duration(elapsed)}"
        elif self.total and speed > 0:
            tail += f" ETA {_duration(max(self.total - self.done, 0) / speed)}"
        return f"{self.label}: {head} {tail}"

    def _step_after(self, done: int) -> int:
        if not self.total:
            return (done // _STEP_BYTES_UNKNOWN + 1) * _STEP_BYTES_UNKNOWN
        step = self.total * _STEP_PERCENT // 100 or 1
        return (done // step + 1) * step

    def _write(self, text: str, end: str) -> None:
        if self.tty:
            text = text.ljust(72)  # overwrite a longer previous line
        self.stream.write(text + end)
        self.stream.flush()
