"""Imports go one way: no module of flowpose imports, even late, one that imports it.

Imports are read with :mod:`ast`, so an import inside a function (the usual way to dodge a
circle at run time) or under ``if TYPE_CHECKING:`` counts like one at the top of the file.
"""

from __future__ import annotations

from pathlib import Path

from import_scan import import_graph  # tests/support: the ast import reader

import flowpose
import flowpose.transport as transport
from flowpose.graph.wiring import strong_components


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of ``graph``: each strongly connected group of two or more, sorted."""
    ordered = {node: sorted(targets) for node, targets in graph.items()}
    return sorted(sorted(group) for group in strong_components(ordered, sorted(graph)) if len(group) > 1)


def test_the_transport_package_has_no_import_cycle() -> None:
    graph = import_graph(Path(transport.__file__).parent, "flowpose.transport")
    assert graph.get("flowpose.transport.wire")  # the scan found the modules and their imports
    assert find_cycles(graph) == [], "import circle(s) in flowpose/transport"


def test_the_transport_base_imports_nothing_of_the_package() -> None:
    graph = import_graph(Path(transport.__file__).parent, "flowpose.transport")
    assert graph["flowpose.transport.wire_errors"] == set()
    assert graph["flowpose.transport.wire_values"] == {"flowpose.transport.wire_errors"}


def test_a_late_import_closing_a_circle_is_found(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import thing\n")
    (package / "b.py").write_text("import pkg.c as c\n")
    (package / "c.py").write_text("def late():\n    from . import a\n")
    (package / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n")
    graph = import_graph(package, "pkg")
    assert graph["pkg.c"] == {"pkg.a"} and graph["pkg.d"] == {"pkg.a"}  # late and TYPE_CHECKING count
    assert find_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_flowpose_has_no_import_cycle() -> None:
    graph = import_graph(Path(flowpose.__file__).parent, "flowpose")
    assert len(graph) > 100  # the whole engine was scanned
    assert find_cycles(graph) == [], "import circle(s) in flowpose/"
