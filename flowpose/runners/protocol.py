"""The link protocol's constants and the two small pieces both ends use.

Sender -> receiver: ``[PREFIX (+ slot info), header(, image)]``. Receiver -> sender: ``HELLO``
+ :data:`HELLO_BODY` or ``ACK`` + :data:`ACK_BODY` + released sequence numbers (:data:`SEQ`).
See :mod:`flowpose.runners.links` for what they mean.
"""

from __future__ import annotations

import os
import struct

import zmq

LINK_WINDOW = 4  # credits at most: bounds what is in flight whatever the buffer size
# Frame high-water mark: credits keep the queue below the window; ZeroMQ updates a sender's
# count of what the other side took only every HWM/2 messages, hence the headroom.
HWM = 2 * LINK_WINDOW + 2
CONTROL_HWM = 1000  # credits and releases are a few bytes, and bounded by the protocol
PREFIX = struct.Struct("<QQ")  # sender epoch, sequence number; then the shared-memory slot info, if any
HELLO, ACK = b"H", b"A"
HELLO_BODY = struct.Struct("<IQ")  # window, reader epoch
ACK_BODY = struct.Struct("<QQ")  # sender epoch, sequence number; then released sequence numbers
SEQ = struct.Struct("<Q")


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


def link_socket(ctx: zmq.Context, rcvhwm: int, sndhwm: int) -> zmq.Socket:
    """A DEALER socket with bounded queues that drops what is unsent when closed."""
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.SNDHWM, sndhwm)
    sock.setsockopt(zmq.RCVHWM, rcvhwm)
    sock.setsockopt(zmq.LINGER, 0)  # frames of a stopping graph are not worth waiting for
    return sock
