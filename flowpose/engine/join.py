"""Joining several inputs of one node by frame id.

Each input delivers frames of a source in increasing frame-id order, but any input may
miss frames (a ``latest`` buffer dropped them, or a node filtered them). A frame id is
emitted once every input has it; it is given up as soon as some input that lacks it has
moved past it — that input will never deliver it — so a drop never stalls the join.
Frames of different sources are joined separately (the key is ``(source, frame_id)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flowpose.frame import EndOfStream, Frame, Message


@dataclass
class JoinResult:
    """What one :meth:`FrameJoiner.push` produced.

    Attributes:
        ready: Complete sets, one frame per input in input order, oldest first.
        ended: True once every input has seen end-of-stream.
    """

    ready: list[tuple[Frame, ...]] = field(default_factory=list)
    ended: bool = False


class FrameJoiner:
    """Joins frames from ``num_inputs`` inputs by ``(source, frame_id)``.

    Args:
        num_inputs: Number of inputs (>= 2).
        max_pending: Bound on incomplete keys kept; the oldest are given up past it.
    """

    def __init__(self, num_inputs: int, max_pending: int = 64) -> None:
        if num_inputs < 2:
            raise ValueError(f"FrameJoiner needs at least 2 inputs, got {num_inputs}")
        self.num_inputs = num_inputs
        self.max_pending = max_pending
        self._pending: dict[tuple[str, int], list[Frame | None]] = {}
        self._last_seen: list[dict[str, int]] = [{} for _ in range(num_inputs)]
        self._ended = [False] * num_inputs
        self.discarded = 0

    def push(self, index: int, msg: Message) -> JoinResult:
        """Add a message that arrived on input ``index``."""
        result = JoinResult()
        if isinstance(msg, EndOfStream):
            self._ended[index] = True
        else:
            key = (msg.source, msg.frame_id)
            self._last_seen[index][msg.source] = msg.frame_id
            slots = self._pending.setdefault(key, [None] * self.num_inputs)
            slots[index] = msg
            if all(s is not None for s in slots):
                del self._pending[key]
                result.ready.append(tuple(slots))  # type: ignore[arg-type]
        self._give_up_unreachable()
        result.ended = all(self._ended)
        return result

    def _unreachable(self, key: tuple[str, int], slots: list[Frame | None]) -> bool:
        source, frame_id = key
        for i, slot in enumerate(slots):
            if slot is None and (self._ended[i] or self._last_seen[i].get(source, -1) > frame_id):
                return True
        return False

    def _give_up_unreachable(self) -> None:
        dead = [k for k, slots in self._pending.items() if self._unreachable(k, slots)]
        overflow = len(self._pending) - len(dead) - self.max_pending
        if overflow > 0:
            alive = sorted(k for k in self._pending if k not in set(dead))
            dead.extend(alive[:overflow])
        for key in dead:
            del self._pending[key]
        self.discarded += len(dead)

    @property
    def pending(self) -> int:
        """Incomplete keys currently held."""
        return len(self._pending)
