"""What a new user trips on first, tried the way they do it: the `flowpose` command in a shell.

Closed pipes (`flowpose nodes | head`), a plugin module beside the graph file, a duplicate
node name, and a recorder whose folder cannot be made: each gives a clear message and the
right exit code, never a traceback (tracebacks are for bugs).
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from cli_support import FLOWPOSE, run_cli

SOURCE = "{name: camera, type: TestPattern, outputs: [frames], params: {count: 5, fps: 0, live: false}}"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def plain_env() -> dict[str, str]:
    """The environment of a user's shell: no PYTHONPATH pointing at test helpers."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FLOWPOSE_NODE_PATH")}


# --- 2: a reader that stops early -----------------------------------------------------------


@pytest.mark.parametrize("command", [["nodes"], ["zoo", "list"], ["schema"], ["nodes", "Camera"]])
def test_closed_pipe_exits_141_without_a_traceback(command: list[str]) -> None:
    # Like `flowpose nodes | head -0`: the reader is gone before the first write, every time.
    proc = subprocess.Popen(
        [*FLOWPOSE, *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=plain_env()
    )
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 141, err  # 128 + SIGPIPE, as cat or seq in the same spot
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err


def test_closed_pipe_after_the_first_line(tmp_path: Path) -> None:
    proc = subprocess.Popen([*FLOWPOSE, "nodes"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=plain_env())
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()  # `| head -1`: one line read, then the pipe closes
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) in (0, 141)  # 0 when everything fit in the pipe before it closed
    assert "Traceback" not in err and "Exception ignored" not in err


# --- 3: a plugin module beside the graph file -------------------------------------------------

PLUGIN = """\
import cv2
from flowpose import Frame, Node, NodeParams


class Blur(Node):
    \"\"\"Blurs every frame.\"\"\"

    class Params(NodeParams):
        kernel: int = 5

    def process(self, frame: Frame) -> Frame:
        return frame.replace(image=cv2.blur(frame.image, (self.params.kernel, self.params.kernel)))
"""


@pytest.mark.parametrize("runner", ["thread", "process"])
def test_plugin_beside_the_graph_needs_no_pythonpath(tmp_path: Path, runner: str) -> None:
    write(tmp_path / "graphs" / "my_nodes.py", PLUGIN)
    graph = write(
        tmp_path / "graphs" / "g.yaml",
        f"""\
        defaults: {{runner: {runner}}}
        nodes:
          - {SOURCE}
          - {{name: blur, type: 'my_nodes:Blur', inputs: [frames], outputs: [out], params: {{kernel: 3}}}}
          - {{name: log, type: LogSink, inputs: [out]}}
        """,
    )
    # Run from elsewhere: the graph's folder is not the working directory.
    res = run_cli("run", str(graph), cwd=tmp_path, env=plain_env(), timeout=120)
    assert res.returncode == 0, res.stderr
    assert "frame 4 from camera" in res.stderr


def test_plugin_beside_the_graph_never_hides_an_installed_module(tmp_path: Path) -> None:
    write(tmp_path / "my_nodes.py", PLUGIN)
    write(tmp_path / "queue.py", "raise SystemExit('the queue.py beside the graph was imported')\n")
    graph = write(
        tmp_path / "g.yaml",
        f"""\
        defaults: {{runner: process}}
        nodes:
          - {SOURCE}
          - {{name: blur, type: 'my_nodes:Blur', inputs: [frames], outputs: [out]}}
          - {{name: log, type: LogSink, inputs: [out]}}
        """,
    )
    res = run_cli("run", str(graph), env=plain_env(), timeout=120)
    assert res.returncode == 0, res.stderr
    assert "queue.py beside the graph" not in res.stderr


def test_missing_plugin_module_says_where_to_put_it(tmp_path: Path) -> None:
    graph = write(
        tmp_path / "g.yaml",
        f"""\
        nodes:
          - {SOURCE}
          - {{name: blur, type: 'my_nodez:Blur', inputs: [frames]}}
        """,
    )
    res = run_cli("validate", str(graph), env=plain_env())
    assert res.returncode == 2
    assert "No module named 'my_nodez'" in res.stderr and "beside the graph file" in res.stderr
    assert "Traceback" not in res.stderr


# --- 6: a duplicate node name ------------------------------------------------------------------


def test_duplicate_name_is_reported_alone(tmp_path: Path) -> None:
    graph = write(
        tmp_path / "g.yaml",
        f"""\
        nodes:
          - {SOURCE}
          - {{name: c, type: PassThrough, inputs: [frames], outputs: [x]}}
          - {{name: c, type: PassThrough, inputs: [x], outputs: [y]}}
          - {{name: log, type: LogSink, inputs: [y]}}
        """,
    )
    res = run_cli("validate", str(graph), env=plain_env())
    assert res.returncode == 2
    assert "2 problems found" in res.stderr and res.stderr.count("duplicate node name") == 2
    assert "cycle" not in res.stderr


def test_a_real_cycle_is_still_found_beside_a_duplicate(tmp_path: Path) -> None:
    graph = write(
        tmp_path / "g.yaml",
        f"""\
        nodes:
          - {SOURCE}
          - {{name: c, type: LogSink, inputs: [frames]}}
          - {{name: c, type: LogSink, inputs: [frames]}}
          - {{name: a, type: PassThrough, inputs: [frames, bb], outputs: [aa]}}
          - {{name: b, type: PassThrough, inputs: [aa], outputs: [bb]}}
        """,
    )
    res = run_cli("validate", str(graph), env=plain_env())
    assert res.returncode == 2
    assert "cycle: a -> b -> a" in res.stderr and "c -> c" not in res.stderr


# --- 7: errors of the environment: shown (also under -q), one line, no traceback --------------


@pytest.mark.parametrize(
    "recorder",
    [
        "{name: rec, type: VideoRecorder, inputs: [frames], params: {path: out/x.mp4}}",
        "{name: rec, type: PoseRecorder, inputs: [frames], params: {path: out/x.jsonl}}",
        "{name: rec, type: PoseRecorder, inputs: [frames], params: {path: x.jsonl, coco_path: out/x.json}}",
    ],
)
@pytest.mark.parametrize("command", [["validate"], ["-q", "run"], ["run"]])
def test_recorder_folder_blocked_by_a_file(tmp_path: Path, recorder: str, command: list[str]) -> None:
    (tmp_path / "out").write_text("a file where the folder should be")
    graph = write(tmp_path / "g.yaml", f"nodes:\n  - {SOURCE}\n  - {recorder}\n")
    res = run_cli(*command, "g.yaml", cwd=tmp_path, env=plain_env())
    assert res.returncode == 2, res.stderr
    assert "g.yaml:3: node 'rec': params." in res.stderr
    assert "cannot create folder out for out/x." in res.stderr and "out is a file, not a folder" in res.stderr
    assert "Traceback" not in res.stderr
    assert graph.is_file() and not (tmp_path / "x.jsonl").exists()  # nothing ran


def test_validate_does_not_create_output_folders(tmp_path: Path) -> None:
    write(
        tmp_path / "g.yaml",
        f"""\
        nodes:
          - {SOURCE}
          - {{name: rec, type: VideoRecorder, inputs: [frames], params: {{path: new/deep/x.mp4}}}}
        """,
    )
    res = run_cli("validate", "g.yaml", cwd=tmp_path, env=plain_env())
    assert res.returncode == 0, res.stderr
    assert not (tmp_path / "new").exists()
    res = run_cli("run", "g.yaml", cwd=tmp_path, env=plain_env())
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "new" / "deep" / "x.mp4").is_file()


