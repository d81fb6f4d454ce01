"""Validation problems: what is wrong, and exactly where."""

from __future__ import annotations

from dataclasses import dataclass


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
