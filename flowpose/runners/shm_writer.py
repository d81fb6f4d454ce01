"""The sending end of shared-memory slots (see :mod:`flowpose.runners.shm` for the protocol).

A link's writer makes slots as needed, up to :data:`MAX_SLOTS` and :data:`MAX_SLOT_BYTES`;
when every slot is still held by the reader, the image goes inline over the socket instead
(slower, always correct). A frame whose image is already a whole slot view (a frame passed on
by a node in this process) is not copied: its slot's name goes downstream, and the view is kept
until the reader releases the message.

When a *new* reader says HELLO (its process was restarted), what the old reader held is
quarantined, not reused: the old reader may have passed views on to processes that still hold
them. So a restart costs at most the slots held at that moment, until the graph ends.

``/dev/shm`` files and :mod:`mmap` rather than :mod:`multiprocessing.shared_memory`: in
Python 3.11 every process that attaches a segment registers it with a resource tracker that
unlinks it when that process exits. Names carry the writer's pid, so a restarted writer never
truncates a file a reader still maps. Space is reserved with ``posix_fallocate``, so a full
``/dev/shm`` (64 MB in a default Docker container) means inline images, not a SIGBUS.
"""

from __future__ import annotations

import contextlib
import itertools
import mmap
import os

import numpy as np

from flowpose.frame import Frame
from flowpose.runners.shm import DATA_OFFSET, MIN_SHM_BYTES, SHM_DIR, SLOT_INFO, STAMP, segment_prefix, slot_of
from flowpose.transport import encode

MAX_SLOTS = 16  # per link: the credit window (4), frames readers still hold, frames passed on
MAX_SLOT_BYTES = 192 << 20  # and at most this much shared memory per link
_WRITERS = itertools.count()


class _Slot:
    """One writable segment holding one image."""

    def __init__(self, name: str, nbytes: int) -> None:
        self.name, self.path = name, os.path.join(SHM_DIR, name)
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        try:
            os.posix_fallocate(fd, 0, DATA_OFFSET + nbytes)  # ENOSPC now rather than SIGBUS later
            self.map = mmap.mmap(fd, DATA_OFFSET + nbytes)
        except OSError:
            os.close(fd)
            os.unlink(self.path)
            raise
        os.close(fd)
        self.capacity = nbytes
        self.array = np.frombuffer(self.map, dtype=np.uint8, offset=DATA_OFFSET)

    def close(self, unlink: bool = True) -> None:
        self.array = None  # type: ignore[assignment]  # release the buffer export first
        with contextlib.suppress(BufferError):
            self.map.close()
        if unlink:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)


class SlotWriter:
    """Puts images into slots for one link; slots come back through :meth:`release`."""

    def __init__(self, endpoint: str) -> None:
        # Unique per writer: a closed writer may leave held slots behind until the run ends.
        self._base = f"{segment_prefix(endpoint)}-{os.path.basename(endpoint)}-{os.getpid()}-{next(_WRITERS)}"
        self._slots: dict[int, _Slot] = {}  # slot number -> slot (quarantined ones included)
        self._free: list[int] = []
        self._busy: dict[int, int | np.ndarray] = {}  # seq -> our slot number, or a view passed on
        self._quarantined: list[int | np.ndarray] = []
        self._live_bytes = 0
        self._made = 0
        self._full = False  # /dev/shm refused more space: make no more slots

    def put(self, frame: Frame, seq: int) -> tuple[bytes, list[bytes | memoryview]]:
        """Place ``frame``'s image for message ``seq``.

        Returns:
            ``(slot_info, parts)``: what to add to the link prefix (empty when the image goes
            inline) and the wire parts to send.
        """
        image = frame.image
        nbytes = image.nbytes
        if nbytes < MIN_SHM_BYTES or not image.flags.c_contiguous or not image.dtype.isnative:
            return b"", encode(frame)
        parts = encode(frame, include_image=False)  # validates the frame, header only
        upstream = slot_of(image)
        if upstream is not None:  # already in shared memory: pass the slot on, keep it held
            self._busy[seq] = image
            return SLOT_INFO.pack(nbytes, upstream[1]) + upstream[0].encode(), parts
        number = self._take(nbytes)
        if number is None:  # every slot is still held by the reader
            return b"", encode(frame)
        slot = self._slots[number]
        STAMP.pack_into(slot.map, 0, seq)
        slot.array[:nbytes] = image.reshape(-1).view(np.uint8)
        self._busy[seq] = number
        return SLOT_INFO.pack(nbytes, seq) + slot.name.encode(), parts

    def _take(self, nbytes: int) -> int | None:
        for number in self._free:
            if self._slots[number].capacity >= nbytes:
                self._free.remove(number)
                return number
        if self._full:
            return None
        if self._free:  # free but too small (the frame size grew): drop one to make room
            old = self._slots.pop(self._free.pop())
            self._live_bytes -= old.capacity
            old.close()
        live = len(self._slots) - sum(1 for q in self._quarantined if isinstance(q, int))
        if live >= MAX_SLOTS or self._live_bytes + nbytes > MAX_SLOT_BYTES:
            return None
        self._made += 1
        try:
            self._slots[self._made] = _Slot(f"{self._base}-{self._made}", nbytes)
        except OSError:
            self._full = True
            return None
        self._live_bytes += nbytes
        return self._made

    def release(self, seq: int) -> None:
        """The reader no longer holds the image of message ``seq`` (unknown ones are ignored)."""
        held = self._busy.pop(seq, None)
        if isinstance(held, int):
            self._free.append(held)
        # A view passed on is simply dropped: that releases it upstream.

    def reader_restarted(self) -> None:
        """A new reader said HELLO: quarantine what the old one held (see module docs)."""
        self._quarantined.extend(self._busy.values())
        self._live_bytes -= sum(self._slots[q].capacity for q in self._busy.values() if isinstance(q, int))
        self._busy.clear()

    @property
    def held(self) -> int:
        """Messages whose image the reader holds now."""
        return len(self._busy)

    def close(self) -> None:
        """Unmap every slot; unlink those nobody holds.

        A held slot may have been passed on to processes that have not mapped it yet (they are
        still busy with earlier frames), so its file stays until the graph's cleanup removes
        every segment of the run (:func:`flowpose.runners.shm.remove_segments`).
        """
        held = {q for q in (*self._busy.values(), *self._quarantined) if isinstance(q, int)}
        for number, slot in self._slots.items():
            slot.close(unlink=number not in held)
        self._slots.clear()
        self._free.clear()
        self._busy.clear()
        self._quarantined.clear()
