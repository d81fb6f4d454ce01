"""Display: headless fallback (one line, frames consumed, exit 0) and the key handler."""

from __future__ import annotations

import logging
import sys
import textwrap

import pytest

from flowpose.node import StopGraph
from flowpose.nodes.display import Display, display_problem, gui_backend
from flowpose.nodes.visualizer import LAYER_TOGGLES
from flowpose.runtime import GraphRunner
from flowpose.validate import validate_text


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


def test_headless_graph_logs_once_consumes_frames_and_exits_0(caplog: pytest.LogCaptureFixture) -> None:
    if display_problem() is None:
        pytest.skip("a display is available here; the headless path cannot be forced")
    text = """\
    nodes:
      - {name: cam, type: 'sinks_support:People', outputs: [frames], params: {count: 20}}
      - {name: vis, type: Visualizer, inputs: [frames], outputs: [annotated]}
      - {name: show, type: Display, inputs: [annotated]}
    """
    with caplog.at_level(logging.INFO, logger="flowpose"):
        result = GraphRunner(validate_text(textwrap.dedent(text), "t.yaml")).run(handle_signals=False)
    assert result.exit_code == 0 and result.failure is None
    lines = [r.getMessage() for r in caplog.records if r.name == "flowpose.node.show"]
    assert len(lines) == 1
    assert lines[0].startswith("no display available (") and "running headless — frames are not shown" in lines[0]
    show = next(s for s in result.stats if s.name == "show")
    assert show.frames == 20 and show.counters == {"not_shown": 20}


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
