"""A PhoneCamera's phones as streams: what ``flowpose serve`` lists, pauses and removes.

Phones join from the page, so a stream cannot be added from here. Each phone that sent a
frame is a stream (its source name, e.g. ``phone/1``); a paused one's frames are acked as
dropped, so the page keeps sending at its pace and nothing queues; a removed one's frames
are refused from then on and its end goes downstream once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from flowpose.nodes.stream_rate import RateMeter
from flowpose.streams import StreamError, StreamInfo


@dataclass
class _Phone:
    frames: int = 0
    meter: RateMeter = field(default_factory=RateMeter)
    paused: bool = False
    removed: bool = False
    end_sent: bool = False


class PhoneStreams:
    """Per-phone tallies and controls of one PhoneCamera; thread-safe.

    Args:
        node: The PhoneCamera's name.
        connected: The source names of the phones connected now.
        url: The page's URL without its token, for the message that says how phones join.
    """

    def __init__(self, node: str, connected: Callable[[], list[str]], url: Callable[[], str]) -> None:
        self.node = node
        self._connected = connected
        self._url = url
        self._lock = threading.Lock()
        self._phones: dict[str, _Phone] = {}

    def accept(self, source: str) -> bool:
        """Whether a frame of ``source`` goes into the graph now (counted if so)."""
        with self._lock:
            phone = self._phones.setdefault(source, _Phone())
            if phone.paused or phone.removed:
                return False
            phone.frames += 1
            phone.meter.tick()
            return True

    def ends_due(self) -> list[str]:
        """Removed phones whose end has not gone downstream yet (marked as sent)."""
        with self._lock:
            due = [s for s, p in self._phones.items() if p.removed and not p.end_sent]
            for source in due:
                self._phones[source].end_sent = True
            return due

    def list(self) -> list[StreamInfo]:
        connected = set(self._connected())
        with self._lock:
            for source in connected:
                self._phones.setdefault(source, _Phone())
            return [self._info(s, p, s in connected) for s, p in self._phones.items()]

    def add(self) -> StreamInfo:
        url = self._url() or "the URL the PhoneCamera prints"
        raise StreamError(f"phones join from the page: open {url} on the phone", 400)

    def remove(self, stream_id: str) -> None:
        with self._lock:
            self._get(stream_id).removed = True

    def pause(self, stream_id: str, paused: bool) -> StreamInfo:
        connected = set(self._connected())
        with self._lock:
            phone = self._get(stream_id)
            if phone.removed:
                raise StreamError(f"phone {stream_id!r} was removed; it cannot be paused", 409)
            phone.paused = paused
            return self._info(stream_id, phone, stream_id in connected)

    def _get(self, stream_id: str) -> _Phone:
        phone = self._phones.get(stream_id)
        if phone is None:
            raise StreamError(f"no phone {stream_id!r} in {self.node}; it has {sorted(self._phones)}", 404)
        return phone

    def _info(self, source: str, phone: _Phone, connected: bool) -> StreamInfo:
        if phone.removed:
            state = "ended"
        elif phone.paused:
            state = "paused"
        else:
            state = "running" if connected else "reconnecting"  # a page that lost its network comes back
        return StreamInfo(source, "phone page", self.node, state, phone.frames, round(phone.meter.fps(), 2), True)
