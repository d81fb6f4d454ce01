"""Gathering frames of many streams into one batch for a node that batches (dynamic batching).

A batch starts with the first frame to arrive, takes every frame already queued, and then
waits for more up to ``max_wait_s`` after the first, up to ``max_batch`` frames. It stops
waiting once it holds a frame of every stream seen lately: waiting longer could only add a
second frame of some stream, so a graph with one camera never waits at all, and eight
cameras at the same rate make batches of eight as soon as the eighth frame is in. An
end-of-stream closes the batch it arrives in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from flowpose.engine.buffers import TIMED_OUT, Inbox
from flowpose.frame import EndOfStream, Frame
from flowpose.node import BatchLimits

#: A stream unseen this long no longer holds a batch open (it may have paused or slowed down).
ACTIVE_S = 1.0


@dataclass
class Batch:
    """Frames to process together, and what ended the gathering.

    Attributes:
        frames: The frames, in arrival order (so each stream's frames stay in order).
        t_in: When each frame was taken from the inbox (ns since the epoch).
        end: An end-of-stream that arrived after the frames, to handle after them.
    """

    frames: list[Frame] = field(default_factory=list)
    t_in: list[int] = field(default_factory=list)
    end: EndOfStream | None = None


class BatchGatherer:
    """Takes batches from one inbox under ``limits``.

    Args:
        inbox: The node's inbox (one input; an in-process inbox or a link's).
        limits: Batch size and wait.
    """

    def __init__(self, inbox: Inbox, limits: BatchLimits) -> None:
        self.inbox, self.limits = inbox, limits
        self._last_seen: dict[str, float] = {}  # stream -> monotonic time of its last frame

    def next(self) -> Batch | None:
        """The next batch (waiting for its first message), or None once the inbox is closed."""
        item = self.inbox.get()
        if item is None or item is TIMED_OUT:
            return None
        batch = Batch()
        if not self._add(batch, item[1]):
            return batch
        deadline = time.monotonic() + self.limits.max_wait_s
        while len(batch.frames) < self.limits.max_batch:
            item = self.inbox.get(0.0)  # what is queued already joins at no cost
            if item is TIMED_OUT:
                left = deadline - time.monotonic()
                if left <= 0 or self._has_every_stream(batch):
                    break
                item = self.inbox.get(left)
            if item is None or item is TIMED_OUT:
                break  # closed: this batch is still processed, the next call returns None
            if not self._add(batch, item[1]):
                break
        return batch

    def _add(self, batch: Batch, msg: Frame | EndOfStream) -> bool:
        """Put ``msg`` in the batch; False when it is an end that closes the batch."""
        if isinstance(msg, EndOfStream):
            batch.end = msg
            if msg.stream is not None:
                self._last_seen.pop(msg.stream, None)
            return False
        batch.frames.append(msg)
        batch.t_in.append(time.time_ns())
        self._last_seen[msg.source] = time.monotonic()
        return True

    def _has_every_stream(self, batch: Batch) -> bool:
        """Whether the batch holds a frame of each stream seen in the last :data:`ACTIVE_S`."""
        now = time.monotonic()
        for stream, seen in list(self._last_seen.items()):
            if now - seen > ACTIVE_S:
                del self._last_seen[stream]
        in_batch = {f.source for f in batch.frames}
        return all(stream in in_batch for stream in self._last_seen)
