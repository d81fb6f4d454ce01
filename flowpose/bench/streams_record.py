"""What every variant of ``flowpose bench streams`` records, and the gate that starts them together.

Each variant first runs one warm-up frame per stream (sessions allocate on their first run),
then waits at a :class:`StartGate` until every stream's warm-up is through; the timed frames
start together at the gate's ``t0``. Every timed frame leaves one :class:`FrameRecord` in the
run's :class:`RunLog`, whoever computed it (a graph's sink or a loop), with the process CPU
time at that moment, so CPU per frame is read the same way for all.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["WARMUP_INDEX", "FrameRecord", "RunLog", "StartGate", "sleep_until_ns"]

#: The index of a stream's warm-up frame: run, never recorded.
WARMUP_INDEX = -1
#: Time from the gate opening to t0: every waiting thread is awake before its first deadline.
START_MARGIN_NS = 20_000_000


@dataclass(frozen=True)
class FrameRecord:
    """One timed frame, done.

    Attributes:
        stream: The stream's index.
        index: The frame's index in its stream.
        capture_ns: When it was captured: its scheduled time (live) or handed out (max speed).
        done_ns: When its keypoints were done.
        cpu_ns: The process's CPU time (all threads) at ``done_ns``.
        keypoints: The keypoints of every posed person, in detection order.
        detect: Start and end (ns) of the detector call that handled it (shared by a batch).
        pose: Start and end (ns) of the pose call that handled it (shared by a batch).
        crops: Crops the pose model ran for this frame.
        detect_ms: The detector node's own time on the call (its ``meta["detector"]["ms"]``),
            without the batch's gathering wait; None where the span is the call (loops).
    """

    stream: int
    index: int
    capture_ns: int
    done_ns: int
    cpu_ns: int
    keypoints: tuple[np.ndarray, ...]
    detect: tuple[int, int]
    pose: tuple[int, int]
    crops: int
    detect_ms: float | None = None


class StartGate:
    """Opens once every stream's warm-up frame is done; everyone then starts at ``t0``.

    Args:
        streams: How many warm-up frames to wait for (one per stream).
    """

    def __init__(self, streams: int) -> None:
        self._expected = streams
        self._seen: set[int] = set()
        self._lock = threading.Lock()
        self._open = threading.Event()
        self.t0_ns = 0
        self.cpu0_ns = 0
        self.aborted = False

    def arrived(self, stream: int) -> None:
        """Stream ``stream``'s warm-up frame is done."""
        with self._lock:
            self._seen.add(stream)
            if len(self._seen) == self._expected and not self._open.is_set():
                self.cpu0_ns = time.process_time_ns()
                self.t0_ns = time.time_ns() + START_MARGIN_NS
                self._open.set()

    def abort(self) -> None:
        """Open the gate for nobody: a variant failed, every waiter gives up."""
        self.aborted = True
        self._open.set()

    def wait(self, stopping: threading.Event | None = None, timeout_s: float = 600.0) -> int | None:
        """Block until the gate opens; returns ``t0_ns``, or None when stopped or aborted first.

        Raises:
            TimeoutError: When the warm-ups are not all through after ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        while not self._open.wait(0.05):
            if stopping is not None and stopping.is_set():
                return None
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self._seen)} of {self._expected} warm-up frames done")
        return None if self.aborted else self.t0_ns


@dataclass
class RunLog:
    """The records of one run, appended from any thread.

    Attributes:
        gate: The run's start gate.
        records: One per timed frame, in the order they were done.
        errors: Failures in the run's own threads (a loop that raised), as text.
        pose_call_ms: The pose node's time per call from the runner's stats, where the recorded
            spans would include a batch's gathering wait (a batching graph); None otherwise.
    """

    gate: StartGate
    records: list[FrameRecord] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    pose_call_ms: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, record: FrameRecord) -> None:
        """Keep ``record``."""
        with self._lock:
            self.records.append(record)

    def fail(self, text: str) -> None:
        """Note a failure of one of the run's threads."""
        with self._lock:
            self.errors.append(text)


def sleep_until_ns(deadline_ns: int, stopping: threading.Event | None = None) -> bool:
    """Sleep until the wall-clock ``deadline_ns``; False if ``stopping`` was set meanwhile."""
    wait_s = (deadline_ns - time.time_ns()) / 1e9
    if stopping is not None:
        return not stopping.wait(wait_s) if wait_s > 0 else not stopping.is_set()
    if wait_s > 0:
        time.sleep(wait_s)
    return True
