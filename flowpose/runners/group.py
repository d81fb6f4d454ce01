"""The parent's share of a graph with process nodes: links, children's configs, control, cleanup.

Buffers are planned per (buffer, reader): a thread writer and a thread reader share the
in-process buffer as before; every other pair gets a link whose sender lives with the writer
(the parent for a thread node, the writer's child otherwise) and whose receiver lives with the
reader. Two process nodes are linked directly, child to child, never through the parent.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from typing import Any

from flowpose.buffers import Buffer, Inbox
from flowpose.runners.control import ControlServer
from flowpose.runners.linkset import LinkSet, LinkSpec
from flowpose.runners.process import ProcessRunner, RemoteStats
from flowpose.runners.shm import remove_segments, segment_prefix
from flowpose.runners.worker import NodeFailure, RestartPolicy
from flowpose.stats import NodeStats
from flowpose.trace import TraceRecorder
from flowpose.validate import ValidGraph

log = logging.getLogger(__name__)

THREAD, PROCESS = "thread", "process"


def _short_tmpdir() -> str:
    # ipc:// paths are limited to ~107 bytes; macOS's per-user temp folder alone is ~50.
    base = tempfile.gettempdir()
    if len(base) > 40 and os.path.isdir("/tmp"):
        base = "/tmp"
    return tempfile.mkdtemp(prefix="fp-", dir=base)


def plan_links(graph: ValidGraph, kinds: dict[str, str], folder: str) -> list[LinkSpec]:
    """Every (buffer, reader) pair that crosses a process boundary, with its endpoint."""
    links = []
    for node in graph.spec.nodes:
        for index, buffer in enumerate(node.inputs):
            writer = graph.writers[buffer]
            if kinds[writer] == THREAD and kinds[node.name] == THREAD:
                continue
            endpoint = f"ipc://{folder}/{len(links)}"
            links.append(LinkSpec(buffer, writer, node.name, index, endpoint))
    return links


class ProcessGroup:
    """Builds, connects, starts and cleans up the process side of a graph.

    Args:
        graph: The validated graph.
        kinds: Runner kind per node.
        buffers: The parent's buffers (thread writers write them).
        stop: The graph's stop event.
        trace: The graph's trace recorder, if tracing.
        shm: Use shared-memory slots for images on same-host links.
    """

    def __init__(
        self,
        graph: ValidGraph,
        kinds: dict[str, str],
        buffers: dict[str, Buffer],
        stop: threading.Event,
        trace: TraceRecorder | None,
        shm: bool = True,
    ) -> None:
        self.graph, self.kinds, self.buffers, self.stop_event, self.trace = graph, kinds, buffers, stop, trace
        self.folder = _short_tmpdir()
        self.plan = plan_links(graph, kinds, self.folder)
        self.links = LinkSet(shm)
        self.stats: dict[str, RemoteStats] = {}
        self.runners: dict[str, ProcessRunner] = {}
        self.control = ControlServer(f"ipc://{self.folder}/control", {})

    def make_runner(
        self,
        name: str,
        restart: RestartPolicy,
        on_exit: Callable[[str], None],
        on_failure: Callable[[NodeFailure], None],
        request_stop: Callable[[int], None],
    ) -> tuple[RemoteStats, ProcessRunner]:
        """The stats and runner of process node ``name``."""
        spec = self.graph.spec.node(name)
        stats = RemoteStats(name, spec.type, is_sink=not spec.outputs)
        stats.attach_queues(lambda: self.link_drops(name), lambda: 0)
        runner = ProcessRunner(
            name, self._config(name), stats, restart, self.stop_event, on_exit, on_failure, request_stop, self.trace
        )
        self.stats[name], self.runners[name] = stats, runner
        self.control.handlers[name] = lambda message, r=runner: self._handle(r, message)
        return stats, runner

    def _config(self, name: str) -> dict[str, Any]:
        spec = self.graph.spec.node(name)

        def queue(buffer: str) -> dict[str, object]:
            s = self.buffers[buffer].spec
            return {"buffer": s.buffer, "policy": s.policy, "size": s.size}

        return {
            "node": name,
            "type": spec.type,
            "params": self.graph.params[name].model_dump(mode="json"),
            "parent_pid": os.getpid(),
            "control": self.control.endpoint,
            "inputs": [queue(b) for b in spec.inputs],
            "outputs": [queue(b) for b in spec.outputs],
            "in_links": [link.to_json() for link in self.plan if link.reader == name],
            "out_links": [link.to_json() for link in self.plan if link.writer == name],
            "trace": self.trace is not None,
            "shm": self.links.shm,
            "log_level": logging.getLogger().getEffectiveLevel(),
        }

    def connect(self, inboxes: dict[str, Inbox], stats: dict[str, NodeStats]) -> None:
        """Create the parent's link ends: senders for thread writers, receivers for thread readers."""
        for link in self.plan:
            if self.kinds[link.writer] == THREAD:
                self.links.add_sender(link, self.buffers[link.buffer])
            if self.kinds[link.reader] == THREAD:
                self.links.add_receiver(link, inboxes[link.reader], stats[link.reader])

    def _handle(self, runner: ProcessRunner, message: dict[str, Any]) -> None:
        runner.handle(message)
        if message["kind"] == "stats":
            for buffer, count in runner.stats.written().items():
                self.buffers[buffer].written = count

    def link_drops(self, reader: str) -> int:
        """Drops of ``reader``'s messages on sending queues anywhere (parent and children)."""
        return self.links.drops()[reader] + sum(s.link_drops()[reader] for s in self.stats.values())

    def start(self) -> None:
        """Start the control thread and the parent's link threads (before any node)."""
        self.control.start()
        self.links.start()

    def stop(self) -> None:
        """Tell every child to stop and the parent's links to return (any thread)."""
        self.links.stop()
        for runner in self.runners.values():
            runner.stop()

    def close(self) -> None:
        """After the runners are done: stop links and control, remove sockets and segments."""
        self.links.stop()
        self.links.join()
        self.control.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
        remove_segments(segment_prefix(f"ipc://{self.folder}/x"))
