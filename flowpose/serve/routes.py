"""What each route of the control API does, independent of HTTP.

A :class:`Route` names a method, a path template (written as in the OpenAPI document, e.g.
``/api/streams/{id}``) and a handler. Handlers take a :class:`Request` (path parameters and
the parsed JSON body) and return a :class:`Reply`; anything that cannot be done raises
:class:`flowpose.streams.StreamError` carrying the HTTP status.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flowpose.engine.stats import NodeSnapshot
from flowpose.streams import StreamControl, StreamError, StreamInfo, find_control, registered

MAX_ID_CHARS = 200
ADD_FIELDS = ("source", "id", "node")


@dataclass(frozen=True)
class Request:
    """One call of a route.

    Attributes:
        params: Path parameters, already percent-decoded (``{"id": "cam1"}``).
        body: The parsed JSON body, or None when there was none.
    """

    params: dict[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass(frozen=True)
class Reply:
    """What a handler answers: a status and a JSON-able body (None: no body, e.g. 204)."""

    status: int
    body: Any = None


@dataclass(frozen=True)
class Route:
    """One method + path of the API.

    Attributes:
        method: ``GET``, ``POST`` or ``DELETE``.
        path: The template, with ``{name}`` for one path segment.
        handler: Does the work.
        public: Answered without the token (health and the API description only).
    """

    method: str
    path: str
    handler: Callable[[Request], Reply]
    public: bool = False

    def match(self, path: str) -> dict[str, str] | None:
        """The (still percent-encoded) path parameters if ``path`` fits the template, else None."""
        found = _pattern(self.path).fullmatch(path)
        return None if found is None else found.groupdict()


@functools.cache
def _pattern(template: str) -> re.Pattern[str]:
    # Parameters match one raw segment; the server decodes them, so an id may hold any character.
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
    return re.compile(regex)


def stream_json(info: StreamInfo) -> dict[str, Any]:
    """A stream as the API shows it."""
    return dataclasses.asdict(info)


@dataclass
class GraphView:
    """What the API reads from the running graph.

    Attributes:
        name: The graph's name.
        snapshot: Current per-node figures, in graph order (``GraphRunner.snapshot``).
        stopping: Whether the graph is shutting down.
        started: When it started (``time.monotonic``).

    The streams are those of the multi-stream sources registered in this process
    (:mod:`flowpose.streams.registry`): sources running in a thread, the default.
    """

    name: str
    snapshot: Callable[[], list[NodeSnapshot]]
    stopping: Callable[[], bool]
    started: float = field(default_factory=time.monotonic)


class Api:
    """The handlers of the control API over one running graph."""

    def __init__(self, graph: GraphView) -> None:
        self.graph = graph
        self.routes: list[Route] = [
            Route("GET", "/api/health", self.health, public=True),
            Route("GET", "/api/openapi.json", self.openapi, public=True),
            Route("GET", "/api/streams", self.list_streams),
            Route("POST", "/api/streams", self.add_stream),
            Route("GET", "/api/streams/{id}", self.get_stream),
            Route("DELETE", "/api/streams/{id}", self.remove_stream),
            Route("POST", "/api/streams/{id}/pause", self.pause_stream),
            Route("POST", "/api/streams/{id}/resume", self.resume_stream),
            Route("GET", "/api/stats", self.stats),
        ]

    # -- reading ------------------------------------------------------------------------------

    def _streams(self) -> list[tuple[StreamControl, StreamInfo]]:
        return [(c, info) for _, c in sorted(registered().items()) for info in c.list_streams()]

    def _locate(self, stream_id: str) -> tuple[StreamControl, StreamInfo]:
        streams = self._streams()
        for control, info in streams:
            if info.id == stream_id:
                return control, info
        known = ", ".join(repr(info.id) for _, info in streams) or "none"
        raise StreamError(f"no stream {stream_id!r} (streams: {known})", 404)

    def _uptime(self) -> float:
        return round(time.monotonic() - self.graph.started, 3)

    def health(self, _req: Request) -> Reply:
        """Whether the graph runs; open to anyone, so it names nothing inside the graph."""
        status = "stopping" if self.graph.stopping() else "running"
        return Reply(200, {"status": status, "uptime_s": self._uptime(), "stream_sources": len(registered())})

    def openapi(self, _req: Request) -> Reply:
        """The OpenAPI 3.1 description of these routes."""
        from flowpose.serve.openapi import document

        return Reply(200, document())

    def list_streams(self, _req: Request) -> Reply:
        """Every stream of every multi-stream source."""
        return Reply(200, [stream_json(info) for _, info in self._streams()])

    def get_stream(self, req: Request) -> Reply:
        """One stream."""
        return Reply(200, stream_json(self._locate(req.params["id"])[1]))

    def stats(self, _req: Request) -> Reply:
        """Per-node figures of the runtime and per-stream figures of the sources."""
        nodes = None
        for _ in range(3):  # counters are read unlocked: a node adding a name mid-copy makes it retry
            try:
                nodes = [s.to_dict() for s in self.graph.snapshot()]
                break
            except RuntimeError:
                continue
        if nodes is None:
            raise StreamError("node figures changed while being read; ask again", 409)
        streams = [stream_json(info) for _, info in self._streams()]
        return Reply(200, {"graph": self.graph.name, "uptime_s": self._uptime(), "nodes": nodes, "streams": streams})

    # -- changing -----------------------------------------------------------------------------

    def add_stream(self, req: Request) -> Reply:
        """Open a new stream on the (named or only) multi-stream source; 201 with the stream."""
        body = req.body
        if not isinstance(body, dict):
            raise StreamError('the body must be a JSON object such as {"source": 0} or {"source": "synthetic"}')
        unknown = sorted(set(body) - set(ADD_FIELDS))
        if unknown:
            raise StreamError(f"unknown field(s) {', '.join(map(repr, unknown))}; expected {', '.join(ADD_FIELDS)}")
        if "source" not in body:
            raise StreamError('"source" is missing: a device index, a file, a URL, or "synthetic"')
        source = body["source"]
        if isinstance(source, bool) or not isinstance(source, int | str):
            raise StreamError(f'"source" must be a device number or a string, not {_json_type(source)}')
        if isinstance(source, str) and not source.strip():
            raise StreamError('"source" is empty')
        stream_id = _optional_text(body, "id")
        node = _optional_text(body, "node")
        info = find_control(node).add_stream(source, stream_id)
        return Reply(201, stream_json(info))

    def remove_stream(self, req: Request) -> Reply:
        """End a stream; its end travels downstream, the other streams go on."""
        control, info = self._locate(req.params["id"])
        control.remove_stream(info.id)
        return Reply(204)

    def pause_stream(self, req: Request) -> Reply:
        """Stop delivering a stream's frames without closing it."""
        control, info = self._locate(req.params["id"])
        return Reply(200, stream_json(control.pause_stream(info.id, True)))

    def resume_stream(self, req: Request) -> Reply:
        """Deliver a paused stream's frames again."""
        control, info = self._locate(req.params["id"])
        return Reply(200, stream_json(control.pause_stream(info.id, False)))


def _optional_text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise StreamError(f'"{key}" must be a non-empty string, not {_json_type(value)}')
    if len(value) > MAX_ID_CHARS:
        raise StreamError(f'"{key}" is longer than {MAX_ID_CHARS} characters')
    return value


def _json_type(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list", dict: "an object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
