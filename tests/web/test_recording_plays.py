"""A VideoRecorder file plays in Chromium: served over plain HTTP, decoded into a <video>, pixels right."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from browser_support import Chromium
from flowpose.nodes.video_writers import h264_encoder
from video_support import BACKGROUND_BGR, record

# Sets data-* attributes on <body> when the video has decoded a frame (or failed); the first
# frame is drawn on a canvas so the test reads a pixel the browser itself decoded.
PAGE = """<!doctype html><html><body><video id="v" src="{name}" muted playsinline></video>
<canvas id="c" width="640" height="480"></canvas><script>
const v = document.getElementById("v"), b = document.body;
v.addEventListener("loadeddata", () => {
  const g = document.getElementById("c").getContext("2d");
  g.drawImage(v, 0, 0);
  const p = g.getImageData(600, 240, 1, 1).data;  // right of the dark bar of frame 0
  b.dataset.pixel = [p[0], p[1], p[2]].join(",");
  b.dataset.size = v.videoWidth + "x" + v.videoHeight;
  b.dataset.state = String(v.readyState);
});
v.addEventListener("error", () => { b.dataset.error = v.error.code + " " + v.error.message; });
</script></body></html>"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # no request lines in the test output


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP (no Range support: the file must play from its start), and its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def state(chromium: Chromium, url: str) -> dict[str, str]:
    """The page's data-* attributes once the video loaded or failed."""
    page = chromium.new_page(url)
    try:
        # document.body is null until the page has parsed: asked too early, it must not throw.
        return page.wait_for(
            "(b => b && (b.dataset.state || b.dataset.error) ? Object.assign({}, b.dataset) : null)(document.body)",
            timeout=30,
        )
    finally:
        page.close()


@pytest.mark.skipif(h264_encoder() is None, reason="this PyAV has no H.264 encoder")
def test_h264_recording_plays_in_chromium(chromium: Chromium, served: tuple[Path, str]) -> None:
    folder, base = served
    record(folder / "out.mp4", 30)
    (folder / "index.html").write_text(PAGE.replace("{name}", "out.mp4"))
    got = state(chromium, f"{base}/index.html")
    assert "error" not in got, f"{chromium.version} did not play it: {got['error']}"
    assert got["size"] == "640x480" and int(got["state"]) >= 2  # HAVE_CURRENT_DATA: a frame is decoded
    pixel = [int(c) for c in got["pixel"].split(",")]
    expected = list(reversed(BACKGROUND_BGR))  # the canvas is RGB
    assert max(abs(a - b) for a, b in zip(pixel, expected, strict=True)) <= 12, (pixel, expected)


def test_mp4v_does_not_play_in_chromium(chromium: Chromium, served: tuple[Path, str]) -> None:
    # Why the default changed: the same page refuses OpenCV's MPEG-4 Part 2.
    folder, base = served
    record(folder / "out.mp4", 10, codec="mp4v")
    (folder / "index.html").write_text(PAGE.replace("{name}", "out.mp4"))
    assert "error" in state(chromium, f"{base}/index.html")
