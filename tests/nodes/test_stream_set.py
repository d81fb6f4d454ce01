"""StreamSet on its own: fair round-robin, lossless and latest-only queues, a failing stream ends alone."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator

import numpy as np
import pytest

from flowpose.nodes.stream_set import LOSSLESS_QUEUE, ReadContext, StreamEnded, StreamItem, StreamSet
from flowpose.streams import StreamError


class Numbers:
    """A reader of ``count`` items numbered 0.. (in meta), then an error if ``fail`` is set."""

    def __init__(self, count: int, live: bool = False, fail: str = "") -> None:
        self.source, self.live, self.lossless, self.state = f"numbers({count})", live, not live, "running"
        self.count, self.fail = count, fail
        self.closed = False

    def items(self, ctx: ReadContext) -> Iterator[StreamItem]:
        for i in range(self.count):
            yield StreamItem(np.zeros((2, 2, 3), np.uint8), time.time_ns(), {"n": i})
        if self.fail:
            raise RuntimeError(self.fail)

    def close(self) -> None:
        self.closed = True


def make_set() -> tuple[StreamSet, Counter[str]]:
    counters: Counter[str] = Counter()
    return StreamSet("node", logging.getLogger("test"), counters), counters


def drain(streams: StreamSet) -> list[tuple[str, int] | str]:
    """Everything take() hands out until it times out: (stream, n) per item, 'end:ID' per end."""
    out: list[tuple[str, int] | str] = []
    while (got := streams.take(2.0)) is not None:
        out.append(f"end:{got.stream}" if isinstance(got, StreamEnded) else (got[0], got[1].meta["n"]))
        if streams.open_streams == 0:
            break
    return out


def wait_done(streams: StreamSet) -> None:
    """Until every reader thread has finished (its stream reads 'ended')."""
    deadline = time.monotonic() + 10
    while any(i.state != "ended" for i in streams.infos()):
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_full_queues_are_served_round_robin() -> None:
    streams, _ = make_set()
    for name in "abc":
        streams.add(name, Numbers(LOSSLESS_QUEUE))  # exactly fits: every reader finishes
    wait_done(streams)
    got = drain(streams)
    items = [g for g in got if isinstance(g, tuple)]
    assert items == [(name, n) for n in range(LOSSLESS_QUEUE) for name in "abc"]
    assert got[-3:] == ["end:a", "end:b", "end:c"]


def test_a_file_stream_loses_nothing_and_a_live_one_keeps_only_the_newest() -> None:
    streams, counters = make_set()
    streams.add("file", Numbers(50))
    streams.add("cam", Numbers(50, live=True))
    wait_done_live = time.monotonic() + 10
    while streams.info("cam").state != "ended":  # the file's reader blocks on its full queue meanwhile
        assert time.monotonic() < wait_done_live
        time.sleep(0.01)
    got = drain(streams)
    assert [n for s, n in (g for g in got if isinstance(g, tuple)) if s == "file"] == list(range(50))
    assert [g for g in got if isinstance(g, tuple) and g[0] == "cam"] == [("cam", 49)]
    assert counters["grab_dropped"] == 49 and streams.info("cam").extra["grab_dropped"] == 49
    assert streams.info("file").frames == 50


def test_a_failing_stream_ends_alone_with_its_error() -> None:
    streams, _ = make_set()
    broken, fine = Numbers(2, fail="camera unplugged"), Numbers(8)
    streams.add("broken", broken)
    streams.add("fine", fine)
    got = drain(streams)
    assert "end:broken" in got and got[-1] == "end:fine"
    assert [n for s, n in (g for g in got if isinstance(g, tuple)) if s == "fine"] == list(range(8))
    assert streams.info("broken").extra["ended_by"] == "camera unplugged" and broken.closed and fine.closed


def test_pause_holds_a_file_and_remove_ends_a_stream_at_once() -> None:
    streams, _ = make_set()
    streams.add("held", Numbers(10))
    streams.add("gone", Numbers(10))
    assert streams.pause("held", True).state == "paused"
    streams.remove("gone")
    got = drain_for(streams, 0.3)
    assert got == ["end:gone"]  # held gives nothing while paused; gone's waiting items are dropped
    streams.pause("held", False)
    assert [g for g in drain(streams) if isinstance(g, tuple)] == [("held", n) for n in range(10)]
    with pytest.raises(StreamError) as info:
        streams.pause("held", True)
    assert info.value.status == 409  # ended
    streams.add("new", Numbers(1))
    with pytest.raises(StreamError) as again:
        streams.add("new", Numbers(1))  # its end has not been handed out: it is still open
    assert again.value.status == 409
    streams.close()


def drain_for(streams: StreamSet, seconds: float) -> list[tuple[str, int] | str]:
    out: list[tuple[str, int] | str] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        got = streams.take(left)
        if got is not None:
            out.append(f"end:{got.stream}" if isinstance(got, StreamEnded) else (got[0], got[1].meta["n"]))
    return out
