"""Display with many streams: a window per stream, closed when its stream ends; headless stand-ins per stream.

This machine has no display, so the window tests replace OpenCV's GUI calls (the world's edge:
a screen) with a recorder of what would be on screen; the headless tests use the real stand-ins.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import flowpose.nodes.display as display_module
from flowpose.frame import Frame
from flowpose.node import StopGraph
from flowpose.nodes.display import Display, display_problem
from video_support import probe


class FakeScreen:
    """OpenCV's window calls, as far as Display uses them: which windows exist, what they show."""

    WINDOW_NORMAL = 0
    WND_PROP_VISIBLE = 4
    error = RuntimeError

    def __init__(self) -> None:
        self.windows: dict[str, np.ndarray | None] = {}
        self.closed_by_user: set[str] = set()
        self.keys: list[int] = []

    def namedWindow(self, title: str, flags: int) -> None:  # OpenCV's names
        self.windows.setdefault(title, None)

    def imshow(self, title: str, image: np.ndarray) -> None:
        assert title in self.windows, f"imshow on {title!r}, which was never created"
        self.windows[title] = image

    def waitKey(self, delay: int) -> int:
        return self.keys.pop(0) if self.keys else -1

    def getWindowProperty(self, title: str, prop: int) -> float:
        return 0.0 if title in self.closed_by_user or title not in self.windows else 1.0

    def destroyWindow(self, title: str) -> None:
        self.windows.pop(title)


@pytest.fixture
def screen(monkeypatch: pytest.MonkeyPatch) -> FakeScreen:
    fake = FakeScreen()
    monkeypatch.setattr(display_module, "cv2", fake)
    monkeypatch.setattr(display_module, "display_problem", lambda env=None: None)
    return fake


def frame(stream: str, value: int, i: int = 0) -> Frame:
    return Frame(frame_id=i, capture_ns=i, source=stream, image=np.full((48, 64, 3), value, np.uint8))


def test_a_window_per_stream_showing_its_own_frames(screen: FakeScreen) -> None:
    node = Display("show", {"title": "cams"})
    node.setup()
    assert list(screen.windows) == ["cams"]  # made at setup, before any frame
    for i in range(3):
        node.process(frame("cam-a", 10, i))
        node.process(frame("cam-b", 20, i))
        node.process(frame("cam-c", 30, i))
    assert {title: int(image[0, 0, 0]) for title, image in screen.windows.items()} == {
        "cams": 10,  # the first stream keeps the plain title
        "cams - cam-b": 20,
        "cams - cam-c": 30,
    }
    node.end_stream("cam-b")  # its window goes, the others stay
    assert list(screen.windows) == ["cams", "cams - cam-c"]
    node.process(frame("cam-c", 31, 3))
    assert int(screen.windows["cams - cam-c"][0, 0, 0]) == 31
    node.end_stream("nobody")  # never shown: nothing to close
    node.close()
    assert screen.windows == {}


def test_closing_any_window_ends_the_graph(screen: FakeScreen) -> None:
    node = Display("show")
    node.setup()
    node.process(frame("cam-a", 10))
    node.process(frame("cam-b", 20))
    screen.closed_by_user.add("show - cam-b")
    node.process(frame("cam-a", 11))  # the other window goes on
    with pytest.raises(StopGraph, match="window 'show - cam-b' closed"):
        node.process(frame("cam-b", 21))
    node.close()


def test_close_removes_the_setup_window_even_without_frames(screen: FakeScreen) -> None:
    node = Display("show")
    node.setup()
    node.close()
    assert screen.windows == {}


def headless(params: dict, monkeypatch: pytest.MonkeyPatch) -> Display:
    """A set-up Display whose frames go to its headless stand-in."""
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    if display_problem() is None:
        pytest.skip("a display is available here; the headless path cannot be forced")
    node = Display("show", params)
    node.setup()
    return node


def test_headless_record_writes_a_file_per_stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    node = headless({"headless": "record", "headless_path": str(tmp_path / "shown.mp4")}, monkeypatch)
    for i in range(12):
        node.process(frame("cam-a", 60, i))
        node.process(frame("cam-b", 120, i))
    node.end_stream("cam-a")  # finished now, while cam-b goes on
    assert probe(tmp_path / "shown.mp4").frames == 12
    node.process(frame("cam-b", 120, 12))
    node.close()
    assert probe(tmp_path / "shown-cam-b.mp4").frames == 13
    assert node.counters["recorded"] == 25


def test_headless_browser_shows_every_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    node = headless({"headless": "browser", "headless_port": 0}, monkeypatch)
    try:
        for stream in ("cam-a", "cam-b"):
            node.process(frame(stream, 90))
        url = node.stand_in.url
        with urllib.request.urlopen(url + "stats.json", timeout=10) as resp:
            assert json.loads(resp.read())["streams"] == ["cam-a", "cam-b"]
        node.end_stream("cam-a")
        with urllib.request.urlopen(url + "stats.json", timeout=10) as resp:
            assert json.loads(resp.read())["streams"] == ["cam-b"]
    finally:
        node.close()
