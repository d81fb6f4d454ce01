"""The README stays true: its plugin example runs, its commands exist, its example output is real."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from cli_support import run_cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def code_blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_plugin_example_is_short_and_runs(tmp_path: Path) -> None:
    plugin = next(b for b in code_blocks("python") if "class Blur(Node)" in b)
    assert len(plugin.strip().splitlines()) < 30
    (tmp_path / "my_nodes.py").write_text(plugin)
    graph = tmp_path / "g.yaml"
    graph.write_text(
        textwrap.dedent("""\
        nodes:
          - {name: camera, type: TestPattern, outputs: [frames], params: {count: 5, fps: 0, live: false}}
          - {name: blur, type: 'my_nodes:Blur', inputs: [frames], outputs: [out], params: {kernel: 5}}
          - {name: log, type: LogSink, inputs: [out]}
        """)
    )
    res = run_cli(
        "run",
        str(graph),
        cwd=tmp_path,
        env={"PATH": ""},  # no PYTHONPATH: a plugin beside the graph file imports as it is
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert "frame 4 from camera" in res.stderr


def test_example_graph_in_readme_validates(tmp_path: Path) -> None:
    example = next(b for b in code_blocks("yaml") if "line by line" not in b and "defaults:" in b)
    graph = tmp_path / "g.yaml"
    graph.write_text(example)
    res = run_cli("validate", str(graph), timeout=60)
    assert res.returncode == 0, res.stderr


def test_validate_example_output_matches_the_tool(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    demo = (ROOT / "graphs" / "demo.yaml").read_text()
    broken.write_text(demo.replace("type: Visualizer", "type: Visualiser").replace("realtime:", "real_time:"))
    res = run_cli("validate", "broken.yaml", "--set", "camera.fps=fast", cwd=tmp_path, timeout=60)
    assert res.returncode == 2
    shown = next(b for b in code_blocks("console") if "flowpose validate broken.yaml" in b)
    for line in shown.splitlines()[1:]:
        # The README elides long tails with "(...)"; compare what comes before.
        assert line.split(" (...)")[0] in res.stderr


def test_commands_in_readme_exist() -> None:
    from flowpose.cli.main import build_parser

    commands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    used = set(re.findall(r"`flowpose (\w+)", README))
    assert used <= commands, used - commands


def test_subscriber_example_is_the_tested_one() -> None:
    """tests/nodes/test_publisher.py runs the snippet in docs/nodes.md; the README shows the same."""
    readme = next(b for b in code_blocks("python") if "zmq.SUB" in b)
    nodes_doc = (ROOT / "docs" / "nodes.md").read_text()
    assert readme.strip() in nodes_doc
    assert len(readme.strip().splitlines()) <= 16


def test_api_example_is_the_tested_one() -> None:
    """tests/api/test_docs_example.py runs docs/api.md's example; the README shows the same."""
    readme = next(b for b in code_blocks("python") if "from flowpose import Pose" in b)
    api_doc = (ROOT / "docs" / "api.md").read_text()
    assert readme.strip() in api_doc
    assert len(readme.strip().splitlines()) <= 10


def test_models_section_comes_first_and_names_the_synthetic_models() -> None:
    first_screen = README[: README.index("## Quick start")]
    for name in ("flowpose-det-synthetic", "flowpose-person", "flowpose-animal", "rtmpose-m-ap10k", "yolox-nano"):
        assert name in first_screen
    assert "synthetic-scene models" in first_screen
