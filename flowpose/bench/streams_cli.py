"""The ``flowpose bench streams`` arguments (argparse only: the benchmark loads on use)."""

from __future__ import annotations

import argparse

__all__ = ["add_parser"]


def add_parser(bench_sub: argparse._SubParsersAction) -> None:
    """Add ``bench streams`` to the ``bench`` sub-commands."""
    p = bench_sub.add_parser(
        "streams",
        help="many streams: one graph with cross-stream batching vs a graph per stream vs rtmlib-style loops",
    )
    p.add_argument("--streams", default="1,2,4,8,16", help="comma-separated stream counts, e.g. 1,2,4,8")
    p.add_argument(
        "--variants",
        default="graph,graph-nobatch,graphs,loops,loop-rr",
        help="comma-separated: graph (a: one graph, batched), graph-nobatch (a0: the same, frame by frame), "
        "graphs (b: a graph per stream), "
        "loops (c: an rtmlib-style loop thread per stream), loop-rr (one loop, round robin)",
    )
    p.add_argument("--modes", default="max,live", help="comma-separated: max (as fast as possible), live (paced)")
    p.add_argument("--video", help="video file to play on every stream (decoded once); default: synthetic scenes")
    p.add_argument("--size", default="640x480", help="WxH of the synthetic scenes")
    p.add_argument("--seed", type=int, default=0, help="seed of stream 0's scene; stream i gets seed + i")
    p.add_argument("--clip", type=int, default=30, help="frames per stream held in memory (cycled)")
    p.add_argument("--frames", type=int, default=20, help="timed frames per stream in a max-speed run, at least")
    p.add_argument(
        "--total", type=int, default=160, help="timed frames of all streams in a max-speed run, at least (few streams)"
    )
    p.add_argument("--seconds", type=float, default=4.0, help="length of a live run")
    p.add_argument("--rate", type=float, default=10.0, help="frames per second of each stream in a live run")
    p.add_argument("--detector", default="zoo:flowpose-det-synthetic", help="detector model (path or zoo:NAME)")
    p.add_argument("--detector-preset", help="card preset for a detector file without a card (e.g. yolox)")
    p.add_argument(
        "--free-detector-batch",
        action="store_true",
        help="run a copy of the detector with a free batch axis (checked equal image by image): what batching "
        "the detector would gain from a re-export",
    )
    p.add_argument("--pose", default="zoo:flowpose-person", help="pose model with a card (path or zoo:NAME)")
    p.add_argument("--label", default="person", help="the detector class that is posed")
    p.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads per session, every variant")
    p.add_argument("--max-batch", type=int, default=0, help="graph (a): frames per batch; 0 = the stream count")
    p.add_argument(
        "--max-wait-ms",
        type=float,
        default=None,
        help="graph (a): wait for more frames of a batch; default: the nodes'",
    )
    p.add_argument("--repeats", type=int, default=1, help="interleaved runs per variant (medians are shown)")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
