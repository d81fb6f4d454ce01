"""Finding node classes by type name.

Three ways, in this order:

1. ``package.module:ClassName`` — imported directly, also from the graph file's folder (a
   ``my_nodes.py`` beside the graph needs no PYTHONPATH; see :mod:`flowpose.graph.node_path`);
2. a name in the ``flowpose.nodes`` entry-point group — the built-in nodes are registered
   there by flowpose's own package metadata, exactly like third-party plugins;
3. nothing else: no registry decorators, no import side effects. A plain dict.

Entry points are only *loaded* when a graph uses them, so listing names is cheap and a
broken plugin only hurts the graphs that use it.
"""

from __future__ import annotations

import difflib
import importlib
import logging
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from flowpose.graph.node_path import folders_from_environment
from flowpose.node import Node

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "flowpose.nodes"


class NodeTypeError(LookupError):
    """A node type could not be found or loaded; the message says why and what is close."""


@dataclass(frozen=True)
class NodeTypeInfo:
    """Where a node type comes from.

    Attributes:
        name: The type name used in graph files.
        target: ``module:Class`` it resolves to.
        distribution: The installed distribution that provides it (``flowpose`` for built-ins).
    """

    name: str
    target: str
    distribution: str


def _entry_points() -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in found and found[ep.name].value != ep.value:
            log.warning(
                "node type %r is provided twice (%s and %s); using the first", ep.name, found[ep.name].value, ep.value
            )
            continue
        found.setdefault(ep.name, ep)
    return found


def available_types() -> dict[str, NodeTypeInfo]:
    """All node types registered in the ``flowpose.nodes`` entry-point group, by name."""
    return {
        name: NodeTypeInfo(name, ep.value, ep.dist.name if ep.dist else "?")
        for name, ep in sorted(_entry_points().items())
    }


def _import_target(target: str) -> type:
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise NodeTypeError(f"{target!r} is not of the form 'package.module:ClassName'")
    folders_from_environment()  # in a process-runner child: the parent's graph folders
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        missing = isinstance(exc, ModuleNotFoundError) and exc.name == module_name.split(".")[0]
        hint = " (put it beside the graph file, install it, or add its folder to PYTHONPATH)" if missing else ""
        raise NodeTypeError(f"cannot import module {module_name!r} for {target!r}: {exc}{hint}") from exc
    obj = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise NodeTypeError(f"module {module_name!r} has no attribute {attr!r}") from None
    return obj  # type: ignore[return-value]


def resolve(type_name: str) -> type[Node]:
    """The node class for ``type_name``.

    Raises:
        NodeTypeError: Unknown name (with close matches), failed import, or not a Node subclass.
    """
    if ":" in type_name:
        cls = _import_target(type_name)
    else:
        eps = _entry_points()
        if type_name not in eps:
            close = difflib.get_close_matches(type_name, list(eps), n=3, cutoff=0.5)
            lowered = {n.lower(): n for n in eps}
            if type_name.lower() in lowered and lowered[type_name.lower()] not in close:
                close.insert(0, lowered[type_name.lower()])
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise NodeTypeError(
                f"unknown node type {type_name!r}{hint} "
                "(run 'flowpose nodes' to list types, or use 'package.module:ClassName')"
            )
        try:
            cls = eps[type_name].load()
        except Exception as exc:  # a broken plugin must not take the CLI down with a traceback
            raise NodeTypeError(f"node type {type_name!r} failed to load ({eps[type_name].value}): {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Node)):
        raise NodeTypeError(f"{type_name!r} resolves to {cls!r}, which is not a flowpose Node subclass")
    return cls
