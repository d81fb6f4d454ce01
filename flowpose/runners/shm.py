"""Shared-memory image slots for links between processes on one host.

Sending a 1080p image through an ``ipc://`` socket costs ~1 ms (the kernel copies it twice
through a socket buffer); copying it into a shared slot and out again costs two memcpys. The
header still travels over ZeroMQ, with the slot number in the link prefix.

The sender owns a segment of :data:`~flowpose.runners.links.LINK_WINDOW` slots (a file in
``/dev/shm``); message ``seq`` uses slot ``seq % slots``, which credit flow control makes safe:
slot ``s`` is written again only after the message that used it was acknowledged, and the
receiver acknowledges after copying the image out. Each slot starts with the sequence number
written into it, checked again after the copy, so a slot overwritten under a reader (possible
only around a restart) is detected and the message dropped as bad, never delivered torn.

The receiver copies out rather than handing the node a view of the slot: a node may keep a
frame for as long as it likes (a recorder, a tracker's history), which would pin the slot.

We use ``/dev/shm`` files and :mod:`mmap` rather than :mod:`multiprocessing.shared_memory`:
in Python 3.11 every process that merely attaches a segment registers it with a resource
tracker (its own helper process) that unlinks it when that process exits, which breaks a
segment shared by a sender and a restarting receiver. Without ``/dev/shm`` (not Linux), links
send images inline over the socket instead.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import mmap
import os
import struct

import numpy as np

from flowpose.frame import Frame
from flowpose.transport import BadMessageCounter, WireError, encode

SHM_DIR = "/dev/shm"
MIN_SHM_BYTES = 64 * 1024  # below this, sending the image inline is as fast
SLOTS = 4  # == links.LINK_WINDOW (not imported: links imports this module)
_STAMP = struct.Struct("<Q")


def shm_available() -> bool:
    """Whether shared-memory slots can be used on this machine."""
    return os.path.isdir(SHM_DIR) and os.access(SHM_DIR, os.W_OK)


def segment_prefix(endpoint: str) -> str:
    """The name prefix of every segment of the links whose endpoints share ``endpoint``'s folder."""
    folder = os.path.dirname(endpoint.removeprefix("ipc://"))
    return "flowpose-" + hashlib.blake2s(folder.encode(), digest_size=6).hexdigest()


def remove_segments(prefix: str) -> None:
    """Unlink leftover segments (of a crashed sender) whose names start with ``prefix``."""
    for path in glob.glob(os.path.join(SHM_DIR, glob.escape(prefix) + "*")):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


class _Segment:
    def __init__(self, name: str, slot_bytes: int, create: bool) -> None:
        self.name, self.path = name, os.path.join(SHM_DIR, name)
        fd = os.open(self.path, (os.O_CREAT | os.O_TRUNC | os.O_RDWR) if create else os.O_RDWR, 0o600)
        try:
            if create:
                os.ftruncate(fd, slot_bytes * SLOTS)
            size = os.fstat(fd).st_size
            self.map = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        self.slot_bytes = size // SLOTS
        self.array = np.frombuffer(self.map, dtype=np.uint8)

    def close(self) -> None:
        self.array = None  # type: ignore[assignment]  # release the buffer export first
        with contextlib.suppress(BufferError):  # a view still alive somewhere: freed at exit
            self.map.close()


class SlotWriter:
    """The sending end: copies images into slots, one segment per link (grown as needed)."""

    def __init__(self, endpoint: str) -> None:
        self._base = f"{segment_prefix(endpoint)}-{os.path.basename(endpoint)}"
        self._segments: list[_Segment] = []  # old ones stay mapped: in-flight messages may use them

    def put(self, frame: Frame, seq: int) -> tuple[bytes, list[bytes | memoryview]]:
        """Copy ``frame``'s image into slot ``seq % SLOTS``.

        Returns:
            ``(slot_info, parts)``: the segment name to add to the link prefix (empty when the
            image goes inline) and the wire parts to send.
        """
        image = frame.image
        nbytes = image.nbytes
        if nbytes < MIN_SHM_BYTES or not image.flags.c_contiguous or not image.dtype.isnative:
            return b"", encode(frame)
        parts = encode(frame, include_image=False)  # validates the frame, header only
        seg = self._segments[-1] if self._segments else None
        if seg is None or seg.slot_bytes < nbytes + _STAMP.size:
            seg = _Segment(f"{self._base}-{len(self._segments)}", nbytes + _STAMP.size, create=True)
            self._segments.append(seg)
        offset = (seq % SLOTS) * seg.slot_bytes
        _STAMP.pack_into(seg.map, offset, seq)
        flat = image.reshape(-1).view(np.uint8)
        seg.array[offset + _STAMP.size : offset + _STAMP.size + nbytes] = flat
        return struct.pack("<I", seq % SLOTS) + seg.name.encode(), parts

    def close(self) -> None:
        """Unmap and unlink every segment."""
        for seg in self._segments:
            seg.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(seg.path)
        self._segments.clear()


class SlotReader:
    """The receiving end: maps the sender's segments by name and copies images out."""

    def __init__(self) -> None:
        self._segments: dict[str, _Segment] = {}

    def fill(self, frame: Frame, info: bytes, seq: int, bad: BadMessageCounter) -> Frame | None:
        """``frame`` (decoded without its image) with its image copied out of the slot named in ``info``."""
        try:
            if len(info) < 5:
                raise WireError("parts", "shared-memory slot info is truncated")
            slot = struct.unpack_from("<I", info)[0]
            name = info[4:].decode("ascii")
            if slot >= SLOTS or "/" in name or not name.startswith("flowpose-"):
                raise WireError("parts", f"bad shared-memory slot {slot} in {name!r}")
            seg = self._segments.get(name)
            if seg is None:
                seg = self._segments[name] = _Segment(name, 0, create=False)
            image = np.empty(frame.image.shape, dtype=frame.image.dtype)
            offset = slot * seg.slot_bytes
            if offset + _STAMP.size + image.nbytes > len(seg.map):
                raise WireError("image_size", f"image of {image.nbytes} bytes does not fit slot {slot} of {name}")
            start = offset + _STAMP.size
            image.reshape(-1).view(np.uint8)[:] = seg.array[start : start + image.nbytes]
            if _STAMP.unpack_from(seg.map, offset)[0] != seq:
                raise WireError("image_size", f"slot {slot} of {name} was overwritten while being read")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            bad.record(exc if isinstance(exc, WireError) else WireError("parts", f"shared memory: {exc}"))
            return None
        image.flags.writeable = False
        return frame.replace(image=image)

    def close(self) -> None:
        """Unmap every segment (the sender unlinks them)."""
        for seg in self._segments.values():
            seg.close()
        self._segments.clear()
