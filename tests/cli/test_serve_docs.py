"""docs/serve.md stays true: its graph validates, its route table is the server's, its commands parse."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from flowpose.cli.main import build_parser
from flowpose.graph.validate import validate_text
from flowpose.serve.routes import Api, GraphView

DOC = (Path(__file__).resolve().parents[2] / "docs" / "serve.md").read_text(encoding="utf-8")


def test_the_example_graph_validates() -> None:
    example = re.findall(r"```yaml\n(.*?)```", DOC, flags=re.S)[0]
    graph = validate_text(example, "scenes.yaml")
    assert graph.params["scene"].keep_open


def test_the_route_table_is_the_servers() -> None:
    table = set(re.findall(r"^\| `(GET|POST|DELETE) (/api/[^`]*)` \|", DOC, flags=re.M))
    routes = {(r.method, r.path) for r in Api(GraphView("g", list, lambda: False)).routes}
    assert table == routes, table ^ routes


def test_the_commands_shown_parse() -> None:
    commands = re.findall(r"^\$ (flowpose .*?)(?:\s+#.*)?$", DOC, flags=re.M)
    assert len(commands) >= 7
    parser = build_parser()
    for command in commands:
        parser.parse_args(shlex.split(command)[1:])  # argparse exits (2) on anything it does not take
