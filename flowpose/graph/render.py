"""Drawing a graph as Mermaid or Graphviz DOT text (``flowpose graph``)."""

from __future__ import annotations

import re

from flowpose.graph.spec import GraphSpec


def _ident(name: str) -> str:
    return re.sub(r"\W", "_", name)


def _edges(spec: GraphSpec, feedback: bool = False) -> list[tuple[str, str, str]]:
    writers = {buf: n.name for n in spec.nodes for buf in n.outputs}
    return [
        (writers[buf], node.name, buf)
        for node in spec.nodes
        for buf in (node.feedback if feedback else node.inputs)
        if buf in writers
    ]


def _label(spec: GraphSpec, name: str) -> str:
    node = spec.node(name)
    runner = node.runner or spec.defaults.runner
    return f"{name}\\n{node.type}" + ("" if runner == "thread" else f" [{runner}]")


def to_mermaid(spec: GraphSpec, policies: dict[str, str] | None = None) -> str:
    """Mermaid flowchart text; buffers label the edges (with their policy when given)."""
    lines = ["flowchart LR"]
    for node in spec.nodes:
        label = _label(spec, node.name).replace("\\n", "<br/>")
        shape = ('(["', '"])') if not node.inputs else (('[/"', '"/]') if not node.outputs else ('["', '"]'))
        lines.append(f"    {_ident(node.name)}{shape[0]}{label}{shape[1]}")
    for src, dst, buf in _edges(spec):
        text = f"{buf} ({policies[buf]})" if policies and buf in policies else buf
        lines.append(f"    {_ident(src)} -- {text} --> {_ident(dst)}")
    for src, dst, buf in _edges(spec, feedback=True):  # dotted: read without waiting
        lines.append(f"    {_ident(src)} -. {buf} (feedback) .-> {_ident(dst)}")
    return "\n".join(lines) + "\n"


def to_dot(spec: GraphSpec, policies: dict[str, str] | None = None) -> str:
    """Graphviz DOT text; sources are ellipses, sinks are notes."""
    lines = [f'digraph "{spec.name}" {{', "    rankdir=LR;", '    node [shape=box, fontname="Helvetica"];']
    for node in spec.nodes:
        shape = "ellipse" if not node.inputs else ("note" if not node.outputs else "box")
        lines.append(f'    {_ident(node.name)} [label="{_label(spec, node.name)}", shape={shape}];')
    for src, dst, buf in _edges(spec):
        text = f"{buf} ({policies[buf]})" if policies and buf in policies else buf
        lines.append(f'    {_ident(src)} -> {_ident(dst)} [label="{text}"];')
    for src, dst, buf in _edges(spec, feedback=True):
        lines.append(f'    {_ident(src)} -> {_ident(dst)} [label="{buf} (feedback)", style=dashed, constraint=false];')
    lines.append("}")
    return "\n".join(lines) + "\n"
