"""A node in its own process: ``python -m flowpose.runners.child`` with a JSON config on stdin.

The parent writes one line of JSON (see :func:`flowpose.runners.process.child_config`), keeps
stdin open, and later writes ``stop``. The child resolves the node class by its type name the
way validation does (so plugins and ``module:Class`` work), builds an inbox fed by link
receivers and output buffers read by link senders, and runs the same
:class:`~flowpose.runners.worker.Worker` as the thread runner.

The child dies with its parent, event-driven, twice over: a thread blocks reading stdin (end
of file once the parent is gone) and, on Linux, ``PR_SET_PDEATHSIG`` sends it SIGTERM when the
parent dies; both stop it the orderly way, so shared-memory segments are unlinked, and a
child whose parent was killed removes the run's socket folder (see
:mod:`flowpose.runners.orphan`). It ignores SIGINT: Ctrl-C is for the parent, which tells
every child to stop.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import traceback
from typing import Any

from flowpose.engine.buffers import Buffer, Inbox, QueueSpec
from flowpose.engine.stats import NodeStats
from flowpose.engine.trace import TraceRecorder
from flowpose.graph.registry import resolve
from flowpose.hosts.security import Curve
from flowpose.runners.control import REPORT_PERIOD_S, ControlClient
from flowpose.runners.linkset import LinkSet, LinkSpec
from flowpose.runners.orphan import ParentWatch, clean_up_after
from flowpose.runners.watchdog import HUNG_EXIT_CODE, Hung, Watchdog
from flowpose.runners.worker import NodeFailure, RestartPolicy, Worker

log = logging.getLogger(__name__)

STOP_GRACE_S = 1.0  # a node stuck in a C call is left behind after this (we exit regardless)


class FrameIds:
    """A source's frame-id counter whose next value can be read (to continue after a restart)."""

    def __init__(self, start: int) -> None:
        self.next = start

    def __iter__(self) -> FrameIds:
        return self

    def __next__(self) -> int:
        value = self.next
        self.next += 1
        return value


class SpanBuffer(TraceRecorder):
    """Trace spans of this child, handed to the parent in batches."""

    def __init__(self, node: str) -> None:
        super().__init__([node])
        self._new: list[tuple[int, int, int]] = []
        self._lock = threading.Lock()

    def span(self, node: str, start_ns: int, end_ns: int, frame_id: int) -> None:
        with self._lock:
            self._new.append((start_ns, end_ns, frame_id))

    def take(self) -> list[tuple[int, int, int]]:
        """The spans recorded since the last call."""
        with self._lock:
            out, self._new = self._new, []
        return out


