"""Real nodes and a real ``flowpose serve`` subprocess for the serve tests (no tests here).

``ManyStreams`` is a small multi-stream source implementing ``StreamControl``; ``CountStreams``
counts, per stream, the frames and stream ends that reach it in its node counters, which
``GET /api/stats`` shows. Graphs load them as ``test_serve_support:ClassName``: the
subprocess gets this folder on its PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from flowpose.frame import EndOfStream, Frame
from flowpose.node import Node, NodeParams, Source
from flowpose.streams import StreamError, StreamInfo, register, unregister

HERE = Path(__file__).resolve().parent
FLOWPOSE = [sys.executable, "-m", "flowpose.cli.main"]


class ManyStreams(Source):
    """Tiny frames for each of its streams in turn, paced; streams are added and removed while it runs."""

    class Params(NodeParams):
        streams: list[str] = ["a"]
        fps: float = 50.0

    def setup(self) -> None:
        self._lock = threading.Lock()
        self._streams: dict[str, StreamInfo] = {}
        self._ended: list[str] = []
        self._added = 0
        self._image = np.zeros((8, 8, 3), np.uint8)
        for name in self.params.streams:
            self.add_stream(name, name)
        register(self)

    def close(self) -> None:
        unregister(self)

    def list_streams(self) -> list[StreamInfo]:
        with self._lock:
            return [replace(info) for info in self._streams.values()]

    def add_stream(self, source: Any, stream_id: str | None = None) -> StreamInfo:
        if source == "broken":
            raise StreamError("cannot open 'broken': no such camera", 400)
        with self._lock:
            self._added += 1
            stream_id = stream_id or f"s{self._added}"
            if stream_id in self._streams:
                raise StreamError(f"stream {stream_id!r} exists", 409)
            info = StreamInfo(stream_id, str(source), self.name, "running", fps=self.params.fps)
            self._streams[stream_id] = info
            return replace(info)

    def remove_stream(self, stream_id: str) -> None:
        with self._lock:
            if self._streams.pop(stream_id, None) is None:
                raise StreamError(f"no stream {stream_id!r}", 404)
            self._ended.append(stream_id)

    def pause_stream(self, stream_id: str, paused: bool) -> StreamInfo:
        with self._lock:
            info = self._streams.get(stream_id)
            if info is None:
                raise StreamError(f"no stream {stream_id!r}", 404)
            info.state = "paused" if paused else "running"
            return replace(info)

    def frames(self) -> Iterator[Frame]:
        period = 1.0 / self.params.fps
        while True:
            with self._lock:
                ended, self._ended = self._ended, []
                running = [info for info in self._streams.values() if info.state == "running"]
                for info in running:  # counted under the lock: a pause reply's count is final
                    info.frames += 1
            for stream in ended:
                yield EndOfStream(self.name, stream)  # type: ignore[misc]  # one stream ended
            for info in running:
                yield self.make_frame(self._image, source=info.id)
            if not self.pause(period):
                return


class CountStreams(Node):
    """Sink: counts ``seen_<stream>`` frames and ``ended_<stream>`` stream ends in its counters."""

    def process(self, frame: Frame) -> None:
        self.counters[f"seen_{frame.source}"] += 1

    def end_stream(self, stream: str) -> None:
        self.counters[f"ended_{stream}"] += 1


GRAPH = """\
name: served
nodes:
  - {name: cams, type: 'test_serve_support:ManyStreams', outputs: [frames], params: {streams: [a]}}
  - {name: relay, type: PassThrough, inputs: [frames], outputs: [out]}
  - {name: count, type: 'test_serve_support:CountStreams', inputs: [out]}
buffers:
  frames: {policy: lossless, size: 64}
  out: {policy: lossless, size: 64}
