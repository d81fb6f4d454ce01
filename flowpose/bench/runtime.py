"""``flowpose bench runtime``: what the runtime itself costs per hop, and how fast a chain goes.

A file-like test pattern feeds a chain of pass-through nodes into a recording sink.

* Hop overhead: the source is paced so only one frame is in flight; each hop's overhead is
  the gap between one node handing a frame on (its trace ``t_out``) and the next node
  taking it (``t_in``): queueing, waking a thread, and bookkeeping.
* Max fps: the source runs unpaced with lossless buffers; frames at the sink per second.
* Yardsticks (:mod:`flowpose.bench.yardsticks`), measured in the same run: the same chain
  as plain threads passing the frame through ``queue.Queue`` with blocking get/put (what a
  user writes without flowpose: the fair baseline of a thread hop, paced and unpaced); the
  same paced chain built the way MMPose's webcam executor works (each node thread polls its
  queue and sleeps 10 ms when it is empty); one memcpy of the frame, in cache and cold; and for process
  and tcp modes the cheapest possible message between two processes (:mod:`flowpose.bench.floor`).
* Modes: ``thread`` runs the pass-through nodes in threads, ``process`` each in its own
  process (source and sink stay in the parent, so a frame crosses hops + 1 links), ``tcp``
  each on its own host on loopback (:mod:`flowpose.bench.tcp_chain`: every link is tcp);
  process and tcp hops are compared with one plain memcpy of the same frame.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from flowpose.bench.yardsticks import (
    Memcpy,
    QueueChain,
    measure_memcpy,
    measure_polling_chain,
    measure_queue_chain,
)
from flowpose.engine.runtime import GraphRunner
from flowpose.frame import Frame
from flowpose.graph.spec import SourceMap
from flowpose.graph.validate import validate_data
from flowpose.node import Node

log = logging.getLogger(__name__)


class HopRecorder(Node):
    """Benchmark sink: keeps, per frame, the gaps between consecutive hops and its arrival time."""

    collected: ClassVar[dict[str, list[tuple[int, list[int]]]]] = {}

    def setup(self) -> None:
        self._rows = HopRecorder.collected.setdefault(self.name, [])

    def process(self, frame: Frame) -> None:
        now = time.time_ns()
        trace = frame.trace
        gaps = [trace[i + 1].t_in - trace[i].t_out for i in range(len(trace) - 1)]
        gaps.append(now - trace[-1].t_out)
        self._rows.append((now, gaps))
        return None


@dataclass
class ChainResult:
    """Figures of one chain measurement (times in ms)."""

    size: str
    mode: str
    hops: int
    hop_ms_median: float
    hop_ms_p95: float
    max_fps: float
    frames: int


def _chain_graph(
    width: int, height: int, hops: int, frames: int, fps: float, sink: str, mode: str = "thread"
) -> dict[str, object]:
    nodes: list[dict[str, object]] = [
        {
            "name": "source",
            "type": "TestPattern",
            "outputs": ["b0"],
            "params": {"width": width, "height": height, "fps": fps, "count": frames, "live": False},
        }
    ]
    for i in range(hops):
        nodes.append(
            {
                "name": f"hop{i + 1}",
                "type": "PassThrough",
                "inputs": [f"b{i}"],
                "outputs": [f"b{i + 1}"],
                "runner": mode,
            }
        )
    nodes.append({"name": sink, "type": f"{__name__}:HopRecorder", "inputs": [f"b{hops}"]})
    return {"name": "bench chain", "defaults": {"buffer": {"policy": "lossless", "size": 4}}, "nodes": nodes}


def run_chain(
    width: int, height: int, hops: int, frames: int, fps: float, mode: str = "thread"
) -> list[tuple[int, list[int]]]:
    """Run the chain once; per frame at the sink, its arrival time and its hop gaps (ns)."""
    sink = f"sink_{time.monotonic_ns()}"
    if mode == "tcp":
        from flowpose.bench.tcp_chain import run_hosts_chain

        run_hosts_chain(_chain_graph(width, height, hops, frames, fps, sink), hops)
        return HopRecorder.collected.pop(sink)
    graph = validate_data(_chain_graph(width, height, hops, frames, fps, sink, mode), SourceMap("<bench>"))
    result = GraphRunner(graph).run(handle_signals=False)
    if result.exit_code != 0:
        raise RuntimeError(f"benchmark chain failed: {result.failure}")
    return HopRecorder.collected.pop(sink)


def measure_chain(width: int, height: int, hops: int, frames: int, mode: str = "thread") -> ChainResult:
    """Measure max fps (unpaced) and hop overhead (paced, one frame in flight) of a chain."""
    flood = run_chain(width, height, hops, frames, 0.0, mode)
    arrivals = np.array([t for t, _ in flood], dtype=np.float64)
    span_s = (arrivals[-1] - arrivals[0]) / 1e9
    max_fps = (len(arrivals) - 1) / span_s if span_s > 0 else float("inf")
    # Paced at a fifth of what the chain sustains (at most 200 fps in threads, 100 across
    # processes, whose hops also compete for the cores), each frame crosses an idle pipeline,
    # so the gaps are pure hop cost, not time spent queueing behind the previous frame.
    fps = min(200.0 if mode == "thread" else 100.0, max_fps / 5)
    paced = run_chain(width, height, hops, max(min(frames // 4, int(fps * 10)), 100), fps, mode)
    # Skip the first second: in process mode early frames waited for the children to start.
    warm = [row for t, row in paced if t > paced[0][0] + 1e9] or [row for _, row in paced[10:]]
    gaps = np.array([g for row in warm for g in row], dtype=np.float64) / 1e6
    return ChainResult(
        size=f"{width}x{height}",
        mode=mode,
        hops=hops,
        hop_ms_median=float(np.median(gaps)),
        hop_ms_p95=float(np.percentile(gaps, 95)),
        max_fps=max_fps,
        frames=len(arrivals),
    )


def format_results(
    results: list[ChainResult],
    polling: np.ndarray | None = None,
    memcpy: dict[str, Memcpy] | None = None,
    floor: np.ndarray | None = None,
    queue_chain: QueueChain | None = None,
) -> str:
    """The results as a Markdown table (with the yardsticks and ratios when given)."""
    memcpy = memcpy or {}
    lines = [
        "| frame | mode | hops | hop median (ms) | hop p95 (ms) | max fps through the chain "
        "| hop / memcpy in cache | hop / memcpy cold |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size, copy in memcpy.items():
        lines.append(f"| {size} | memcpy in cache (yardstick) | - | {copy.warm_ms:.4f} | - | - | 1.0 | - |")
        lines.append(f"| {size} | memcpy cold (yardstick) | - | {copy.cold_ms:.4f} | - | - | - | 1.0 |")
    if floor is not None and len(floor):
        median, p95 = float(np.median(floor)), float(np.percentile(floor, 95))
        label = "ZeroMQ ipc one way, 8 bytes (floor of a process hop)"
        lines.append(f"| any | {label} | - | {median:.4f} | {p95:.4f} | - | - | - |")
    for r in results:
        copy = memcpy.get(r.size)
        warm, cold = (f"{r.hop_ms_median / ms:.1f}" for ms in (copy.warm_ms, copy.cold_ms)) if copy else "--"
        lines.append(
            f"| {r.size} | {r.mode} | {r.hops} | {r.hop_ms_median:.4f} | {r.hop_ms_p95:.4f} | {r.max_fps:,.0f} "
            f"| {warm} | {cold} |"
        )
    hops = results[0].hops if results else "-"
    if queue_chain is not None and len(queue_chain.gaps_ms):
        gaps = queue_chain.gaps_ms
        lines.append(
            f"| any | queue.Queue chain (plain threads) | {hops} | {np.median(gaps):.4f} | "
            f"{np.percentile(gaps, 95):.4f} | {queue_chain.max_fps:,.0f} | - | - |"
        )
    if polling is not None and len(polling):
        median = float(np.median(polling))
        lines.append(
            f"| any | polling 10 ms (MMPose-style) | {results[0].hops if results else '-'} | {median:.4f} | "
            f"{np.percentile(polling, 95):.4f} | - | - | - |"
        )
        for r in results:
            if r.mode == "thread":
                lines.append(f"\nhop median, polling / flowpose at {r.size}: {median / r.hop_ms_median:,.0f}x")
    if queue_chain is not None and len(queue_chain.gaps_ms):
        base = float(np.median(queue_chain.gaps_ms))
        for r in results:
            if r.mode == "thread":
                lines.append(
                    f"\nflowpose / queue.Queue chain at {r.size}: hop median {r.hop_ms_median / base:.2f}x, "
                    f"max fps {r.max_fps / queue_chain.max_fps:.2f}x"
                )
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """Entry point of ``flowpose bench runtime``."""
    results = []
    memcpy: dict[str, Memcpy] = {}
    modes = getattr(args, "modes", "thread").split(",")
    for size in args.sizes.split(","):
        width, height = (int(v) for v in size.lower().split("x"))
        memcpy[f"{width}x{height}"] = measure_memcpy(width, height)
        for mode in modes:
            log.info("measuring %dx%d through %d %s hops ...", width, height, args.hops, mode)
            results.append(measure_chain(width, height, args.hops, args.frames, mode))
    log.info("measuring the queue.Queue and polling yardsticks ...")
    queue_chain = measure_queue_chain(args.hops, args.frames)
    polling = measure_polling_chain(args.hops, 50)
    floor = None
    if set(modes) - {"thread"}:
        from flowpose.bench.floor import measure_ipc_floor

        log.info("measuring the floor of a process hop ...")
        floor = measure_ipc_floor()
    print(format_results(results, polling, memcpy if floor is not None else None, floor, queue_chain))
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n", encoding="utf-8")
    return 0
