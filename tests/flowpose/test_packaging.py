"""Packaging promises: the light runtime never imports torch; nodes/ and trainer/ map into flowpose."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import flowpose.nodes
import flowpose.trainer

ROOT = Path(__file__).resolve().parents[2]


def test_nodes_and_trainer_resolve_to_their_top_level_folders() -> None:
    assert Path(flowpose.nodes.__file__).resolve().parent == ROOT / "nodes"
    assert Path(flowpose.trainer.__file__).resolve().parent == ROOT / "trainer"


def test_every_package_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    mapping = {v: k for k, v in config["package-dir"].items()}
    found = set()
    for top in mapping:
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top).parts
            found.add(".".join([mapping[top], *rel]))
    assert found == listed, f"missing from pyproject: {found - listed}; listed but absent: {listed - found}"


def test_engine_and_run_never_import_torch(tmp_path: Path) -> None:
    graph = tmp_path / "g.yaml"
    graph.write_text(
        textwrap.dedent("""\
        nodes:
          - {name: camera, type: TestPattern, outputs: [frames], params: {count: 3, fps: 0, live: false}}
          - {name: sink, type: NullSink, inputs: [frames]}
        """)
    )
    probe = textwrap.dedent(f"""\
        import sys
        import flowpose
        from flowpose.cli.main import main
        assert main(["run", {str(graph)!r}]) == 0
        assert main(["nodes"]) == 0
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchvision", "flowpose.trainer"))
        print("HEAVY", heavy)
        sys.exit(1 if heavy else 0)
        """)
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
