"""`flowpose run` with process nodes: signals, orphans, stats JSON and trace files."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowpose.runners.shm import SHM_DIR, segment_prefix
from process_support import alive, gone_within

GRAPH = """\
defaults: {{runner: process}}
nodes:
  - {{name: camera, type: TestPattern, outputs: [frames], params: {{fps: 60}}}}
  - {{name: relay, type: 'process_support:PidFile', inputs: [frames], outputs: [out], params: {{folder: '{folder}'}}}}
  - {{name: sink, type: 'process_support:PidFile', inputs: [out], params: {{folder: '{folder}'}}}}
"""


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Graphs this test started; a test that fails half-way must not leave one running."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()  # the parent stops its children
            proc.wait(10)


def _start(tmp_path: Path, env: dict[str, str], started: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    graph = tmp_path / "g.yaml"
    graph.write_text(GRAPH.format(folder=tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "flowpose.cli.main", "run", str(graph)], env=env)
    started.append(proc)
    deadline = time.monotonic() + 30
    while len(list(tmp_path.glob("*.pid"))) < 2:  # both children are up and working
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    return proc


def _pids(tmp_path: Path) -> list[int]:
    return [int(p.read_text()) for p in tmp_path.glob("*.pid")]


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_every_process_within_two_seconds(tmp_path, subprocess_env, started, sig, code) -> None:
    proc = _start(tmp_path, subprocess_env, started)
    pids = _pids(tmp_path)
    assert all(alive(p) for p in pids)
    sent = time.monotonic()
    proc.send_signal(sig)
    assert proc.wait(timeout=10) == code
    assert time.monotonic() - sent < 2.0 + 0.5  # the promise, plus interpreter start-up slack
    assert gone_within(pids, 0.5)


def test_sigkill_of_the_parent_leaves_no_child_and_no_files(tmp_path, subprocess_env, started) -> None:
    runs = Path(tempfile.mkdtemp(prefix="fpt", dir="/tmp" if os.path.isdir("/tmp") else None))  # short: ipc paths
    try:
        proc = _start(tmp_path, {**subprocess_env, "TMPDIR": str(runs)}, started)
        pids = _pids(tmp_path)
        (folder,) = runs.iterdir()  # the run's socket folder
        segments = segment_prefix(f"ipc://{folder}/x")
        deadline = time.monotonic() + 30
        while not glob.glob(f"{SHM_DIR}/{segments}*"):  # the images travel through shared memory
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.kill()
        proc.wait()
        assert gone_within(pids, 3.0)
        # The children clean up what the killed parent could not: its sockets, its segments.
        assert list(runs.iterdir()) == [] and glob.glob(f"{SHM_DIR}/{segments}*") == []
    finally:
        shutil.rmtree(runs, ignore_errors=True)


def test_stats_json_and_trace_include_children(tmp_path, subprocess_env) -> None:
    graph = tmp_path / "g.yaml"
    graph.write_text("""\
nodes:
  - {name: camera, type: TestPattern, outputs: [frames], params: {count: 20, fps: 0, live: false}, runner: process}
  - {name: relay, type: PassThrough, inputs: [frames], outputs: [out], runner: process}
  - {name: sink, type: NullSink, inputs: [out]}
""")
    out = subprocess.run(
        [sys.executable, "-m", "flowpose.cli.main", "run", str(graph), "--stats-json", str(tmp_path / "s.json"),
         "--trace", str(tmp_path / "t.json")],
        env=subprocess_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    nodes = json.loads((tmp_path / "s.json").read_text())["nodes"]
    assert {n: (s["runner"], s["frames"]) for n, s in nodes.items()} == {
        "camera": ("process", 20),
        "relay": ("process", 20),
        "sink": ("thread", 20),
    }
    events = json.loads((tmp_path / "t.json").read_text())["traceEvents"]
    spans = [e for e in events if e["ph"] == "X"]
    assert {e["name"] for e in spans} == {"camera", "relay"} and len(spans) == 40  # sinks emit no span
