"""The link protocol's constants and the socket both ends use.

Sender -> receiver: ``[PREFIX (+ slot info), header(, image)]``. Receiver -> sender: ``HELLO``
+ :data:`HELLO_BODY` or ``ACK`` + :data:`ACK_BODY` + released sequence numbers (:data:`SEQ`).
See :mod:`flowpose.runners.links` for what they mean.
"""

from __future__ import annotations

import struct

import zmq

LINK_WINDOW = 4  # credits at most: bounds what is in flight whatever the buffer size
# Frame high-water mark: credits keep the queue below the window; ZeroMQ updates a sender's
# count of what the other side took only every HWM/2 messages, hence the headroom.
HWM = 2 * LINK_WINDOW + 2
CONTROL_HWM = 1000  # credits and releases are a few bytes, and bounded by the protocol
# Largest message part a link carries (a header or an inline image): 256 MiB holds an 8K RGB
# frame (100 MB) twice over. Receiving sockets set ZMQ_MAXMSGSIZE to it (plus room for the
# CurveZMQ box), so libzmq disconnects a peer announcing a bigger part from the part's length
# alone, before allocating it; senders refuse such frames (a counted drop) rather than ship
# them to a reader that would hang up. wire.MAX_IMAGE_BYTES (2 GiB) stays the decoder's bound.
MAX_PART_BYTES = 256 << 20
# Receiver -> sender messages: a HELLO, or an ACK with at most a window's worth of released
# slots; anything near this is not from a reader of ours.
MAX_CONTROL_BYTES = 64 << 10
_CURVE_OVERHEAD = 4096  # a CurveZMQ MESSAGE command adds ~33 bytes to each part
PREFIX = struct.Struct("<QQ")  # sender epoch, sequence number; then the shared-memory slot info, if any
HELLO, ACK = b"H", b"A"
HELLO_BODY = struct.Struct("<IQ")  # window, reader epoch
ACK_BODY = struct.Struct("<QQ")  # sender epoch, sequence number; then released sequence numbers
SEQ = struct.Struct("<Q")


def link_socket(ctx: zmq.Context, rcvhwm: int, sndhwm: int, max_part_bytes: int, kind: int = zmq.DEALER) -> zmq.Socket:
    """A DEALER (or ROUTER) socket with bounded queues that drops what is unsent when closed.

    Args:
        ctx: ZeroMQ context.
        rcvhwm: Receive high-water mark (messages).
        sndhwm: Send high-water mark (messages).
        max_part_bytes: Largest part this socket receives; a peer sending a larger one is
            disconnected by libzmq before the part is read.
        kind: ``zmq.DEALER`` (a link's reader) or ``zmq.ROUTER`` (its sender, which must address
            the one reader that said HELLO, never another local client).
    """
    sock = ctx.socket(kind)
    if kind == zmq.ROUTER:
        sock.setsockopt(zmq.ROUTER_MANDATORY, 1)  # a gone peer is an error, not a silent drop
    sock.setsockopt(zmq.SNDHWM, sndhwm)
    sock.setsockopt(zmq.RCVHWM, rcvhwm)
    sock.setsockopt(zmq.MAXMSGSIZE, max_part_bytes + _CURVE_OVERHEAD)
    sock.setsockopt(zmq.LINGER, 0)  # frames of a stopping graph are not worth waiting for
    return sock
