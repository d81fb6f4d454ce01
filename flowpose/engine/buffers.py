"""Buffers: one writer, any number of readers, each reader with its own bounded queue.

A reading node owns one :class:`Inbox` holding a queue per input; all of them share one
condition variable, so a node with several inputs sleeps on a single wait and wakes on
whichever input gets a message. Nothing polls: writers notify, readers wait.

Policies (per buffer, applied to each reader's queue):

* ``latest`` — keep the newest ``size`` messages; a put onto a full queue drops the oldest
  and counts it. Used behind live sources so a slow node never builds up latency.
* ``lossless`` — a put onto a full queue waits until the reader takes one. Used behind
  files and recordings so nothing is lost.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from dataclasses import dataclass

from flowpose.frame import EndOfStream, Frame, Message

LATEST = "latest"
LOSSLESS = "lossless"


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
            elif len(queue) >= size and not isinstance(msg, EndOfStream):
                # The oldest is never an EndOfStream (nothing follows one), and an
                # EndOfStream itself takes no room: it must not push out the last frame.
                queue.popleft()
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

    def get(self) -> tuple[int, Message] | None:
        """Take the oldest queued message over all inputs, waiting for one if needed.

        Returns:
            ``(input_index, message)``, or None once the inbox is closed.
        """
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
                self._cond.wait()

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
