"""Bad messages on a link are dropped and counted; the node keeps running."""

from __future__ import annotations

import threading

import msgpack
import numpy as np
import pytest
import zmq

import testnodes
from flowpose.engine.buffers import Inbox, QueueSpec
from flowpose.frame import EndOfStream, Frame
from flowpose.runners import links, shm_writer
from flowpose.runners.protocol import HELLO, PREFIX
from flowpose.runners.receiver import LinkReader, LinkReceiver
from flowpose.runners.shm import SLOT_INFO
from flowpose.transport import encode
from flowpose.transport.stop_pipe import StopPipe
from process_support import run, stats_of


def test_a_bad_message_injected_on_a_link_is_dropped_counted_and_the_node_goes_on(monkeypatch) -> None:
    real = links.encode

    def sometimes_garbage(msg, **kwargs):
        parts = real(msg, **kwargs)
        if getattr(msg, "frame_id", None) == 5:
            return [b"\xc1 not msgpack", *parts[1:]]
        return parts

    monkeypatch.setattr(links, "encode", sometimes_garbage)
    monkeypatch.setattr(shm_writer, "encode", sometimes_garbage)  # small images go inline from there
    _, result = run("""\
    defaults: {buffer: {policy: lossless, size: 2}}
    nodes:
      - {name: camera, type: TestPattern, outputs: [frames], params: {count: 20, fps: 0, live: false,
                                                              width: 64, height: 48}}
      - {name: relay, type: PassThrough, inputs: [frames], outputs: [out], runner: process}
      - {name: sink, type: 'testnodes:Collect', inputs: [out]}
    """)
    assert result.exit_code == 0, result.failure
    assert [f.frame_id for f in testnodes.COLLECTED["sink"]] == [i for i in range(20) if i != 5]
    assert stats_of(result, "relay").bad_messages == 1


FRAME = Frame(1, 0, "camera", np.zeros((4, 4, 3), np.uint8))
GARBAGE = {
    "no prefix": [b"x"],
    "short prefix": [b"abc", b"hdr"],
    "msgpack": [PREFIX.pack(1, 0), b"\xc1"],
    "version": [PREFIX.pack(1, 1), msgpack.packb({"v": 99, "kind": "eos", "source": "x"})],
    "parts": [PREFIX.pack(1, 2), msgpack.packb({"v": 1, "kind": "eos", "source": "x"}), b"extra"],
    "slot on eos": [PREFIX.pack(1, 3) + SLOT_INFO.pack(48, 3) + b"flowpose-x", *encode(EndOfStream("x"))],
    "missing slot": [PREFIX.pack(1, 4) + SLOT_INFO.pack(48, 4) + b"flowpose-nope", *encode(FRAME, include_image=False)],
    "wrong size": [PREFIX.pack(1, 5) + SLOT_INFO.pack(47, 5) + b"flowpose-nope", *encode(FRAME, include_image=False)],
    "bad slot": [PREFIX.pack(1, 6) + SLOT_INFO.pack(48, 6) + b"../../etc/passwd", *encode(FRAME, include_image=False)],
    "short slot info": [PREFIX.pack(1, 7) + b"\x01\x02", *encode(FRAME, include_image=False)],
}


@pytest.mark.parametrize("kind", list(GARBAGE))
def test_receiver_survives_garbage(tmp_path, kind: str) -> None:
    ctx = zmq.Context.instance()
    sender = ctx.socket(zmq.DEALER)
    sender.setsockopt(zmq.LINGER, 0)
    endpoint = f"ipc://{tmp_path}/l"
    sender.bind(endpoint)
    inbox = Inbox([QueueSpec("b", "lossless", 2)])
    stop = StopPipe()
    bad = threading.Event()
    receiver = LinkReceiver(LinkReader(ctx, endpoint, 2, "test input b", bad.set), inbox, 0, stop)
    receiver.thread.start()
    try:
        assert sender.recv()[:1] == HELLO
        sender.send_multipart(GARBAGE[kind])
        sender.send_multipart([PREFIX.pack(1, 9), *encode(EndOfStream("camera"))])
        assert inbox.get() == (0, EndOfStream("camera"))  # the good message after the bad one
        assert bad.is_set() and receiver.bad.total == 1
    finally:
        stop.set()
        receiver.thread.join(2)
        sender.close()
        stop.close()
