"""The process runner: a node in a child process, supervised from the parent.

A supervisor thread per node starts the child (``python -m flowpose.runners.child``, config
on stdin) and blocks in ``wait()``, so a crash or a kill is noticed at once. A child that ends
with a reported failure has already used its restart policy (its worker restarts the node
in-process after an exception); a child that dies without one (a crash, ``os._exit``, a
signal) is started again under the same policy, sharing the same ``max_restarts`` budget, or
stops the graph naming the node.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from flowpose.engine.stats import NodeSnapshot, NodeStats
from flowpose.engine.trace import TraceRecorder
from flowpose.runners.watchdog import HUNG_EXIT_CODE
from flowpose.runners.worker import NodeFailure, RestartPolicy

log = logging.getLogger(__name__)

#: After a child exits, how long its last messages (final stats, failure) may take to arrive.
BYE_WAIT_S = {True: 1.0, False: 0.2}  # orderly exit (code 0/1) / crash


def child_env() -> dict[str, str]:
    """The environment for a child: ours, with our ``sys.path`` additions on PYTHONPATH.

    So a node class the parent can import (a plugin beside the graph, a test module) can be
    imported by the child too: the same class runs in a thread or a process.
    """
    env = dict(os.environ)
    prefixes = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix})
    extra = [os.path.abspath(p or os.curdir) for p in sys.path if not os.path.abspath(p or ".").startswith(prefixes)]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([*extra, *filter(None, [env.get("PYTHONPATH", "")])]))
    return env


class RemoteStats(NodeStats):
    """A process node's figures in the parent: the child's latest report, summed over restarts."""

    def __init__(self, name: str, type_name: str, is_sink: bool) -> None:
        super().__init__(name, type_name, "process", is_sink)
        self._pid: int | None = None
        self._snap: NodeSnapshot | None = None
        self._base: Counter[str] = Counter()  # what earlier processes of the node counted
        self._base_counters: Counter[str] = Counter()
        self._base_links: Counter[str] = Counter()
        self._base_written: Counter[str] = Counter()
        self._links: Counter[str] = Counter()
        self._written: Counter[str] = Counter()
        self.next_id = 0

    def update(self, message: dict[str, Any]) -> None:
        """Take a ``stats`` report of the child."""
        if self._pid is not None and message["pid"] != self._pid and self._snap is not None:
            old = self._snap
            self._base.update(frames=old.frames, drops=old.drops, restarts=old.restarts, bad=old.bad_messages)
            self._base_counters.update(old.counters)
            self._base_links.update(self._links)
            self._base_written.update(self._written)
        self._pid = message["pid"]
        self._snap = NodeSnapshot(**message["snap"])
        self._links = Counter(message["link_drops"])
        self._written = Counter(message["written"])
        if message["next_id"] is not None:
            self.next_id = message["next_id"]

    def link_drops(self) -> Counter[str]:
        """Drops on this node's sending queues, per reading node (all processes of the node)."""
        return self._base_links + self._links

    def written(self) -> Counter[str]:
        """Messages written per output buffer."""
        return self._base_written + self._written

    @property
    def used_restarts(self) -> int:
        """Restarts so far: of the process, and of the node inside its processes."""
        current = self._snap.restarts if self._snap is not None else 0
        return self.restarts + self._base["restarts"] + current

    def snapshot(self) -> NodeSnapshot:
        snap = self._snap or NodeSnapshot(self.name, self.type_name, "process", 0, 0.0, None, None, 0, 0, 0, None, None)
        return replace(
            snap,
            frames=snap.frames + self._base["frames"],
            drops=snap.drops + self._base["drops"] + int(self._drops_fn()),  # type: ignore[operator]
            restarts=self.used_restarts,
            bad_messages=snap.bad_messages + self._base["bad"],
            counters=dict(self._base_counters + Counter(snap.counters)),
        )


