"""BrowserView with many streams: the newest frame of each, a live grid, one stream per page.

Frames of several streams (``Frame.source``) are fed straight into a real BrowserView node by a
thread, as a multi-stream source would deliver them; real HTTP clients and a headless Chromium
read the view.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from browser_support import Chromium, Page, assert_not_blank, save_screenshot
from flowpose.frame import Frame
from flowpose.nodes.browser_view import BrowserView
from flowpose.web.mjpeg import BOUNDARY
from web_support import get

#: Each stream's background colour (BGR): a tile, a JPEG or an MJPEG part shows whose frame it is.
COLOURS = {
    "cam-1": (60, 60, 200),
    "cam-2": (60, 180, 60),
    "cam-3": (200, 90, 40),
    "phone/kitchen": (40, 200, 220),
    "late": (200, 60, 200),
}
SIZE = (320, 240)


def stream_image(stream: str, i: int) -> np.ndarray:
    """A frame of ``stream``: its colour, its id written on it, a bar that moves with ``i``."""
    width, height = SIZE
    image = np.empty((height, width, 3), np.uint8)
    image[:] = COLOURS[stream]
    x = (i * 6) % (width - 20)
    image[height - 40 :, x : x + 20] = 30
    cv2.putText(image, f"{stream} #{i}", (10, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
    return image


class Feeder:
    """Feeds a BrowserView frames of its streams from one thread, as the runner does: the node's
    ``process`` and ``end_stream`` are only ever called from that thread."""

    def __init__(self, node: BrowserView, streams: list[str]) -> None:
        self.node, self.streams = node, list(streams)
        self._requests: queue.Queue[tuple[str, str]] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feeder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        i = 0
        while not self._stop.wait(0.04):
            while not self._requests.empty():
                action, stream = self._requests.get()
                if action == "end":
                    self.streams.remove(stream)
                    self.node.end_stream(stream)
                else:
                    self.streams.append(stream)
                self._requests.task_done()
            for stream in self.streams:
                self.node.process(
                    Frame(frame_id=i, capture_ns=time.time_ns(), source=stream, image=stream_image(stream, i))
                )
            i += 1

    def end(self, stream: str) -> None:
        """End ``stream`` (in the feeding thread) and wait until it is done."""
        self._requests.put(("end", stream))
        self._requests.join()

    def add(self, stream: str) -> None:
        self._requests.put(("add", stream))
        self._requests.join()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.fixture
def view() -> Iterator[tuple[str, Feeder]]:
    """The base URL of a BrowserView fed four streams, and their feeder."""
    node = BrowserView("view", {"port": 0, "banner": False, "title": "Streams"})
    node.setup()
    feeder = Feeder(node, ["cam-1", "cam-2", "cam-3", "phone/kitchen"])
    try:
        url = f"http://127.0.0.1:{node.server.port}"
        assert wait_streams(url, lambda s: len(s) == 4)
        yield url, feeder
    finally:
        feeder.stop()
        node.close()


def streams_shown(url: str) -> list[str]:
    return json.loads(get(f"{url}/stats.json")[2])["streams"]


def wait_streams(url: str, predicate, timeout: float = 10.0) -> bool:
    """Poll /stats.json (what the page itself does every second) until ``predicate(streams)``."""
    done = threading.Event()
    for _ in range(int(timeout / 0.05)):
        if predicate(streams_shown(url)):
            return True
        done.wait(0.05)
    return False


def colour_of(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (SIZE[1], SIZE[0], 3)
    return np.median(image[:40].reshape(-1, 3), axis=0)  # the top rows: background only


def is_colour_of(found: np.ndarray, stream: str) -> bool:
    return bool(np.abs(found - COLOURS[stream]).max() < 30)


def mjpeg_parts(url: str) -> Iterator[bytes]:
    """The JPEGs of an MJPEG response, as a plain HTTP client reads them, until it ends."""
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.headers["Content-Type"] == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
        while line := resp.readline():
            assert line.strip() == f"--{BOUNDARY}".encode()
            headers = {}
            while line := resp.readline().strip():
                key, _, value = line.decode().partition(":")
                headers[key.lower()] = value.strip()
            data = resp.read(int(headers["content-length"]))
            assert resp.read(2) == b"\r\n"
            yield data


def test_each_stream_has_its_own_frame_and_mjpeg(view: tuple[str, Feeder]) -> None:
    url, _ = view
    stats = json.loads(get(f"{url}/stats.json")[2])
    assert stats["streams"] == ["cam-1", "cam-2", "cam-3", "phone/kitchen"]
    assert sorted(row["source"] for row in stats["sources"]) == stats["streams"]
    for stream in COLOURS.keys() - {"late"}:
        quoted = urllib.request.quote(stream, safe="")
        status, ctype, body = get(f"{url}/frame.jpg?stream={quoted}")
        assert (status, ctype) == (200, "image/jpeg") and is_colour_of(colour_of(body), stream), stream
        assert is_colour_of(colour_of(get(f"{url}/frame.jpg?source={quoted}")[2]), stream)  # the older spelling
        parts = mjpeg_parts(f"{url}/stream.mjpg?stream={quoted}")
        frames = [next(parts) for _ in range(3)]
        parts.close()
        assert all(is_colour_of(colour_of(jpeg), stream) for jpeg in frames), stream
        assert len(set(frames)) == 3  # live: three different frames
    assert get(f"{url}/frame.jpg?stream=nobody")[0] == 404


def test_an_ended_stream_leaves_the_view_and_its_mjpeg_ends(view: tuple[str, Feeder]) -> None:
    url, feeder = view
    parts = mjpeg_parts(f"{url}/stream.mjpg?stream=cam-2")
    next(parts)  # watching cam-2
    feeder.end("cam-2")
    rest = list(parts)  # the response ends by itself (else: a read timeout fails the test)
    assert len(rest) < 30
    assert streams_shown(url) == ["cam-1", "cam-3", "phone/kitchen"]
    assert "cam-2" not in [row["source"] for row in json.loads(get(f"{url}/stats.json")[2])["sources"]]
    status, _, body = get(f"{url}/frame.jpg?stream=cam-2")
    assert status == 404 and b"has ended" in body
    # The others go on; a stream that comes back is shown again.
    assert is_colour_of(colour_of(next(mjpeg_parts(f"{url}/stream.mjpg?stream=cam-1"))), "cam-1")
    feeder.add("cam-2")
    assert wait_streams(url, lambda s: "cam-2" in s)


def test_one_stream_pages(view: tuple[str, Feeder]) -> None:
    url, _ = view
    status, ctype, body = get(f"{url}/stream/phone%2Fkitchen")
    page = body.decode()
    assert status == 200 and ctype.startswith("text/html")
    assert 'data-stream="phone/kitchen"' in page and '<base href="../">' in page
    assert "<title>Streams · phone/kitchen</title>" in page
    page = get(f"{url}/?stream=cam-3")[2].decode()
    assert 'data-stream="cam-3"' in page and '<base href="./">' in page
    grid = get(f"{url}/")[2].decode()
    assert 'data-stream=""' in grid
    escaped = get(f"{url}/stream/%3Cb%3E%22x")[2].decode()  # an id is text on the page, never markup
    assert 'data-stream="&lt;b&gt;&quot;x"' in escaped and "<b>" not in escaped
    assert get(f"{url}/stream/")[0] == 404


def tiles(page: Page) -> list[dict]:
    """The grid's tiles in page order: label, whether the image shows, its box in screenshot pixels."""
    return page.evaluate(
        "[...document.querySelectorAll('#streams figure')].map((f) => { const i = f.querySelector('img');"
        " const r = i.getBoundingClientRect(); return {label: f.querySelector('figcaption').textContent,"
        " loaded: i.naturalWidth, box: [r.x, r.y, r.width, r.height].map((v) => Math.round(v * devicePixelRatio))}; })"
    )


