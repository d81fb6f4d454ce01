"""The parent's share of a graph with process nodes: links, children's configs, control, cleanup.

Buffers are planned per (buffer, reader): a thread writer and a thread reader share the
in-process buffer as before; every other pair gets a link whose sender lives with the writer
(the parent for a thread node, the writer's child otherwise) and whose receiver lives with the
reader. Two process nodes are linked directly, child to child, never through the parent.

With hosts, nodes of other hosts are ``remote``: a pair with one end here and the other there
is a ``tcp://`` link (see :func:`flowpose.hosts.plan.cross_links`), and the group meets the other
hosts (:mod:`flowpose.hosts.rendezvous`) before any node starts.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from typing import Any

import zmq

from flowpose.engine.buffers import Buffer, Inbox
from flowpose.engine.stats import NodeStats
from flowpose.engine.trace import TraceRecorder
from flowpose.graph.problems import GraphError
from flowpose.graph.validate import ValidGraph
from flowpose.hosts.plan import CrossLink, cross_links, graph_digest, hosts_of, problem_at
from flowpose.hosts.rendezvous import Rendezvous
from flowpose.hosts.security import Curve
from flowpose.runners.control import ControlServer
from flowpose.runners.linkset import LinkSet, LinkSpec
from flowpose.runners.process import ProcessRunner, RemoteStats
from flowpose.runners.receiver import LinkInbox
from flowpose.runners.shm import remove_segments, segment_prefix
from flowpose.runners.worker import NodeFailure, RestartPolicy

log = logging.getLogger(__name__)

THREAD, PROCESS, REMOTE = "thread", "process", "remote"


def _short_tmpdir() -> str:
    # ipc:// paths are limited to ~107 bytes; macOS's per-user temp folder alone is ~50.
    base = tempfile.gettempdir()
    if len(base) > 40 and os.path.isdir("/tmp"):
        base = "/tmp"
    return tempfile.mkdtemp(prefix="fp-", dir=base)


def plan_links(graph: ValidGraph, kinds: dict[str, str], folder: str, cross: list[CrossLink] = ()) -> list[LinkSpec]:
    """Every (buffer, reader) pair with an end here that crosses a process boundary, with its endpoint.

    Args:
        graph: The validated graph.
        kinds: Runner kind per node (``remote`` for nodes of other hosts).
        folder: Where same-host (``ipc://``) endpoints go.
        cross: The graph's links between hosts.
    """
    between = {(c.reader, c.index): c for c in cross}
    links = []
    for node in graph.spec.nodes:
        for index, buffer in enumerate([*node.inputs, *node.feedback]):
            writer = graph.writers[buffer]
            kind_w, kind_r = kinds[writer], kinds[node.name]
            feedback = index >= len(node.inputs)
            if (kind_w, kind_r) in ((THREAD, THREAD), (REMOTE, REMOTE)):
                continue
            if REMOTE in (kind_w, kind_r):
                c = between[(node.name, index)]
                links.append(LinkSpec(buffer, writer, node.name, index, c.connect, c.bind, c.writer_host, feedback))
            else:
                endpoint = f"ipc://{folder}/{len(links)}"
                links.append(LinkSpec(buffer, writer, node.name, index, endpoint, feedback=feedback))
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
        host: This host's name when the graph runs on several (``kinds`` has its remote nodes).
        curve: This host's CurveZMQ keys, when links between hosts use them.
    """

    def __init__(
        self,
        graph: ValidGraph,
        kinds: dict[str, str],
        buffers: dict[str, Buffer],
        stop: threading.Event,
        trace: TraceRecorder | None,
        shm: bool = True,
        host: str | None = None,
        curve: Curve | None = None,
    ) -> None:
        self.graph, self.kinds, self.buffers, self.stop_event, self.trace = graph, kinds, buffers, stop, trace
        self.curve = curve
        self.folder = _short_tmpdir()
        cross = cross_links(graph.spec, graph.writers) if host is not None else []
        self.plan = plan_links(graph, kinds, self.folder, cross)
        self.links = LinkSet(shm, curve)
        self.stats: dict[str, RemoteStats] = {}
        self.runners: dict[str, ProcessRunner] = {}
        self._direct: set[str] = set()  # thread nodes reading their one link themselves
        self.control = ControlServer(f"ipc://{self.folder}/control", {})
        self.rendezvous: Rendezvous | None = None
        if host is not None:
            where = hosts_of(graph.spec)
            peers = [h for h in graph.spec.hosts if h != host and h in where.values()]
            try:
                self.rendezvous = Rendezvous(host, graph.spec.hosts, peers, graph_digest(graph.spec), curve)
            except zmq.ZMQError as exc:
                self.close()
                raise self._bind_error(host, "its rendezvous", exc) from None

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
            "feedback": list(spec.feedback),
            "outputs": [queue(b) for b in spec.outputs],
            "in_links": [link.to_json() for link in self.plan if link.reader == name],
            "out_links": [link.to_json() for link in self.plan if link.writer == name],
            "trace": self.trace is not None,
            "shm": self.links.shm,
            "curve": self.curve.to_json() if self.curve is not None else None,
            "log_level": logging.getLogger().getEffectiveLevel(),
            "timeout_s": spec.timeout_s if spec.timeout_s is not None else self.graph.spec.defaults.timeout_s,
        }

    def direct_inbox(self, name: str, stats: NodeStats) -> LinkInbox | None:
        """For thread node ``name`` whose only input is a link: an inbox reading it in the node's thread."""
        spec = self.graph.spec.node(name)
        links = [link for link in self.plan if link.reader == name]
        if len(spec.inputs) != 1 or spec.feedback or len(links) != 1:
            return None
        self._direct.add(name)
        return self.links.direct_inbox(links[0], self.buffers[spec.inputs[0]].spec, stats)

    def connect(self, inboxes: dict[str, Inbox], stats: dict[str, NodeStats]) -> None:
        """Create the parent's link ends: senders for thread writers, receivers for thread readers."""
        for link in self.plan:
            if self.kinds[link.writer] == THREAD:
                try:
                    self.links.add_sender(link, self.buffers[link.buffer])
                except zmq.ZMQError as exc:  # a port of a link to another host is taken
                    self.close()
                    raise self._bind_error(link.writer_host, f"link {link.buffer} -> {link.reader}", exc) from None
            if self.kinds[link.reader] == THREAD and link.reader not in self._direct:
                self.links.add_receiver(link, inboxes[link.reader], stats[link.reader])

    def _bind_error(self, host: str, what: str, exc: zmq.ZMQError) -> GraphError:
        where = ("hosts", host, "port")
        message = f"host {host!r} cannot listen for {what}: {exc} (another program holds the port?)"
        return GraphError([problem_at(self.graph.source, self.graph.file, where, f"hosts.{host}.port", message)])

    def _handle(self, runner: ProcessRunner, message: dict[str, Any]) -> None:
        runner.handle(message)
        if message["kind"] == "stats":
            for buffer, count in runner.stats.written().items():
                self.buffers[buffer].written = count

    def link_drops(self, reader: str) -> int:
        """Drops of ``reader``'s messages on sending queues anywhere (parent and children)."""
        return self.links.drops()[reader] + sum(s.link_drops()[reader] for s in self.stats.values())

    def start(self) -> bool:
        """Start the control thread and the parent's link threads, and meet the other hosts.

        Returns:
            False when the graph was stopped while waiting for them, or one runs another graph.
        """
        self.control.start()
        self.links.start()
        if self.rendezvous is None:
            return True
        self.rendezvous.start()
        return self.rendezvous.wait(self.stop_event)

    def stop(self) -> None:
        """Tell every child to stop and the parent's links to return (any thread)."""
        if self.rendezvous is not None:
            self.rendezvous.interrupt()
        self.links.stop()
        for runner in self.runners.values():
            runner.stop()

    def close(self, flush: bool = False) -> None:
        """After the runners are done: stop links and control, remove sockets and segments.

        Args:
            flush: First wait until the parent's senders delivered everything (another host's
                reader may still need the end of stream); a stop interrupts the wait.
        """
        if flush:
            self.links.join_senders(tcp_only=True)
        self.links.stop()
        self.links.join()
        self.control.stop()
        if self.rendezvous is not None:
            self.rendezvous.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        remove_segments(segment_prefix(f"ipc://{self.folder}/x"))
