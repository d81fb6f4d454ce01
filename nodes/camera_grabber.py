"""A grab thread for live sources: it keeps reading and holds only the newest image.

Without it a live stream is read only when the graph asks for the next frame, so behind a
slow consumer (a lossless buffer, ``Pose.track`` in a slow loop) FFmpeg's and the kernel's
socket buffers queue frames and every frame handed out is older than the last. The grabber
drains the source as fast as it delivers, so the frame handed out is always the newest one.
"""

from __future__ import annotations

import logging
import threading

from flowpose.nodes.camera_capture import Capture, Grabbed

log = logging.getLogger(__name__)


class LatestGrabber:
    """Reads ``capture`` in its own thread, keeping only the newest image.

    The grabber owns the capture from :meth:`start` on and releases it when its thread ends
    (the source ended or dropped, or :meth:`close`): a capture must never be released by one
    thread while another is inside its ``read()``.

    Args:
        capture: An opened live source.
        name: Thread name, for stack dumps.
    """

    def __init__(self, capture: Capture, name: str = "grab") -> None:
        self._capture = capture
        self._cond = threading.Condition(threading.Lock())
        self._latest: Grabbed | None = None
        self._replaced = 0  # images overwritten before anybody took them, since the last take
        self._ended = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"flowpose:{name}", daemon=True)

    def start(self) -> LatestGrabber:
        self._thread.start()
        return self

    @property
    def ended(self) -> bool:
        """Whether the source stopped delivering (and the newest image has been taken)."""
        with self._cond:
            return self._ended and self._latest is None

    def take(self, timeout: float) -> tuple[Grabbed, int] | None:
        """The newest image not taken yet, waiting up to ``timeout`` seconds for one.

        Returns:
            ``(image, replaced)`` where ``replaced`` counts the images that arrived since the
            previous take and were overwritten unseen; None on timeout or once ended.
        """
        with self._cond:
            self._cond.wait_for(lambda: self._latest is not None or self._ended, timeout)
            if self._latest is None:
                return None
            got, replaced = self._latest, self._replaced
            self._latest, self._replaced = None, 0
            return got, replaced

    def close(self, timeout: float) -> bool:
        """Ask the thread to stop and wait up to ``timeout`` s for it (a read can block that long).

        Returns:
            True if the thread ended; otherwise it ends (and releases the capture) after its
            current read returns.
        """
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                grabbed = self._capture.read()
                if grabbed is None:
                    break
                grabbed.image.setflags(write=False)  # frames are immutable once sent
                with self._cond:
                    if self._latest is not None:
                        self._replaced += 1
                    self._latest = grabbed
                    self._cond.notify_all()
        except Exception:  # a decoder error must not leave the node waiting forever
            log.exception("reading the source failed; treating it as a dropped stream")
        finally:
            self._capture.release()
            with self._cond:
                self._ended = True
                self._cond.notify_all()
