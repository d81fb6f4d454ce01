"""``flowpose serve`` refuses bad requests with a status and a one-line JSON error, never a traceback."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # test_serve_support, as the subprocess imports it

from test_serve_support import FLOWPOSE, Served, env_with_support, serving, start_serve, wait_for

from flowpose.serve.server import MAX_BODY


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("serve"), signal.SIGINT) as server:
        yield server


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"{not json", 400, "not JSON"),
        (b"[" * 30_000 + b"]" * 30_000, 400, "nested too deeply"),
        (b"\xff\xfe", 400, "not UTF-8"),
        (b'["a"]', 400, "JSON object"),
        (b"{}", 400, '"source" is missing'),
        (b'{"source": "x", "colour": 1}', 400, "unknown field(s) 'colour'"),
        (b'{"source": true}', 400, "not a boolean"),
        (b'{"source": ["x"]}', 400, "not a list"),
        (b'{"source": {"url": "x"}}', 400, "not an object"),
        (b'{"source": "  "}', 400, "empty"),
        (b'{"source": "x", "id": 3}', 400, '"id" must be a non-empty string'),
        (b'{"source": "broken"}', 400, "cannot open 'broken'"),
        (b'{"source": "x", "id": "a"}', 409, "stream 'a' exists"),
        (b'{"source": "x", "node": "nope"}', 404, "no running multi-stream source node 'nope'"),
    ],
)
def test_bad_stream_requests(served: Served, body: bytes, status: int, words: str) -> None:
    reply = served.call("POST", "/api/streams", raw=body, headers={"Content-Type": "application/json"})
    assert reply.status == status, reply
    assert words in reply.body["error"]
    assert "\n" not in reply.body["error"]


def test_a_body_over_the_cap_is_refused_unread(served: Served) -> None:
    reply = served.call("POST", "/api/streams", raw=b" " * (MAX_BODY + 1))
    assert reply.status == 413
    assert str(MAX_BODY) in reply.body["error"]


def test_a_lying_content_length_is_refused(served: Served) -> None:
    host, port = urlsplit(served.url).hostname, urlsplit(served.url).port
    with socket.create_connection((host, port), timeout=10) as sock:
        request = f"POST /api/streams HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {served.token}\r\n"
        sock.sendall(f"{request}Content-Length: lots\r\n\r\n".encode())
        answer = sock.makefile("rb").read().decode()
    assert answer.startswith("HTTP/1.0 400"), answer
    assert "Content-Length is not a number" in answer


def _raw_exchange(served: Served, request: bytes) -> str:
    """Send ``request`` as it is on a fresh connection and return the whole answer."""
    url = urlsplit(served.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request)
        return sock.makefile("rb").read().decode()


def test_errors_http_server_finds_itself_are_json_too(served: Served) -> None:
    answer = _raw_exchange(served, b"GET /api/health HTTP/1.1\r\nX-Long: " + b"x" * 70_000 + b"\r\n\r\n")
    head, _, body = answer.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.0 431"), answer[:200]
    assert "Content-Type: application/json" in head
    assert "Line too long" in json.loads(body)["error"]


def test_a_short_body_is_refused(served: Served) -> None:
    head = f"POST /api/streams HTTP/1.0\r\nAuthorization: Bearer {served.token}\r\nContent-Length: 50\r\n\r\n"
    url = urlsplit(served.url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(head.encode() + b'{"source": 1}')
        sock.shutdown(socket.SHUT_WR)  # the rest never comes
        answer = sock.makefile("rb").read().decode()
    assert answer.startswith("HTTP/1.0 400") and "ended after 13 of 50 bytes" in answer, answer


@pytest.mark.parametrize(
    ("method", "path", "status", "words"),
    [
        ("DELETE", "/api/streams/nope", 404, "no stream 'nope'"),
        ("POST", "/api/streams/nope/pause", 404, "no stream 'nope'"),
        ("GET", "/api/streams/a%2Fb", 404, "no stream 'a/b'"),
        ("GET", "/api/cameras", 404, "no route /api/cameras"),
        ("PUT", "/api/streams", 405, "use GET, POST"),
        ("DELETE", "/api/stats", 405, "use GET"),
        ("OPTIONS", "/api/streams", 405, "use GET, POST"),
    ],
)
def test_unknown_streams_and_routes(served: Served, method: str, path: str, status: int, words: str) -> None:
    reply = served.call(method, path)
    assert reply.status == status, reply
    assert words in reply.body["error"]


def test_a_busy_port_is_one_line_and_exit_2(served: Served, tmp_path: Path) -> None:
    import subprocess

    graph = tmp_path / "g.yaml"
    graph.write_text(
        "nodes:\n  - {name: cam, type: TestPattern, outputs: [f]}\n  - {name: s, type: NullSink, inputs: [f]}\n"
    )
    port = str(urlsplit(served.url).port)
    res = subprocess.run([*FLOWPOSE, "serve", str(graph), "--port", port], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert f"flowpose serve: cannot listen on 127.0.0.1:{port}: Address already in use" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [(["--token", ""], "--token is empty"), (["--token", "a b"], "spaces"), (["--port", "70000"], "not a port")],
)
def test_bad_options_are_one_line_and_exit_2(tmp_path: Path, args: list[str], words: str) -> None:
    import subprocess

    graph = tmp_path / "g.yaml"
    graph.write_text(
        "nodes:\n  - {name: cam, type: TestPattern, outputs: [f]}\n  - {name: s, type: NullSink, inputs: [f]}\n"
    )
    res = subprocess.run([*FLOWPOSE, "serve", str(graph), *args], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert words in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_a_graph_without_a_stream_source_lists_none_and_says_why_it_cannot_add(tmp_path: Path) -> None:
    graph = """\
    name: plain
    nodes:
      - {name: cam, type: TestPattern, outputs: [f], params: {width: 32, height: 32, fps: 50}}
      - {name: sink, type: NullSink, inputs: [f]}
    """
    server = start_serve(tmp_path, env_with_support(dict(os.environ)), graph=graph)
    try:
        wait_for("frames at the sink", lambda: server.stats()["nodes"][1]["frames"] > 0, server)
        assert server.call("GET", "/api/streams").body == []
        reply = server.call("POST", "/api/streams", {"source": 0})
        assert reply.status == 404
        assert "no multi-stream source is running in this graph" in reply.body["error"]
        assert server.call("GET", "/api/health").body["stream_sources"] == 0
    finally:
        assert server.stop(signal.SIGINT) == 130
