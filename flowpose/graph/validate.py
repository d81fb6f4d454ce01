"""Checking a graph file completely before anything runs.

Every problem is collected (not just the first), each with file, line, node and field, so
a user fixes a graph in one round instead of one error per run.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flowpose.graph.node_path import add_folder
from flowpose.graph.overrides import Override, coerce, parse_override
from flowpose.graph.problems import GraphError, Problem, ProblemCollector, describe_error, format_loc
from flowpose.graph.registry import NodeTypeError, resolve
from flowpose.graph.spec import GraphSpec, NodeSpec, SourceMap, YamlSyntaxError, load_graph_text, load_yaml
from flowpose.graph.wiring import check_wiring
from flowpose.hosts.plan import check_hosts
from flowpose.node import Node, NodeParams
from flowpose.zoo.skip import ModelCheckSkipped


@dataclass
class ValidGraph:
    """A graph that passed validation: its spec, node classes and typed params.

    Attributes:
        spec: The parsed graph file (with overrides applied).
        classes: Node class per node name.
        params: Validated params per node name.
        file: Where the graph came from.
    """

    spec: GraphSpec
    classes: dict[str, type[Node]]
    params: dict[str, NodeParams]
    file: str = "<string>"
    writers: dict[str, str] = field(default_factory=dict)
    readers: dict[str, list[str]] = field(default_factory=dict)
    source: SourceMap | None = field(default=None, repr=False)  # line numbers, for problems found later


def _unknown_param(err: Any, model: type[NodeParams]) -> str:
    name = str(err["loc"][-1])
    close = difflib.get_close_matches(name, list(model.model_fields), n=1, cutoff=0.6)
    known = ", ".join(model.model_fields) or "none"
    hint = f"; did you mean {close[0]!r}?" if close else f" (known: {known})"
    return f"unknown param {name!r}{hint}"


def _check_params(
    col: ProblemCollector, idx: int, spec: NodeSpec, cls: type[Node], overrides: list[Override]
) -> NodeParams | None:
    values = dict(spec.params)
    for ov in overrides:
        values[ov.param] = coerce(cls.Params, ov.param, ov.raw)
    try:
        params = cls.Params(**values)
    except ValidationError as exc:
        by_param = {ov.param: ov for ov in overrides}
        for err in exc.errors():
            loc = tuple(err["loc"])
            message = _unknown_param(err, cls.Params) if err["type"] == "extra_forbidden" else describe_error(err)
            if err["type"] == "missing":
                message = f"required param of {spec.type} is missing"
            ov = by_param.get(str(loc[0])) if loc else None
            if ov is not None:  # point at the command line, not the file
                col.problems.append(
                    Problem("--set", None, spec.name, f"params.{format_loc(loc)}", f"{message} (from --set {ov.text})")
                )
            else:
                col.add(("nodes", idx, "params", *loc), spec.name, f"params.{format_loc(loc)}", message)
        return None
    try:
        problems = cls.check(params)
    except ModelCheckSkipped:  # `flowpose graph`: structure only, the node's model is not looked at
        problems = []
    for field_, message in problems:
        # A problem of the node as a whole (a missing extra) names no param.
        where = f"params.{field_}" if field_ else "params"
        col.add(("nodes", idx, "params", field_) if field_ else ("nodes", idx, "params"), spec.name, where, message)
    return params


def _check_arity(col: ProblemCollector, idx: int, spec: NodeSpec, cls: type[Node]) -> None:
    path = ("nodes", idx)
    if cls.is_source() and spec.inputs:
        col.add((*path, "inputs"), spec.name, "inputs", f"{spec.type} is a source and takes no inputs")
    elif not cls.is_source() and not spec.inputs:
        col.add(path, spec.name, "inputs", f"{spec.type} needs at least one input buffer")
    elif cls.num_inputs not in (None, 0) and len(spec.inputs) != cls.num_inputs:
        col.add(
            (*path, "inputs"),
            spec.name,
            "inputs",
            f"{spec.type} takes {cls.num_inputs} input(s), got {len(spec.inputs)}",
        )


def validate_data(
    data: Any, smap: SourceMap, overrides: Sequence[str] = (), import_dir: Path | None = None
) -> ValidGraph:
    """Validate already-loaded graph data; see :func:`load_graph`.

    Args:
        data: The parsed graph file.
        smap: Its line numbers.
        overrides: ``--set NODE.PARAM=VALUE`` texts.
        import_dir: The graph file's folder: ``module:Class`` types are imported from there
            too (after the installed packages), so a plugin beside the graph just works.
    """
    col = ProblemCollector(smap)
    if not isinstance(data, dict):
        col.add((), "", "", "a graph file must be a mapping with a 'nodes' list")
        raise GraphError(col.problems)
    raw_nodes = data.get("nodes")
    # Check everything but the nodes as a whole, then each node on its own, so one bad node
    # does not hide the problems of the others.
    try:
        GraphSpec.model_validate({**data, "nodes": [{"name": "x", "type": "x"}]})
    except ValidationError as exc:
        col.pydantic(exc, (), "")
    if not isinstance(raw_nodes, list) or not raw_nodes:
        col.add(("nodes",), "", "nodes", "a non-empty list of nodes is required")
        raw_nodes = []
    nodes: list[tuple[int, NodeSpec]] = []
    for idx, raw in enumerate(raw_nodes):
        label = raw.get("name", f"#{idx}") if isinstance(raw, dict) else f"#{idx}"
        try:
            nodes.append((idx, NodeSpec.model_validate(raw)))
        except ValidationError as exc:
            col.pydantic(exc, ("nodes", idx), str(label))

    parsed: list[Override] = []
    for text in overrides:
        try:
            parsed.append(parse_override(text))
        except ValueError as exc:
            col.problems.append(Problem("--set", None, "", "", str(exc)))
    known = {n.name for _, n in nodes}
    for ov in parsed:
        if ov.node not in known:
            close = difflib.get_close_matches(ov.node, list(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            col.problems.append(Problem("--set", None, ov.node, "", f"no node named {ov.node!r}{hint}"))

    classes: dict[str, type[Node]] = {}
    params: dict[str, NodeParams] = {}
    if import_dir is not None and any(":" in node.type for _, node in nodes):
        add_folder(import_dir)  # only graphs that name a module register their folder
    for idx, node in nodes:
        try:
            cls = resolve(node.type)
        except NodeTypeError as exc:
            col.add(("nodes", idx, "type"), node.name, "type", str(exc))
            continue
        classes[node.name] = cls
        if import_dir is not None and any(":" in str(node.params.get(k, "")) for k in cls.module_params):
            add_folder(import_dir)  # e.g. a Trigger's action: my_rig:reward beside the graph file
        _check_arity(col, idx, node, cls)
        checked = _check_params(col, idx, node, cls, [ov for ov in parsed if ov.node == node.name])
        if checked is not None:
            params[node.name] = checked

    writers = check_wiring(col, nodes, data.get("buffers") or {} if isinstance(data.get("buffers"), dict) else {})
    check_hosts(col, nodes, data, writers)
    if col.problems:
        raise GraphError(col.problems)
    spec = GraphSpec.model_validate(data)
    for node in spec.nodes:
        node.params = params[node.name].model_dump()
    readers: dict[str, list[str]] = defaultdict(list)
    for node in spec.nodes:
        for buf in node.inputs:
            readers[buf].append(node.name)
    return ValidGraph(spec, classes, params, smap.file, writers, dict(readers), smap)


def validate_text(
    text: str, file: str = "<string>", overrides: Sequence[str] = (), import_dir: Path | None = None
) -> ValidGraph:
    """Parse and validate graph YAML text (``import_dir``: see :func:`validate_data`).

    Raises:
        GraphError: With every problem found.
    """
    try:
        data, smap = load_yaml(text, file)
    except YamlSyntaxError as exc:
        raise GraphError([Problem(file, exc.line, "", "", f"YAML syntax error: {exc.message}")]) from None
    return validate_data(data, smap, overrides, import_dir)


def load_graph(path: str | Path, overrides: Sequence[str] = ()) -> ValidGraph:
    """Load and validate a graph file, applying ``--set`` overrides.

    Raises:
        GraphError: With every problem found (a missing file is one problem too).
    """
    try:
        text, file = load_graph_text(path)
    except (FileNotFoundError, UnicodeDecodeError) as exc:
        raise GraphError([Problem(str(path), None, "", "", str(exc))]) from None
    return validate_text(text, file, overrides, Path(path).parent)
