"""``flowpose serve``: a real subprocess, real HTTP calls, a real multi-stream source in a real graph."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # test_serve_support, as the subprocess imports it

from test_serve_support import Served, env_with_support, serving, start_serve, wait_for, wait_ready


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("serve"), signal.SIGTERM) as server:
        yield server


def test_a_stream_added_while_running_is_counted_and_a_removed_one_stops(served: Served) -> None:
    reply = served.call("POST", "/api/streams", {"source": "cam-x", "id": "b"})
    assert reply.status == 201, reply
    assert reply.body["id"] == "b" and reply.body["node"] == "cams" and reply.body["source"] == "cam-x"
    wait_for("frames of b at the sink", lambda: served.counter("count", "seen_b") > 5, served)
    assert served.stream_frames("b") > 5
    assert {s["id"] for s in served.call("GET", "/api/streams").body} >= {"a", "b"}

    assert served.call("DELETE", "/api/streams/b").status == 204
    assert "b" not in {s["id"] for s in served.call("GET", "/api/streams").body}
    wait_for("the end of b at the sink", lambda: served.counter("count", "ended_b") == 1, served)
    seen_b, seen_a = served.counter("count", "seen_b"), served.counter("count", "seen_a")
    wait_for("more frames of a", lambda: served.counter("count", "seen_a") > seen_a + 10, served)
    assert served.counter("count", "seen_b") == seen_b  # b's end came after its last frame
    nodes = served.stats()["nodes"]
    assert [n["restarts"] for n in nodes] == [0, 0, 0]  # nothing restarted to change the streams
    assert served.call("GET", "/api/streams/b").status == 404


def test_a_paused_stream_delivers_nothing_until_resumed(served: Served) -> None:
    assert served.call("POST", "/api/streams", {"source": 1, "id": "p"}).status == 201
    wait_for("frames of p", lambda: (served.stream_frames("p") or 0) > 2, served)
    paused = served.call("POST", "/api/streams/p/pause")
    assert paused.status == 200 and paused.body["state"] == "paused"
    frozen = paused.body["frames"]
    seen_a = served.counter("count", "seen_a")
    wait_for("more frames of a", lambda: served.counter("count", "seen_a") > seen_a + 10, served)
    assert served.stream_frames("p") == frozen
    resumed = served.call("POST", "/api/streams/p/resume")
    assert resumed.status == 200 and resumed.body["state"] == "running"
    wait_for("frames of p again", lambda: (served.stream_frames("p") or 0) > frozen, served)
    assert served.call("DELETE", "/api/streams/p").status == 204


def test_stats_name_every_node_and_stream(served: Served) -> None:
    stats = served.stats()
    assert stats["graph"] == "served"
    assert [n["name"] for n in stats["nodes"]] == ["cams", "relay", "count"]
    relay = stats["nodes"][1]
    assert relay["frames"] > 0 and relay["proc_ms_p50"] is not None and relay["drops"] == 0
    assert stats["streams"][0]["id"] == "a" and stats["streams"][0]["frames"] > 0


@pytest.mark.parametrize(
    ("path", "token"),
    [("/api/streams", False), ("/api/stats", False), ("/api/streams", "wrong"), ("/api/stats", "Bearer")],
)
def test_the_token_is_needed(served: Served, path: str, token: object) -> None:
    reply = served.call("GET", path, token=token)  # type: ignore[arg-type]
    assert reply.status == 401
    assert "token" in reply.body["error"]
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")


def test_health_and_the_description_need_no_token(served: Served) -> None:
    health = served.call("GET", "/api/health", token=False)
    assert health.status == 200 and health.body["status"] == "running" and health.body["stream_sources"] == 1
    doc = served.call("GET", "/api/openapi.json", token=False)
    assert doc.status == 200 and doc.body["openapi"].startswith("3.1")


def test_a_token_given_in_the_environment_is_used_and_not_printed(tmp_path: Path) -> None:
    import os

    env = {**env_with_support(dict(os.environ)), "FLOWPOSE_TOKEN": "s3cret-from-env"}
    server = start_serve(tmp_path, env, expect_token=False)
    try:
        wait_ready(server)
        assert server.call("GET", "/api/streams", token="s3cret-from-env").status == 200
        assert server.call("GET", "/api/streams", token="s3cret-from-en").status == 401
    finally:
        assert server.stop(signal.SIGINT) == 130
    assert "s3cret" not in server.stderr()
