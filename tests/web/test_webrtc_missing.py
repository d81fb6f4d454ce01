"""Without aiortc (CI installs no extras), a WebRTCView graph fails validation with one line
that says what to install. Runs with or without aiortc: it hides aiortc from the import system."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flowpose.graph.problems import GraphError
from flowpose.graph.validate import validate_text
from flowpose.nodes.webrtc_view import WebRTCView

GRAPH = """\
nodes:
  - {name: scene, type: SyntheticScene, outputs: [frames]}
  - {name: view, type: WebRTCView, inputs: [frames]}
"""
INSTALL = "pip install 'flowpose[webrtc]'"
# sys.modules[name] = None is how Python itself marks a module as not importable.
HIDE_AIORTC = "import sys; sys.modules['aiortc'] = None; from flowpose.cli.main import main; sys.exit(main())"


def test_validation_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aiortc", None)
    with pytest.raises(GraphError) as caught:
        validate_text(GRAPH, "live.yaml")
    (problem,) = caught.value.problems
    assert problem.node == "view" and problem.line == 3
    assert INSTALL in problem.message
    node = WebRTCView("view", {"banner": False})  # built in code, no validation: setup says the same
    with pytest.raises(RuntimeError, match=r"pip install 'flowpose\[webrtc\]'"):
        node.setup()
    node.close()


def test_validation_passes_with_aiortc() -> None:
    pytest.importorskip("aiortc")
    assert validate_text(GRAPH, "live.yaml").classes["view"] is WebRTCView


def test_cli_says_it_in_one_line_and_fails(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    graph = tmp_path / "live.yaml"
    graph.write_text(GRAPH)
    res = subprocess.run(
        [sys.executable, "-c", HIDE_AIORTC, "validate", str(graph)],
        capture_output=True,
        text=True,
        env=subprocess_env,
        timeout=60,
    )
    assert res.returncode != 0
    assert "Traceback" not in res.stderr + res.stdout
    lines = [line for line in (res.stdout + res.stderr).splitlines() if INSTALL in line]
    assert len(lines) == 1 and "node 'view'" in lines[0], res.stdout + res.stderr
    assert "params.:" not in lines[0]  # a problem of the whole node names no param