class Child:
    """Everything one child process runs, built from its configuration."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.name: str = config["node"]
        cls = resolve(config["type"])
        params = cls.Params(**config["params"])
        self.stop = threading.Event()
        self._wake = threading.Event()
        self.exit_code = 0
        self.told_to_stop = False  # by the parent ("stop" on stdin), rather than by its death
        self.parent = ParentWatch(config["parent_pid"])
        specs = [QueueSpec(i["buffer"], i["policy"], i["size"]) for i in config["inputs"]]
        feedback = config.get("feedback", ())
        self.outputs = [Buffer(o["buffer"], o["policy"], o["size"]) for o in config["outputs"]]
        self.stats = NodeStats(self.name, config["type"], "process", is_sink=not self.outputs)
        curve = Curve.from_json(config["curve"]) if config.get("curve") else None
        self.links = LinkSet(shm=config["shm"], curve=curve)
        in_links = [LinkSpec(**link) for link in config["in_links"]]
        self.inbox: Inbox | None = None
        if len(specs) == 1 and not feedback and len(in_links) == 1:
            # One input, from a link: the node's thread reads the socket itself (no receiver thread).
            self.inbox = self.links.direct_inbox(in_links[0], specs[0], self.stats)
        elif specs:
            self.inbox = Inbox(specs, feedback)
            for link in in_links:
                self.links.add_receiver(link, self.inbox, self.stats)
        if self.inbox is not None:
            self.stats.attach_queues(lambda ib=self.inbox: sum(ib.drops), self.inbox.depth)
        by_name = {b.name: b for b in self.outputs}
        for link in config["out_links"]:
            self.links.add_sender(LinkSpec(**link), by_name[link["buffer"]])
        self.control = ControlClient(config["control"], self.name)
        self.spans = SpanBuffer(self.name) if config["trace"] else None
        self.ids = FrameIds(config["next_id"]) if cls.is_source() else None
        restart = RestartPolicy(**config["restart"])
        self.worker = Worker(
            self.name,
            cls,
            params,
            self.inbox,
            self.outputs,
            self.stats,
            self.stop,
            self._on_failure,
            restart,
            self.spans,
            request_stop=lambda code: self.control.send("stop_graph", code=code, pid=os.getpid()),
            frame_ids=self.ids,
        )

    def _on_hung(self, hung: Hung) -> None:
        # Unlike a thread, a process can end for sure: end it (the watchdog logged why with
        # the stack), and the parent restarts the node by its policy as after any crash.
        if self.stop.is_set():
            return
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(HUNG_EXIT_CODE)

    def _on_failure(self, failure: NodeFailure) -> None:
        self.exit_code = 1
        self.control.send(
            "failure", pid=os.getpid(), type=failure.type, error=failure.error, traceback=failure.traceback
        )

    def request_stop(self, exit_code: int = 0) -> None:
        """Stop the node and the links (from any thread or a signal handler)."""
        if not self.stop.is_set():
            self.exit_code = self.exit_code or exit_code
        self.stop.set()
        if self.inbox is not None:
            self.inbox.close()
        self.links.stop()
        self._wake.set()

    def _report(self, final: bool = False) -> None:
        self.control.send(
            "stats",
            pid=os.getpid(),
            final=final,
            snap=self.stats.snapshot().to_dict(),
            link_drops=dict(self.links.drops()),
            written={b.name: b.written for b in self.outputs},
            next_id=self.ids.next if self.ids is not None else None,
            spans=self.spans.take() if self.spans is not None else [],
        )

    def _reporter(self) -> None:
        while not self._wake.wait(REPORT_PERIOD_S):
            self._report()

    def _watch_stdin(self) -> None:
        for line in sys.stdin.buffer:  # blocks; returns at end of file (the parent is gone)
            if line.strip() == b"stop":
                self.told_to_stop = True
                break
        self.request_stop(0)

    def _work(self) -> None:
        try:
            self.worker.run()
        finally:
            self._wake.set()

    def run(self) -> int:
        """Run until the node ends or is stopped; returns the exit code."""
        worker = threading.Thread(target=self._work, name=f"flowpose:{self.name}", daemon=True)
        self.links.start()
        for target in (self._reporter, self._watch_stdin):
            threading.Thread(target=target, daemon=True).start()
        worker.start()
        timeout_s = self.config.get("timeout_s")
        if timeout_s is not None:
            Watchdog([(self.worker, timeout_s)], self._on_hung).start()
        self._wake.wait()
        if self.stop.is_set():
            worker.join(STOP_GRACE_S)
        else:
            self.links.join_senders()  # deliver everything, end of stream included
            worker.join(STOP_GRACE_S)
        self.links.stop()
        self.links.join(0.5)
        self._report(final=True)
        self.control.send("bye", pid=os.getpid(), code=self.exit_code)
        self.control.close()
        if not self.told_to_stop and self.parent.gone():  # orphaned: clean up what the parent would have
            clean_up_after(self.config["control"])
        return self.exit_code


def _stop_on_sigterm(child: Child) -> None:
    # The handler only writes to a pipe: stopping takes locks, which a handler running in the
    # middle of the main thread's own Event.wait() would deadlock on.
    read_fd, write_fd = os.pipe()
    signal.signal(signal.SIGTERM, lambda *_: os.write(write_fd, b"t"))

    def watch() -> None:
        if os.read(read_fd, 1):
            child.request_stop(128 + signal.SIGTERM)

    threading.Thread(target=watch, name="flowpose:sigterm", daemon=True).start()


def main() -> None:
    """Entry point of a child process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    config = json.loads(sys.stdin.buffer.readline() or b"null")
    if not isinstance(config, dict):
        sys.exit("flowpose.runners.child: expected a JSON configuration on stdin")
    parent = ParentWatch(config["parent_pid"])
    if not parent.die_with_parent():  # it died before we could ask to be told
        clean_up_after(config["control"])
        os._exit(0)
    logging.basicConfig(
        level=config.get("log_level", logging.INFO),
        format=f"%(asctime)s %(levelname)-7s [{config['node']}:%(process)d] %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        child = Child(config)
    except Exception as exc:  # e.g. the class cannot be imported here: report it like a failure
        control = ControlClient(config["control"], config["node"])
        error = f"{type(exc).__name__}: {exc}"
        control.send("failure", pid=os.getpid(), type=config["type"], error=error, traceback=traceback.format_exc())
        control.send("bye", pid=os.getpid(), code=1)
        control.close()
        os._exit(1)
    child.parent = parent
    _stop_on_sigterm(child)
    code = child.run()
    logging.shutdown()
    # Skip interpreter teardown: a node stuck in a C call would otherwise keep us alive.
    os._exit(code)


if __name__ == "__main__":
    main()
