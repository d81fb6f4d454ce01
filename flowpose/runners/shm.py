"""Shared-memory image slots for links between processes on one host, read in place.

Sending a 1080p image through an ``ipc://`` socket costs ~1 ms (the kernel copies it twice
through a socket buffer). Instead the sender copies the image into a *slot* (a file in
``/dev/shm``, see :mod:`flowpose.runners.shm_writer`) and sends only the header, with the
slot's name and stamp in the link prefix. The receiver (:class:`SlotReader`, here) maps the
slot read-only and hands the node a numpy view of it: no copy on the receiving side.

Lifetime: a node may keep a frame as long as it likes (a recorder, a tracker's history), so a
slot belongs to the reader until the last array viewing it is garbage. A weak reference on the
view's root array queues a *release* (the message's sequence number), which the receiving end
sends back with its next acknowledgement; the sender writes a slot again only after that.

Forwarding: a node that passes a frame on unchanged (or with new instances: the image is
shared) sends the same view downstream. The sender then does not copy it at all: the next
process gets the name of the *upstream* slot, and the sender keeps the view (so the upstream
slot stays held) until its own reader releases the message. A chain of processes thus copies
an image once, where it enters shared memory. :data:`VIEWS` is how a sender recognises a view.

Each slot starts with a stamp (the sequence number it was written for), which travels in the
slot info and is checked on arrival, so a slot overwritten by mistake is dropped as a bad
message, never delivered torn.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import mmap
import os
import struct
import weakref
from collections.abc import Callable

import numpy as np

from flowpose.frame import Frame
from flowpose.transport import BadMessageCounter, WireError

SHM_DIR = "/dev/shm"
MIN_SHM_BYTES = 64 * 1024  # below this, sending the image inline is as fast
DATA_OFFSET = 64  # image bytes start here (after the stamp), cache-line aligned
MAX_MAPPED = 64  # segments a reader keeps mapped (views keep evicted ones alive)
STAMP = struct.Struct("<Q")
SLOT_INFO = struct.Struct("<IQ")  # image bytes, stamp; then the segment name

#: Every slot view handed out in this process, by ``id`` of its root array:
#: ``(weak reference to the root, segment name, stamp)``. Entries leave when the root dies.
VIEWS: dict[int, tuple[weakref.ref[np.ndarray], str, int]] = {}


def shm_available() -> bool:
    """Whether shared-memory slots can be used on this machine."""
    return os.path.isdir(SHM_DIR) and os.access(SHM_DIR, os.W_OK)


def segment_prefix(endpoint: str) -> str:
    """The name prefix of every segment of the links whose endpoints share ``endpoint``'s folder."""
    folder = os.path.dirname(endpoint.removeprefix("ipc://"))
    return "flowpose-" + hashlib.blake2s(folder.encode(), digest_size=6).hexdigest()


def remove_segments(prefix: str) -> None:
    """Unlink leftover segments (held ones, or a crashed sender's) whose names start with ``prefix``."""
    for path in glob.glob(os.path.join(SHM_DIR, glob.escape(prefix) + "*")):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def slot_of(image: np.ndarray) -> tuple[str, int] | None:
    """``(segment name, stamp)`` when ``image`` is a whole slot view handed out here, else None."""
    root = image.base
    entry = VIEWS.get(id(root)) if type(root) is np.ndarray else None
    if entry is None or entry[0]() is not root or not image.flags.c_contiguous:
        return None
    if image.nbytes != root.nbytes or image.ctypes.data != root.ctypes.data:
        return None  # a crop or another part of the slot: it gets a slot of its own
    return entry[1], entry[2]


class SlotReader:
    """The receiving end: maps the sender's slots read-only and hands out views of them.

    Args:
        on_release: Called with the sequence number once the last view of that message's
            image is gone; from whichever thread drops it, so it must be quick and lock-free
            (``deque.append``).
    """

    def __init__(self, on_release: Callable[[int], None]) -> None:
        self._maps: dict[str, mmap.mmap] = {}
        self.on_release = on_release  # replaced when a new sender process starts sending
        self._watching: dict[int, weakref.ref[np.ndarray]] = {}  # id -> a root's weak reference

    def _map(self, name: str) -> mmap.mmap:
        seg = self._maps.pop(name, None)
        if seg is None:
            fd = os.open(os.path.join(SHM_DIR, name), os.O_RDONLY)
            try:
                seg = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
            finally:
                os.close(fd)
            if len(self._maps) >= MAX_MAPPED:  # forget the oldest; its views keep it mapped
                del self._maps[next(iter(self._maps))]
        self._maps[name] = seg  # most recently used last
        return seg

    def fill(self, frame: Frame, info: bytes, seq: int, bad: BadMessageCounter) -> Frame | None:
        """``frame`` (decoded without its image) with a read-only view of the slot named in ``info``."""
        try:
            if len(info) <= SLOT_INFO.size:
                raise WireError("parts", "shared-memory slot info is truncated")
            nbytes, stamp = SLOT_INFO.unpack_from(info)
            name = info[SLOT_INFO.size :].decode("ascii")
            if "/" in name or not name.startswith("flowpose-"):
                raise WireError("parts", f"bad shared-memory slot name {name!r}")
            like = frame.image
            if nbytes != like.nbytes:
                raise WireError("image_size", f"slot {name} holds {nbytes} bytes, the header declares {like.nbytes}")
            seg = self._map(name)
            if DATA_OFFSET + nbytes > len(seg):
                raise WireError("image_size", f"image of {nbytes} bytes does not fit slot {name}")
            if STAMP.unpack_from(seg, 0)[0] != stamp:
                raise WireError("image_size", f"slot {name} no longer holds the image it was sent with")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            bad.record(exc if isinstance(exc, WireError) else WireError("parts", f"shared memory: {exc}"))
            return None
        # Views of `root` keep `root` as their base (numpy stops collapsing at a non-array
        # base), so the weak reference's callback runs once the last view is gone, in whichever
        # thread drops it. (weakref.ref over weakref.finalize: 2 us a frame instead of 10.)
        root = np.frombuffer(seg, dtype=np.uint8, count=nbytes, offset=DATA_OFFSET)
        watching, on_release, key = self._watching, self.on_release, id(root)

        def released(ref: weakref.ref[np.ndarray], seq: int = seq) -> None:
            if VIEWS is None:  # interpreter shutdown: module globals are gone, nobody to tell
                return
            watching.pop(id(ref), None)
            VIEWS.pop(key, None)  # before the root's memory (and id) can be reused
            on_release(seq)

        ref = weakref.ref(root, released)
        watching[id(ref)] = ref
        VIEWS[key] = (ref, name, stamp)
        return frame.replace(image=root.view(like.dtype).reshape(like.shape))

    def close(self) -> None:
        """Forget every mapping (views still alive keep theirs)."""
        self._maps.clear()
