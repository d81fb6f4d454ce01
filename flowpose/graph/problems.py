"""Validation problems: what is wrong, and exactly where."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from flowpose.graph.spec import SourceMap


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a graph.

    Attributes:
        file: Graph file (or ``--set`` for a command-line override).
        line: 1-based line in ``file``, or None.
        node: Node name the problem belongs to, or "" for graph-level problems.
        field: Dotted field path, e.g. ``params.fps`` or ``inputs``; "" when not applicable.
        message: What is wrong, in words a user can act on.
    """

    file: str
    line: int | None
    node: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        parts = [where]
        if self.node:
            parts.append(f"node {self.node!r}")
        if self.field:
            parts.append(self.field)
        return ": ".join(parts) + f": {self.message}"


class GraphError(Exception):
    """A graph did not validate; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(self.report())

    def report(self) -> str:
        """All problems, one per line, with a count header."""
        head = f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''} found:"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])


def format_loc(loc: Sequence[Any]) -> str:
    """A pydantic error location as a dotted path."""
    return ".".join(str(p) for p in loc)


class ProblemCollector:
    """Gathers problems with their file line, looked up from the YAML source map."""

    def __init__(self, smap: SourceMap) -> None:
        self.smap = smap
        self.problems: list[Problem] = []

    def add(self, path: tuple[Any, ...], node: str, field_: str, message: str) -> None:
        self.problems.append(Problem(self.smap.file, self.smap.line(path), node, field_, message))

    def pydantic(self, exc: ValidationError, base: tuple[Any, ...], node: str, prefix: str = "") -> None:
        for err in exc.errors():
            loc = tuple(err["loc"])
            field_ = ".".join(filter(None, [prefix, format_loc(loc)]))
            self.add((*base, *loc), node, field_, describe_error(err))


def describe_error(err: Any) -> str:
    """A pydantic error in words, with the offending value."""
    kind, loc = err["type"], err["loc"]
    if kind == "missing":
        return "required but missing"
    if kind == "extra_forbidden":
        return f"unknown field {loc[-1]!r}"
    value = err.get("input")
    if kind == "value_error":
        # A validator's own words already say what is wrong with which value; pydantic's
        # "Value error, " prefix and a "(got list)" after them only add noise.
        return str(err["msg"]).removeprefix("Value error, ")
    shown = repr(value) if not isinstance(value, dict | list) or len(repr(value)) < 60 else type(value).__name__
    return f"{err['msg']} (got {shown})"
