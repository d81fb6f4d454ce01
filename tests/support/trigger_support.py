"""Actions for Trigger tests: a recording callback, a slow one, a failing one, a plugin class."""

from __future__ import annotations

import time

from flowpose.closedloop import TriggerEvent

#: Events seen by :func:`record` and :class:`FakeSerial`, in order (cleared by the tests).
EVENTS: list[TriggerEvent] = []
#: Bytes "written" by :class:`FakeSerial` instances.
WRITTEN: list[bytes] = []


def record(event: TriggerEvent) -> None:
    """Remember the event."""
    EVENTS.append(event)


def slow(event: TriggerEvent) -> None:
    """Take 20 ms, like a slow device."""
    time.sleep(0.02)
    EVENTS.append(event)


def broken(event: TriggerEvent) -> None:
    """Always fails."""
    raise OSError("device unplugged")


class FakeSerial:
    """A serial-port plugin as docs/lab.md shows it, writing into a list instead of a port."""

    def __init__(self, port: str, on: str = "1", off: str = "0") -> None:
        self.port, self.on, self.off = port, on.encode(), off.encode()
        self.closed = False

    def fire(self, event: TriggerEvent) -> None:
        WRITTEN.append(self.on if event.state == "on" else self.off)
        EVENTS.append(event)

    def close(self) -> None:
        self.closed = True
