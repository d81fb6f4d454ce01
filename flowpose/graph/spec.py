"""The graph file: its data model (pydantic) and YAML loading that remembers line numbers.

The models here describe the *file format* only; whether node types exist and their params
are right is checked in :mod:`flowpose.graph.validate`, which needs the node classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from flowpose.hosts.spec import CurveSpec, HostSpec

BufferPolicy = Literal["auto", "latest", "lossless"]
RunnerKind = Literal["thread", "process"]
RestartPolicy = Literal["never", "on-failure"]
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BufferSpec(_Strict):
    """How a buffer queues messages for each of its readers."""

    policy: BufferPolicy = Field(
        "auto",
        description="latest: keep the newest `size` messages, drop (and count) the oldest; "
        "lossless: the writer waits, nothing is dropped; auto: latest behind live sources, "
        "lossless behind files.",
    )
    size: int = Field(4, ge=1, le=10_000, description="Queue length per reader.")


class Defaults(_Strict):
    """Graph-wide defaults, each overridable per node or per buffer."""

    runner: RunnerKind = "thread"
    buffer: BufferSpec = Field(default_factory=BufferSpec)
    restart: RestartPolicy = "never"
    max_restarts: int = Field(3, ge=0)
    backoff: float = Field(0.5, ge=0, description="First restart delay in seconds; doubles each time.")
    timeout_s: float | None = Field(
        None,
        gt=0,
        description="A node in one setup() or process() call longer than this is hung: reported with its "
        "stack, then the graph stops (thread runner) or its process is restarted by its policy (process runner). "
        "Default: no limit.",
    )
    host: str | None = Field(None, description="Host of nodes that name none (default: the first host listed).")


class NodeSpec(_Strict):
    """One node of the graph."""

    name: str = Field(pattern=NAME_PATTERN, description="Unique node name.")
    type: str = Field(description="Built-in or plugin type name, or 'package.module:ClassName'.")
    inputs: list[str] = Field(default_factory=list, description="Buffers this node reads.")
    outputs: list[str] = Field(default_factory=list, description="Buffers this node writes.")
    feedback: list[str] = Field(
        default_factory=list,
        description="Buffers written downstream whose newest frame the node may read (self.feedback()); "
        "never joined or waited for, so they may close a cycle.",
    )
    params: dict[str, Any] = Field(default_factory=dict, description="The node type's parameters.")
    runner: RunnerKind | None = Field(None, description="Where the node runs (default: graph default).")
    restart: RestartPolicy | None = None
    max_restarts: int | None = Field(None, ge=0)
    backoff: float | None = Field(None, ge=0)
    timeout_s: float | None = Field(None, gt=0, description="Hung-call limit in seconds (default: defaults.timeout_s).")
    host: str | None = Field(None, description="Which of the graph's `hosts` runs the node (default: defaults.host).")


class GraphSpec(_Strict):
    """A whole graph file."""

    name: str = Field("graph", description="Human-readable graph name.")
    description: str = ""
    defaults: Defaults = Field(default_factory=Defaults)
    buffers: dict[str, BufferSpec] = Field(default_factory=dict, description="Per-buffer settings.")
    hosts: dict[str, HostSpec] = Field(
        default_factory=dict, description="Named hosts the graph's parts run on (`flowpose run GRAPH --host NAME`)."
    )
    curve: CurveSpec | None = Field(None, description="Authenticate and encrypt links between hosts (CurveZMQ).")
    nodes: list[NodeSpec] = Field(min_length=1)

    def node(self, name: str) -> NodeSpec:
        """The node called ``name`` (KeyError if absent)."""
        for spec in self.nodes:
            if spec.name == name:
                return spec
        raise KeyError(name)


@dataclass
class SourceMap:
    """Where each value of a loaded YAML document came from, keyed by path tuple.

    ``lines[("nodes", 2, "params", "fps")] == 14`` (1-based line numbers).
    """

    file: str
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def line(self, path: tuple[Any, ...]) -> int | None:
        """Line of ``path``, or of its closest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())

    def where(self, path: tuple[Any, ...]) -> str:
        """``file:line`` for ``path`` (just the file when the line is unknown)."""
        line = self.line(path)
        return f"{self.file}:{line}" if line else self.file


class YamlSyntaxError(ValueError):
    """The file is not valid YAML; ``line`` is 1-based (None when unknown)."""

    def __init__(self, file: str, line: int | None, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}" if line else f"{file}: {message}")
        self.file, self.line, self.message = file, line, message


def _to_python(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            # Complex keys never appear in graph files; keep them as text so errors can show them.
            key = _scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            out[key] = _to_python(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    # Resolve the scalar with the safe constructor so "3" is an int and "yes" a bool, as yaml.safe_load.
    return yaml.SafeLoader("").construct_object(node, deep=True)


def load_yaml(text: str, file: str = "<string>") -> tuple[Any, SourceMap]:
    """Parse YAML text, returning the data and a :class:`SourceMap` of its line numbers.

    Raises:
        YamlSyntaxError: On malformed YAML, with the line of the problem.
    """
    smap = SourceMap(file)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        context = exc.context or ""
        if (
            exc.context_mark is not None
            and exc.problem_mark is not None
            and (exc.context_mark.line != exc.problem_mark.line)
        ):
            context += f" (started on line {exc.context_mark.line + 1})"
        detail = "; ".join(str(p) for p in (context, exc.problem) if p)
        raise YamlSyntaxError(file, mark.line + 1 if mark else None, detail or str(exc)) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(file, None, str(exc)) from None
    if root is None:
        return None, smap
    return _to_python(root, (), smap.lines), smap


def load_graph_text(path: str | Path) -> tuple[str, str]:
    """Read a graph file, returning (text, display name).

    Raises:
        FileNotFoundError: With a message naming the path.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"graph file not found: {path}")
    return path.read_text(encoding="utf-8"), str(path)
