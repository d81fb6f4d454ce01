"""A child's view of its parent: dying with it, and cleaning up after it when it was killed.

A parent killed with SIGKILL cannot remove its socket folder (``/tmp/fp-*``) or its
shared-memory segments, so its children do it on their way out. They must be sure the parent
is really gone, though: a child stopped by a ``kill`` of its own must not pull the folder from
under a living graph, and right after a SIGKILL the parent is still tearing down its threads
(``getppid()`` keeps returning its pid for a while; checking it once left empty folders
behind). So the child holds a pidfd of its parent from the start and, when it stops without
having been told to, waits on it (at most :data:`GONE_WAIT_S`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import shutil
import signal
import sys
import time

from flowpose.runners.shm import remove_segments, segment_prefix

PR_SET_PDEATHSIG = 1
GONE_WAIT_S = 1.0


class ParentWatch:
    """Knows whether the parent process is gone.

    Args:
        parent_pid: The parent's pid, as the parent wrote it in the configuration.
    """

    def __init__(self, parent_pid: int) -> None:
        self.parent_pid = parent_pid
        self._fd: int | None = None
        with contextlib.suppress(AttributeError, OSError):  # pidfd: Linux 5.3+, Python 3.9+
            self._fd = os.pidfd_open(parent_pid)

    def die_with_parent(self) -> bool:
        """Ask the kernel for SIGTERM when the parent dies; False when it is already gone."""
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        return os.getppid() == self.parent_pid

    def gone(self, wait_s: float = GONE_WAIT_S) -> bool:
        """Whether the parent has exited, waiting up to ``wait_s`` for it to finish exiting."""
        if self._fd is not None:
            readable, _, _ = select.select([self._fd], [], [], wait_s)  # readable once it exited
            return bool(readable)
        deadline = time.monotonic() + wait_s
        while os.getppid() == self.parent_pid:  # no pidfd: reparenting tells, eventually
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True


def clean_up_after(control_endpoint: str) -> None:
    """Remove what a dead parent left: the socket folder and every shared-memory segment of the run."""
    folder = os.path.dirname(control_endpoint.removeprefix("ipc://"))
    shutil.rmtree(folder, ignore_errors=True)
    remove_segments(segment_prefix(control_endpoint))
