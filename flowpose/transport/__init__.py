"""Moving frames between processes and hosts: the ZeroMQ/msgpack wire format.

See :mod:`flowpose.transport.wire` for the message layout. Imports inside the package go one
way: ``wire_errors`` (the base) <- ``wire_values`` <- ``wire`` <- ``bad_messages``
(tests/flowpose/test_import_cycles.py keeps it so).
"""

from flowpose.transport.bad_messages import BadMessageCounter
from flowpose.transport.wire import (
    DEFAULT_MAX_HEADER_BYTES,
    FORMAT_VERSION,
    decode,
    encode,
    is_placeholder_image,
)
from flowpose.transport.wire_errors import WIRE_ERROR_KINDS, WireError

__all__ = [
    "DEFAULT_MAX_HEADER_BYTES",
    "FORMAT_VERSION",
    "WIRE_ERROR_KINDS",
    "BadMessageCounter",
    "WireError",
    "decode",
    "encode",
    "is_placeholder_image",
]
