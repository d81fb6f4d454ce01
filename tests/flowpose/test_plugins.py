"""Node types from plugins: `module:Class`, and a real distribution's entry point."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cli_support import run_cli
from flowpose.graph.registry import NodeTypeError, available_types, resolve

PLUGIN_NODE = '''\
"""A tiny third-party plugin."""
from flowpose import Frame, Node, NodeParams


class Stamp(Node):
    """Adds a stamp to each frame's meta."""

    class Params(NodeParams):
        text: str = "hello"

    def process(self, frame: Frame) -> Frame:
        return frame.replace(meta={**frame.meta, "stamp": self.params.text})


class Broken(Node):
    """Imports fine, but is not wired right."""
'''

PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "flowpose-stamp"
version = "0.1"

[project.entry-points."flowpose.nodes"]
Stamp = "flowpose_stamp:Stamp"
Missing = "flowpose_stamp_missing:Nope"

[tool.setuptools]
py-modules = ["flowpose_stamp"]
"""


def test_builtins_come_through_entry_points() -> None:
    types = available_types()
    assert {"TestPattern", "PassThrough", "NullSink", "LogSink"} <= set(types)
    assert types["PassThrough"].target == "flowpose.nodes.testing:PassThrough"
    assert types["PassThrough"].distribution == "flowpose"


def test_module_class_reference() -> None:
    cls = resolve("testnodes:Collect")
    assert cls.__name__ == "Collect"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nosuchmodule_xyz:Thing", "cannot import module 'nosuchmodule_xyz'"),
        ("testnodes:Nope", "has no attribute 'Nope'"),
        ("testnodes:reset", "not a flowpose Node subclass"),
        ("passthrough", "did you mean 'PassThrough'"),
    ],
)
def test_resolution_errors_are_clear(name: str, message: str) -> None:
    with pytest.raises(NodeTypeError, match=message):
        resolve(name)


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build and install a real distribution with a `flowpose.nodes` entry point into a temp dir."""
    src = tmp_path_factory.mktemp("plugin_src")
    (src / "pyproject.toml").write_text(PYPROJECT)
    (src / "flowpose_stamp.py").write_text(PLUGIN_NODE)
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


def test_entry_point_plugin_lists_and_runs(installed_plugin: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed_plugin), os.environ.get("PYTHONPATH", "")])}
    listing = run_cli("nodes", env=env, timeout=60)
    assert "Stamp(text) - Adds a stamp to each frame's meta.   [plugin: flowpose-stamp]" in listing.stdout
    assert "Missing - failed to load" in listing.stdout  # a broken plugin is reported, not fatal
    graph = tmp_path / "g.yaml"
    graph.write_text(
        textwrap.dedent("""\
        nodes:
          - {name: camera, type: TestPattern, outputs: [frames], params: {count: 3, fps: 0, live: false}}
          - {name: stamp, type: Stamp, inputs: [frames], outputs: [out], params: {text: hi}}
          - {name: sink, type: LogSink, inputs: [out]}
        """)
    )
    res = run_cli("run", str(graph), env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "frame 2 from camera" in res.stderr
    bad = run_cli("validate", str(graph), "--set", "stamp.txt=x", env=env, timeout=60)
    assert bad.returncode == 2 and "unknown param 'txt'; did you mean 'text'?" in bad.stderr
