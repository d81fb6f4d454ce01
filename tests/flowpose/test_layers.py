"""The floor plan holds: no import goes up a layer, nor across between the nodes and the engine.

The layers are the table of tests/support/layer_rules.py (drawn in docs/img/floor_plan.svg,
explained in docs/architecture.md). Imports are read with :mod:`ast`, late ones included, over
flowpose/, nodes/ (flowpose.nodes) and trainer/ (flowpose.trainer). The imports that break the
plan today are listed in ``KNOWN_BREAKS``, each with what would fix it; any other fails here,
and so does a listed one that has gone (strike it from the list).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import layer_rules  # tests/support: the floor plan's table
import pytest
from import_scan import ROOT, flowpose_import_graph, module_names, project_trees, top_level_imports

Graph = dict[str, set[str]]


@pytest.fixture(scope="module")
def graph() -> Graph:
    """The import graph of the checkout, read once for the module."""
    found = flowpose_import_graph()
    assert len(found) > 200 and found["flowpose.engine.runtime"]  # flowpose, nodes and trainer were read
    return found


def known_breaks() -> set[tuple[str, str]]:
    return {(k.importer, k.imported) for k in layer_rules.KNOWN_BREAKS}


def under(module: str, prefixes: tuple[str, ...]) -> bool:
    """Whether ``module`` is one of ``prefixes`` or inside one of them (``flowpose.node`` holds not ``nodes``)."""
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def imports_from(graph: Graph, importers: tuple[str, ...], targets: tuple[str, ...]) -> list[tuple[str, str]]:
    """The (module, imported) pairs where a module under ``importers`` imports one under ``targets``."""
    return sorted(
        (module, target)
        for module, imported in graph.items()
        if under(module, importers)
        for target in imported
        if under(target, targets)
    )


def test_every_module_has_a_place_on_the_plan(graph: Graph) -> None:
    assert layer_rules.unplaced(graph) == [], "new folder(s): give them a group in tests/support/layer_rules.py ROWS"


def test_every_unit_of_the_plan_exists(graph: Graph) -> None:
    placed = {layer_rules.unit_of(module) for module in graph}
    missing = sorted(set(layer_rules.units()) - placed - layer_rules.PLANNED)
    assert missing == [], "units of layer_rules.ROWS with no module (moved or deleted?)"


def test_no_import_goes_up_a_layer_or_across_sides(graph: Graph) -> None:
    new = [pair for pair in layer_rules.breaks(graph) if pair not in known_breaks()]
    assert new == [], (
        "import(s) against the floor plan (docs/architecture.md#floor-plan): move the code down a layer, "
        "or the import up, rather than adding to KNOWN_BREAKS"
    )


def test_every_known_break_still_happens(graph: Graph) -> None:
    gone = sorted(known_breaks() - set(layer_rules.breaks(graph)))
    assert gone == [], "fixed: strike these from KNOWN_BREAKS in tests/support/layer_rules.py"


APPS = ("cli", "api", "serve", "bench", "trainer")

# The plan's main promises, spelled out on their own so that an edit of the table cannot quietly
# allow them: (who, may not import any of these, the breaks still allowed).
PROMISES = {
    "graph files never touch the engine, the runners or the network": (
        ("flowpose.graph",),
        ("flowpose.engine", "flowpose.runners", "flowpose.hosts.rendezvous", "flowpose.hosts.security"),
    ),
    "the plugin API imports only itself": (
        ("flowpose.frame", "flowpose.node", "flowpose.streams"),
        tuple(f"flowpose.{u}" for u in layer_rules.units() if u not in ("frame", "node", "streams", "__init__")),
    ),
    "the wire format knows nothing of who sends it": (
        ("flowpose.transport",),
        ("flowpose.runners", "flowpose.engine", "flowpose.hosts", "flowpose.graph", "flowpose.nodes"),
    ),
    "nodes need nothing of the engine (they run under any runner)": (
        ("flowpose.nodes", "flowpose.closedloop"),
        ("flowpose.engine", "flowpose.runners", "flowpose.hosts", "flowpose.graph"),
    ),
    "runners never reach up to the GraphRunner that drives them": (
        ("flowpose.runners", "flowpose.hosts", "flowpose.graph"),
        ("flowpose.engine.runtime",),
    ),
    "buffers, joins, stats and traces are plain parts": (
        ("flowpose.engine.buffers", "flowpose.engine.join", "flowpose.engine.stats", "flowpose.engine.trace"),
        ("flowpose.engine.runtime", "flowpose.runners", "flowpose.hosts", "flowpose.graph", "flowpose.nodes"),
    ),
    "below the apps, nothing imports the built-in nodes (the engine finds them by entry point)": (
        tuple(f"flowpose.{u}" for u in layer_rules.units() if u not in (*APPS, "nodes")),
        ("flowpose.nodes",),
    ),
    "below the apps, nothing imports the trainer": (
        tuple(f"flowpose.{u}" for u in layer_rules.units() if u not in APPS),
        ("flowpose.trainer",),
    ),
}


@pytest.mark.parametrize("promise", sorted(PROMISES))
def test_promise(graph: Graph, promise: str) -> None:
    importers, targets = PROMISES[promise]
    assert any(graph[m] for m in graph if under(m, importers)), "none of the importers imports anything"
    broken = [pair for pair in imports_from(graph, importers, targets) if pair not in known_breaks()]
    assert broken == [], promise


def test_only_the_trainer_imports_torch() -> None:
    """``pip install flowpose`` runs graphs without torch (it comes with the train extra)."""
    modules = {name: path for root, package in project_trees() for name, path in module_names(root, package).items()}
    assert len(modules) > 200 and any("torch" in top_level_imports(p) for p in modules.values())  # trainer does
    with_torch = sorted(
        name
        for name, path in modules.items()
        if "torch" in top_level_imports(path) and not name.startswith("flowpose.trainer")
    )
    assert with_torch == [], "torch imported outside trainer/"


def test_a_break_is_found_in_a_small_package(tmp_path: Path) -> None:
    """The checker on a package of its own: a late upward import and one across sides are caught."""
    from import_scan import import_graph

    package = tmp_path / "flowpose"
    for folder, text in {
        "graph": "def late():\n    from flowpose.engine import runtime\n",  # up a row, late
        "nodes": "from flowpose.runners import worker\n",  # across sides
        "engine": "",
        "runners": "from flowpose.graph import spec\nfrom flowpose import frame\n",  # allowed: down
    }.items():
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("")
        (package / folder / "x.py").write_text(text)
    (package / "__init__.py").write_text("")
    (package / "frame.py").write_text("")
    (package / "engine" / "runtime.py").write_text("")
    (package / "runners" / "worker.py").write_text("")
    (package / "graph" / "spec.py").write_text("")
    found = import_graph(package, "flowpose")
    assert layer_rules.breaks(found) == [
        ("flowpose.graph.x", "flowpose.engine.runtime"),
        ("flowpose.nodes.x", "flowpose.runners.worker"),
    ]


def test_the_picture_is_up_to_date(graph: Graph, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/img/floor_plan.svg is what docs/img/floor_plan.py draws from today's code."""
    path = ROOT / "docs" / "img" / "floor_plan.py"
    spec = importlib.util.spec_from_file_location("floor_plan", path)
    assert spec is not None and spec.loader is not None
    drawing = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, drawing)  # its dataclasses look their module up there
    spec.loader.exec_module(drawing)
    fresh = drawing.render_svg(graph)
    assert "<svg" in fresh and "engine/runtime.py" in fresh
    assert (ROOT / "docs" / "img" / "floor_plan.svg").read_text() == fresh, (
        "the floor plan changed: run `.venv/bin/python docs/img/floor_plan.py` and commit docs/img/floor_plan.svg"
    )
