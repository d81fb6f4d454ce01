"""The OpenAPI document of ``flowpose serve`` describes exactly its routes, and its replies fit it."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

sys.path.insert(0, str(Path(__file__).resolve().parent))  # test_serve_support, as the subprocess imports it

from test_serve_support import Served, serving

from flowpose.serve.openapi import document
from flowpose.serve.routes import Api, GraphView

DOC = document()


def _operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): op
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method != "parameters"
    }


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref":
                yield item
            else:
                yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def test_every_route_is_described_and_nothing_else() -> None:
    routes = {(r.method, r.path): r for r in Api(GraphView("g", list, lambda: False)).routes}
    described = _operations(DOC)
    assert set(routes) == set(described), set(routes) ^ set(described)
    for key, route in routes.items():
        # Public routes say so (security: []); the others inherit the bearer requirement.
        assert (described[key].get("security") == []) == route.public, key
        if not route.public:
            assert "401" in described[key]["responses"], key


def test_path_parameters_match_the_templates() -> None:
    for path, item in DOC["paths"].items():
        named = {p["name"] for p in item.get("parameters", [])}
        assert named == {seg[1:-1] for seg in path.split("/") if seg.startswith("{")}, path


def test_the_document_is_well_formed() -> None:
    assert DOC["openapi"] == "3.1.0"
    schemas = DOC["components"]["schemas"]
    for ref in _refs(DOC):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    for schema in schemas.values():
        Draft202012Validator.check_schema(schema)  # raises, naming what is wrong


def _check(reply_body: Any, method: str, path: str, status: int) -> None:
    """``reply_body`` fits the schema the document gives for ``status`` of ``method path``."""
    response = _operations(DOC)[(method, path)]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    Draft202012Validator({**schema, "components": DOC["components"]}).validate(reply_body)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("serve"), signal.SIGTERM) as server:
        yield server


def test_the_served_document_is_this_one(served: Served) -> None:
    assert served.call("GET", "/api/openapi.json", token=False).body == DOC


def test_replies_fit_the_document(served: Served) -> None:
    calls = [
        ("GET", "/api/health", "/api/health", None, 200),
        ("GET", "/api/streams", "/api/streams", None, 200),
        ("POST", "/api/streams", "/api/streams", {"source": "x", "id": "doc"}, 201),
        ("GET", "/api/streams/doc", "/api/streams/{id}", None, 200),
        ("POST", "/api/streams/doc/pause", "/api/streams/{id}/pause", None, 200),
        ("POST", "/api/streams/doc/resume", "/api/streams/{id}/resume", None, 200),
        ("GET", "/api/stats", "/api/stats", None, 200),
        ("POST", "/api/streams", "/api/streams", {"source": "x", "id": "doc"}, 409),
        ("POST", "/api/streams", "/api/streams", {"sauce": "x"}, 400),
        ("DELETE", "/api/streams/doc", "/api/streams/{id}", None, 204),
        ("DELETE", "/api/streams/doc", "/api/streams/{id}", None, 404),
    ]
    for method, path, template, body, status in calls:
        reply = served.call(method, path, body)
        assert reply.status == status, (method, path, reply)
        if status == 204:
            assert reply.body is None
            assert status in {int(s) for s in _operations(DOC)[(method, template)]["responses"]}
        else:
            _check(reply.body, method, template, status)
    unauthorised = served.call("GET", "/api/stats", token=False)
    _check(unauthorised.body, "GET", "/api/stats", 401)
