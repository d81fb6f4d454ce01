"""Visualizer with many streams: the overlay's fps is each stream's own rate."""

from __future__ import annotations

import itertools
import types

import numpy as np
import pytest

import flowpose.nodes.visualizer as visualizer_module
from flowpose.frame import Frame
from flowpose.nodes.visualizer import Visualizer


def frame(stream: str, i: int) -> Frame:
    return Frame(frame_id=i, capture_ns=0, source=stream, image=np.zeros((60, 80, 3), np.uint8))


def test_fps_is_measured_per_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    # The node's clock (the world's edge) ticks 10 ms per frame: a, a, b, a, a, b, ...
    ticks = itertools.count(0, 10_000_000)
    monkeypatch.setattr(visualizer_module, "time", types.SimpleNamespace(monotonic_ns=lambda: next(ticks)))
    node = Visualizer("vis", {"fps_window": 10})
    node.setup()
    for i in range(30):
        node.process(frame("b" if i % 3 == 2 else "a", i))
    # b arrives every 30 ms: 33.3 fps (all streams together would read 100 fps).
    assert node.stream_fps("b") == pytest.approx(1e9 / 30e6)
    # a's last 10 arrivals (two every 30 ms) span 130 ms.
    assert node.stream_fps("a") == pytest.approx(9 * 1e9 / 130e6)
    assert node.stream_fps("c") is None
    node.end_stream("b")  # forgotten: a stream that comes back measures afresh
    assert node.stream_fps("b") is None
    node.process(frame("b", 30))
    assert node.stream_fps("b") is None  # one arrival is no rate yet
    assert node.stream_fps("a") is not None


def test_each_stream_frame_is_drawn_on_its_own_copy() -> None:
    node = Visualizer("vis")
    node.setup()
    a, b = frame("a", 0), frame("b", 0)
    out_a, out_b = node.process(a), node.process(b)
    assert out_a.source == "a" and out_b.source == "b"
    assert not np.shares_memory(out_a.image, out_b.image)
    assert out_a.image.any() and not a.image.any()  # the overlay went on the copy, not the input
