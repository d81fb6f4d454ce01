"""Helpers for the web-node tests: a free port, a plain GET, a graph running in a thread (a view's
graph until its page is ready), and a sink that counts frames per source and lets a test wait for them."""

from __future__ import annotations

import socket
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flowpose.engine.runtime import GraphRunner, RunResult
from flowpose.frame import Frame
from flowpose.graph.validate import validate_text
from flowpose.node import Node


@dataclass(frozen=True)
class Got:
    source: str
    frame_id: int
    phone_seq: int | None
    shape: tuple[int, ...]


_cond = threading.Condition()
GOT: dict[str, list[Got]] = defaultdict(list)


def reset() -> None:
    with _cond:
        GOT.clear()


class BySource(Node):
    """Sink that records every frame by its source name."""

    def process(self, frame: Frame) -> None:
        got = Got(frame.source, frame.frame_id, frame.meta.get("phone_seq"), frame.image.shape)
        with _cond:
            GOT[frame.source].append(got)
            _cond.notify_all()


def wait_until(predicate: Callable[[dict[str, list[Got]]], bool], timeout: float = 30.0) -> bool:
    """Wait until ``predicate(GOT)`` holds (checked whenever the sink records a frame)."""
    with _cond:
        return _cond.wait_for(lambda: predicate(GOT), timeout)


def count(source: str) -> int:
    with _cond:
        return len(GOT[source])


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (a graph's node gets it: its own is not visible)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def taken_port() -> Iterator[int]:
    """A port on 127.0.0.1 that something listens on for the block (a node asked for it finds it busy)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


def get(url: str) -> tuple[int, str, bytes]:
    """GET ``url``: the status, the Content-Type and the body, error replies included."""
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read()


class RunningGraph:
    """Runs graph YAML in a background thread; ``stop()`` ends it and returns the result."""

    def __init__(self, yaml_text: str) -> None:
        self.runner = GraphRunner(validate_text(textwrap.dedent(yaml_text), "test.yaml"))
        self.result: RunResult | None = None
        self._thread = threading.Thread(target=self._run, name="test-graph", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.result = self.runner.run(handle_signals=False)

    def join(self, timeout: float = 15.0) -> RunResult:
        """Wait for the graph to end by itself (e.g. a node failed)."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the graph did not end"
        assert self.result is not None
        return self.result

    def stop(self, timeout: float = 15.0) -> RunResult:
        self.runner.request_stop(0)
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the graph did not stop"
        assert self.result is not None
        return self.result

    def __enter__(self) -> RunningGraph:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread.is_alive():
            self.stop()


@contextmanager
def view_graph(graph: str, ready: Callable[[str], bool], timeout: float = 30.0) -> Iterator[str]:
    """Run ``graph``, whose view listens on ``port: 0``, on a free port; yield the view's base URL once ready.

    Args:
        graph: Graph YAML; its ``port: 0`` becomes the free port (the node's own is not visible from outside).
        ready: Whether the view at this URL is ready; an OSError counts as not yet (it does not listen).
        timeout: Seconds to wait before failing.
    """
    port = free_port()
    with RunningGraph(graph.replace("port: 0", f"port: {port}")):
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while True:
            try:
                if ready(url):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} was not ready within {timeout:g} s")
            time.sleep(0.05)
        yield url
