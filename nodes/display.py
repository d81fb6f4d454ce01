"""The Display node: shows frames in an OpenCV window, one per stream; q or Esc ends the graph.

Each stream (``Frame.source``) gets its own window: the first stream the one titled ``title``
(so a one-camera graph looks as it always did), each later one ``TITLE - STREAM``. When a
stream ends (:meth:`Display.end_stream`) its window closes; the others stay.

Without a display (no ``$DISPLAY`` on Linux, an OpenCV build without GUI, or a window that
cannot be created) the same graph still runs on a headless server, and says so in one warning:
by default it serves the frames to any browser instead (a :class:`BrowserView` at
http://127.0.0.1:8088/), or records them (``headless: record``), or drops them
(``headless: none``). A graph whose only output is a window must never run silently.

Why check the environment before touching OpenCV: with the Qt backend of the opencv-python
wheels, ``cv2.namedWindow`` without an X server *aborts the process* (Qt's fatal error), it
does not raise ``cv2.error``; only a check beforehand keeps the graph alive.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Literal

import cv2
from pydantic import Field

from flowpose.frame import Frame
from flowpose.node import Node, NodeParams, StopGraph
from flowpose.nodes.browser_view import BrowserView
from flowpose.nodes.video_recorder import VideoRecorder
from flowpose.nodes.visualizer import LAYER_KEYS, LAYER_TOGGLES

QUIT_KEYS = frozenset({ord("q"), ord("Q"), 27})  # 27 = Esc
NO_KEY = -1


@functools.cache
def gui_backend() -> str:
    """OpenCV's GUI backend as its build information names it ("QT5", "GTK3", "NONE", ...)."""
    for line in cv2.getBuildInformation().splitlines():
        key, _, value = line.strip().partition(":")
        if key == "GUI":
            return value.strip() or "NONE"
    return "UNKNOWN"


def display_problem(env: dict[str, str] | None = None) -> str | None:
    """Why no window can be shown here, or None when it is worth trying.

    Args:
        env: Environment to check (default: ``os.environ``).
    """
    env = dict(os.environ) if env is None else env
    backend = gui_backend()
    if backend.upper() == "NONE":
        return "OpenCV was built without GUI support (opencv-python-headless?)"
    if sys.platform.startswith("linux"):
        if "QT" in backend.upper():
            # Qt picks its platform plugin from QT_QPA_PLATFORM; without it, it needs X11.
            if not env.get("DISPLAY") and not env.get("QT_QPA_PLATFORM"):
                return "$DISPLAY is not set"
        elif not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
            return "neither $DISPLAY nor $WAYLAND_DISPLAY is set"
    return None


