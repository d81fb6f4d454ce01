"""``flowpose serve GRAPH``: run a graph with the HTTP control API beside it."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

from flowpose.serve import DEFAULT_PORT
from flowpose.serve.auth import TOKEN_ENV, is_loopback, resolve_token

if TYPE_CHECKING:
    from flowpose.graph.validate import ValidGraph

log = logging.getLogger("flowpose")


def add_parsers(sub: argparse._SubParsersAction, add_graph_args: object) -> None:
    """Add the ``serve`` command (``add_graph_args`` adds GRAPH and ``--set`` as for ``run``)."""
    serve = sub.add_parser(
        "serve",
        help="run a graph with an HTTP control API (streams, stats, health)",
        description="Runs GRAPH like `flowpose run`, and answers JSON over HTTP: list, add, pause and remove "
        "streams, per-node and per-stream stats, health. Every route but /api/health and /api/openapi.json "
        f"needs 'Authorization: Bearer TOKEN': --token, else ${TOKEN_ENV}, else a generated one printed at start.",
    )
    add_graph_args(serve)  # type: ignore[operator]
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT}; 0: any free one)"
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    serve.add_argument("--token", help=f"the bearer token (default: ${TOKEN_ENV}, else a generated one, printed)")
    serve.add_argument("--stats", action="store_true", help="live per-node table in the terminal")
    serve.add_argument("--stats-json", metavar="FILE", help="write a JSON summary of the run at exit")
    from flowpose.zoo.offline import add_offline_argument  # light: argparse set-up only

    add_offline_argument(serve)


def _fail(message: str) -> int:
    print(f"flowpose serve: {message}", file=sys.stderr)
    return 2


def _stream_sources_in_processes(graph: ValidGraph) -> list[str]:
    """Nodes that can hold streams (a StreamControl) but would run in a child process."""
    return [
        node.name
        for node in graph.spec.nodes
        if callable(getattr(graph.classes[node.name], "add_stream", None))
        and (node.runner or graph.spec.defaults.runner) == "process"
    ]


def dispatch(args: argparse.Namespace) -> int:
    """Run ``flowpose serve``: load the graph, listen, run until the graph ends or a signal stops it."""
    from flowpose.cli.graph_commands import report_run, run_with_table
    from flowpose.engine.runtime import GraphRunner
    from flowpose.graph.problems import GraphError
    from flowpose.graph.validate import load_graph
    from flowpose.serve.routes import Api, GraphView
    from flowpose.serve.server import ApiServer
    from flowpose.zoo.offline import apply_offline_argument

    if not 0 <= args.port <= 65535:
        return _fail(f"--port {args.port} is not a port (0 to 65535)")
    try:
        token = resolve_token(args.token)
    except ValueError as exc:
        return _fail(str(exc))
    apply_offline_argument(args)
    try:
        graph = load_graph(args.graph, args.overrides)
        if graph.spec.hosts:
            return _fail(
                f"{args.graph} lists hosts ({', '.join(graph.spec.hosts)}): run its parts with flowpose run --host NAME"
            )
        remote = _stream_sources_in_processes(graph)
        if remote:
            return _fail(
                f"{args.graph}: stream source {', '.join(map(repr, remote))} runs in its own process (runner: "
                "process), where the API cannot reach its streams; run it as a thread (the default)"
            )
        runner = GraphRunner(graph)
    except GraphError as exc:
        print(f"{args.graph}: {exc.report()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C during a first-use model download: one line
        print(f"flowpose: {exc or 'interrupted'}", file=sys.stderr)
        return getattr(exc, "exit_code", 130)
    view = GraphView(graph.spec.name, runner.snapshot, runner.stop_event.is_set)
    try:
        server = ApiServer((args.host, args.port), Api(view), token)
    except OSError as exc:
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    url = f"http://{_url_host(args.host)}:{server.port}"
    if not is_loopback(args.host):
        log.warning(
            "listening on %s: other machines can reach the API (plain HTTP: keep the token on trusted networks)",
            args.host,
        )
    # stdout, one line each, flushed: a script (or a test) reads the URL and the token from here.
    print(
        f"flowpose serve: {url}/api (graph {graph.spec.name!r}; API description at {url}/api/openapi.json)", flush=True
    )
    if token.generated:
        print(f"token: {token.value}  (send 'Authorization: Bearer TOKEN', or export {TOKEN_ENV}=TOKEN)", flush=True)
    server.start()
    log.info("running %r (%d nodes) with its control API at %s/api", graph.spec.name, len(runner.stats), url)
    try:
        result = run_with_table(runner, args.stats)
    finally:
        server.stop()
    report_run(args, runner, result)
    return result.exit_code


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):  # every interface: this machine's own address reaches it
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
