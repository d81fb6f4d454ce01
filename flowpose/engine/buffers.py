"""Buffers: one writer, any number of readers, each reader with its own bounded queue.

A reading node owns one :class:`Inbox` holding a queue per input; all of them share one
condition variable, so a node with several inputs sleeps on a single wait and wakes on
whichever input gets a message. Nothing polls: writers notify, readers wait.

Policies (per buffer, applied to each reader's queue):

* ``latest`` — keep the newest ``size`` messages *of each stream* (``Frame.source``); a put
  of a stream that already holds ``size`` drops that stream's oldest and counts it. Used
  behind live sources so a slow node never builds up latency; per stream, so eight cameras
  behind one ``size: 1`` buffer wait as eight newest frames, not one.
* ``lossless`` — a put onto a full queue waits until the reader takes one. Used behind
  files and recordings so nothing is lost.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from flowpose.frame import EndOfStream, Frame, Message

T = TypeVar("T")

LATEST = "latest"
LOSSLESS = "lossless"


class TimedOut:
    """The type of :data:`TIMED_OUT`."""

    def __repr__(self) -> str:
        return "TIMED_OUT"


#: What :meth:`Inbox.get` returns when its ``timeout`` passed with nothing to take.
TIMED_OUT = TimedOut()


def stale_index(
    queue: Sequence[T], msg: Message, size: int, message_of: Callable[[T], Message] | None = None
) -> int | None:
    """Where the frame to drop is, when ``msg`` is put on a full ``latest`` queue, or None.

    ``latest`` keeps the newest ``size`` frames of each stream: a frame pushes out the oldest
    queued frame of its own stream once that stream holds ``size`` (never another stream's,
    so a busy camera cannot starve a quiet one). End-of-stream markers take no room and are
    never dropped: nothing of their stream follows them.

    Args:
        queue: The queued items, oldest first.
        msg: The message being put.
        size: Frames of one stream the queue may hold.
        message_of: Gets the message out of a queued item (default: the item is the message).
    """
    if not isinstance(msg, Frame) or len(queue) < size:
        return None  # fewer items than one stream may hold: nothing to drop, no scan (the usual put)
    stream, count, oldest = msg.source, 0, None
    for i, item in enumerate(queue):
        queued = item if message_of is None else message_of(item)
        if isinstance(queued, Frame) and queued.source == stream:
            count += 1
            if oldest is None:
                oldest = i
    return oldest if count >= size else None


@dataclass(frozen=True)
class QueueSpec:
    """Policy and capacity of one reader's queue.

    Attributes:
        buffer: Name of the buffer the queue reads from.
        policy: ``latest`` or ``lossless``.
        size: Maximum number of queued messages (>= 1).
    """

    buffer: str
    policy: str
    size: int

    def __post_init__(self) -> None:
        if self.policy not in (LATEST, LOSSLESS):
            raise ValueError(f"buffer {self.buffer!r}: policy must be 'latest' or 'lossless', got {self.policy!r}")
        if self.size < 1:
            raise ValueError(f"buffer {self.buffer!r}: size must be >= 1, got {self.size}")


def _message(item: tuple[int, Message]) -> Message:
    return item[1]


class Inbox:
    """The input queues of one node, and its feedback slots.

    Inputs ``0 .. len(specs) - 1`` are queues; inputs from ``len(specs)`` on are feedback
    slots: each keeps only the newest frame of a buffer written downstream, never blocks its
    writer and never wakes the reader (the node looks at it when it likes, see
    :meth:`feedback_frames`). Both kinds share one index space so links feed them alike.

    Args:
        specs: One :class:`QueueSpec` per input, in the node's input order.
        feedback: Names of the feedback buffers, in the node's feedback order.
    """

    def __init__(self, specs: list[QueueSpec], feedback: list[str] | tuple[str, ...] = ()) -> None:
        self.specs = specs
        self.feedback_names = tuple(feedback)
        self._feedback: list[Frame | None] = [None] * len(self.feedback_names)
        self._cond = threading.Condition(threading.Lock())
        self._queues: list[deque[tuple[int, Message]]] = [deque() for _ in specs]
        self._lossless = [s.policy == LOSSLESS for s in specs]
        self._sizes = [s.size for s in specs]
        self._seq = itertools.count()
        self._closed = False
        self._waiting_writers = 0
        self.drops = [0] * len(specs)
        self.received = [0] * len(specs)

    def put(self, index: int, msg: Message) -> bool:
        """Queue ``msg`` on input ``index`` following that input's policy.

        Blocks on a full lossless queue until there is room or the inbox is closed.

        Returns:
            False when the inbox is closed (the message was discarded), True otherwise.
        """
        if index >= len(self._queues):
            return self._put_feedback(index - len(self._queues), msg)
        queue, size = self._queues[index], self._sizes[index]
        with self._cond:
            if self._lossless[index]:
                while len(queue) >= size and not self._closed and not isinstance(msg, EndOfStream):
                    self._waiting_writers += 1
                    self._cond.wait()
                    self._waiting_writers -= 1
            elif (stale := stale_index(queue, msg, size, _message)) is not None:
                del queue[stale]
                self.drops[index] += 1
            if self._closed:
                return False
            queue.append((next(self._seq), msg))
            self.received[index] += 1
            self._cond.notify_all()
            return True

    def _put_feedback(self, slot: int, msg: Message) -> bool:
        # A single reference store: readers see the old or the new frame, never a torn one.
        # End of stream is ignored: a feedback buffer ending says nothing about the inputs.
        if isinstance(msg, Frame):
            self._feedback[slot] = msg
        return not self._closed

    def spec(self, index: int) -> QueueSpec:
        """The queue spec of input ``index``; feedback slots are ``latest`` with room for one."""
        if index < len(self.specs):
            return self.specs[index]
        return QueueSpec(self.feedback_names[index - len(self.specs)], LATEST, 1)

    def feedback_frames(self) -> dict[str, Frame]:
        """The newest frame of each feedback buffer that has delivered one, by buffer name."""
        return {name: f for name, f in zip(self.feedback_names, self._feedback, strict=True) if f is not None}

    def get(self, timeout: float | None = None) -> tuple[int, Message] | TimedOut | None:
        """Take the oldest queued message over all inputs, waiting for one if needed.

        Args:
            timeout: Seconds to wait at most; None waits until a message comes or the inbox closes.

        Returns:
            ``(input_index, message)``, None once the inbox is closed, or :data:`TIMED_OUT`.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._closed:
                    return None
                best = -1
                best_seq = -1
                for i, queue in enumerate(self._queues):
                    if queue and (best < 0 or queue[0][0] < best_seq):
                        best, best_seq = i, queue[0][0]
                if best >= 0:
                    _, msg = self._queues[best].popleft()
                    if self._waiting_writers:
                        self._cond.notify_all()
                    return best, msg
                if deadline is None:
                    self._cond.wait()
                else:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return TIMED_OUT
                    self._cond.wait(left)

    def close(self) -> None:
        """Wake everyone: readers get None, blocked writers return. Idempotent."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def depth(self) -> int:
        """Messages waiting over all inputs (a snapshot, read without the lock)."""
        return sum(len(q) for q in self._queues)


class Buffer:
    """A named stream with one writer and fan-out to every subscribed reader.

    Args:
        name: Buffer name from the graph file.
        policy: ``latest`` or ``lossless``, applied to every reader's queue.
        size: Queue length per reader.
    """

    def __init__(self, name: str, policy: str, size: int) -> None:
        self.spec = QueueSpec(name, policy, size)
        self.name = name
        self._readers: list[tuple[Inbox, int]] = []
        self.written = 0

    def subscribe(self, inbox: Inbox, index: int) -> None:
        """Deliver every message to input ``index`` of ``inbox`` from now on."""
        self._readers.append((inbox, index))

    def write(self, msg: Message) -> None:
        """Hand ``msg`` to every reader (may wait on a full lossless reader)."""
        self.written += not isinstance(msg, EndOfStream)
        for inbox, index in self._readers:
            inbox.put(index, msg)

    @property
    def num_readers(self) -> int:
        """How many reader queues this buffer feeds."""
        return len(self._readers)
