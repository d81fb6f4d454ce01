"""Shared-memory slots: a view stays valid while held, slots come back when views die, else inline."""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from flowpose.frame import Frame
from flowpose.runners.shm import SLOT_INFO, SlotReader, remove_segments, segment_prefix, slot_of
from flowpose.runners.shm_writer import MAX_SLOTS, SlotWriter
from flowpose.transport import BadMessageCounter, decode


@pytest.fixture(autouse=True)
def _no_leftover_segments(tmp_path: Path) -> Iterator[None]:
    # Writers leave slots still held when they close (the run's cleanup removes them); here
    # the test is the run.
    yield
    remove_segments(segment_prefix(f"ipc://{tmp_path}/x"))


def _frame(i: int) -> Frame:
    return Frame(i, 0, "cam", np.full((240, 320, 3), i, dtype=np.uint8))  # 230 kB: above the inline limit


def _send(writer: SlotWriter, reader: SlotReader, seq: int) -> Frame | None:
    info, parts = writer.put(_frame(seq), seq)
    if not info:
        return None  # went inline
    got = reader.fill(decode(parts), info, seq, BadMessageCounter("test"))  # type: ignore[arg-type]
    assert got is not None
    return got


def test_held_views_keep_their_pixels_and_their_slots(tmp_path: Path) -> None:
    released: deque[int] = deque()
    writer, reader = SlotWriter(f"ipc://{tmp_path}/0"), SlotReader(released.append)
    try:
        held = [_send(writer, reader, seq) for seq in range(MAX_SLOTS)]
        assert writer.held == MAX_SLOTS and not released
        assert _send(writer, reader, MAX_SLOTS) is None  # every slot held: the image goes inline
        for frame in held:
            assert frame is not None and not frame.image.flags.writeable
            assert (frame.image == frame.frame_id).all()  # nothing was written over a held image
        kept = held[3].replace(meta={"x": 1})  # a derived frame shares the image: still held
        del held, frame
        gc.collect()
        assert sorted(released) == [s for s in range(MAX_SLOTS) if s != 3]
        while released:
            writer.release(released.popleft())
        again = _send(writer, reader, 100)
        assert again is not None and (again.image == 100).all() and (kept.image == 3).all()
        del kept
        gc.collect()
        assert list(released) == [3]
    finally:
        writer.close()


def test_a_view_outlives_its_writer(tmp_path: Path) -> None:
    writer, reader = SlotWriter(f"ipc://{tmp_path}/0"), SlotReader(lambda seq: None)
    frame = _send(writer, reader, 7)
    writer.close()  # unlinks the segment; the mapping stays
    reader.close()
    assert frame is not None and (frame.image == 7).all()


def test_a_slot_overwritten_since_it_was_announced_is_refused(tmp_path: Path) -> None:
    writer, reader = SlotWriter(f"ipc://{tmp_path}/0"), SlotReader(lambda seq: None)
    try:
        info, parts = writer.put(_frame(1), 1)
        writer.release(1)  # as if acknowledged: the slot is written again for message 2
        again, _ = writer.put(_frame(2), 2)
        assert again[SLOT_INFO.size :] == info[SLOT_INFO.size :]  # the same slot
        bad = BadMessageCounter("test")
        assert reader.fill(decode(parts), info, 1, bad) is None  # never the pixels of message 2
        assert bad.counts["image_size"] == 1
    finally:
        writer.close()


def test_a_view_passed_on_is_not_copied_and_stays_held_upstream(tmp_path: Path) -> None:
    released: deque[int] = deque()
    upstream, middle = SlotWriter(f"ipc://{tmp_path}/0"), SlotWriter(f"ipc://{tmp_path}/1")
    reader = SlotReader(released.append)
    try:
        view = _send(upstream, reader, 5)  # received in this process...
        assert view is not None
        info, _ = middle.put(view.replace(meta={"hop": 2}), 0)  # ...and passed on unchanged
        name, stamp = slot_of(view.image)  # the upstream slot the view came from
        assert info == SLOT_INFO.pack(view.image.nbytes, stamp) + name.encode() and stamp == 5
        del view
        gc.collect()
        assert not released  # the middle writer keeps it until its own reader lets go
        middle.release(0)
        gc.collect()
        assert list(released) == [5]
    finally:
        middle.close()
        upstream.close()