class ProcessRunner:
    """Runs one node in a child process and supervises it.

    Args:
        name: Node name.
        config: The child's configuration (without the per-start fields).
        stats: Where the child's reports go.
        restart: The node's restart policy.
        stop: The graph's stop event.
        on_exit: Called once when the node is done for good.
        on_failure: Called with the failure that should stop the graph.
        request_stop: Called when the node asks the graph to stop (StopGraph).
        trace: Where the child's spans go (None: not tracing).
    """

    kind = "process"

    def __init__(
        self,
        name: str,
        config: dict[str, Any],
        stats: RemoteStats,
        restart: RestartPolicy,
        stop: threading.Event,
        on_exit: Callable[[str], None],
        on_failure: Callable[[NodeFailure], None],
        request_stop: Callable[[int], None],
        trace: TraceRecorder | None = None,
    ) -> None:
        self.name, self.config, self.stats, self.restart = name, config, stats, restart
        self._stop, self._on_exit, self._on_failure, self._request_stop = stop, on_exit, on_failure, request_stop
        self._trace = trace
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._bye = threading.Event()
        self._failure: NodeFailure | None = None
        self.pids: list[int] = []  # every process started for the node (tests check none is left)
        self._thread = threading.Thread(target=self._main, name=f"flowpose:supervise:{name}", daemon=True)

    def start(self) -> None:
        """Start the child and its supervision."""
        self._thread.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        left = max(self.restart.max_restarts - self.stats.used_restarts, 0)
        config = {
            **self.config,
            "restart": {
                "on_failure": self.restart.on_failure,
                "max_restarts": left,
                "backoff_s": self.restart.backoff_s,
            },
            "next_id": self.stats.next_id,
        }
        # Spawned from the supervisor thread, which lives as long as the child: PDEATHSIG
        # fires when the *thread* that started a child ends, not just the process.
        proc = subprocess.Popen(
            [sys.executable, "-m", "flowpose.runners.child"],
            stdin=subprocess.PIPE,
            env=child_env(),
            process_group=0,  # Ctrl-C reaches the parent only; it stops the children itself
        )
        self.pids.append(proc.pid)
        self._bye.clear()
        assert proc.stdin is not None
        try:
            proc.stdin.write(json.dumps(config).encode() + b"\n")
            proc.stdin.flush()
        except BrokenPipeError:
            pass  # it died at once; wait() tells
        return proc

    def _main(self) -> None:
        try:
            while True:
                with self._lock:
                    if self._stop.is_set():
                        return
                    proc = self._proc = self._spawn()
                code = proc.wait()
                if proc.stdin is not None:
                    proc.stdin.close()
                self._bye.wait(BYE_WAIT_S[code in (0, 1)])
                if self._failure is not None:
                    self._on_failure(self._failure)
                    return
                if code == 0 or self._stop.is_set():
                    return
                if not self._restart(proc.pid, code):
                    return
        finally:
            self._on_exit(self.name)

    def _restart(self, pid: int, code: int) -> bool:
        why = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        if code == HUNG_EXIT_CODE:
            why = "its node hung past its timeout_s, see the stack above"
        if self.restart.on_failure and self.stats.used_restarts < self.restart.max_restarts:
            self.stats.restarts += 1
            attempt = self.stats.used_restarts
            delay = self.restart.delay(attempt)
            log.warning(
                "node %r: process %d died (%s); restart %d/%d in %.2f s",
                self.name, pid, why, attempt, self.restart.max_restarts, delay,
            )  # fmt: skip
            return not self._stop.wait(delay)
        error = f"the node's process (pid {pid}) died: {why}"
        self._on_failure(NodeFailure(self.name, self.config["type"], error, f"{error}\n"))
        return False

    def handle(self, message: dict[str, Any]) -> None:
        """A control message of this node's child (from the control thread)."""
        kind = message["kind"]
        if kind == "stats":
            self.stats.update(message)
            if self._trace is not None and message["spans"]:
                self._trace.events[self.name].extend(tuple(s) for s in message["spans"])
        elif kind == "failure":
            self._failure = NodeFailure(self.name, message["type"], message["error"], message["traceback"])
        elif kind == "stop_graph":
            self._request_stop(int(message["code"]))
        elif kind == "bye" and self._proc is not None and message["pid"] == self._proc.pid:
            self._bye.set()

    def stop(self) -> None:
        """Ask the child to stop (it finishes its node's close() and reports)."""
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None and proc.stdin is not None:
            try:
                proc.stdin.write(b"stop\n")
                proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass  # already gone

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the node to be done; True when it is."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def kill(self) -> None:
        """Kill the child now (after the stop grace period)."""
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            log.warning("node %r: process %d did not stop in time; killing it", self.name, proc.pid)
            proc.kill()
            proc.wait()
