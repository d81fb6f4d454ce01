"""``flowpose nodes`` and ``flowpose schema``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from flowpose.graph.describe import describe, one_line
from flowpose.graph.registry import NodeTypeError, available_types, resolve


def _nodes(type_name: str | None) -> int:
    if type_name:
        try:
            cls = resolve(type_name)
        except NodeTypeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(describe(cls, type_name))
        return 0
    types = available_types()
    for name, info in types.items():
        try:
            line = one_line(resolve(name), name)
        except NodeTypeError as exc:
            line = f"{name} - failed to load: {exc}"
        origin = "" if info.distribution == "flowpose" else f"   [plugin: {info.distribution}]"
        print(line + origin)
    print(f"\n{len(types)} node types; 'flowpose nodes TYPE' shows one in full (* = required param).")
    return 0


def dispatch(args: argparse.Namespace) -> int:
    """Run ``nodes`` or ``schema``."""
    if args.command == "nodes":
        return _nodes(args.type)
    from flowpose.graph.schema import graph_schema

    text = json.dumps(graph_schema(), indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0
