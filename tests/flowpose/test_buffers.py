"""Buffers: fan-out, the latest and lossless policies, closing."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from flowpose.engine.buffers import LATEST, LOSSLESS, Buffer, Inbox, QueueSpec
from flowpose.frame import EndOfStream, Frame

IMAGE = np.zeros((4, 4, 3), np.uint8)


def frame(i: int, source: str = "cam") -> Frame:
    return Frame(i, 0, source, IMAGE)


def drain(inbox: Inbox) -> list[int]:
    """Ids of everything queued now (without blocking)."""
    ids = []
    for _ in range(inbox.depth()):
        item = inbox.get()
        assert item is not None
        ids.append(item[1].frame_id)
    return ids


def test_latest_keeps_newest_and_counts_drops() -> None:
    buffer = Buffer("b", LATEST, 3)
    inbox = Inbox([buffer.spec])
    buffer.subscribe(inbox, 0)
    for i in range(10):
        buffer.write(frame(i))
    assert inbox.drops == [7]
    assert inbox.depth() == 3
    assert drain(inbox) == [7, 8, 9]


def test_lossless_writer_waits_and_nothing_is_dropped() -> None:
    buffer = Buffer("b", LOSSLESS, 2)
    inbox = Inbox([buffer.spec])
    buffer.subscribe(inbox, 0)
    got: list[int] = []
    max_depth = 0

    def reader() -> None:
        while (item := inbox.get()) is not None:
            if isinstance(item[1], EndOfStream):
                return
            got.append(item[1].frame_id)

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(500):
        buffer.write(frame(i))
        max_depth = max(max_depth, inbox.depth())  # only this thread adds, so this is the peak
    buffer.write(EndOfStream("w"))
    thread.join(5)
    assert got == list(range(500))
    assert inbox.drops == [0]
    assert max_depth <= 2


def test_fan_out_every_reader_sees_every_message() -> None:
    buffer = Buffer("b", LOSSLESS, 100)
    inboxes = [Inbox([buffer.spec]) for _ in range(3)]
    for inbox in inboxes:
        buffer.subscribe(inbox, 0)
    for i in range(20):
        buffer.write(frame(i))
    assert [drain(inbox) for inbox in inboxes] == [list(range(20))] * 3
    assert buffer.written == 20


def test_each_reader_has_its_own_queue() -> None:
    buffer = Buffer("b", LATEST, 2)
    fast, slow = Inbox([buffer.spec]), Inbox([buffer.spec])
    buffer.subscribe(fast, 0)
    buffer.subscribe(slow, 0)
    got = []
    for i in range(6):
        buffer.write(frame(i))
        got.append(fast.get()[1].frame_id)  # the fast reader keeps up
    assert got == list(range(6)) and fast.drops == [0]
    assert slow.drops == [4] and drain(slow) == [4, 5]


def test_get_serves_inputs_in_arrival_order() -> None:
    inbox = Inbox([QueueSpec("a", LATEST, 4), QueueSpec("b", LATEST, 4)])
    inbox.put(1, frame(0))
    inbox.put(0, frame(1))
    inbox.put(1, frame(2))
    assert [inbox.get()[0] for _ in range(3)] == [1, 0, 1]


def test_close_wakes_blocked_reader_and_writer() -> None:
    inbox = Inbox([QueueSpec("b", LOSSLESS, 1)])
    inbox.put(0, frame(0))
    results: dict[str, object] = {}
    writer = threading.Thread(target=lambda: results.__setitem__("put", inbox.put(0, frame(1))))
    writer.start()
    writer.join(0.2)
    assert writer.is_alive()  # blocked on the full lossless queue
    empty = Inbox([QueueSpec("c", LATEST, 1)])
    reader = threading.Thread(target=lambda: results.__setitem__("get", empty.get()))
    reader.start()
    inbox.close()
    empty.close()
    writer.join(2)
    reader.join(2)
    assert results == {"put": False, "get": None}


@pytest.mark.parametrize(("policy", "size"), [("fifo", 2), (LATEST, 0)])
def test_bad_queue_specs_are_rejected(policy: str, size: int) -> None:
    with pytest.raises(ValueError, match="buffer 'b'"):
        QueueSpec("b", policy, size)
