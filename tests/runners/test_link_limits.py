"""Links bound the parts they receive (ZMQ_MAXMSGSIZE): libzmq hangs up on a peer announcing a
larger part, from its length alone, and frames of ordinary size still pass.

libzmq treats an oversize part as a protocol error and does not reconnect that connection:
a reader cut off that way stays cut off. flowpose's own senders never send such a part
(they refuse the frame first), so only a foreign peer meets it.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import zmq
from zmq.utils.monitor import recv_monitor_message

from flowpose.engine.buffers import TIMED_OUT, Buffer, Inbox, QueueSpec
from flowpose.frame import Frame
from flowpose.runners import links
from flowpose.runners.links import LinkSender
from flowpose.runners.protocol import HELLO, MAX_CONTROL_BYTES, MAX_PART_BYTES, PREFIX
from flowpose.runners.receiver import LinkReader, LinkReceiver
from flowpose.transport import encode
from flowpose.transport.stop_pipe import StopPipe

LIMIT = 1 << 20  # a small bound, so the test sends megabytes, not the default's 256 MiB


def frame(frame_id: int, side: int) -> Frame:
    return Frame(frame_id, 0, "camera", np.full((side, side, 3), frame_id % 256, np.uint8))


def wait_for(monitor: zmq.Socket, event: int, timeout_ms: int = 10_000) -> bool:
    """Whether ``event`` shows on the monitor before the timeout."""
    poller = zmq.Poller()
    poller.register(monitor, zmq.POLLIN)
    while poller.poll(timeout_ms):
        if recv_monitor_message(monitor)["event"] == event:
            return True
    return False


def close_watched(sock: zmq.Socket, monitor: zmq.Socket) -> None:
    """Close a socket and the monitor watching it."""
    sock.disable_monitor()
    monitor.close(linger=0)
    sock.close(linger=0)


def test_an_oversize_part_disconnects_the_sender_and_normal_frames_pass(tmp_path) -> None:
    ctx = zmq.Context.instance()
    sender = ctx.socket(zmq.DEALER)
    sender.setsockopt(zmq.LINGER, 0)
    monitor = sender.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    endpoint = f"ipc://{tmp_path}/l"
    sender.bind(endpoint)
    inbox = Inbox([QueueSpec("b", "lossless", 4)])
    stop = StopPipe()
    bad = threading.Event()
    reader = LinkReader(ctx, endpoint, 2, "test input b", bad.set, max_part_bytes=LIMIT)
    receiver = LinkReceiver(reader, inbox, 0, stop)
    receiver.thread.start()
    try:
        assert sender.recv()[:1] == HELLO
        sender.send_multipart([PREFIX.pack(1, 0), *encode(frame(0, 256))])  # 196 kB: passes
        assert inbox.get()[1].frame_id == 0
        sender.send_multipart([PREFIX.pack(1, 1), *encode(frame(1, 1024))])  # 3 MB: refused
        assert wait_for(monitor, zmq.EVENT_DISCONNECTED), "libzmq kept a peer sending an oversize part"
        assert not bad.is_set()  # refused by libzmq from the part's length, never read and dropped
    finally:
        stop.set()
        receiver.thread.join(5)
        close_watched(sender, monitor)
        stop.close()


def test_a_client_sending_a_big_message_to_a_sender_is_cut_off_and_the_link_goes_on(tmp_path) -> None:
    # The sender binds, so any local client can connect to it; it reads only a reader's short
    # control messages, so its bound is small.
    ctx = zmq.Context.instance()
    endpoint = f"ipc://{tmp_path}/l"
    buffer = Buffer("b", "lossless", 4)
    stop = StopPipe()
    sender = LinkSender(ctx, buffer, endpoint, "sink", stop)
    sender.thread.start()
    rogue = ctx.socket(zmq.DEALER)
    rogue.setsockopt(zmq.LINGER, 0)
    monitor = rogue.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    rogue.connect(endpoint)
    inbox = Inbox([QueueSpec("b", "lossless", 4)])
    receiver = LinkReceiver(LinkReader(ctx, endpoint, 2, "test input b", lambda: None), inbox, 0, stop)
    receiver.thread.start()
    try:
        rogue.send(HELLO + bytes(2 * MAX_CONTROL_BYTES))
        assert wait_for(monitor, zmq.EVENT_DISCONNECTED), "the sender kept a client sending a big message"
        # Later frames must all reach the reader: a bound DEALER kept dealing every other frame
        # to the cut-off client's pipe (lost: the lossless link hung), deterministic after a wait.
        time.sleep(0.3)
        for i in range(3):
            buffer.write(frame(i, 64))
        got = [inbox.get(10.0) for _ in range(3)]  # a lost frame fails here, it does not hang
        assert [None if g is TIMED_OUT or g is None else g[1].frame_id for g in got] == [0, 1, 2]
    finally:
        stop.set()
        sender.close()
        receiver.thread.join(5)
        close_watched(rogue, monitor)
        stop.close()


def test_link_sockets_carry_the_bound() -> None:
    ctx = zmq.Context.instance()
    reader = LinkReader(ctx, "ipc:///tmp/flowpose-no-such-link", 2, "test", lambda: None)
    try:
        assert MAX_PART_BYTES <= reader.sock.getsockopt(zmq.MAXMSGSIZE) < MAX_PART_BYTES + 65536
    finally:
        reader.close()
    assert MAX_CONTROL_BYTES < MAX_PART_BYTES


def test_a_sender_drops_a_frame_over_the_bound_instead_of_sending_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(links, "MAX_PART_BYTES", LIMIT)  # the readers' bound, scaled down
    ctx = zmq.Context.instance()
    endpoint = f"ipc://{tmp_path}/l"
    buffer = Buffer("b", "lossless", 4)
    stop = StopPipe()
    sender = LinkSender(ctx, buffer, endpoint, "sink", stop)
    sender.thread.start()
    inbox = Inbox([QueueSpec("b", "lossless", 4)])
    reader = LinkReader(ctx, endpoint, 2, "test input b", lambda: None, max_part_bytes=LIMIT)
    receiver = LinkReceiver(reader, inbox, 0, stop)
    receiver.thread.start()
    backstop = threading.Timer(10, inbox.close)  # a reader cut off would wait forever
    backstop.start()
    try:
        buffer.write(frame(0, 1024))  # 3 MB
        buffer.write(frame(1, 64))
        got = inbox.get()
        assert got is not None and got[1].frame_id == 1  # the link stayed up
        assert sender.drops == 1
    finally:
        backstop.cancel()
        stop.set()
        sender.close()
        receiver.thread.join(5)
        stop.close()
