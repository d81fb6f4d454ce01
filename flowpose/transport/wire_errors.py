"""The one error the wire format raises, and a counter that lets nodes survive bad input.

A node reading from a socket must keep running when a peer sends garbage (a different
flowpose version, a stray client, a truncated message): it catches :class:`WireError`,
hands it to a :class:`BadMessageCounter`, and goes on with the next message.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from flowpose.frame import Message

_log = logging.getLogger(__name__)

WireErrorKind = Literal["msgpack", "parts", "header_size", "image_size", "version", "schema"]

#: Every kind a :class:`WireError` can have; a small fixed set so counters and tests can rely on it.
WIRE_ERROR_KINDS: tuple[WireErrorKind, ...] = (
    "msgpack",  # the header is not valid msgpack
    "parts",  # wrong number of multipart parts, or a part that is not a byte buffer
    "header_size",  # the header is larger than the receiver accepts
    "image_size",  # the image part does not hold exactly shape x dtype bytes
    "version",  # a wire-format version this code does not know
    "schema",  # fields missing or of the wrong type, bad dtype, insane shape, non-plain meta
)


class WireError(ValueError):
    """A message that cannot be encoded or decoded.

    It subclasses :class:`ValueError` so generic callers still catch it, but code that reads
    sockets should catch ``WireError`` itself: :func:`~flowpose.transport.wire.decode` raises
    nothing else, whatever the bytes.

    Attributes:
        kind: One of :data:`WIRE_ERROR_KINDS`.
        detail: Human-readable explanation (which field, what was expected).
    """

    def __init__(self, kind: WireErrorKind, detail: str) -> None:
        if kind not in WIRE_ERROR_KINDS:
            # A typo in a kind would silently create a new counter bucket; fail loudly instead.
            raise ValueError(f"unknown WireError kind {kind!r}; expected one of {WIRE_ERROR_KINDS}")
        super().__init__(f"{kind}: {detail}")
        self.kind: WireErrorKind = kind
        self.detail = detail

    def __reduce__(self) -> tuple[Any, ...]:
        # ValueError's default pickling would call __init__ with one argument; keep both.
        return (type(self), (self.kind, self.detail))


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
        from flowpose.transport.wire import decode  # wire imports this module; import late

        try:
            return decode(parts, **options)
        except WireError as error:
            self.record(error)
            return None
