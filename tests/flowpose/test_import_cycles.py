"""Imports go one way: no module of flowpose imports, even late, one that imports it.

Imports are read with :mod:`ast`, so an import inside a function (the usual way to dodge a
circle at run time) or under ``if TYPE_CHECKING:`` counts like one at the top of the file.
"""

from __future__ import annotations

from pathlib import Path

from import_scan import import_graph  # tests/support: the ast import reader

import flowpose
import flowpose.transport as transport


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of ``graph``: each strongly connected group of two or more, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan; the graphs are small, so recursion is fine
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


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
