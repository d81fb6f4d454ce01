"""The watchdog: notices a node stuck in ``setup()`` or ``process()`` longer than its ``timeout_s``.

A node that hangs (a camera read that never returns, a deadlock in a plugin) otherwise keeps
its graph alive forever and says nothing. The worker marks what it is doing
(:attr:`Worker.busy`); one watchdog thread per process looks at every watched worker a few
times per timeout and reports a hung one once, with the stack of its thread. What happens next
is the caller's: a thread cannot be killed, so the thread runner ends the graph; a node's own
process ends itself so that its parent restarts it by its policy.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from flowpose.runners.worker import Worker

log = logging.getLogger(__name__)

MIN_POLL_S, MAX_POLL_S = 0.02, 1.0
# Exit status of a node's process that ended itself because its node hung; the parent says
# so when it restarts it.
HUNG_EXIT_CODE = 86


@dataclass(frozen=True)
class Hung:
    """A node found stuck.

    Attributes:
        node: Node name.
        phase: ``setup`` or ``process``.
        seconds: How long it has been in that call.
        timeout_s: Its limit.
        stack: The stack of the node's thread, innermost call last ("" when unknown).
    """

    node: str
    phase: str
    seconds: float
    timeout_s: float
    stack: str

    def describe(self) -> str:
        """One line for logs and failure reports."""
        return f"node {self.node!r} hung: in {self.phase}() for {self.seconds:.1f} s (timeout_s {self.timeout_s:g})"


def thread_stack(thread_id: int | None) -> str:
    """The current stack of a thread of this process, formatted ("" if it is gone)."""
    frame = sys._current_frames().get(thread_id) if thread_id is not None else None
    return "".join(traceback.format_stack(frame)) if frame is not None else ""


class Watchdog:
    """Watches workers' calls against their timeouts, in a daemon thread.

    Args:
        watched: Each worker with its ``timeout_s``.
        on_hung: Called once per hung node, from the watchdog's thread.
    """

    def __init__(self, watched: list[tuple[Worker, float]], on_hung: Callable[[Hung], None]) -> None:
        self.watched, self.on_hung = watched, on_hung
        self._reported: set[str] = set()
        self._stop = threading.Event()
        shortest = min((t for _, t in watched), default=MAX_POLL_S)
        # A hang is seen within a quarter of its timeout past it: soon enough, and cheap.
        self.poll_s = min(max(shortest / 4, MIN_POLL_S), MAX_POLL_S)
        self._thread = threading.Thread(target=self._main, name="flowpose:watchdog", daemon=True)

    def start(self) -> None:
        """Start watching (nothing to do when nothing is watched)."""
        if self.watched:
            self._thread.start()

    def stop(self) -> None:
        """Stop watching (a stopping graph's slow calls are the stop's business)."""
        self._stop.set()

    def check(self) -> list[Hung]:
        """The watched nodes over their timeout now, each reported only once."""
        now = time.perf_counter_ns()
        found = []
        for worker, timeout_s in self.watched:
            busy = worker.busy
            if busy is None or worker.name in self._reported:
                continue
            phase, since = busy
            seconds = (now - since) / 1e9
            if seconds > timeout_s:
                self._reported.add(worker.name)
                found.append(Hung(worker.name, phase, seconds, timeout_s, thread_stack(worker.thread_id)))
        return found

    def _main(self) -> None:
        while not self._stop.wait(self.poll_s):
            for hung in self.check():
                log.error("%s; its thread is at:\n%s", hung.describe(), hung.stack.rstrip() or "(unknown)")
                self.on_hung(hung)
