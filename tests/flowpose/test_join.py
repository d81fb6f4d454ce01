"""Joining inputs by frame id: complete sets come out, drops never stall the join."""

from __future__ import annotations

import numpy as np
import pytest

from flowpose.engine.join import FrameJoiner
from flowpose.frame import EndOfStream, Frame

IMAGE = np.zeros((2, 2, 3), np.uint8)


def f(i: int, source: str = "cam") -> Frame:
    return Frame(i, 0, source, IMAGE)


def ids(result) -> list[int]:
    return [frames[0].frame_id for frames in result.ready]


def test_join_emits_when_every_input_has_the_frame() -> None:
    j = FrameJoiner(2)
    assert ids(j.push(0, f(0))) == []
    out = j.push(1, f(0))
    assert ids(out) == [0] and [x.frame_id for x in out.ready[0]] == [0, 0]
    assert j.pending == 0


def test_dropped_frame_on_one_input_does_not_stall() -> None:
    j = FrameJoiner(2)
    j.push(0, f(1))  # input 1 never gets frame 1 (dropped upstream)
    j.push(0, f(2))
    assert ids(j.push(1, f(2))) == [2]
    assert j.pending == 0 and j.discarded == 1


def test_long_run_with_drops_on_both_sides() -> None:
    j = FrameJoiner(2)
    got = []
    for i in range(100):
        if i % 3:
            got += ids(j.push(0, f(i)))
        if i % 5:
            got += ids(j.push(1, f(i)))
    assert got == [i for i in range(100) if i % 3 and i % 5]
    assert j.pending <= 1


def test_end_of_stream_needs_every_input_and_frees_pending() -> None:
    j = FrameJoiner(3)
    j.push(0, f(0))
    assert not j.push(0, EndOfStream("a")).ended
    assert not j.push(1, EndOfStream("b")).ended
    assert j.pending == 0  # frame 0 can never complete now
    assert j.push(2, EndOfStream("c")).ended


def test_sources_are_joined_separately() -> None:
    j = FrameJoiner(2)
    j.push(0, f(5, "phone1"))
    j.push(1, f(9, "phone2"))
    assert ids(j.push(1, f(5, "phone1"))) == [5]
    assert j.pending == 1  # phone2's frame 9 still waits for input 0


def test_pending_is_bounded() -> None:
    j = FrameJoiner(2, max_pending=8)
    for i in range(100):
        j.push(0, f(i))
    assert j.pending == 8


def test_needs_two_inputs() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        FrameJoiner(1)
