"""The floor plan of flowpose: which folder sits in which layer, and which layer may import which.

One table, read by two readers: tests/flowpose/test_layers.py checks every import of the code
against it, and docs/img/floor_plan.py draws it (docs/architecture.md, "Floor plan").

A *unit* is a folder of flowpose (``graph``), or one module given its own place
(``engine.runtime``, which drives the runners while the rest of ``engine/`` is below them);
a module belongs to the longest unit its dotted name starts with. Units are gathered in
*groups*, groups in *rows*, top to bottom. The rule:

* a unit may import any unit of its own group, and any unit of a group in a lower row;
* never one in a higher row, nor one of another group of its own row;
* groups with a ``side`` ("nodes" or "engine") never import a group of the other side:
  the engine runs nodes without importing them (they are found through entry points), and a
  node runs under any runner, so it needs nothing of the engine.

:data:`KNOWN_BREAKS` lists the imports that break the rule today, each with why and what would
fix it; the test fails on any other break, and on an exception that no longer happens.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

PACKAGE = "flowpose"
ROOT_UNIT = "__init__"  # flowpose/__init__.py: re-exports the plugin API


@dataclass(frozen=True)
class Group:
    """Units drawn in one frame of the floor plan.

    Attributes:
        name: The group's title in the picture.
        job: What its units are for, in a few words (the picture's subtitle).
        units: Dotted names under ``flowpose`` (folders or modules), in drawing order.
        side: "nodes" or "engine" for the two sides that never import each other; None for
            a group every side may use (or that may use every side).
        span: How many rows the group's frame covers (drawing only).
    """

    name: str
    job: str
    units: tuple[str, ...]
    side: str | None = None
    span: int = 1


ROWS: tuple[tuple[Group, ...], ...] = (
    (Group("apps", "commands, Python API, benchmarks, training", ("cli", "api", "serve", "bench", "trainer")),),
    (
        Group("nodes", "built-in nodes and their parts", ("nodes", "closedloop"), side="nodes", span=3),
        Group("run a graph", "GraphRunner: build, supervise, stop", ("engine.runtime",), side="engine"),
    ),
    (Group("runners", "threads, processes, links", ("runners",), side="engine"),),
    (
        Group("graph files", "load, check, hosts", ("graph", "hosts"), side="engine"),
        Group("engine parts", "buffers, joins, stats, traces", ("engine",), side="engine"),
    ),
    (Group("tasks", "evaluations", ("evaluation",)),),
    (Group("models", "what the nodes compute", ("detection", "pose", "tracking", "smoothing", "synthetic")),),
    (Group("model files", "cards, sessions, zoo, codecs", ("models", "zoo", "codecs")),),
    (Group("basics", "shared pieces", ("geometry", "meta", "percentiles", "transport", "web")),),
    (Group("plugin API", "what a node is made of", ("frame", "node", "streams", ROOT_UNIT)),),
)

# Units of the table that are being built and may not exist in the checkout yet.
PLANNED = frozenset({"serve"})


@dataclass(frozen=True)
class KnownBreak:
    """One import that breaks the floor plan today, kept visible until it is fixed."""

    importer: str
    imported: str
    why: str


KNOWN_BREAKS: tuple[KnownBreak, ...] = (
    KnownBreak(
        "flowpose.closedloop.actions",
        "flowpose.graph.registry",
        "the private 'package.module:Class' resolver of node types, reused for actions",
    ),
    *(
        KnownBreak(importer, imported, "the trainer's torch-free DeepLabCut import and split, used by eval labels")
        for importer, imported in (
            ("flowpose.evaluation.labels_data", "flowpose.trainer.data.dlc_coco"),
            ("flowpose.evaluation.labels_data", "flowpose.trainer.data.dlc_import"),
            ("flowpose.evaluation.labels_data", "flowpose.trainer.data.split"),
            ("flowpose.evaluation.labels_eval", "flowpose.trainer.data.dlc_coco"),
            ("flowpose.evaluation.labels_eval", "flowpose.trainer.data.split"),
        )
    ),
)


def groups() -> list[tuple[int, Group]]:
    """Every group with its row number (0 = top)."""
    return [(row, group) for row, members in enumerate(ROWS) for group in members]


def units() -> list[str]:
    """Every unit of the table, in drawing order."""
    return [unit for _, group in groups() for unit in group.units]


def relative(module: str) -> str:
    """``flowpose.graph.spec`` -> ``graph.spec``; the package itself -> :data:`ROOT_UNIT`."""
    if module == PACKAGE:
        return ROOT_UNIT
    if not module.startswith(PACKAGE + "."):
        raise ValueError(f"{module!r} is not a module of {PACKAGE}")
    return module[len(PACKAGE) + 1 :]


def unit_of(module: str, known: list[str] | None = None) -> str | None:
    """The unit a module belongs to (the longest matching one), or None when no unit holds it."""
    name = relative(module)
    matches = [u for u in known or units() if name == u or name.startswith(u + ".")]
    return max(matches, key=len) if matches else None


def group_of(unit: str) -> tuple[int, Group]:
    """The row and group of a unit of the table."""
    for row, group in groups():
        if unit in group.units:
            return row, group
    raise KeyError(unit)


def may_import(importer_unit: str, imported_unit: str) -> bool:
    """Whether the floor plan lets ``importer_unit`` import ``imported_unit``."""
    row_a, a = group_of(importer_unit)
    row_b, b = group_of(imported_unit)
    if a == b:
        return True
    if row_b <= row_a:  # up, or across to another group of the same row
        return False
    return a.side is None or b.side is None or a.side == b.side


def unplaced(graph: dict[str, set[str]]) -> list[str]:
    """Modules of ``graph`` that no unit of the table holds (a new folder needs a place)."""
    return sorted(module for module in graph if unit_of(module) is None)


def breaks(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Every (importer, imported) module pair of ``graph`` that the floor plan forbids."""
    found = []
    for module, imported in sorted(graph.items()):
        a = unit_of(module)
        for target in sorted(imported):
            b = unit_of(target)
            if a is not None and b is not None and not may_import(a, b):
                found.append((module, target))
    return found


def unit_edges(graph: dict[str, set[str]]) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Unit -> unit imports of ``graph``, each with the module pairs behind it."""
    edges: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for module, imported in sorted(graph.items()):
        a = unit_of(module)
        for target in sorted(imported):
            b = unit_of(target)
            if a is not None and b is not None and a != b:
                edges[(a, b)].append((module, target))
    return dict(edges)
