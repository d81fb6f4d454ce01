"""Describing node types for people and editors: params tables and JSON schema pieces."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from pydantic_core import PydanticUndefined

from flowpose.node import Node


@dataclass(frozen=True)
class ParamInfo:
    """One declared parameter of a node type."""

    name: str
    type: str
    default: str
    required: bool
    description: str


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def params_of(cls: type[Node]) -> list[ParamInfo]:
    """The declared params of ``cls`` in declaration order."""
    out = []
    for name, field in cls.Params.model_fields.items():
        required = field.is_required()
        default = "" if required or field.default is PydanticUndefined else repr(field.default)
        if field.default_factory is not None:
            default = repr(field.default_factory())  # type: ignore[call-arg]
        out.append(ParamInfo(name, _type_name(field.annotation), default, required, field.description or ""))
    return out


def describe(cls: type[Node], type_name: str) -> str:
    """A full, human-readable description of a node type."""
    kind = "source" if cls.is_source() else ("node" if cls.num_inputs is None else f"{cls.num_inputs}-input node")
    lines = [f"{type_name} ({cls.__module__}:{cls.__qualname__}) - {kind}", ""]
    doc = inspect.cleandoc(cls.__doc__ or "(no documentation)")
    lines += [doc, "", "params:"]
    params = params_of(cls)
    if not params:
        lines.append("  (none)")
    for p in params:
        default = "required" if p.required else f"default {p.default}"
        lines.append(f"  {p.name}: {p.type} ({default})")
        if p.description:
            lines.append(f"      {p.description}")
    return "\n".join(lines)


def one_line(cls: type[Node], type_name: str) -> str:
    """``Type(param, ...) - summary`` for listings."""
    names = ", ".join(p.name + ("" if not p.required else "*") for p in params_of(cls))
    return f"{type_name}({names}) - {cls.summary()}"
