"""Checks of how nodes are wired: names, buffers (one writer, something writes what is read), cycles."""

from __future__ import annotations

import difflib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from flowpose.graph.problems import ProblemCollector
from flowpose.graph.spec import NodeSpec


def strong_components(succ: Mapping[str, Iterable[str]], roots: Iterable[str]) -> list[list[str]]:
    """Every strongly connected component reachable from ``roots`` (Tarjan), in the order each completes.

    Args:
        succ: Each vertex's successors (a vertex missing here has none).
        roots: Where the search starts, in order; it visits successors in ``succ``'s order.

    Returns:
        One list per component, single vertices included (a caller keeps what it calls a cycle).
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def strongconnect(name: str) -> None:  # graphs are small, recursion is fine
        index[name] = low[name] = len(index)
        stack.append(name)
        on_stack.add(name)
        for nxt in succ.get(name, ()):
            if nxt not in index:
                strongconnect(nxt)
                low[name] = min(low[name], low[nxt])
            elif nxt in on_stack:
                low[name] = min(low[name], index[nxt])
        if low[name] == index[name]:
            members = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.append(member)
                if member == name:
                    break
            components.append(members)

    for root in roots:
        if root not in index:
            strongconnect(root)
    return components


def _find_cycles(nodes: list[NodeSpec], writers: dict[str, str]) -> list[list[str]]:
    """Every cycle's nodes (one list per strongly connected component), in graph order.

    Feedback edges are left out: they are read without waiting, so they cannot deadlock.
    """
    succ: dict[str, list[str]] = defaultdict(list)
    for node in nodes:
        for buf in node.inputs:
            if buf in writers:
                succ[writers[buf]].append(node.name)
    order = [n.name for n in nodes]
    return [
        sorted(members, key=order.index)
        for members in strong_components(succ, order)
        if len(members) > 1 or members[0] in succ.get(members[0], ())
    ]


def _check_feedback(col: ProblemCollector, idx: int, node: NodeSpec) -> None:
    for buf, count in Counter(node.feedback).items():
        if count > 1:
            col.add(("nodes", idx, "feedback"), node.name, "feedback", f"buffer {buf!r} listed twice")
        if buf in node.inputs:
            col.add(
                ("nodes", idx, "feedback"),
                node.name,
                "feedback",
                f"buffer {buf!r} is both an input and a feedback buffer; a node reads a buffer one way",
            )
    if node.feedback and not node.inputs:
        col.add(("nodes", idx, "feedback"), node.name, "feedback", "feedback needs a node with inputs (not a source)")


def _upstream_sources(nodes: list[NodeSpec], writers: dict[str, str]) -> dict[str, frozenset[str]]:
    """For each node, the source nodes (no inputs) its inputs come from, feedback left out."""
    by_name = {n.name: n for n in nodes}
    found: dict[str, frozenset[str]] = {}

    def sources(name: str, seen: frozenset[str]) -> frozenset[str]:
        if name in found:
            return found[name]
        node = by_name.get(name)
        if node is None or name in seen:  # unknown writer or a cycle: both reported elsewhere
            return frozenset()
        if not node.inputs:
            result = frozenset({name})
        else:
            result = frozenset().union(*(sources(writers[buf], seen | {name}) for buf in node.inputs if buf in writers))
        found[name] = result
        return result

    for node in nodes:
        sources(node.name, frozenset())
    return found


def _check_joins(col: ProblemCollector, nodes: list[tuple[int, NodeSpec]], writers: dict[str, str]) -> None:
    """A node whose inputs come from different sources would wait forever: it is refused.

    A join pairs the frames of its inputs that share a source and a frame id, so inputs with no
    source in common never pair: such a graph used to validate, process nothing and exit 0.
    """
    specs = [n for _, n in nodes]
    upstream = _upstream_sources(specs, writers)
    for idx, node in nodes:
        if len(node.inputs) < 2 or any(buf not in writers for buf in node.inputs):
            continue
        per_input = {buf: upstream.get(writers[buf], frozenset()) for buf in node.inputs}
        if not all(per_input.values()) or frozenset.intersection(*per_input.values()):
            continue
        described = ", ".join(f"{buf!r} from {', '.join(sorted(map(repr, srcs)))}" for buf, srcs in per_input.items())
        col.add(
            ("nodes", idx, "inputs"),
            node.name,
            "inputs",
            f"joins inputs from different sources ({described}): a join pairs frames of one source by "
            "frame id, so these would never pair and the node would process nothing. Give each source "
            "its own chain of nodes (one node serving several sources is not supported yet)",
        )


def check_wiring(
    col: ProblemCollector, nodes: list[tuple[int, NodeSpec]], spec_buffers: dict[str, Any]
) -> dict[str, str]:
    names = Counter(n.name for _, n in nodes)
    for idx, node in nodes:
        if names[node.name] > 1:
            col.add(("nodes", idx, "name"), node.name, "name", "duplicate node name")
    writers: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for idx, node in nodes:
        for buf in node.outputs:
            writers[buf].append((idx, node.name))
        for buf, count in Counter(node.inputs).items():
            if count > 1:
                col.add(("nodes", idx, "inputs"), node.name, "inputs", f"buffer {buf!r} listed twice")
    for buf, ws in writers.items():
        if len(ws) > 1:
            who = ", ".join(repr(name) for _, name in ws)
            for idx, name in ws:
                col.add(
                    ("nodes", idx, "outputs"),
                    name,
                    "outputs",
                    f"buffer {buf!r} is written by {len(ws)} nodes ({who}); a buffer has one writer",
                )
    read = set()
    for idx, node in nodes:
        for field in ("inputs", "feedback"):
            for buf in getattr(node, field):
                read.add(buf)
                if buf not in writers:
                    close = difflib.get_close_matches(buf, list(writers), n=1, cutoff=0.6)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    col.add(
                        ("nodes", idx, field), node.name, field, f"buffer {buf!r} is read but no node writes it{hint}"
                    )
        _check_feedback(col, idx, node)
    for buf in spec_buffers:
        if buf not in writers and buf not in read:
            col.add(("buffers", buf), "", f"buffers.{buf}", "buffer is configured but no node uses it")
    single = {buf: ws[0][1] for buf, ws in writers.items()}
    # Nodes sharing a name are left out: edges between names are ambiguous then, and would
    # make up cycles (two nodes 'c' in a row looked like "c -> c"); the duplicate is reported.
    unique = [n for _, n in nodes if names[n.name] == 1]
    for cycle in _find_cycles(unique, single):
        idx = next(i for i, n in nodes if n.name == cycle[0])
        loop = " -> ".join([*cycle, cycle[0]])
        col.add(("nodes", idx, "inputs"), cycle[0], "inputs", f"cycle: {loop} (graphs must be acyclic)")
    _check_joins(col, [(i, n) for i, n in nodes if names[n.name] == 1], single)
    return single
