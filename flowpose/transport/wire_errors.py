"""The one error the wire format raises, and its fixed set of kinds.

The base of the transport package: it imports nothing from flowpose, and
:mod:`~flowpose.transport.wire_values`, :mod:`~flowpose.transport.wire` and
:mod:`~flowpose.transport.bad_messages` (the :class:`BadMessageCounter` that lets nodes
survive bad input) all import it, never the reverse.
"""

from __future__ import annotations

from typing import Any, Literal

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
