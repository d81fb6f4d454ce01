"""What a PhoneCamera shares with its server and its PhoneDisplay: uploads waiting for the
graph, and the way back to each connected phone.

Three threads meet here: the server's event loop (uploads in, results out), the PhoneCamera
source (takes uploads) and a PhoneDisplay sink (hands results back). Hubs live in a
per-process registry keyed by the PhoneCamera's node name, which is why a PhoneDisplay must
run in the same process as its PhoneCamera.
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")

#: Hands a result (an encoded message for the page) to one phone's connection; thread-safe.
Deliver = Callable[[bytes], None]


@dataclass(frozen=True)
class Upload:
    """One JPEG frame received from a phone, waiting for the PhoneCamera to take it.

    Attributes:
        source: The phone's source name, e.g. ``phone/1``.
        seq: The page's sequence number of the frame (returned with its result).
        jpeg: The encoded image.
        received_ns: Wall-clock time (ns) the whole message had arrived.
        ack: Tells the page the frame is dealt with (argument: True when it was dropped),
            so it sends the next one; thread-safe.
    """

    source: str
    seq: int
    jpeg: bytes
    received_ns: int
    ack: Callable[[bool], None]


class PhoneHub:
    """Uploads from every phone of one PhoneCamera, one slot per phone, and the way back.

    Each phone has at most one upload waiting: a newer one replaces it (the replaced one is
    returned so the server can ack it as dropped). The page only sends after an ack, so in
    practice nothing is ever replaced; the slot just makes sure no queue can build up.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.pid = os.getpid()
        self.counters: Counter[str] = Counter()
        #: Set once the server listens; ``url`` and ``port`` are valid from then on.
        self.serving = threading.Event()
        self.url = ""
        self.port = 0
        self.displays = 0
        self._cond = threading.Condition(threading.Lock())
        self._pending: OrderedDict[str, Upload] = OrderedDict()  # oldest first: fair across phones
        self._clients: dict[str, Deliver] = {}
        # client id -> (source name, name asked for), kept across reconnects
        self._names: dict[str, tuple[str, str]] = {}
        self._closed = False

    # -- naming --------------------------------------------------------------------------

    def source_for(self, client_id: str, wanted: str = "") -> str:
        """The source name of the phone with ``client_id``: the same after every reconnect.

        Args:
            client_id: The page's random id (kept in the tab's session storage).
            wanted: A name the user gave (``?name=kitchen``); a number is given otherwise.
        """
        base = wanted if NAME_PATTERN.match(wanted) else ""  # anything else is ignored
        with self._cond:
            known = self._names.get(client_id)
            if known is not None and (not base or known[1] == base):
                return known[0]
            taken = {source for source, _ in self._names.values()}
            n = 1
            name = f"{self.name}/{base or n}"
            while name in taken:
                n += 1
                name = f"{self.name}/{base}-{n}" if base else f"{self.name}/{n}"
            self._names[client_id] = (name, base)
            return name

    # -- server side ---------------------------------------------------------------------

    def connect(self, source: str, deliver: Deliver) -> None:
        """Route results for ``source`` to ``deliver`` (a newer connection replaces an older)."""
        with self._cond:
            self._clients[source] = deliver

    def disconnect(self, source: str, deliver: Deliver) -> None:
        """Forget ``source``'s route, unless a newer connection has taken it over already."""
        with self._cond:
            if self._clients.get(source) is deliver:
                del self._clients[source]

    def offer(self, upload: Upload) -> Upload | None:
        """Queue ``upload`` for the graph; returns the upload it replaced, if any."""
        with self._cond:
            replaced = self._pending.pop(upload.source, None)
            if self._closed:
                return upload
            self._pending[upload.source] = upload
            self._cond.notify_all()
        if replaced is not None:
            self.counters["replaced"] += 1
        return replaced

    # -- source side ---------------------------------------------------------------------

    def take(self, timeout: float) -> Upload | None:
        """The oldest waiting upload, waiting up to ``timeout`` s; None if none or closed."""
        with self._cond:
            if not self._pending and not self._closed:
                self._cond.wait(timeout)
            if self._closed or not self._pending:
                return None
            return self._pending.popitem(last=False)[1]

    def wake(self) -> None:
        """Wake a waiting :meth:`take` (the graph is stopping)."""
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        """No more uploads; waiting ones are acked as dropped so their pages do not wait."""
        with self._cond:
            self._closed = True
            left = list(self._pending.values())
            self._pending.clear()
            self._clients.clear()
            self._cond.notify_all()
        for upload in left:
            upload.ack(True)

    # -- display side --------------------------------------------------------------------

    def connected(self) -> list[str]:
        """Source names of the phones connected now."""
        with self._cond:
            return sorted(self._clients)

    def deliver(self, source: str, message: bytes) -> bool:
        """Send ``message`` to the phone ``source``; False when it is not connected."""
        with self._cond:
            deliver = self._clients.get(source)
        if deliver is None:
            return False
        deliver(message)
        return True


_HUBS: dict[str, PhoneHub] = {}
_HUBS_LOCK = threading.Lock()


def register(hub: PhoneHub) -> None:
    """Make ``hub`` the one found under its name in this process (a restart replaces the old)."""
    with _HUBS_LOCK:
        _HUBS[hub.name] = hub


def lookup(name: str) -> PhoneHub | None:
    """The hub of the PhoneCamera called ``name`` in this process, if one was made."""
    with _HUBS_LOCK:
        return _HUBS.get(name)


def known() -> list[str]:
    """Names of the PhoneCameras made in this process."""
    with _HUBS_LOCK:
        return sorted(_HUBS)
