"""A stop signal that pollers wait on along with their sockets.

It sits with the transport, below both its users: the process runners' links wait on it next to
their ZeroMQ sockets, and so does a host's rendezvous with the graph's other hosts.
"""

from __future__ import annotations

import os


class StopPipe:
    """A level-triggered stop signal that pollers can wait on (a pipe nobody reads)."""

    def __init__(self) -> None:
        self._r, self._w = os.pipe()
        self.is_set = False

    def fileno(self) -> int:
        """The read end, readable once :meth:`set` was called."""
        return self._r

    def set(self) -> None:
        """Wake every poller that includes this pipe, now and later."""
        if not self.is_set:
            self.is_set = True
            os.write(self._w, b"x")

    def close(self) -> None:
        """Release the file descriptors."""
        os.close(self._r)
        os.close(self._w)
