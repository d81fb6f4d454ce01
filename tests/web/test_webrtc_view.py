"""WebRTCView in a real graph, watched by a real headless Chromium over loopback.

Skipped without aiortc (the ``webrtc`` extra; CI does not install it).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("aiortc", reason="WebRTCView needs the webrtc extra: pip install 'flowpose[webrtc]'")

from browser_support import Chromium, assert_not_blank, save_screenshot
from web_support import view_graph

GRAPH = """
nodes:
  - {name: scene, type: SyntheticScene, outputs: [frames], params: {width: 480, height: 360, fps: 25}}
  - {name: vis, type: Visualizer, inputs: [frames], outputs: [annotated]}
  - {name: view, type: WebRTCView, inputs: [annotated], params: {port: 0, banner: false, title: 'Live <webrtc>'}}
"""


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.headers["Content-Type"] == "application/json"
        return json.load(resp)


@pytest.fixture
def view() -> Iterator[str]:
    """The base URL of a WebRTCView showing an annotated synthetic scene, once it has a frame."""
    with view_graph(GRAPH, lambda url: bool(get_json(url + "/streams.json")["streams"])) as url:
        yield url


def test_chromium_plays_the_live_video(view: str, chromium: Chromium, tmp_path: Path) -> None:
    page = chromium.new_page(view + "/?stream=scene")
    try:
        # requestVideoFrameCallback counts frames the browser decoded and presented.
        page.wait_for("window.flowpose && (window.flowpose.error || window.flowpose.frames >= 10)", 60)
        got = page.evaluate("window.flowpose")
        assert got["error"] is None, got["error"]
        assert got["state"] == "connected"
        assert (got["width"], got["height"]) == (480, 360)
        assert get_json(view + "/streams.json") == {"node": "view", "streams": ["scene"], "viewers": 1}
        assert page.evaluate("document.title") == "Live <webrtc>"
        assert page.evaluate("document.getElementById('stream').value") == "scene"
        before = got["frames"]
        page.wait_for(f"window.flowpose.frames >= {before + 10}", 30)  # still live, not one still frame
        shot = page.screenshot()
        rect = page.evaluate(
            "(() => { const r = document.getElementById('video').getBoundingClientRect();"
            " return [r.x, r.y, r.width, r.height].map((v) => Math.round(v * devicePixelRatio)); })()"
        )
        assert rect[2:] == [480, 360]
        assert_not_blank(shot, tuple(rect))
        x, y, w, h = rect
        save_screenshot(shot[: y + h + 8, : x + w + 8], "webrtc-view.jpg", tmp_path)  # the header and the video
    finally:
        page.close()
    # Closing the tab closes its peer connection: the server lets the viewer go.
    deadline = time.monotonic() + 30
    while get_json(view + "/streams.json")["viewers"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert get_json(view + "/streams.json")["viewers"] == 0


def test_page_and_bad_offers(view: str) -> None:
    with urllib.request.urlopen(view + "/", timeout=10) as resp:
        page = resp.read().decode()
    assert "<title>Live &lt;webrtc&gt;</title>" in page and "requestVideoFrameCallback" in page

    def post(body: bytes) -> tuple[int, str]:
        req = urllib.request.Request(view + "/offer", body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    assert post(b"not json") == (400, 'the body must be JSON {"sdp": ..., "type": "offer", "stream": ...}\n')
    status, text = post(json.dumps({"sdp": "v=0\r\n", "type": "answer"}).encode())
    assert (status, text) == (400, "expected an SDP offer, got type 'answer'\n")
    status, text = post(json.dumps({"sdp": "v=0\r\n", "type": "offer"}).encode())
    assert (status, text) == (400, "the offer has no video section (addTransceiver('video') first)\n")
    assert get_json(view + "/streams.json")["viewers"] == 0  # refused offers leave nobody behind