class Display(Node):
    """Shows frames in a window per stream (q/Esc quits; b/l/s/k/o toggle Visualizer layers); headless-safe."""

    class Params(NodeParams):
        title: str = Field("", description="Window title; empty = the node's name.")
        wait_ms: int = Field(1, ge=1, le=1000, description="cv2.waitKey delay per frame, in ms (keeps the GUI alive).")
        headless: Literal["browser", "record", "none"] = Field(
            "browser",
            description="Without a display: serve the frames to a browser (BrowserView), record them "
            "to headless_path, or drop them (none).",
        )
        headless_port: int = Field(
            8088, ge=0, le=65535, description="Port of the browser view used without a display (0 = any free port)."
        )
        headless_path: str = Field(
            "out/{name}.mp4", description="Video written without a display when headless: record ({name}: the node's)."
        )

    @classmethod
    def check(cls, params: NodeParams) -> list[tuple[str, str]]:
        assert isinstance(params, cls.Params)
        if params.headless == "record":
            return VideoRecorder.check(VideoRecorder.Params(path=params.headless_path))
        return []

    @property
    def title(self) -> str:
        """The window title."""
        return self.params.title or self.name

    def window_title(self, stream: str) -> str:
        """The title of ``stream``'s window: ``title`` for the first stream, ``TITLE - STREAM`` after."""
        windows = getattr(self, "_windows", {})
        if stream in windows:
            return windows[stream]
        return self.title if not getattr(self, "_titled", False) else f"{self.title} - {stream}"

    def setup(self) -> None:
        # Both run in the node's own thread, as OpenCV's GUI wants (window and imshow together).
        self.window_open = False
        self._windows: dict[str, str] = {}  # stream -> its window's title
        self._titled = False  # whether a stream took the window titled `title` (the first one does)
        problem = display_problem()
        if problem is None:
            try:
                cv2.namedWindow(self.title, cv2.WINDOW_NORMAL)
                self.window_open = True
            except cv2.error as exc:
                problem = f"cv2.namedWindow failed: {str(exc).strip().splitlines()[-1]}"
        self.stand_in: Node | None = None
        if problem is not None:
            self.stand_in = self._headless_stand_in(problem)
        else:
            keys = ", ".join(f"{k} {layer}" for k, layer in LAYER_KEYS.items())
            self.log.info("window %r: q/Esc quits; %s toggle layers", self.title, keys)

    def _headless_stand_in(self, problem: str) -> Node | None:
        """The node that takes the frames when no window can be shown, saying so once."""
        mode = self.params.headless
        stand_in: Node | None
        if mode == "browser":
            stand_in = self._browser_view(self.params.headless_port)
            instead = f"serving them at {stand_in.url} instead (headless: record writes a video, none drops them)"
        elif mode == "record":
            path = self.params.headless_path.replace("{name}", self.name)
            stand_in = VideoRecorder(self.name, {"path": path})
            stand_in.setup()
            instead = f"recording them to {path} instead (headless: browser serves them to a browser)"
        else:
            stand_in = None
            instead = "dropping them (headless: none); this node produces no output"
        self.log.warning("no display available (%s); frames are not shown in a window — %s", problem, instead)
        return stand_in

    def _browser_view(self, port: int) -> BrowserView:
        """A started BrowserView on ``port``, or on any free port when that one is taken."""
        view = BrowserView(self.name, {"port": port, "title": self.title})
        try:
            view.setup()
        except OSError as exc:
            if port == 0:
                raise
            # A stand-in must not fail the graph over a busy port (a second graph, another app).
            self.log.info("port %d is taken (%s); using any free port", port, exc.__cause__ or exc)
            view = BrowserView(self.name, {"port": 0, "title": self.title})
            view.setup()
        return view

    def process(self, frame: Frame) -> None:
        if not getattr(self, "window_open", False):
            if getattr(self, "stand_in", None) is not None:
                self.stand_in.process(frame)
                self.counters["served" if self.params.headless == "browser" else "recorded"] += 1
            else:
                self.counters["not_shown"] += 1
            return None
        window = self._window(frame.source)
        cv2.imshow(window, frame.image)
        self.handle_key(cv2.waitKey(self.params.wait_ms))
        # Closing a window with the mouse ends the graph like q does.
        if cv2.getWindowProperty(window, cv2.WND_PROP_VISIBLE) < 1:
            raise StopGraph(f"window {window!r} closed")
        return None

    def _window(self, stream: str) -> str:
        """The window of ``stream``, opened on its first frame (the first stream's opened in setup)."""
        window = self._windows.get(stream)
        if window is not None:
            return window
        window = self.window_title(stream)
        if window == self.title:
            self._titled = True  # made in setup()
        else:
            cv2.namedWindow(window, cv2.WINDOW_NORMAL)
            self.log.info("stream %r shown in window %r", stream, window)
        self._windows[stream] = window
        return window

    def end_stream(self, stream: str) -> None:
        """Close ``stream``'s window (the others stay); headless, tell the stand-in."""
        stand_in = getattr(self, "stand_in", None)
        if stand_in is not None:
            stand_in.end_stream(stream)
        window = getattr(self, "_windows", {}).pop(stream, None)
        if window is not None:
            self._destroy(window)

    def _destroy(self, window: str) -> None:
        try:
            cv2.destroyWindow(window)
            cv2.waitKey(1)  # lets the backend actually remove the window
        except cv2.error as exc:
            self.log.debug("destroying window %r: %s", window, exc)

    def handle_key(self, key: int) -> str | None:
        """React to a key code from ``cv2.waitKey``.

        Returns:
            The layer flipped, or None when the key does nothing.

        Raises:
            StopGraph: for q, Q or Esc.
        """
        if key == NO_KEY:
            return None
        key &= 0xFF  # some backends set modifier bits above the character
        if key in QUIT_KEYS:
            raise StopGraph(f"{'Esc' if key == 27 else chr(key)} pressed in window {self.title!r}")
        layer = LAYER_KEYS.get(chr(key).lower())
        if layer is not None:
            flipped = LAYER_TOGGLES.toggle(layer)
            self.log.info("layer %r %s", layer, "flipped" if flipped else "back to its graph setting")
        return layer

    def close(self) -> None:
        stand_in = getattr(self, "stand_in", None)
        if stand_in is not None:
            self.stand_in = None
            stand_in.close()
        if getattr(self, "window_open", False):
            windows = set(self._windows.values())
            if not self._titled:
                windows.add(self.title)  # made in setup(), no frame shown in it yet
            for window in sorted(windows):
                self._destroy(window)
            self._windows.clear()
            self.window_open = False
