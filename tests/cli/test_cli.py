"""The `flowpose` command in real subprocesses: exit codes, signals, outputs."""

from __future__ import annotations

import json
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from cli_support import FLOWPOSE, run_cli

LIVE = """\
name: live
nodes:
  - {name: camera, type: TestPattern, outputs: [frames], params: {fps: 100}}
  - {name: relay, type: PassThrough, inputs: [frames], outputs: [out]}
  - {name: sink, type: NullSink, inputs: [out]}
"""

FILE = """\
name: file
nodes:
  - {name: camera, type: TestPattern, outputs: [frames], params: {count: 40, fps: 0, live: false}}
  - {name: relay, type: PassThrough, inputs: [frames], outputs: [out]}
  - {name: sink, type: LogSink, inputs: [out], params: {every: 10}}
"""


def write(tmp_path: Path, text: str, name: str = "g.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


flowpose = run_cli


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_a_live_graph_quickly(tmp_path: Path, subprocess_env: dict[str, str], sig: int, code: int) -> None:
    graph = write(tmp_path, LIVE)
    proc = subprocess.Popen(
        [*FLOWPOSE, "run", str(graph), "--stats-json", str(tmp_path / "s.json")],
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until the graph is running
        if "running 'live'" in line:
            break
    time.sleep(0.5)
    sent = time.monotonic()
    proc.send_signal(sig)
    rc = proc.wait(timeout=10)
    elapsed = time.monotonic() - sent
    assert rc == code
    assert elapsed < 2.0, f"took {elapsed:.2f} s to stop"
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["exit_code"] == code and summary["nodes"]["sink"]["frames"] > 0


def test_file_graph_runs_to_completion_with_outputs(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    graph = write(tmp_path, FILE)
    stats, trace = tmp_path / "stats.json", tmp_path / "trace.json"
    res = flowpose("run", str(graph), "--stats", "--stats-json", str(stats), "--trace", str(trace), env=subprocess_env)
    assert res.returncode == 0, res.stderr
    assert "frame 39 from camera" in res.stderr  # LogSink's last line
    assert "proc p50" in res.stderr  # the stats table
    summary = json.loads(stats.read_text())
    assert summary["nodes"]["sink"]["frames"] == 40
    assert summary["nodes"]["sink"]["latency_ms_p95"] >= summary["nodes"]["sink"]["latency_ms_p50"] > 0
    assert summary["buffers"]["frames"] == {
        "policy": "lossless",
        "size": 4,
        "writer": "camera",
        "readers": ["relay"],
        "feedback_readers": [],
        "written": 40,
    }
    events = json.loads(trace.read_text())["traceEvents"]
    assert sum(e["ph"] == "X" and e["name"] == "relay" for e in events) == 40


def test_failing_node_exit_1_names_it(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    graph = write(
        tmp_path,
        """\
    nodes:
      - {name: camera, type: TestPattern, outputs: [frames], params: {fps: 100}}
      - {name: breaker, type: 'testnodes:Fail', inputs: [frames], params: {fail_at: 2, message: kaputt}}
    """,
    )
    res = flowpose("run", str(graph), env=subprocess_env)
    assert res.returncode == 1
    assert "node 'breaker' (Fail) failed: RuntimeError: kaputt at frame 2" in res.stderr
    assert "Traceback (most recent call last)" in res.stderr


def test_validate_reports_problems_with_exit_2_and_no_traceback(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    graph = write(tmp_path, FILE.replace("PassThrough", "PassThru").replace("every: 10", "evry: 10"))
    for command in ("validate", "run"):
        res = flowpose(command, str(graph), "--set", "camera.count=x", env=subprocess_env)
        assert res.returncode == 2
        assert "Traceback" not in res.stderr
        assert "3 problems found" in res.stderr
        assert f"{graph}:4: node 'relay': type: unknown node type 'PassThru'; did you mean 'PassThrough'?" in res.stderr
        assert "params.evry: unknown param 'evry'; did you mean 'every'?" in res.stderr
        assert "--set: node 'camera': params.count" in res.stderr


def test_validate_ok_and_set(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    graph = write(tmp_path, FILE)
    res = flowpose("validate", str(graph), "--set", "camera.count=3", env=subprocess_env)
    assert res.returncode == 0 and "OK (3 nodes, 2 buffers)" in res.stdout
    res = flowpose("run", str(graph), "--set", "camera.count=3", "--set", "sink.every=1", env=subprocess_env)
    assert res.returncode == 0 and "frame 2 from camera" in res.stderr and "frame 3" not in res.stderr


def test_missing_graph_file(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    res = flowpose("run", str(tmp_path / "nope.yaml"), env=subprocess_env)
    assert res.returncode == 2 and "graph file not found" in res.stderr and "Traceback" not in res.stderr


def test_graph_renders_mermaid_and_dot(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    graph = write(tmp_path, FILE)
    mermaid = flowpose("graph", str(graph), env=subprocess_env).stdout
    assert mermaid.startswith("flowchart LR")
    assert "camera -- frames --> relay" in mermaid and "relay -- out --> sink" in mermaid
    dot = flowpose("graph", str(graph), "--format", "dot", env=subprocess_env).stdout
    assert dot.startswith('digraph "file"') and 'camera -> relay [label="frames"]' in dot


def test_nodes_lists_and_describes(subprocess_env: dict[str, str]) -> None:
    listing = flowpose("nodes", env=subprocess_env)
    assert listing.returncode == 0
    assert "TestPattern(width, height, fps, count, live, cycle) - Synthetic colour-bar frames" in listing.stdout
    assert "PassThrough(work_ms)" in listing.stdout and "NullSink()" in listing.stdout
    one = flowpose("nodes", "TestPattern", env=subprocess_env)
    assert "source" in one.stdout.splitlines()[0]
    assert "fps: float (default 30.0)" in one.stdout and "0 = as fast as downstream takes them" in one.stdout
    bad = flowpose("nodes", "TestPatern", env=subprocess_env)
    assert bad.returncode == 2 and "did you mean 'TestPattern'" in bad.stderr


def test_schema_is_json_with_node_params(subprocess_env: dict[str, str]) -> None:
    res = flowpose("schema", env=subprocess_env)
    schema = json.loads(res.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert set(schema["properties"]) >= {"name", "defaults", "buffers", "nodes"}
    params = schema["$defs"]["params_TestPattern"]
    assert params["properties"]["fps"]["type"] == "number" and params["additionalProperties"] is False
