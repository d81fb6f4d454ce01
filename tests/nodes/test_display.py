"""Display: headless fallback (one line, frames consumed, exit 0) and the key handler."""

from __future__ import annotations

import logging
import sys
import textwrap

import pytest

from flowpose.engine.runtime import GraphRunner
from flowpose.graph.validate import validate_text
from flowpose.node import StopGraph
from flowpose.nodes.display import Display, display_problem, gui_backend
from flowpose.nodes.visualizer import LAYER_TOGGLES


@pytest.fixture(autouse=True)
def _headless(monkeypatch: pytest.MonkeyPatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    LAYER_TOGGLES.reset()
    yield
    LAYER_TOGGLES.reset()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the $DISPLAY check is Linux-only")
def test_no_display_is_detected_before_touching_the_gui() -> None:
    # With Qt, cv2.namedWindow without X aborts the whole process, so this must hold first.
    assert display_problem() is not None
    with_x = display_problem({"DISPLAY": ":0"})
    assert with_x is None or gui_backend() == "NONE"


def _run_headless(caplog: pytest.LogCaptureFixture, show_params: str, cam: str = "count: 20"):
    if display_problem() is None:
        pytest.skip("a display is available here; the headless path cannot be forced")
    text = f"""\
    nodes:
      - {{name: cam, type: 'sinks_support:People', outputs: [frames], params: {{{cam}}}}}
      - {{name: vis, type: Visualizer, inputs: [frames], outputs: [annotated]}}
      - {{name: show, type: Display, inputs: [annotated], params: {show_params}}}
    """
    with caplog.at_level(logging.INFO, logger="flowpose"):
        result = GraphRunner(validate_text(textwrap.dedent(text), "t.yaml")).run(handle_signals=False)
    assert result.exit_code == 0 and result.failure is None
    warnings = [r.getMessage() for r in caplog.records if r.name == "flowpose.node.show" and r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert warnings[0].startswith("no display available (")
    return result, warnings[0]


def test_headless_none_says_it_drops_frames_and_exits_0(caplog: pytest.LogCaptureFixture) -> None:
    result, warning = _run_headless(caplog, "{headless: none}")
    assert "dropping them (headless: none); this node produces no output" in warning
    show = next(s for s in result.stats if s.name == "show")
    assert show.frames == 20 and show.counters == {"not_shown": 20}


def test_headless_default_serves_the_frames_to_a_browser(caplog: pytest.LogCaptureFixture) -> None:
    # A graph whose only output is a window must not run silently on a headless machine: by
    # default the frames go to a BrowserView, fetched here over a real socket while it runs.
    import threading
    import urllib.request

    got: list[bytes] = []

    def fetch_while_running() -> None:
        for _ in range(200):
            url = next((r.getMessage() for r in caplog.records if "serving them at http" in r.getMessage()), "")
            if url:
                base = url.split("serving them at ", 1)[1].split(" ", 1)[0]
                for _ in range(100):
                    try:
                        with urllib.request.urlopen(base + "frame.jpg", timeout=2) as response:
                            got.append(response.read())
                            return
                    except OSError:
                        threading.Event().wait(0.02)
                return
            threading.Event().wait(0.02)

    fetcher = threading.Thread(target=fetch_while_running)
    fetcher.start()
    result, warning = _run_headless(caplog, "{headless_port: 0, headless: browser}", "count: 60, pace: true, fps: 30")
    fetcher.join(timeout=10)
    assert "serving them at http://127.0.0.1:" in warning
    show = next(s for s in result.stats if s.name == "show")
    assert show.counters == {"served": 60}
    assert got and got[0][:2] == b"\xff\xd8"  # a JPEG of the annotated stream


def test_headless_record_writes_the_video(caplog: pytest.LogCaptureFixture, tmp_path) -> None:
    import cv2

    path = tmp_path / "shown.mp4"
    _, warning = _run_headless(caplog, f"{{headless: record, headless_path: '{path}'}}")
    assert f"recording them to {path} instead" in warning
    capture = cv2.VideoCapture(str(path))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 20
    capture.release()


@pytest.mark.parametrize("key", [ord("q"), ord("Q"), 27, ord("q") | 0x100000])
def test_q_and_esc_end_the_graph(key: int) -> None:
    with pytest.raises(StopGraph, match="pressed in window 'show'"):
        Display("show").handle_key(key)


def test_layer_keys_flip_the_visualizer_toggles() -> None:
    display = Display("show", {"title": "main"})
    assert display.title == "main"
    assert display.handle_key(-1) is None
    assert display.handle_key(ord("x")) is None
    assert display.handle_key(ord("b")) == "boxes"
    assert display.handle_key(ord("S")) == "skeleton"
    assert LAYER_TOGGLES.flipped() == {"boxes", "skeleton"}
    display.handle_key(ord("b"))
    assert LAYER_TOGGLES.flipped() == {"skeleton"}


def test_close_without_setup_is_harmless() -> None:
    Display("show").close()


def test_headless_browser_takes_any_free_port_when_its_own_is_busy(caplog: pytest.LogCaptureFixture) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        _, warning = _run_headless(caplog, f"{{headless_port: {port}}}")
    assert "serving them at http://127.0.0.1:" in warning
    assert f":{port}/" not in warning
