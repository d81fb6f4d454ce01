"""The thread runner: a node's worker loop in a daemon thread (zero-copy, in-process)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from flowpose.runners.worker import Worker


class ThreadRunner:
    """Runs a :class:`Worker` in a thread.

    Args:
        worker: The node's worker loop.
        on_exit: Called from the thread when the worker returns, however it returns.
    """

    kind = "thread"

    def __init__(self, worker: Worker, on_exit: Callable[[str], None]) -> None:
        self.worker = worker
        self._on_exit = on_exit
        # Daemon: a node stuck in a C call (a camera read) must not keep the program alive
        # after the graph gave up waiting for it.
        self._thread = threading.Thread(target=self._main, name=f"flowpose:{worker.name}", daemon=True)

    def _main(self) -> None:
        try:
            self.worker.run()
        finally:
            self._on_exit(self.worker.name)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; returns True when it has finished."""
        self._thread.join(timeout)
        return not self._thread.is_alive()
