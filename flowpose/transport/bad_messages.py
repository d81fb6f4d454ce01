"""A counter that lets nodes survive bad input: count and log rejected messages, go on.

A node reading from a socket must keep running when a peer sends garbage (a different
flowpose version, a stray client, a truncated message): it catches
:class:`~flowpose.transport.wire_errors.WireError`, hands it to a :class:`BadMessageCounter`,
and goes on with the next message.

This module sits on top of the transport package: it imports :mod:`~flowpose.transport.wire`
(for :meth:`BadMessageCounter.decode`) and nothing in the package imports it back, except the
package's ``__init__`` that re-exports it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flowpose.frame import Message
from flowpose.transport.wire import decode
from flowpose.transport.wire_errors import WireError

_log = logging.getLogger(__name__)


@dataclass
class BadMessageCounter:
    """Counts rejected messages per kind and logs the first one of each kind.

    Logging every bad message would flood the log when a misconfigured peer sends thousands
    per second, and logging none would hide the problem; the first of each kind is logged as
    a warning, the rest at debug level, and :attr:`counts` feeds the stats table.

    Not thread-safe: use one counter per socket (sockets are single-threaded anyway).

    Attributes:
        name: What is receiving (node or socket name), used in the log messages.
        logger: Where to log.
        counts: Number of rejected messages per kind.
    """

    name: str = "wire"
    logger: logging.Logger = field(default=_log, repr=False)
    counts: Counter[str] = field(default_factory=Counter)

    def record(self, error: WireError) -> None:
        """Count ``error`` and log it if it is the first of its kind."""
        self.counts[error.kind] += 1
        if self.counts[error.kind] == 1:
            self.logger.warning(
                "%s: dropped a bad message (%s); further %r errors are counted, logged at debug level",
                self.name,
                error,
                error.kind,
            )
        else:
            self.logger.debug("%s: dropped a bad message (%s)", self.name, error)

    @property
    def total(self) -> int:
        """Number of rejected messages of all kinds."""
        return sum(self.counts.values())

    def decode(self, parts: Sequence[Any], **options: Any) -> Message | None:
        """Decode ``parts``, or count the error and return None when they are bad.

        Args:
            parts: Multipart message as received (``recv_multipart(copy=False)``).
            **options: Passed to :func:`~flowpose.transport.wire.decode`.

        Returns:
            The decoded frame or end-of-stream marker, or None for a bad message.
        """
        try:
            return decode(parts, **options)
        except WireError as error:
            self.record(error)
            return None


__all__ = ["BadMessageCounter"]
