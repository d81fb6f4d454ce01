"""The OpenAPI 3.1 description of the control API, written by hand to read well.

A test checks that every route of :class:`flowpose.serve.routes.Api` is described here and
nothing else is.
"""

from __future__ import annotations

import copy
from typing import Any

from flowpose import __version__


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


_UNAUTHORIZED = {"401": _error("Missing or wrong token (`Authorization: Bearer TOKEN`).")}
_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The stream id (`Frame.source` of its frames), percent-encoded.",
    "schema": {"type": "string"},
}
_NOT_FOUND = {"404": _error("No stream with this id.")}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string", "description": "What went wrong, in one line."}},
    },
    "Health": {
        "type": "object",
        "required": ["status", "uptime_s", "stream_sources"],
        "properties": {
            "status": {"enum": ["running", "stopping"]},
            "uptime_s": {"type": "number"},
            "stream_sources": {"type": "integer", "description": "Multi-stream source nodes running now."},
        },
    },
    "Stream": {
        "type": "object",
        "required": ["id", "source", "node", "state", "frames", "fps", "live", "extra"],
        "properties": {
            "id": {"type": "string", "description": "`Frame.source` of the stream's frames."},
            "source": {"type": "string", "description": "What it reads, as given."},
            "node": {"type": "string", "description": "The source node that holds it."},
            "state": {"enum": ["starting", "running", "paused", "reconnecting", "ended"]},
            "frames": {"type": "integer", "description": "Frames delivered so far."},
            "fps": {"type": "number", "description": "Frames per second over the last few seconds."},
            "live": {"type": "boolean", "description": "A live source (newest frame only) rather than a file."},
            "extra": {"type": "object", "description": "Whatever else the node reports (reconnects, errors)."},
        },
    },
    "NewStream": {
        "type": "object",
        "required": ["source"],
        "additionalProperties": False,
        "properties": {
            "source": {
                "type": ["integer", "string"],
                "description": 'Anything the source node accepts: a device index, a file, a URL, or "synthetic".',
            },
            "id": {"type": "string", "description": "The new stream's id; the node picks one when left out."},
            "node": {"type": "string", "description": "The source node, when the graph has several."},
        },
    },
    "NodeStats": {
        "type": "object",
        "description": "One node's figures from the runtime; times in milliseconds, null until measured.",
        "properties": {
            "name": {"type": "string"},
            "type": {"type": "string"},
            "runner": {"type": "string"},
            "frames": {"type": "integer"},
            "fps": {"type": "number"},
            "proc_ms_p50": {"type": ["number", "null"]},
            "proc_ms_p95": {"type": ["number", "null"]},
            "queue_depth": {"type": "integer"},
            "drops": {"type": "integer"},
            "restarts": {"type": "integer"},
            "latency_ms_p50": {"type": ["number", "null"], "description": "Capture to sink (sinks only)."},
            "latency_ms_p95": {"type": ["number", "null"]},
            "bad_messages": {"type": "integer"},
            "counters": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
    },
    "Stats": {
        "type": "object",
        "required": ["graph", "uptime_s", "nodes", "streams"],
        "properties": {
            "graph": {"type": "string"},
            "uptime_s": {"type": "number"},
            "nodes": {"type": "array", "items": _ref("NodeStats")},
            "streams": {"type": "array", "items": _ref("Stream")},
        },
    },
}

_PATHS: dict[str, Any] = {
    "/api/health": {
        "get": {
            "summary": "Whether the graph runs (no token needed).",
            "security": [],
            "responses": {"200": _json(_ref("Health"), "The graph's state.")},
        }
    },
    "/api/openapi.json": {
        "get": {
            "summary": "This document (no token needed).",
            "security": [],
            "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1.")},
        }
    },
    "/api/streams": {
        "get": {
            "summary": "Every stream of the graph's multi-stream sources.",
            "responses": {"200": _json({"type": "array", "items": _ref("Stream")}, "The streams."), **_UNAUTHORIZED},
        },
        "post": {
            "summary": "Open a new stream; the models keep running.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("NewStream")}}},
            "responses": {
                "201": _json(_ref("Stream"), "The new stream (its `id` names it from now on)."),
                "400": _error("A bad body, or a source that cannot be opened."),
                **_UNAUTHORIZED,
                "404": _error("The graph has no multi-stream source (by that `node` name)."),
                "409": _error("The id is taken, or several sources run and `node` is missing."),
                "413": _error("The body is over 64 KiB."),
            },
        },
    },
    "/api/streams/{id}": {
        "parameters": [_ID],
        "get": {
            "summary": "One stream.",
            "responses": {"200": _json(_ref("Stream"), "The stream."), **_UNAUTHORIZED, **_NOT_FOUND},
        },
        "delete": {
            "summary": "End a stream; its end travels downstream, the other streams go on.",
            "responses": {"204": {"description": "Removed."}, **_UNAUTHORIZED, **_NOT_FOUND},
        },
    },
    "/api/streams/{id}/pause": {
        "parameters": [_ID],
        "post": {
            "summary": "Stop delivering the stream's frames without closing it.",
            "responses": {"200": _json(_ref("Stream"), "The paused stream."), **_UNAUTHORIZED, **_NOT_FOUND},
        },
    },
    "/api/streams/{id}/resume": {
        "parameters": [_ID],
        "post": {
            "summary": "Deliver a paused stream's frames again.",
            "responses": {"200": _json(_ref("Stream"), "The stream."), **_UNAUTHORIZED, **_NOT_FOUND},
        },
    },
    "/api/stats": {
        "get": {
            "summary": "Per-node figures of the runtime and per-stream figures of the sources.",
            "responses": {"200": _json(_ref("Stats"), "The figures now."), **_UNAUTHORIZED},
        }
    },
}


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``flowpose serve`` (a fresh copy: callers may change it)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "flowpose serve",
            "version": __version__,
            "description": "Control a running flowpose graph: its streams and its figures. "
            "Every route but health and this document needs `Authorization: Bearer TOKEN`.",
        },
        "security": [{"bearer": []}],
        "paths": copy.deepcopy(_PATHS),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": copy.deepcopy(_SCHEMAS),
        },
    }
