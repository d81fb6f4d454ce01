"""An exclusive lock between processes on a file in the cache (``fcntl.flock``).

The kernel drops the lock when its holder exits, even when killed, so a crash never leaves a
stale lock behind; the lock files themselves are left in place (deleting one while another
process waits on it would let a third take a different lock on a new file).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; downloads still land atomically, only duplicates are possible
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_DIR", "file_lock", "lock_path"]

logger = logging.getLogger(__name__)

LOCK_DIR = ".locks"


def lock_path(cache: Path, name: str) -> Path:
    """The lock file guarding ``name`` in ``cache``."""
    return cache / LOCK_DIR / f"{name}.lock"


@contextmanager
def file_lock(path: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the block.

    Args:
        path: The lock file.
        what: What the lock guards, for the "waiting" log line.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                logger.info("another process is fetching %s; waiting for it (lock %s)", what, path)
                fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
