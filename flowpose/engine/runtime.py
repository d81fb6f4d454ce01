"""Running a validated graph: build buffers, start one runner per node, supervise, stop.

Exit codes follow shell conventions: 0 all sources ended and everything drained, 1 a node
failed, 130 interrupted (SIGINT), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from types import FrameType

from flowpose.engine.buffers import LATEST, LOSSLESS, Buffer, Inbox
from flowpose.engine.stats import NodeSnapshot, NodeStats
from flowpose.engine.trace import TraceRecorder
from flowpose.graph.validate import ValidGraph
from flowpose.hosts.plan import hosts_of
from flowpose.node import Node, Source
from flowpose.runners.group import PROCESS, REMOTE, THREAD, ProcessGroup
from flowpose.runners.process import ProcessRunner
from flowpose.runners.thread import ThreadRunner
from flowpose.runners.watchdog import Hung, Watchdog
from flowpose.runners.worker import NodeFailure, RestartPolicy, Worker

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
STOP_GRACE_S = 1.5  # how long stopping runners get before we leave without them (target: < 2 s)


@dataclass
class RunResult:
    """How a run ended.

    Attributes:
        exit_code: 0, 1, 130 or 143 (see module docs).
        failure: The node failure that stopped the graph, if any.
        stats: Final per-node figures, in graph order.
        duration_s: Wall time from start to end.
        stuck: Nodes that did not finish within the stop grace period.
    """

    exit_code: int
    failure: NodeFailure | None
    stats: list[NodeSnapshot]
    duration_s: float
    stuck: list[str] = field(default_factory=list)


def _upstream_sources(graph: ValidGraph, buffer: str) -> set[str]:
    """Names of the source nodes that (transitively) feed ``buffer``."""
    inputs = {n.name: n.inputs for n in graph.spec.nodes}
    seen: set[str] = set()
    todo = [graph.writers[buffer]]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(graph.writers[b] for b in inputs[name] if b in graph.writers)
    return {n for n in seen if graph.classes[n].is_source()}


class GraphRunner:
    """Runs a :class:`ValidGraph`, each node in a thread or in its own process (``runner``).

    Args:
        graph: A graph that passed validation.
        trace: Record per-frame spans for a Chrome/Perfetto trace.
        host: Run only this host's part of a graph that lists ``hosts`` (the others are remote).

    Raises:
        GraphError: when ``host``'s CurveZMQ key files are missing or unusable.
    """

    def __init__(self, graph: ValidGraph, trace: bool = False, host: str | None = None) -> None:
        self.graph = graph
        spec = graph.spec
        self.stop_event = threading.Event()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self.failure: NodeFailure | None = None
        self._exit_code: int | None = None
        self.trace = TraceRecorder([n.name for n in spec.nodes]) if trace else None
        self.instances: dict[str, Node] = {
            n.name: graph.classes[n.name](n.name, graph.params[n.name])
            for n in spec.nodes
            if graph.classes[n.name].is_source()
        }
        self.buffers = {name: self._make_buffer(name) for name in graph.writers}
        self.inboxes: dict[str, Inbox] = {}
        self.stats: dict[str, NodeStats] = {}
        self.runners: dict[str, ThreadRunner | ProcessRunner] = {}
        self.kinds = {n.name: n.runner or spec.defaults.runner for n in spec.nodes}
        if host is not None:  # the other hosts' nodes run there
            self.kinds.update({n: REMOTE for n, h in hosts_of(spec).items() if h != host})
        self.processes: ProcessGroup | None = None
        if PROCESS in self.kinds.values() or REMOTE in self.kinds.values():
            from flowpose.hosts.keys import load_curve  # only graphs with hosts need keys

            curve = load_curve(graph, host) if host is not None else None
            self.processes = ProcessGroup(
                graph, self.kinds, self.buffers, self.stop_event, self.trace, host=host, curve=curve
            )
        for node in spec.nodes:
            if self.kinds[node.name] != REMOTE:
                self._add_node(node.name)
        if self.processes is not None:
            self.processes.connect(self.inboxes, self.stats)
        self._running = set(self.runners)
        self.watchdog = Watchdog(
            [
                (r.worker, t)
                for n, r in self.runners.items()
                if isinstance(r, ThreadRunner) and (t := node_timeout(graph, n)) is not None
            ],
            self._on_hung,
        )
        self._started_at = 0.0
        self._started = False

    def _make_buffer(self, name: str) -> Buffer:
        spec = self.graph.spec
        conf = spec.buffers.get(name, spec.defaults.buffer)
        policy = conf.policy
        if policy == "auto":
            sources = _upstream_sources(self.graph, name)
            live = any(isinstance(s := self.instances.get(n), Source) and s.is_live() for n in sources)
            policy = LATEST if live else LOSSLESS
        return Buffer(name, policy, conf.size)

    def _add_node(self, name: str) -> None:
        spec, graph = self.graph.spec.node(name), self.graph
        defaults = graph.spec.defaults
        restart = RestartPolicy(
            on_failure=(spec.restart or defaults.restart) == "on-failure",
            max_restarts=spec.max_restarts if spec.max_restarts is not None else defaults.max_restarts,
            backoff_s=spec.backoff if spec.backoff is not None else defaults.backoff,
        )
        if self.kinds[name] == PROCESS:
            assert self.processes is not None
            self.stats[name], self.runners[name] = self.processes.make_runner(
                name, restart, self._on_exit, self._on_failure, self.request_stop
            )
            return
        inbox: Inbox | None = None
        stats = NodeStats(name, spec.type, THREAD, is_sink=not spec.outputs)
        if spec.inputs and self.processes is not None:  # one input, from a link: read it in the node's thread
            inbox = self.processes.direct_inbox(name, stats)
        if spec.inputs and inbox is None:
            inbox = Inbox([self.buffers[b].spec for b in spec.inputs], spec.feedback)
            for i, b in enumerate([*spec.inputs, *spec.feedback]):
                if self.kinds[graph.writers[b]] == THREAD:  # otherwise a link receiver feeds it
                    self.buffers[b].subscribe(inbox, i)
        if inbox is not None:
            self.inboxes[name] = inbox
            if self.processes is None:
                stats.attach_queues(lambda ib=inbox: sum(ib.drops), inbox.depth)
            else:  # drops on the link queues of remote writers count too
                group = self.processes
                stats.attach_queues(lambda ib=inbox, n=name: sum(ib.drops) + group.link_drops(n), inbox.depth)
        self.stats[name] = stats
        worker = Worker(
            name,
            graph.classes[name],
            graph.params[name],
            inbox,
            [self.buffers[b] for b in spec.outputs],
            stats,
            self.stop_event,
            self._on_failure,
            restart,
            self.trace,
            self.instances.get(name),
            self.request_stop,
        )
        self.runners[name] = ThreadRunner(worker, self._on_exit)

    # -- supervision -------------------------------------------------------------------------

    def _on_failure(self, failure: NodeFailure) -> None:
        with self._lock:
            if self.failure is None:
                self.failure = failure
        log.error("node %r (%s) failed: %s", failure.node, failure.type, failure.error)
        self.request_stop(EXIT_FAILED)

    def _on_hung(self, hung: Hung) -> None:
        # A thread cannot be ended from outside, so restarting the node would leave the hung
        # call running beside its successor: the graph stops instead (exit 1), and the stop
        # leaves the thread behind after its grace period. Process nodes restart themselves.
        error = f"{hung.describe()}; a thread cannot be stopped, so the graph stops (runner: process restarts it)"
        self._on_failure(NodeFailure(hung.node, self.graph.classes[hung.node].__name__, error, hung.stack))

    def _on_exit(self, name: str) -> None:
        with self._lock:
            self._running.discard(name)
            if not self._running:
                self._done.set()

    def request_stop(self, exit_code: int) -> None:
        """Stop every node promptly (safe from signal handlers and any thread)."""
        with self._lock:
            if self._exit_code is None:
                self._exit_code = exit_code
        self.watchdog.stop()  # calls slow to end during the stop are the stop's business
        self.stop_event.set()
        for inbox in self.inboxes.values():
            inbox.close()
        if self.processes is not None:
            self.processes.stop()
        self._done.set()

    def start(self) -> None:
        """Start every node (sinks first, so no early frame finds nobody listening)."""
        self._started_at = time.monotonic()
        if self.processes is not None and not self.processes.start():  # stopped while meeting other hosts
            if self._exit_code is None:
                self.request_stop(EXIT_USAGE)  # another host runs a different graph
            return
        if not self._running:
            self._done.set()  # nothing runs here (a host part without nodes)
        self._started = True
        for name in reversed(list(self.runners)):
            self.runners[name].start()
        self.watchdog.start()

    def wait(self) -> RunResult:
        """Block until the graph ends or is stopped, then collect the result."""
        # Wake up now and then: a signal the kernel hands to another thread (C libraries such as
        # libx264 start their own) only sets Python's flag, and the handler runs when the main
        # thread next executes bytecode; an untimed wait would never get there.
        while not self._done.wait(0.25):
            pass
        stuck: list[str] = []
        if self._started and self.stop_event.is_set():
            deadline = time.monotonic() + STOP_GRACE_S
            for name, runner in self.runners.items():
                if not runner.join(max(deadline - time.monotonic(), 0.0)):
                    stuck.append(name)
            if stuck:
                log.warning("nodes still busy after %.1f s, leaving them behind: %s", STOP_GRACE_S, ", ".join(stuck))
        elif self._started:
            for runner in self.runners.values():
                runner.join()
        if self.processes is not None:
            for name in stuck:
                runner = self.runners[name]
                if isinstance(runner, ProcessRunner):
                    runner.kill()  # a process, unlike a thread, can be ended for sure
            self.processes.close(flush=not self.stop_event.is_set())
        code = self._exit_code if self._exit_code is not None else EXIT_OK
        return RunResult(code, self.failure, self.snapshot(), time.monotonic() - self._started_at, stuck)

    def snapshot(self) -> list[NodeSnapshot]:
        """Current figures of every node, in graph order."""
        return [self.stats[n.name].snapshot() for n in self.graph.spec.nodes if n.name in self.stats]

    def buffer_table(self) -> dict[str, dict[str, object]]:
        """Resolved policy, size, writer and readers of every buffer."""
        readers: dict[str, list[str]] = defaultdict(list)
        feedback: dict[str, list[str]] = defaultdict(list)
        for node in self.graph.spec.nodes:
            for b in node.inputs:
                readers[b].append(node.name)
            for b in node.feedback:
                feedback[b].append(node.name)
        return {
            name: {
                "policy": b.spec.policy,
                "size": b.spec.size,
                "writer": self.graph.writers[name],
                "readers": readers[name],
                "feedback_readers": feedback[name],
                "written": b.written,
            }
            for name, b in self.buffers.items()
        }

    def run(self, handle_signals: bool = True) -> RunResult:
        """Start, wait and return; Ctrl-C / SIGTERM stop the graph (exit 130 / 143).

        Args:
            handle_signals: Install SIGINT/SIGTERM handlers (main thread only).
        """
        previous: dict[int, object] = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, self._on_signal)
        try:
            self.start()
            return self.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)  # type: ignore[arg-type]

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.stop_event.is_set():
            log.warning("second %s: leaving now", signal.Signals(signum).name)
            raise SystemExit(128 + signum)
        log.info("%s received: stopping the graph", signal.Signals(signum).name)
        self.request_stop(128 + signum)


def node_timeout(graph: ValidGraph, name: str) -> float | None:
    """A node's ``timeout_s``: its own, else the graph default (None: not watched)."""
    own = graph.spec.node(name).timeout_s
    return own if own is not None else graph.spec.defaults.timeout_s
