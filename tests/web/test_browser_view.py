"""BrowserView: the MJPEG stream and the stats table, read by a plain HTTP client and by Chromium."""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from browser_support import Chromium, assert_not_blank, save_screenshot
from flowpose.nodes.browser_view import BrowserView
from flowpose.web.mjpeg import BOUNDARY
from web_support import get, taken_port, view_graph

GRAPH = """
nodes:
  - {name: camera, type: TestPattern, outputs: [frames], params: {width: 320, height: 240, fps: 25}}
  - {name: vis, type: Visualizer, inputs: [frames], outputs: [annotated]}
  - {name: view, type: BrowserView, inputs: [annotated], params: {port: 0, banner: false, title: 'Test <view>'}}
"""


@pytest.fixture
def view() -> Iterator[str]:
    """The base URL of a BrowserView showing an annotated test pattern."""
    with view_graph(GRAPH, lambda url: get(url + "/stats.json")[0] == 200) as url:  # once it listens
        yield url


def read_mjpeg_parts(url: str, count: int) -> list[np.ndarray]:
    """Read ``count`` parts of an MJPEG stream with a plain HTTP client; decode each as JPEG."""
    images = []
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.headers["Content-Type"] == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
        while len(images) < count:
            assert resp.readline().strip() == f"--{BOUNDARY}".encode()
            headers = {}
            while line := resp.readline().strip():
                key, _, value = line.decode().partition(":")
                headers[key.lower()] = value.strip()
            assert headers["content-type"] == "image/jpeg"
            data = resp.read(int(headers["content-length"]))
            assert resp.read(2) == b"\r\n"
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            assert image is not None, "an MJPEG part is not a JPEG"
            images.append(image)
    return images


def test_mjpeg_stream_parts_are_jpegs_of_the_live_frames(view: str) -> None:
    images = read_mjpeg_parts(f"{view}/stream.mjpg?source=camera", 5)
    assert all(img.shape == (240, 320, 3) for img in images)
    # Live: the moving bar of the test pattern and the frame counter change between parts.
    assert any(np.abs(a.astype(int) - b.astype(int)).mean() > 1 for a, b in itertools.pairwise(images))
    status, ctype, body = get(f"{view}/frame.jpg")  # the newest frame, on its own
    assert status == 200 and ctype == "image/jpeg"
    assert cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR).shape == (240, 320, 3)


def test_stats_json_and_page(view: str) -> None:
    read_mjpeg_parts(f"{view}/stream.mjpg", 3)  # some frames have gone through
    status, ctype, body = get(f"{view}/stats.json")
    stats = json.loads(body)
    assert status == 200 and ctype == "application/json"
    (source,) = stats["sources"]
    assert source["source"] == "camera" and source["frames"] >= 3 and source["size"] == "320x240"
    assert source["latency_ms_p50"] > 0 and source["fps"] > 0
    assert [n["node"] for n in stats["nodes"]] == ["camera", "vis"]
    assert all(n["proc_ms_p50"] >= 0 and n["frames"] >= 3 for n in stats["nodes"])
    status, ctype, body = get(view + "/")
    page = body.decode()
    assert status == 200 and ctype.startswith("text/html")
    assert "<title>Test &lt;view&gt;</title>" in page and "stream.mjpg" in page and "stats.json" in page
    assert get(f"{view}/nope")[0] == 404
    assert get(f"{view}/frame.jpg?source=nobody")[0] == 404


def test_page_in_chromium_shows_the_stream_and_the_table(view: str, chromium: Chromium, tmp_path: Path) -> None:
    page = chromium.new_page(view + "/")
    try:
        page.wait_for("(() => { const i = document.querySelector('#streams img'); return i && i.naturalWidth; })()", 30)
        page.wait_for("document.querySelectorAll('#nodes tr').length === 3", 10)  # header + camera + vis
        cells = page.evaluate("[...document.querySelectorAll('#nodes td:first-child')].map((td) => td.textContent)")
        assert cells == ["camera", "vis"]
        assert page.evaluate("document.querySelector('#sources td').textContent") == "camera"
        shot = page.screenshot()
        rect = page.evaluate(
            "(() => { const r = document.querySelector('#streams img').getBoundingClientRect();"
            " return [r.x, r.y, r.width, r.height].map((v) => Math.round(v * devicePixelRatio)); })()"
        )
        assert rect[2] == 320 and rect[3] == 240
        assert_not_blank(shot, tuple(rect))
        save_screenshot(shot, "browser-view.png", tmp_path)
    finally:
        page.close()


def test_bind_address_and_a_taken_port() -> None:
    with taken_port() as port:
        node = BrowserView("view", {"port": port, "banner": False})
        with pytest.raises(OSError, match=rf"cannot listen on 127.0.0.1:{port}.*--set view.port="):
            node.setup()
        node.close()
    node = BrowserView("view", {"host": "127.0.0.1", "port": 0, "banner": False})
    node.setup()
    try:
        assert node.server.httpd.server_address[0] == "127.0.0.1"
        assert node.url == f"http://127.0.0.1:{node.server.port}/"
    finally:
        node.close()