OPENER = """\
from flowpose import Frame, Node


class OpenLog(Node):
    \"\"\"Opens a log file in a folder that does not exist (an error of the environment).\"\"\"

    def setup(self) -> None:
        self._file = open("missing/dir/log.txt", "w")

    def process(self, frame: Frame) -> Frame:
        return frame
"""


@pytest.mark.parametrize("runner", ["thread", "process"])
@pytest.mark.parametrize("quiet", [True, False])
def test_os_error_in_setup_is_one_line(tmp_path: Path, runner: str, quiet: bool) -> None:
    write(tmp_path / "opener.py", OPENER)
    write(
        tmp_path / "g.yaml",
        f"""\
        defaults: {{runner: {runner}}}
        nodes:
          - {SOURCE}
          - {{name: opener, type: 'opener:OpenLog', inputs: [frames]}}
        """,
    )
    res = run_cli(*(["-q"] if quiet else []), "run", "g.yaml", cwd=tmp_path, env=plain_env(), timeout=120)
    assert res.returncode == 1
    assert (
        "error: node 'opener' (OpenLog) failed: FileNotFoundError: [Errno 2] No such file or directory: "
        "'missing/dir/log.txt'" in res.stderr
    )
    assert "Traceback" not in res.stderr


def test_verbose_shows_the_traceback_of_an_os_error(tmp_path: Path) -> None:
    write(tmp_path / "opener.py", OPENER)
    opener = "{name: opener, type: 'opener:OpenLog', inputs: [frames]}"
    write(tmp_path / "g.yaml", f"nodes:\n  - {SOURCE}\n  - {opener}\n")
    res = run_cli("-v", "run", "g.yaml", cwd=tmp_path, env=plain_env())
    assert res.returncode == 1
    assert "Traceback (most recent call last)" in res.stderr and "opener.py" in res.stderr


def test_a_bug_keeps_its_traceback_also_under_quiet(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    write(
        tmp_path / "g.yaml",
        f"""\
        nodes:
          - {SOURCE}
          - {{name: breaker, type: 'testnodes:Fail', inputs: [frames], params: {{fail_at: 2}}}}
        """,
    )
    res = run_cli("-q", "run", "g.yaml", cwd=tmp_path, env=subprocess_env)
    assert res.returncode == 1
    assert "error: node 'breaker' (Fail) failed: RuntimeError:" in res.stderr
    assert "Traceback (most recent call last)" in res.stderr
