"""``flowpose run``, ``flowpose validate`` and ``flowpose graph``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from pathlib import Path
from typing import TextIO

from flowpose.cli.failures import format_failure
from flowpose.engine.runtime import EXIT_USAGE, GraphRunner, RunResult
from flowpose.engine.stats import format_table
from flowpose.graph.problems import GraphError
from flowpose.graph.render import to_dot, to_mermaid
from flowpose.graph.validate import ValidGraph, load_graph
from flowpose.hosts.plan import check_host_name
from flowpose.zoo.offline import apply_offline_argument
from flowpose.zoo.skip import models_unchecked

log = logging.getLogger("flowpose")


def _load(args: argparse.Namespace) -> ValidGraph | None:
    apply_offline_argument(args)
    try:
        if args.command == "graph":  # drawing needs the structure only: no model is opened or downloaded
            with models_unchecked():
                return load_graph(args.graph, args.overrides)
        return load_graph(args.graph, args.overrides)  # downloads zoo models on first use
    except GraphError as exc:
        print(f"{args.graph}: {exc.report()}", file=sys.stderr)
        return None


class LiveTable:
    """Redraws the stats table on a terminal once a second (plain appends when not a tty)."""

    def __init__(self, runner: GraphRunner, stream: TextIO = sys.stderr, period_s: float = 1.0) -> None:
        self.runner, self.stream, self.period_s = runner, stream, period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="flowpose:stats", daemon=True)
        self._lines = 0

    def _draw(self) -> None:
        text = format_table(self.runner.snapshot())
        if self.stream.isatty() and self._lines:
            self.stream.write(f"\x1b[{self._lines}F\x1b[J")  # back to the table's first line, clear below
        self.stream.write(text + "\n")
        self.stream.flush()
        self._lines = text.count("\n") + 1

    def _loop(self) -> None:
        while not self._stop.wait(self.period_s):
            self._draw()

    def __enter__(self) -> LiveTable:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


def _summary(runner: GraphRunner, result: RunResult) -> dict[str, object]:
    failure = result.failure
    return {
        "graph": runner.graph.spec.name,
        "file": runner.graph.file,
        "exit_code": result.exit_code,
        "duration_s": round(result.duration_s, 3),
        "failure": None
        if failure is None
        else {"node": failure.node, "type": failure.type, "error": failure.error, "traceback": failure.traceback},
        "stuck": result.stuck,
        "nodes": {s.name: s.to_dict() for s in result.stats},
        "buffers": runner.buffer_table(),
    }


def run_with_table(runner: GraphRunner, live_table: bool) -> RunResult:
    """Run the graph to its end, with the live stats table on stderr when ``live_table``."""
    if not live_table:
        return runner.run()
    with LiveTable(runner):
        return runner.run()


def report_run(args: argparse.Namespace, runner: GraphRunner, result: RunResult) -> None:
    """What a finished run leaves (``run`` and ``serve`` alike): its failure, ``--stats``, ``--stats-json``."""
    if result.failure is not None:
        # print, not log: shown under -q too; one line for errors of the environment
        print(format_failure(result.failure, args.verbose), file=sys.stderr)
    if args.stats:
        print(format_table(result.stats), file=sys.stderr)
    name = runner.graph.spec.name
    log.info("graph %r ended with exit code %d after %.2f s", name, result.exit_code, result.duration_s)
    if args.stats_json:
        Path(args.stats_json).write_text(json.dumps(_summary(runner, result), indent=2) + "\n", encoding="utf-8")


def _run(args: argparse.Namespace, graph: ValidGraph) -> int:
    host = getattr(args, "host", None)
    try:
        check_host_name(graph.spec, graph.file, host)
        runner = GraphRunner(graph, trace=bool(args.trace), host=host)
    except GraphError as exc:  # --host not in the graph, key files missing
        print(f"{args.graph}: {exc.report()}", file=sys.stderr)
        return EXIT_USAGE
    policies = ", ".join(f"{n}={b.spec.policy}/{b.spec.size}" for n, b in runner.buffers.items())
    part = f"host {host!r} of " if host else ""
    log.info("running %s%r (%d nodes; buffers %s)", part, graph.spec.name, len(runner.stats), policies)
    result = run_with_table(runner, args.stats)
    report_run(args, runner, result)
    if args.trace and runner.trace is not None:
        runner.trace.write(args.trace)
        log.info("trace written to %s (open it in https://ui.perfetto.dev)", args.trace)
    return result.exit_code


def dispatch(args: argparse.Namespace) -> int:
    """Run ``run``, ``validate`` or ``graph``."""
    try:
        graph = _load(args)
    except KeyboardInterrupt as exc:  # Ctrl-C / SIGTERM during a first-use model download: one line
        print(f"flowpose: {exc or 'interrupted'}", file=sys.stderr)
        return getattr(exc, "exit_code", 130)
    if graph is None:
        return EXIT_USAGE
    if args.command == "validate":
        print(f"{graph.file}: OK ({len(graph.spec.nodes)} nodes, {len(graph.writers)} buffers)")
        return 0
    if args.command == "graph":
        render = to_dot if args.format == "dot" else to_mermaid
        print(render(graph.spec), end="")
        return 0
    return _run(args, graph)