def crop(shot: np.ndarray, box: list[int]) -> np.ndarray:
    x, y, w, h = box
    return shot[y : y + h, x : x + w]


def test_grid_of_four_streams_in_chromium(view: tuple[str, Feeder], chromium: Chromium, tmp_path: Path) -> None:
    url, feeder = view
    page = chromium.new_page(url + "/")
    try:
        page.wait_for("[...document.querySelectorAll('#streams img')].filter((i) => i.naturalWidth).length === 4", 30)
        shown = tiles(page)
        assert [t["label"] for t in shown] == ["cam-1", "cam-2", "cam-3", "phone/kitchen"]
        shot = page.screenshot()
        save_screenshot(shot, "browser-view-streams.png", tmp_path)
        for tile in shown:
            assert tile["box"][2:] == [320, 240]
            image = crop(shot, tile["box"])
            assert_not_blank(image)
            # The right stream in the right tile: the colour under the label's row.
            assert is_colour_of(np.median(image[40:80].reshape(-1, 3), axis=0), tile["label"]), tile["label"]
        # Updating live: the same tile, a moment later, shows another frame.
        first = crop(shot, shown[0]["box"]).astype(int)
        page.wait_for("new Promise((ok) => setTimeout(() => ok(true), 500))")
        assert np.abs(crop(page.screenshot(), shown[0]["box"]).astype(int) - first).mean() > 0.5
        # A new stream appears and an ended one leaves, without a reload.
        page.evaluate("window.notReloaded = true")
        feeder.add("late")
        page.wait_for("[...document.querySelectorAll('#streams figcaption')].some((c) => c.textContent === 'late')")
        feeder.end("cam-2")
        page.wait_for("![...document.querySelectorAll('#streams figcaption')].some((c) => c.textContent === 'cam-2')")
        assert [t["label"] for t in tiles(page)] == ["cam-1", "cam-3", "late", "phone/kitchen"]
        assert page.evaluate("window.notReloaded") is True
        save_screenshot(page.screenshot(), "browser-view-streams-changed.png", tmp_path)
    finally:
        page.close()


def test_one_stream_page_in_chromium(view: tuple[str, Feeder], chromium: Chromium, tmp_path: Path) -> None:
    url, _ = view
    page = chromium.new_page(url + "/stream/cam-3")
    try:
        page.wait_for("(() => { const i = document.querySelector('#streams img'); return i && i.naturalWidth; })()")
        shown = tiles(page)
        assert [t["label"] for t in shown] == ["cam-3"]
        assert is_colour_of(np.median(crop(page.screenshot(), shown[0]["box"])[40:80].reshape(-1, 3), axis=0), "cam-3")
        page.wait_for("document.querySelectorAll('#sources td').length > 0")
        assert page.evaluate(
            "[...document.querySelectorAll('#sources tr td:first-child')].map((t) => t.textContent)"
        ) == ["cam-3"]
        save_screenshot(page.screenshot(), "browser-view-one-stream.png", tmp_path)
        # The way back to the grid, and the grid's way to a stream, resolve through <base>.
        assert page.evaluate("document.getElementById('all').href") == url + "/"
        page.navigate(url + "/")
        page.wait_for("document.querySelectorAll('#streams figure a').length === 4")
        links = page.evaluate("[...document.querySelectorAll('#streams figure a')].map((a) => a.href)")
        assert links[-1] == url + "/stream/phone%2Fkitchen"
    finally:
        page.close()