"""


def env_with_support(base: dict[str, str]) -> dict[str, str]:
    """``base`` with this folder importable (for the node types above)."""
    env = dict(base)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH", "")]))
    env.pop("FLOWPOSE_TOKEN", None)
    return env


@dataclass
class Reply:
    """An HTTP answer: status, headers and the parsed JSON body (None when empty)."""

    status: int
    headers: dict[str, str]
    body: Any


class Served:
    """A running ``flowpose serve`` subprocess: its URL, its token, and HTTP calls to it."""

    def __init__(self, proc: subprocess.Popen[str], url: str, token: str | None, stderr: Path) -> None:
        self.proc, self.url, self.token, self.stderr_path = proc, url, token, stderr

    def call(
        self, method: str, path: str, body: Any = None, token: str | bool | None = True, raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:  # fmt: skip
        """``method`` on ``path`` with the server's token (``token=False``: none; a string: that one)."""
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        bearer = self.token if token is True else (token or None)
        if bearer:
            request.add_header("Authorization", f"Bearer {bearer}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, head, text = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            status, head, text = exc.code, dict(exc.headers), exc.read()
        return Reply(status, head, json.loads(text) if text.strip() else None)

    def stats(self) -> dict[str, Any]:
        reply = self.call("GET", "/api/stats")
        assert reply.status == 200, reply
        return reply.body

    def counter(self, node: str, name: str) -> int:
        """A node's counter from ``GET /api/stats`` (0 when not counted yet)."""
        nodes = {n["name"]: n for n in self.stats()["nodes"]}
        return int(nodes[node]["counters"].get(name, 0))

    def stream_frames(self, stream: str) -> int | None:
        """Frames the source delivered for ``stream``, None when it is not listed."""
        return next((s["frames"] for s in self.stats()["streams"] if s["id"] == stream), None)

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGINT) -> int:
        """Send ``sig`` and return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


def stdout_lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    """``proc``'s stdout lines as they come ("" once it closed), read by a thread."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    return lines


def next_line(lines: queue.Queue[str], deadline: float) -> str:
    """The next line, or "" when the output ended or nothing came before ``deadline``."""
    try:
        return lines.get(timeout=max(deadline - time.monotonic(), 0.01))
    except queue.Empty:
        return ""


def start_serve(
    tmp_path: Path, env: dict[str, str], *args: str, graph: str = GRAPH, expect_token: bool = True
) -> Served:
    """Start ``flowpose serve`` on a free port and wait until its stream source is registered."""
    path = tmp_path / "served.yaml"
    path.write_text(textwrap.dedent(graph))
    stderr = tmp_path / "serve.stderr"
    cmd = [*FLOWPOSE, "serve", str(path), "--port", "0", *args]
    with stderr.open("w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=tmp_path)
    lines, deadline = stdout_lines(proc), time.monotonic() + 60
    first = next_line(lines, deadline)
    assert first.startswith("flowpose serve: http://"), first + stderr.read_text()
    url = first.split()[2].removesuffix("/api")
    token = None
    if expect_token:
        second = next_line(lines, deadline)
        assert second.startswith("token: "), second + stderr.read_text()
        token = second.split()[1]
    return Served(proc, url, token, stderr)


def wait_for(what: str, check: Callable[[], bool], served: Served | None = None, timeout: float = 30) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` (and the server's stderr) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}" + (f"\n{served.stderr()}" if served else ""))


def wait_ready(served: Served) -> None:
    """Until the graph's multi-stream source has registered (the graph is running)."""
    wait_for("a registered stream source", lambda: served.call("GET", "/api/health").body["stream_sources"] > 0, served)


@contextmanager
def serving(tmp_path: Path, stop: signal.Signals = signal.SIGTERM) -> Iterator[Served]:
    """``flowpose serve`` of the support graph, running; on leaving, ``stop`` must end it cleanly.

    Cleanly: exit code 128 + the signal (130 for SIGINT, 143 for SIGTERM) and no traceback. The
    serve tests share one such server per module, as starting a graph is the slow part.
    """
    server = start_serve(tmp_path, env_with_support(dict(os.environ)))
    wait_ready(server)
    yield server
    assert server.stop(stop) == 128 + stop, server.stderr()
    assert "Traceback" not in server.stderr(), server.stderr()


def free_port() -> int:
    """A port nobody listens on (bound and released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
