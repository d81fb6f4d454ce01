"""``flowpose`` entry point: argument parsing and dispatch to the sub-commands."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from flowpose import __version__


def _add_graph_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("graph", help="graph file (YAML)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="NODE.PARAM=VALUE",
        help="override a node param, typed by the node's param schema (repeatable)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (exposed for docs and tests)."""
    parser = argparse.ArgumentParser(prog="flowpose", description="Real-time pose estimation as a streaming graph.")
    parser.add_argument("--version", action="version", version=f"flowpose {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="validate and run a graph")
    _add_graph_args(run)
    run.add_argument("--stats", action="store_true", help="live per-node table in the terminal")
    run.add_argument("--stats-json", metavar="FILE", help="write a JSON summary of the run at exit")
    run.add_argument("--trace", metavar="FILE", help="write a Chrome/Perfetto trace-event JSON at exit")
    run.add_argument("--host", metavar="NAME", help="run this host's part of a graph that lists `hosts`")

    val = sub.add_parser("validate", help="check a graph file and report every problem")
    _add_graph_args(val)
    from flowpose.zoo.offline import add_offline_argument  # light: argparse set-up only

    add_offline_argument(run)
    add_offline_argument(val)

    graph = sub.add_parser("graph", help="print a graph as Mermaid or Graphviz DOT")
    _add_graph_args(graph)
    graph.add_argument("--format", choices=["mermaid", "dot"], default="mermaid")

    nodes = sub.add_parser("nodes", help="list node types, or describe one")
    nodes.add_argument("type", nargs="?", help="a node type to show in full")

    schema = sub.add_parser("schema", help="print the JSON schema of graph files")
    schema.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")

    bench = sub.add_parser("bench", help="benchmarks")
    bench_sub = bench.add_subparsers(dest="bench", required=True, metavar="BENCH")
    rt = bench_sub.add_parser("runtime", help="per-hop overhead and max fps through a chain of nodes")
    rt.add_argument("--hops", type=int, default=5, help="pass-through nodes in the chain")
    rt.add_argument("--frames", type=int, default=2000, help="frames per measurement")
    rt.add_argument("--sizes", default="640x480,1920x1080", help="comma-separated WxH frame sizes")
    rt.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    rt.add_argument("--modes", default="thread", help="comma-separated runners to compare: thread,process,tcp")
    tr = bench_sub.add_parser("transport", help="one frame over ZeroMQ (ipc, tcp, shared memory) vs a memcpy")
    tr.add_argument("--iters", type=int, default=200, help="timed hops per variant")
    tr.add_argument("--warmup", type=int, default=20, help="untimed hops first")
    tr.add_argument("--sizes", default="640x480,1920x1080", help="comma-separated WxH frame sizes")
    tr.add_argument("--stream", type=int, default=100, help="frames for the throughput rows, 0 = skip")
    pose = bench_sub.add_parser("pose", help="batched pose inference vs one session.run per person")
    pose.add_argument("--model", help="FILE or zoo:NAME; default: build an RTMPose-m stand-in (needs onnx)")
    pose.add_argument("--preset", help="card preset for a model without a card (e.g. rtmpose_simcc)")
    pose.add_argument("--size", choices=["t", "s", "m"], default="m", help="RTMPose size of the built stand-in")
    pose.add_argument("--counts", default="1,4,8", help="comma-separated people counts")
    pose.add_argument("--repeats", type=int, default=10, help="measurements per count and path")
    pose.add_argument("--threads", type=int, default=None, help="intra-op threads (default: the available cores)")
    pose.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    pipe = bench_sub.add_parser(
        "pipeline", help="a video through detector + pose: graph in threads / processes vs a sequential loop"
    )
    pipe.add_argument("--video", required=True, help="video file, e.g. ../shared/data/videos/dance.mp4")
    pipe.add_argument("--detector", default="zoo:yolox-nano", help="detector model (path or zoo:NAME)")
    pipe.add_argument("--detector-preset", help="card preset for a detector file without a card (e.g. yolox)")
    pipe.add_argument("--pose", default="", help="pose model (path or zoo:NAME); default: an RTMPose stand-in")
    pipe.add_argument("--pose-size", choices=["t", "s", "m"], default="t", help="size of the stand-in pose model")
    pipe.add_argument(
        "--layouts",
        default="thread,process,loop,loop-batched",
        help="comma-separated: thread, process (graphs), loop (rtmlib-style, one run per person), loop-batched",
    )
    pipe.add_argument("--frames", type=int, default=0, help="frames per run; 0 = the whole video")
    pipe.add_argument("--threads", type=int, default=None, help="intra-op threads per model (default: the cores)")
    pipe.add_argument("--repeats", type=int, default=1, help="runs per layout and kind (medians are shown)")
    pipe.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    loop = bench_sub.add_parser("closedloop", help="capture-to-action latency: a graph vs a DeepLabCut-Live-style loop")
    loop.add_argument("--model", help="pose ONNX (path or zoo:NAME) with a card; default: zoo:flowpose-animal")
    loop.add_argument("--preset", help="card preset for a model without a card (e.g. rtmpose_simcc)")
    loop.add_argument("--video", help="video file; default: ../shared/data/videos/mouse_openfield.mp4")
    loop.add_argument("--frames", type=int, default=300, help="frames per run")
    loop.add_argument("--repeats", type=int, default=3, help="runs per path and mode (medians are shown)")
    loop.add_argument("--modes", default="max,live", help="comma-separated: max (full speed), live (paced)")
    loop.add_argument("--threads", type=int, default=None, help="intra-op threads (default: the available cores)")
    loop.add_argument("--no-dynamic-crop", action="store_true", help="always run on the whole frame")
    loop.add_argument("--search-tile", type=float, default=0.0, help="search_tile of the pose estimator (px); 0 = off")
    loop.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    from flowpose.bench import streams_cli  # light: argparse set-up only

    streams_cli.add_parser(bench_sub)
    from flowpose.cli import eval_commands  # light: argparse set-up only

    eval_commands.add_parsers(bench_sub)  # bench smoothing

    from flowpose.cli import zoo_commands  # light: argparse set-up only

    zoo_commands.add_parsers(sub)
    from flowpose.cli import keys_commands  # light: argparse set-up only

    keys_commands.add_parsers(sub)
    from flowpose.cli import serve_commands, streams_commands  # light: argparse set-up only

    serve_commands.add_parsers(sub, _add_graph_args)
    streams_commands.add_parsers(sub)
    from flowpose.cli import data_commands  # light: argparse set-up only

    data_commands.add_parsers(sub)
    from flowpose.cli import train_commands  # light: argparse set-up only; torch loads on use

    train_commands.add_parsers(sub)
    return parser


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")


# A reader that stops early (`flowpose nodes | head`) is normal on Unix: exit like cat or seq
# killed by SIGPIPE (128 + 13) so `set -o pipefail` sees truncated output, without a traceback.
EXIT_BROKEN_PIPE = 141


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (141 when stdout's reader went away)."""
    try:
        code = _main(argv)
        sys.stdout.flush()  # inside the try: a closed pipe fails here, not at interpreter exit
    except BrokenPipeError:
        # Python's recipe: point stdout at devnull so the final flush at exit cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose, args.quiet)
    # Sub-command modules are imported on demand: `flowpose nodes` should not pay for the
    # runtime, and heavier commands (bench, and later train) stay out of everyone's way.
    if args.command in ("run", "validate", "graph"):
        from flowpose.cli import graph_commands

        return graph_commands.dispatch(args)
    if args.command in ("nodes", "schema"):
        from flowpose.cli import info_commands

        return info_commands.dispatch(args)
    if args.command == "bench" and args.bench == "smoothing":
        from flowpose.cli import eval_commands

        return eval_commands.dispatch(args)
    if args.command == "bench" and args.bench == "transport":
        from flowpose.bench import transport

        return transport.main(args)
    if args.command == "bench" and args.bench == "pipeline":
        from flowpose.bench import pipeline

        return pipeline.main(args)
    if args.command == "bench" and args.bench == "closedloop":
        from flowpose.bench import closedloop

        return closedloop.main(args)
    if args.command == "bench" and args.bench == "streams":
        from flowpose.bench import streams

        return streams.main(args)
    if args.command == "bench" and args.bench == "pose":
        from flowpose.bench import pose

        return pose.main(args)
    if args.command == "bench":
        from flowpose.bench import runtime

        return runtime.main(args)
    if args.command == "serve":
        from flowpose.cli import serve_commands

        return serve_commands.dispatch(args)
    if args.command == "streams":
        from flowpose.cli import streams_commands

        return streams_commands.dispatch(args)
    if args.command == "keys":
        from flowpose.cli import keys_commands

        return keys_commands.dispatch(args)
    if args.command in ("zoo", "model"):
        from flowpose.cli import zoo_commands

        return zoo_commands.dispatch(args)
    if args.command == "data":
        from flowpose.cli import data_commands

        return data_commands.dispatch(args)
    if args.command == "eval" and args.eval_target == "coco":
        from flowpose.cli import coco_commands  # ONNX Runtime + pycocotools, never torch

        return coco_commands.dispatch(args)
    if args.command in ("train", "eval", "export"):
        from flowpose.cli import train_commands

        return train_commands.dispatch(args)
    raise AssertionError(args.command)  # argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
