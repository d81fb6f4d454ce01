"""``flowpose streams ...`` against a real ``flowpose serve`` subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # test_serve_support, as the subprocess imports it

from test_serve_support import FLOWPOSE, Served, free_port, serving, wait_for


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("serve"), signal.SIGINT) as server:
        yield server


def streams(
    *args: str, url: str, token: str | None = None, env_token: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``flowpose streams ARGS --url URL`` (``--token`` when given; ``FLOWPOSE_TOKEN`` from ``env_token``)."""
    env = {k: v for k, v in os.environ.items() if k not in ("FLOWPOSE_TOKEN", "FLOWPOSE_URL")}
    if env_token is not None:
        env["FLOWPOSE_TOKEN"] = env_token
    extra = ["--url", url, *(["--token", token] if token is not None else [])]
    return subprocess.run([*FLOWPOSE, "streams", *args, *extra], capture_output=True, text=True, env=env, timeout=60)


def test_add_list_pause_resume_remove(served: Served) -> None:
    url, token = served.url, served.token
    added = streams("add", "rtsp://cam.example/live", "--id", "yard", url=url, token=token)
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "added stream yard (rtsp://cam.example/live, node cams)"
    wait_for("frames of yard", lambda: (served.stream_frames("yard") or 0) > 0, served)

    listed = streams("ls", url=url, env_token=token)  # the token from the environment
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["id", "node", "state", "frames", "fps", "live", "source"]
    by_id = {row.split()[0]: row.split() for row in rows}
    assert by_id["yard"][1:3] == ["cams", "running"] and by_id["yard"][-1] == "rtsp://cam.example/live"
    assert "a" in by_id

    paused = streams("pause", "yard", url=url, token=token)
    assert (paused.returncode, paused.stdout.strip()) == (0, "stream yard: paused")
    assert {s["id"]: s["state"] for s in served.call("GET", "/api/streams").body}["yard"] == "paused"
    resumed = streams("resume", "yard", url=url, token=token)
    assert (resumed.returncode, resumed.stdout.strip()) == (0, "stream yard: running")

    removed = streams("rm", "yard", url=url, token=token)
    assert (removed.returncode, removed.stdout.strip()) == (0, "removed stream yard")
    assert "yard" not in {s["id"] for s in served.call("GET", "/api/streams").body}
    again = streams("rm", "yard", url=url, token=token)
    assert again.returncode == 1
    assert again.stderr.startswith("flowpose streams: 404 no stream 'yard'") and again.stderr.count("\n") == 1


def test_a_device_index_is_sent_as_a_number(served: Served) -> None:
    added = streams("add", "2", url=served.url, token=served.token)
    assert added.returncode == 0, added.stderr
    stream_id = added.stdout.split()[2]
    info = served.call("GET", f"/api/streams/{stream_id}").body
    assert info["source"] == "2"  # the node got 2 and shows it as text
    assert streams("rm", stream_id, url=served.url, token=served.token).returncode == 0


def test_ls_json_is_what_the_server_sent(served: Served) -> None:
    import json

    listed = streams("ls", "--json", url=served.url, token=served.token)
    assert listed.returncode == 0
    assert [s["id"] for s in json.loads(listed.stdout)] == [s["id"] for s in served.call("GET", "/api/streams").body]


@pytest.mark.parametrize("token", [None, "wrong"])
def test_a_missing_or_wrong_token_is_one_line_and_exit_1(served: Served, token: str | None) -> None:
    res = streams("ls", url=served.url, token=token)
    assert res.returncode == 1
    assert res.stderr.startswith("flowpose streams: 401 missing or wrong token")
    assert "(pass --token or set FLOWPOSE_TOKEN)" in res.stderr and res.stderr.count("\n") == 1


def test_no_server_is_one_line_and_exit_1() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    res = streams("ls", url=url, token="t")
    assert res.returncode == 1
    assert res.stderr == f"flowpose streams: no flowpose serve at {url}: connection refused\n"


def test_a_source_that_cannot_open_is_reported(served: Served) -> None:
    res = streams("add", "broken", url=served.url, token=served.token)
    assert res.returncode == 1
    assert res.stderr == "flowpose streams: 400 cannot open 'broken': no such camera\n"
