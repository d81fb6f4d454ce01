"""The JSON schema of graph files (``flowpose schema``), for editors and CI linting.

The base schema comes from the pydantic models in :mod:`flowpose.graph.spec`; each known node
type adds an ``if type == X then params must match X.Params`` clause, so editors check
params as well as structure.
"""

from __future__ import annotations

import logging
from typing import Any

from flowpose.graph.registry import NodeTypeError, available_types, resolve
from flowpose.graph.spec import GraphSpec

log = logging.getLogger(__name__)

SCHEMA_ID = "https://flowpose.dev/schema/graph.json"


def graph_schema(with_node_params: bool = True) -> dict[str, Any]:
    """The graph-file JSON schema (draft 2020-12)."""
    schema = GraphSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    if not with_node_params:
        return schema
    clauses = []
    defs = schema.setdefault("$defs", {})
    for name in available_types():
        try:
            cls = resolve(name)
        except NodeTypeError as exc:
            log.warning("skipping %s in the schema: %s", name, exc)
            continue
        params = cls.Params.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(params.pop("$defs", {}))
        params["additionalProperties"] = False
        defs[f"params_{name}"] = params
        clauses.append(
            {
                "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                "then": {"properties": {"params": {"$ref": f"#/$defs/params_{name}"}}},
            }
        )
    node_def = defs["NodeSpec"]
    node_def["allOf"] = clauses
    node_def["properties"]["type"]["examples"] = sorted(available_types())
    return schema
